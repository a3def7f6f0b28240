"""Bounded worker pools for heavy work, so the event loop and the light reads are never stuck behind it.

Light reads (collections, items, search) run in FastAPI's own thread pool and finish in milliseconds.  Heavy work
— checks (a large polygon with a PDF report takes seconds), print renders, exports, imports and edits — goes to
a lane of its own: a few worker threads and a short queue.  When a lane is full the request is refused at once
with 503 and `Retry-After`, before any of its work is done, rather than queueing without limit.  A route awaits
its job, so the event loop stays free while the worker computes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from geo.errors import Unavailable

T = TypeVar("T")


@dataclass(frozen=True)
class LaneSize:
    workers: int
    queue: int  # jobs that may wait for a worker; one more is refused


# Two cores: two workers per lane keep a core for the light reads most of the time.
DEFAULT_LANES = {
    "checks": LaneSize(workers=2, queue=16),
    "renders": LaneSize(workers=2, queue=4),  # print maps: up to A1 at 600 dpi, memory-hungry
    "exports": LaneSize(workers=2, queue=8),
    "writes": LaneSize(workers=2, queue=16),  # imports and edits (the workspace serialises commits itself)
}
RETRY_AFTER_SECONDS = 5


class Lane:
    """One kind of heavy work: `workers` threads and room for `queue` more jobs waiting."""

    def __init__(self, name: str, size: LaneSize) -> None:
        self.name = name
        self.size = size
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size.workers + size.queue)

    def _workers(self) -> ThreadPoolExecutor:
        """The lane's threads, started on first use — again after a shutdown, since an app's lifespan may run
        more than once (a test client per request does that)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.size.workers, thread_name_prefix=f"planmap-{self.name}")
            return self._executor

    def submit(self, fn: Callable[..., T], *args, **kwargs) -> Future:
        """Start `fn` on a worker, or refuse (503) when the lane is full; the slot frees when the job ends."""
        if not self._slots.acquire(blocking=False):
            raise Unavailable(f"the server is busy with other {self.name}; try again in a few seconds",
                              f"Máy chủ đang bận xử lý yêu cầu khác ({self.name}); hãy thử lại sau vài giây",
                              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        try:
            future = self._workers().submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run `fn` on a worker and wait for it without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class WorkPools:
    """The service's lanes of heavy work, by name."""

    def __init__(self, lanes: dict[str, LaneSize] | None = None) -> None:
        self.lanes = {name: Lane(name, size) for name, size in (lanes or DEFAULT_LANES).items()}

    def __getitem__(self, name: str) -> Lane:
        return self.lanes[name]

    def shutdown(self) -> None:
        for lane in self.lanes.values():
            lane.shutdown()

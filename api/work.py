"""Bounded worker pools for heavy work, so the event loop and the light reads are never stuck behind it.

Light reads (collections, items, search) run in FastAPI's own thread pool and finish in milliseconds.  Heavy work
— checks (a large polygon with a PDF report takes seconds), print renders, exports, imports and edits — goes to
a lane of its own: a few worker threads and a short queue.  When a lane is full the request is refused at once
with 503 and `Retry-After`, before any of its work is done, rather than queueing without limit.  A route awaits
its job, so the event loop stays free while the worker computes.

Work whose client has gone is not done: a route's lanes (`work[...]`, see `ClientLanes`) watch the connection
while the job waits or runs.  A job that has not started when its client disconnects never runs; a running one
is told through its cancel token and stops at its next `geo.cancel.checkpoint()` (between the layers of a print
map, the files of an export, the rules of a check); either way its slot in the lane is free again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from geo.cancel import Cancelled, run_cancellable
from geo.errors import Unavailable

T = TypeVar("T")
Receive = Callable[[], Awaitable[dict]]


@dataclass(frozen=True)
class LaneSize:
    workers: int
    queue: int  # jobs that may wait for a worker; one more is refused


# Two cores: two workers per lane keep a core for the light reads most of the time.
DEFAULT_LANES = {
    "checks": LaneSize(workers=2, queue=16),
    "renders": LaneSize(workers=2, queue=4),  # print maps: up to A1 at 600 dpi, memory-hungry
    "exports": LaneSize(workers=2, queue=8),
    "imports": LaneSize(workers=1, queue=2),  # a file of up to 200 MB is read whole: one at a time, few waiting
    "writes": LaneSize(workers=2, queue=16),  # edits, rollbacks, proposals (the workspace serialises commits)
    # base map tiles: a GeoTIFF tile is warped here (tens of ms); a map view asks for a few dozen tiles at once
    "basemaps": LaneSize(workers=2, queue=64),
    # terrain: the DEM warped onto the VN-2000 grid for a GeoTIFF or the slope overlay (≤ MAX_GRID_CELLS cells)
    "terrain": LaneSize(workers=1, queue=8),
    # grid analyses (network coverage, site suggestions): a second or so of numpy over a few million cells and
    # 100–300 MB each, so one at a time (the other core stays with the reads), a few waiting
    "analysis": LaneSize(workers=1, queue=8),
    # plan indicators: milliseconds of numpy warm, but a past day may rebuild layers from the store's revisions
    "indicators": LaneSize(workers=2, queue=16),
}
RETRY_AFTER_SECONDS = 5


class Lane:
    """One kind of heavy work: `workers` threads and room for `queue` more jobs waiting.

    Counters (for operators and tests): `started` jobs, `cancelled` ones (their client left: never started, or
    stopped at a checkpoint), `refused` requests (the lane was full), and `in_use` slots now."""

    def __init__(self, name: str, size: LaneSize) -> None:
        self.name = name
        self.size = size
        self._executor: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(size.workers + size.queue)
        self._lock = threading.Lock()  # the executor's start and stop, and the counters
        self.in_use = self.started = self.cancelled = self.refused = 0

    def _workers(self) -> ThreadPoolExecutor:
        """The lane's threads, started on first use — again after a shutdown, since an app's lifespan may run
        more than once (a test client per request does that)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.size.workers, thread_name_prefix=f"planmap-{self.name}")
            return self._executor

    def submit(self, fn: Callable[..., T], *args, cancel: threading.Event | None = None, **kwargs) -> Future:
        """Start `fn` on a worker, or refuse (503) when the lane is full; the slot frees when the job ends.

        `cancel`: the job's cancel token — once set, the job does not start, or stops at its next checkpoint."""
        if not self._slots.acquire(blocking=False):
            self._count("refused")
            raise Unavailable(f"the server is busy with other {self.name}; try again in a few seconds",
                              f"Máy chủ đang bận xử lý yêu cầu khác ({self.name}); hãy thử lại sau vài giây",
                              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        self._count("in_use")
        try:
            future = self._workers().submit(self._job, cancel or threading.Event(), fn, args, kwargs)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

    def _job(self, token: threading.Event, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        if not token.is_set():
            self._count("started")
        try:
            return run_cancellable(token, fn, *args, **kwargs)
        except Cancelled:
            self._count("cancelled")
            raise

    def _release(self, future: Future | None) -> None:
        if future is not None and future.cancelled():  # taken off the queue before a worker picked it up
            self._count("cancelled")
        self._count("in_use", -1)
        self._slots.release()

    def _count(self, counter: str, step: int = 1) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + step)

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run `fn` on a worker and wait for it without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def counters(self) -> dict[str, int]:
        with self._lock:
            return {"workers": self.size.workers, "queue": self.size.queue, "in_use": self.in_use,
                    "started": self.started, "cancelled": self.cancelled, "refused": self.refused}

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class ClientLane:
    """A lane as one request uses it: the job is cancelled when the request's client disconnects."""

    def __init__(self, lane: Lane, receive: Receive) -> None:
        self.lane = lane
        self.receive = receive

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run `fn` on a worker while watching the connection; raise Cancelled (and stop the job) if it closes."""
        token = threading.Event()
        future = self.lane.submit(fn, *args, cancel=token, **kwargs)
        job = asyncio.wrap_future(future)
        watch = asyncio.ensure_future(_client_gone(self.receive))
        try:
            await asyncio.wait((job, watch), return_when=asyncio.FIRST_COMPLETED)
            if not job.done() and watch.result():
                raise Cancelled()
            return await job
        except BaseException:  # the client left, or this request itself was cancelled (server shutting down)
            if not job.done():
                token.set()  # a running job stops at its next checkpoint
                future.cancel()  # a job still waiting is taken off the queue
                future.add_done_callback(_discard)
                job.cancel()
            raise
        finally:
            watch.cancel()


async def _client_gone(receive: Receive) -> bool:
    """Wait until the client disconnects (True); False if the connection cannot be watched."""
    while True:
        try:
            message = await receive()
        except Exception:  # noqa: BLE001 - e.g. an unread body over its limit: stop watching, the job goes on
            return False
        if message["type"] == "http.disconnect":
            return True


def _discard(future: Future) -> None:
    """An abandoned job's outcome: its error is nobody's to read; a result holding files (an export) is deleted."""
    if future.cancelled():
        return
    if future.exception() is None:
        cleanup = getattr(future.result(), "cleanup", None)
        if callable(cleanup):  # deleting files: never on the event loop, which runs this if the job just ended
            threading.Thread(target=cleanup, name="planmap-cleanup", daemon=True).start()


class WorkPools:
    """The service's lanes of heavy work, by name."""

    def __init__(self, lanes: dict[str, LaneSize] | None = None) -> None:
        sizes = {**DEFAULT_LANES, **(lanes or {})}  # a test may resize some lanes; every route still has its own
        self.lanes = {name: Lane(name, size) for name, size in sizes.items()}

    def __getitem__(self, name: str) -> Lane:
        return self.lanes[name]

    def for_client(self, receive: Receive) -> ClientLanes:
        return ClientLanes(self, receive)

    def shutdown(self) -> None:
        for lane in self.lanes.values():
            lane.shutdown()


class ClientLanes:
    """The lanes as a route sees them (`work["checks"].run(...)`): jobs tied to the request's connection."""

    def __init__(self, pools: WorkPools, receive: Receive) -> None:
        self.pools = pools
        self.receive = receive

    def __getitem__(self, name: str) -> ClientLane:
        return ClientLane(self.pools[name], self.receive)

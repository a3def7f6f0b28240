"""Cooperative cancellation: heavy work stops between its stages when the client who asked for it has gone.

A lane of the work pool (api/work.py) runs each job with a cancel token — a `threading.Event` set when the client
disconnects — made current for that job.  Long work calls `checkpoint()` between its stages (between the layers
of a print map, the files of an export, the chunks of a batch, the rules of a check); it raises `Cancelled` once
the token is set, so the worker and its lane slot are freed within one stage.  Outside a lane (the `planmap`
command, tests) there is no token and `checkpoint()` costs one lookup.  Work that commits (imports, edits) has no
checkpoint after it starts: a commit is done whole or not at all.

It lives in `geo/` because it is the lowest package: `layers` and `web` call it and know nothing of HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from geo.errors import PlanmapError

T = TypeVar("T")
_current: ContextVar[threading.Event | None] = ContextVar("planmap_cancel_token", default=None)


class Cancelled(PlanmapError):
    """The client closed the request, so its work stopped; nobody is left to read this answer (nginx's 499)."""

    status = 499
    code = "ClientClosedRequest"
    title = "Client Closed Request"

    def __init__(self) -> None:
        super().__init__("the client closed the request; its work was stopped",
                         "Người dùng đã ngắt kết nối; công việc đã dừng")


def checkpoint() -> None:
    """Stop here (raise Cancelled) if the current job's client has gone; call it between stages of long work."""
    token = _current.get()
    if token is not None and token.is_set():
        raise Cancelled()


@contextmanager
def cancellable(token: threading.Event) -> Iterator[None]:
    """Make `token` the current job's cancel token (in this thread) for the `with` block."""
    reset = _current.set(token)
    try:
        yield
    finally:
        _current.reset(reset)


def run_cancellable(token: threading.Event, fn: Callable[..., T], *args, **kwargs) -> T:
    """Run `fn` with `token` current — not at all if it is already set (the client left before the job began)."""
    if token.is_set():
        raise Cancelled()
    with cancellable(token):
        return fn(*args, **kwargs)

"""Serving over HTTP: one listening socket, and worker processes forked from a parent that loaded everything once.

`planmap serve --workers N` (N > 1): the parent loads the dataset, rules and app state, opens the listening socket
itself, freezes its objects out of the garbage collector's reach (`gc.freeze`: a child's collections would
otherwise write to every object's header and copy the pages it shares with the parent) and forks N workers, each
running uvicorn on the inherited socket — the kernel hands each new connection to one of them.  The parent only
supervises: it starts a worker again when one dies (with a back-off) and, on SIGTERM or SIGINT, stops them all
and exits; a worker whose parent is gone (even killed with SIGKILL) stops too.  With N = 1 the one process serves
(no fork).

The socket is made TCP with `proto=IPPROTO_TCP` and TCP_NODELAY: asyncio turns Nagle's algorithm off only on a
socket whose proto says TCP, and uvicorn's own `--workers` makes one with proto 0 — each small keep-alive answer
then waits ~40 ms for the client's delayed ACK.  Linux's accepted sockets inherit TCP_NODELAY from the listening
one, so every worker's connections have it whatever its event loop does.

What the workers share: every page the parent filled before fork (the layers, their encoded features and indexes,
the app), copy-on-write; and a `SharedVersion` on which each commit posts the store's new version, so that a
request of another worker catches up before it reads (layers/workspace.py).  Each worker also has a watcher
thread that catches up as soon as the store's version changes (and sees commits of other hosts or of the CLI).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass

import uvicorn

log = logging.getLogger("planmap.server")

# Connections waiting to be accepted by a worker (uvicorn's default): bursts of clients beyond it are refused.
BACKLOG = 2048
# A dead worker is started again after this, doubling while workers keep dying young, up to the maximum: one crash
# costs half a second, a worker that cannot start does not spin the CPU.
RESTART_BACKOFF_MIN_S = 0.5
RESTART_BACKOFF_MAX_S = 30.0
# A worker that ran this long died of something new, not of its start-up: its back-off starts over.
STABLE_AFTER_S = 60.0
# After SIGTERM, workers finish the requests in flight; any still running after this is killed.
SHUTDOWN_GRACE_S = 30.0
# How often the parent looks for dead workers and due restarts (signals are noticed at the next look).
SUPERVISE_TICK_S = 0.2
# Linux prctl(2) option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    """One worker per core."""
    return os.cpu_count() or 1


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket with SO_REUSEADDR and TCP_NODELAY (inherited by the sockets it accepts)."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP,
                                                  flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def serve(app, sock: socket.socket, workers: int, log_level: str, before_fork=None) -> int:
    """Serve `app` on `sock` in this process (`workers` = 1) or in `workers` forked processes; returns the exit
    status.  `before_fork`: closes what must not be shared across fork (the store's connection)."""
    config = uvicorn.Config(app, log_level=log_level, access_log=False, backlog=BACKLOG)
    if workers <= 1:
        uvicorn.Server(config).run(sockets=[sock])
        return 0
    config.load()  # the protocol classes and middleware, once, in the memory the workers share
    workspace = getattr(app.state, "workspace", None)
    if workspace is not None:
        workspace.share_versions(SharedVersion())
    if before_fork is not None:
        before_fork()
    # A thread does not survive fork: whatever it was doing (and any lock it held) would be lost in the workers.
    # The work pools start their threads lazily and the store's watcher starts in each worker, so none should run
    # here; native pools (OpenBLAS, Arrow's jemalloc) have fork handlers of their own.
    running = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if running:
        log.warning("threads running before the workers are forked (they do not run in them): %s",
                    ", ".join(running))
    gc.collect()
    gc.freeze()
    return Supervisor(config, sock, workers).run()


class SharedVersion:
    """The workers' VersionBoard: one 64-bit number in memory shared across fork, raised under a lock shared too;
    read without the lock (an aligned 8-byte read is atomic), so that a request pays no more than a memory read."""

    def __init__(self) -> None:
        self._value = multiprocessing.get_context("fork").Value("q", -1)

    def latest(self) -> int:
        return self._value.get_obj().value

    def post(self, version: int) -> None:
        with self._value.get_lock():
            if version > self._value.get_obj().value:
                self._value.get_obj().value = version


@dataclass
class Worker:
    """One slot of the pool: the process in it now (pid 0: none) and when it may start again."""

    number: int
    pid: int = 0
    started: float = 0.0
    backoff: float = RESTART_BACKOFF_MIN_S
    restart_at: float = 0.0


class Supervisor:
    """The parent of the workers: starts them, starts a dead one again, stops them all on SIGTERM/SIGINT."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, count: int) -> None:
        self.config = config
        self.sock = sock
        self.workers = [Worker(n) for n in range(1, count + 1)]
        self.stopping = False

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        for worker in self.workers:
            self._start(worker)
        while not self.stopping:
            self._reap()
            now = time.monotonic()
            for worker in self.workers:
                if not worker.pid and now >= worker.restart_at and not self.stopping:
                    self._start(worker)
            time.sleep(SUPERVISE_TICK_S)
        return self._stop()

    def _on_signal(self, signum: int, _frame) -> None:
        self.stopping = True

    def _start(self, worker: Worker) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _run_worker(self.config, self.sock, parent)  # never returns
        worker.pid, worker.started = pid, time.monotonic()
        log.info("worker %d started (pid %d)", worker.number, pid)

    def _reap(self) -> None:
        """Note the workers that died, and when each may start again."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = next((w for w in self.workers if w.pid == pid), None)
            if worker is None:
                continue
            now = time.monotonic()
            worker.pid = 0
            if now - worker.started >= STABLE_AFTER_S:
                worker.backoff = RESTART_BACKOFF_MIN_S
            worker.restart_at = now + worker.backoff
            if not self.stopping:
                log.warning("worker %d (pid %d) %s; starting it again in %.1f s / tiến trình phục vụ %d dừng (%s), "
                            "khởi động lại sau %.1f giây", worker.number, pid, _how(status), worker.backoff,
                            worker.number, _how(status), worker.backoff)
            worker.backoff = min(worker.backoff * 2, RESTART_BACKOFF_MAX_S)

    def _stop(self) -> int:
        """SIGTERM to every worker; wait for them (killing those still there after the grace period)."""
        for worker in self.workers:
            if worker.pid:
                _signal(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while any(w.pid for w in self.workers):
            self._reap()
            if time.monotonic() > deadline:
                for worker in self.workers:
                    if worker.pid:
                        log.warning("worker %d (pid %d) did not stop in %.0f s: killed", worker.number, worker.pid,
                                    SHUTDOWN_GRACE_S)
                        _signal(worker.pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(SUPERVISE_TICK_S / 4)
        self.sock.close()
        return 0


def _run_worker(config: uvicorn.Config, sock: socket.socket, parent: int) -> None:
    """The forked child: serve until told to stop (or the parent is gone), then exit without running the parent's
    clean-up (atexit handlers, buffered output) a second time."""
    status = 1
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)  # uvicorn sets its own while it serves, then re-raises what it got
        _die_with_parent(parent)
        uvicorn.Server(config).run(sockets=[sock])
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a worker's crash is logged; the parent starts another
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _die_with_parent(parent: int) -> None:
    """SIGTERM this process when the parent dies (Linux), so that no worker outlives a killed parent."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: workers then outlive a parent killed with SIGKILL
        log.warning("workers cannot follow the parent's death on this system")
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"

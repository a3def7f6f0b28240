"""`planmap serve` as a child process for the benchmarks: started on a free loopback port, waited for, stopped.

Shared by bench/loop_latency.py (which also starts an older checkout of the code) and bench/reliability.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PlanmapServer:
    """`planmap serve` of the code in `root` on `data`, with `env` added to the environment."""

    def __init__(self, root: Path, data: Path, env: dict[str, str]) -> None:
        self.root, self.data = root, data
        self.env = {**os.environ, **env}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PlanmapServer:
        cmd = [sys.executable, "-m", "api.cli", "serve", "--data", str(self.data), "--port", str(self.port)]
        # stderr to a file, not a pipe: a pipe nobody reads would stall the server once it filled up
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/conformance", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.3)
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"{self.root}: planmap serve exited: {self.log.read().decode()}")
        self.proc.kill()
        raise RuntimeError(f"{self.root}: planmap did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

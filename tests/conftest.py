"""Shared fixtures: the default dataset, and the real service listening on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from layers.store import Dataset, load_dataset

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "planmap.gpkg"
CATALOG = REPO / "data" / "catalog.yaml"


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    assert DATA.exists(), "the default dataset is built by `make test` (planmap build-data)"
    return load_dataset(DATA, CATALOG)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app in a background thread, as `planmap serve` does."""

    def __init__(self, app) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(dataset: Dataset) -> Iterator[LiveServer]:
    with LiveServer(create_app(dataset)) as live:
        yield live

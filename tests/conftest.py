"""Shared fixtures: the default dataset, and the real service listening on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from layers.dataset import Dataset, load_dataset
from web import assets

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "planmap.gpkg"
CATALOG = REPO / "data" / "catalog.yaml"


ADMIN_TOKEN = "in-process-admin-token-0123456789"


@pytest.fixture(scope="session", autouse=True)
def prepared_cache_of_the_session(tmp_path_factory) -> Iterator[Path]:
    """Every `planmap` process the tests start prepares its layers in a folder of this session, not in the
    checkout's `cache/` (the first server prepares the default dataset there; the others map it)."""
    folder = tmp_path_factory.mktemp("prepared-cache")
    before = os.environ.get("PLANMAP_CACHE")
    os.environ["PLANMAP_CACHE"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("PLANMAP_CACHE", None)
    else:
        os.environ["PLANMAP_CACHE"] = before


@pytest.fixture(scope="module")
def small_app(tmp_path_factory):
    """The app over the small hand-made world (tests/small_world.py), with a store of its own and an admin token;
    the `draft_plan` layer is internal; one base map, `raster` (tests/basemap_files.py); the shipped indicators."""
    from api.app import create_app
    from geo.basemaps import open_basemaps
    from layers.indicators import load_indicators
    from layers.revisions import Store
    from tests import basemap_files, small_world

    store = Store(tmp_path_factory.mktemp("small-store"))
    basemaps = open_basemaps([basemap_files.raster_mbtiles(tmp_path_factory.mktemp("basemap") / "raster.mbtiles")])
    app = create_app(small_world.dataset(), small_world.RULES, store=store, admin_token=ADMIN_TOKEN,
                     basemaps=basemaps, indicators=load_indicators(REPO / "data" / "indicators.yaml"))
    app.state.workspace.set_internal("draft_plan", True, "test")
    return app


@pytest.fixture(scope="module")
def api_client(small_app):
    """FastAPI's test client: requests go through the whole app (middleware, dependencies, handlers) in-process."""
    from fastapi.testclient import TestClient

    with TestClient(small_app) as c:
        yield c


@pytest.fixture(scope="module")
def planner(api_client) -> dict:
    """Headers of a signed-in planner of the small world."""
    resp = api_client.post("/users", json={"name": "lan", "role": "planner"},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert resp.status_code == 201, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


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


class ServedProcess:
    """`planmap serve` in its own process — what operators run, and what GDAL (which holds the GIL while it
    reads) must talk to rather than a server thread inside the test process."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.env = env or {}

    def __enter__(self) -> ServedProcess:
        cmd = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env={**os.environ, **self.env})
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.url}/conformance", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"planmap serve exited: {self.proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("planmap serve did not answer in time")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def served_with_store(store: Path, admin_token: str, **env: str) -> ServedProcess:
    """`planmap serve` on the default dataset with a store in `store`, an admin token and any other settings."""
    return ServedProcess("--data", str(DATA), env={"PLANMAP_STORE": str(store), "PLANMAP_ADMIN_TOKEN": admin_token,
                                                   **env})


def new_planner(url: str, admin_token: str, name: str) -> str:
    """A new planner's token, made by the admin through the API."""
    made = httpx.post(f"{url}/users", json={"name": name, "role": "planner"},
                      headers={"Authorization": f"Bearer {admin_token}"})
    assert made.status_code == 201, made.text
    return made.json()["token"]


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[ServedProcess]:
    """The default dataset served by the real command on a loopback port, with an empty store of its own."""
    store = tmp_path_factory.mktemp("store")
    with ServedProcess("--data", str(DATA), env={"PLANMAP_STORE": str(store)}) as served:
        yield served


CHROMIUM = Path(os.environ.get("PLANMAP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _need_browser() -> None:
    """Fail, saying what to install, when the browser tests cannot run: never a silent skip (`make test` checks
    the system packages before it starts, see `make system-check`)."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is not installed (apt-get install chromium)"
    elif assets.missing_vendor_files():
        problem = "map assets are not installed (make assets / npm ci)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[test]')"
    if problem:
        pytest.fail(problem)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (Playwright downloads no browser of its own)."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# ------------------------------------------------------------------------------------ the stores
STORE_KINDS = ["sqlite", "postgis"]  # every store-level test runs against both


@pytest.fixture(scope="session")
def postgis():
    """A private PostgreSQL + PostGIS cluster for the session (tests/postgis.py); the tests fail, never skip, when
    Debian's packages are missing."""
    from tests import postgis as pg

    bindir, missing = pg.binaries()
    if bindir is None:
        pytest.fail(f"{missing}: install {pg.PACKAGES}")
    cluster = pg.Cluster(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


def new_store_spec(request, kind: str, folder: Path) -> str:
    """A fresh, empty store of `kind`: a folder (SQLite) or a new database of the session's cluster (PostGIS)."""
    if kind == "sqlite":
        return str(folder)
    return request.getfixturevalue("postgis").new_database()


def new_store(request, kind: str, folder: Path):
    """A fresh, empty store of `kind`, opened (scratch files in `folder`)."""
    from layers.stores import open_store

    return open_store(new_store_spec(request, kind, folder), folder)


def store_env(spec: str, folder: Path) -> dict[str, str]:
    """The settings that make `planmap` use the store `spec` (with its scratch files in `folder`)."""
    return {"PLANMAP_STORE": spec, "PLANMAP_SCRATCH": str(folder)}


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def reopen(store):
    """The same store opened again, as another process or a restarted server would."""
    from layers.stores import open_store

    return open_store(store.spec, store.folder)

"""Every lane of heavy work is bounded, says when to retry, and drops work whose client has gone.

The refusals go through the whole app in-process (the small world); the cancellations through a real uvicorn
server on a loopback port (in this process, so the lanes' counters can be read), with clients that open a raw
socket, send a request and hang up — as a browser does when its user closes the tab.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from api.app import create_app
from api.work import DEFAULT_LANES, Lane, LaneSize
from tests.basemap_files import RASTER_BOUNDS, tiles_over
from tests.conftest import LiveServer
from tests.small_world import RULES, X0, Y0
from tests.test_api_inprocess import site
from tests.test_concurrency import large_polygon

WAIT_SECONDS = 30  # upper bound of any wait below; each normally ends in well under a second

GEOJSON = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "A"}, "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}]}
LANE_REQUESTS: dict[str, tuple[str, str, dict]] = {  # a request of each lane, to the small world's app
    "checks": ("POST", "/checks", {"json": site("factory", X0, Y0)}),
    "renders": ("GET", "/exports/map?preset=cluster-plan-2030&size=A4&dpi=72", {}),
    "exports": ("GET", "/exports/data?collections=fuel_stations&format=geojson", {}),
    "imports": ("POST", "/collections/uploaded/imports",
                {"files": {"file": ("a.geojson", json.dumps(GEOJSON).encode(), "application/geo+json")}}),
    "writes": ("POST", "/collections/fuel_stations/items",
               {"json": site("fuel_station", X0, Y0) | {"properties": {"name": "X"}}}),
    "basemaps": ("GET", "/basemaps/raster/{}/{}/{}".format(9, *tiles_over(RASTER_BOUNDS, 9)[0]), {}),
    "terrain": ("GET", "/terrain", {}),
    "analysis": ("GET", "/analysis/coverage?network=fuel&distance_m=3000&overlay=false", {}),
    "indicators": ("GET", "/indicators?date=2025-12-31&by=commune", {}),
}


def fill(lane: Lane, release: threading.Event) -> list:
    """Take every worker and queue slot of `lane` with jobs that wait for `release`."""
    held = []
    for _ in range(lane.size.workers + lane.size.queue):
        held.append(lane.submit(release.wait, WAIT_SECONDS))
    return held


def test_every_lane_has_a_route():
    assert set(LANE_REQUESTS) == set(DEFAULT_LANES)
    assert DEFAULT_LANES["imports"].workers == 1 and DEFAULT_LANES["imports"].queue <= 2


@pytest.mark.parametrize("lane_name", list(DEFAULT_LANES))
def test_a_full_lane_refuses_at_once_with_retry_after(small_app, api_client, planner, lane_name):
    lane = small_app.state.work[lane_name]
    method, path, kwargs = LANE_REQUESTS[lane_name]
    release = threading.Event()
    held = fill(lane, release)
    try:
        started = time.monotonic()
        resp = api_client.request(method, path, headers=planner, **kwargs)
        assert resp.status_code == 503, resp.text
        assert time.monotonic() - started < 2  # refused at once, not queued
        assert int(resp.headers["retry-after"]) > 0
        problem = resp.json()
        assert resp.headers["content-type"] == "application/problem+json"
        assert lane_name in problem["detail"] and lane_name in problem["detail_vi"]
    finally:
        release.set()
        for future in held:
            future.result(timeout=WAIT_SECONDS)
    resp = api_client.request(method, path, headers=planner, **kwargs)
    assert resp.status_code in (200, 201), resp.text


# ---------------------------------------------------------------------------------------------- cancellation
@pytest.fixture(scope="module")
def live(dataset) -> Iterator[LiveServer]:
    """The default dataset served by uvicorn in this process, one worker and one queue slot per lane."""
    small = {name: LaneSize(workers=1, queue=1) for name in DEFAULT_LANES}
    with LiveServer(create_app(dataset, RULES, lanes=small)) as served:
        yield served


def lane_of(live: LiveServer, name: str) -> Lane:
    return live.server.config.app.state.work[name]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


def open_request(live: LiveServer, method: str, path: str, body: bytes = b"") -> socket.socket:
    """A client that sends a request and has not read the answer yet."""
    sock = socket.create_connection(("127.0.0.1", live.port))
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return sock


RENDER = "/exports/map?preset=cluster-plan-2030&size=A3&dpi=200&f=png"


def test_a_render_whose_client_hangs_up_stops_and_frees_its_slot(live):
    lane = lane_of(live, "renders")
    with httpx.Client(base_url=live.url, timeout=WAIT_SECONDS) as client:
        begun = time.monotonic()
        assert client.get(RENDER).status_code == 200
        whole = time.monotonic() - begun  # what the render takes when its client waits for it
    before = lane.counters()
    sock = open_request(live, "GET", RENDER)
    wait_until(lambda: lane.started > before["started"], "the render started")
    sock.close()  # the user closed the tab
    hung_up = time.monotonic()
    wait_until(lambda: lane.in_use == 0, "the render's slot is free again")
    freed_after = time.monotonic() - hung_up
    after = lane.counters()
    assert after["cancelled"] == before["cancelled"] + 1, after  # it stopped at a checkpoint: it did not finish
    assert freed_after < whole, (freed_after, whole)
    with httpx.Client(base_url=live.url, timeout=WAIT_SECONDS) as client:  # and the lane works on
        assert client.get(RENDER.replace("A3", "A4")).status_code == 200


CANCELLED_BEFORE_START = {  # lane → a request of it whose work takes a while
    "renders": ("GET", RENDER, b""),
    "checks": ("POST", "/checks?f=pdf", json.dumps(large_polygon()).encode()),
    "exports": ("GET", "/exports/data?collections=communes,districts&format=gpkg", b""),
}


@pytest.mark.parametrize("lane_name", list(CANCELLED_BEFORE_START))
def test_a_job_whose_client_left_before_it_started_is_never_run(live, lane_name):
    lane = lane_of(live, lane_name)
    method, path, body = CANCELLED_BEFORE_START[lane_name]
    release = threading.Event()
    blocker = lane.submit(release.wait, WAIT_SECONDS)  # the lane's one worker is busy
    try:
        before = lane.counters()
        sock = open_request(live, method, path, body)
        wait_until(lambda: lane.in_use == 2, "the request waits in the queue")
        sock.close()
        wait_until(lambda: lane.in_use == 1, "the waiting job is taken off the queue")
        after = lane.counters()
        assert after["cancelled"] == before["cancelled"] + 1
    finally:
        release.set()
        blocker.result(timeout=WAIT_SECONDS)
    wait_until(lambda: lane.in_use == 0, "the lane is empty")
    assert lane.counters()["started"] == after["started"]  # the abandoned job never started

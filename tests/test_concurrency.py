"""Nothing one request does stalls the others: heavy work runs in the work pool, never on the event loop.

Shown as an ordering, not a timing: while one client's check of a large polygon with a PDF report is still being
computed, another client's light reads are answered — many of them finish before the heavy one does.  With the
check on the event loop (as an `async def` doing the work itself), none would.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
import threading
import time

import httpx
import numpy as np

from api.app import create_app
from api.openapi import api_routes
from layers.limits import MAX_CHECK_VERTICES_ANONYMOUS
from tests import small_world


def large_polygon(vertices: int = MAX_CHECK_VERTICES_ANONYMOUS - 1) -> dict:
    """An industrial cluster over Thái Nguyên city drawn with a wavy outline of many vertices (by default the most
    an anonymous caller may have checked: `vertices` + 1 positions with the closing one; ~250 KB of JSON)."""
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = 0.03 * (1 + 0.05 * np.sin(40 * t))
    ring = np.column_stack([105.84 + r * np.cos(t) / np.cos(np.radians(21.59)), 21.59 + r * np.sin(t)])
    ring = np.vstack([ring, ring[:1]]).round(6).tolist()
    return {"type": "Feature", "properties": {"kind": "industrial_cluster", "name": "CCN rất lớn"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_light_reads_are_answered_while_a_large_pdf_check_runs(server):
    body = json.dumps(large_polygon())
    events: list[tuple[str, float]] = []
    heavy_done = threading.Event()

    def heavy() -> None:
        resp = httpx.post(f"{server.url}/checks?f=pdf", content=body, headers={"Content-Type": "application/json"},
                          timeout=300)
        events.append((f"heavy {resp.status_code} {resp.headers.get('content-type')}", time.monotonic()))
        heavy_done.set()

    worker = threading.Thread(target=heavy)
    worker.start()
    time.sleep(0.3)  # let the heavy request reach the server; the assertions are about order only
    with httpx.Client(base_url=server.url, timeout=60) as light:
        while not heavy_done.is_set():
            resp = light.get("/collections/fuel_stations/items", params={"limit": 5})
            assert resp.status_code == 200
            if not heavy_done.is_set():
                events.append(("read", time.monotonic()))
    worker.join(timeout=300)
    heavy_event = next(e for e in events if e[0].startswith("heavy"))
    assert heavy_event[0] == "heavy 200 application/pdf", heavy_event
    reads_before = [e for e in events if e[0] == "read" and e[1] < heavy_event[1]]
    assert len(reads_before) >= 20, f"only {len(reads_before)} light reads were answered during the heavy check"


# What an `async def` route may call on the event loop besides awaiting its job: building the response around the
# job's result.  Everything else — reading a layer, the store, a body's geometry, a hash, a dump of a large
# document — is the job's.
RESPONSE_BUILDERS = {"FileResponse", "BackgroundTask", "Response", "json_bytes"}


def test_no_async_route_does_the_work_itself():
    """Every `async def` route is `await work[lane].run(job, *values)` and at most wraps the result in a response;
    everything else is a plain `def` (FastAPI runs those in its thread pool).  The job's arguments are names
    already resolved (request parameters, dependencies), never calls: `run(job, ws.view(who))` would read the
    store on the event loop.  A new async route that computes on the event loop fails here."""
    app = create_app(small_world.dataset(), small_world.RULES)
    checked = 0
    for route in api_routes(app):
        if not inspect.iscoroutinefunction(route.endpoint):
            continue
        func = ast.parse(textwrap.dedent(inspect.getsource(route.endpoint))).body[0]
        body = [node for statement in func.body for node in ast.walk(statement)]  # not the decorators
        awaited = [node.value for node in body if isinstance(node, ast.Await)]
        assert len(awaited) == 1, (route.path, "one job per async route")
        run = awaited[0]
        assert isinstance(run, ast.Call), route.path
        target = ast.unparse(run.func)
        assert target.startswith("work[") and target.endswith("].run"), (route.path, target)
        for arg in [*run.args, *(k.value for k in run.keywords)]:
            assert not any(isinstance(n, ast.Call) for n in ast.walk(arg)), (route.path, ast.unparse(arg))
        for node in body:
            if isinstance(node, ast.Call) and node is not run:
                name = ast.unparse(node.func)
                assert name in RESPONSE_BUILDERS, (route.path, f"{name}() on the event loop")
        checked += 1
    assert checked >= 10, f"only {checked} async routes: were the heavy routes made plain?"


def test_no_route_leaves_a_json_body_to_fastapi():
    """FastAPI decodes and validates a body parameter on the event loop, before the route runs — megabytes of JSON
    for a large proposal.  Every JSON body is taken as bytes (`BodyOf[...]`) and parsed in the route's job or its
    thread; only the import form (a file streamed to disk by Starlette) is left to FastAPI."""
    app = create_app(small_world.dataset(), small_world.RULES)
    bodies = 0
    for route in api_routes(app):
        kinds = {type(field.field_info).__name__ for field in route.dependant.body_params}
        assert kinds <= {"Form", "File"}, (route.path, kinds)
        bodies += any(hasattr(call, "body_model") for call in _calls(route.dependant))
    assert bodies >= 8, f"only {bodies} routes take a JSON body"


def _calls(dependant) -> list:
    return [dependant.call, *(c for d in dependant.dependencies for c in _calls(d))]

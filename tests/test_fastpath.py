"""The short way for anonymous item reads (api/fastpath.py) answers exactly what the full FastAPI way answers —
status, headers and bytes — and hands everything it does not handle to the full way."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.fastpath import answer_read
from layers.revisions import Store
from tests import small_world

VN2000 = "http://www.opengis.net/def/crs/EPSG/0/9213"
# httpx asks for gzip by default; GIS clients such as wrk and many scripts do not
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    out = []
    for fast in (True, False):
        app = create_app(small_world.dataset(), small_world.RULES,
                         store=Store(tmp_path_factory.mktemp(f"fast-{fast}")), fast_reads=fast)
        app.state.workspace.set_internal("draft_plan", True, "test")
        out.append(TestClient(app))
    with out[0] as fast, out[1] as full:
        yield fast, full


def _some_fid(client) -> int:
    return client.get("/collections/fuel_stations/items?limit=1", headers=PLAIN).json()["features"][0]["id"]


READS = [
    "/collections/fuel_stations/items",
    "/collections/fuel_stations/items?limit=2&offset=1",
    "/collections/fuel_stations/items?bbox=105.7,21.5,106.0,21.8&limit=3",
    f"/collections/fuel_stations/items?bbox=105.7,21.5,106.0,21.8&crs={VN2000}",
    f"/collections/fuel_stations/items?bbox=420000,2380000,450000,2410000&bbox-crs={VN2000}",
    "/collections/communes/items?bbox=105.8,21.55,105.9,21.65&lang=en",
    "/collections/fuel_stations/items?datetime=2024-01-01",
    "/collections/fuel_stations/items?f=json",
    "/collections/fuel_stations/items?f=html",
    "/collections/fuel_stations/items?limit=0",
    "/collections/fuel_stations/items?limit=2&limit=3",
    "/collections/fuel_stations/items?no_such_field=1",
    "/collections/fuel_stations/items?bbox=1,2,3",
    "/collections/draft_plan/items",
    "/collections/nowhere/items",
    "/collections/fuel_stations/items/999999",
    "/collections/fuel_stations/items/abc",
    f"/collections/fuel_stations/items/{{fid}}?crs={VN2000}",
    "/collections/fuel_stations/items/{fid}",
    "/collections/fuel_stations/items/{fid}?f=html",
    "/collections/fuel_stations/items/{fid}?unknown=1",
    # CQL2 filters, sorting and property selection (issue 13): the short way calls the same functions
    "/collections/fuel_stations/items?filter=status%20%3D%20%27existing%27",
    "/collections/public_facilities/items?filter=kind%20IN%20(%27school%27,%27office%27)&sortby=-name&limit=1",
    "/collections/public_facilities/items?sortby=%2Bkind,-name&properties=name&skipGeometry=true&offset=1",
    f"/collections/fuel_stations/items?filter=S_INTERSECTS(geometry,BBOX(105.7,21.5,106.0,21.8))&crs={VN2000}"
    "&properties=status",
    f"/collections/fuel_stations/items?filter=S_DWITHIN(geometry,POINT(432000%202390000),10)&filter-crs={VN2000}",
    "/collections/fuel_stations/items?filter-lang=cql2-json&filter=%7B%22op%22%3A%22%3D%22%2C%22args%22%3A%5B%7B"
    "%22property%22%3A%22status%22%7D%2C%22existing%22%5D%7D",
    "/collections/fuel_stations/items?filter=nothing%20%3D%201",
    "/collections/fuel_stations/items?filter=status%20%3D",
    "/collections/fuel_stations/items?sortby=colour",
    "/collections/fuel_stations/items?properties=colour",
]


def _comparable(resp) -> tuple:
    body = resp.content
    if resp.headers.get("content-type", "").startswith("application/geo+json") and resp.status_code == 200:
        doc = orjson.loads(body)
        doc.pop("timeStamp", None)
        body = orjson.dumps(doc)
    elif resp.headers.get("content-type", "").startswith("text/html"):
        body = b"html"
    headers = {k: v for k, v in resp.headers.items() if k not in ("date", "content-length")}
    return resp.status_code, headers, body


@pytest.mark.parametrize("path", READS)
def test_the_short_way_answers_what_the_full_way_does(clients, path):
    fast, full = clients
    path = path.replace("{fid}", str(_some_fid(full)))
    assert _comparable(fast.get(path, headers=PLAIN)) == _comparable(full.get(path, headers=PLAIN))


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_large_pages_of_the_default_data_are_the_same_either_way(dataset, encoding):
    """Above GZip's minimum size the full way says `Vary: Accept-Encoding` (and compresses for clients that
    accept it, which the short way leaves to it)."""
    fast, full = (TestClient(create_app(dataset, fast_reads=f)) for f in (True, False))
    for path in ("/collections/fuel_stations/items?limit=1000", f"/collections/fuel_stations/items?crs={VN2000}"):
        a, b = fast.get(path, headers={"Accept-Encoding": encoding}), full.get(path, headers={"Accept-Encoding":
                                                                                          encoding})
        assert len(a.content) > 4096 and a.headers.get("vary") == "Accept-Encoding"
        assert _comparable(a) == _comparable(b)


def test_a_conditional_read_of_an_unchanged_feature_is_answered_304(clients):
    fast, _ = clients
    fid = _some_fid(fast)
    first = fast.get(f"/collections/fuel_stations/items/{fid}", headers=PLAIN)
    again = fast.get(f"/collections/fuel_stations/items/{fid}",
                     headers={**PLAIN, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == first.headers["etag"] and again.content == b""


def _scope(app, path: str, query: str = "", headers: list | None = None) -> dict:
    return {"type": "http", "method": "GET", "path": path, "query_string": query.encode(), "app": app,
            "headers": headers if headers is not None else [(b"host", b"testserver")], "scheme": "http",
            "server": ("testserver", 80), "root_path": ""}


def test_what_the_short_way_takes_and_what_it_leaves(clients):
    app = clients[0].app
    assert answer_read(_scope(app, "/collections/fuel_stations/items", "limit=2"))[0] == 200
    assert answer_read(_scope(app, "/collections/fuel_stations/items", f"crs={VN2000}"))[0] == 200
    fid = _some_fid(clients[0])
    assert answer_read(_scope(app, f"/collections/fuel_stations/items/{fid}"))[0] == 200
    # a filtered, sorted selection is a read like any other: the short way answers it with the same functions
    assert answer_read(_scope(app, "/collections/fuel_stations/items",
                              "filter=status%20%3D%20%27existing%27&sortby=-name&properties=name"))[0] == 200
    left = [
        _scope(app, "/collections/fuel_stations/items", headers=[(b"authorization", b"Bearer x")]),
        _scope(app, "/collections/fuel_stations/items", headers=[(b"accept-encoding", b"gzip, br")]),
        _scope(app, "/collections/fuel_stations/items", headers=[(b"content-length", b"3")]),
        _scope(app, "/collections/fuel_stations/items", headers=[(b"accept", b"text/html")]),
        _scope(app, "/collections/fuel_stations/items", "limit=1&limit=2"),
        _scope(app, "/collections/fuel_stations/items", "limit=0"),
        _scope(app, "/collections/draft_plan/items"),  # internal: anonymous users get the full way's 404
        _scope(app, "/collections/fuel_stations/items/999999"),
        _scope(app, "/collections/fuel_stations"),
    ]
    assert [answer_read(s) for s in left] == [None] * len(left)


def test_an_overlong_query_is_refused_before_it_is_parsed(clients):
    for client in clients:
        resp = client.get("/collections/fuel_stations/items?name=" + "x" * 20_000, headers=PLAIN)
        assert resp.status_code == 414 and resp.json()["code"] == "URITooLong"


def test_handlers_and_query_models_that_do_work_are_not_run_on_the_event_loop(clients):
    """Exception handlers (logging, the 405 table) and query-model validation are plain functions, which
    Starlette and FastAPI run in their thread pool."""
    import inspect

    from api.openapi import _dependency_calls, api_routes

    app = clients[0].app
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from geo.errors import PlanmapError

    ours = [app.exception_handlers[k] for k in (PlanmapError, RequestValidationError, HTTPException, Exception)]
    assert not any(inspect.iscoroutinefunction(h) for h in ours)
    models = [call for route in api_routes(app) for call in _dependency_calls(route) if hasattr(call, "query_model")]
    assert models and not any(inspect.iscoroutinefunction(call) for call in models)

"""Harvesting with filters: GDAL's OAPIF driver (from the pyogrio wheel) sends a `where` clause to planmap as a CQL2
filter — the server's own record of the requests shows it did — and gets the features filtering the whole download
gives; OWSLib reads the collections, the queryables and items with a filter.

The server is the default dataset in its own process (GDAL holds the GIL while it reads), wrapped in a recorder that
writes every request's path and query to a file: the test hook that tells what reached the server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyogrio
import pytest
from owslib.ogcapi.features import Features

from tests.conftest import CATALOG, DATA, REPO

RECORDING_SERVER = """
import sys
from pathlib import Path

import uvicorn

from api.app import create_app
from layers.dataset import load_dataset
from layers.prepared import PreparedCache

data, catalog, cache, port, log = sys.argv[1:6]
app = create_app(load_dataset(Path(data), Path(catalog), PreparedCache(Path(cache))))


class Recorder:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":  # a test's record, a few bytes per request
            with open(log, "a", encoding="utf-8") as f:
                f.write(scope["path"] + "?" + scope["query_string"].decode("latin-1") + "\\n")
        await self.app(scope, receive, send)


uvicorn.run(Recorder(app), host="127.0.0.1", port=int(port), log_level="warning")
"""


class Recorded:
    """A served default dataset whose requests are written to `log`."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log

    def requests(self) -> list[tuple[str, dict[str, list[str]]]]:
        lines = self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []
        return [(line.split("?", 1)[0], parse_qs(line.split("?", 1)[1])) for line in lines]

    def forget(self) -> None:
        self.log.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[Recorded]:
    folder = tmp_path_factory.mktemp("recorded")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = folder / "requests.log"
    cache = os.environ.get("PLANMAP_CACHE", str(folder / "cache"))
    proc = subprocess.Popen([sys.executable, "-c", RECORDING_SERVER, str(DATA), str(CATALOG), cache, str(port),
                             str(log)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/conformance", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"the recording server exited: {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise RuntimeError("the recording server did not answer in time")
            time.sleep(0.2)
        yield Recorded(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


PAGE = 5  # features per page GDAL asks for: several pages for every case

WHERES = [
    ("industrial_clusters", "status = 'planned'", lambda f: f.status == "planned"),
    ("industrial_clusters", "area_ha > 20 AND status <> 'existing'",
     lambda f: (f.area_ha > 20) & f.status.notna() & (f.status != "existing")),
    ("industrial_clusters", "name LIKE 'CCN%'", lambda f: f.name.fillna("").str.startswith("CCN")),
    ("fuel_stations", "status = 'planned' OR name IS NULL", lambda f: (f.status == "planned") | f.name.isna()),
    ("industrial_parks", "area_ha BETWEEN 100 AND 300", lambda f: f.area_ha.between(100, 300)),
]


@pytest.mark.parametrize(("cid", "where", "expected"), WHERES, ids=[w for _, w, _ in WHERES])
def test_gdal_sends_where_to_the_server_and_gets_the_same_features(recorded, cid, where, expected):
    source = f"OAPIF:{recorded.url}"
    whole = pyogrio.read_dataframe(source, layer=cid, fid_as_index=True)
    want = sorted(whole.index[expected(whole).fillna(False).astype(bool)].tolist())
    assert want, "the case selects something"
    recorded.forget()
    got = pyogrio.read_dataframe(source, layer=cid, where=where, fid_as_index=True, PAGE_SIZE=str(PAGE))
    assert sorted(got.index.tolist()) == want
    item_reads = [q for path, q in recorded.requests() if path == f"/collections/{cid}/items"]
    filtered = [q for q in item_reads if "filter" in q]
    # GDAL reads a sample of the layer for its schema before the filter is set; every read after it is filtered,
    # page after page (following the `next` links)
    unfiltered = [q for q in item_reads if "filter" not in q]
    assert len(unfiltered) <= 1 and (not unfiltered or item_reads[0] is unfiltered[0]), item_reads
    assert len(filtered) >= min(2, -(-len(want) // PAGE)), item_reads
    assert all(q["filter-lang"] == ["cql-text"] and q["filter"] == filtered[0]["filter"] for q in filtered)
    filters = [filtered[0]["filter"][0]]
    matched = httpx.get(f"{recorded.url}/collections/{cid}/items",
                        params={"filter": filters[0], "limit": 1}).json()["numberMatched"]
    assert matched == len(want)  # the server, not GDAL, did the selecting


def test_owslib_reads_collections_queryables_and_a_filtered_page(recorded):
    api = Features(recorded.url)
    assert "industrial_clusters" in [c["id"] for c in api.collections()["collections"]]
    queryables = api.collection_queryables("industrial_clusters")["properties"]
    assert {"status", "area_ha", "geometry"} <= set(queryables)
    page = api.collection_items("industrial_clusters", limit=500, filter="status = 'planned' AND area_ha >= 20",
                                sortby=("area_ha", "desc"), properties="name,area_ha,status")
    features = page["features"]
    assert features and page["numberMatched"] == len(features)
    assert all(f["properties"]["status"] == "planned" and f["properties"]["area_ha"] >= 20 for f in features)
    areas = [f["properties"]["area_ha"] for f in features]
    assert areas == sorted(areas, reverse=True)
    assert all(set(f["properties"]) == {"name", "area_ha", "status"} for f in features)
    whole = api.collection_items("industrial_clusters", limit=10_000)["features"]
    assert len(features) == sum(1 for f in whole if f["properties"]["status"] == "planned"
                                and (f["properties"]["area_ha"] or 0) >= 20)


def test_the_paging_links_a_harvester_follows_keep_the_filter(recorded):
    url = f"{recorded.url}/collections/fuel_stations/items"
    params = {"filter": "status = 'existing'", "sortby": "name", "limit": 10}
    page, seen = httpx.get(url, params=params).json(), []
    total = page["numberMatched"]
    while True:
        seen += [f["id"] for f in page["features"]]
        following = [lk["href"] for lk in page["links"] if lk["rel"] == "next"]
        if not following:
            break
        assert parse_qs(urlsplit(following[0]).query)["filter"] == ["status = 'existing'"]
        page = httpx.get(following[0]).json()
    assert len(seen) == len(set(seen)) == total > 10

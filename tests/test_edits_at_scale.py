"""Edits cost what they change, readers never wait on writers, and a stale write is refused.

A department edits layers of hundreds of thousands of features while colleagues read them: one-feature edits must
add a few kilobytes to the store (not a copy of the layer), leave every other feature's served bytes and index
entry as they were, and report true change counts; a slow commit must not hold up a single read; a planner
writing from a stale copy gets 412 and changes nothing.  (The timings at 200,000 features are the benchmark's:
bench/reliability.py, docs/reliability.md.)
"""

from __future__ import annotations

import sqlite3
import threading
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import features
from layers.catalog import default_meta
from layers.dataset import Dataset, layer_from_frame
from layers.revisions import Store
from layers.workspace import Workspace
from tests.conftest import ADMIN_TOKEN, new_store, reopen
from tests.small_world import X0, Y0, meta, site

N = 20_000


def served(layer) -> dict[str, list[bytes]]:
    """Every row's bytes as served in each prepared CRS, and its WKB: what two equal layers must share."""
    rows = np.arange(len(layer))
    return {**{crs: enc.items(rows) for crs, enc in layer.encoded.items()}, "wkb": layer.wkb.items(rows),
            "bounds": layer.bounds_array.tolist()}


def points(n: int, seed: int = 0, start: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(105.6, 106.2, n), rng.uniform(21.4, 22.0, n)
    frame = gpd.GeoDataFrame({"name": [f"điểm {i}" for i in range(n)], "capacity": rng.integers(1, 99, n),
                              "status": rng.choice(["existing", "planned"], n),
                              "valid_from": ["2020-01-01"] * n, "source": "test", "accuracy": "synthetic"},
                             geometry=shapely.points(x, y), crs="OGC:CRS84")
    frame.index = pd.Index(range(start, start + n), dtype="int64")
    return frame


def one(fid: int, name: str, x: float, y: float, capacity: int = 5) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({"name": [name], "capacity": [capacity], "status": ["planned"],
                              "valid_from": ["2024-05-01"], "source": ["test"], "accuracy": ["synthetic"]},
                             geometry=[shapely.Point(x, y)], crs="OGC:CRS84")
    frame.index = pd.Index([fid], dtype="int64")
    return frame


# ------------------------------------------------------------------------------------ the layer, updated in place
def test_an_updated_layer_serves_exactly_what_a_full_rebuild_would():
    """Random creates, replaces, deletes and re-inserted ids: bytes, order, index answers, dates and the table of
    the incrementally updated layer equal those of a layer built from scratch on the same features."""
    rng = np.random.default_rng(7)
    truth = points(3_000)
    layer = layer_from_frame(meta("t", ("valid_from",)), truth)
    assert layer.validity is not None  # parsed now: the dates are then carried through updates
    for step in range(120):
        fids = truth.index.to_numpy()
        op = step % 4
        if op == 0:  # create
            fid = int(fids.max()) + 1
            put, deleted = one(fid, f"mới {step}", *rng.uniform(105.6, 106.2, 2)), []
        elif op == 1:  # replace (moves the point)
            fid = int(rng.choice(fids))
            put, deleted = one(fid, f"sửa {step}", *rng.uniform(105.6, 106.2, 2), capacity=int(step)), []
        elif op == 2:  # delete two
            put, deleted = None, [int(f) for f in rng.choice(fids, 2, replace=False)]
        else:  # a rollback-like edit: a deleted id comes back, and one is replaced
            gone = sorted(set(range(1, int(fids.max()) + 1)) - set(fids.tolist()))
            back = gone[0] if gone else int(fids.max()) + 1
            put, deleted = pd.concat([one(back, f"trở lại {step}", 105.9, 21.7),
                                      one(int(rng.choice(fids)), "và sửa", 105.8, 21.8)]), []
        layer = layer.updated(put, deleted)
        truth = truth.drop(index=[f for f in deleted] + ([] if put is None else
                                                         [f for f in put.index if f in truth.index]))
        if put is not None:
            truth = pd.concat([truth, put]).sort_index()
    rebuilt = layer_from_frame(meta("t", ("valid_from",)), gpd.GeoDataFrame(truth, crs="OGC:CRS84"))
    assert list(layer.fids) == list(rebuilt.fids)
    assert served(layer) == served(rebuilt)
    for box in [shapely.box(105.8, 21.6, 106.0, 21.8), shapely.box(105.6, 21.4, 106.2, 22.0),
                shapely.box(105.9, 21.7, 105.9001, 21.7001)]:
        assert list(layer.index.intersecting(box)) == list(rebuilt.index.intersecting(box))
    assert all(np.array_equal(a, b) for a, b in zip(layer.validity, rebuilt.validity, strict=True))
    pd.testing.assert_frame_equal(pd.DataFrame(layer.frame.drop(columns="geometry")),
                                  pd.DataFrame(rebuilt.frame.drop(columns="geometry")), check_dtype=False)
    assert layer.row_of(int(truth.index[10])) == 10 and layer.row_of(10**9) is None
    assert layer.bounds == rebuilt.bounds


# ------------------------------------------------------------------------------------ the store, per feature
@pytest.fixture
def big(request, store_kind, tmp_path) -> Workspace:
    base = Dataset({"sites": layer_from_frame(default_meta("sites"), points(N))})
    return Workspace(base, new_store(request, store_kind, tmp_path))


def _store_bytes(store) -> int:
    """What the store takes: the SQLite file, or the rows of the PostGIS tables (a new table's first pages and
    index roots are not what an edit costs)."""
    if isinstance(store, Store):
        with store.connect() as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return store.path.stat().st_size
    with store.connect() as db:
        return int(db.execute("SELECT (SELECT coalesce(sum(pg_column_size(f.*)), 0) FROM features f)"
                              " + (SELECT coalesce(sum(pg_column_size(r.*)), 0) FROM revisions r)").fetchone()[0])


def test_one_feature_edits_store_kilobytes_and_true_counts(big):
    store = big.store
    before = _store_bytes(store)
    props, geom = features.parse_feature({"type": "Feature", "properties": {"name": "Cửa hàng mới", "capacity": 7},
                                          "geometry": {"type": "Point", "coordinates": [105.9, 21.7]}})
    fid, created = features.create_feature(big, "sites", props, geom, "lan")
    _, replaced = features.replace_feature(big, "sites", 5, {"name": "sửa", "capacity": 8, "status": "existing"},
                                           geom, "lan")
    deleted = features.delete_feature(big, "sites", 6, "lan")
    grown = _store_bytes(store) - before
    assert grown < 64_000, f"three one-feature edits of a {N}-feature layer added {grown} bytes"
    assert (created.added, created.changed, created.removed, created.feature_count) == (1, 0, 0, N + 1)
    assert (replaced.added, replaced.changed, replaced.removed) == (0, 1, 0)  # the first edit of a shipped layer
    assert (deleted.added, deleted.changed, deleted.removed, deleted.feature_count) == (0, 0, 1, N)
    layer = big.dataset.get("sites")
    assert len(layer) == N and layer.row_of(6) is None and layer.properties_of(layer.row_of(5))["name"] == "sửa"
    assert layer.properties_of(layer.row_of(fid))["capacity"] == 7


def test_history_and_rollback_work_on_deltas(big):
    shipped = big.dataset.get("sites")
    geom = shapely.Point(105.95, 21.75)
    fid, first = features.create_feature(big, "sites", {"name": "A"}, geom, "lan")
    features.replace_feature(big, "sites", 1, {"name": "B", "status": "existing"}, geom, "lan")
    features.delete_feature(big, "sites", 2, "lan")
    features.delete_feature(big, "sites", fid, "lan")
    back = big.rollback("sites", first.id, "minh")
    assert (back.added, back.changed, back.removed) == (2, 1, 0)  # fid and 2 come back, 1 is restored
    layer = big.dataset.get("sites")
    then = big.store.snapshot(first.id, shipped.frame)  # the store's own reading of that revision
    assert list(layer.fids) == list(then.index) and list(layer.frame["name"]) == list(then["name"])
    assert layer.properties_of(layer.row_of(fid))["name"] == "A"
    assert layer.feature(layer.row_of(1)) == shipped.feature(shipped.row_of(1))  # byte for byte as shipped
    assert [r.action for r in big.history("sites")] == ["rollback", "delete", "delete", "replace", "create"]
    restarted = Workspace(Dataset({"sites": shipped}), reopen(big.store))  # a restart rebuilds the same
    assert served(restarted.dataset.get("sites")) == served(layer)


def test_another_process_edit_is_applied_as_a_delta(big):
    other = Workspace(big.base, reopen(big.store))  # a second server (or `planmap import`) on one store
    features.create_feature(other, "sites", {"name": "từ máy khác"}, shapely.Point(105.9, 21.7), "minh")
    deadline = time.monotonic() + 1  # the promise: another process's edit is served within a second
    while len(big.dataset.get("sites")) == N and time.monotonic() < deadline:
        big._checked_at = 0  # (the store's watcher may be catching up already: then `refresh` leaves it to it)
        big.refresh()
        time.sleep(0.01)
    layer = big.dataset.get("sites")
    assert len(layer) == N + 1 and layer.properties_of(len(layer) - 1)["name"] == "từ máy khác"
    assert served(layer) == served(other.dataset.get("sites"))


def test_an_older_store_of_full_snapshots_still_opens(tmp_path):
    """A store written before per-feature revisions (no `kind`, no `deleted` columns) is read as full snapshots."""
    db = sqlite3.connect(tmp_path / "planmap-store.sqlite")
    db.executescript("""
        CREATE TABLE revisions (id INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, created TEXT NOT NULL,
            author TEXT NOT NULL, action TEXT NOT NULL, source_file TEXT, feature_count INTEGER NOT NULL,
            added INTEGER NOT NULL DEFAULT 0, changed INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0,
            parent INTEGER, report TEXT);
        CREATE TABLE features (revision INTEGER NOT NULL REFERENCES revisions(id), fid INTEGER NOT NULL,
            properties TEXT NOT NULL, geometry BLOB, PRIMARY KEY (revision, fid));
        CREATE TABLE layer_head (layer TEXT PRIMARY KEY, revision INTEGER NOT NULL REFERENCES revisions(id));
    """)
    db.execute("INSERT INTO revisions VALUES (1, 'sites', '2026-01-01T00:00:00Z', 'lan', 'import', 'a.shp', 2,"
               " 2, 0, 0, NULL, NULL)")
    for fid, x in ((1, 105.8), (2, 105.9)):
        db.execute("INSERT INTO features VALUES (1, ?, ?, ?)",
                   (fid, f'{{"name": "cũ {fid}"}}', shapely.to_wkb(shapely.Point(x, 21.7))))
    db.execute("INSERT INTO layer_head VALUES ('sites', 1)")
    db.commit()
    db.close()
    base = Dataset({"sites": layer_from_frame(default_meta("sites"), points(10))})
    ws = Workspace(base, Store(tmp_path))
    assert len(ws.dataset.get("sites")) == 2  # the old full snapshot, not the shipped 10
    features.delete_feature(ws, "sites", 1, "lan")
    assert list(Workspace(base, Store(tmp_path)).dataset.get("sites").fids) == [2]


# ------------------------------------------------------------------------------------ readers never wait
def test_reads_go_on_while_a_commit_is_stuck(big, monkeypatch):
    """A writer holding the store's write transaction (a slow disk, a huge import) blocks no reader: they answer
    from the published snapshot, and a due refresh does not wait for the writer."""
    monkeypatch.setenv("PLANMAP_FAULT_PAUSE_BEFORE_COMMIT", "3")
    writer = threading.Thread(target=features.create_feature,
                              args=(big, "sites", {"name": "chậm"}, shapely.Point(105.9, 21.7), "lan"))
    writer.start()
    time.sleep(0.5)  # the writer is inside its transaction now
    waits = []
    for _ in range(5):
        big._checked_at = 0  # every read finds the store check due
        start = time.perf_counter()
        layer = big.view_for(False).get("sites")
        layer.index.intersecting(shapely.box(105.8, 21.6, 106.0, 21.8))
        waits.append(time.perf_counter() - start)
    assert writer.is_alive(), "the writer finished before the reads: the test proved nothing"
    writer.join()
    assert max(waits) < 0.25, waits
    assert len(big.dataset.get("sites")) == N + 1


# ------------------------------------------------------------------------------------ optimistic concurrency
def test_a_stale_write_gets_412_and_changes_nothing(api_client, planner):
    url = "/collections/fuel_stations/items"
    created = api_client.post(url, json=site("fuel_station", X0 + 4_000, Y0) | {"properties": {"name": "Gốc"}},
                              headers=planner)
    assert created.status_code == 201 and created.headers["etag"].startswith('"')
    item = f"{url}/{created.json()['id']}"
    read = api_client.get(item)
    tag = read.headers["etag"]
    assert tag == created.headers["etag"]
    assert api_client.get(item, headers={"If-None-Match": tag}).status_code == 304
    colleague = api_client.put(item, json=site("fuel_station", X0 + 4_000, Y0) | {"properties": {"name": "Lan sửa"}},
                               headers=planner | {"If-Match": tag})
    assert colleague.status_code == 200 and colleague.headers["etag"] != tag
    revisions = len(api_client.get("/collections/fuel_stations/revisions").json()["revisions"])
    stale = api_client.put(item, json=site("fuel_station", X0 + 4_100, Y0) | {"properties": {"name": "Minh sửa"}},
                           headers=planner | {"If-Match": tag})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["current_etag"] == colleague.headers["etag"] and "người khác" in stale.json()["detail_vi"]
    assert api_client.delete(item, headers=planner | {"If-Match": tag}).status_code == 412
    assert api_client.get(item).json()["properties"]["name"] == "Lan sửa"
    assert len(api_client.get("/collections/fuel_stations/revisions").json()["revisions"]) == revisions
    fresh = api_client.get(item).headers["etag"]
    assert api_client.delete(item, headers=planner | {"If-Match": fresh}).status_code == 204


def test_a_proposal_decided_by_a_colleague_is_not_overwritten(api_client, planner):
    saved = api_client.post("/proposals", json=site("fuel_station", X0 + 60, Y0, name="CHXD Tranh Chấp"),
                            headers=planner).json()
    item = f"/collections/proposals/items/{saved['id']}"
    tag = api_client.get(item, headers=planner).headers["etag"]
    first = api_client.post(f"/proposals/{saved['id']}/status", json={"status": "approved"},
                            headers=planner | {"If-Match": tag})
    assert first.status_code == 200 and first.headers["etag"] != tag
    second = api_client.post(f"/proposals/{saved['id']}/status", json={"status": "rejected"},
                             headers=planner | {"If-Match": tag})
    assert second.status_code == 412
    assert api_client.get(item, headers=planner).json()["properties"]["status"] == "approved"
    assert ADMIN_TOKEN  # the admin is not needed: any planner's stale copy is refused alike

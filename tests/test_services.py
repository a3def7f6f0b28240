"""The service layer answers each question in one place: the next feature id, the outline in force, the date
filter, the accuracy order — and its operations are plain functions the API and the CLI share."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo.errors import BadRequest, NotFound
from layers import admin, features, register
from layers.accounts import add_user
from layers.catalog import default_meta
from layers.dataset import layer_from_frame
from layers.provenance import ACCURACY, weakest
from layers.revisions import Store
from layers.workspace import Workspace
from tests.conftest import new_store
from tests.small_world import TODAY, X0, Y0, dataset, lonlat


def test_new_features_take_the_next_id_after_the_largest():
    current = layer_from_frame(default_meta("t"), gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=[Point(0, 0), Point(1, 1)], crs="OGC:CRS84", index=[3, 7]))
    new = gpd.GeoDataFrame({"name": ["c", "d"]}, geometry=[Point(2, 2), Point(3, 3)], crs="OGC:CRS84")
    out = current.updated(features.numbered(new, features.next_fid(current)), [])
    assert list(out.fids) == [3, 7, 8, 9] and list(out.frame["name"]) == ["a", "b", "c", "d"]
    assert features.next_fid(None) == 1 and list(features.numbered(new, 1).index) == [1, 2]


def test_the_outline_in_force_follows_the_reform_date():
    ds = dataset()
    before = admin.province_outline(ds, admin.LAST_DAY_OF_DISTRICTS)
    after = admin.province_outline(ds, admin.REFORM_DATE)
    assert after.area > before.area * 1.5  # the merged province is larger
    assert admin.district_day(TODAY) == dt.date(2025, 6, 30) and admin.commune_day(dt.date(2020, 1, 1)) == \
        dt.date(2025, 7, 1)


def test_one_date_filter_for_every_layer():
    layer = dataset().get("province")
    assert list(layer.valid_on(dt.date(2025, 6, 30))) == [False, True]
    assert list(layer.valid_on(dt.date(2025, 7, 1))) == [True, False]
    assert list(layer.valid_between(dt.date(2025, 1, 1), dt.date(2025, 12, 31))) == [True, True]
    assert list(dataset().get("fuel_stations").valid_on(dt.date(1990, 1, 1))) == [True]  # undated: always


def test_accuracy_has_one_order():
    assert ACCURACY == ("exact", "approximate", "schematic", "synthetic")
    assert weakest(["exact", "synthetic", "approximate"]) == "synthetic" and weakest([]) is None


@pytest.fixture
def ws(request, store_kind, tmp_path) -> Workspace:
    return Workspace(dataset(), new_store(request, store_kind, tmp_path))


def test_feature_edits_are_revisions_with_provenance(ws):
    props, geom = features.parse_feature({"type": "Feature", "properties": {"name": "CHXD Mới"},
                                          "geometry": {"type": "Point", "coordinates": lonlat(X0, Y0 + 500)}})
    fid, rev = features.create_feature(ws, "fuel_stations", props, geom, "lan")
    assert fid == 2 and rev.action == "create" and rev.added == 1
    row = ws.current_frame("fuel_stations").loc[fid]
    assert row["accuracy"] == "approximate" and rev.author == "lan"
    assert row["source"] == f"planmap: edited on {dt.date.today().isoformat()}"  # who edited it: the revision
    with pytest.raises(BadRequest, match="colour"):
        features.create_feature(ws, "fuel_stations", {"colour": "red"}, geom, "lan")
    with pytest.raises(NotFound):
        features.delete_feature(ws, "fuel_stations", 99, "lan")
    with pytest.raises(NotFound):
        features.delete_feature(ws, "nothing", 1, "lan")
    ws.set_internal("draft_plan", True, "lan")
    with pytest.raises(NotFound):  # an internal layer does not exist for someone who may not see it
        features.create_feature(ws, "draft_plan", props, geom, "minh", sees_internal=False)


def test_the_register_saves_a_report_and_its_status(ws):
    report = {"proposal": {"properties": {"name": "CCN X"}}, "kind": "industrial_cluster", "verdict": "fail",
              "as_of": "2026-11-28", "context": {"commune": {"name": "Xã Hai"}, "district_pre2025": None},
              "results": []}
    fid, _ = register.save_proposal(ws, report, box(105.8, 21.6, 105.81, 21.61), "submitted", "lan")
    assert ws.dataset.internal >= {"proposals"}
    register.set_status(ws, fid, "approved", "lan")
    assert ws.current_frame("proposals").loc[fid, "status"] == "approved"
    with pytest.raises(BadRequest):
        register.set_status(ws, fid, "maybe", "lan")


def test_accounts_refuse_bad_names_and_keep_no_token(request, store_kind, tmp_path):
    store = new_store(request, store_kind, tmp_path)
    token = add_user(store, "lan", "planner", "admin")["token"]
    if isinstance(store, Store):
        assert token.encode() not in (tmp_path / "planmap-store.sqlite").read_bytes()
    else:
        with store.connect() as db:  # not in any column of any table of the store
            rows = db.execute("SELECT t::text FROM users t UNION ALL SELECT t::text FROM revisions t").fetchall()
        assert rows and not any(token in r[0] for r in rows)
    assert token.startswith("pm_")
    with pytest.raises(BadRequest):
        add_user(store, "lan nguyen", "planner", "admin")

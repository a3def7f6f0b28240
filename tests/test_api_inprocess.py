"""The API's many cases, in-process: FastAPI's test client over the small hand-made world (tests/small_world.py).

The real process and the real clients (GDAL, OWSLib, Chromium) are tested elsewhere; here every route's contract —
status, problem body, answers checked against the response models and against hand-computed values — runs in
milliseconds.
"""

from __future__ import annotations

import io
import json
import threading

import pytest

from api import models
from tests.conftest import ADMIN_TOKEN
from tests.small_world import X0, Y0, lonlat, site

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = models.Problem.model_validate(resp.json()).model_dump()
    assert body["status"] == status and body["detail"] and body["detail_vi"]
    return body


# ---------------------------------------------------------------------------------------------------- reads
@pytest.mark.parametrize("url, model", [
    ("/", models.LandingPage), ("/conformance", models.Conformance), ("/collections", models.Collections),
    ("/collections/fuel_stations", models.Collection), ("/collections/fuel_stations/queryables", models.Queryables),
    ("/collections/fuel_stations/items", models.FeatureCollection), ("/collections/fuel_stations/items/1",
                                                                      models.Feature),
    ("/rules", models.Rules), ("/search?q=thu", models.SearchResults),
    ("/collections/fuel_stations/revisions", models.Revisions),
])
def test_answers_match_their_documented_models(api_client, url, model):
    resp = api_client.get(url, headers={"Accept": "application/json"})
    assert resp.status_code == 200, resp.text
    model.model_validate(resp.json())


def test_items_are_the_hand_made_features(api_client):
    doc = api_client.get("/collections/fuel_stations/items").json()
    assert doc["numberMatched"] == 1 and doc["features"][0]["properties"]["name"] == "CHXD Số 1"
    x, y = doc["features"][0]["geometry"]["coordinates"]
    assert [x, y] == pytest.approx(lonlat(X0 + 2_000, Y0), abs=1e-9)


def test_the_internal_layer_is_only_for_planners(api_client, planner):
    assert api_client.get("/collections/draft_plan").status_code == 404
    assert "draft_plan" not in {c["id"] for c in api_client.get("/collections").json()["collections"]}
    assert api_client.get("/collections/draft_plan", headers=planner).status_code == 200
    assert "/collections/draft_plan/items" not in api_client.get("/api").json()["paths"]
    assert "/collections/draft_plan/items" in api_client.get("/api", headers=planner).json()["paths"]


@pytest.mark.parametrize("url, name", [
    ("/collections/fuel_stations/items?limit=5&limit=6", "limit"),
    ("/collections/fuel_stations/items?limit=0", "limit"),
    ("/collections/fuel_stations/items?limit=10001", "limit"),
    ("/collections/fuel_stations/items?offset=-1", "offset"),
    ("/collections/fuel_stations/items?bbox=1,2,3", "bbox"),
    ("/collections/fuel_stations/items?bbox=106,22,105,21", "bbox"),
    ("/collections/fuel_stations/items?bbox=nan,1,2,3", "bbox"),
    ("/collections/fuel_stations/items?bbox=105,21,200,22", "bbox"),
    ("/collections/fuel_stations/items?crs=EPSG:1234", "crs"),
    ("/collections/fuel_stations/items?f=xml", "xml"),
    ("/collections/fuel_stations/items?colour=red", "colour"),
    ("/collections/fuel_stations/items?datetime=yesterday", "datetime"),
    ("/collections?unknown=1", "unknown"),
    ("/rules?kind=casino", "kind"),
    ("/rules?as_of=someday", "as_of"),
    ("/search?q=", "q"),
    ("/exports/map?dpi=5", "dpi"),
    ("/exports/map?size=A0", "A0"),
    ("/exports/map?f=tiff", "tiff"),
    ("/exports/data?collections=fuel_stations&format=xls", "format"),
    ("/collections/fuel_stations/revisions/0", "revisionId"),
    ("/collections/fuel_stations/revisions/99999999999999999999", "revisionId"),
])
def test_bad_input_is_a_400_problem_naming_the_parameter(api_client, url, name):
    assert name in problem(api_client.get(url), 400)["detail"]


@pytest.mark.parametrize("url", ["/collections/nothing", "/collections/nothing/items?limit=0",
                                 "/collections/fuel_stations/items/99", "/collections/fuel_stations/items/abc",
                                 "/no/such/path"])
def test_unknown_resources_are_404_problems(api_client, url):
    problem(api_client.get(url), 404)


# ---------------------------------------------------------------------------------------------------- checks
def test_a_check_measures_the_hand_computed_distances(api_client):
    report = api_client.post("/checks", json=site("fuel_station", X0 + 30, Y0, name="CHXD <b>mới</b>")).json()
    models.CheckReport.model_validate(report)
    by_rule = {r["rule"]: r for r in report["results"]}
    crowded = by_rule["fuel_station.crowded_places"]
    assert crowded["status"] == "fail" and crowded["measured"] == pytest.approx(30.0, abs=0.01)
    assert crowded["features"][0]["name"] == "Trường THCS Kiểm Tra"
    spacing = by_rule["fuel_station.station_spacing"]
    assert spacing["status"] == "pass" and spacing["measured"] == pytest.approx(1970.0, abs=0.01)
    assert by_rule["fuel_station.fire_sources"]["status"] == "unknown"  # no such layer: never a pass
    assert report["verdict"] == "fail"
    assert report["context"]["commune"]["name"] == "Xã Hai"


def test_the_report_speaks_english_on_request(api_client):
    report = api_client.post("/checks?lang=en", json=site("fuel_station", X0 + 30, Y0)).json()
    crowded = next(r for r in report["results"] if r["rule"] == "fuel_station.crowded_places")
    assert crowded["message"].startswith("Nearest: Trường THCS Kiểm Tra, 30.0 m away")


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b'{"type": "FeatureCollection", "features": []}', 400),
    (b'{"type": "Feature", "properties": {"kind": "casino"}, "geometry": {"type": "Point", '
     b'"coordinates": [105.8, 21.6]}}', 422),
    (b'{"type": "Feature", "properties": {"kind": "factory"}, "geometry": {"type": "Point", '
     b'"coordinates": [431000, 2380000]}}', 422),
    (b'{"type": "Feature", "properties": {"kind": "factory"}, "geometry": {"type": "Circle", '
     b'"coordinates": [105.8, 21.6]}}', 400),  # not a GeoJSON geometry type: the body model refuses it
])
def test_bad_proposals_are_problems(api_client, body, status):
    problem(api_client.post("/checks", content=body, headers={"Content-Type": "application/json"}), status)


def test_a_body_over_the_limit_is_refused_before_it_is_read(api_client):
    big = b'{"type": "Feature", "properties": {"name": "' + b"x" * 2_100_000 + b'"}, "geometry": null}'
    problem(api_client.post("/checks", content=big, headers={"Content-Type": "application/json"}), 413)

    def chunks():  # no Content-Length: the limit is counted while the body streams in
        for _ in range(30):
            yield b"x" * 100_000

    problem(api_client.post("/checks", content=chunks(), headers={"Content-Type": "application/json"}), 413)


def test_a_full_lane_answers_503_with_retry_after(small_app, api_client):
    lane = small_app.state.work["checks"]
    release = threading.Event()
    held = []
    try:
        while True:  # fill every worker and every queue slot
            try:
                held.append(lane.submit(release.wait, 30))
            except Exception:  # noqa: BLE001 - the lane says it is full
                break
        resp = api_client.post("/checks", json=site("factory", X0, Y0))
        body = problem(resp, 503)
        assert resp.headers["retry-after"] and "busy" in body["detail"]
        assert api_client.get("/collections").status_code == 200  # light reads do not wait for the lane
    finally:
        release.set()
        for future in held:
            future.result(timeout=30)
    assert api_client.post("/checks", json=site("factory", X0, Y0)).status_code == 200


def test_rules_list_kinds_and_evidence_roles(api_client):
    doc = api_client.get("/rules").json()
    assert set(doc["kinds"]) == {"fuel_station", "lpg_station", "industrial_cluster", "industrial_park", "factory"}
    for role in ("site", "distance", "nearest", "threshold_zone", "corridor", "overlap", "plan_area"):
        assert doc["roles"][role]["vi"] and doc["roles"][role]["en"] and doc["roles"][role]["style"]["color"]


# ---------------------------------------------------------------------------------------------------- writes
WRITES = [
    ("POST", "/collections/fuel_stations/items", site("fuel_station", X0, Y0) | {"properties": {"name": "X"}}),
    ("PUT", "/collections/fuel_stations/items/1", site("fuel_station", X0, Y0) | {"properties": {"name": "X"}}),
    ("DELETE", "/collections/fuel_stations/items/1", None),
    ("POST", "/collections/fuel_stations/revisions/1/rollback", None),
    ("PUT", "/collections/fuel_stations/settings", {"internal": True}),
    ("POST", "/proposals", site("fuel_station", X0, Y0)),
    ("POST", "/proposals/1/status", {"status": "approved"}),
    ("POST", "/users", {"name": "x", "role": "admin"}),
]


@pytest.mark.parametrize("method, path, body", WRITES)
def test_writes_need_a_role(api_client, method, path, body):
    problem(api_client.request(method, path, json=body), 401)
    problem(api_client.request(method, path, json=body, headers={"Authorization": "Bearer pm_nope"}), 401)


def test_part4_create_replace_delete(api_client, planner):
    feature = site("fuel_station", X0 + 3_000, Y0) | {"properties": {"name": "CHXD Mới", "status": "planned"}}
    created = api_client.post("/collections/fuel_stations/items", json=feature, headers=planner)
    assert created.status_code == 201, created.text
    models.Written.model_validate(created.json())
    fid = created.json()["id"]
    assert created.headers["location"].endswith(f"/collections/fuel_stations/items/{fid}")
    got = api_client.get(f"/collections/fuel_stations/items/{fid}").json()
    assert got["properties"]["name"] == "CHXD Mới" and got["properties"]["accuracy"] == "approximate"
    feature["properties"]["status"] = "existing"
    assert api_client.put(f"/collections/fuel_stations/items/{fid}", json=feature, headers=planner).status_code == 200
    assert api_client.get(f"/collections/fuel_stations/items/{fid}").json()["properties"]["status"] == "existing"
    assert api_client.delete(f"/collections/fuel_stations/items/{fid}", headers=planner).status_code == 204
    problem(api_client.get(f"/collections/fuel_stations/items/{fid}"), 404)
    history = api_client.get("/collections/fuel_stations/revisions").json()["revisions"]
    assert [r["action"] for r in history[:3]] == ["delete", "replace", "create"]


@pytest.mark.parametrize("body, status, words", [
    ({"type": "Feature", "properties": {"colour": "red"}, "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}},
     400, "colour"),
    ({"type": "Feature", "properties": {"accuracy": "perfect"},
      "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}, 400, "accuracy"),
    ({"type": "Feature", "properties": "x", "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}, 400,
     "properties"),
    ({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [431000, 2380000]}}, 422,
     "VN-2000"),
    ({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[105.8, 21.6],
     [105.9, 21.7], [105.8, 21.7], [105.9, 21.6], [105.8, 21.6]]]}}, 422, "invalid geometry"),
])
def test_bad_edits_say_what_is_wrong(api_client, planner, body, status, words):
    assert words in problem(api_client.post("/collections/fuel_stations/items", json=body, headers=planner),
                            status)["detail"]


def test_an_import_lands_as_a_revision_and_a_refused_one_changes_nothing(api_client, planner):
    features = [{"type": "Feature", "properties": {"name": f"CCN Nhập {i}", "status": "planned"},
                 "geometry": {"type": "Point", "coordinates": lonlat(X0 + i * 100, Y0 + 500)}} for i in range(3)]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    resp = api_client.post("/collections/imported_sites/imports", headers=planner,
                           files={"file": ("sites.geojson", io.BytesIO(data), "application/geo+json")})
    assert resp.status_code == 201, resp.text
    doc = models.ImportResult.model_validate(resp.json())
    assert doc.revision.feature_count == 3 and doc.revision.added == 3
    assert api_client.get("/collections/imported_sites").status_code == 404  # a new layer starts internal
    assert api_client.get("/collections/imported_sites", headers=planner).status_code == 200
    refused = api_client.post("/collections/imported_sites/imports", headers=planner,
                              files={"file": ("empty.geojson", io.BytesIO(b""), "application/geo+json")})
    body = problem(refused, 422)
    assert body["code"] == "empty_file" and body["outcome"] == "refused"
    assert len(api_client.get("/collections/imported_sites/revisions", headers=planner).json()["revisions"]) == 1
    unknown_field = api_client.post("/collections/imported_sites/imports", headers=planner, data={"colour": "red"},
                                    files={"file": ("sites.geojson", io.BytesIO(data), "application/geo+json")})
    assert "colour" in problem(unknown_field, 400)["detail"]
    bad_id = api_client.post("/collections/Bad-Id/imports", headers=planner,
                             files={"file": ("a.geojson", io.BytesIO(data))})
    assert "lower-case" in problem(bad_id, 400)["detail"]


def test_proposals_are_checked_saved_and_approved(api_client, planner):
    saved = api_client.post("/proposals", json=site("fuel_station", X0 + 30, Y0, name="CHXD Đề Xuất"),
                            headers=planner)
    assert saved.status_code == 201, saved.text
    doc = models.ProposalSaved.model_validate(saved.json())
    assert doc.verdict == "fail" and doc.status == "submitted"
    item = api_client.get(f"/collections/proposals/items/{doc.id}", headers=planner).json()
    assert item["properties"]["name"] == "CHXD Đề Xuất" and json.loads(item["properties"]["report"])["results"]
    assert item["geometry"]["coordinates"] == pytest.approx(lonlat(X0 + 30, Y0), abs=1e-9)
    changed = api_client.post(f"/proposals/{doc.id}/status", json={"status": "approved"}, headers=planner)
    assert changed.status_code == 200, changed.text
    item = api_client.get(f"/collections/proposals/items/{doc.id}", headers=planner).json()
    assert item["properties"]["status"] == "approved"
    problem(api_client.post("/proposals/999/status", json={"status": "approved"}, headers=planner), 404)
    problem(api_client.post(f"/proposals/{doc.id}/status", json={"status": "maybe"}, headers=planner), 400)


def test_users_are_created_by_admins_only(api_client, planner):
    problem(api_client.post("/users", json={"name": "minh", "role": "viewer"}, headers=planner), 403)
    made = api_client.post("/users", json={"name": "minh", "role": "viewer"}, headers=ADMIN)
    assert made.status_code == 201 and made.json()["token"].startswith("pm_")
    listing = models.Users.model_validate(api_client.get("/users", headers=ADMIN).json())
    assert "minh" in {u.name for u in listing.users} and all("token" not in u.model_dump() for u in listing.users)
    problem(api_client.post("/users", json={"name": "no spaces", "role": "viewer"}, headers=ADMIN), 400)


def test_layers_edited_through_the_api_never_turn_missing_evidence_into_a_pass(api_client, planner):
    """A facilities file without its `kind` column imported over the layer, and the last fuel station deleted:
    the rules that needed them say `unknown`, with the reason."""
    features = [{"type": "Feature", "properties": {"name": "Trường không rõ loại"},
                 "geometry": {"type": "Point", "coordinates": lonlat(X0, Y0)}}]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    imported = api_client.post("/collections/public_facilities/imports", headers=planner,
                               files={"file": ("no-kind.geojson", io.BytesIO(data), "application/geo+json")})
    assert imported.status_code == 201, imported.text
    for fid in [f["id"] for f in api_client.get("/collections/fuel_stations/items").json()["features"]]:
        assert api_client.delete(f"/collections/fuel_stations/items/{fid}", headers=planner).status_code == 204
    report = api_client.post("/checks?lang=en", json=site("fuel_station", X0 + 30, Y0)).json()
    by_rule = {r["rule"]: r for r in report["results"]}
    assert by_rule["fuel_station.crowded_places"]["status"] == "unknown"
    assert "column kind" in by_rule["fuel_station.crowded_places"]["note"]
    assert by_rule["fuel_station.station_spacing"]["status"] == "unknown"
    assert "no feature in force" in by_rule["fuel_station.station_spacing"]["note"]
    assert report["verdict"] == "unknown" and "pass" not in {r["status"] for r in by_rule.values()
                                                            if r["rule"].startswith("fuel_station.")}


def test_a_register_of_points_and_polygons_exports_one_shapefile_per_kind(api_client, planner, tmp_path):
    """A Shapefile holds one kind of geometry: the proposals register (points and polygons) used to be a 500."""
    import zipfile

    import pyogrio

    ring = [lonlat(X0 + dx, Y0 + 3_000 + dy) for dx, dy in ((0, 0), (400, 0), (400, 400), (0, 400), (0, 0))]
    cluster = {"type": "Feature", "properties": {"kind": "industrial_cluster", "name": "CCN Vùng"},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}
    for body in (site("fuel_station", X0 + 3_000, Y0, name="CHXD Điểm"), cluster):
        assert api_client.post("/proposals", json=body, headers=planner).status_code == 201
    resp = api_client.get("/exports/data", params={"collections": "proposals", "format": "shp"}, headers=planner)
    assert resp.status_code == 200, resp.text
    path = tmp_path / "proposals.zip"
    path.write_bytes(resp.content)
    names = zipfile.ZipFile(path).namelist()
    assert {"proposals_point.shp", "proposals_polygon.shp", "proposals_point_fields.csv"} <= set(names)
    points = pyogrio.read_dataframe(f"/vsizip/{path}/proposals_point.shp")
    polygons = pyogrio.read_dataframe(f"/vsizip/{path}/proposals_polygon.shp")
    assert set(points.geom_type) == {"Point"} and set(polygons.geom_type) == {"Polygon"}
    assert "CCN Vùng" in set(polygons["name"]) and "CHXD Điểm" in set(points["name"])

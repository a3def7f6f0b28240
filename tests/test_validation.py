"""Writes are checked against their layer (layers/validation.py), through the HTTP API over the shipped dataset and
its catalog: a feature a layer cannot hold is a 400 naming the field and writes nothing; whatever a valid write
stores can be served, exported in every format and printed."""

from __future__ import annotations

import io
import json
import zipfile

import geopandas as gpd
import pyogrio
import pytest
from fastapi.testclient import TestClient

from layers.validation import MAX_TEXT_CHARS
from tests import pdf
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
POINT = {"type": "Point", "coordinates": [105.84, 21.59]}
SQUARE = {"type": "Polygon", "coordinates": [[[105.85, 21.6], [105.854, 21.6], [105.854, 21.604], [105.85, 21.604],
                                              [105.85, 21.6]]]}
NOTE = ("Ghi chú dài của cán bộ quy hoạch về hiện trạng sử dụng đất, ý kiến của xã và các bước tiếp theo.\n"
        * 60)[:MAX_TEXT_CHARS - 1] + "."  # exactly the limit, Vietnamese (2–3 UTF-8 bytes a letter), line breaks
SPACED = ("a " * MAX_TEXT_CHARS)[:MAX_TEXT_CHARS - 1] + "b"  # no place in it to cut a dBase field between letters


@pytest.fixture(scope="module")
def client(dataset, tmp_path_factory):
    """The shipped dataset and catalog in-process, with a store of its own."""
    from api.app import create_app
    from layers.revisions import Store
    from layers.rules import load_rules
    from tests.conftest import REPO

    app = create_app(dataset, load_rules(REPO / "data" / "rules.yaml"),
                     store=Store(tmp_path_factory.mktemp("validation-store")), admin_token=ADMIN_TOKEN)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def planner(client) -> dict:
    made = client.post("/users", json={"name": "thu", "role": "planner"}, headers=ADMIN)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def feature(properties: dict, geometry: dict = POINT) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def refused(resp, field: str) -> dict:
    """A 400 problem naming `field`, in English and Vietnamese."""
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert resp.headers["content-type"] == "application/problem+json"
    assert body["field"] == field and field in body["detail"] and field in body["detail_vi"]
    assert body["detail"] != body["detail_vi"]
    return body


def revisions(client, planner, layer: str) -> int:
    return len(client.get(f"/collections/{layer}/revisions", headers=planner).json()["revisions"])


BAD_WRITES = [
    ("fuel_stations", {"status": "planned"}, {"type": "LineString", "coordinates": [[105.84, 21.59], [105.85, 21.6]]},
     "geometry", "LineString"),
    ("fuel_stations", {"status": "planned"}, {"type": "GeometryCollection", "geometries": [POINT]}, "geometry",
     "GeometryCollection"),
    ("fuel_stations", {"status": "planned"}, {"type": "MultiPoint", "coordinates": [[105.84, 21.59], [105.85, 21.6]]},
     "geometry", "2 parts"),
    ("industrial_clusters", {"status": "planned"}, POINT, "geometry", "Point"),
    ("fuel_stations", {"name": "CHXD"}, POINT, "status", "needs a value"),
    ("fuel_stations", {"status": "  "}, POINT, "status", "needs a value"),
    ("power_lines", {"status": "planned"}, {"type": "LineString", "coordinates": [[105.84, 21.59], [105.85, 21.6]]},
     "voltage_kv", "needs a value"),
    ("fuel_stations", {"status": {"kind": "planned"}}, POINT, "status", "expected text"),
    ("fuel_stations", {"status": "planned", "grade": "hạng 1"}, POINT, "grade", "expected a number"),
    ("lpg_stations", {"status": "planned", "capacity_kg": 12.5}, POINT, "capacity_kg", "whole number"),
    ("lpg_stations", {"status": "planned", "capacity_kg": True}, POINT, "capacity_kg", "whole number"),
    ("lpg_stations", {"status": "planned", "capacity_kg": "500"}, POINT, "capacity_kg", "whole number"),
    ("districts", {"mountainous": "có"}, SQUARE, "mountainous", "true or false"),
    ("districts", {"valid_to": "30/06/2025"}, SQUARE, "valid_to", "YYYY-MM-DD"),
    ("districts", {"valid_to": "2025-02-30"}, SQUARE, "valid_to", "YYYY-MM-DD"),
    ("fuel_stations", {"status": "planned", "note": NOTE + "x"}, POINT, "note", f"at most {MAX_TEXT_CHARS:,}"),
    ("fuel_stations", {"status": "planned", "name": "CHXD\x00"}, POINT, "name", "control character"),
    ("fuel_stations", {"status": "planned", "name": "CHXD \ud800"}, POINT, "name", "not valid Unicode"),
    ("fuel_stations", {"status": "planned", "colour": "red"}, POINT, "colour", "no field"),
]


@pytest.mark.parametrize("layer, properties, geometry, field, words", BAD_WRITES)
def test_a_feature_its_layer_cannot_hold_is_a_400_naming_the_field_and_nothing_is_written(
        client, planner, layer, properties, geometry, field, words):
    before = revisions(client, planner, layer), client.get(f"/collections/{layer}/items/1").json()
    created = client.post(f"/collections/{layer}/items", json=feature(properties, geometry), headers=planner)
    assert words in refused(created, field)["detail"]
    replaced = client.put(f"/collections/{layer}/items/1", json=feature(properties, geometry), headers=planner)
    refused(replaced, field)
    assert (revisions(client, planner, layer), client.get(f"/collections/{layer}/items/1").json()) == before


def test_single_and_one_part_multi_geometries_are_fitted_to_the_layer(client, planner):
    one_part = {"type": "MultiPoint", "coordinates": [[105.84, 21.59]]}
    made = client.post("/collections/fuel_stations/items", json=feature({"status": "planned"}, one_part),
                       headers=planner)
    assert made.status_code == 201, made.text
    assert client.get(made.headers["location"]).json()["geometry"]["type"] == "Point"
    made = client.post("/collections/industrial_clusters/items", json=feature({"status": "planned"}, SQUARE),
                       headers=planner)
    assert made.status_code == 201, made.text
    assert client.get(made.headers["location"]).json()["geometry"]["type"] == "MultiPolygon"
    lpg = client.post("/collections/lpg_stations/items",
                      json=feature({"status": "existing", "capacity_kg": 500.0, "name": "Cửa hàng LPG"}),
                      headers=planner)
    assert lpg.status_code == 201, lpg.text
    assert client.get(lpg.headers["location"]).json()["properties"]["capacity_kg"] == 500
    district = client.put("/collections/districts/items/1", json=feature(
        {"name": "Huyện thử", "mountainous": True, "valid_to": "2025-06-30"}, SQUARE), headers=planner)
    assert district.status_code == 200, district.text


def _export(client, headers: dict, layer: str, fmt: str) -> bytes:
    resp = client.get("/exports/data", params={"collections": layer, "format": fmt}, headers=headers)
    assert resp.status_code == 200, (fmt, resp.text[:300])
    return resp.content


def _read(content: bytes, fmt: str, tmp_path, name: str) -> dict[str, gpd.GeoDataFrame]:
    """Every table of an export as GDAL reads it (the Shapefile's continued text joined again)."""
    path = tmp_path / f"{name}.{'zip' if fmt in ('shp', 'dxf') else fmt}"
    path.write_bytes(content)
    if fmt == "dxf":
        pyogrio.set_gdal_config_options({"DXF_ENCODING": "UTF-8"})
        return {"planmap": pyogrio.read_dataframe(f"/vsizip/{path}/planmap.dxf")}
    if fmt != "shp":
        return {n: pyogrio.read_dataframe(path, layer=str(n)) for n, _ in pyogrio.list_layers(path)}
    from tests.test_exports import _join_continued

    zf = zipfile.ZipFile(path)
    out = {}
    for member in zf.namelist():
        if member.endswith(".shp"):
            stem = member[:-4]
            out[stem] = _join_continued(pyogrio.read_dataframe(f"/vsizip/{path}/{member}"),
                                        zf.read(f"{stem}_fields.csv").decode())
    return out


def test_a_valid_feature_with_empty_optional_fields_and_long_text_exports_and_prints(client, planner, tmp_path):
    """None in every optional field, a note of exactly MAX_TEXT_CHARS with line breaks: every format and the
    print map take it, and the formats that keep attributes keep the note whole."""
    optional = {"name": None, "plan_phase": None, "area_ha": None, "area_estimated": None, "district": None,
                "commune": None, "legal_basis": None, "plan_reference": SPACED, "note": NOTE}
    made = client.post("/collections/industrial_clusters/items", json=feature({"status": "planned", **optional},
                                                                              SQUARE), headers=planner)
    assert made.status_code == 201, made.text
    fid = made.json()["id"]
    station = client.post("/collections/fuel_stations/items", json=feature({"status": "planned", "name": None,
                                                                            "grade": None}), headers=planner)
    assert station.status_code == 201, station.text
    for fmt in ("gpkg", "shp", "kml", "geojson", "csv", "dxf", "fgb"):
        content = _export(client, planner, "industrial_clusters", fmt)
        if fmt == "dxf":
            _assert_dxf_holds(content, fid)
            continue
        table = next(iter(_read(content, fmt, tmp_path, f"c{fmt}").values()))
        note_col = "description" if fmt == "kml" and "note" not in table.columns else "note"
        fid_col = table["fid"].astype(int) if "fid" in table.columns else None
        row = table[fid_col == fid] if fid_col is not None else table[table[note_col] == NOTE]
        assert len(row) == 1, fmt
        assert row[note_col].iloc[0].replace("\r\n", "\n") == NOTE, fmt
        kept = row["plan_reference"].iloc[0] if "plan_reference" in row.columns else SPACED
        # dBase readers strip the spaces at either end of a field: one-letter words lose those at the cuts
        assert (kept.replace(" ", "") == SPACED.replace(" ", "")) if fmt == "shp" else kept == SPACED, fmt
        _read(_export(client, planner, "fuel_stations", fmt), fmt, tmp_path, f"f{fmt}")
    for params in ({"preset": "cluster-plan-2030", "size": "A4"},
                   {"preset": "overview", "size": "A4", "collections": "industrial_clusters,fuel_stations"}):
        printed = client.get("/exports/map", params=params)
        assert printed.status_code == 200, printed.text
        assert pdf.pages(printed.content)


def _assert_dxf_holds(content: bytes, fid: int) -> None:
    """The DXF opens in a strict reader (ezdxf); the feature's attributes are in its XDATA, each string within the
    format's 255 bytes, the note's line breaks as the DXF paragraph code, cut where the format must."""
    import ezdxf

    text = zipfile.ZipFile(io.BytesIO(content)).read("planmap.dxf").decode("utf-8")
    doc = ezdxf.read(io.StringIO(text))
    xdatas = [[v for _, v in e.get_xdata("PLANMAP")] for e in doc.modelspace() if e.has_xdata("PLANMAP")]
    assert all(len(v.encode("utf-8")) <= 255 for x in xdatas for v in x)
    ours = [x for x in xdatas if f"fid={fid}" in x]
    assert ours and "status=planned" in ours[0]
    note = next(v for v in ours[0] if v.startswith("note="))
    assert note.startswith("note=" + NOTE.split("\n")[0] + "\\P")
    readme = zipfile.ZipFile(io.BytesIO(content)).read("README.txt").decode()
    assert "industrial_clusters.note" in readme and "255" in readme


def test_the_register_checks_a_proposal_and_its_points_and_areas_export_as_shapefiles(client, planner, tmp_path):
    too_long = feature({"kind": "fuel_station", "name": "C" * (MAX_TEXT_CHARS + 1)})
    refused(client.post("/proposals", json=too_long, headers=planner), "name")
    point = client.post("/proposals", json=feature({"kind": "fuel_station", "name": "CHXD đề xuất"}),
                        headers=planner)
    area = client.post("/proposals", json=feature({"kind": "industrial_cluster", "name": "CCN đề xuất"}, SQUARE),
                       headers=planner)
    assert point.status_code == 201 and area.status_code == 201, (point.text, area.text)
    content = _export(client, planner, "proposals", "shp")
    tables = _read(content, "shp", tmp_path, "proposals")
    assert set(tables) == {"proposals_point", "proposals_polygon"}
    assert list(tables["proposals_point"]["name"]) == ["CHXD đề xuất"]
    report = json.loads(tables["proposals_polygon"]["report"].iloc[0])  # the whole report, continued over fields
    assert report["kind"] == "industrial_cluster"
    readme = zipfile.ZipFile(io.BytesIO(content)).read("README.txt").decode()
    assert "proposals_point.shp" in readme and "proposals_polygon.shp" in readme
    published = client.put("/collections/proposals/settings", json={"internal": False}, headers=planner)
    assert published.status_code == 409 and "nội bộ" in published.json()["detail_vi"]


def test_imports_apply_the_same_rules_and_report_each_feature_left_out(client, planner):
    rows = [({"ten": "CHXD hợp lệ", "trang_thai": "planned", "ghi_chu": NOTE}, [105.84, 21.59]),
            ({"ten": "CHXD thiếu trạng thái"}, [105.85, 21.59]),
            ({"ten": "CHXD ghi chú quá dài", "trang_thai": "planned", "ghi_chu": NOTE + "!"}, [105.86, 21.59]),
            ({"ten": "CHXD\x07", "trang_thai": "existing"}, [105.87, 21.59])]
    collection = {"type": "FeatureCollection", "features": [feature(p, {"type": "Point", "coordinates": c})
                                                            for p, c in rows]}
    body = json.dumps(collection, ensure_ascii=False).encode()
    resp = client.post("/collections/fuel_stations/imports", headers=planner, data={"mode": "append"},
                       files={"file": ("bo_sung.geojson", body, "application/geo+json")})
    assert resp.status_code == 201, resp.text
    report = resp.json()["report"]
    assert report["features_imported"] == 1 and report["features_rejected"] == 3
    problems = {p["feature"]: p for p in report["problems"] if p["severity"] == "error"}
    assert problems[2]["field"] == "status" and problems[2]["code"] == "required"
    assert problems[3]["field"] == "note" and f"{MAX_TEXT_CHARS:,}" in problems[3]["message"]["en"]
    assert problems[4]["field"] == "name" and "U+0007" in problems[4]["message"]["vi"]
    found = client.get("/collections/fuel_stations/items", params={"name": "CHXD hợp lệ"}).json()["features"]
    assert [f["properties"]["note"] for f in found] == [NOTE]


def test_dates_in_an_import_are_read_as_iso_dates(client, planner):
    collection = {"type": "FeatureCollection", "features": [
        feature({"name": "Huyện A", "valid_to": "30/06/2025"}, SQUARE),
        feature({"name": "Huyện B", "valid_to": "2025-06-30T00:00:00"}, SQUARE),
        feature({"name": "Huyện C", "valid_to": "hết hiệu lực"}, SQUARE)]}
    resp = client.post("/collections/districts/imports", headers=planner, data={"mode": "append"},
                       files={"file": ("huyen.geojson", json.dumps(collection, ensure_ascii=False).encode())})
    assert resp.status_code == 201, resp.text
    report = resp.json()["report"]
    assert report["features_imported"] == 2
    assert [(p["feature"], p["field"]) for p in report["problems"] if p["severity"] == "error"] == [(3, "valid_to")]
    got = client.get("/collections/districts/items", params={"limit": 1000}, headers=planner).json()["features"]
    assert {f["properties"]["name"]: f["properties"]["valid_to"] for f in got
            if f["properties"]["name"] in ("Huyện A", "Huyện B")} == {"Huyện A": "2025-06-30", "Huyện B": "2025-06-30"}


def test_the_print_map_draws_features_without_status_or_name(small_app, tmp_path):
    """A layer whose catalog requires nothing (a served GeoPackage of the department's own) may hold clusters
    without status or name: the print map draws them all the same."""
    with TestClient(small_app) as c:
        made = c.post("/users", json={"name": "print-tester", "role": "planner"}, headers=ADMIN)
        headers = {"Authorization": f"Bearer {made.json()['token']}"}
        for props in ({"status": None, "name": None}, {"plan_phase": None}, {"name": "CCN không trạng thái"}):
            resp = c.post("/collections/industrial_clusters/items", json=feature(props, SQUARE), headers=headers)
            assert resp.status_code == 201, resp.text
        for params in ({"preset": "cluster-plan-2030", "size": "A4"},
                       {"preset": "overview", "size": "A4", "collections": "industrial_clusters"}):
            printed = c.get("/exports/map", params=params)
            assert printed.status_code == 200, printed.text
            assert pdf.pages(printed.content)


def test_the_print_map_draws_clusters_whose_file_leaves_status_and_name_empty():
    """A department's GeoPackage served as it is: empty values read as None, NaN or pandas' NA."""
    import numpy as np
    import pandas as pd

    from api.app import create_app
    from layers.dataset import Dataset, layer_from_frame
    from tests import small_world

    frames = small_world.layers()
    cells = small_world.frame([{"name": name, "status": status, "plan_phase": phase, "area_ha": area,
                                "geometry": frames["industrial_clusters"].geometry.iloc[0].buffer(200 * (i + 1))}
                               for i, (name, status, phase, area) in enumerate(
                                   [(np.nan, np.nan, None, np.nan), (None, pd.NA, pd.NA, None),
                                    ("CCN Trống", None, np.nan, 5.0)])])
    frames["industrial_clusters"] = pd.concat([frames["industrial_clusters"], cells], ignore_index=True)
    frames["industrial_clusters"].index = range(1, len(frames["industrial_clusters"]) + 1)
    layers = {k: layer_from_frame(small_world.meta(k, small_world.TEMPORAL if k in ("province", "districts",
                                                                                    "communes") else ()), v)
              for k, v in frames.items()}
    app = create_app(Dataset(layers, catalog={k: v.meta for k, v in layers.items()}), small_world.RULES)
    with TestClient(app) as c:
        for params in ({"preset": "cluster-plan-2030", "size": "A4", "f": "png", "dpi": 72},
                       {"preset": "overview", "size": "A4", "collections": "industrial_clusters", "lang": "en"}):
            printed = c.get("/exports/map", params=params)
            assert printed.status_code == 200, printed.text
        assert "Layer industrial_clusters" in pdf.text(printed.content)  # its legend rows, the empty class too

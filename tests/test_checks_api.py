"""Checks through HTTP and through the batch command, on the default dataset."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape

from tests import pdf
from tests.conftest import REPO

# A fuel station proposed in Thái Nguyên city (real OSM facilities and stations of the default dataset around it).
CITY_SITE = {"type": "Feature", "properties": {"kind": "fuel_station", "name": "CHXD đề xuất <b>1</b>"},
             "geometry": {"type": "Point", "coordinates": [105.84, 21.59]}}


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def test_post_checks_returns_the_report_contract(client):
    resp = client.post("/checks", json=CITY_SITE)
    assert resp.status_code == 200
    report = resp.json()
    assert report["verdict"] in ("pass", "warn", "fail", "unknown")
    assert {"verdict", "results", "context"} <= set(report)
    ids = {r["rule"] for r in report["results"]}
    assert {"fuel_station.crowded_places", "fuel_station.station_spacing", "site.power_line_corridor",
            "site.mineral_areas", "site.province"} <= ids
    for r in report["results"]:
        assert {"rule", "status", "measured", "threshold", "unit", "features", "evidence", "legal_basis",
                "confidence"} <= set(r)
        assert r["status"] in ("pass", "fail", "warn", "not_applicable", "unknown")
        assert r["evidence"]["type"] == "FeatureCollection"
    assert report["context"]["commune"]["name"] and report["context"]["district_pre2025"]["name"]


def test_the_measured_distance_is_the_true_distance_to_the_named_feature(client):
    report = client.post("/checks", json=CITY_SITE).json()
    spacing = next(r for r in report["results"] if r["rule"] == "fuel_station.station_spacing")
    nearest = spacing["features"][0]
    stations = gpd.read_file(REPO / "data" / "planmap.gpkg", layer="fuel_stations", fid_as_index=True)
    station = stations.loc[nearest["id"]]
    to_vn = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)
    x0, y0 = to_vn.transform(105.84, 21.59)
    x1, y1 = to_vn.transform(station.geometry.x, station.geometry.y)
    assert spacing["measured"] == pytest.approx(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, abs=0.01)
    assert station["name"] == nearest["name"]
    all_vn = stations.to_crs("EPSG:9213").distance(gpd.points_from_xy([x0], [y0])[0])
    assert spacing["measured"] == pytest.approx(all_vn.min(), abs=0.01)
    assert spacing["status"] == ("fail" if all_vn.min() < 300 else "pass")


def test_vn2000_input_gives_the_same_answer(client):
    to_vn = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)
    x, y = to_vn.transform(105.84, 21.59)
    vn = {**CITY_SITE, "geometry": {"type": "Point", "coordinates": [x, y]}}
    a = client.post("/checks", json=CITY_SITE).json()
    b = client.post("/checks", params={"crs": "http://www.opengis.net/def/crs/EPSG/0/9213"}, json=vn).json()
    assert [r["status"] for r in a["results"]] == [r["status"] for r in b["results"]]
    assert [r["measured"] for r in a["results"]] == pytest.approx([r["measured"] for r in b["results"]], abs=0.01)


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b'{"type": "Feature", "properties": {"kind": "casino"}, '
     b'"geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}', 422),
    (b'{"type": "Feature", "properties": {"kind": "factory"}, '
     b'"geometry": {"type": "Point", "coordinates": [431000, 2380000]}}', 422),
    (b'{"type": "Feature", "properties": {"kind": "factory"}, '
     b'"geometry": {"type": "Point", "coordinates": [100.5, 13.7]}}', 422),
])
def test_bad_proposals_get_a_4xx_problem(client, body, status):
    resp = client.post("/checks", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == status
    problem = resp.json()
    assert problem["detail"] and problem["detail_vi"]


def test_html_report_escapes_names_and_cites_the_law(client):
    resp = client.post("/checks", params={"f": "html"}, json=CITY_SITE)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "<b>1</b>" not in resp.text and "&lt;b&gt;1&lt;/b&gt;" in resp.text
    assert "QCVN 01:2021/BXD" in resp.text and "<svg" in resp.text
    assert "http" not in resp.text.split("<body>")[1]  # nothing external in the printable page


def test_pdf_report_is_an_a4_page(client):
    resp = client.post("/checks", params={"f": "pdf", "lang": "en"}, json=CITY_SITE)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF")
    sizes = pdf.pages(resp.content)
    assert len(sizes) == 1 and pdf.is_a4(sizes[0])
    page = np.asarray(pdf.render(resp.content, 50))
    assert (page < 245).any(axis=2).mean() > 0.01  # drawn: text, the evidence map, the rule rows


def test_rules_lists_every_required_rule(client):
    doc = client.get("/rules").json()
    ids = {r["id"] for r in doc["rules"]}
    assert {"fuel_station.crowded_places", "fuel_station.station_spacing", "site.power_line_corridor",
            "site.mineral_areas", "industrial_cluster.area", "industrial_cluster.in_plan", "site.province"} <= ids
    for r in doc["rules"]:  # a legal basis, unless the value is the department's own policy (none is invented)
        assert (r["legal_basis"] and r["confidence"] in ("verified", "secondary", "unverified")) or \
            (r["confidence"] == "policy" and r["legal_basis"] == [])
    switched_off = [r for r in doc["rules"] if r.get("enabled") is False]
    assert [r["id"] for r in switched_off] == ["industrial_cluster.slope"]  # listed, marked, not applied
    assert "đang tắt / switched off" in client.get("/rules", params={"f": "html"}).text
    before = {r["id"] for r in client.get("/rules", params={"as_of": "2024-01-01"}).json()["rules"]}
    assert "industrial_cluster.area" not in before


def test_batch_command_writes_gpkg_and_csv(tmp_path):
    props = pd.DataFrame({"name": ["Cửa hàng A", "Nhà máy B", "CCN C"],
                          "kind": ["fuel_station", "factory", "industrial_cluster"],
                          "lon": [105.84, 105.70, 105.90], "lat": [21.59, 21.70, 21.50], "area_ha": ["", "", "30"]})
    src = tmp_path / "proposals.csv"
    props.to_csv(src, index=False)
    result = subprocess.run([sys.executable, "-m", "api.cli", "check", str(src), "--out", str(tmp_path / "res")],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    out = pyogrio.read_dataframe(tmp_path / "res.gpkg")
    assert len(out) == 3 and out["name"].tolist() == props["name"].tolist()
    assert set(out["verdict"]) <= {"pass", "warn", "fail", "unknown"}
    assert out.loc[1, "fuel_station.crowded_places.status"] == "not_applicable"
    assert out.loc[2, "industrial_cluster.area.status"] == "pass"  # 30 ha declared
    csv = pd.read_csv(tmp_path / "res.csv")
    assert csv["verdict"].tolist() == out["verdict"].tolist() and "wkt" in csv.columns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proposals.csv", "res.csv", "res.gpkg"]


def test_batch_command_refuses_bad_rows_and_writes_nothing(tmp_path):
    src = tmp_path / "bad.csv"
    pd.DataFrame({"kind": ["fuel_station", "spaceport"], "lon": [105.8, 105.9], "lat": [21.6, 21.6]}).to_csv(src)
    result = subprocess.run([sys.executable, "-m", "api.cli", "check", str(src), "--out", str(tmp_path / "res")],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode != 0
    assert "row 2" in result.stderr and "spaceport" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]


def _district_square(client, name: str, width: float, height: float) -> list:
    """A width × height metre square (VN-2000) inside the named pre-2025 district, as CRS84 coordinates."""
    doc = client.get("/collections/districts/items", params={"name": name}).json()
    [feature] = doc["features"]
    inside = shapely.point_on_surface(shape(feature["geometry"]))
    to_vn = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)
    back = Transformer.from_crs("EPSG:9213", "OGC:CRS84", always_xy=True)
    x, y = to_vn.transform(inside.x, inside.y)
    ring = [(x, y), (x + width, y), (x + width, y + height), (x, y + height), (x, y)]
    return [[list(back.transform(px, py)) for px, py in ring]]


@pytest.mark.parametrize("district", ["Huyện Ba Bể", "Huyện Chợ Mới"])
def test_a_7_ha_cluster_in_former_bac_kan_gets_the_mountainous_minimum(client, district):
    site = {"type": "Feature", "properties": {"kind": "industrial_cluster", "name": "CCN thử"},
            "geometry": {"type": "Polygon", "coordinates": _district_square(client, district, 350, 200)}}
    report = client.post("/checks", params={"lang": "en"}, json=site).json()
    area = next(r for r in report["results"] if r["rule"] == "industrial_cluster.area")
    assert area["measured"] == pytest.approx(7.0, abs=0.01)  # 350 m × 200 m, measured in VN-2000
    assert area["status"] == "pass" and area["threshold"][0] == 5 and district in area["note"]
    assert report["context"]["district_pre2025"]["name"] == district
    assert report["context"]["district_pre2025"]["former_province"] == "Bắc Kạn"


def test_a_planned_clusters_name_drawn_elsewhere_is_not_in_the_plan(client):
    site = {"type": "Feature", "properties": {"kind": "industrial_cluster", "name": "CCN Gia Sàng"},
            "geometry": {"type": "Polygon", "coordinates": _district_square(client, "Huyện Ba Bể", 500, 400)}}
    report = client.post("/checks", params={"lang": "en"}, json=site).json()
    in_plan = next(r for r in report["results"] if r["rule"] == "industrial_cluster.in_plan")
    assert in_plan["status"] == "fail" and "not where the plan puts it" in in_plan["message"]


def test_eight_metres_from_a_220_kv_centreline_is_inside_the_corridor(client):
    lines = client.get("/collections/power_lines/items", params={"voltage_kv": 220, "limit": 1}).json()["features"]
    line = shape(lines[0]["geometry"])
    to_vn = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)
    back = Transformer.from_crs("EPSG:9213", "OGC:CRS84", always_xy=True)
    metric = shapely.transform(line, lambda xy: np.column_stack(to_vn.transform(xy[:, 0], xy[:, 1])))
    mid = metric.interpolate(0.5, normalized=True)
    ahead = metric.interpolate(0.5 * metric.length + 1)
    dx, dy = ahead.x - mid.x, ahead.y - mid.y
    norm = (dx ** 2 + dy ** 2) ** 0.5
    x, y = mid.x - dy / norm * 8, mid.y + dx / norm * 8  # 8 m off the centreline, at a right angle
    site = {"type": "Feature", "properties": {"kind": "factory"},
            "geometry": {"type": "Point", "coordinates": list(back.transform(x, y))}}
    report = client.post("/checks", json=site).json()
    corridor = next(r for r in report["results"] if r["rule"] == "site.power_line_corridor")
    assert corridor["measured"] == pytest.approx(8.0, abs=0.05)
    assert corridor["status"] == "fail"  # 6 m from the outermost conductor, ~5.5 m from the centreline
    assert corridor["evidence_accuracy"] == "synthetic" and report["indicative"] is True

"""Terrain (issue 14 item 3): site statistics on synthetic DEMs of known slope, unknown outside the coverage, the
cluster slope rule (off by default, on in a rules file), terrain in reports, the routes of a real `planmap serve`
and a planner's DEM upload (bad files refused, nothing replaced)."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.io import MemoryFile
from rasterio.warp import Resampling, calculate_default_transform, reproject

from geo.crs import to_metres
from geo.terrain import Terrain
from layers.checks import CheckEngine
from layers.measures import GridBatch
from layers.proposals import Proposals
from layers.report import build_reports
from layers.rules import load_rules
from tests.conftest import DATA, REPO, ServedProcess, new_planner
from web.reports import report_html

RULES_FILE = REPO / "data" / "rules.yaml"
X0, Y0, CELL = 428_000.0, 2_392_000.0, 30.0  # north-west corner of the synthetic DEMs (VN-2000 / TM-3 106°30′)
WIDTH, HEIGHT = 200, 150  # 6 km × 4.5 km
RISE = 0.10  # 10 m per 100 m towards the east: atan(0.1) = 5.71°


def plane(path: Path, rise: float = RISE) -> Path:
    """A plane rising `rise` m per m towards the east, in VN-2000 metres."""
    east = (np.arange(WIDTH) + 0.5) * CELL
    z = np.tile(100.0 + east * rise, (HEIGHT, 1)).astype("float32")
    with rasterio.open(path, "w", driver="GTiff", width=WIDTH, height=HEIGHT, count=1, dtype="float32",
                       crs="EPSG:9213", transform=Affine(CELL, 0, X0, 0, -CELL, Y0), nodata=-9999) as dst:
        dst.write(z, 1)
    return path


def in_degrees(source: Path, target: Path) -> Path:
    """The same DEM warped to EPSG:4326 (degrees), as SRTM comes."""
    with rasterio.open(source) as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:4326", src.width, src.height,
                                                               *src.bounds)
        out = np.full((height, width), -9999, dtype="float32")
        reproject(rasterio.band(src, 1), out, dst_transform=transform, dst_crs="EPSG:4326", dst_nodata=-9999,
                  resampling=Resampling.bilinear)
    with rasterio.open(target, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs="EPSG:4326", transform=transform, nodata=-9999) as dst:
        dst.write(out, 1)
    return target


@pytest.fixture(scope="module")
def dem(tmp_path_factory) -> Path:
    return plane(tmp_path_factory.mktemp("dem") / "plane-vn2000.tif")


SITE_BOX = shapely.box(430_000, 2_389_000, 431_000, 2_390_000)  # 1 km², well inside the plane
OUTSIDE = shapely.box(440_000, 2_389_000, 440_500, 2_389_500)
HALF_OUT = shapely.box(433_500, 2_389_000, 434_500, 2_389_500)  # the plane ends at x = 434,000


def test_statistics_of_a_plane_of_known_slope(dem):
    stats = Terrain.open(dem).site_stats(np.array([SITE_BOX, shapely.Point(430_500, 2_389_500)]))
    box, point = stats
    assert box["coverage"] == 1.0 and box["note"] is None
    assert box["slope_mean_deg"] == pytest.approx(math.degrees(math.atan(RISE)), abs=0.02)  # 5.71°
    assert box["slope_max_deg"] == pytest.approx(5.71, abs=0.02)
    assert box["slope_mean_pct"] == pytest.approx(10.0, abs=0.05)
    assert box["elevation_range_m"] == pytest.approx(1000 * RISE, abs=CELL * RISE + 0.1)  # 1 km at 10 %
    assert box["elevation_max_m"] - box["elevation_min_m"] == pytest.approx(box["elevation_range_m"], abs=0.11)
    assert box["resolution_m"] == 30.0
    assert point["slope_mean_deg"] == pytest.approx(5.71, abs=0.02) and point["elevation_range_m"] == 0
    grid = Terrain.open(dem).native_grid(max_cells=1_000_000)  # the DEM's own metric grid over its coverage
    west, south, east, north = grid.bounds  # snapped to multiples of the cell (geo/grid.py): ≤ one cell more
    assert grid.cell == 30.0 and west <= X0 < west + CELL and north - CELL < Y0 <= north
    assert east >= X0 + WIDTH * CELL and south <= Y0 - HEIGHT * CELL and grid.width <= WIDTH + 1


def test_outside_the_coverage_is_unknown_never_zero(dem):
    terrain = Terrain.open(dem)
    outside, half = terrain.site_stats(np.array([OUTSIDE, HALF_OUT]))
    for stats in (outside, half):
        for key in ("elevation_min_m", "elevation_max_m", "elevation_range_m", "slope_mean_deg", "slope_max_deg",
                    "slope_mean_pct", "slope_max_pct"):
            assert stats[key] is None, key
        assert stats["note"]["en"] and stats["note"]["vi"]
    assert outside["coverage"] == 0 and "outside" in outside["note"]["en"]
    assert 0.4 < half["coverage"] < 0.6 and f"{half['coverage']:.0%}" in half["note"]["en"]
    # the statement is computed from the DEM's bounds
    assert "covers only 105." in terrain.statement()["en"] and "chỉ phủ" in terrain.statement()["vi"]


def test_a_dem_in_degrees_gives_slopes_in_metres(dem, tmp_path):
    degrees = Terrain.open(in_degrees(dem, tmp_path / "plane-4326.tif"))
    assert degrees.crs == "EPSG:4326" and 25 < degrees.resolution_m < 40
    stats = degrees.site_stats(np.array([SITE_BOX]))[0]
    assert stats["slope_mean_pct"] == pytest.approx(10.0, abs=0.3)  # not degrees of longitude
    assert degrees.coverage_metric.contains(SITE_BOX)


def test_the_shipped_dem_states_its_coverage():
    shipped = Terrain.open(REPO / "data" / "sources" / "dem" / "srtm3_N21E105_tn_clip.tif")
    assert 85 < shipped.resolution_m < 95  # SRTM3: 3″ ≈ 90 m
    west, south, east, north = shipped.coverage_crs84.bounds
    assert 105.0 <= west and east <= 106.001 and 21.0 <= south and north <= 22.001  # half a cell beyond the tile
    assert "106.00°E" in shipped.statement()["en"]
    thai_nguyen_city = to_metres(np.array([shapely.Point(105.84, 21.59)]))  # Thái Nguyên city
    assert shipped.site_stats(thai_nguyen_city)[0]["coverage"] == 1.0
    north_east = to_metres(np.array([shapely.Point(106.2, 21.9)]))  # Võ Nhai: beyond the tile
    assert shipped.site_stats(north_east)[0]["slope_mean_deg"] is None


# -- the rule --------------------------------------------------------------------------------------------------
def _switched_on(tmp_path: Path, threshold: int = 15) -> Path:
    text = RULES_FILE.read_text(encoding="utf-8")
    start = text.index("  - id: industrial_cluster.slope")
    block = text[start:text.index("\n  - id:", start + 1)]
    edited = block.replace("    enabled: false", "    enabled: true").replace("    threshold: 15 ",
                                                                             f"    threshold: {threshold} ")
    assert edited != block
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace(block, edited), encoding="utf-8")
    return path


def _cluster(geom_m: shapely.Geometry) -> Proposals:
    from geo.crs import CRS84, METRIC_CRS, parse_crs, transform_geometries

    lonlat = transform_geometries(np.array([geom_m]), parse_crs(METRIC_CRS), CRS84)
    return Proposals(kinds=np.array(["industrial_cluster"], dtype=object), geoms=lonlat, properties=[{}])


def _slope_result(report: dict) -> dict | None:
    return next((r for r in report["results"] if r["rule"] == "industrial_cluster.slope"), None)


def test_the_slope_rule_is_off_by_default(dataset, dem):
    rules = load_rules(RULES_FILE)
    rule = next(r for r in rules.rules if r.id == "industrial_cluster.slope")
    assert rule.enabled is False and rule.confidence == "policy" and rule.legal_basis == []
    assert rule not in rules.in_force(dt.date(2026, 1, 1)) and rule in rules.disabled("industrial_cluster")
    report = build_reports(CheckEngine(dataset, rules, Terrain.open(dem)), _cluster(SITE_BOX), lang="en")[0]
    assert _slope_result(report) is None and all(r["rule"] != rule.id for r in report["not_in_force"])
    assert report["context"]["terrain"]["slope_mean_pct"] == pytest.approx(10.0, abs=0.05)


def test_the_slope_rule_switched_on_in_a_rules_file(dataset, dem, tmp_path):
    terrain = Terrain.open(dem)
    strict = CheckEngine(dataset, load_rules(_switched_on(tmp_path, threshold=8)), terrain)
    steep = _slope_result(build_reports(strict, _cluster(SITE_BOX), lang="en")[0])
    assert steep["status"] == "warn" and steep["measured"] == pytest.approx(10.0, abs=0.05)
    assert steep["confidence"] == "policy" and steep["evidence_accuracy"] == "approximate"
    assert "policy" in steep["message"]
    lenient = CheckEngine(dataset, load_rules(_switched_on(tmp_path, threshold=15)), terrain)
    assert _slope_result(build_reports(lenient, _cluster(SITE_BOX), lang="en")[0])["status"] == "pass"
    for geom in (OUTSIDE, HALF_OUT):  # never a pass for lack of data
        found = _slope_result(build_reports(lenient, _cluster(geom), lang="en")[0])
        assert found["status"] == "unknown" and found["measured"] is None and "coverage" in found["note"]
    without_dem = CheckEngine(dataset, lenient.rules, None)
    found = _slope_result(build_reports(without_dem, _cluster(SITE_BOX), lang="vi")[0])
    assert found["status"] == "unknown" and "DEM" in found["note"]


def test_the_rule_screens_a_grid_with_the_site_reach(dataset, dem, tmp_path):
    from geo.grid import Grid

    rules = load_rules(_switched_on(tmp_path, threshold=8))
    engine = CheckEngine(dataset, rules, Terrain.open(dem))
    measure = next(r for r in rules.rules if r.id == "industrial_cluster.slope").evaluator()
    grid = Grid.covering((429_000, 2_388_000, 436_000, 2_391_000), 100, 10_000)
    point = measure.screen(GridBatch(engine, grid, "industrial_cluster", dt.date(2026, 1, 1)))
    reach = measure.screen(GridBatch(engine, grid, "industrial_cluster", dt.date(2026, 1, 1), reach=300))
    inside = grid.sample(point.measured, np.array([431_000.0]), np.array([2_389_500.0]))[0]
    assert inside == pytest.approx(10.0, abs=0.05)
    codes = {"pass": 1, "unknown": 2, "warn": 3}
    assert grid.sample(point.status, np.array([431_000.0]), np.array([2_389_500.0]))[0] == codes["warn"]
    # the plane ends at x = 434,000: beyond it unknown, and with a 300 m reach the cells within 300 m of the edge too
    assert grid.sample(point.status, np.array([435_000.0]), np.array([2_389_500.0]))[0] == codes["unknown"]
    near_edge = grid.sample(reach.status, np.array([433_850.0]), np.array([2_389_500.0]))[0]
    assert near_edge == codes["unknown"]
    assert grid.sample(point.status, np.array([433_750.0]), np.array([2_389_500.0]))[0] == codes["warn"]
    assert point.note is not None and not np.isnan(reach.measured).all()


def test_reports_show_terrain(dataset, dem, tmp_path):
    engine = CheckEngine(dataset, load_rules(_switched_on(tmp_path)), Terrain.open(dem))
    report = build_reports(engine, _cluster(SITE_BOX), lang="vi")[0]
    terrain = report["context"]["terrain"]
    assert set(terrain) >= {"elevation_min_m", "elevation_max_m", "elevation_range_m", "slope_mean_deg",
                            "slope_max_deg", "slope_mean_pct", "slope_max_pct", "coverage", "source",
                            "resolution_m", "note"}
    page = report_html(report, "vi")
    assert "Địa hình" in page and f"{terrain['slope_mean_pct']:g} %" in page and "chính sách" in page
    outside = build_reports(engine, _cluster(OUTSIDE), lang="en")[0]
    assert outside["context"]["terrain"]["slope_mean_deg"] is None
    assert "Unknown: the site lies outside" in report_html(outside, "en")


# -- over HTTP -------------------------------------------------------------------------------------------------
ADMIN = secrets.token_hex(16)


@pytest.fixture(scope="module")
def served(tmp_path_factory, dem) -> ServedProcess:
    store = tmp_path_factory.mktemp("terrain-store")
    with ServedProcess("--data", str(DATA), "--dem", str(dem), "--workers", "2",
                       env={"PLANMAP_STORE": str(store), "PLANMAP_ADMIN_TOKEN": ADMIN}) as live:
        live.store = store
        yield live


def _tif(array: np.ndarray, crs: str | None, dtype: str = "float32") -> bytes:
    bands = array if array.ndim == 3 else array[None]
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                      dtype=dtype, crs=crs, transform=Affine(CELL, 0, X0, 0, -CELL, Y0)) as dst:
            dst.write(bands.astype(dtype))
        return mem.read()


def test_the_terrain_routes(served):
    doc = httpx.get(f"{served.url}/terrain", timeout=60).json()
    assert doc["available"] and doc["dem"] == "plane-vn2000.tif" and doc["crs"] == "EPSG:9213"
    assert doc["resolution_m"] == 30.0 and doc["coverage"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert "covers only" in doc["statement"]["en"] and len(doc["overlay"]["bounds"]) == 4
    assert [c["colour"] for c in doc["overlay"]["legend"]][0].startswith("#")
    slope = httpx.get(f"{served.url}/terrain/slope.tif", timeout=60)
    assert slope.status_code == 200 and slope.headers["content-type"] == "image/tiff"
    with MemoryFile(slope.content) as mem, mem.open() as src:
        assert src.crs.to_epsg() == 9213 and src.res == (30.0, 30.0)
        values = src.read(1)
    assert np.nanmedian(values) == pytest.approx(5.71, abs=0.02)
    part = httpx.get(f"{served.url}/terrain/elevation.tif", params={"bbox": "105.82,21.59,105.83,21.60",
                                                                   "cell": 60}, timeout=60)
    with MemoryFile(part.content) as mem, mem.open() as src:
        assert src.res == (60.0, 60.0) and src.width < 40
        assert np.nanmin(src.read(1)) > 100
    too_fine = httpx.get(f"{served.url}/terrain/slope.tif", params={"cell": 1}, timeout=60)
    assert too_fine.status_code == 413 and too_fine.json()["detail_vi"]
    away = httpx.get(f"{served.url}/terrain/slope.tif", params={"bbox": "106.5,22.0,106.6,22.1"}, timeout=60)
    assert away.status_code == 404
    png = httpx.get(f"{served.url}/terrain/slope.png", timeout=60)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    rules = httpx.get(f"{served.url}/rules").json()["rules"]
    off = [r for r in rules if r["id"] == "industrial_cluster.slope"]
    assert off and off[0]["enabled"] is False


def test_a_check_reports_terrain(served):
    lon, lat = 105.825, 21.595
    site = {"type": "Feature", "properties": {"kind": "industrial_cluster"},
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.005, lat], [lon + 0.005, lat + 0.004],
                                                             [lon, lat + 0.004], [lon, lat]]]}}
    report = httpx.post(f"{served.url}/checks", json=site, params={"lang": "en"}, timeout=60).json()
    assert report["context"]["terrain"]["slope_mean_pct"] == pytest.approx(10.0, abs=0.1)
    assert report["context"]["terrain"]["dem"] == "plane-vn2000.tif"


def test_a_planners_dem_upload(served, dem, tmp_path):
    url = f"{served.url}/terrain/dem"
    good = in_degrees(plane(tmp_path / "steeper.tif", rise=0.2), tmp_path / "steeper-4326.tif").read_bytes()
    assert httpx.put(url, files={"file": ("d.tif", good)}).status_code == 401
    token = new_planner(served.url, ADMIN, "terrain-planner")
    auth = {"Authorization": f"Bearer {token}"}
    flat = np.full((HEIGHT, WIDTH), 50.0)
    bad = [(b"not a raster at all", 400), (_tif(flat, None), 422),
           (_tif(np.stack([flat, flat, flat]), "EPSG:9213", "uint8"), 422),
           (_tif(np.full((HEIGHT, WIDTH), 60_000.0), "EPSG:9213"), 422)]
    for body, status in bad:
        refused = httpx.put(url, files={"file": ("bad.tif", body)}, headers=auth, timeout=60)
        assert refused.status_code == status, refused.text
        assert refused.json()["detail"] and refused.json()["detail_vi"]
        assert httpx.get(f"{served.url}/terrain", timeout=60).json()["dem"] == "plane-vn2000.tif"  # nothing replaced
    assert list((served.store / "terrain").glob(".upload-*")) == []
    done = httpx.put(url, files={"file": ("steeper-4326.tif", good)}, headers=auth, timeout=120)
    assert done.status_code == 200, done.text
    assert done.json()["uploaded"] and done.json()["crs"] == "EPSG:4326"
    assert "terrain-planner" in done.json()["source"]
    for _ in range(6):  # every worker follows the store
        doc = httpx.get(f"{served.url}/terrain", timeout=60).json()
        assert doc["dem"] == "dem.tif" and doc["crs"] == "EPSG:4326"
    with MemoryFile(httpx.get(f"{served.url}/terrain/slope.tif", timeout=60).content) as mem, mem.open() as src:
        assert src.crs.to_epsg() == 9213
        assert np.nanmedian(src.read(1)) == pytest.approx(math.degrees(math.atan(0.2)), abs=0.3)


def test_the_service_refuses_a_dem_that_is_not_one(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "scan.tif"
    bad.write_bytes(_tif(np.zeros((3, 20, 20)), "EPSG:9213", "uint8"))
    ran = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--dem", str(bad), "--port", "0"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0 and "3 bands" in ran.stderr and "kênh" in ran.stderr


# -- on the map ------------------------------------------------------------------------------------------------
def test_the_map_offers_the_slope_overlay_with_legend_and_coverage(browser):
    from api.app import create_app
    from layers.dataset import load_dataset
    from tests.conftest import CATALOG, LiveServer
    from tests.test_web_map import keep_screenshot, open_map

    shipped = REPO / "data" / "sources" / "dem" / "srtm3_N21E105_tn_clip.tif"
    with LiveServer(create_app(load_dataset(DATA, CATALOG), dem_path=shipped)) as live, \
            open_map(browser, live.url) as mp:
        mp.open()
        mp.page.wait_for_selector("#pm-toggle-terrain", timeout=20_000)
        assert mp.js("() => document.querySelectorAll('.pm-terrain-slope').length") == 0  # off by default
        row = mp.js("() => document.querySelector('.pm-terrain-box').textContent")
        assert "Địa hình (độ dốc)" in row
        mp.page.click("#pm-toggle-terrain")
        mp.page.wait_for_selector("img.pm-terrain-slope", timeout=10_000)
        mp.page.wait_for_function("() => document.querySelector('img.pm-terrain-slope').complete", timeout=10_000)
        size = mp.js("() => { const i = document.querySelector('img.pm-terrain-slope');"
                     " return [i.naturalWidth, i.src]; }")
        assert size[0] > 100 and size[1].endswith("terrain/slope.png")
        legend = mp.js("() => document.getElementById('pm-terrain-legend').textContent")
        assert "Độ dốc (%)" in legend and "quá dốc" in legend and "chỉ phủ" in legend
        assert mp.js("() => document.querySelectorAll('#pm-terrain-legend .pm-terrain-swatch').length") == 6
        label = mp.js("() => document.querySelector('.pm-terrain-label').textContent")
        assert "ngoài đường này địa hình chưa xác định" in label
        mp.js("() => window.planmapApp.map.setView([21.68, 105.74], 10, {animate: false})")
        mp.page.wait_for_timeout(400)
        keep_screenshot(REPO / "docs" / "screenshots" / "terrain-slope.png", mp.page.screenshot())
        mp.page.click("#pm-lang")
        mp.page.wait_for_function("() => document.getElementById('pm-terrain-legend').textContent"
                                  ".includes('too steep')", timeout=5_000)
        assert "outside this line terrain is unknown" in mp.js(
            "() => document.querySelector('.pm-terrain-label').textContent")
        assert "Terrain (slope)" in mp.js("() => document.querySelector('.pm-terrain-box').textContent")
        mp.page.click("#pm-toggle-terrain")
        assert mp.js("() => document.querySelectorAll('img.pm-terrain-slope').length") == 0
        assert mp.js("() => document.getElementById('pm-terrain-legend')") is None


def test_the_check_panel_shows_the_sites_terrain(browser, served):
    from tests.test_web_map import open_map
    from tests.test_web_tools import _check_point

    with open_map(browser, served.url, viewport={"width": 1280, "height": 900}) as mp:
        mp.open("/")
        _check_point(mp, "industrial_cluster", 105.825, 21.595)
        mp.page.wait_for_function("() => document.querySelector('.pm-report-context')"
                                  " && document.querySelector('.pm-report-context').textContent.includes('Địa hình')")
        row = mp.js("() => Array.from(document.querySelectorAll('.pm-report-context tr'))"
                    ".find(tr => tr.textContent.includes('Địa hình')).textContent")
        point = {"type": "Feature", "properties": {"kind": "industrial_cluster"},
                 "geometry": {"type": "Point", "coordinates": [105.825, 21.595]}}
        said = httpx.post(f"{served.url}/checks", json=point, timeout=60).json()["context"]["terrain"]
        vi = lambda v: f"{round(v, 1):g}".replace(".", ",")  # noqa: E731 - Vietnamese decimal comma
        assert said["slope_mean_pct"] > 5  # the plane of the DEM in force (10 %, or 20 % once a planner replaced it)
        assert f"độ dốc trung bình {vi(said['slope_mean_pct'])} % ({vi(said['slope_mean_deg'])}°)" in row
        assert f"DEM {said['resolution_m']:g} m" in row


def test_without_a_store_the_dem_cannot_be_replaced(dem):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests import small_world

    app = create_app(small_world.dataset(), small_world.RULES, dem_path=dem, admin_token=ADMIN)
    with TestClient(app) as client:
        refused = client.put("/terrain/dem", files={"file": ("d.tif", dem.read_bytes())},
                             headers={"Authorization": f"Bearer {ADMIN}"})
        assert refused.status_code == 503 and refused.json()["detail_vi"]
        doc = client.get("/terrain").json()
        assert doc["dem"] == "plane-vn2000.tif" and not doc["uploaded"]
        record = doc["inputs"]["rasters"][0]  # what an analysis records of the DEM it rested on
        assert record["file"] == "plane-vn2000.tif" and len(record["fingerprint"]) == 32


def test_the_batch_command_measures_slopes_on_its_dem(dem, tmp_path):
    import subprocess
    import sys

    import pandas as pd

    src = tmp_path / "clusters.csv"
    pd.DataFrame({"name": ["CCN trên dốc", "CCN ngoài DEM"], "kind": ["industrial_cluster"] * 2,
                  "lon": [105.825, 106.3], "lat": [21.595, 21.8], "area_ha": ["30", "30"]}).to_csv(src, index=False)
    ran = subprocess.run([sys.executable, "-m", "api.cli", "check", str(src), "--out", str(tmp_path / "res"),
                          "--rules", str(_switched_on(tmp_path, threshold=8)), "--dem", str(dem)],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert ran.returncode == 0, ran.stderr
    out = pd.read_csv(tmp_path / "res.csv")
    assert out["industrial_cluster.slope.status"].tolist() == ["warn", "unknown"]
    assert out.loc[0, "industrial_cluster.slope.measured"] == pytest.approx(10.0, abs=0.05)
    missing = subprocess.run([sys.executable, "-m", "api.cli", "check", str(src), "--dem", str(tmp_path / "no.tif")],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
    assert missing.returncode != 0 and "không có tệp mô hình độ cao" in missing.stderr

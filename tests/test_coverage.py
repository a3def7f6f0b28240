"""Network coverage (layers/coverage.py, GET /analysis/coverage, `planmap coverage`).

A strip-shaped synthetic province whose answers are worked out by hand: 10 km × 200 m of 100 m cells, a fuel
station in the centre of the south-west cell, a planned one in the south-east cell, two communes splitting it in
halves (one with a population, one without).  Then the routes through a real `planmap serve` on the default data.
"""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys

import httpx
import numpy as np
import pytest
import rasterio
from shapely.geometry import Point, box

from geo.crs import to_metres
from geo.errors import BadRequest, PayloadTooLarge
from layers.coverage import ENTIRELY_SHARE, coverage
from layers.dataset import Dataset, layer_from_frame
from tests.conftest import REPO
from tests.small_world import TEMPORAL, TODAY, X0, Y0, frame, meta

CELL = 100.0
TOLERANCE = CELL * math.sqrt(2) / 2  # the distance transform's stated bound (geo/grid.py)
LENGTH, HEIGHT = 10_000.0, 200.0
D = 3_050.0  # between the cell-centre distances 3,001.7 (col 30, row 1) and 3,100 (col 31, row 0): no ties


def strip_world(stations: list[dict]) -> Dataset:
    """The strip province, its two communes (west: 1,000 people; east: withheld) and one pre-2025 district."""
    outline = box(X0, Y0, X0 + LENGTH, Y0 + HEIGHT)
    layers = {
        "province": frame([{"name": "Tỉnh dải", "valid_from": "2025-07-01", "valid_to": None,
                            "geometry": outline}], "approximate"),
        "communes": frame([
            {"name": "Xã Tây", "code": "1", "population": 1000.0, "population_note": None,
             "valid_from": "2025-07-01", "valid_to": None, "geometry": box(X0, Y0, X0 + LENGTH / 2, Y0 + HEIGHT)},
            {"name": "Xã Đông", "code": "2", "population": None, "population_note": "withheld: implausible",
             "valid_from": "2025-07-01", "valid_to": None,
             "geometry": box(X0 + LENGTH / 2, Y0, X0 + LENGTH, Y0 + HEIGHT)}], "approximate"),
        "districts": frame([{"name": "Huyện Dải", "code": "9", "valid_from": None, "valid_to": "2025-06-30",
                             "geometry": outline}], "approximate"),
        "fuel_stations": frame([{**{k: v for k, v in s.items() if k != "xy"}, "geometry": Point(*s["xy"])}
                                for s in stations]),
    }
    temporal = {"province": TEMPORAL, "districts": TEMPORAL, "communes": TEMPORAL}
    built = {k: layer_from_frame(meta(k, temporal.get(k, ())), v) for k, v in layers.items()}
    return Dataset(built, catalog={k: v.meta for k, v in built.items()})


WEST = {"name": "Tây", "status": "existing", "xy": (X0 + 50, Y0 + 50)}  # centre of the south-west cell
EAST_PLANNED = {"name": "Đông", "status": "planned", "xy": (X0 + LENGTH - 50, Y0 + 50)}  # south-east cell


def by_name(units: list[dict], name: str) -> dict:
    return next(u for u in units if u["name"] == name)


def exact_distances(result, points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The distance raster inside the province, and the exact distance from each of its cells' centres."""
    rows, cols = np.nonzero(result.inside)
    xs, ys = result.grid.centres(rows, cols)
    exact = np.min([np.hypot(xs - px, ys - py) for px, py in points], axis=0)
    return result.distances["before"][rows, cols], exact


def test_distances_match_the_exact_ones_within_half_a_cell_diagonal():
    result = coverage(strip_world([WEST]), "fuel", D, CELL, TODAY)
    assert result.inside.sum() == 100 * 2  # 10 km × 200 m of 100 m cells, by their centres
    computed, exact = exact_distances(result, [WEST["xy"]])
    assert np.all(np.abs(computed - exact) <= TOLERANCE + 1e-3)
    assert computed.max() == pytest.approx(math.hypot(9_900, 100), abs=TOLERANCE)
    assert result.notes["tolerance_m"] == pytest.approx(TOLERANCE, abs=0.1)


def test_a_station_just_outside_the_province_counts():
    outside = {"name": "Ngoài", "status": "existing", "xy": (X0 - 250, Y0 + 50)}  # 300 m west of the first centre
    result = coverage(strip_world([outside]), "fuel", D, CELL, TODAY)
    computed, exact = exact_distances(result, [outside["xy"]])
    assert np.all(np.abs(computed - exact) <= TOLERANCE + 1e-3)
    assert computed.min() == pytest.approx(300, abs=TOLERANCE)


def test_population_beyond_the_distance_in_a_commune_split_in_two():
    result = coverage(strip_world([WEST]), "fuel", D, CELL, TODAY)
    west, east = by_name(result.communes, "Xã Tây"), by_name(result.communes, "Xã Đông")
    # beyond 3,050 m: columns 31–49 of both rows in the west commune (38 of its 100 cells), all of the east one
    assert west["cells"] == 100 and west["before"]["share_beyond"] == pytest.approx(0.38)
    assert west["before"]["area_beyond_km2"] == pytest.approx(0.38)
    assert west["before"]["population_beyond"] == 380  # 1,000 people × 0.38, spread evenly
    assert east["before"]["share_beyond"] == 1.0 and east["beyond"] == "entirely"
    # a withheld population stays unknown — never zero — and says why
    assert east["population"] is None and east["before"]["population_beyond"] is None
    assert "withheld" in east["population_note"]
    district = result.districts[0]
    assert district["before"]["share_beyond"] == pytest.approx(0.69)  # (38 + 100) / 200
    assert district["population"] is None and district["before"]["population_beyond"] is None
    s = result.summary
    assert s["population"] == 1000 and s["before"]["population_beyond"] == 380
    assert s["population_complete"] is False and s["communes_population_unknown"] == ["Xã Đông"]
    assert s["before"]["communes_entirely_beyond"] == ["Xã Đông"]
    assert ENTIRELY_SHARE > 0.5


def test_before_and_after_a_planned_station():
    result = coverage(strip_world([WEST, EAST_PLANNED]), "fuel", D, CELL, TODAY)
    assert result.stations["before"]["count"] == 1 and result.stations["after"]["count"] == 2
    east = by_name(result.communes, "Xã Đông")
    assert east["before"]["share_beyond"] == 1.0
    assert east["after"]["share_beyond"] == pytest.approx(0.38)  # the mirror image of the west commune
    west = by_name(result.communes, "Xã Tây")
    assert west["after"] == west["before"]
    assert result.distances["after"].max() < result.distances["before"].max()
    assert np.all(result.distances["after"] <= result.distances["before"])
    # the planned station is synthetic: the "after" says it is indicative
    assert result.stations["planned"]["accuracy"] == {"synthetic": 1}
    assert "indicative" in result.notes["after"]["en"] and "tham khảo" in result.notes["after"]["vi"]


def test_without_an_existing_station_everything_is_beyond():
    none = coverage(strip_world([EAST_PLANNED]), "fuel", D, CELL, TODAY)  # only a planned station
    assert none.stations["before"]["count"] == 0
    assert np.isinf(none.distances["before"]).all()
    assert by_name(none.communes, "Xã Tây")["before"]["share_beyond"] == 1.0
    assert by_name(none.communes, "Xã Tây")["after"]["share_beyond"] == 1.0  # 9.9 km from the planned one


def test_the_document_records_its_inputs_distance_kind_and_legend():
    result = coverage(strip_world([WEST, EAST_PLANNED]), "fuel", D, CELL, TODAY)
    doc = result.document("en")
    assert doc["distance_kind"]["key"] == "straight_line" and doc["distance_kind"]["vi"] == "đường chim bay"
    assert "route" in doc["distance_kind"]["why"]["en"]
    inputs = doc["inputs"]
    assert inputs["as_of"] == TODAY.isoformat()
    assert {layer["id"] for layer in inputs["layers"]} == {"fuel_stations", "province", "communes", "districts"}
    assert inputs["parameters"]["distance_m"] == D and inputs["parameters"]["cell_m"] == CELL
    assert doc["stations"]["sources"] == ["test"]  # what the stations rest on (small_world.frame's source)
    held = [c for c in doc["legend"] if c["holds_distance"]]
    assert len(held) == 1 and held[0]["min_m"] < D <= held[0]["max_m"]
    assert set(doc["overlay"]) == {"before", "after"} and doc["overlay"]["before"]["png"]
    west, south, east, north = doc["overlay"]["before"]["bounds"]
    assert west < east and south < north
    # the east commune is beyond D before the planned station: highlighted on the map
    assert [f["properties"]["name"] for f in doc["beyond"]["features"]] == ["Xã Đông"]
    assert "_geometry_m" not in doc["communes"][0]


def test_bad_values_are_refused_before_any_work():
    world = strip_world([WEST])
    with pytest.raises(BadRequest):
        coverage(world, "water", D, CELL, TODAY)
    with pytest.raises(BadRequest):
        coverage(world, "fuel", 100, CELL, TODAY)
    with pytest.raises(BadRequest):
        coverage(world, "fuel", float("nan"), CELL, TODAY)
    with pytest.raises(PayloadTooLarge):
        coverage(world, "fuel", 50_000, 10, TODAY)  # 10 m cells padded by 50 km: far more than allowed


# ------------------------------------------------------------------------------------ the routes, a real server
def test_the_coverage_route_on_the_default_data(server):
    resp = httpx.get(f"{server.url}/analysis/coverage", params={"network": "fuel", "distance_m": 3000}, timeout=60)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    s = doc["summary"]
    assert doc["distance_kind"]["key"] == "straight_line"
    assert 0 < s["after"]["area_beyond_km2"] <= s["before"]["area_beyond_km2"] < s["area_km2"]
    assert s["after"]["population_beyond"] <= s["before"]["population_beyond"] <= s["population"]
    assert s["population_complete"] is False  # some communes' populations are withheld in the shipped data
    assert doc["stations"]["planned"]["accuracy"].get("synthetic")  # the shipped planned stations
    unknown = [c for c in doc["communes"] if c["population"] is None]
    assert unknown and all(c["before"]["population_beyond"] is None for c in unknown)
    known = [c for c in doc["communes"] if c["population"] is not None]
    for c in known:
        share = c["before"]["share_beyond"]  # rounded to 4 places in the document
        assert c["before"]["population_beyond"] == pytest.approx(c["population"] * share,
                                                                 abs=1 + c["population"] * 5e-5)
    assert len(doc["districts"]) == 17
    assert any(layer["id"] == "fuel_stations" and layer["accuracy"] for layer in doc["inputs"]["layers"])

    table = httpx.get(f"{server.url}/analysis/coverage", timeout=60,
                      params={"network": "fuel", "distance_m": 3000, "f": "csv"})
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    text = table.content.decode("utf-8-sig")
    assert "đường chim bay / straight-line" in text
    rows = list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))
    assert len([r for r in rows if r["level"] == "commune"]) == len(doc["communes"])
    assert rows[-1]["level"] == "province" and float(rows[-1]["area_km2"]) == pytest.approx(s["area_km2"])


def test_the_distance_raster_opens_as_a_vn2000_geotiff(server, dataset, tmp_path):
    resp = httpx.get(f"{server.url}/analysis/coverage/distance.tif", timeout=60,
                     params={"network": "fuel", "distance_m": 3000, "state": "before"})
    assert resp.status_code == 200, resp.text
    path = tmp_path / "d.tif"
    path.write_bytes(resp.content)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 9213 and src.res == (100.0, 100.0)
        band = src.read(1)
        assert np.isnan(band).any() and np.nanmin(band) == 0
        layer = dataset.get("fuel_stations")
        existing = np.flatnonzero(layer.frame["status"].to_numpy() == "existing")
        points = to_metres(layer.frame.geometry.to_numpy()[existing])
        values = np.array(list(src.sample([(p.x, p.y) for p in points])))[:, 0]
        inside = np.isfinite(values)
        assert inside.sum() > len(points) / 2 and np.all(values[inside] <= TOLERANCE)


@pytest.mark.parametrize(("query", "status"), [
    ({"network": "water"}, 400), ({"distance_m": 100}, 400), ({"distance_m": 60_000}, 400),
    ({"distance_m": "far"}, 400), ({"cell_m": 10}, 413), ({"as_of": "2025-02-30"}, 400), ({"f": "xlsx"}, 400),
])
def test_bad_values_are_problems(server, query, status):
    resp = httpx.get(f"{server.url}/analysis/coverage", params={"overlay": "false", **query}, timeout=60)
    assert resp.status_code == status, resp.text
    problem = resp.json()
    assert problem["status"] == status and problem["detail"] and problem.get("detail_vi")


def test_the_command_writes_the_table_and_the_raster(tmp_path):
    out, raster = tmp_path / "table.csv", tmp_path / "d.tif"
    done = subprocess.run([sys.executable, "-m", "api.cli", "coverage", "--network", "lpg", "--distance", "2000",
                           "--cell", "250", "-o", str(out), "--raster", str(raster), "--state", "after"],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PLANMAP_STORE": str(tmp_path / "store")})
    assert done.returncode == 0, done.stderr
    assert "straight-line" in done.stdout and "→" in done.stdout
    assert out.read_bytes().startswith(b"\xef\xbb\xbf#")
    with rasterio.open(raster) as src:
        assert src.res == (250.0, 250.0) and src.crs.to_epsg() == 9213
    bad = subprocess.run([sys.executable, "-m", "api.cli", "coverage", "--distance", "10"], cwd=REPO,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PLANMAP_STORE": str(tmp_path / "store")})
    assert bad.returncode != 0 and "500" in bad.stderr and "Khoảng cách" in bad.stderr

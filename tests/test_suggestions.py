"""Site suggestions (layers/suggestions.py, POST /suggestions, `planmap suggest`) over a small world whose answers
are known: tests/small_world.py plus a road through the fuel station and a denser network of stations."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import geopandas as gpd
import httpx
import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geo.crs import to_metres
from geo.errors import PayloadTooLarge
from geo.grid import Grid
from layers.checks import CheckEngine
from layers.dataset import Dataset, layer_from_frame
from layers.measures import STATUS_RANK, Batch, GridBatch
from layers.proposals import Proposals
from layers.suggestions import SuggestionError, SuggestionRequest, suggest
from tests import small_world
from tests.conftest import REPO, LiveServer
from tests.small_world import X0, Y0

DAY = small_world.TODAY
ROAD = LineString([(X0 - 15_000, Y0), (X0 + 15_000, Y0)])  # west–east through the school and the station
SPACING = 300.0  # fuel_station.station_spacing in data/rules.yaml (asserted below, not assumed)


def world_layers() -> dict[str, gpd.GeoDataFrame]:
    layers = small_world.layers()
    layers["roads"] = small_world.frame([{"ref": "QL3", "name": "Quốc lộ 3", "road_class": "national",
                                          "geometry": ROAD}], "approximate")
    stations = [{"name": f"CHXD {i}", "status": "existing", "geometry": Point(X0 + 2_000 + 1_500 * i, Y0 + 40)}
                for i in range(1, 6)]
    layers["fuel_stations"] = small_world.frame(
        [{"name": "CHXD Số 1", "status": "existing", "geometry": Point(X0 + 2_000, Y0)}, *stations])
    return layers


def world() -> Dataset:
    temporal = {"province": small_world.TEMPORAL, "districts": small_world.TEMPORAL,
                "communes": small_world.TEMPORAL}
    built = {k: layer_from_frame(small_world.meta(k, temporal.get(k, ())), v) for k, v in world_layers().items()}
    return Dataset(built, catalog={k: v.meta for k, v in built.items()})


@pytest.fixture(scope="module")
def engine() -> CheckEngine:
    return CheckEngine(world(), small_world.RULES)


def ask(engine: CheckEngine, **body) -> dict:
    return suggest(engine, SuggestionRequest.model_validate({"as_of": DAY.isoformat(), **body}))


def metres(geojson: dict) -> shapely.Geometry:
    return to_metres(np.array([shapely.geometry.shape(geojson)], dtype=object))[0]


def stations_m() -> np.ndarray:
    return np.array([g for g in world_layers()["fuel_stations"].geometry], dtype=object)


def test_spacing_rule_is_read_from_the_rules():
    rule = next(r for r in small_world.RULES.rules if r.id == "fuel_station.station_spacing")
    assert rule.threshold == SPACING


def test_fuel_station_candidates_pass_every_assessable_rule_and_keep_their_distances(engine):
    out = ask(engine, kind="fuel_station", k=8, cell_m=50, preferences={"near_road": 3})
    assert len(out["candidates"]) == 8
    unassessed = {u["rule"] for u in out["unassessed_rules"]}
    assert "fuel_station.fire_sources" in unassessed  # the small world has no fire_sources layer
    fire = next(u for u in out["unassessed_rules"] if u["rule"] == "fuel_station.fire_sources")
    assert "fire_sources" in fire["reason"] and fire["verify"]
    assert "fuel_station.fire_sources" in out["note"]
    sites = []
    for c in out["candidates"]:
        results = {r["rule"]: r for r in c["report"]["results"]}
        assert not [r for r in results.values() if r["status"] in ("fail", "warn")]
        unknown = {r["rule"] for r in results.values() if r["status"] == "unknown"}
        assert unknown <= unassessed, unknown - unassessed
        assert results["fuel_station.fire_sources"]["status"] == "unknown"  # kept unknown in the report
        assert results["fuel_station.station_spacing"]["measured"] >= SPACING
        site = metres(c["geometry"])
        sites.append(site)
        # never within 300 m of a station, though the road (the preference) runs through them
        assert shapely.distance(site, stations_m()).min() >= SPACING - 1e-3
        assert set(c["components"]) == {"near_road"} and 0 <= c["components"]["near_road"]["score"] <= 1
    for i, a in enumerate(sites):  # spaced apart as the kind's own spacing rule requires
        for b in sites[i + 1:]:
            assert a.distance(b) >= SPACING - 1e-3
    scores = [c["score"] for c in out["candidates"]]
    assert scores == sorted(scores, reverse=True) and [c["rank"] for c in out["candidates"]] == list(range(1, 9))
    # the road preference brought them near the road
    assert min(shapely.distance(ROAD, np.array(sites))) < 500
    assert out["cells"]["feasible"] < out["cells"]["in_area"]
    assert out["excluded_by_rule"]["fuel_station.station_spacing"] > 0
    assert out["inputs"]["as_of"] == DAY.isoformat() and out["inputs"]["rules"]["fingerprint"]
    assert {"fuel_stations", "roads", "public_facilities"} <= {entry["id"] for entry in out["inputs"]["layers"]}
    assert out["inputs"]["parameters"]["spacing_m"] == SPACING
    assert out["surface"]["png"] and len(out["surface"]["bounds"]) == 4
    assert len(out["surface"]["legend"]["classes"]) == 6


def test_a_larger_spacing_is_kept(engine):
    out = ask(engine, kind="fuel_station", k=5, min_spacing_m=2_000, preferences={"near_road": 1})
    sites = [metres(c["geometry"]) for c in out["candidates"]]
    assert len(sites) == 5
    assert min(a.distance(b) for i, a in enumerate(sites) for b in sites[i + 1:]) >= 2_000 - 1e-3


def test_strict_returns_no_candidates_while_a_rule_cannot_be_assessed(engine):
    out = ask(engine, kind="fuel_station", k=3, strict=True)
    assert out["candidates"] == [] and out["unassessed_rules"]
    assert "strict" in out["note"]


def test_the_corridor_and_the_commune_are_respected(engine):
    out = ask(engine, kind="fuel_station", k=5, area={"road": "Quốc lộ 3", "corridor_m": 400},
              preferences={"near_road": 0, "far_from_stations": 1})
    assert out["area"]["type"] == "road_corridor" and out["area"]["ref"] == "QL3"
    assert len(out["candidates"]) == 5
    for c in out["candidates"]:
        assert metres(c["geometry"]).distance(ROAD) <= 400
    commune = world_layers()["communes"].iloc[1]  # Xã Hai: the eastern half
    out = ask(engine, kind="fuel_station", k=4, area={"commune": "xa hai"})
    assert out["area"]["name"] == "Xã Hai"
    assert len(out["candidates"]) == 4
    for c in out["candidates"]:
        assert commune.geometry.contains(metres(c["geometry"]))
        assert c["report"]["context"]["commune"]["name"] == "Xã Hai"
    ql3 = ask(engine, kind="fuel_station", k=1, area={"road": "ql 3"})  # "QL3", "ql 3", "Quốc lộ 3": one road
    assert ql3["area"]["corridor_m"] == 500


def test_a_drawn_polygon_is_the_search_area(engine):
    drawn = box(X0 + 3_000, Y0 + 3_000, X0 + 6_000, Y0 + 5_000)
    polygon = gpd.GeoSeries([drawn], crs="EPSG:9213").to_crs("OGC:CRS84").iloc[0]
    out = ask(engine, kind="fuel_station", k=3, area={"polygon": shapely.geometry.mapping(polygon)})
    assert len(out["candidates"]) == 3
    for c in out["candidates"]:
        assert drawn.buffer(1).contains(metres(c["geometry"]))


def test_cluster_candidates_are_polygons_of_the_requested_area_inside_the_plan(engine):
    out = ask(engine, kind="industrial_cluster", k=2, area_ha=12, cell_m=25, preferences={"in_cluster_plan": 1})
    assert out["site"]["geometry"] == "polygon" and out["site"]["area_ha"] == 12
    assert out["candidates"], out["excluded_by_rule"]
    planned = world_layers()["industrial_clusters"].geometry.iloc[0]
    for c in out["candidates"]:
        site = metres(c["geometry"])
        assert site.geom_type == "Polygon"
        assert abs(site.area / 10_000 - 12) < 0.05  # the requested area (the projection changes it a little)
        results = {r["rule"]: r for r in c["report"]["results"]}
        assert results["industrial_cluster.in_plan"]["status"] == "pass"
        assert results["industrial_cluster.area"]["status"] == "pass"
        assert site.intersection(planned).area / site.area >= 0.9
    assert {u["rule"] for u in out["unassessed_rules"]} == {"industrial_cluster.district_occupancy"}


def test_screening_agrees_with_the_exact_check(engine):
    """Every rule for a fuel station, screened on a grid, against `evaluate` at sampled cell centres: a screened
    pass is always an exact pass, and apart from cells within one cell of a threshold they agree."""
    cell = 100.0
    grid = Grid.covering((X0 - 12_000, Y0 - 12_000, X0 + 12_000, Y0 + 12_000), cell, 10**7)
    rng = np.random.default_rng(14)
    rows, cols = rng.integers(0, grid.height, 3_000), rng.integers(0, grid.width, 3_000)
    # plus cells around the features, where the rules have something to say
    near_rows, near_cols, _ = grid.cell_of(X0 + 2_000 + rng.normal(0, 400, 500), Y0 + rng.normal(0, 400, 500))
    rows, cols = np.concatenate([rows, near_rows]), np.concatenate([cols, near_cols])
    xs, ys = grid.centres(rows, cols)
    points = shapely.points(xs, ys)
    lonlat = gpd.GeoSeries(points, crs="EPSG:9213").to_crs("OGC:CRS84").to_numpy()
    proposals = Proposals(np.full(len(points), "fuel_station", dtype=object), lonlat, [{} for _ in points])
    compared = 0
    for rule in small_world.RULES.in_force(DAY, "fuel_station"):
        measure = rule.evaluator()
        screened = measure.screen(GridBatch(engine, grid, "fuel_station", DAY))
        assert screened is not None, rule.id
        exact = measure.evaluate(Batch(engine, proposals, np.arange(len(points)), to_metres(lonlat), DAY, False))
        codes = screened.status[rows, cols]
        exact_codes = np.array([STATUS_RANK[s] for s in exact.status])
        assert not ((codes <= STATUS_RANK["pass"]) & (exact_codes > STATUS_RANK["pass"])).any(), rule.id
        sub = engine.subset(rule.layer, rule.filter, DAY)
        if sub is None or screened.unassessable or len(sub.rows) == 0:
            assert (codes == exact_codes).all(), rule.id
            continue
        boundary = shapely.union_all(shapely.boundary(sub.geoms)) if rule.measure in ("no_overlap", "inside") \
            else shapely.union_all(sub.geoms)
        limit = {"min_distance": rule.threshold or 0, "outside_corridor": 7.5 + 1.0}.get(rule.measure, 0.0)
        far = np.abs(shapely.distance(points, boundary) - limit) > cell  # not within a cell of the threshold
        assert far.sum() > 100
        assert (codes[far] == exact_codes[far]).all(), rule.id
        compared += int(far.sum())
    assert compared > 1_000


def test_more_cells_than_allowed_is_refused_before_any_work(engine):
    with pytest.raises(PayloadTooLarge):
        ask(engine, kind="fuel_station", cell_m=10)  # the 40 × 40 km province at 10 m: 16 million cells


@pytest.mark.parametrize("body", [
    {"kind": "fuel_station", "area": {"commune": "Không Có"}},
    {"kind": "fuel_station", "area": {"district": "Huyện Không Có"}},
    {"kind": "fuel_station", "area": {"road": "QL999"}},
    {"kind": "fuel_station", "area_ha": 5},
    {"kind": "fuel_station", "area": {"polygon": {"type": "Point", "coordinates": [105.8, 21.6]}}},
    {"kind": "fuel_station", "area": {"polygon": {"type": "Polygon", "coordinates": [[[100, 10], [100.1, 10],
                                                                                     [100.1, 10.1], [100, 10]]]}}},
])
def test_requests_that_cannot_be_answered_say_why(engine, body):
    with pytest.raises(SuggestionError) as caught:
        ask(engine, **body)
    assert caught.value.en and caught.value.vi


def test_the_slope_preference_without_a_dem_does_not_score(engine):
    out = ask(engine, kind="fuel_station", k=1, preferences={"near_road": 1, "flat": 1})
    assert out["preferences"]["flat"]["available"] is False and "DEM" in out["preferences"]["flat"]["note"]
    assert out["candidates"][0]["components"]["flat"]["score"] is None


# ------------------------------------------------------------------------------------------------ the API
@pytest.fixture(scope="module")
def served():
    from api.app import create_app

    with LiveServer(create_app(world(), small_world.RULES)) as live:
        yield live


def test_the_api_answers_json_geojson_and_files(served, tmp_path):
    body = {"kind": "fuel_station", "k": 3, "as_of": DAY.isoformat(), "area": {"commune": "Xã Hai"},
            "preferences": {"near_road": 2, "far_from_stations": 1}}
    resp = httpx.post(f"{served.url}/suggestions", json=body, timeout=60)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert len(answer["candidates"]) == 3 and answer["candidates"][0]["report"]["results"]
    geo = httpx.post(f"{served.url}/suggestions", params={"f": "geojson"}, json=body, timeout=60)
    assert geo.status_code == 200 and geo.headers["content-type"].startswith("application/geo+json")
    features = geo.json()["features"]
    assert [f["properties"]["rank"] for f in features] == [1, 2, 3]
    assert {"score", "verdict", "source", "accuracy", "score_near_road"} <= set(features[0]["properties"])
    gpkg = httpx.post(f"{served.url}/suggestions", params={"f": "gpkg"}, json=body, timeout=60)
    assert gpkg.status_code == 200, gpkg.text
    path = tmp_path / "s.gpkg"
    path.write_bytes(gpkg.content)
    frame = pyogrio.read_dataframe(path, layer="suggestions")
    assert len(frame) == 3 and list(frame["rank"]) == [1, 2, 3]
    kml = httpx.post(f"{served.url}/suggestions", params={"f": "kml"}, json=body, timeout=60)
    assert kml.status_code == 200 and b"<kml" in kml.content[:2000]


@pytest.mark.parametrize("body,status", [
    ({"kind": "rocket_base"}, 400),  # what the schema refuses: 400 naming the member (api/errors.py)
    ({"kind": "fuel_station", "k": 0}, 400),
    ({"kind": "fuel_station", "k": 1000}, 400),
    ({"kind": "fuel_station", "area": {"commune": "Xã Hai", "district": "Huyện Võ Nhai"}}, 400),
    ({"kind": "fuel_station", "area": {"commune": "Không Có"}}, 422),
    ({"kind": "fuel_station", "cell_m": 10}, 413),
    ({"kind": "fuel_station", "preferences": {"near_road": -1}}, 400),
    ({"kind": "fuel_station", "surprise": 1}, 400),
    ({"kind": "fuel_station", "area_ha": 5}, 422),  # what the data or the kind refuses: 422
])
def test_the_api_refuses_bad_requests(served, body, status):
    resp = httpx.post(f"{served.url}/suggestions", json=body, timeout=60)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


# ------------------------------------------------------------------------------------------------ the CLI
def test_the_command_writes_the_candidates(tmp_path):
    out = tmp_path / "candidates.gpkg"
    done = subprocess.run([sys.executable, "-m", "api.cli", "suggest", "--kind", "fuel_station", "--commune",
                           "Phổ Yên", "--k", "3", "--prefer", "near_road=2,far_from_stations=1", "--as-of",
                           "2026-11-28", "-o", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    frame = pyogrio.read_dataframe(out)
    assert 1 <= len(frame) <= 3 and "score" in frame.columns and "verdict" in frame.columns
    assert "fuel_station.fire_sources" in done.stdout  # the rule to verify on site is said
    ranks = [line.split()[0] for line in done.stdout.splitlines()[2:] if line[:3].strip().isdigit()]
    assert ranks == [str(i) for i in range(1, len(frame) + 1)]  # the table: one row per candidate, by rank


@pytest.mark.parametrize("args", [
    ["--kind", "fuel_station", "--commune", "Không Có Xã Này"],
    ["--kind", "fuel_station", "--prefer", "near_road=abc"],
    ["--kind", "fuel_station", "--commune", "Phổ Yên", "--district", "Huyện Đại Từ"],
    ["--kind", "warp_drive"],
])
def test_the_command_refuses_bad_input(args, tmp_path):
    done = subprocess.run([sys.executable, "-m", "api.cli", "suggest", *args, "-o", str(tmp_path / "x.gpkg")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert done.stderr.strip()
    assert not (tmp_path / "x.gpkg").exists()


def test_request_parameters_are_recorded_after_defaults(engine):
    out = ask(engine, kind="fuel_station", k=1)
    params = out["inputs"]["parameters"]
    assert params["cell_m"] == 100 and params["preferences"]["near_road"] == 1 and params["as_of"] == "2026-11-28"
    assert json.dumps(out)  # the whole answer is plain JSON
    assert dt.date.fromisoformat(out["as_of"]) == DAY


def test_the_slope_preference_scores_only_where_the_dem_knows_the_slope(tmp_path):
    """A planner's DEM (a GeoTIFF in VN-2000) covering the western half of the small world: flat north of Y0,
    a 20 % slope south of it, no data east of X0.  The flat preference scores only where the slope is known."""
    import rasterio
    from affine import Affine

    from geo.terrain import Terrain

    cell, west, north = 50.0, X0 - 20_000, Y0 + 20_000
    height, width = 800, 400  # 40 km × 20 km: up to X0
    ys = north - (np.arange(height) + 0.5) * cell
    elevation = np.where(ys[:, None] > Y0, 100.0, 100.0 + (Y0 - ys[:, None]) * 0.2) * np.ones((1, width))
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs="EPSG:9213", transform=Affine(cell, 0, west, 0, -cell, north), nodata=-9999) as dst:
        dst.write(elevation.astype("float32"), 1)
    engine = CheckEngine(world(), small_world.RULES, Terrain.open(path))
    out = ask(engine, kind="factory", k=4, area_ha=1, cell_m=100, preferences={"near_road": 0, "flat": 1},
              min_spacing_m=1_000)
    assert out["preferences"]["flat"]["available"] is True
    assert out["inputs"]["rasters"][0]["path"] == "dem.tif"
    assert "DEM" in " ".join(out["scoring_notes"])  # outside its coverage the slope is unknown, and said so
    for c in out["candidates"]:
        flat = c["components"]["flat"]
        centre = metres({"type": "Point", "coordinates": c["centre"]})
        assert centre.x < X0 and centre.y > Y0  # on the flat part the DEM covers: score 1
        assert flat["score"] == pytest.approx(1.0, abs=0.02) and flat["value"] == pytest.approx(0.0, abs=0.5)
    # a candidate where the DEM does not reach has no slope score, never a zero slope
    east = ask(engine, kind="factory", k=1, area_ha=1, preferences={"flat": 1},
               area={"commune": "Xã Hai"})
    assert east["candidates"] and east["candidates"][0]["components"]["flat"]["score"] is None
    assert east["candidates"][0]["components"]["flat"]["value"] is None


def test_screening_a_square_site_never_passes_what_the_exact_check_refuses(engine):
    """For a 12 ha cluster (a square around each cell's centre), every screened pass of every rule is an exact
    pass of the same square, on cells in and around the planned cluster, the mining area and the line."""
    cell, area_ha = 25.0, 12.0
    half = (area_ha * 10_000) ** 0.5 / 2
    grid = Grid.covering((X0 - 6_000, Y0 - 1_000, X0 + 11_500, Y0 + 6_000), cell, 10**7)
    batch = GridBatch(engine, grid, "industrial_cluster", DAY, half * 2 ** 0.5, area_ha)
    rows, cols = np.divmod(np.arange(grid.size), grid.width)
    xs, ys = grid.centres(rows, cols)
    interesting = ((np.abs(xs - (X0 + 10_250)) < 800) & (np.abs(ys - (Y0 + 5_200)) < 700)) \
        | ((np.abs(xs - (X0 + 8_500)) < 1_000) & (np.abs(ys - (Y0 + 500)) < 1_000)) | (np.abs(xs - (X0 - 5_000)) < 60)
    pick = np.flatnonzero(interesting)[::3]
    squares = shapely.box(xs[pick] - half, ys[pick] - half, xs[pick] + half, ys[pick] + half)
    lonlat = gpd.GeoSeries(squares, crs="EPSG:9213").to_crs("OGC:CRS84").to_numpy()
    proposals = Proposals(np.full(len(pick), "industrial_cluster", dtype=object), lonlat,
                          [{"area_ha": area_ha} for _ in pick])
    passes = 0
    for rule in small_world.RULES.in_force(DAY, "industrial_cluster"):
        measure = rule.evaluator()
        screened = measure.screen(batch)
        if screened.unassessable:
            continue
        exact = measure.evaluate(Batch(engine, proposals, np.arange(len(pick)), to_metres(lonlat), DAY, False))
        screened_pass = screened.status[rows[pick], cols[pick]] <= STATUS_RANK["pass"]
        exact_pass = np.isin(exact.status, ("pass", "not_applicable"))
        assert not (screened_pass & ~exact_pass).any(), rule.id
        passes += int(screened_pass.sum())
        if rule.id == "industrial_cluster.in_plan":
            assert screened_pass.any() and (~screened_pass & exact_pass).sum() < exact_pass.sum()
    assert passes > 1_000

"""Compliance checks on hand-built layers whose answers are computed by hand (in VN-2000 metres)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from layers.catalog import CollectionMeta
from layers.checks import CheckEngine
from layers.dataset import Dataset, layer_from_frame
from layers.proposals import ProposalError, Proposals, from_feature
from layers.report import build_reports, results_table
from layers.rules import load_rules

RULES = load_rules(Path(__file__).resolve().parent.parent / "data" / "rules.yaml")
X0, Y0 = 480_000.0, 2_390_000.0  # a point in Thái Nguyên, VN-2000 / TM-3 106°30′ metres
TODAY = dt.date(2026, 11, 28)


def frame(rows: list[dict]) -> gpd.GeoDataFrame:
    data = [{**r, "source": "test", "accuracy": "synthetic"} for r in rows]
    out = gpd.GeoDataFrame(data, geometry="geometry", crs="EPSG:9213")
    out.index = range(1, len(out) + 1)
    return out


def meta(layer_id: str, temporal: tuple[str, ...] = ()) -> CollectionMeta:
    return CollectionMeta(id=layer_id, title={"vi": layer_id, "en": layer_id}, description={},
                          temporal_fields=temporal)


def world(**layers: gpd.GeoDataFrame) -> CheckEngine:
    """An engine over hand-made layers; the province and its districts are always there."""
    base = {
        "province": frame([
            {"name": "Tỉnh 2025", "version": "2025", "valid_from": "2025-07-01", "valid_to": None,
             "geometry": box(X0 - 20_000, Y0 - 20_000, X0 + 20_000, Y0 + 20_000)},
            {"name": "Tỉnh cũ", "version": "pre2025", "valid_from": None, "valid_to": "2025-06-30",
             "geometry": box(X0 - 20_000, Y0 - 20_000, X0 + 5_000, Y0 + 20_000)}]),
        "districts": frame([
            {"name": "Thành phố Thái Nguyên", "mountainous": False,
             "geometry": box(X0 - 20_000, Y0 - 20_000, X0, Y0 + 20_000)},
            {"name": "Huyện Võ Nhai", "mountainous": True,
             "geometry": box(X0, Y0 - 20_000, X0 + 20_000, Y0 + 20_000)}]),
    }
    base.update(layers)
    temporal = {"province": ("valid_from", "valid_to")}
    built = {k: layer_from_frame(meta(k, temporal.get(k, ())), v) for k, v in base.items()}
    return CheckEngine(Dataset(built), RULES)


def proposal(kind: str, geom, **props) -> Proposals:
    """A proposal given in metres, turned to CRS84 the way the API receives it."""
    g = gpd.GeoSeries([geom], crs="EPSG:9213").to_crs("OGC:CRS84").iloc[0]
    return Proposals(kinds=gpd.pd.array([kind], dtype=object).to_numpy(), geoms=gpd.np.array([g], dtype=object),
                     properties=[props])


def result(engine: CheckEngine, p: Proposals, rule_id: str, day: dt.date = TODAY) -> dict:
    report = build_reports(engine, p, day)[0]
    return next(r for r in report["results"] if r["rule"] == rule_id)


def facilities() -> gpd.GeoDataFrame:
    return frame([{"name": "Trường THCS Kiểm Tra", "kind": "school", "geometry": Point(X0, Y0)},
                  {"name": "UBND xã", "kind": "office", "geometry": Point(X0 + 5, Y0 + 300)}])


@pytest.mark.parametrize("dx, status", [(49.9, "fail"), (50.0, "pass"), (50.1, "pass"), (10.0, "fail")])
def test_fuel_station_distance_to_crowded_places_at_and_around_50_m(dx, status):
    engine = world(public_facilities=facilities())
    r = result(engine, proposal("fuel_station", Point(X0 + dx, Y0)), "fuel_station.crowded_places")
    assert r["status"] == status
    assert r["measured"] == pytest.approx(dx, abs=1e-3)
    assert r["threshold"] == 50 and r["unit"] == "m"
    assert r["features"][0]["name"] == "Trường THCS Kiểm Tra"
    assert r["legal_basis"][0]["document"].startswith("QCVN 01:2020/BCT") and r["confidence"] == "verified"
    roles = {f["properties"]["role"] for f in r["evidence"]["features"]}
    assert {"distance", "nearest", "threshold_zone"} <= roles


def test_offices_are_not_crowded_places():
    engine = world(public_facilities=frame([{"name": "UBND", "kind": "office", "geometry": Point(X0, Y0)}]))
    r = result(engine, proposal("fuel_station", Point(X0 + 5, Y0)), "fuel_station.crowded_places")
    assert r["status"] == "pass" and r["features"] == []


@pytest.mark.parametrize("dy, status", [(299.0, "fail"), (300.0, "pass"), (450.0, "pass")])
def test_fuel_station_spacing_300_m(dy, status):
    stations = frame([{"name": "CHXD A", "geometry": Point(X0, Y0)},
                      {"name": "CHXD B", "geometry": Point(X0, Y0 + 900)}])
    engine = world(fuel_stations=stations)
    r = result(engine, proposal("fuel_station", Point(X0, Y0 + dy)), "fuel_station.station_spacing")
    assert r["status"] == status
    assert r["measured"] == pytest.approx(min(dy, 900 - dy), abs=1e-3)


CONDUCTOR = 2.0  # the lines' own centreline → outermost-conductor distance: the corridor is measured from there


@pytest.mark.parametrize("kv, offset, status", [
    (110, 3.9, "fail"), (110, 4.0, "pass"), (22, 1.9, "fail"), (22, 2.0, "pass"), (35, 2.5, "fail"),
    (220, 5.99, "fail"), (220, 6.0, "pass"), (500, 6.5, "fail"), (500, 7.0, "pass"),
])
def test_power_line_corridor_width_by_voltage(kv, offset, status):
    """`offset` is the distance from the outermost conductor, as the decree measures it."""
    line = LineString([(X0 - 500, Y0), (X0 + 500, Y0)])
    lines = frame([{"name": f"ĐZ {kv} kV", "voltage_kv": kv, "conductor_offset_m": CONDUCTOR, "geometry": line}])
    engine = world(power_lines=lines)
    r = result(engine, proposal("factory", Point(X0, Y0 + CONDUCTOR + offset)), "site.power_line_corridor")
    widths = {22: 2.0, 35: 3.0, 110: 4.0, 220: 6.0, 500: 7.0}
    assert r["status"] == status
    assert r["threshold"] == widths[kv] + CONDUCTOR
    assert r["measured"] == pytest.approx(CONDUCTOR + offset, abs=1e-3)
    assert r["legal_basis"][0]["document"] == "Nghị định 62/2025/NĐ-CP" and r["confidence"] == "unverified"
    assert "62/2025" in r["caveats"]
    assert "corridor" in {f["properties"]["role"] for f in r["evidence"]["features"]}


@pytest.mark.parametrize("offset, status", [(8.0, "fail"), (10.4, "fail"), (11.0, "unknown"), (12.4, "unknown"),
                                            (12.6, "pass")])
def test_without_conductor_data_the_assumed_layout_has_an_uncertainty_band(offset, status):
    """A 220 kV line drawn as a centreline: the outermost conductor is assumed 5.5 ± 1 m away (rules.yaml)."""
    lines = frame([{"name": "ĐZ 220 kV", "voltage_kv": 220, "geometry": LineString([(X0 - 500, Y0), (X0 + 500, Y0)])}])
    report = build_reports(world(power_lines=lines), proposal("factory", Point(X0, Y0 + offset)), TODAY, "en")[0]
    r = next(r for r in report["results"] if r["rule"] == "site.power_line_corridor")
    assert r["status"] == status and r["threshold"] == 11.5
    if status == "pass":  # clear of the corridor whatever the layout: the assumption decided nothing
        assert r["note"] is None
    else:
        assert "assumed 5.5 ± 1 m from the centreline" in r["note"]


def test_corridor_picks_the_line_with_the_smallest_margin():
    lines = frame([
        {"name": "22 kV gần", "voltage_kv": 22, "conductor_offset_m": 0.0,
         "geometry": LineString([(X0 - 500, Y0 + 3), (X0 + 500, Y0 + 3)])},
        {"name": "500 kV", "voltage_kv": 500, "conductor_offset_m": 0.0,
         "geometry": LineString([(X0 - 500, Y0 - 6), (X0 + 500, Y0 - 6)])},
    ])
    r = result(world(power_lines=lines), proposal("factory", Point(X0, Y0)), "site.power_line_corridor")
    assert r["status"] == "fail"  # outside the 22 kV corridor (3 > 2) but inside the 500 kV one (6 < 7)
    assert r["threshold"] == 7.0 and r["measured"] == pytest.approx(6.0, abs=1e-3)
    assert [f["name"] for f in r["features"]] == ["500 kV"]


@pytest.mark.parametrize("area_type, status", [("exploration", "warn"), ("reserve", "fail"), ("prohibited", "fail")])
def test_mineral_area_overlap_severity_by_type(area_type, status):
    areas = frame([{"name": "KV khoáng sản", "area_type": area_type, "geometry": box(X0, Y0, X0 + 1000, Y0 + 1000)}])
    site = box(X0 + 900, Y0 + 900, X0 + 1100, Y0 + 1000)  # 100 m × 100 m of it overlaps = 1 ha
    r = result(world(mineral_areas=areas), proposal("industrial_cluster", site), "site.mineral_areas")
    assert r["status"] == status
    assert r["measured"] == pytest.approx(1.0, abs=1e-3)
    assert r["features"][0]["area_type"] == area_type


def test_touching_nothing_passes_the_mineral_check():
    areas = frame([{"name": "KV", "area_type": "reserve", "geometry": box(X0, Y0, X0 + 100, Y0 + 100)}])
    r = result(world(mineral_areas=areas), proposal("factory", Point(X0 - 10, Y0)), "site.mineral_areas")
    assert r["status"] == "pass" and r["measured"] == 0


@pytest.mark.parametrize("width, height, x, status", [
    (200, 500, X0 - 5000, "pass"),     # exactly 10 ha, the minimum
    (750, 1000, X0 - 5000, "pass"),    # exactly 75 ha, the maximum
    (300, 300, X0 - 5000, "fail"),     # 9 ha in a city
    (300, 300, X0 + 5000, "pass"),     # 9 ha in a mountainous district: 5 ha minimum
    (200, 200, X0 + 5000, "fail"),     # 4 ha even there
    (1000, 1000, X0 - 5000, "fail"),   # 100 ha
])
def test_industrial_cluster_area_decree_32(width, height, x, status):
    site = box(x, Y0, x + width, Y0 + height)
    r = result(world(), proposal("industrial_cluster", site), "industrial_cluster.area")
    assert r["status"] == status
    assert r["measured"] == pytest.approx(width * height / 10_000, abs=1e-3)
    assert r["threshold"][1] == 75 and r["threshold"][0] == (5 if x > X0 else 10)
    assert r["legal_basis"][0]["document"] == "Nghị định 32/2024/NĐ-CP"


def test_point_cluster_uses_declared_area_or_is_unknown():
    engine = world()
    assert result(engine, proposal("industrial_cluster", Point(X0 - 100, Y0), area_ha=40),
                  "industrial_cluster.area")["status"] == "pass"
    assert result(engine, proposal("industrial_cluster", Point(X0 - 100, Y0)), "industrial_cluster.area")["status"] \
        == "unknown"


def test_craft_village_cluster_gets_the_reduced_minimum():
    site = box(X0 - 5000, Y0, X0 - 4700, Y0 + 300)  # 9 ha in the city
    r = result(world(), proposal("industrial_cluster", site, craft_village=True), "industrial_cluster.area")
    assert r["status"] == "pass" and r["threshold"][0] == 5


def plan() -> gpd.GeoDataFrame:
    return frame([
        {"name": "CCN Kiểm Tra", "status": "planned", "district": "Huyện Võ Nhai",
         "geometry": box(X0, Y0, X0 + 1000, Y0 + 500)},
        {"name": "CCN Đã Bỏ", "status": "dropped", "district": "Huyện Võ Nhai",
         "geometry": box(X0 + 3000, Y0, X0 + 4000, Y0 + 500)},
    ])


@pytest.mark.parametrize("site, name, status, ratio", [
    (box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400), None, "pass", 1.0),
    (box(X0 + 900, Y0 + 100, X0 + 1100, Y0 + 400), None, "fail", 0.5),
    (box(X0 + 3100, Y0 + 100, X0 + 3400, Y0 + 400), None, "fail", 0.0),   # a dropped cluster is not in the plan
    (box(X0 + 6000, Y0, X0 + 6300, Y0 + 300), "Kiem Tra", "pass", 0.0),    # names a plan cluster, in its district
    (box(X0 - 6300, Y0, X0 - 6000, Y0 + 300), "Kiem Tra", "fail", 0.0),    # the name, but another district
])
def test_industrial_cluster_in_plan(site, name, status, ratio):
    props = {"name": name} if name else {}
    r = result(world(industrial_clusters=plan()), proposal("industrial_cluster", site, **props),
               "industrial_cluster.in_plan")
    assert r["status"] == status
    assert r["measured"] == pytest.approx(ratio, abs=1e-6)


def test_inside_the_province_uses_the_outline_in_force():
    engine = world()
    site = Point(X0 + 10_000, Y0)  # inside the 2025 province, outside the pre-2025 one
    assert result(engine, proposal("factory", site), "site.province", TODAY)["status"] == "pass"
    assert result(engine, proposal("factory", site), "site.province", dt.date(2024, 1, 1))["status"] == "fail"
    half_out = box(X0 + 19_900, Y0, X0 + 20_100, Y0 + 100)
    r = result(engine, proposal("factory", half_out), "site.province")
    assert r["status"] == "fail" and r["measured"] == pytest.approx(0.5, abs=1e-6)


def test_missing_layer_and_unknown_values_are_reported_as_unknown():
    engine = world()  # no public_facilities, no fuel_stations, no fire_sources layer
    report = build_reports(engine, proposal("fuel_station", Point(X0, Y0)), TODAY)[0]
    by_rule = {r["rule"]: r for r in report["results"]}
    assert by_rule["fuel_station.crowded_places"]["status"] == "unknown"
    assert by_rule["fuel_station.fire_sources"]["status"] == "unknown"
    assert "fire_sources" in by_rule["fuel_station.fire_sources"]["message"]
    lpg = build_reports(world(public_facilities=facilities()), proposal("lpg_station", Point(X0 + 500, Y0)), TODAY)[0]
    safety = next(r for r in lpg["results"] if r["rule"] == "lpg_station.safety_distance")
    assert safety["status"] == "unknown" and safety["threshold"] is None and safety["confidence"] == "unverified"
    assert report["verdict"] == "unknown"


def test_as_of_selects_the_rules_in_force():
    site = box(X0 - 5000, Y0, X0 - 4000, Y0 + 1000)
    before = build_reports(world(), proposal("industrial_cluster", site), dt.date(2024, 4, 30))[0]
    after = build_reports(world(), proposal("industrial_cluster", site), dt.date(2024, 5, 1))[0]
    assert "industrial_cluster.area" not in {r["rule"] for r in before["results"]}
    assert "industrial_cluster.area" in {r["rule"] for r in after["results"]}


def test_verdict_and_context():
    engine = world(public_facilities=facilities(), fuel_stations=frame([{"name": "CHXD", "geometry": Point(X0, Y0)}]),
                   industrial_clusters=plan())
    report = build_reports(engine, proposal("fuel_station", Point(X0 + 20, Y0 + 20)), TODAY)[0]
    assert report["verdict"] == "fail"
    assert report["context"]["district_pre2025"]["name"] == "Huyện Võ Nhai"
    assert [c["name"] for c in report["context"]["industrial_clusters"]] == ["CCN Kiểm Tra"]
    assert report["summary"]["fail"] >= 2


def test_batch_table_matches_single_reports():
    engine = world(public_facilities=facilities(), fuel_stations=frame([{"name": "CHXD", "geometry": Point(X0, Y0)}]))
    pts = [Point(X0 + d, Y0) for d in (10, 60, 400)]
    batch = Proposals(kinds=gpd.np.array(["fuel_station"] * 3, dtype=object),
                      geoms=gpd.GeoSeries(pts, crs="EPSG:9213").to_crs("OGC:CRS84").to_numpy(), properties=[{}] * 3)
    table = results_table(engine, batch, TODAY)
    assert table["fuel_station.crowded_places.status"].tolist() == ["fail", "pass", "pass"]
    assert table["fuel_station.station_spacing.status"].tolist() == ["fail", "fail", "pass"]
    assert table["verdict"].tolist()[:2] == ["fail", "fail"]
    assert table["fuel_station.crowded_places.measured"].round(3).tolist() == [10.0, 60.0, 400.0]


@pytest.mark.parametrize("feature, crs, words", [
    ({"type": "Feature", "properties": {"kind": "bakery"},
      "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}, None, "unknown proposal kind"),
    ({"type": "Feature", "properties": {"kind": "factory"},
      "geometry": {"type": "Point", "coordinates": [431000, 2380000]}}, None, "look like VN-2000 metres"),
    ({"type": "Feature", "properties": {"kind": "factory"},
      "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}, None, "outside Vietnam"),
    ({"type": "Feature", "properties": {"kind": "factory"}, "geometry": {"type": "Polygon", "coordinates": [
        [[105.8, 21.6], [105.9, 21.7], [105.9, 21.6], [105.8, 21.7], [105.8, 21.6]]]}}, None, "invalid geometry"),
    ({"type": "Feature", "properties": {"kind": "factory"},
      "geometry": {"type": "LineString", "coordinates": [[105.8, 21.6], [105.9, 21.7]]}}, None, "point or polygon"),
    ({"type": "Feature", "properties": {"kind": "factory"},
      "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}, "EPSG:1", "not supported"),
    ({"type": "FeatureCollection", "features": []}, None, "GeoJSON Feature"),
])
def test_bad_proposals_are_refused_with_a_reason(feature, crs, words):
    with pytest.raises(ProposalError) as err:
        from_feature(feature, crs)
    assert words in err.value.en and err.value.vi


def test_vn2000_proposal_is_accepted_when_declared():
    props, _ = from_feature({"type": "Feature", "properties": {"kind": "factory"},
                             "geometry": {"type": "Point", "coordinates": [X0, Y0]}}, "EPSG:9213")
    back = gpd.GeoSeries(props.geoms, crs="OGC:CRS84").to_crs("EPSG:9213").iloc[0]
    assert back.distance(Point(X0, Y0)) < 0.01

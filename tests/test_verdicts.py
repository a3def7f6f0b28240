"""Verdicts a department can sign: every result says what data it rests on, and nothing passes without evidence."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from layers.batch import check_file
from layers.checking import check_feature
from layers.checks import CheckEngine
from layers.proposals import Proposals
from layers.report import build_reports, results_table
from tests import small_world
from tests.small_world import RULES, TODAY, dataset, lonlat
from tests.test_checks import X0, Y0, facilities, frame, proposal, world


def by_rule(report: dict) -> dict:
    return {r["rule"]: r for r in report["results"]}


def test_a_result_resting_on_a_synthetic_feature_says_so_everywhere():
    report = build_reports(world(public_facilities=facilities()), proposal("fuel_station", Point(X0 + 40, Y0)),
                           TODAY, "vi")[0]
    crowded = by_rule(report)["fuel_station.crowded_places"]
    assert crowded["status"] == "fail" and crowded["evidence_accuracy"] == "synthetic"
    [feature] = crowded["evidence_features"]
    assert feature["layer"] == "public_facilities" and feature["name"] == "Trường THCS Kiểm Tra"
    assert feature["source"] == "test" and feature["accuracy"] == "synthetic"
    assert report["indicative"] is True and report["evidence_accuracy"] == "synthetic"
    assert "Kết luận mang tính tham khảo: dựa trên dữ liệu minh họa" in report["verdict_note"]
    assert report["disclaimer"].startswith("Báo cáo tự động")
    english = build_reports(world(public_facilities=facilities()), proposal("fuel_station", Point(X0 + 40, Y0)),
                            TODAY, "en")[0]
    assert "Indicative verdict: based on illustrative data" in english["verdict_note"]


def test_exact_evidence_is_not_indicative():
    exact = frame([{"name": "Trường thật", "kind": "school", "geometry": Point(X0, Y0)}]).assign(accuracy="exact")
    province = frame([{"name": "Tỉnh", "geometry": box(X0 - 20_000, Y0 - 20_000, X0 + 20_000, Y0 + 20_000)}])
    report = build_reports(world(public_facilities=exact, fuel_stations=exact.assign(kind=None),
                                 province=province.assign(accuracy="approximate")),
                           proposal("fuel_station", Point(X0 + 40, Y0)), TODAY)[0]
    assert by_rule(report)["fuel_station.crowded_places"]["evidence_accuracy"] == "exact"
    assert report["evidence_accuracy"] == "approximate"  # the province outline decided site.province
    assert report["indicative"] is False and report["verdict_note"] is None


def test_no_pass_without_evidence():
    no_kind = facilities().drop(columns=["kind"])
    report = build_reports(world(public_facilities=no_kind, fuel_stations=facilities().iloc[0:0]),
                           proposal("fuel_station", Point(X0 + 500, Y0)), TODAY, "en")[0]
    crowded, spacing = by_rule(report)["fuel_station.crowded_places"], by_rule(report)["fuel_station.station_spacing"]
    assert crowded["status"] == "unknown" and "no column kind" in crowded["note"]
    assert spacing["status"] == "unknown" and "no feature in force" in spacing["note"]
    assert crowded["evidence_accuracy"] is None and spacing["evidence_accuracy"] is None
    assert report["verdict"] == "unknown"


def test_an_absence_rests_on_the_layer_searched():
    areas = frame([{"name": "KV", "area_type": "mining", "geometry": box(X0, Y0, X0 + 100, Y0 + 100)}])
    report = build_reports(world(mineral_areas=areas), proposal("factory", Point(X0 - 500, Y0)), TODAY)[0]
    mineral = by_rule(report)["site.mineral_areas"]
    assert mineral["status"] == "pass" and mineral["evidence_features"] == []
    assert mineral["evidence_searched"] == {"layer": "mineral_areas", "features": 1, "accuracy": "synthetic",
                                            "sources": ["test"]}
    assert mineral["evidence_accuracy"] == "synthetic"


def test_a_kind_no_rule_in_force_assessed_is_not_a_pass():
    site = box(X0 - 5000, Y0, X0 - 4000, Y0 + 1000)  # 100 ha, inside the province, clear of everything
    before = build_reports(world(), proposal("industrial_cluster", site), dt.date(2023, 6, 1), "en")[0]
    assert before["verdict"] == "unknown" and before["assessed"] is False
    assert before["verdict_note"].startswith("Not assessed")
    late = {r["rule"]: r for r in before["not_in_force"]}
    assert late["industrial_cluster.area"]["status"] == "unknown" and "not in force on 2023-06-01" in \
        late["industrial_cluster.area"]["note"]
    park = build_reports(world(), proposal("industrial_park", box(X0 - 5000, Y0, X0 - 3000, Y0 + 1500)), TODAY)[0]
    assert by_rule(park)["industrial_park.phasing"]["status"] == "pass"
    assert park["verdict"] == "unknown" and park["assessed"] is True  # occupancy and rice land need data


def test_a_factory_resting_on_general_rules_alone_is_not_assessed():
    report = build_reports(world(), proposal("factory", Point(X0 - 500, Y0)), TODAY)[0]
    assert report["verdict"] == "unknown" and report["assessed"] is False


def test_the_batch_table_and_files_carry_evidence_quality_and_the_disclaimer(tmp_path):
    engine = CheckEngine(dataset(), RULES)
    sx, sy = small_world.X0, small_world.Y0
    sites = pd.DataFrame({"kind": ["fuel_station", "factory"], "name": ["CHXD gần trường", "Nhà máy"],
                          "lon": [lonlat(sx + 30, sy)[0], lonlat(sx - 3000, sy)[0]],
                          "lat": [lonlat(sx + 30, sy)[1], lonlat(sx - 3000, sy)[1]]})
    src = tmp_path / "sites.csv"
    sites.to_csv(src, index=False)
    summary = check_file(src, tmp_path / "out", engine.dataset, RULES, as_of=TODAY)
    out = pd.read_csv(summary["csv"])
    assert out.loc[0, "fuel_station.crowded_places.status"] == "fail"
    assert out.loc[0, "fuel_station.crowded_places.evidence_accuracy"] == "synthetic"
    assert bool(out.loc[0, "indicative"]) and "dữ liệu minh họa" in out.loc[0, "verdict_note"]
    assert out.loc[1, "verdict"] == "unknown" and not bool(out.loc[1, "assessed"])
    assert out["disclaimer"].str.contains("không phải số liệu chính thức").all()
    table = results_table(engine, engine_proposals(sites), TODAY)
    assert list(table.columns[:3]) == ["verdict", "assessed", "indicative"]


def engine_proposals(sites: pd.DataFrame):

    geoms = gpd.points_from_xy(sites["lon"], sites["lat"])
    return Proposals(kinds=sites["kind"].to_numpy(dtype=object), geoms=geoms.to_numpy() if hasattr(geoms, "to_numpy")
                     else geoms, properties=sites.drop(columns=["lon", "lat"]).to_dict("records"))


@pytest.mark.parametrize("lang, words", [("vi", "Dữ liệu quyết định: minh họa (giả lập)"),
                                         ("en", "Decided by synthetic (illustrative) data")])
def test_the_printable_report_says_what_each_result_rests_on(lang, words):
    from web.reports import report_html

    site = small_world.site("fuel_station", small_world.X0 + 30, small_world.Y0)
    report = check_feature(CheckEngine(dataset(), RULES), site, as_of=TODAY, lang=lang)
    page = report_html(report, lang)
    assert words in page and report["verdict_note"] in page

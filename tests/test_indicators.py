"""Plan indicators (data/indicators.yaml, layers/indicators.py, GET /indicators, `planmap indicators`): figures
checked against the data read independently (pyogrio + pandas), history from the store's revisions, units,
densities, honesty notes, bad files and bad queries, through the real server and the real command."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pyogrio
import pytest
import yaml

from layers.dataset import Dataset, Edit, layer_from_frame
from layers.history import dataset_on, local_day
from layers.indicators import IndicatorsError, compute, load_indicators
from layers.revisions import Store
from layers.workspace import Workspace
from tests.conftest import ADMIN_TOKEN, DATA, REPO, new_planner, served_with_store

INDICATORS = REPO / "data" / "indicators.yaml"
DAY = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def book():
    return load_indicators(INDICATORS)


def _read(layer: str) -> pd.DataFrame:
    return pyogrio.read_dataframe(DATA, layer=layer, read_geometry=False)


def _by_id(doc: dict) -> dict[str, dict]:
    return {i["id"]: i for i in doc["indicators"]}


def test_counts_and_areas_match_the_data_read_independently(dataset, book):
    doc = compute(dataset, book, DAY)
    got = _by_id(doc)
    clusters = _read("industrial_clusters")
    parks = pyogrio.read_dataframe(DATA, layer="industrial_parks").to_crs("EPSG:9213")
    parks["ha"] = parks.area_ha.fillna(parks.area / 10_000)  # no recorded area: the outline's, in VN-2000
    in_plan = clusters[clusters.status != "dropped"]
    assert got["clusters.in_plan.count"]["value"] == len(in_plan)
    assert got["clusters.in_plan.area_ha"]["value"] == pytest.approx(in_plan.area_ha.sum(), abs=1e-3)
    existing = clusters[clusters.status == "existing"]
    assert got["clusters.operating.count"]["value"] == len(existing)
    assert got["clusters.operating.count"]["progress"] == pytest.approx(len(existing) / 41, abs=1e-3)
    for phase in ("2021-2025", "2026-2030"):
        part = in_plan[in_plan.plan_phase == phase]
        key = f"clusters.phase_{phase.replace('-', '_')}"
        assert got[f"{key}.count"]["value"] == len(part)
        assert got[f"{key}.area_ha"]["value"] == pytest.approx(part.area_ha.sum(), abs=1e-3)
    for status in ("operating", "expanding", "planned"):
        part = parks[parks.status == status]
        assert got[f"parks.{status}.count"]["value"] == len(part)
        assert got[f"parks.{status}.area_ha"]["value"] == pytest.approx(part.ha.sum(), abs=1e-2)
        assert got[f"parks.{status}.area_ha"]["area_from_geometry"] == part.area_ha.isna().sum()
        assert (got[f"parks.{status}.area_ha"]["measure_note"] is None) == (not part.area_ha.isna().any())
    stations = _read("fuel_stations")
    assert got["fuel.existing.count"]["value"] == (stations.status == "existing").sum()
    assert got["fuel.planned.count"]["value"] == (stations.status == "planned").sum()
    minerals = _read("mineral_areas")
    for kind, part in minerals.groupby("area_type"):
        assert got[f"minerals.{kind}.count"]["value"] == len(part)
        assert got[f"minerals.{kind}.area_ha"]["value"] == pytest.approx(part.area_ha.sum(), abs=1e-3)
    subs = _read("substations")
    for kv in (110, 220):
        assert got[f"power.substations_{kv}kv.count"]["value"] == (subs.voltage_kv == kv).sum()
    lines = pyogrio.read_dataframe(DATA, layer="power_lines").to_crs("EPSG:9213")
    for kv in (22, 35, 110, 220):
        expected = lines[lines.voltage_kv == kv].length.sum() / 1000
        assert got[f"power.lines_{kv}kv.length_km"]["value"] == pytest.approx(expected, rel=1e-4)


def test_densities_use_the_province_and_the_communes_population_and_area(dataset, book):
    province = _read("province")
    merged = province[province.valid_from == "2025-07-01"].iloc[0]
    communes = _read("communes")
    stations = _read("fuel_stations")
    existing = (stations.status == "existing").sum()
    got = _by_id(compute(dataset, book, DAY, plan="fuel_network"))
    assert got["fuel.existing.per_10000_people"]["value"] == pytest.approx(
        existing / merged.population * 10_000, abs=1e-3)
    assert got["fuel.existing.per_100_km2"]["value"] == pytest.approx(existing / merged.area_km2 * 100, abs=1e-3)
    assert got["fuel.existing.per_commune"]["value"] == pytest.approx(existing / len(communes), abs=1e-3)

    by_commune = _by_id(compute(dataset, book, DAY, by="commune", plan="fuel_network"))
    counts = {u["code"]: u["value"] for u in by_commune["fuel.existing.count"]["by_unit"]}
    people = {u["code"]: u["value"] for u in by_commune["fuel.existing.per_10000_people"]["by_unit"]}
    area = {u["code"]: u["value"] for u in by_commune["fuel.existing.per_100_km2"]["by_unit"]}
    withheld = communes[communes.population.isna()]
    assert len(withheld) > 0, "the shipped data withholds some populations"
    for code in withheld.code.astype(str):
        assert people[code] is None  # unknown population: no density, never 0
        assert area[code] is not None
    known = communes[communes.population.notna()].iloc[0]
    code = str(known.code)
    assert people[code] == pytest.approx(counts[code] / known.population * 10_000, abs=1e-3)
    assert area[code] == pytest.approx(counts[code] / known.area_km2 * 100, abs=1e-3)


@pytest.mark.parametrize("by", ["commune", "district"])
def test_units_sum_to_the_province(dataset, book, by):
    doc = compute(dataset, book, DAY, by=by)
    assert doc["units"]["layer"] == ("communes" if by == "commune" else "districts")
    assert doc["units"]["count"] == len(_read(doc["units"]["layer"]))
    for ind in doc["indicators"]:
        if ind["aggregate"] in ("count", "sum_area_ha", "length_km"):
            total = sum(u["value"] for u in ind["by_unit"])
            assert total + ind["unassigned"] == pytest.approx(ind["value"], abs=1e-2), ind["id"]
    clusters = _by_id(doc)["clusters.in_plan.count"]
    assert sum(u["value"] for u in clusters["by_unit"]) > 0.9 * clusters["value"]  # the joins find the units


def test_the_units_of_a_day_before_or_after_the_reform_are_named(dataset, book):
    early = compute(dataset, book, dt.date(2024, 12, 31), by="commune", plan="minerals")
    assert early["units"]["day"] == "2025-07-01" and early["units"]["count"] == 92  # the first communes
    late = compute(dataset, book, DAY, by="district", plan="minerals")
    assert late["units"]["day"] == "2025-06-30" and late["units"]["count"] == 17  # the last districts
    assert "1/7/2025" in early["units"]["note"]["vi"]


def test_an_indicator_out_of_force_is_not_reported(dataset, tmp_path):
    path = _temp_book(tmp_path, lambda d: d["indicators"][0].update(in_force={"from": "2026-01-01"}))
    ids = {i["id"] for i in compute(dataset, load_indicators(path), DAY)["indicators"]}
    assert "parks.count" not in ids and "parks.area_ha" in ids


def test_honesty_notes_and_accuracy(dataset, book):
    got = _by_id(compute(dataset, book, DAY))
    clusters = got["clusters.in_plan.count"]  # every cluster of the shipped data is synthetic
    assert clusters["accuracy"] == "synthetic" and clusters["indicative"]
    assert clusters["accuracy_mix"] == {"synthetic": clusters["value"]}
    assert "minh họa" in clusters["honesty_note"]["vi"] and "Illustrative" in clusters["honesty_note"]["en"]
    stations = _read("fuel_stations")
    existing = stations[stations.status == "existing"]
    fuel = got["fuel.existing.count"]
    assert fuel["accuracy_mix"] == existing.accuracy.value_counts().to_dict()
    assert fuel["indicative"] == bool(existing.accuracy.isin(["synthetic", "schematic"]).any())
    assert (fuel["honesty_note"] is None) == (not fuel["indicative"])
    assert clusters["target_confidence"] == "secondary" and "222/QĐ-TTg" in clusters["target_basis"]["document"]
    assert "Thái Nguyên cũ" in clusters["target_basis"]["note"]


def test_features_of_unknown_accuracy_count_as_the_weakest(dataset, book):
    """A planner's layer without `accuracy` (or with a word outside the vocabulary) is not taken as exact."""
    layer = dataset.get("fuel_stations")
    frame = layer.frame.drop(columns=["accuracy"])
    ds = Dataset({**dataset.layers, "fuel_stations": layer_from_frame(layer.meta, frame)}, dataset.source,
                 catalog=dataset.catalog)
    fuel = _by_id(compute(ds, book, DAY, plan="fuel_network"))["fuel.existing.count"]
    assert fuel["accuracy_mix"] == {"unknown": fuel["value"]}
    assert fuel["accuracy"] == "synthetic" and fuel["indicative"]
    assert "chưa rõ độ chính xác" in fuel["honesty_note"]["vi"]


def _temp_book(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load(INDICATORS.read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_an_unsourced_target_is_marked_not_sourced(dataset, tmp_path):
    def add(doc):
        entry = next(i for i in doc["indicators"] if i["id"] == "fuel.existing.count")
        entry.update(target=60, target_year=2030, target_confidence="not_sourced")

    got = _by_id(compute(dataset, load_indicators(_temp_book(tmp_path, add)), DAY))["fuel.existing.count"]
    assert got["target"] == 60 and got["target_confidence"] == "not_sourced" and got["target_basis"] is None

    def unmarked(doc):
        entry = next(i for i in doc["indicators"] if i["id"] == "fuel.existing.count")
        entry.update(target=60, target_year=2030, target_confidence="secondary")

    with pytest.raises(IndicatorsError, match="fuel.existing.count.*not_sourced"):
        load_indicators(_temp_book(tmp_path, unmarked))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["indicators"][0]["measure"].update(aggregate="median"), "parks.count"),
    (lambda d: d["indicators"][1].update(plan="roads"), "parks.area_ha.*roads"),
    (lambda d: d["indicators"].append(dict(d["indicators"][0])), "duplicate indicator ids"),
    (lambda d: d["indicators"][2].pop("unit"), "parks.operating.count.*unit"),
])
def test_a_bad_file_is_refused_naming_the_entry(tmp_path, change, message):
    with pytest.raises(IndicatorsError, match=message):
        load_indicators(_temp_book(tmp_path, change))


def test_valid_from_and_valid_to_are_respected(dataset, book):
    """A cluster closed (valid_to) before the day no longer counts; one not yet in force does not count either."""
    layer = dataset.get("industrial_clusters")
    frame = layer.frame.copy()
    existing = frame.index[frame.status == "existing"]
    frame["valid_from"] = None
    frame["valid_to"] = None
    frame.loc[existing[0], "valid_to"] = "2025-03-31"
    frame.loc[existing[1], "valid_from"] = "2025-06-01"
    dated = layer_from_frame(dataclasses.replace(layer.meta, temporal_fields=("valid_from", "valid_to")), frame)
    ds = Dataset({**dataset.layers, "industrial_clusters": dated}, dataset.source, catalog=dataset.catalog)
    n = len(existing)

    def operating(day: dt.date) -> float:
        return _by_id(compute(ds, book, day, plan="industrial_clusters"))["clusters.operating.count"]["value"]

    assert operating(dt.date(2025, 1, 1)) == n - 1  # the second is not yet in force
    assert operating(dt.date(2025, 3, 31)) == n - 1  # valid_to is the last day in force
    assert operating(dt.date(2025, 4, 15)) == n - 2
    assert operating(DAY) == n - 1


def test_a_revision_moves_the_figure_from_its_day_on_not_before(dataset, book, tmp_path):
    ws = Workspace(dataset, Store(tmp_path / "store"))
    layer = ws.dataset.get("industrial_clusters")
    frame = layer.frame
    planned = frame.index[frame.status == "planned"][0]
    puts = frame.loc[[planned]].copy()
    puts["status"] = "existing"
    revision = ws.edit("industrial_clusters", lambda current: Edit(puts=puts), author="test", action="replace")
    day = local_day(revision.created)
    before, after = day - dt.timedelta(days=1), day
    old = _by_id(compute(ws, book, before, since=None))
    new = _by_id(compute(ws, book, after, since=before, by="commune"))
    assert new["clusters.operating.count"]["value"] == old["clusters.operating.count"]["value"] + 1
    assert new["clusters.planned.count"]["value"] == old["clusters.planned.count"]["value"] - 1
    assert new["clusters.operating.count"]["change"] == 1
    assert new["clusters.in_plan.count"]["change"] == 0
    changed = [u for u in new["clusters.operating.count"]["by_unit"] if u["change"]]
    assert len(changed) == 1 and changed[0]["change"] == 1
    doc = compute(ws, book, after, since=before)
    assert doc["inputs"]["revisions_on_date"]["industrial_clusters"] == revision.id
    assert doc["inputs"]["revisions_on_since"]["industrial_clusters"] is None
    assert doc["inputs"]["revisions_on_date"]["fuel_stations"] is None
    assert dataset_on(ws, before).dataset.get("industrial_clusters") is ws.base.get("industrial_clusters")


def test_bad_queries(dataset, book):
    from geo.errors import BadRequest

    with pytest.raises(BadRequest, match="unknown plan"):
        compute(dataset, book, DAY, plan="roads")
    with pytest.raises(BadRequest):
        compute(dataset, book, DAY, by="ward")


def test_the_route_through_a_real_server(tmp_path):
    with served_with_store(tmp_path / "store", ADMIN_TOKEN) as served:
        url = served.url
        got = httpx.get(f"{url}/indicators", params={"date": "2025-12-31", "since": "2024-12-31", "by": "district"})
        assert got.status_code == 200, got.text
        doc = got.json()
        assert doc["date"] == "2025-12-31" and doc["since"] == "2024-12-31" and doc["by"] == "district"
        assert doc["units"]["layer"] == "districts" and doc["units"]["count"] == 17
        first = doc["indicators"][0]
        for key in ("id", "plan", "title", "definition", "unit", "value", "value_since", "change", "target",
                    "target_year", "progress", "target_basis", "target_confidence", "accuracy", "accuracy_mix",
                    "indicative", "honesty_note", "by_unit"):
            assert key in first, key
        assert "revisions_on_date" in doc["inputs"]
        one = httpx.get(f"{url}/indicators", params={"plan": "minerals", "f": "csv", "by": "commune"})
        assert one.status_code == 200 and one.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(one.content.decode("utf-8-sig"))))
        assert {r["plan"] for r in rows} == {"minerals"}
        assert sum(r["level"] == "province" for r in rows) == len(_by_id(httpx.get(
            f"{url}/indicators", params={"plan": "minerals"}).json()))
        for params, status in (({"date": "2025-13-01"}, 400), ({"plan": "roads"}, 400), ({"by": "ward"}, 400),
                               ({"f": "xlsx"}, 400), ({"colour": "red"}, 400)):
            bad = httpx.get(f"{url}/indicators", params=params)
            assert bad.status_code in (status, 422), (params, bad.status_code)
            assert bad.headers["content-type"].startswith("application/problem+json"), params
        defs = httpx.get(f"{url}/indicators/definitions").json()
        assert {p["id"] for p in defs["plans"]} >= {"industrial_parks", "industrial_clusters"}
        assert len(defs["indicators"]) == len(load_indicators(INDICATORS).indicators)

        # a planner's edit moves today's figure, not yesterday's
        token = new_planner(url, ADMIN_TOKEN, "lan")
        items = httpx.get(f"{url}/collections/industrial_clusters/items",
                          params={"status": "planned", "limit": 1}).json()["features"]
        feature = items[0]
        feature["properties"]["status"] = "existing"
        put = httpx.put(f"{url}/collections/industrial_clusters/items/{feature['id']}", json=feature,
                        headers={"Authorization": f"Bearer {token}"})
        assert put.status_code == 200, put.text
        history = httpx.get(f"{url}/collections/industrial_clusters/revisions",
                            headers={"Authorization": f"Bearer {token}"}).json()["revisions"]
        day = local_day(history[0]["created"])
        now = httpx.get(f"{url}/indicators", params={"date": day.isoformat(),
                                                     "since": (day - dt.timedelta(days=1)).isoformat(),
                                                     "plan": "industrial_clusters"}).json()
        operating = _by_id(now)["clusters.operating.count"]
        assert operating["change"] == 1
        assert now["inputs"]["revisions_on_date"]["industrial_clusters"] == history[0]["id"]


def test_the_command(tmp_path):
    out = tmp_path / "table.csv"
    run = subprocess.run([sys.executable, "-m", "api.cli", "indicators", "--date", "2025-12-31", "--since",
                          "2024-12-31", "--by", "commune", "--plan", "industrial_clusters", "-o", str(out)],
                         cwd=REPO, capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert run.returncode == 0, run.stderr
    assert "clusters.operating.count" in run.stdout and "minh họa" in run.stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert {r["level"] for r in rows} == {"province", "commune"}
    bad = subprocess.run([sys.executable, "-m", "api.cli", "indicators", "--plan", "roads"], cwd=REPO,
                         capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert bad.returncode != 0 and "roads" in bad.stderr
    bad_date = subprocess.run([sys.executable, "-m", "api.cli", "indicators", "--date", "31/12/2025"], cwd=REPO,
                              capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert bad_date.returncode != 0


def test_serve_refuses_a_bad_indicators_file(tmp_path):
    path = _temp_book(tmp_path, lambda d: d["indicators"][3]["measure"].update(layer=None))
    run = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "0", "--indicators", str(path)],
                         cwd=REPO, capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert run.returncode != 0
    assert "parks.operating.area_ha" in run.stderr and "measure.layer" in run.stderr


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "PLANMAP_STORE": str(tmp_path / "store")}

"""Rule types are a registry: every measure brings its parameters, evidence roles and words, and a new one needs
nothing but its own class and a rule that names it."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pydantic import BaseModel, ConfigDict
from shapely.geometry import Point

from layers.checks import CheckEngine
from layers.measures import MEASURES, Batch, Measure, Role, RuleOutcome, evidence_roles, register
from layers.measures.base import text
from layers.report import build_reports, results_table
from layers.rules import RuleBook, RulesError, load_rules
from tests.small_world import REPO, TODAY, X0, Y0, dataset
from tests.test_checks import proposal


def test_every_measure_of_the_rules_file_is_registered_and_complete():
    rules = load_rules(REPO / "data" / "rules.yaml")
    assert {r.measure for r in rules.rules} <= set(MEASURES)
    for name, cls in MEASURES.items():
        assert cls.name == name
        for role in cls.roles.values():
            assert role.vi and role.en and role.style.get("color")
    assert set(evidence_roles()) >= {"site", "distance", "nearest", "threshold_zone", "corridor", "overlap",
                                     "conflicting_area", "plan_area", "outside_part"}


def test_a_rule_with_an_unknown_measure_or_a_stray_field_is_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    base = ("rules:\n  - id: x\n    title: {vi: x, en: x}\n    applies_to: [factory]\n    unit: m\n"
            "    severity: fail\n    legal_basis: [{document: d}]\n    confidence: verified\n")
    path.write_text(base + "    measure: teleport_distance\n    layer: places\n", encoding="utf-8")
    with pytest.raises(RulesError, match="unknown measure 'teleport_distance'"):
        load_rules(path)
    path.write_text(base + "    measure: min_distance\n    layer: places\n    widths: [1, 2]\n", encoding="utf-8")
    with pytest.raises(RulesError, match="widths"):
        load_rules(path)
    path.write_text(base + "    measure: area_range\n", encoding="utf-8")
    with pytest.raises(RulesError, match="min"):
        load_rules(path)


class FarParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at_least_km: float


@pytest.fixture
def far_from_centre():
    """A new rule type, as a planner's developer would add one: a module's worth of code, nothing else."""

    @register
    class FarFromCentre(Measure):
        name = "far_from_centre"
        Params = FarParams
        needs_layer = False
        roles = {"centre_line": Role("Đường đến trung tâm", "Line to the centre", {"color": "#123456", "weight": 2})}

        def evaluate(self, batch: Batch) -> RuleOutcome:
            centre = Point(X0, Y0)
            km = shapely.distance(batch.geoms, centre) / 1000
            status = np.where(km >= self.params.at_least_km, "pass", self.rule.severity).astype(object)
            evidence = [[("centre_line", shapely.shortest_line(g, centre))] if batch.evidence else []
                        for g in batch.geoms]
            return RuleOutcome(batch.idx, status, km, [self.params.at_least_km] * len(batch),
                               [[] for _ in range(len(batch))], evidence, [None] * len(batch))

        def sentence(self, status, measured, threshold, related, note, lang) -> str:
            return text(f"Cách trung tâm {measured:.1f} km", f"{measured:.1f} km from the centre")[lang]

    yield FarFromCentre
    del MEASURES["far_from_centre"]


def test_a_new_rule_type_needs_only_its_class_and_a_rule(far_from_centre):
    rules = RuleBook.model_validate({"rules": [{
        "id": "factory.far", "title": {"vi": "Xa trung tâm", "en": "Far from the centre"}, "applies_to": ["factory"],
        "measure": "far_from_centre", "at_least_km": 2.0, "unit": "km", "severity": "fail",
        "legal_basis": [{"document": "test"}], "confidence": "verified"}]})
    engine = CheckEngine(dataset(), rules)
    sites = proposal("factory", Point(X0 + 1_000, Y0))
    [report] = build_reports(engine, sites, TODAY, "en")
    [result] = report["results"]
    assert result["status"] == "fail" and result["measured"] == pytest.approx(1.0)
    assert result["message"] == "1.0 km from the centre" and result["threshold"] == 2.0
    assert [f["properties"]["role"] for f in result["evidence"]["features"]] == ["centre_line"]
    table = results_table(engine, proposal("factory", Point(X0 + 3_000, Y0)), TODAY)
    assert table.loc[0, "factory.far.status"] == "pass" and table.loc[0, "verdict"] == "pass"
    assert evidence_roles()["centre_line"].en == "Line to the centre"

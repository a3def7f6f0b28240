"""Rules test themselves: every rule of data/rules.yaml has worked examples, and each gives what it expects."""

from __future__ import annotations

import subprocess
import sys

import pytest

from layers.rule_examples import run_all, run_example
from layers.rules import RuleBook, load_rules
from tests.small_world import REPO

RULES = load_rules(REPO / "data" / "rules.yaml")
CASES = [(rule, example) for rule in RULES.rules for example in rule.examples]


def test_every_rule_has_worked_examples():
    assert [r.id for r in RULES.rules if not r.examples] == []
    for rule in RULES.rules:  # a measurable rule shows both sides of its threshold
        statuses = {e.expect.status for e in rule.examples}
        if rule.measure != "manual" and rule.threshold is not None or rule.measure in ("area_range",
                                                                                      "outside_corridor"):
            assert len(statuses) >= 2, rule.id


@pytest.mark.parametrize("rule, example", CASES, ids=[f"{r.id}: {e.name}" for r, e in CASES])
def test_worked_example(rule, example):
    result = run_example(rule, example)
    assert result.ok, result


def test_a_changed_threshold_shows_which_examples_change():
    rules = RULES.model_copy(deep=True)
    crowded = next(r for r in rules.rules if r.id == "fuel_station.crowded_places")
    crowded.threshold = 25.0  # a planner's edit
    changed = [r.example for r in run_all(RuleBook(rules=[crowded])) if not r.ok]
    assert changed == ["30 m from a school"]


def test_the_command_lists_the_examples_and_fails_on_a_change(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "api.cli", "rules", "examples"], capture_output=True, text=True,
                        cwd=REPO, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert f"{len(CASES)} of {len(CASES)} examples give what they expect" in ok.stdout
    edited = tmp_path / "rules.yaml"
    edited.write_text((REPO / "data" / "rules.yaml").read_text(encoding="utf-8").replace(
        "    threshold: 300\n", "    threshold: 250\n", 1), encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "api.cli", "rules", "examples", "--rules", str(edited)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode == 1
    assert "CHANGED  fuel_station.station_spacing" in bad.stdout and "299 m from a station" in bad.stdout

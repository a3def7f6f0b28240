"""Hostile input: schemathesis generates requests for every operation of the API definition served at /api —
valid ones and invalid ones, in a fixed order (deterministic, one seed) — anonymously and as a planner.

No answer may be a 5xx; every answer must conform to the definition (status, media type, headers, body schema,
`Allow` of a 405), and a request the definition forbids must be refused.  One check is left out, on purpose:
`positive_data_acceptance` wants every request the definition allows to succeed, but planmap also refuses what a
JSON schema cannot say (an unknown collection id, a date that is not in the calendar, a polygon that crosses
itself or lies outside Vietnam, a proposal kind the rules do not know) — with a 400/404/422 problem, which is the
right answer (docs/reliability.md).

It runs in-process over the small hand-made world (tests/small_world.py), with a store of its own: the planner's
edits, imports and rollbacks land there.  CI's budget fuzzes the generic paths and two collections' own paths;
`PLANMAP_SCHEMATHESIS_EXAMPLES=N` (above the default) raises the examples per operation and fuzzes every
collection's paths (README, Tests).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from layers.accounts import add_user
from layers.indicators import load_indicators
from layers.revisions import Store
from tests import small_world
from tests.conftest import ADMIN_TOKEN, REPO

SEED = 20261130
INDICATORS = REPO / "data" / "indicators.yaml"
CI_EXAMPLES = 5
EXAMPLES = int(os.environ.get("PLANMAP_SCHEMATHESIS_EXAMPLES", str(CI_EXAMPLES)))  # fuzzed requests per operation
EVERY_COLLECTION = EXAMPLES > CI_EXAMPLES
# The collections whose own paths (`/collections/<id>/items…`, copies of the generic ones with the layer's
# queryables) CI fuzzes: a public layer, and the internal one only a planner sees.
CI_COLLECTIONS = ("fuel_stations", "draft_plan")
EXCLUDED_CHECKS = [positive_data_acceptance]


# A valid print map takes 1–3 s to render (tests/test_printmap.py covers them), a yearly report 3–8 s
# (tests/test_yearly_report.py): within CI's budget only the invalid requests of these paths are generated — the
# hostile ones, each answered at once.
CI_NEGATIVE_ONLY = ("/exports/map", "/reports/yearly")


def config() -> SchemathesisConfig:
    operations = [] if EVERY_COLLECTION else [{"include-path": path, "generation": {"mode": "negative"}}
                                              for path in CI_NEGATIVE_ONLY]
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": {"deterministic": True, "max-examples": EXAMPLES},
        "checks": {"positive_data_acceptance": {"enabled": False}},
        "operations": operations,
    })


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """The small world served with a store of its own (the planner's writes land there), `draft_plan` internal,
    with the shipped indicators."""
    store = Store(tmp_path_factory.mktemp("fuzz-store"))
    app = create_app(small_world.dataset(), small_world.RULES, store=store, admin_token=ADMIN_TOKEN,
                     indicators=load_indicators(INDICATORS))
    app.state.workspace.set_internal("draft_plan", True, "test")
    return app


@pytest.fixture(scope="module")
def planner_headers(fuzz_app) -> dict:
    token = add_user(fuzz_app.state.workspace.store, "fuzzer", "planner", "test")["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def anonymous_api(fuzz_app):
    """/api as an anonymous user reads it, requests sent in-process over ASGI."""
    return schemathesis.openapi.from_asgi("/api", fuzz_app, config=config())


@pytest.fixture(scope="module")
def planner_api(fuzz_app, planner_headers):
    """/api as a planner reads it: it also lists the internal layer's paths."""
    return schemathesis.openapi.from_asgi("/api", fuzz_app, config=config(), headers=planner_headers)


def operations(fixture: str):
    lazy = schemathesis.pytest.from_fixture(fixture)
    if EVERY_COLLECTION:
        return lazy
    kept = "|".join(CI_COLLECTIONS)
    return lazy.exclude(path_regex=rf"^/collections/(?!\{{|(?:{kept})/)[^/]+/items")


anonymous = operations("anonymous_api")
planner = operations("planner_api")
SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck))


@anonymous.parametrize()
@SETTINGS
def test_anonymous_requests_get_no_server_error_and_conform(case):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)


@planner.parametrize()
@SETTINGS
def test_planner_requests_get_no_server_error_and_conform(case, planner_headers):
    case.call_and_validate(headers=planner_headers, excluded_checks=EXCLUDED_CHECKS)

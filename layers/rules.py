"""The rules file: legal thresholds as data, validated so a planner's edit fails loudly, not silently."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from geo.errors import PlanmapError
from layers.measures import measure_class

ProposalKind = Literal["fuel_station", "lpg_station", "industrial_cluster", "industrial_park", "factory"]
PROPOSAL_KINDS: tuple[str, ...] = ProposalKind.__args__  # type: ignore[attr-defined]
PROPOSAL_KIND_LABELS = {
    "fuel_station": {"vi": "Cửa hàng xăng dầu", "en": "Fuel station"},
    "lpg_station": {"vi": "Cửa hàng LPG", "en": "LPG shop"},
    "industrial_cluster": {"vi": "Cụm công nghiệp", "en": "Industrial cluster"},
    "industrial_park": {"vi": "Khu công nghiệp", "en": "Industrial park"},
    "factory": {"vi": "Nhà máy", "en": "Factory"},
}


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vi: str
    en: str


class LegalBasis(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str
    article: str = ""
    note: str = ""


class InForce(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        return (self.from_ is None or self.from_ <= day) and (self.to is None or day <= self.to)


class ExampleShape(BaseModel):
    """A place in a worked example, in metres east/north of the examples' origin: a point, a box or a line."""

    model_config = ConfigDict(extra="allow")  # the rest are the feature's properties
    at: tuple[float, float] | None = None
    box: tuple[float, float, float, float] | None = None
    line: list[tuple[float, float]] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> ExampleShape:
        if sum(v is not None for v in (self.at, self.box, self.line)) != 1:
            raise ValueError("give exactly one of at: [x, y], box: [x0, y0, x1, y1] or line: [[x, y], …]")
        return self


class ExampleSite(ExampleShape):
    kind: ProposalKind


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["pass", "fail", "warn", "unknown", "not_applicable"]
    measured: float | None = None
    tolerance: float = 0.01


class ExampleTerrain(BaseModel):
    """A synthetic elevation model for a worked example (written to a GeoTIFF in VN-2000 by the example runner):
    a plane rising `plane_slope_percent` towards the east, or a grid of `heights` (rows north to south), over
    `box` (metres east/north of the examples' origin) in cells of `cell` metres; outside `box` terrain is unknown."""

    model_config = ConfigDict(extra="forbid")
    box: tuple[float, float, float, float] = (-2000.0, -2000.0, 2000.0, 2000.0)
    cell: float = Field(30.0, gt=0)
    plane_slope_percent: float | None = None
    heights: list[list[float]] | None = None
    base_m: float = 100.0  # the plane's height at the box's west edge

    @model_validator(mode="after")
    def _one_surface(self) -> ExampleTerrain:
        if (self.plane_slope_percent is None) == (self.heights is None):
            raise ValueError("give exactly one of plane_slope_percent or heights")
        if self.heights is not None and (not self.heights or len({len(r) for r in self.heights}) != 1):
            raise ValueError("heights must be a non-empty grid of rows of equal length")
        return self


class Example(BaseModel):
    """A worked example of a rule: the features around a site, the site, and what the rule must answer."""

    model_config = ConfigDict(extra="forbid")
    name: str
    given: dict[str, list[ExampleShape]] = {}
    terrain: ExampleTerrain | None = None
    site: ExampleSite
    as_of: dt.date | None = None
    expect: Expectation


class Rule(BaseModel):
    """One rule of data/rules.yaml: what every rule has, plus its measure's own parameters (validated by the
    measure's `Params` model, so a new rule type brings its own fields)."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: Bilingual
    applies_to: list[ProposalKind]
    measure: str
    layer: str | None = None
    filter: dict[str, list[str] | str] = {}
    threshold: float | None = None
    unit: str
    severity: Literal["fail", "warn"]
    legal_basis: list[LegalBasis]
    # policy: a value the department sets itself (e.g. the slope a cluster may have): no legal text behind it
    confidence: Literal["verified", "secondary", "unverified", "policy"]
    # a rule switched off is listed (GET /rules, marked) but never applied; `enabled: true` switches it on
    enabled: bool = True
    in_force: InForce = InForce()
    caveats: Bilingual | None = None
    superseded_by: str | None = None
    # a rule every site is checked against (inside the province, outside corridors and mineral areas): on its own
    # it does not assess a kind of proposal, so a verdict resting only on general rules is "not assessed"
    general: bool = False
    examples: list[Example] = []
    _params: BaseModel = PrivateAttr()

    @model_validator(mode="after")
    def _measure_params(self) -> Rule:
        measure = measure_class(self.measure)
        try:
            self._params = measure.Params.model_validate(self.model_extra or {})
        except ValidationError as exc:
            raise ValueError(f"rule {self.id}: {exc}") from None
        measure.check_rule(self)
        if not self.legal_basis and self.confidence != "policy":
            raise ValueError(f"rule {self.id}: only a `confidence: policy` rule may have no legal basis")
        return self

    @property
    def params(self) -> BaseModel:
        """The measure's own parameters (e.g. the corridor table, the area range)."""
        return self._params

    def evaluator(self):
        """The measure object that evaluates this rule."""
        return measure_class(self.measure)(self)


class RuleBook(BaseModel):
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> RuleBook:
        ids = [r.id for r in self.rules]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate rule ids: {sorted(dupes)}")
        return self

    def in_force(self, day: dt.date, kind: str | None = None) -> list[Rule]:
        """The rules applied on `day` (for `kind`): switched on and in force."""
        return [r for r in self.rules if r.enabled and r.in_force.covers(day)
                and (kind is None or kind in r.applies_to)]

    def not_in_force(self, day: dt.date, kind: str | None = None) -> list[Rule]:
        """The rules of the file that do not apply on `day` (not yet, or no longer in force; switched-off rules
        are not listed: they are not the law of any day, but a choice of the department)."""
        return [r for r in self.rules if r.enabled and not r.in_force.covers(day)
                and (kind is None or kind in r.applies_to)]

    def disabled(self, kind: str | None = None) -> list[Rule]:
        """The rules switched off in the file (`enabled: false`)."""
        return [r for r in self.rules if not r.enabled and (kind is None or kind in r.applies_to)]


class RulesError(PlanmapError):
    """The rules file cannot be used; the message says where."""


def load_rules(path: Path) -> RuleBook:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        return RuleBook.model_validate(doc)
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"cannot read rules {path}: {exc}") from exc
    except ValidationError as exc:
        raise RulesError(f"rules file {path} is invalid: {exc}") from exc

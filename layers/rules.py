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
    confidence: Literal["verified", "secondary", "unverified"]
    in_force: InForce = InForce()
    caveats: Bilingual | None = None
    superseded_by: str | None = None
    _params: BaseModel = PrivateAttr()

    @model_validator(mode="after")
    def _measure_params(self) -> Rule:
        measure = measure_class(self.measure)
        try:
            self._params = measure.Params.model_validate(self.model_extra or {})
        except ValidationError as exc:
            raise ValueError(f"rule {self.id}: {exc}") from None
        measure.check_rule(self)
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
        return [r for r in self.rules if r.in_force.covers(day) and (kind is None or kind in r.applies_to)]


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

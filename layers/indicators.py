"""Supervising the plans: indicators against the plans' targets, computed from the layers as they were on a day.

The indicators are data (data/indicators.yaml): each names a layer, a filter on property values and an
aggregate; the code only counts.  Every figure is computed with numpy over the features in force on the day
(`valid_on`), per province, 2025 commune or pre-2025 district (a feature belongs to the unit its representative
point lies in: the join is made once per layer revision and unit day, with an STRtree), and says how exact the
features it counted are (the weakest accuracy and the mix), with a note next to it when any is schematic or
synthetic — as checks do.  `inputs` names the layers and revisions each answer rests on.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import io
import math
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
import shapely
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geo.crs import to_metres
from geo.errors import BadRequest, PlanmapError
from layers.admin import COMMUNES, DISTRICTS, PROVINCE, commune_day, district_day
from layers.dataset import Dataset, Layer
from layers.history import DayDataset, dataset_on
from layers.inputs import inputs_record, layer_fingerprint
from layers.provenance import is_accuracy, weakest
from layers.report import ILLUSTRATIVE
from layers.rules import Bilingual, InForce

Aggregate = Literal["count", "sum_area_ha", "length_km", "per_commune", "per_10000_people", "per_100_km2"]
AGGREGATES: tuple[str, ...] = Aggregate.__args__  # type: ignore[attr-defined]
ADDITIVE = ("count", "sum_area_ha", "length_km")  # the units' values add up to the province's (plus unassigned)
BY = ("province", "commune", "district")
Confidence = Literal["verified", "secondary", "unverified", "not_sourced"]

M2_PER_HA = 10_000.0
M_PER_KM = 1_000.0
PEOPLE_PER = 10_000.0  # per 10,000 people: the department's way of stating a network's density
KM2_PER = 100.0  # per 100 km²
DECIMALS = 3  # figures are rounded to this many decimals: finer than any area or length of the data is known

HONESTY = {
    "vi": "Số liệu mang tính minh họa: tính từ {n} đối tượng {what} — không phải số liệu chính thức",
    "en": "Illustrative figure: computed from {n} {what_en} feature(s) — not an official figure",
}
ILLUSTRATIVE_LABELS = {"schematic": ("sơ đồ", "schematic"), "synthetic": ("giả lập", "synthetic"),
                       "unknown": ("chưa rõ độ chính xác", "of unknown accuracy")}  # unknown counts as the weakest
UNIT_NOTES = {
    "commune": {"vi": "Xã/phường theo sắp xếp từ 1/7/2025 (với ngày trước đó: các xã của ngày 1/7/2025)",
                "en": "Communes of the 2025 reorganisation (for earlier days: the communes of 1 July 2025)"},
    "district": {"vi": "Huyện/thành phố trước 1/7/2025 (với ngày sau đó: các huyện của ngày 30/6/2025)",
                 "en": "Pre-2025 districts (for later days: the districts of 30 June 2025)"},
}
JOIN_NOTE = {"vi": "Đối tượng thuộc đơn vị chứa điểm đại diện của nó; đường dây: phần chiều dài nằm trong đơn vị",
             "en": "A feature belongs to the unit its representative point lies in; lines: the length inside it"}
AREA_NOTE = {"vi": "{n} đối tượng không ghi diện tích: tính theo diện tích hình học (VN-2000)",
             "en": "{n} feature(s) without a recorded area: their outline's area (VN-2000) is counted"}
DISTRICT_POPULATION_NOTE = {"vi": "Chưa có số dân theo huyện trước 2025: mật độ theo dân số để trống",
                            "en": "No population per pre-2025 district: densities per people are left empty"}


class IndicatorsError(PlanmapError):
    """The indicators file cannot be used; the message names the entry."""


class Measure(BaseModel):
    """What is counted: the features of `layer` matching `filter` (property → value or list of values), by
    `aggregate`; `field` is the property holding the area for sum_area_ha (default area_ha; a feature without it
    counts with the area of its geometry in VN-2000)."""

    model_config = ConfigDict(extra="forbid")
    layer: str
    filter: dict[str, list[str | int | float | bool] | str | int | float | bool] = {}
    aggregate: Aggregate
    field: str | None = None

    @model_validator(mode="after")
    def _field(self) -> Measure:
        if self.field is not None and self.aggregate != "sum_area_ha":
            raise ValueError("`field` only goes with aggregate: sum_area_ha")
        return self


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: Bilingual


class TargetBasis(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str
    note: str = ""


class Indicator(BaseModel):
    """One entry of data/indicators.yaml."""

    model_config = ConfigDict(extra="forbid")
    id: str
    plan: str
    title: Bilingual
    definition: Bilingual
    unit: Bilingual
    measure: Measure
    target: float | None = None
    target_year: int | None = Field(None, ge=2000, le=2100)
    target_basis: TargetBasis | None = None
    target_confidence: Confidence | None = None
    in_force: InForce = InForce()

    @model_validator(mode="after")
    def _target(self) -> Indicator:
        if self.target is None:
            if self.target_year is not None or self.target_basis is not None or self.target_confidence is not None:
                raise ValueError("target_year, target_basis and target_confidence need a target")
            return self
        if self.target_confidence is None:
            raise ValueError("a target needs a target_confidence (not_sourced when no document gives it)")
        if self.target_basis is None and self.target_confidence != "not_sourced":
            raise ValueError("a target without target_basis must be `target_confidence: not_sourced`")
        if self.target_basis is not None and self.target_confidence == "not_sourced":
            raise ValueError("a target with a target_basis document is sourced: say how (verified, secondary, "
                             "unverified)")
        return self


class IndicatorBook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plans: list[Plan]
    indicators: list[Indicator]

    @model_validator(mode="after")
    def _consistent(self) -> IndicatorBook:
        for kind, ids in (("plan", [p.id for p in self.plans]), ("indicator", [i.id for i in self.indicators])):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {dupes}")
        plans = {p.id for p in self.plans}
        for ind in self.indicators:
            if ind.plan not in plans:
                raise ValueError(f"indicator {ind.id}: plan {ind.plan!r} is not one of the plans {sorted(plans)}")
        return self

    def plan_ids(self) -> list[str]:
        return [p.id for p in self.plans]

    def of_plan(self, plan: str | None) -> list[Indicator]:
        if plan is not None and plan not in self.plan_ids():
            raise BadRequest(f"unknown plan {plan!r}; plans: {', '.join(self.plan_ids())}",
                             f"Không có quy hoạch {plan!r}; các quy hoạch: {', '.join(self.plan_ids())}")
        return [i for i in self.indicators if plan is None or i.plan == plan]


def load_indicators(path: Path) -> IndicatorBook:
    """The indicators file, validated; a bad file is an IndicatorsError naming the entry at fault."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise IndicatorsError(f"cannot read indicators {path}: {exc}") from exc
    try:
        return IndicatorBook.model_validate(doc)
    except ValidationError as exc:
        raise IndicatorsError(f"indicators file {path} is invalid: {_named(exc, doc)}") from exc


def _named(exc: ValidationError, doc: object) -> str:
    """The validation errors with the id of the entry each is in (`indicators.3` says little to a planner)."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] in ("indicators", "plans") and isinstance(loc[1], int) and isinstance(doc, dict):
            entries = doc.get(loc[0]) or []
            if loc[1] < len(entries) and isinstance(entries[loc[1]], dict) and entries[loc[1]].get("id"):
                where = f"{loc[0][:-1]} {entries[loc[1]]['id']!r}" + ("." + ".".join(str(p) for p in loc[2:])
                                                                      if loc[2:] else "")
        lines.append(f"{where}: {err['msg']}")
    return "; ".join(lines)


# -- units -------------------------------------------------------------------------------------------------------
class Units:
    """The units figures are grouped by on a day: rows of the communes or districts layer, their codes, names,
    population and area, and the STRtree their features are joined with.  Made once per set of units in force
    (kept in the unit layer's cache: every day between two boundary changes shares it)."""

    def __init__(self, by: str, layer: Layer, day: dt.date, rows: np.ndarray) -> None:
        self.by, self.layer, self.day, self.rows = by, layer, day, rows
        self.key = (layer.id, layer_fingerprint(layer), hashlib.blake2b(rows.tobytes(), digest_size=8).hexdigest())
        self.geoms = layer.frame.geometry.to_numpy()[rows]
        self.tree = shapely.STRtree(self.geoms)
        self.ids = layer.fids[rows].tolist()  # the unit's feature id in its layer (the map zooms to it)
        self.codes = _texts(layer, "code", rows)
        self.names = _texts(layer, "name", rows)
        self.population = _numbers(layer, "population", rows)
        self.area_km2 = _numbers(layer, "area_km2", rows)

    def __len__(self) -> int:
        return len(self.rows)

    def index_of(self, layer: Layer) -> np.ndarray:
        """Per feature of `layer`: the index of the unit its representative point lies in (-1: none); computed
        once per layer revision and set of units (kept in the layer's cache)."""
        key = ("unit_index",) + self.key
        found = layer.cache.get(key)
        if found is None:
            geoms = layer.frame.geometry.to_numpy()
            found = np.full(len(geoms), -1, dtype=np.int64)
            present = np.flatnonzero([g is not None and not g.is_empty for g in geoms])
            if len(present) and len(self):
                points = shapely.point_on_surface(geoms[present])
                feature, unit = self.tree.query(points, predicate="intersects")
                first = np.unique(feature, return_index=True)[1]  # a point on a shared border: the first unit
                found[present[feature[first]]] = unit[first]
            layer.cache[key] = found
        return found

    def lengths_of(self, layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The parts of `layer`'s lines inside each unit, as (feature, unit, km) triples: a line crossing units
        counts in each for the length inside it (computed once per layer revision and set of units)."""
        key = ("unit_lengths",) + self.key
        found = layer.cache.get(key)
        if found is None:
            geoms = layer.frame.geometry.to_numpy()
            feature, unit = self.tree.query(geoms, predicate="intersects")
            parts = shapely.intersection(geoms[feature], self.geoms[unit])
            km = shapely.length(to_metres(parts)) / M_PER_KM
            found = layer.cache[key] = (feature, unit, km)
        return found


def units_of(dataset: Dataset, by: str, day: dt.date) -> Units | None:
    """The units of `by` for `day`: communes in force on the day (those of the reform day for earlier days),
    pre-2025 districts (those of the last day before the reform for later days); None for the province."""
    if by == "province":
        return None
    layer_id, unit_day = (COMMUNES, commune_day(day)) if by == "commune" else (DISTRICTS, district_day(day))
    layer = dataset.get(layer_id)
    if layer is None:
        raise BadRequest(f"the data has no {layer_id} layer to group by", f"Dữ liệu không có lớp {layer_id}")
    rows = np.flatnonzero(layer.valid_on(unit_day))
    if len(rows) == 0:  # a planner's undated unit layer: all of it
        rows = np.arange(len(layer))
    key = ("indicator_units", by, rows.tobytes())
    found = layer.cache.get(key)
    if found is None:
        found = layer.cache[key] = Units(by, layer, unit_day, rows)
    if found.day != unit_day:  # the same units, asked about another day: say which day they are of
        found = copy.copy(found)
        found.day = unit_day
    return found


def _columns(layer: Layer) -> frozenset[str]:
    """The layer's property names (kept in its cache: asked for by every figure)."""
    found = layer.cache.get("indicator_columns")
    if found is None:
        found = layer.cache["indicator_columns"] = frozenset(layer.property_columns)
    return found


def _texts(layer: Layer, name: str, rows: np.ndarray) -> list[str | None]:
    if name not in _columns(layer):
        return [None] * len(rows)
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            for v in layer.column(name)[rows]]


def _numbers(layer: Layer, name: str, rows: np.ndarray) -> np.ndarray:
    """A numeric property as float (NaN where it is missing or withheld)."""
    if name not in _columns(layer):
        return np.full(len(rows), np.nan)
    values = layer.column(name)[rows]
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        try:
            out[i] = float(v) if v is not None else np.nan
        except (TypeError, ValueError):
            pass
    return out


# -- measuring ---------------------------------------------------------------------------------------------------
def _mask(layer: Layer, measure: Measure, day: dt.date) -> np.ndarray | None:
    """The features counted: in force on `day` and matching the filter (None when a filtered property is not in
    the layer: the figure is unknown, never zero)."""
    mask = layer.valid_on(day).copy()
    for name, wanted in measure.filter.items():
        if name not in _columns(layer):
            return None
        values = wanted if isinstance(wanted, list) else [wanted]
        mask &= np.isin(layer.column(name), np.asarray(values, dtype=object))
    return mask


def _weights(layer: Layer, measure: Measure) -> np.ndarray | None:
    """Per feature: what it adds to the figure (None: one each)."""
    if measure.aggregate == "length_km":
        key = "indicator_length_km"
        if key not in layer.cache:
            layer.cache[key] = shapely.length(_metric(layer)) / M_PER_KM
        return layer.cache[key]
    if measure.aggregate == "sum_area_ha":
        name = measure.field or "area_ha"
        key = ("indicator_area_ha", name)
        if key not in layer.cache:
            values = _numbers(layer, name, np.arange(len(layer)))
            missing = np.isnan(values)
            if missing.any():  # no recorded area: the geometry's, in VN-2000 (a point's is 0)
                values[missing] = shapely.area(_metric(layer)[missing]) / M2_PER_HA
            layer.cache[key] = values
            layer.cache[("indicator_area_missing", name)] = missing
        return layer.cache[key]
    return None


def _metric(layer: Layer) -> np.ndarray:
    """The layer's geometries in VN-2000 metres (the same cache entry the check engine and coverage use)."""
    if "metric" not in layer.cache:
        layer.cache["metric"] = to_metres(layer.frame.geometry.to_numpy())
    return layer.cache["metric"]


def _total(mask: np.ndarray, weights: np.ndarray | None) -> float:
    return float(mask.sum()) if weights is None else float(np.nansum(weights[mask]))


def _per_unit(mask: np.ndarray, weights: np.ndarray | None, index: np.ndarray, n: int) -> np.ndarray:
    inside = mask & (index >= 0)
    return np.bincount(index[inside], weights=None if weights is None else weights[inside], minlength=n) \
        .astype(float)


def _density(values: np.ndarray, aggregate: str, units: Units | None, province: dict) -> np.ndarray:
    """Counts → densities by the units' (or the province's) communes, population or area; NaN where the
    denominator is unknown (a withheld population is never taken as zero)."""
    if aggregate == "per_commune":
        per = np.ones(len(values)) if units is not None and units.by == "commune" else (
            np.full(len(values), province["communes"] or np.nan) if units is None else np.full(len(values), np.nan))
        return values / per
    if aggregate == "per_10000_people":
        people = units.population if units is not None else np.array([province["population"] or np.nan])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(people > 0, values / people * PEOPLE_PER, np.nan)
    area = units.area_km2 if units is not None else np.array([province["area_km2"] or np.nan])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(area > 0, values / area * KM2_PER, np.nan)


def _province(dataset: Dataset, day: dt.date) -> dict:
    """The province's denominators for densities: the merged province's population and area (the outline in
    force on the reform day or later, whose territory the layers cover), and its communes."""
    out = {"population": None, "area_km2": None, "communes": None}
    layer = dataset.get(PROVINCE)
    if layer is not None and len(layer):
        rows = np.flatnonzero(layer.valid_on(commune_day(day)))
        if len(rows) == 1:
            pop, area = _numbers(layer, "population", rows)[0], _numbers(layer, "area_km2", rows)[0]
            out["population"] = None if np.isnan(pop) else float(pop)
            out["area_km2"] = None if np.isnan(area) else float(area)
    communes = dataset.get(COMMUNES)
    if communes is not None:
        out["communes"] = int(communes.valid_on(commune_day(day)).sum()) or None
    return out


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), DECIMALS)


class Figures:
    """One indicator on one day: the province's figure, the units', and the accuracy of what was counted."""

    def __init__(self, ind: Indicator, dataset: Dataset, day: dt.date, units: Units | None, province: dict
                 ) -> None:
        self.value: float | None = None
        self.units: np.ndarray | None = None
        self.unassigned: float | None = None
        self.accuracy: str | None = None
        self.mix: dict[str, int] = {}
        self.searched = False  # nothing counted: the accuracy is that of the features looked through
        self.missing: str | None = None
        self.area_from_geometry = 0  # sum_area_ha: counted features whose area is their outline's
        measure = ind.measure
        layer = dataset.get(measure.layer)
        if layer is None:
            self.missing = "layer"
            return
        mask = _mask(layer, measure, day)
        if mask is None:
            self.missing = "property"
            return
        weights = _weights(layer, measure)
        total = _total(mask, weights)
        if measure.aggregate == "sum_area_ha":
            missing = layer.cache[("indicator_area_missing", measure.field or "area_ha")]
            self.area_from_geometry = int((mask & missing).sum())
        if measure.aggregate in ADDITIVE:
            self.value = total
        else:
            self.value = float(_density(np.array([total]), measure.aggregate, None, province)[0])
        if units is not None and measure.aggregate == "length_km":
            feature, unit, km = units.lengths_of(layer)
            inside = mask[feature]
            self.units = np.bincount(unit[inside], weights=km[inside], minlength=len(units)).astype(float)
            self.unassigned = total - float(self.units.sum())
        elif units is not None:
            counts = _per_unit(mask, weights, units.index_of(layer), len(units))
            self.units = counts if measure.aggregate in ADDITIVE else _density(counts, measure.aggregate, units,
                                                                                province)
            if measure.aggregate in ADDITIVE:
                self.unassigned = total - float(counts.sum())
        accuracy = layer.column("accuracy") if "accuracy" in _columns(layer) else np.full(len(layer), None)
        counted = accuracy[mask]
        if not len(counted):
            counted = accuracy[layer.valid_on(day)]
            self.searched = True
        self.mix = dict(Counter(a if is_accuracy(a) else "unknown" for a in counted.tolist()))
        self.accuracy = weakest(counted.tolist())


def _honesty(fig: Figures) -> dict | None:
    illustrative = {k: n for k, n in fig.mix.items() if k in ILLUSTRATIVE or k == "unknown"}
    if not illustrative:
        return None
    n = sum(illustrative.values())
    what = " / ".join(ILLUSTRATIVE_LABELS[k][0] for k in illustrative)
    what_en = " / ".join(ILLUSTRATIVE_LABELS[k][1] for k in illustrative)
    note = {"vi": HONESTY["vi"].format(n=n, what=what), "en": HONESTY["en"].format(n=n, what_en=what_en)}
    if fig.searched:
        note = {"vi": "Không có đối tượng nào thỏa điều kiện trong dữ liệu minh họa: " + note["vi"],
                "en": "No feature matched in illustrative data: " + note["en"]}
    return note


MISSING_NOTES = {
    "layer": {"vi": "Không có lớp dữ liệu này vào ngày đó: chưa tính được", "en": "No such layer on that day: unknown"},
    "property": {"vi": "Lớp dữ liệu thiếu thuộc tính của điều kiện lọc: chưa tính được",
                 "en": "The layer lacks a property of the filter: unknown"},
}


def compute(source, book: IndicatorBook, day: dt.date, by: str = "province", since: dt.date | None = None,
            lang: str = "vi", plan: str | None = None, sees_internal: bool = False) -> dict:
    """The indicators of `book` (of one `plan`, or all) on `day`, grouped `by` province, 2025 commune or pre-2025
    district, with the change since `since`.  `source`: a Workspace (the layers as they were on each day, from
    its store's revisions) or a Dataset (taken as it is; only `valid_from`/`valid_to` select by date)."""
    if by not in BY:
        raise BadRequest(f"by must be one of {', '.join(BY)}", f"by phải là một trong {', '.join(BY)}")
    indicators = book.of_plan(plan)
    then = dataset_on(source, day, sees_internal)
    before = dataset_on(source, since, sees_internal) if since is not None else None
    units = units_of(then.dataset, by, day)
    province_now = _province(then.dataset, day)
    province_since = _province(before.dataset, since) if before is not None else None
    out_indicators = []
    for ind in indicators:
        if not ind.in_force.covers(day):
            continue
        now = Figures(ind, then.dataset, day, units, province_now)
        old = Figures(ind, before.dataset, since, units, province_since) if before is not None else None
        out_indicators.append(_indicator_doc(ind, now, old, units))
    layer_ids = list(dict.fromkeys(i.measure.layer for i in indicators))
    unit_layers = [units.layer.id] if units is not None else []
    if any(i.measure.aggregate not in ADDITIVE for i in indicators):  # densities: the communes' people and area
        unit_layers.append(COMMUNES)
    plans = [p for p in book.plans if plan is None or p.id == plan]
    return {
        "date": day.isoformat(), "since": since.isoformat() if since else None, "by": by, "lang": lang,
        "units": None if units is None else {"layer": units.layer.id, "day": units.day.isoformat(),
                                             "count": len(units), "note": UNIT_NOTES[by], "join": JOIN_NOTE,
                                             **({"population_note": DISTRICT_POPULATION_NOTE}
                                                if by == "district" else {})},
        "plans": [{"id": p.id, "title": p.title.model_dump()} for p in plans],
        "indicators": out_indicators,
        "inputs": _inputs(then, before, layer_ids + unit_layers + [PROVINCE], day, since, by, plan),
    }


def _inputs(then: DayDataset, before: DayDataset | None, layer_ids: list[str], day: dt.date,
            since: dt.date | None, by: str, plan: str | None) -> dict:
    """What the figures rest on: the layers of the day (with their store revisions) and, for `since`, those of
    that day."""
    present = list(dict.fromkeys(k for k in layer_ids if k in then.dataset.layers or k != PROVINCE))
    record = inputs_record(then.dataset, present, day, {"date": day.isoformat(),
                                                        "since": since.isoformat() if since else None,
                                                        "by": by, "plan": plan})
    record["revisions_on_date"] = {k: then.revisions.get(k) for k in dict.fromkeys(present)}
    if before is not None:
        record["since_layers"] = inputs_record(before.dataset, present, since, {})["layers"]
        record["revisions_on_since"] = {k: before.revisions.get(k) for k in dict.fromkeys(present)}
    record["history"] = {"vi": "Mỗi lớp lấy ở phiên bản cuối cùng được lưu trước hết ngày (giờ Việt Nam); "
                               "null: dữ liệu gốc", "en": "Each layer at its last revision committed by the end "
                                                          "of the day (Vietnam time); null: the shipped data"}
    return record


def _indicator_doc(ind: Indicator, now: Figures, old: Figures | None, units: Units | None) -> dict:
    value = _num(now.value)
    value_since = _num(old.value) if old is not None else None
    change = _num(value - value_since) if value is not None and value_since is not None else None
    progress = _num(value / ind.target) if value is not None and ind.target else None
    doc = {
        "id": ind.id, "plan": ind.plan, "title": ind.title.model_dump(), "definition": ind.definition.model_dump(),
        "unit": ind.unit.model_dump(), "aggregate": ind.measure.aggregate, "layer": ind.measure.layer,
        "filter": ind.measure.filter,
        "value": value, "value_since": value_since, "change": change,
        "target": ind.target, "target_year": ind.target_year, "progress": progress,
        "target_basis": ind.target_basis.model_dump() if ind.target_basis else None,
        "target_confidence": ind.target_confidence,
        "accuracy": now.accuracy, "accuracy_mix": now.mix,
        "accuracy_of": "searched" if now.searched else "counted",
        "indicative": now.accuracy in ILLUSTRATIVE,
        "honesty_note": _honesty(now) if now.missing is None else MISSING_NOTES[now.missing],
        "unassigned": _num(now.unassigned),
        "area_from_geometry": now.area_from_geometry if ind.measure.aggregate == "sum_area_ha" else None,
        "measure_note": {k: v.format(n=now.area_from_geometry) for k, v in AREA_NOTE.items()}
        if now.area_from_geometry else None,
        "by_unit": None,
    }
    if units is not None:
        rows = []
        for i in range(len(units)):
            v = _num(now.units[i]) if now.units is not None else None
            s = _num(old.units[i]) if old is not None and old.units is not None else None
            rows.append({"id": units.ids[i], "code": units.codes[i], "name": units.names[i], "value": v,
                         "value_since": s,
                         "change": _num(v - s) if v is not None and s is not None else None})
        doc["by_unit"] = rows
    return doc


# -- tables ------------------------------------------------------------------------------------------------------
CSV_HEADER = ["indicator", "plan", "title", "unit", "level", "code", "name", "value", "value_since", "change",
              "target", "target_year", "progress", "target_confidence", "accuracy", "indicative", "honesty_note"]


def table_rows(doc: dict) -> list[list]:
    """The answer as rows: per indicator, the province's figure, then each unit's."""
    lang = doc.get("lang", "vi")
    rows = []
    for ind in doc["indicators"]:
        note = (ind["honesty_note"] or {}).get(lang)
        rows.append([ind["id"], ind["plan"], ind["title"][lang], ind["unit"][lang], "province", None,
                     "Tỉnh" if lang == "vi" else "Province", ind["value"], ind["value_since"], ind["change"],
                     ind["target"], ind["target_year"], ind["progress"], ind["target_confidence"], ind["accuracy"],
                     ind["indicative"], note])
        for u in ind["by_unit"] or []:
            rows.append([ind["id"], ind["plan"], ind["title"][lang], ind["unit"][lang], doc["by"], u["code"],
                         u["name"], u["value"], u["value_since"], u["change"], None, None, None, None,
                         ind["accuracy"], ind["indicative"], None])
    return rows


def to_csv(doc: dict) -> bytes:
    """The table as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Vietnamese names)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(["" if v is None else v for v in row] for row in table_rows(doc))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def definitions(book: IndicatorBook, plan: str | None = None, lang: str = "vi") -> dict:
    """The file's entries, as GET /indicators/definitions lists them (with their titles in `lang` as
    `title_text`)."""
    return {"plans": [{**p.model_dump(), "title_text": getattr(p.title, lang)}
                      for p in book.plans if plan is None or p.id == plan],
            "indicators": [{**i.model_dump(mode="json", by_alias=True), "title_text": getattr(i.title, lang)}
                           for i in book.of_plan(plan)]}

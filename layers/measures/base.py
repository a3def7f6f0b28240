"""What every rule type shares: its parameters, the evidence it draws, its outcome for a batch, its sentence.

A rule type ("measure") is one class: it evaluates a rule for every proposal of a batch at once (vectorized in
VN-2000 metres), names the evidence roles it draws (with their legend labels and map style), says in one sentence
what it measured, and fills its row of the batch table.  The engine (layers/checks.py) only looks measures up
by name in the registry, so a new rule type is one new module here plus its rules in data/rules.yaml.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict
from shapely import STRtree

from layers.provenance import weakest

if TYPE_CHECKING:
    from geo.grid import Grid
    from layers.checks import CheckEngine
    from layers.dataset import Layer
    from layers.proposals import Proposals
    from layers.rules import Rule

STATUS_RANK = {"not_applicable": 0, "pass": 1, "unknown": 2, "warn": 3, "fail": 4}
HA = 10_000.0
# Distances are compared with a 1 mm allowance so that a site exactly at a legal limit, after a round trip between
# CRSs (errors ~1e-9 m), is judged at the limit — a measuring tolerance, not a legal value.
TOLERANCE_M = 0.001
TOLERANCE_HA = 0.0001  # 1 m², the same allowance for areas
MAX_LISTED = 20  # related features listed per rule in a report


def text(vi: str, en: str) -> dict[str, str]:
    """A sentence in both languages."""
    return {"vi": vi, "en": en}


def fmt(value: float | None, digits: int = 1) -> str:
    """A measured number for a sentence ('—' when there is none)."""
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:,.{digits}f}"


@dataclass(frozen=True)
class Role:
    """One kind of evidence geometry a measure draws: its legend label and its map style (Leaflet path options)."""

    vi: str
    en: str
    style: dict

    def to_dict(self) -> dict:
        return {"vi": self.vi, "en": self.en, "style": dict(self.style)}


SITE = Role("Địa điểm đề xuất", "Proposed site",
            {"color": "#08519c", "weight": 3, "fillColor": "#4292c6", "fillOpacity": 0.15, "radius": 7})


@dataclass
class Subset:
    """The features of one layer that a rule looks at, in metres, with their own spatial index."""

    layer: Layer
    rows: np.ndarray
    geoms: np.ndarray
    tree: STRtree
    valid_count: int = 0  # features of the layer in force on the day, before the rule's filter
    missing: tuple[str, ...] = ()  # filter columns the layer does not have
    _union: shapely.Geometry | None = None
    _cache: dict[str, object] = field(default_factory=dict)

    @property
    def union(self) -> shapely.Geometry:
        """All the subset's geometries as one (computed once)."""
        if self._union is None:
            self._union = shapely.union_all(self.geoms)
            shapely.prepare(self._union)
        return self._union

    def ref(self, k: int, **extra: object) -> dict:
        """How a report names one feature: layer, id, name, how exact it is and where it comes from (plus
        measured facts)."""
        names, accuracies, sources = self._ref_texts()
        out = {"layer": self.layer.id, "id": int(self.layer.fids[self.rows[k]]), "name": names[k],
               "accuracy": accuracies[k], "source": sources[k]}
        out.update(extra)
        return out

    def _ref_texts(self) -> tuple[list, list, list]:
        """The name, accuracy and source of every feature as plain text, once per subset (reports name many)."""
        found = self._cache.get("ref_texts")
        if found is None:
            found = tuple([_text(v) for v in self.column(c)] for c in ("name", "accuracy", "source"))
            self._cache["ref_texts"] = found
        return found

    def basis(self) -> dict:
        """The subset as evidence of an absence ("no mineral area overlaps"): how many features were searched,
        the weakest accuracy among them and their sources."""
        return self.derived("basis", lambda s: {
            "layer": s.layer.id, "features": len(s.rows),
            "accuracy": weakest(_text(v) for v in s.column("accuracy")) if len(s.rows) else None,
            "sources": sorted({t for t in (_text(v) for v in s.column("source")) if t})[:5]})

    def column(self, name: str) -> np.ndarray:
        """A property of the subset's features, in subset order (None where the layer lacks it; cached)."""
        key = "column:" + name
        found = self._cache.get(key)
        if found is None:
            frame = self.layer.frame
            found = frame[name].to_numpy()[self.rows] if name in frame.columns \
                else np.full(len(self.rows), None, dtype=object)
            self._cache[key] = found
        return found

    def derived(self, key: str, build):
        """A value computed once per subset (a column, a name lookup …)."""
        if key not in self._cache:
            self._cache[key] = build(self)
        return self._cache[key]


def _text(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


@dataclass
class RuleOutcome:
    """One rule evaluated for the proposals at `idx` (positions in the batch); notes are {vi, en} or None."""

    idx: np.ndarray
    status: np.ndarray
    measured: np.ndarray
    threshold: list[object]
    related: list[list[dict]] = field(default_factory=list)
    evidence: list[list[tuple[str, shapely.Geometry]]] = field(default_factory=list)
    note: list[dict | None] = field(default_factory=list)
    searched: dict | None = None  # the features searched (Subset.basis), when a result may rest on an absence

    def evidence_accuracy(self, j: int) -> str | None:
        """`quality(j)["evidence_accuracy"]` without building the lists (the batch table asks it 10,000s of times)."""
        if self.status[j] not in ("pass", "fail", "warn"):
            return None
        found = [r["accuracy"] for r in self.related[j] if "accuracy" in r]
        if found:
            return weakest(found)
        searched = self.searched
        return searched["accuracy"] if searched and searched.get("features") else None

    def quality(self, j: int) -> dict:
        """What the j-th result rests on: the deciding features (layer, id, accuracy, source) and the weakest
        accuracy among them — or, for a result decided by an absence (nothing overlaps), the features searched.
        Nothing for `unknown`: a result that decided nothing rests on nothing."""
        status = str(self.status[j])
        if status not in ("pass", "fail", "warn"):
            return {"evidence_accuracy": None, "evidence_features": [], "evidence_searched": None}
        deciding = [{k: r.get(k) for k in ("layer", "id", "name", "accuracy", "source")}
                    for r in self.related[j] if "accuracy" in r]
        if deciding:
            return {"evidence_accuracy": weakest(r["accuracy"] for r in deciding), "evidence_features": deciding,
                    "evidence_searched": None}
        searched = self.searched if self.searched and self.searched.get("features") else None
        return {"evidence_accuracy": searched["accuracy"] if searched else None, "evidence_features": [],
                "evidence_searched": searched}

    @classmethod
    def uniform(cls, idx: np.ndarray, status: str, threshold: object, note: dict | None = None) -> RuleOutcome:
        """The same status for every proposal, with nothing measured (e.g. `unknown` for lack of data)."""
        n = len(idx)
        return cls(idx, np.full(n, status, dtype=object), np.full(n, np.nan), [threshold] * n,
                   [[] for _ in range(n)], [[] for _ in range(n)], [note] * n)


@dataclass
class Batch:
    """What a measure evaluates: the proposals it applies to, in metres, and the engine's layers on a day."""

    engine: CheckEngine
    proposals: Proposals
    idx: np.ndarray  # positions in the whole batch
    geoms: np.ndarray  # their geometries in metres
    day: dt.date
    evidence: bool  # whether to build evidence geometries (the batch command does not need them)

    def properties(self, i: int) -> dict:
        """The attributes of the i-th proposal of this batch."""
        return self.proposals.properties[self.idx[i]] if self.proposals.properties else {}

    def __len__(self) -> int:
        return len(self.idx)


@dataclass
class GridBatch:
    """A rule screened over a grid: every cell's centre stands for a candidate site of `kind` (a point, or with
    `reach` > 0 a site extending that many metres around it, e.g. a cluster), on `day` (layers/suggestions.py)."""

    engine: CheckEngine
    grid: Grid
    kind: str
    day: dt.date
    reach: float = 0.0
    area_ha: float | None = None  # the area of each site when it is known up front (a cluster of 50 ha)


@dataclass
class GridOutcome:
    """A rule's status in every cell of a grid (STATUS_RANK codes, uint8), what it measured there when it is a
    number (e.g. metres to the nearest feature, NaN where not measured), and why it is unknown where it is."""

    status: np.ndarray
    measured: np.ndarray | None = None
    note: dict | None = None
    # the same `unknown` in every cell for lack of data or of a legal value: the rule cannot be assessed anywhere
    # (site suggestions list it instead of letting it exclude every cell)
    unassessable: bool = False

    @classmethod
    def uniform(cls, grid: Grid, status: str, note: dict | None = None, unassessable: bool = False) -> GridOutcome:
        return cls(np.full(grid.shape, STATUS_RANK[status], dtype=np.uint8), None, note, unassessable)

    @classmethod
    def unknown_everywhere(cls, grid: Grid, note: dict) -> GridOutcome:
        """A rule that cannot be assessed in any cell (a `manual` rule, no legal value)."""
        return cls.uniform(grid, "unknown", note, unassessable=True)


@dataclass(frozen=True)
class Decided:
    """What a rule concludes everywhere without measuring anything (`Measure.decide`)."""

    status: str
    note: dict | None
    searched: dict | None = None  # the features searched, when the conclusion rests on an absence


# Buffers drawn on a grid: round arcs are approximated by this many segments a quarter circle, and the buffer
# distance is enlarged by 1/cos(π/(4·QUAD_SEGS)) so that the polygon contains the true disk (never smaller): a cell
# whose centre is outside it is at least that far from the feature (0.12 % of the distance: 0.36 m at 300 m).
GRID_QUAD_SEGS = 16
CIRCUMSCRIBE = 1.0 / float(np.cos(np.pi / (4 * GRID_QUAD_SEGS)))
NO_LEGAL_VALUE = text("chưa xác định được giá trị pháp lý", "the legal value is not known")


def grid_box(grid: Grid) -> shapely.Geometry:
    """The grid's extent as a polygon (in its metres)."""
    return shapely.box(*grid.bounds)


def within_on_grid(grid: Grid, sub: Subset, distances: np.ndarray | float, only: np.ndarray | None = None
                   ) -> np.ndarray:
    """True in the cells whose centre lies within `distances` metres (per feature, or one for all) of the subset's
    features (those at positions `only`, or all) — conservatively: the buffers contain the true zone.  Features
    whose zone cannot reach the grid are not drawn."""
    k = np.arange(len(sub.rows)) if only is None else np.asarray(only)
    dist = np.broadcast_to(np.asarray(distances, dtype=float), (len(sub.rows),))
    if len(k) == 0:
        return np.zeros(grid.shape, dtype=bool)
    near = sub.tree.query(grid_box(grid), predicate="dwithin", distance=float(dist[k].max()) * CIRCUMSCRIBE + 1.0)
    k = np.intersect1d(k, near)
    if len(k) == 0:
        return np.zeros(grid.shape, dtype=bool)
    zones = shapely.buffer(sub.geoms[k], dist[k] * CIRCUMSCRIBE, quad_segs=GRID_QUAD_SEGS)
    return grid.rasterize(zones)


def inside_on_grid(grid: Grid, geoms: np.ndarray, reach: float) -> np.ndarray:
    """True in the cells whose centre lies inside `geoms` by at least `reach` metres (a site of that reach around
    the centre lies wholly inside) — conservatively: the shapes are shrunk by a little more than `reach`."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(grid.shape, dtype=bool)
    geoms = geoms[shapely.intersects(geoms, grid_box(grid))]
    if reach > 0:
        geoms = shapely.buffer(geoms, -reach * CIRCUMSCRIBE, quad_segs=GRID_QUAD_SEGS)
    return grid.rasterize(geoms)


def status_grid(grid: Grid, passing: np.ndarray, severity: str) -> np.ndarray:
    """STATUS_RANK codes: pass where `passing`, the rule's severity elsewhere."""
    return np.where(passing, STATUS_RANK["pass"], STATUS_RANK[severity]).astype(np.uint8)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Measure:
    """Base of every rule type.  Subclasses set `name`, `Params`, `roles` and implement `evaluate`/`sentence`."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    needs_layer: ClassVar[bool] = True
    roles: ClassVar[dict[str, Role]] = {}
    # what a rule concludes when its layer has no feature to measure: "pass" (nothing to be near), "unknown"
    # (nothing to lie inside), or None (the measure decides)
    when_empty: ClassVar[str | None] = "pass"

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.params = rule.params

    @classmethod
    def check_rule(cls, rule: Rule) -> None:
        """Refuse a rule the measure cannot evaluate (called when the rules file is read)."""
        if cls.needs_layer and not rule.layer:
            raise ValueError(f"rule {rule.id}: measure {cls.name} needs a `layer`")

    # -- evaluation ------------------------------------------------------------------------------------------
    def evaluate(self, batch: Batch) -> RuleOutcome:
        raise NotImplementedError

    def screen(self, batch: GridBatch) -> GridOutcome | None:
        """The rule over a whole grid at once (site suggestions), or None when this rule type cannot be screened
        on a grid: then only the candidates found are checked against it, one `evaluate` batch for them all."""
        return None

    def default_threshold(self) -> object:
        return self.rule.threshold

    def required_columns(self) -> tuple[str, ...]:
        """Columns the measure reads on its layer besides the rule's filter (e.g. the voltage of a line)."""
        return ()

    def features(self, batch: Batch) -> tuple[Subset | None, RuleOutcome | None]:
        """The features the rule measures against, or the outcome already decided without them (`decide`)."""
        threshold = self.default_threshold()
        if len(batch) == 0:
            return None, RuleOutcome.uniform(batch.idx, "pass", threshold)
        sub, decided = self.decide(batch.engine, batch.day)
        if decided is None:
            return sub, None
        outcome = RuleOutcome.uniform(batch.idx, decided.status, threshold, decided.note)
        outcome.searched = decided.searched
        return sub, outcome

    def grid_features(self, batch: GridBatch) -> tuple[Subset | None, GridOutcome | None]:
        """`features` for a grid: the same subset, or the same decision in every cell (screening and checking
        never disagree on what the data allows)."""
        sub, decided = self.decide(batch.engine, batch.day)
        if decided is None:
            return sub, None
        return sub, GridOutcome.uniform(batch.grid, decided.status, decided.note,
                                        unassessable=decided.status == "unknown")

    def decide(self, engine: CheckEngine, day: dt.date) -> tuple[Subset | None, Decided | None]:
        """The rule's subset of its layer on `day`, or what the rule concludes everywhere without measuring.

        Never a pass for lack of data: a layer that is not loaded, lacks a column the rule reads, or has no
        feature in force on the day makes the rule `unknown`.  A layer that has features but none the rule
        looks for (no crowded place at all) is evidence of an absence: `pass` for a measure of nearness or
        overlap, resting on the whole layer."""
        rule = self.rule
        sub = engine.subset(rule.layer, rule.filter, day)
        if sub is None:
            return None, Decided("unknown", text(f"thiếu lớp dữ liệu {rule.layer}",
                                                 f"layer {rule.layer} is not loaded"))
        missing = sub.missing + tuple(c for c in self.required_columns() if c not in sub.layer.frame.columns)
        if missing:
            return sub, Decided("unknown", text(f"lớp {rule.layer} thiếu trường {', '.join(missing)}",
                                                f"layer {rule.layer} has no column {', '.join(missing)}"))
        if sub.valid_count == 0:
            return sub, Decided("unknown", text(f"lớp {rule.layer} không có đối tượng nào có hiệu lực ngày {day}",
                                                f"layer {rule.layer} has no feature in force on {day}"))
        if len(sub.rows) == 0 and self.when_empty is not None:
            return sub, Decided(self.when_empty, text(
                f"lớp {rule.layer} không có đối tượng nào thuộc loại quy tắc xét",
                f"no feature of layer {rule.layer} is of the kind the rule looks for"),
                engine.subset(rule.layer, {}, day).basis())
        return sub, None

    # -- words -----------------------------------------------------------------------------------------------
    def message(self, status: str, measured: float, threshold: object, related: list[dict], note: dict | None,
                lang: str) -> str:
        """One sentence saying what was measured against what."""
        vi = lang == "vi"
        if status == "not_applicable":
            return "Không áp dụng cho loại đề xuất này" if vi else "Does not apply to this kind of proposal"
        if status == "unknown":
            reason = (note or {}).get(lang, "")
            return ("Chưa xác định: " if vi else "Unknown: ") + reason
        return self.sentence(status, measured, threshold, related, note, lang)

    def sentence(self, status: str, measured: float, threshold: object, related: list[dict], note: dict | None,
                 lang: str) -> str:
        raise NotImplementedError

    # -- the batch table -------------------------------------------------------------------------------------
    def columns(self, outcome: RuleOutcome, n: int) -> dict[str, np.ndarray]:
        """This rule's columns in the batch table (one row per proposal of the whole batch): status, measured
        value, the first deciding feature, and the weakest accuracy of the evidence."""
        status = np.full(n, "not_applicable", dtype=object)
        measured = np.full(n, np.nan)
        feature = np.full(n, None, dtype=object)
        status[outcome.idx] = outcome.status
        measured[outcome.idx] = outcome.measured
        for j, i in enumerate(outcome.idx):
            if outcome.related[j]:
                first = outcome.related[j][0]
                feature[i] = f"{first['layer']}:{first['id']} {first.get('name') or ''}".strip()
        accuracy = np.full(n, None, dtype=object)
        for j, i in enumerate(outcome.idx):
            accuracy[i] = outcome.evidence_accuracy(j)
        rid = self.rule.id
        return {f"{rid}.status": status, f"{rid}.measured": measured, f"{rid}.feature": feature,
                f"{rid}.evidence_accuracy": accuracy}


def first_name(related: list[dict]) -> str:
    """How a sentence names the first related feature."""
    first = related[0] if related else {}
    return first.get("name") or f"#{first.get('id', '')}"

"""The compliance engine: the rules in force, evaluated for a whole batch of proposals at once, in metres.

Each rule is one vectorized pass over all proposals it applies to (STRtree queries, shapely array operations),
so one proposal and ten thousand cost the same code path.  Geometry is measured in VN-2000 / TM-3 106°30′.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from geo.crs import to_metres
from layers import admin
from layers.dataset import Dataset, Layer
from layers.proposals import Proposals
from layers.rules import Rule, RuleBook
from layers.text import fold

STATUS_RANK = {"not_applicable": 0, "pass": 1, "unknown": 2, "warn": 3, "fail": 4}
HA = 10_000.0
# Distances are compared with a 1 mm allowance so that a site exactly at a legal limit, after a round trip between
# CRSs (errors ~1e-9 m), is judged at the limit — a measuring tolerance, not a legal value.
TOLERANCE_M = 0.001
TOLERANCE_HA = 0.0001  # 1 m², the same allowance for areas
MAX_LISTED = 20  # related features listed per rule in a report


@dataclass
class Subset:
    """The features of one layer that a rule looks at, in metres, with their own spatial index."""

    layer: Layer
    rows: np.ndarray
    geoms: np.ndarray
    tree: STRtree
    _union: shapely.Geometry | None = None

    @property
    def union(self) -> shapely.Geometry:
        """All the subset's geometries as one (computed once)."""
        if self._union is None:
            self._union = shapely.union_all(self.geoms)
            shapely.prepare(self._union)
        return self._union

    _columns: dict[str, np.ndarray] = field(default_factory=dict)

    def ref(self, k: int, **extra: object) -> dict:
        """How a report names one feature: layer, id, name (plus measured facts)."""
        name = self.column("name")[k]
        out = {"layer": self.layer.id, "id": int(self.layer.fids[self.rows[k]]),
               "name": None if name is None or pd.isna(name) else str(name)}
        out.update(extra)
        return out

    def column(self, name: str) -> np.ndarray:
        """A property of the subset's features, in subset order (cached)."""
        if name not in self._columns:
            frame = self.layer.frame
            self._columns[name] = frame[name].to_numpy()[self.rows] if name in frame.columns \
                else np.full(len(self.rows), None, dtype=object)
        return self._columns[name]

    def folded_names(self) -> dict[str, int]:
        """Diacritic-free name → position, for matching a proposal that names a feature."""
        if "__folded" not in self._columns:
            self._columns["__folded"] = {fold(v): k for k, v in enumerate(self.column("name")) if isinstance(v, str)}
        return self._columns["__folded"]


@dataclass
class RuleOutcome:
    """One rule evaluated for the proposals at `idx` (positions in the batch)."""

    idx: np.ndarray
    status: np.ndarray
    measured: np.ndarray
    threshold: list[object]
    related: list[list[dict]] = field(default_factory=list)
    evidence: list[list[tuple[str, shapely.Geometry]]] = field(default_factory=list)
    note: list[str | None] = field(default_factory=list)


class CheckEngine:
    """Checks proposals against a dataset with a rule book; caches metric geometries and indexes per filter."""

    def __init__(self, dataset: Dataset, rules: RuleBook) -> None:
        self.dataset = dataset
        self.rules = rules
        self._subsets: dict[tuple, Subset | None] = {}
        self._metric: dict[str, np.ndarray] = {}

    # -- layers in metres -------------------------------------------------------------------------------------
    def metric_geoms(self, layer: Layer) -> np.ndarray:
        if layer.id not in self._metric:
            self._metric[layer.id] = to_metres(layer.frame.geometry.to_numpy())
        return self._metric[layer.id]

    def subset(self, layer_id: str, filters: dict, day: dt.date) -> Subset | None:
        """Features of `layer_id` matching `filters` and valid on `day`; None when the layer is not loaded."""
        layer = self.dataset.get(layer_id)
        if layer is None:
            return None
        key = (layer_id, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in filters.items())), day)
        if key not in self._subsets:
            if len(self._subsets) > 256:  # many distinct as_of dates: start afresh rather than grow without bound
                self._subsets.clear()
            mask = layer.valid_on(day)
            for name, wanted in filters.items():
                values = wanted if isinstance(wanted, list) else [wanted]
                if name not in layer.frame.columns:
                    mask &= False
                    continue
                mask &= layer.frame[name].astype(str).isin([str(v) for v in values]).to_numpy()
            rows = np.flatnonzero(mask)
            geoms = self.metric_geoms(layer)[rows]
            self._subsets[key] = Subset(layer, rows, geoms, STRtree(geoms))
        return self._subsets[key]

    # -- the batch ---------------------------------------------------------------------------------------------
    def evaluate(self, proposals: Proposals, day: dt.date | None = None, evidence: bool = True
                 ) -> tuple[list[Rule], list[RuleOutcome], np.ndarray]:
        """Every rule in force on `day` over the batch; returns the rules, their outcomes and metric geometries."""
        day = day or dt.date.today()
        geoms = to_metres(proposals.geoms)
        rules = self.rules.in_force(day)
        outcomes = []
        for rule in rules:
            idx = np.flatnonzero(np.isin(proposals.kinds, rule.applies_to))
            measure: Callable = getattr(self, f"_measure_{rule.measure}")
            outcomes.append(measure(rule, idx, geoms[idx], proposals, day, evidence))
        return rules, outcomes, geoms

    # -- measures ----------------------------------------------------------------------------------------------
    @staticmethod
    def _unknown(idx: np.ndarray, threshold: object, note: str) -> RuleOutcome:
        n = len(idx)
        return RuleOutcome(idx, np.full(n, "unknown", dtype=object), np.full(n, np.nan), [threshold] * n,
                           [[] for _ in range(n)], [[] for _ in range(n)], [note] * n)

    @staticmethod
    def _empty(idx: np.ndarray, threshold: object) -> RuleOutcome:
        n = len(idx)
        return RuleOutcome(idx, np.full(n, "pass", dtype=object), np.full(n, np.nan), [threshold] * n,
                           [[] for _ in range(n)], [[] for _ in range(n)], [None] * n)

    def _layer_for(self, rule: Rule, idx: np.ndarray, day: dt.date, threshold: object,
                   when_empty: str | None = "pass") -> tuple[Subset | None, RuleOutcome | None]:
        """The features a rule measures against, or the outcome already decided without them:
        `unknown` when the layer is not loaded; when it has no matching feature, `pass` (nothing to be near),
        `unknown` (nothing to lie inside), or None to let the measure decide."""
        if len(idx) == 0:
            return None, self._empty(idx, threshold)
        sub = self.subset(rule.layer, rule.filter, day)
        if sub is None:
            return None, self._unknown(idx, threshold, f"layer {rule.layer} is not loaded")
        if len(sub.rows) == 0 and when_empty == "pass":
            return sub, self._empty(idx, threshold)
        if len(sub.rows) == 0 and when_empty == "unknown":
            return sub, self._unknown(idx, threshold, f"no {rule.layer} feature is valid on {day}")
        return sub, None

    def _measure_manual(self, rule, idx, geoms, proposals, day, evidence) -> RuleOutcome:
        return self._unknown(idx, rule.threshold, "needs data or judgement not yet in planmap")

    def _measure_min_distance(self, rule, idx, geoms, proposals, day, evidence) -> RuleOutcome:
        sub, decided = self._layer_for(rule, idx, day, rule.threshold)
        if decided is not None:
            return decided
        (inp, nearest), dist = sub.tree.query_nearest(geoms, return_distance=True, all_matches=False)
        order = np.argsort(inp, kind="stable")
        nearest, dist = nearest[order], dist[order]
        threshold = rule.threshold
        if threshold is None:
            status = np.full(len(idx), "unknown", dtype=object)
            note = "the legal value is not known"
        else:
            status = np.where(dist < threshold - TOLERANCE_M, rule.severity, "pass").astype(object)
            note = None
        related: list[list[dict]] = [[sub.ref(k, distance_m=round(float(d), 2))] for k, d in zip(nearest, dist,
                                                                                                   strict=True)]
        ev: list[list] = [[] for _ in idx]
        if threshold is not None:
            pairs_in, pairs_tree = sub.tree.query(geoms, predicate="dwithin", distance=threshold)
            pair_dist = shapely.distance(geoms[pairs_in], sub.geoms[pairs_tree])
            close = pair_dist < threshold - TOLERANCE_M
            for i, k, d in zip(pairs_in[close], pairs_tree[close], pair_dist[close], strict=True):
                if k != nearest[i] and len(related[i]) < MAX_LISTED:
                    related[i].append(sub.ref(k, distance_m=round(float(d), 2)))
        if evidence:
            lines = shapely.shortest_line(geoms, sub.geoms[nearest])
            for i in range(len(idx)):
                ev[i].append(("distance", lines[i]))
                ev[i].append(("nearest", sub.geoms[nearest[i]]))
                if threshold:
                    ev[i].append(("threshold_zone", shapely.buffer(geoms[i], threshold, quad_segs=16)))
        return RuleOutcome(idx, status, dist, [threshold] * len(idx), related, ev, [note] * len(idx))

    def _measure_outside_corridor(self, rule, idx, geoms, proposals, day, evidence) -> RuleOutcome:
        sub, decided = self._layer_for(rule, idx, day, None)
        if decided is not None:
            return decided
        table = sorted(rule.corridor.widths, key=lambda w: w.max_kv)
        limits = np.array([w.max_kv for w in table])
        widths_table = np.array([w.width_m for w in table])
        voltage = pd.to_numeric(pd.Series(sub.column(rule.corridor.by)), errors="coerce").to_numpy(dtype=float)
        pick = np.minimum(np.searchsorted(limits, np.nan_to_num(voltage, nan=limits[-1])), len(limits) - 1)
        widths = widths_table[pick]
        # nearest line by margin: candidates within the widest corridor, else the plain nearest line
        (inp, nearest), dist = sub.tree.query_nearest(geoms, return_distance=True, all_matches=False)
        order = np.argsort(inp, kind="stable")
        best_k, best_d = nearest[order].copy(), dist[order].copy()
        pairs_in, pairs_tree = sub.tree.query(geoms, predicate="dwithin", distance=float(widths.max()))
        pair_dist = shapely.distance(geoms[pairs_in], sub.geoms[pairs_tree])
        inside = pair_dist < widths[pairs_tree] - TOLERANCE_M
        related: list[list[dict]] = [[] for _ in idx]
        margin = best_d - widths[best_k]
        for i, k, d in zip(pairs_in, pairs_tree, pair_dist, strict=True):
            m = d - widths[k]
            if m < margin[i]:
                margin[i], best_k[i], best_d[i] = m, k, d
        for i, k, d in zip(pairs_in[inside], pairs_tree[inside], pair_dist[inside], strict=True):
            if len(related[i]) < MAX_LISTED:
                related[i].append(sub.ref(k, distance_m=round(float(d), 2), corridor_m=float(widths[k]),
                                          voltage_kv=None if np.isnan(voltage[k]) else float(voltage[k])))
        status = np.where(best_d < widths[best_k] - TOLERANCE_M, rule.severity, "pass").astype(object)
        for i in np.flatnonzero(status == "pass"):
            k = best_k[i]
            related[i].append(sub.ref(k, distance_m=round(float(best_d[i]), 2), corridor_m=float(widths[k]),
                                      voltage_kv=None if np.isnan(voltage[k]) else float(voltage[k])))
        ev: list[list] = [[] for _ in idx]
        if evidence:
            lines = shapely.shortest_line(geoms, sub.geoms[best_k])
            for i in range(len(idx)):
                ks = {best_k[i]} | {int(k) for k in pairs_tree[(pairs_in == i) & inside]}
                for k in ks:
                    ev[i].append(("corridor", shapely.buffer(sub.geoms[k], widths[k], cap_style="flat")))
                ev[i].append(("distance", lines[i]))
        return RuleOutcome(idx, status, best_d, [float(widths[k]) for k in best_k], related, ev, [None] * len(idx))

    def _measure_no_overlap(self, rule, idx, geoms, proposals, day, evidence) -> RuleOutcome:
        sub, decided = self._layer_for(rule, idx, day, rule.threshold)
        if decided is not None:
            return decided
        pairs_in, pairs_tree = sub.tree.query(geoms, predicate="intersects")
        overlap = shapely.intersection(geoms[pairs_in], sub.geoms[pairs_tree])
        overlap_ha = shapely.area(overlap) / HA
        by = rule.severity_by
        kinds = sub.column(by.field) if by else np.full(len(sub.rows), None, dtype=object)
        status = np.full(len(idx), "pass", dtype=object)
        measured = np.zeros(len(idx))
        related: list[list[dict]] = [[] for _ in idx]
        ev: list[list] = [[] for _ in idx]
        for j, (i, k) in enumerate(zip(pairs_in, pairs_tree, strict=True)):
            severity = by.values.get(str(kinds[k]), by.default) if by else rule.severity
            if STATUS_RANK[severity] > STATUS_RANK[status[i]]:
                status[i] = severity
            measured[i] += overlap_ha[j]
            if len(related[i]) < MAX_LISTED:
                extra = {by.field: None if kinds[k] is None else str(kinds[k])} if by else {}
                related[i].append(sub.ref(k, overlap_ha=round(float(overlap_ha[j]), 4), severity=severity, **extra))
            if evidence:
                ev[i].append(("overlap", overlap[j] if not overlap[j].is_empty else geoms[i]))
                ev[i].append(("conflicting_area", sub.geoms[k]))
        return RuleOutcome(idx, status, measured, [rule.threshold] * len(idx), related, ev, [None] * len(idx))

    def _measure_area_range(self, rule, idx, geoms, proposals, day, evidence) -> RuleOutcome:
        n = len(idx)
        area = np.where(shapely.get_type_id(geoms) >= 3, shapely.area(geoms) / HA, np.nan) if n else np.zeros(0)
        props = [proposals.properties[i] if proposals.properties else {} for i in idx]
        for i, p in enumerate(props):
            if np.isnan(area[i]) and p.get("area_ha") not in (None, ""):
                try:
                    area[i] = float(p["area_ha"])
                except (TypeError, ValueError):
                    pass
        low = np.full(n, rule.min if rule.min is not None else -np.inf)
        note: list[str | None] = [None] * n
        reduced = rule.reduced_min
        if reduced is not None and n:
            districts = self._district_names(geoms, day)
            for i, p in enumerate(props):
                flagged = bool(reduced.where_property and p.get(reduced.where_property))
                if flagged or districts[i] in reduced.where_district_in:
                    low[i] = reduced.value
                    why = "craft-village cluster" if flagged else f"mountainous district ({districts[i]})"
                    note[i] = f"reduced minimum {reduced.value:g} ha applies: {why}"
        high = rule.max if rule.max is not None else np.inf
        status = np.where(np.isnan(area), "unknown",
                          np.where((area < low - TOLERANCE_HA) | (area > high + TOLERANCE_HA),
                                   rule.severity, "pass")).astype(object)
        for i in np.flatnonzero(np.isnan(area)):
            note[i] = "no area: draw a polygon or give properties.area_ha"
        ev = [[("site", geoms[i])] if evidence else [] for i in range(n)]
        thresholds = [[float(low[i]), float(high)] for i in range(n)]
        return RuleOutcome(idx, status, area, thresholds, [[] for _ in range(n)], ev, note)

    def _measure_within_plan(self, rule, idx, geoms, proposals, day, evidence) -> RuleOutcome:
        sub, decided = self._layer_for(rule, idx, day, rule.min_overlap, when_empty=None)
        if decided is not None:
            return decided
        n = len(idx)
        ratio = np.zeros(n)
        best = np.full(n, -1)
        related: list[list[dict]] = [[] for _ in range(n)]
        if len(sub.rows):
            pairs_in, pairs_tree = sub.tree.query(geoms, predicate="intersects")
            polygonal = shapely.get_type_id(geoms[pairs_in]) >= 3
            inter = shapely.area(shapely.intersection(geoms[pairs_in], sub.geoms[pairs_tree]))
            share = np.where(polygonal, inter / np.maximum(shapely.area(geoms[pairs_in]), 1e-9), 1.0)
            for i, k, s in zip(pairs_in, pairs_tree, share, strict=True):
                if s > ratio[i]:
                    ratio[i], best[i] = s, k
            names = sub.folded_names()
            for i in range(n):
                given = fold((proposals.properties[idx[i]] if proposals.properties else {}).get("name"))
                for candidate in (given, f"ccn {given}", given.removeprefix("cum cong nghiep ").strip()):
                    if candidate and candidate in names:
                        k = names[candidate]
                        related[i].append(sub.ref(k, matched_by="name"))
                        if ratio[i] < rule.min_overlap:
                            best[i] = k
                        break
        named = np.array([any(r.get("matched_by") == "name" for r in rel) for rel in related], dtype=bool)
        status = np.where((ratio >= rule.min_overlap - 1e-9) | named, "pass", rule.severity).astype(object)
        ev: list[list] = [[] for _ in range(n)]
        for i in range(n):
            if best[i] >= 0 and not named[i]:
                related[i].append(sub.ref(best[i], overlap_ratio=round(float(ratio[i]), 4)))
            if evidence and best[i] >= 0:
                ev[i].append(("plan_area", sub.geoms[best[i]]))
        return RuleOutcome(idx, status, ratio, [rule.min_overlap] * n, related, ev, [None] * n)

    def _measure_inside(self, rule, idx, geoms, proposals, day, evidence) -> RuleOutcome:
        sub, decided = self._layer_for(rule, idx, day, rule.threshold, when_empty="unknown")
        if decided is not None:
            return decided
        n = len(idx)
        outline = sub.union
        polygonal = shapely.get_type_id(geoms) >= 3
        # the prepared outline must be the first argument for shapely to use its index
        ratio = shapely.intersects(outline, geoms).astype(float)
        # only polygons that are not wholly inside need the (costly) intersection area
        partial = polygonal & ~shapely.contains(outline, geoms)
        if partial.any():
            inter = shapely.area(shapely.intersection(geoms[partial], outline))
            ratio[partial] = inter / np.maximum(shapely.area(geoms[partial]), 1e-9)
        threshold = rule.threshold if rule.threshold is not None else 1.0
        status = np.where(ratio >= threshold - 1e-9, "pass", rule.severity).astype(object)
        related = [[sub.ref(k) for k in range(len(sub.rows))][:MAX_LISTED] for _ in range(n)]
        ev = [[("outside_part", shapely.difference(geoms[i], outline))] if evidence and status[i] != "pass" else []
              for i in range(n)]
        return RuleOutcome(idx, status, ratio, [threshold] * n, related, ev, [None] * n)

    # -- where a proposal lies ---------------------------------------------------------------------------------
    def _district_names(self, geoms: np.ndarray, day: dt.date) -> list[str | None]:
        """The pre-2025 district of each site's representative point (district rows regardless of date)."""
        sub = self.subset(admin.DISTRICTS, {}, admin.district_day(day))
        out: list[str | None] = [None] * len(geoms)
        if sub is None or len(geoms) == 0:
            return out
        points = shapely.point_on_surface(geoms)
        inp, k = sub.tree.query(points, predicate="intersects")
        names = sub.column("name")
        for i, kk in zip(inp, k, strict=True):
            out[i] = None if names[kk] is None else str(names[kk])
        return out

    def context(self, geoms: np.ndarray, day: dt.date) -> list[dict]:
        """For each site: its 2025 commune, pre-2025 district, and the parks, clusters, mineral areas it touches."""
        out = [{"commune": None, "district_pre2025": None, "industrial_parks": [], "industrial_clusters": [],
                "mineral_areas": []} for _ in geoms]
        points = shapely.point_on_surface(geoms)
        for key, layer_id, when in (("commune", admin.COMMUNES, admin.commune_day(day)),
                                    ("district_pre2025", admin.DISTRICTS, admin.district_day(day))):
            sub = self.subset(layer_id, {}, when)
            if sub is None:
                continue
            inp, k = sub.tree.query(points, predicate="intersects")
            for i, kk in zip(inp, k, strict=True):
                ref = sub.ref(kk)
                if "code" in sub.layer.frame.columns:
                    ref["code"] = str(sub.column("code")[kk])
                out[i][key] = ref
        for layer_id in ("industrial_parks", "industrial_clusters", "mineral_areas"):
            sub = self.subset(layer_id, {}, day)
            if sub is None:
                continue
            inp, k = sub.tree.query(geoms, predicate="intersects")
            for i, kk in zip(inp, k, strict=True):
                out[i][layer_id].append(sub.ref(kk))
        return out


def verdict(statuses: list[str]) -> str:
    """The worst status decides: fail > warn > unknown > pass."""
    worst = max(statuses, key=lambda s: STATUS_RANK[s], default="pass")
    return "pass" if worst == "not_applicable" else worst

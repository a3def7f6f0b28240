"""The compliance engine: the rules in force, evaluated for a whole batch of proposals at once, in metres.

Each rule is one vectorized pass over all proposals it applies to (STRtree queries, shapely array operations),
so one proposal and ten thousand cost the same code path.  Geometry is measured in VN-2000 / TM-3 106°30′.  What
a rule measures is its rule type's business (layers/measures/); the engine prepares the layers in metres, runs
each rule in force through its measure and says where a site lies.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import shapely
from shapely import STRtree

from geo.crs import to_metres
from layers import admin
from layers.dataset import Dataset, Layer
from layers.measures import STATUS_RANK, Batch, Measure, RuleOutcome, Subset
from layers.proposals import Proposals
from layers.rules import RuleBook


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
                 ) -> tuple[list[Measure], list[RuleOutcome], np.ndarray]:
        """Every rule in force on `day` over the batch: each rule's measure, its outcome, and the metric geometries."""
        day = day or dt.date.today()
        geoms = to_metres(proposals.geoms)
        measures = [rule.evaluator() for rule in self.rules.in_force(day)]
        outcomes = []
        for measure in measures:
            idx = np.flatnonzero(np.isin(proposals.kinds, measure.rule.applies_to))
            outcomes.append(measure.evaluate(Batch(self, proposals, idx, geoms[idx], day, evidence)))
        return measures, outcomes, geoms

    # -- where a proposal lies ---------------------------------------------------------------------------------
    def district_names(self, geoms: np.ndarray, day: dt.date) -> list[str | None]:
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

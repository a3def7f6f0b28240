"""`within_plan`: the site lies within a planned feature (a share of its area), or names one of the plan."""

from __future__ import annotations

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict

from layers.measures.base import Batch, Measure, Role, RuleOutcome, Subset, first_name
from layers.measures.registry import register
from layers.text import fold


class PlanParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_overlap: float


@register
class WithinPlan(Measure):
    name = "within_plan"
    Params = PlanParams
    when_empty = None
    roles = {
        "plan_area": Role("Vùng quy hoạch", "Plan area", {"color": "#238b45", "weight": 2, "dashArray": "6 3",
                                                          "fillColor": "#74c476", "fillOpacity": 0.15}),
    }

    def default_threshold(self) -> object:
        return self.params.min_overlap

    def evaluate(self, batch: Batch) -> RuleOutcome:
        sub, decided = self.features(batch)
        if decided is not None:
            return decided
        n, min_overlap = len(batch), self.params.min_overlap
        ratio, best = np.zeros(n), np.full(n, -1)
        related: list[list[dict]] = [[] for _ in range(n)]
        if len(sub.rows):
            self._best_overlap(batch, sub, ratio, best)
            self._named(batch, sub, ratio, best, related)
        named = np.array([any(r.get("matched_by") == "name" for r in rel) for rel in related], dtype=bool)
        status = np.where((ratio >= min_overlap - 1e-9) | named, "pass", self.rule.severity).astype(object)
        evidence: list[list] = [[] for _ in range(n)]
        for i in range(n):
            if best[i] >= 0 and not named[i]:
                related[i].append(sub.ref(best[i], overlap_ratio=round(float(ratio[i]), 4)))
            if batch.evidence and best[i] >= 0:
                evidence[i].append(("plan_area", sub.geoms[best[i]]))
        return RuleOutcome(batch.idx, status, ratio, [min_overlap] * n, related, evidence, [None] * n)

    @staticmethod
    def _best_overlap(batch: Batch, sub: Subset, ratio: np.ndarray, best: np.ndarray) -> None:
        """The planned feature covering the largest share of each site (a point inside counts as all of it)."""
        geoms = batch.geoms
        pairs_in, pairs_tree = sub.tree.query(geoms, predicate="intersects")
        polygonal = shapely.get_type_id(geoms[pairs_in]) >= 3
        inter = shapely.area(shapely.intersection(geoms[pairs_in], sub.geoms[pairs_tree]))
        share = np.where(polygonal, inter / np.maximum(shapely.area(geoms[pairs_in]), 1e-9), 1.0)
        for i, k, s in zip(pairs_in, pairs_tree, share, strict=True):
            if s > ratio[i]:
                ratio[i], best[i] = s, k

    def _named(self, batch: Batch, sub: Subset, ratio: np.ndarray, best: np.ndarray,
               related: list[list[dict]]) -> None:
        """Sites whose name is that of a planned feature (diacritics and the 'CCN' prefix ignored)."""
        names = sub.derived("folded_names", lambda s: {fold(v): k for k, v in enumerate(s.column("name"))
                                                       if isinstance(v, str)})
        for i in range(len(batch)):
            given = fold(batch.properties(i).get("name"))
            for candidate in (given, f"ccn {given}", given.removeprefix("cum cong nghiep ").strip()):
                if candidate and candidate in names:
                    k = names[candidate]
                    related[i].append(sub.ref(k, matched_by="name"))
                    if ratio[i] < self.params.min_overlap:
                        best[i] = k
                    break

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        name = first_name(related)
        if any(r.get("matched_by") == "name" for r in related):
            return f"Có tên trong phương án: {name}" if lang == "vi" else f"Named in the plan: {name}"
        if related:
            return (f"{measured:.0%} diện tích nằm trong {name}; yêu cầu ≥ {threshold:.0%}" if lang == "vi"
                    else f"{measured:.0%} lies within {name}; required ≥ {threshold:.0%}")
        return ("Không thuộc cụm công nghiệp nào trong phương án" if lang == "vi"
                else "Not within any cluster of the plan")

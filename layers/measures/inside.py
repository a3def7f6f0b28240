"""`inside`: the site lies inside a layer's features (e.g. the province outline in force on the check date)."""

from __future__ import annotations

import numpy as np
import shapely

from layers.measures.base import (
    MAX_LISTED,
    Batch,
    GridBatch,
    GridOutcome,
    Measure,
    Role,
    RuleOutcome,
    inside_on_grid,
    status_grid,
)
from layers.measures.registry import register


@register
class Inside(Measure):
    name = "inside"
    when_empty = "unknown"
    roles = {
        "outside_part": Role("Phần nằm ngoài", "Part outside",
                             {"color": "#e31a1c", "weight": 2, "fillColor": "#fb6a4a", "fillOpacity": 0.35}),
    }

    def default_threshold(self) -> object:
        return self.rule.threshold if self.rule.threshold is not None else 1.0

    def evaluate(self, batch: Batch) -> RuleOutcome:
        sub, decided = self.features(batch)
        if decided is not None:
            return decided
        geoms, n = batch.geoms, len(batch)
        outline = sub.union
        polygonal = shapely.get_type_id(geoms) >= 3
        # the prepared outline must be the first argument for shapely to use its index
        ratio = shapely.intersects(outline, geoms).astype(float)
        # only polygons that are not wholly inside need the (costly) intersection area
        partial = polygonal & ~shapely.contains(outline, geoms)
        if partial.any():
            inter = shapely.area(shapely.intersection(geoms[partial], outline))
            ratio[partial] = inter / np.maximum(shapely.area(geoms[partial]), 1e-9)
        threshold = self.default_threshold()
        status = np.where(ratio >= threshold - 1e-9, "pass", self.rule.severity).astype(object)
        listed = [sub.ref(k) for k in range(min(len(sub.rows), MAX_LISTED))]
        related = [list(listed) for _ in range(n)]
        evidence = [[("outside_part", shapely.difference(geoms[i], outline))]
                    if batch.evidence and status[i] != "pass" else [] for i in range(n)]
        return RuleOutcome(batch.idx, status, ratio, [threshold] * n, related, evidence, [None] * n)

    def screen(self, batch: GridBatch) -> GridOutcome:
        """A cell passes when its site lies wholly inside the outline (its centre inside by `batch.reach`)."""
        sub, decided = self.grid_features(batch)
        if decided is not None:
            return decided
        return GridOutcome(status_grid(batch.grid, inside_on_grid(batch.grid, sub.geoms, batch.reach),
                                       self.rule.severity))

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        return f"{measured:.0%} nằm trong địa giới tỉnh" if lang == "vi" else f"{measured:.0%} inside the province"

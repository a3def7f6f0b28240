"""`min_distance`: at least `threshold` metres from every feature of a layer (schools, other fuel stations …)."""

from __future__ import annotations

import numpy as np
import shapely

from layers.measures.base import (
    MAX_LISTED,
    NO_LEGAL_VALUE,
    TOLERANCE_M,
    Batch,
    GridBatch,
    GridOutcome,
    Measure,
    Role,
    RuleOutcome,
    first_name,
    fmt,
    status_grid,
    within_on_grid,
)
from layers.measures.registry import register


@register
class MinDistance(Measure):
    name = "min_distance"
    roles = {
        "distance": Role("Khoảng cách đo", "Measured distance", {"color": "#d7301f", "weight": 3, "dashArray": "6 4"}),
        "nearest": Role("Đối tượng gần nhất", "Nearest feature",
                        {"color": "#d7301f", "weight": 2, "fillColor": "#fc9272", "fillOpacity": 0.9, "radius": 6}),
        "threshold_zone": Role("Vùng khoảng cách tối thiểu", "Minimum-distance zone",
                               {"color": "#fd8d3c", "weight": 1.5, "dashArray": "4 3", "fillColor": "#fdae6b",
                                "fillOpacity": 0.12}),
    }

    def evaluate(self, batch: Batch) -> RuleOutcome:
        sub, decided = self.features(batch)
        if decided is not None:
            return decided
        geoms, threshold, n = batch.geoms, self.rule.threshold, len(batch)
        (inp, nearest), dist = sub.tree.query_nearest(geoms, return_distance=True, all_matches=False)
        order = np.argsort(inp, kind="stable")
        nearest, dist = nearest[order], dist[order]
        if threshold is None:
            status = np.full(n, "unknown", dtype=object)
            note = NO_LEGAL_VALUE
        else:
            status = np.where(dist < threshold - TOLERANCE_M, self.rule.severity, "pass").astype(object)
            note = None
        related = [[sub.ref(k, distance_m=round(float(d), 2))] for k, d in zip(nearest, dist, strict=True)]
        if threshold is not None:
            self._list_all_too_close(sub, geoms, nearest, threshold, related)
        evidence: list[list] = [[] for _ in range(n)]
        if batch.evidence:
            lines = shapely.shortest_line(geoms, sub.geoms[nearest])
            for i in range(n):
                evidence[i] += [("distance", lines[i]), ("nearest", sub.geoms[nearest[i]])]
                if threshold:
                    evidence[i].append(("threshold_zone", shapely.buffer(geoms[i], threshold, quad_segs=16)))
        return RuleOutcome(batch.idx, status, dist, [threshold] * n, related, evidence, [note] * n)

    def screen(self, batch: GridBatch) -> GridOutcome:
        """A cell passes when its centre is at least threshold + reach from every feature (its site then is at
        least the threshold away); the zones are drawn a little larger than exact, so a cell is never passed by
        the drawing's approximation."""
        sub, decided = self.grid_features(batch)
        if decided is not None:
            return decided
        if self.rule.threshold is None:
            return GridOutcome.unknown_everywhere(batch.grid, NO_LEGAL_VALUE)
        too_close = within_on_grid(batch.grid, sub, self.rule.threshold + batch.reach)
        return GridOutcome(status_grid(batch.grid, ~too_close, self.rule.severity))

    @staticmethod
    def _list_all_too_close(sub, geoms, nearest, threshold: float, related: list[list[dict]]) -> None:
        """Besides the nearest feature, every other one closer than the threshold (up to MAX_LISTED)."""
        pairs_in, pairs_tree = sub.tree.query(geoms, predicate="dwithin", distance=threshold)
        pair_dist = shapely.distance(geoms[pairs_in], sub.geoms[pairs_tree])
        close = pair_dist < threshold - TOLERANCE_M
        for i, k, d in zip(pairs_in[close], pairs_tree[close], pair_dist[close], strict=True):
            if k != nearest[i] and len(related[i]) < MAX_LISTED:
                related[i].append(sub.ref(k, distance_m=round(float(d), 2)))

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        if not related:
            return "Không có đối tượng liên quan" if lang == "vi" else "No such feature in the layer"
        name = first_name(related)
        return (f"Gần nhất: {name}, cách {fmt(measured)} m; yêu cầu ≥ {threshold:g} m" if lang == "vi"
                else f"Nearest: {name}, {fmt(measured)} m away; required ≥ {threshold:g} m")

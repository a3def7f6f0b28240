"""`no_overlap`: must not intersect a layer's areas; the severity may depend on the area's type."""

from __future__ import annotations

from typing import Literal

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict

from layers.measures.base import (
    HA,
    MAX_LISTED,
    STATUS_RANK,
    Batch,
    GridBatch,
    GridOutcome,
    Measure,
    Role,
    RuleOutcome,
    fmt,
    within_on_grid,
)
from layers.measures.registry import register


class SeverityBy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    values: dict[str, Literal["fail", "warn"]]
    default: Literal["fail", "warn"] = "warn"


class OverlapParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    severity_by: SeverityBy | None = None


@register
class NoOverlap(Measure):
    name = "no_overlap"
    Params = OverlapParams
    roles = {
        "overlap": Role("Phần chồng lấn", "Overlap",
                        {"color": "#a50f15", "weight": 2, "fillColor": "#e31a1c", "fillOpacity": 0.45}),
        "conflicting_area": Role("Khu vực xung đột", "Conflicting area",
                                 {"color": "#993404", "weight": 1.5, "fillColor": "#ec7014", "fillOpacity": 0.15}),
    }

    def evaluate(self, batch: Batch) -> RuleOutcome:
        sub, decided = self.features(batch)
        if decided is not None:
            return decided
        geoms, n, by = batch.geoms, len(batch), self.params.severity_by
        pairs_in, pairs_tree = sub.tree.query(geoms, predicate="intersects")
        overlap = shapely.intersection(geoms[pairs_in], sub.geoms[pairs_tree])
        overlap_ha = shapely.area(overlap) / HA
        kinds = sub.column(by.field) if by else np.full(len(sub.rows), None, dtype=object)
        status = np.full(n, "pass", dtype=object)
        measured = np.zeros(n)
        related: list[list[dict]] = [[] for _ in range(n)]
        evidence: list[list] = [[] for _ in range(n)]
        severities = self.severities(sub)
        for j, (i, k) in enumerate(zip(pairs_in, pairs_tree, strict=True)):
            severity = severities[k]
            if STATUS_RANK[severity] > STATUS_RANK[status[i]]:
                status[i] = severity
            measured[i] += overlap_ha[j]
            if len(related[i]) < MAX_LISTED:
                extra = {by.field: None if kinds[k] is None else str(kinds[k])} if by else {}
                related[i].append(sub.ref(k, overlap_ha=round(float(overlap_ha[j]), 4), severity=severity, **extra))
            if batch.evidence:
                evidence[i].append(("overlap", overlap[j] if not overlap[j].is_empty else geoms[i]))
                evidence[i].append(("conflicting_area", sub.geoms[k]))
        return RuleOutcome(batch.idx, status, measured, [self.rule.threshold] * n, related, evidence, [None] * n,
                           searched=sub.basis())

    def severities(self, sub) -> np.ndarray:
        """Per area of the subset, the status a site overlapping it gets (by its type when the rule says so)."""
        by = self.params.severity_by
        if by is None:
            return np.full(len(sub.rows), self.rule.severity, dtype=object)
        return np.array([by.values.get(str(v), by.default) for v in sub.column(by.field)], dtype=object)

    def screen(self, batch: GridBatch) -> GridOutcome:
        """A cell whose site (its centre, or `batch.reach` around it) may touch an area gets that area's severity
        (the worst where areas overlap); the others pass, resting on the areas searched."""
        sub, decided = self.grid_features(batch)
        if decided is not None:
            return decided
        status = np.full(batch.grid.shape, STATUS_RANK["pass"], dtype=np.uint8)
        severities = self.severities(sub)
        for severity in sorted(set(severities.tolist()), key=STATUS_RANK.get):  # the worst is drawn last
            k = np.flatnonzero(severities == severity)
            if batch.reach > 0:
                touched = within_on_grid(batch.grid, sub, batch.reach, only=k)
            else:
                touched = batch.grid.rasterize(sub.geoms[k])
            status[touched] = np.maximum(status[touched], STATUS_RANK[severity])
        return GridOutcome(status)

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        if not related:
            return "Không chồng lấn" if lang == "vi" else "No overlap"
        field = self.params.severity_by.field if self.params.severity_by else None
        kinds = ", ".join(sorted({str(r.get(field)) for r in related if field and r.get(field)}))
        return (f"Chồng lấn {len(related)} khu vực ({kinds}), {fmt(measured, 2)} ha" if lang == "vi"
                else f"Overlaps {len(related)} area(s) ({kinds}), {fmt(measured, 2)} ha")

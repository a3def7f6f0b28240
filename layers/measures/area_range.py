"""`area_range`: the proposal's area (ha) within [min, max]; a reduced minimum where the rule allows one."""

from __future__ import annotations

from typing import Literal

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, model_validator

from layers.measures.base import HA, TOLERANCE_HA, Batch, Measure, RuleOutcome, fmt, text
from layers.measures.registry import register


class ReducedMin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float
    where_property: str | None = None
    where_district_in: list[str] = []
    district_list_confidence: Literal["verified", "secondary", "unverified"] = "unverified"


class AreaParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None
    reduced_min: ReducedMin | None = None

    @model_validator(mode="after")
    def _bounded(self) -> AreaParams:
        if self.min is None and self.max is None:
            raise ValueError("area_range needs `min` and/or `max`")
        return self


@register
class AreaRange(Measure):
    name = "area_range"
    Params = AreaParams
    needs_layer = False

    def default_threshold(self) -> object:
        return [self.params.min, self.params.max]

    def evaluate(self, batch: Batch) -> RuleOutcome:
        n, params = len(batch), self.params
        area = self._areas(batch)
        low = np.full(n, params.min if params.min is not None else -np.inf)
        note: list[dict | None] = [None] * n
        if params.reduced_min is not None and n:
            self._reduce_minimum(batch, low, note)
        high = params.max if params.max is not None else np.inf
        status = np.where(np.isnan(area), "unknown",
                          np.where((area < low - TOLERANCE_HA) | (area > high + TOLERANCE_HA),
                                   self.rule.severity, "pass")).astype(object)
        for i in np.flatnonzero(np.isnan(area)):
            note[i] = text("không có diện tích: hãy vẽ vùng hoặc ghi properties.area_ha",
                           "no area: draw a polygon or give properties.area_ha")
        evidence = [[("site", batch.geoms[i])] if batch.evidence else [] for i in range(n)]
        thresholds = [[float(low[i]), float(high)] for i in range(n)]
        return RuleOutcome(batch.idx, status, area, thresholds, [[] for _ in range(n)], evidence, note)

    @staticmethod
    def _areas(batch: Batch) -> np.ndarray:
        """Polygon areas in ha; for a point, the `area_ha` the planner gave (NaN when none)."""
        geoms = batch.geoms
        area = np.where(shapely.get_type_id(geoms) >= 3, shapely.area(geoms) / HA, np.nan) if len(batch) \
            else np.zeros(0)
        for i in range(len(batch)):
            given = batch.properties(i).get("area_ha")
            if np.isnan(area[i]) and given not in (None, ""):
                try:
                    area[i] = float(given)
                except (TypeError, ValueError):
                    pass
        return area

    def _reduce_minimum(self, batch: Batch, low: np.ndarray, note: list[dict | None]) -> None:
        """Lower the minimum where the site is flagged (e.g. a craft-village cluster) or lies in a listed district."""
        reduced = self.params.reduced_min
        districts = batch.engine.district_names(batch.geoms, batch.day)
        for i in range(len(batch)):
            flagged = bool(reduced.where_property and batch.properties(i).get(reduced.where_property))
            if flagged or districts[i] in reduced.where_district_in:
                low[i] = reduced.value
                why = text("cụm công nghiệp làng nghề", "craft-village cluster") if flagged else \
                    text(f"huyện miền núi ({districts[i]})", f"mountainous district ({districts[i]})")
                note[i] = text(f"áp dụng diện tích tối thiểu giảm {reduced.value:g} ha: {why['vi']}",
                               f"reduced minimum {reduced.value:g} ha applies: {why['en']}")

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        low, high = threshold
        extra = f" ({note[lang]})" if note else ""
        return (f"Diện tích {fmt(measured, 2)} ha; cho phép {low:g}–{high:g} ha{extra}" if lang == "vi"
                else f"Area {fmt(measured, 2)} ha; allowed {low:g}–{high:g} ha{extra}")

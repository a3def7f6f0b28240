"""`area_range`: the proposal's area (ha) within [min, max]; a reduced minimum where the rule allows one."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, model_validator

from layers import admin
from layers.measures.base import (
    HA,
    STATUS_RANK,
    TOLERANCE_HA,
    Batch,
    GridBatch,
    GridOutcome,
    Measure,
    RuleOutcome,
    fmt,
    text,
)
from layers.measures.registry import register


class ReducedMin(BaseModel):
    """A lower minimum for flagged proposals (`where_property`, e.g. a craft-village cluster) or for sites in a
    pre-2025 district whose boolean `where_district_field` (e.g. `mountainous`, with its basis in the layer) is
    true.  When the site's district or its flag is unknown, both minimums are tried: only a result that holds
    under both is given, else `unknown`."""

    model_config = ConfigDict(extra="forbid")
    value: float
    where_property: str | None = None
    where_district_field: str | None = None
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
        normal = params.min if params.min is not None else -np.inf
        low, uncertain_low = np.full(n, normal), np.full(n, normal)
        note: list[dict | None] = [None] * n
        related: list[list[dict]] = [[] for _ in range(n)]
        if params.reduced_min is not None and n:
            self._reduce_minimum(batch, low, uncertain_low, note, related)
        high = params.max if params.max is not None else np.inf
        status = self._judge(area, low, uncertain_low).astype(object)
        for i in np.flatnonzero(np.isnan(area)):
            note[i] = text("không có diện tích: hãy vẽ vùng hoặc ghi properties.area_ha",
                           "no area: draw a polygon or give properties.area_ha")
        evidence = [[("site", batch.geoms[i])] if batch.evidence else [] for i in range(n)]
        thresholds = [[float(min(low[i], uncertain_low[i])), float(high)] for i in range(n)]
        return RuleOutcome(batch.idx, status, area, thresholds, related, evidence, note)

    def _judge(self, area: np.ndarray, low: np.ndarray, uncertain_low: np.ndarray) -> np.ndarray:
        """The status of each area against [low, max]: where the minimum is uncertain (low ≠ uncertain_low) only
        a result that holds under both minimums is given, else `unknown`."""
        high = self.params.max if self.params.max is not None else np.inf
        outside = (area > high + TOLERANCE_HA) | (area < np.minimum(low, uncertain_low) - TOLERANCE_HA)
        inside = (area <= high + TOLERANCE_HA) & (area >= np.maximum(low, uncertain_low) - TOLERANCE_HA)
        return np.where(np.isnan(area), "unknown", np.where(outside, self.rule.severity,
                                                            np.where(inside, "pass", "unknown")))

    def screen(self, batch: GridBatch) -> GridOutcome:
        """The requested area (`batch.area_ha`) is known up front: one status everywhere, except where the
        minimum depends on the district the site lies in (a reduced minimum for mountainous districts)."""
        grid, params = batch.grid, self.params
        area = np.full(grid.shape, np.nan if batch.area_ha is None else float(batch.area_ha))
        low = np.full(grid.shape, params.min if params.min is not None else -np.inf)
        uncertain_low = low.copy()
        reduced = params.reduced_min
        field = reduced.where_district_field if reduced is not None else None
        if field is not None:
            sub = batch.engine.subset("districts", {}, admin.district_day(batch.day))
            flags = sub.column(field) if sub is not None and field in sub.layer.frame.columns else None
            if flags is None:
                uncertain_low[:] = reduced.value
            else:
                known = np.array([v is not None and not pd.isna(v) for v in flags], dtype=bool)
                flagged = np.array([bool(v) if k else False for v, k in zip(flags, known, strict=True)])
                some_district = grid.rasterize(sub.geoms)
                uncertain_low[~some_district | grid.rasterize(sub.geoms[~known])] = reduced.value
                yes = grid.rasterize(sub.geoms[flagged])
                low[yes] = uncertain_low[yes] = reduced.value
        names = self._judge(area, low, uncertain_low)
        codes = np.zeros(grid.shape, dtype=np.uint8)
        for name in ("pass", "unknown", self.rule.severity):
            codes[names == name] = STATUS_RANK[name]
        note = None if batch.area_ha is not None else text("chưa cho biết diện tích", "no area was given")
        return GridOutcome(codes, None, note)

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

    def _reduce_minimum(self, batch: Batch, low: np.ndarray, uncertain_low: np.ndarray, note: list,
                        related: list[list[dict]]) -> None:
        """Lower the minimum where the site is flagged (e.g. a craft-village cluster) or lies in a district whose
        flag says so; where the flag cannot be read, the reduced minimum is only a possibility (uncertain_low)."""
        reduced = self.params.reduced_min
        field = reduced.where_district_field
        districts = batch.engine.units_of(batch.geoms, "districts", admin.district_day(batch.day),
                                          (field, f"{field}_confidence", f"{field}_basis")) if field \
            else [None] * len(batch)
        for i in range(len(batch)):
            district = districts[i]
            if reduced.where_property and batch.properties(i).get(reduced.where_property):
                low[i] = uncertain_low[i] = reduced.value
                note[i] = text(f"áp dụng diện tích tối thiểu giảm {reduced.value:g} ha: cụm công nghiệp làng nghề",
                               f"reduced minimum {reduced.value:g} ha applies: craft-village cluster")
            elif field is None:
                continue
            elif district is None or district.get(field) is None:
                uncertain_low[i] = reduced.value
                where = district["name"] if district else "?"
                note[i] = text(f"không xác định được huyện ({where}) có phải miền núi: xét cả mức {reduced.value:g} ha",
                               f"whether the district ({where}) is mountainous is not known: the {reduced.value:g} ha "
                               "minimum is also considered")
            else:
                related[i].append({k: v for k, v in district.items()})
                if bool(district[field]):
                    low[i] = uncertain_low[i] = reduced.value
                    sure = district.get(f"{field}_confidence") or reduced.district_list_confidence
                    note[i] = text(f"áp dụng diện tích tối thiểu giảm {reduced.value:g} ha: huyện miền núi "
                                   f"({district['name']}; độ tin cậy của danh sách: {sure})",
                                   f"reduced minimum {reduced.value:g} ha applies: mountainous district "
                                   f"({district['name']}; list confidence: {sure})")

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        low, high = threshold
        vi = lang == "vi"
        if low is None or low == float("-inf"):
            allowed = f"tối đa {high:g} ha" if vi else f"at most {high:g} ha"
        elif high is None or high == float("inf"):
            allowed = f"tối thiểu {low:g} ha" if vi else f"at least {low:g} ha"
        else:
            allowed = f"{low:g}–{high:g} ha"
        extra = f" ({note[lang]})" if note else ""
        return (f"Diện tích {fmt(measured, 2)} ha; cho phép {allowed}{extra}" if vi
                else f"Area {fmt(measured, 2)} ha; allowed {allowed}{extra}")

"""`max_slope`: the ground of the site is no steeper than `threshold` percent (its mean slope, or its steepest cell).

The slope comes from the service's elevation model (geo/terrain.py), computed in metres on the VN-2000 grid.  A
site the model does not wholly cover is `unknown`, never a pass; so is every site when no model is loaded.  The
threshold is the department's own choice (`confidence: policy`), not a legal value.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict

from geo.grid import Grid
from geo.terrain import percent
from layers.measures.base import (
    STATUS_RANK,
    Batch,
    GridBatch,
    GridOutcome,
    Measure,
    Role,
    RuleOutcome,
    fmt,
    text,
)
from layers.measures.registry import register

# Slopes are reported to 0.01 %: a site at the threshold after that rounding is judged at the threshold.
SLOPE_TOLERANCE_PCT = 0.01
# An elevation model samples the ground every few tens of metres and smooths it: never `exact`.
DEM_ACCURACY = "approximate"
NO_DEM = text("máy chủ không có mô hình độ cao (DEM): độ dốc chưa xác định",
              "no elevation model (DEM) is loaded: the slope is unknown")
NO_THRESHOLD = text("chưa đặt ngưỡng độ dốc trong tệp quy tắc", "no slope threshold is set in the rules file")


class SlopeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # which slope of the site is compared: the mean over its cells (how much earthwork levelling needs), or the
    # steepest cell (whether any part is too steep)
    statistic: Literal["mean", "max"] = "mean"


@register
class MaxSlope(Measure):
    name = "max_slope"
    Params = SlopeParams
    needs_layer = False
    roles = {"steep_site": Role("Địa điểm dốc quá ngưỡng", "Site steeper than allowed",
                                {"color": "#8c510a", "weight": 3, "fillColor": "#d8b365", "fillOpacity": 0.35})}

    @property
    def key(self) -> str:
        return f"slope_{self.params.statistic}_pct"

    def evaluate(self, batch: Batch) -> RuleOutcome:
        threshold, n = self.rule.threshold, len(batch)
        terrain = batch.engine.terrain
        if threshold is None:
            return RuleOutcome.uniform(batch.idx, "unknown", threshold, NO_THRESHOLD)
        if terrain is None:
            return RuleOutcome.uniform(batch.idx, "unknown", threshold, NO_DEM)
        stats = batch.engine.terrain_stats(batch.geoms)
        measured = np.array([np.nan if s[self.key] is None else s[self.key] for s in stats], dtype=float)
        steep = measured > threshold + SLOPE_TOLERANCE_PCT
        status = np.where(np.isnan(measured), "unknown", np.where(steep, self.rule.severity, "pass")).astype(object)
        related = [[] if s[self.key] is None else [{
            "layer": "terrain", "id": 0, "name": terrain.path.name, "accuracy": DEM_ACCURACY,
            "source": terrain.source, "resolution_m": s["resolution_m"], "slope_mean_pct": s["slope_mean_pct"],
            "slope_max_pct": s["slope_max_pct"], "elevation_range_m": s["elevation_range_m"]}] for s in stats]
        evidence = [[("steep_site" if steep[i] else "site", batch.geoms[i])] if batch.evidence else []
                    for i in range(n)]
        notes = [s["note"] for s in stats]
        return RuleOutcome(batch.idx, status, measured, [threshold] * n, related, evidence, notes)

    def screen(self, batch: GridBatch) -> GridOutcome:
        """The rule over every cell: the slope of the cell, or with `reach` the mean (or max) slope of the square
        of ±reach metres around it (a cluster's site) — a box filter over the surface, numpy only."""
        grid, threshold, terrain = batch.grid, self.rule.threshold, batch.engine.terrain
        if threshold is None:
            return GridOutcome.uniform(grid, "unknown", NO_THRESHOLD)
        if terrain is None:
            return GridOutcome.uniform(grid, "unknown", NO_DEM)
        r = int(math.ceil(batch.reach / grid.cell)) if batch.reach > 0 else 0
        padded = Grid(grid.west - r * grid.cell, grid.north + r * grid.cell, grid.cell, grid.width + 2 * r,
                      grid.height + 2 * r, grid.crs)
        _, slope = terrain.on_grid(padded)
        pct = percent(slope.astype("float64"))
        if r:
            pct = window_mean(pct, r) if self.params.statistic == "mean" else window_max(pct, r)
        unknown = np.isnan(pct)
        status = np.where(unknown, STATUS_RANK["unknown"], np.where(
            pct > threshold + SLOPE_TOLERANCE_PCT, STATUS_RANK[self.rule.severity], STATUS_RANK["pass"]))
        note = text("ngoài vùng phủ của mô hình độ cao: độ dốc chưa xác định",
                    "outside the elevation model's coverage: the slope is unknown") if unknown.any() else None
        return GridOutcome(status.astype(np.uint8), pct.astype("float32"), note)

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        vi = lang == "vi"
        which = ("trung bình" if vi else "mean") if self.params.statistic == "mean" else ("lớn nhất" if vi else
                                                                                          "steepest")
        degrees = math.degrees(math.atan(measured / 100)) if measured == measured else float("nan")
        where = related[0] if related else {}
        res = f"; DEM {fmt(where.get('resolution_m'), 0)} m" if where else ""
        if vi:
            return (f"Độ dốc {which} {fmt(measured, 1)} % ({fmt(degrees, 1)}°); tối đa {threshold:g} % "
                    f"(ngưỡng chính sách của Sở){res}")
        return (f"{which.capitalize()} slope {fmt(measured, 1)} % ({fmt(degrees, 1)}°); at most {threshold:g} % "
                f"(the department's policy threshold){res}")


def window_mean(values: np.ndarray, r: int) -> np.ndarray:
    """The mean of each (2r+1)² square of `values` (shape (h+2r, w+2r) → (h, w)); NaN where any cell is NaN
    (a site partly outside the data is unknown).  A summed-area table: one pass whatever r."""
    k = 2 * r + 1
    nan = np.isnan(values)

    def box_sum(a: np.ndarray) -> np.ndarray:
        s = np.pad(a, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
        return s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]

    sums = box_sum(np.where(nan, 0.0, values))
    gaps = box_sum(nan.astype(np.int64))
    return np.where(gaps > 0, np.nan, sums / (k * k))


def window_max(values: np.ndarray, r: int) -> np.ndarray:
    """The maximum of each (2r+1)² square (shape (h+2r, w+2r) → (h, w)); NaN where any cell is NaN (separable:
    rows then columns)."""
    k = 2 * r + 1
    rows = sliding_window_view(values, k, axis=1).max(axis=-1)
    return sliding_window_view(rows, k, axis=0).max(axis=-1)

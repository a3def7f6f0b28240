"""`outside_corridor`: outside each line's safety corridor, measured as the law measures it.

Decree 14/2014 Art. 11 (and the Electricity Law's Decree 62/2025 after it) gives the corridor's width on each side
from the **outermost conductor** at rest, by voltage.  Line layers hold centrelines, so the distance from the
centreline to the outermost conductor is added: from the line's own field when it has one, else from a table of
typical conductor layouts by voltage — an assumption, with an uncertainty band.  Inside that band the result is
`unknown`, never a pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict

from layers.measures.base import (
    MAX_LISTED,
    STATUS_RANK,
    TOLERANCE_M,
    Batch,
    GridBatch,
    GridOutcome,
    Measure,
    Role,
    RuleOutcome,
    Subset,
    first_name,
    fmt,
    text,
    within_on_grid,
)
from layers.measures.registry import register


class CorridorWidth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_kv: float
    width_m: float


class ConductorOffset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_kv: float
    half_width_m: float  # centreline → outermost conductor
    uncertainty_m: float = 0.0


class Conductor(BaseModel):
    """Where the outermost conductor is: a field of the line layer, else the typical layout by voltage."""

    model_config = ConfigDict(extra="forbid")
    field: str | None = None
    by_voltage: list[ConductorOffset] = []
    confidence: str = "assumption"


class Corridor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str
    widths: list[CorridorWidth]
    conductor: Conductor | None = None


class CorridorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corridor: Corridor


def _by_voltage(voltage: np.ndarray, limits: list[float], values: list[float]) -> np.ndarray:
    """The value of the first band whose upper limit is at or above each voltage (the top band for unknowns)."""
    order = np.argsort(limits)
    lim, val = np.asarray(limits, dtype=float)[order], np.asarray(values, dtype=float)[order]
    pick = np.minimum(np.searchsorted(lim, np.nan_to_num(voltage, nan=lim[-1])), len(lim) - 1)
    return val[pick]


@register
class OutsideCorridor(Measure):
    name = "outside_corridor"
    Params = CorridorParams
    roles = {
        "corridor": Role("Hành lang an toàn", "Safety corridor",
                         {"color": "#7a0177", "weight": 1.5, "fillColor": "#c51b8a", "fillOpacity": 0.25}),
        "distance": Role("Khoảng cách đo", "Measured distance", {"color": "#d7301f", "weight": 3, "dashArray": "6 4"}),
    }

    def required_columns(self) -> tuple[str, ...]:
        return (self.params.corridor.by,)

    def reach(self, sub: Subset) -> dict[str, np.ndarray]:
        """Per line: the corridor width (law), the centreline → outermost-conductor offset and its uncertainty,
        whether that offset is assumed, and the reach of the corridor from the centreline (once per subset)."""
        return sub.derived(f"reach:{self.rule.id}", self._reach)

    def _reach(self, sub: Subset) -> dict[str, np.ndarray]:
        spec = self.params.corridor
        voltage = pd.to_numeric(pd.Series(sub.column(spec.by)), errors="coerce").to_numpy(float)
        width = _by_voltage(voltage, [w.max_kv for w in spec.widths], [w.width_m for w in spec.widths])
        n = len(voltage)
        half, band, assumed = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
        conductor = spec.conductor
        if conductor is not None and conductor.by_voltage:
            table = conductor.by_voltage
            half = _by_voltage(voltage, [c.max_kv for c in table], [c.half_width_m for c in table])
            band = _by_voltage(voltage, [c.max_kv for c in table], [c.uncertainty_m for c in table])
            assumed[:] = True
        if conductor is not None and conductor.field:
            given = pd.to_numeric(pd.Series(sub.column(conductor.field)), errors="coerce").to_numpy(float)
            known = np.isfinite(given)
            half[known], band[known], assumed[known] = given[known], 0.0, False
        return {"voltage": voltage, "width": width, "half": half, "band": band, "assumed": assumed,
                "reach": width + half}

    def evaluate(self, batch: Batch) -> RuleOutcome:
        sub, decided = self.features(batch)
        if decided is not None:
            return decided
        geoms, n, r = batch.geoms, len(batch), self.reach(sub)
        best_k, best_d = self._closest_by_margin(sub, geoms, r)
        reach, band = r["reach"][best_k], r["band"][best_k]
        status = np.where(best_d < reach - band - TOLERANCE_M, self.rule.severity,
                          np.where(best_d < reach + band - TOLERANCE_M, "unknown", "pass")).astype(object)
        related = self._related(sub, geoms, r, best_k, best_d, status)
        note = [self._note(r, k, status[i]) for i, k in enumerate(best_k)]
        evidence: list[list] = [[] for _ in range(n)]
        if batch.evidence:
            lines = shapely.shortest_line(geoms, sub.geoms[best_k])
            for i in range(n):
                for k in {int(f["_k"]) for f in related[i]} | {int(best_k[i])}:
                    evidence[i].append(("corridor", shapely.buffer(sub.geoms[k], r["reach"][k], cap_style="flat")))
                evidence[i].append(("distance", lines[i]))
        for refs in related:
            for ref in refs:
                ref.pop("_k")
        return RuleOutcome(batch.idx, status, best_d, [float(v) for v in reach], related, evidence, note)

    def screen(self, batch: GridBatch) -> GridOutcome:
        """Per line the corridor's reach as `evaluate` takes it (width by voltage + the conductor offset): cells
        whose centre lies surely inside a corridor get the rule's severity, cells within its uncertainty band (or
        whose site, `batch.reach` around the centre, could touch it) are `unknown`; the others pass."""
        sub, decided = self.grid_features(batch)
        if decided is not None:
            return decided
        r = self.reach(sub)
        status = np.full(batch.grid.shape, STATUS_RANK["pass"], dtype=np.uint8)
        status[within_on_grid(batch.grid, sub, r["reach"] + r["band"] + batch.reach)] = STATUS_RANK["unknown"]
        surely = np.maximum(r["reach"] - r["band"], 0.0)
        status[within_on_grid(batch.grid, sub, surely, only=np.flatnonzero(surely > 0))] = \
            STATUS_RANK[self.rule.severity]
        return GridOutcome(status)

    @staticmethod
    def _closest_by_margin(sub: Subset, geoms: np.ndarray, r: dict) -> tuple[np.ndarray, np.ndarray]:
        """For each site, the line whose corridor it is deepest in (or nearest to): least distance − reach."""
        (inp, nearest), dist = sub.tree.query_nearest(geoms, return_distance=True, all_matches=False)
        order = np.argsort(inp, kind="stable")
        best_k, best_d = nearest[order].copy(), dist[order].copy()
        margin = best_d - r["reach"][best_k]
        reach_max = float((r["reach"] + r["band"]).max())
        pairs_in, pairs_tree = sub.tree.query(geoms, predicate="dwithin", distance=reach_max)
        pair_dist = shapely.distance(geoms[pairs_in], sub.geoms[pairs_tree])
        for i, k, d in zip(pairs_in, pairs_tree, pair_dist, strict=True):
            if d - r["reach"][k] < margin[i]:
                margin[i], best_k[i], best_d[i] = d - r["reach"][k], k, d
        return best_k, best_d

    def _related(self, sub: Subset, geoms, r: dict, best_k, best_d, status) -> list[list[dict]]:
        """The lines whose corridor (with its band) each site touches; for a pass, the closest line."""
        def ref(k: int, d: float) -> dict:
            return sub.ref(k, _k=k, distance_m=round(float(d), 2), corridor_m=float(r["width"][k]),
                           conductor_offset_m=float(r["half"][k]), conductor_assumed=bool(r["assumed"][k]),
                           reach_m=round(float(r["reach"][k]), 2),
                           voltage_kv=None if np.isnan(r["voltage"][k]) else float(r["voltage"][k]))

        related: list[list[dict]] = [[] for _ in range(len(geoms))]
        pairs_in, pairs_tree = sub.tree.query(geoms, predicate="dwithin",
                                              distance=float((r["reach"] + r["band"]).max()))
        pair_dist = shapely.distance(geoms[pairs_in], sub.geoms[pairs_tree])
        touching = pair_dist < r["reach"][pairs_tree] + r["band"][pairs_tree] - TOLERANCE_M
        for i, k, d in zip(pairs_in[touching], pairs_tree[touching], pair_dist[touching], strict=True):
            if len(related[i]) < MAX_LISTED:
                related[i].append(ref(k, d))
        for i in np.flatnonzero(status == "pass"):
            related[i].append(ref(best_k[i], best_d[i]))
        for i in range(len(geoms)):  # the deciding line first
            related[i].sort(key=lambda f, k=best_k[i]: f["_k"] != k)
        return related

    @staticmethod
    def _note(r: dict, k: int, status: str) -> dict | None:
        """Say the conductor layout was assumed where that assumption could matter (not for a clear pass)."""
        if not r["assumed"][k] or status == "pass":
            return None
        kv = "" if np.isnan(r["voltage"][k]) else f"{r['voltage'][k]:g} kV"
        half, band = r["half"][k], r["band"][k]
        inside = status == "unknown"
        return text(f"khoảng cách từ tim tuyến đến dây ngoài cùng giả định {half:g} ± {band:g} m cho đường dây "
                    f"{kv} (chưa có dữ liệu bố trí dây)" + ("; địa điểm nằm trong khoảng bất định" if inside else ""),
                    f"the outermost conductor is assumed {half:g} ± {band:g} m from the centreline of this {kv} line "
                    "(no conductor data)" + ("; the site lies within that uncertainty" if inside else ""))

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        if not related:
            return "Không có đường dây" if lang == "vi" else "No power line in the layer"
        first = related[0]
        kv = first.get("voltage_kv")
        kv_text = f" {kv:g} kV" if kv else ""
        name, width, offset = first_name(related), first.get("corridor_m"), first.get("conductor_offset_m") or 0
        extra = f" ({note[lang]})" if note and lang in note else ""
        return (f"Đường dây{kv_text} {name}: cách tim tuyến {fmt(measured)} m; hành lang {width:g} m mỗi bên tính từ "
                f"dây ngoài cùng (cách tim tuyến {offset:g} m) → tới {threshold:g} m{extra}" if lang == "vi"
                else f"Line{kv_text} {name}: {fmt(measured)} m from its centreline; corridor {width:g} m each side "
                     f"of the outermost conductor ({offset:g} m from the centreline) → up to {threshold:g} m{extra}")

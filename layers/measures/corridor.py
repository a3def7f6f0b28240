"""`outside_corridor`: outside each line's safety corridor, whose width depends on a property (voltage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict

from layers.measures.base import MAX_LISTED, TOLERANCE_M, Batch, Measure, Role, RuleOutcome, Subset, first_name, fmt
from layers.measures.registry import register


class CorridorWidth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_kv: float
    width_m: float


class Corridor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str
    widths: list[CorridorWidth]


class CorridorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corridor: Corridor


@register
class OutsideCorridor(Measure):
    name = "outside_corridor"
    Params = CorridorParams
    roles = {
        "corridor": Role("Hành lang an toàn", "Safety corridor",
                         {"color": "#7a0177", "weight": 1.5, "fillColor": "#c51b8a", "fillOpacity": 0.25}),
        "distance": Role("Khoảng cách đo", "Measured distance", {"color": "#d7301f", "weight": 3, "dashArray": "6 4"}),
    }

    def widths(self, sub: Subset) -> tuple[np.ndarray, np.ndarray]:
        """Each line's corridor width (m) from the table by its voltage, and the voltage itself (NaN unknown)."""
        table = sorted(self.params.corridor.widths, key=lambda w: w.max_kv)
        limits = np.array([w.max_kv for w in table])
        widths_table = np.array([w.width_m for w in table])
        voltage = pd.to_numeric(pd.Series(sub.column(self.params.corridor.by)), errors="coerce").to_numpy(float)
        pick = np.minimum(np.searchsorted(limits, np.nan_to_num(voltage, nan=limits[-1])), len(limits) - 1)
        return widths_table[pick], voltage

    def evaluate(self, batch: Batch) -> RuleOutcome:
        sub, decided = self.features(batch)
        if decided is not None:
            return decided
        geoms, n = batch.geoms, len(batch)
        widths, voltage = self.widths(sub)
        # nearest line by margin: candidates within the widest corridor, else the plain nearest line
        (inp, nearest), dist = sub.tree.query_nearest(geoms, return_distance=True, all_matches=False)
        order = np.argsort(inp, kind="stable")
        best_k, best_d = nearest[order].copy(), dist[order].copy()
        pairs_in, pairs_tree = sub.tree.query(geoms, predicate="dwithin", distance=float(widths.max()))
        pair_dist = shapely.distance(geoms[pairs_in], sub.geoms[pairs_tree])
        inside = pair_dist < widths[pairs_tree] - TOLERANCE_M
        margin = best_d - widths[best_k]
        for i, k, d in zip(pairs_in, pairs_tree, pair_dist, strict=True):
            if d - widths[k] < margin[i]:
                margin[i], best_k[i], best_d[i] = d - widths[k], k, d

        def ref(k: int, d: float) -> dict:
            return sub.ref(k, distance_m=round(float(d), 2), corridor_m=float(widths[k]),
                           voltage_kv=None if np.isnan(voltage[k]) else float(voltage[k]))

        related: list[list[dict]] = [[] for _ in range(n)]
        for i, k, d in zip(pairs_in[inside], pairs_tree[inside], pair_dist[inside], strict=True):
            if len(related[i]) < MAX_LISTED:
                related[i].append(ref(k, d))
        status = np.where(best_d < widths[best_k] - TOLERANCE_M, self.rule.severity, "pass").astype(object)
        for i in np.flatnonzero(status == "pass"):
            related[i].append(ref(best_k[i], best_d[i]))
        evidence: list[list] = [[] for _ in range(n)]
        if batch.evidence:
            lines = shapely.shortest_line(geoms, sub.geoms[best_k])
            for i in range(n):
                for k in {best_k[i]} | {int(k) for k in pairs_tree[(pairs_in == i) & inside]}:
                    evidence[i].append(("corridor", shapely.buffer(sub.geoms[k], widths[k], cap_style="flat")))
                evidence[i].append(("distance", lines[i]))
        return RuleOutcome(batch.idx, status, best_d, [float(widths[k]) for k in best_k], related, evidence,
                           [None] * n)

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        if not related:
            return "Không có đường dây" if lang == "vi" else "No power line in the layer"
        kv = related[0].get("voltage_kv")
        kv_text = f" {kv:g} kV" if kv else ""
        name = first_name(related)
        return (f"Đường dây{kv_text} {name}: cách tim tuyến {fmt(measured)} m; hành lang {threshold:g} m mỗi bên"
                if lang == "vi" else f"Line{kv_text} {name}: {fmt(measured)} m from its centreline; "
                                     f"corridor {threshold:g} m each side")

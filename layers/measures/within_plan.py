"""`within_plan`: the site lies within a planned feature (a share of its area), or names one of the plan *and*
lies where the plan puts it.

A name alone proves nothing — "CCN Gia Sàng" drawn in Ba Bể is not Gia Sàng's cluster.  A named site passes only
when it lies in the planned feature's 2025 commune or pre-2025 district (the feature's `commune`/`district`
fields, compared without diacritics or "xã"/"huyện" prefixes); a planned feature with neither field cannot be
placed, so a name match to it is `unknown`.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict
from scipy import ndimage

from layers import admin
from layers.measures.base import (
    HA,
    STATUS_RANK,
    Batch,
    GridBatch,
    GridOutcome,
    Measure,
    Role,
    RuleOutcome,
    Subset,
    first_name,
    grid_box,
    inside_on_grid,
    status_grid,
    text,
)
from layers.measures.registry import register
from layers.text import fold


class PlanParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_overlap: float
    commune_field: str = "commune"  # the planned feature's 2025 commune
    district_field: str = "district"  # the planned feature's pre-2025 district


_UNIT_PREFIXES = ("thanh pho ", "thi xa ", "thi tran ", "huyen ", "phuong ", "xa ", "quan ")


def _square_share(mask: np.ndarray, side: float, cell: float) -> np.ndarray:
    """For each cell, the share of a `side`-metre square centred on it covered by the set cells (each set cell
    counted with the part of it inside the square: a separable weighting of the neighbouring cells)."""
    m = math.ceil(side / (2 * cell) + 0.5)
    offsets = np.arange(-m, m + 1) * cell
    weights = np.clip(np.minimum(offsets + cell / 2, side / 2) - np.maximum(offsets - cell / 2, -side / 2), 0, cell)
    share = ndimage.correlate1d(mask.astype("float32"), weights / side, axis=0, mode="constant", cval=0.0)
    return ndimage.correlate1d(share, weights / side, axis=1, mode="constant", cval=0.0)


def unit_key(name: object) -> str:
    """An administrative unit's name for comparison: folded, without its kind ("Xã Tân Khánh" = "tan khanh")."""
    key = fold(name if isinstance(name, str) else "")
    for prefix in _UNIT_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


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
        placed = np.array([any(r.get("matched_by") == "name" and r.get("place_matches") for r in rel)
                           for rel in related], dtype=bool)
        unplaceable = np.array([any(r.get("matched_by") == "name" and r.get("place_matches") is None for r in rel)
                                for rel in related], dtype=bool)
        inside = ratio >= min_overlap - 1e-9
        status = np.where(inside | placed, "pass",
                          np.where(unplaceable, "unknown", self.rule.severity)).astype(object)
        note = [self._note(rel) for rel in related]
        evidence: list[list] = [[] for _ in range(n)]
        for i in range(n):
            if best[i] >= 0 and not named[i]:
                related[i].append(sub.ref(best[i], overlap_ratio=round(float(ratio[i]), 4)))
            if batch.evidence and best[i] >= 0:
                evidence[i].append(("plan_area", sub.geoms[best[i]]))
        return RuleOutcome(batch.idx, status, ratio, [min_overlap] * n, related, evidence, note,
                           searched=sub.basis())

    def screen(self, batch: GridBatch) -> GridOutcome:
        """A point site passes when its cell's centre lies in a planned feature.  A square site of `area_ha`
        passes when the planned features surely cover `min_overlap` of it: counting only the cells wholly inside
        both the square and the plan; it fails when even every cell the plan or the square touches would not
        reach the share; in between it is `unknown` (the exact check decides).  A site suggested by planmap has
        no name to match."""
        sub, decided = self.grid_features(batch)
        if decided is not None:
            return decided
        grid, severity = batch.grid, self.rule.severity
        if not batch.reach or not batch.area_ha:
            return GridOutcome(status_grid(grid, inside_on_grid(grid, sub.geoms, batch.reach), severity))
        near = sub.geoms[shapely.intersects(sub.geoms, grid_box(grid))]
        inside = grid.rasterize(near)
        edge = grid.rasterize(shapely.boundary(near), all_touched=True)
        side = math.sqrt(batch.area_ha * HA)
        surely = _square_share(inside & ~edge, side, grid.cell)  # cells wholly inside the plan
        maybe = _square_share(inside | edge, side, grid.cell)  # cells the plan may reach into
        status = np.full(grid.shape, STATUS_RANK["unknown"], dtype=np.uint8)
        status[surely >= self.params.min_overlap - 1e-9] = STATUS_RANK["pass"]
        status[maybe < self.params.min_overlap - 1e-9] = STATUS_RANK[severity]
        return GridOutcome(status)

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
        """Sites whose name is that of a planned feature (diacritics and the 'CCN' prefix ignored), with whether
        the site lies in that feature's commune or district (None when the feature says neither)."""
        names = sub.derived("folded_names", lambda s: {fold(v): k for k, v in enumerate(s.column("name"))
                                                       if isinstance(v, str)})
        params = self.params
        communes = batch.engine.units_of(batch.geoms, "communes", admin.commune_day(batch.day))
        districts = batch.engine.units_of(batch.geoms, "districts", admin.district_day(batch.day))
        for i in range(len(batch)):
            given = fold(batch.properties(i).get("name"))
            for candidate in (given, f"ccn {given}", given.removeprefix("cum cong nghiep ").strip()):
                if candidate and candidate in names:
                    k = names[candidate]
                    planned = (unit_key(sub.column(params.commune_field)[k]),
                               unit_key(sub.column(params.district_field)[k]))
                    site = (unit_key((communes[i] or {}).get("name")), unit_key((districts[i] or {}).get("name")))
                    matches = None if not any(planned) else any(p and p == s for p, s in zip(planned, site,
                                                                                              strict=True))
                    related[i].append(sub.ref(k, matched_by="name", place_matches=matches,
                                              planned_commune=sub.column(params.commune_field)[k],
                                              planned_district=sub.column(params.district_field)[k]))
                    if ratio[i] < self.params.min_overlap and matches:
                        best[i] = k
                    break

    @staticmethod
    def _note(related: list[dict]) -> dict | None:
        named = next((r for r in related if r.get("matched_by") == "name"), None)
        if named is None or named.get("place_matches"):
            return None
        if named.get("place_matches") is None:
            return text(f"có tên {named['name']} nhưng phương án không ghi xã/huyện của cụm",
                        f"named {named['name']}, but the plan does not say its commune or district")
        where = named.get("planned_commune") or named.get("planned_district")
        return text(f"có tên {named['name']} nhưng không nằm ở nơi phương án bố trí ({where})",
                    f"named {named['name']}, but not where the plan puts it ({where})")

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        vi = lang == "vi"
        named = next((r for r in related if r.get("matched_by") == "name"), None)
        if named is not None and named.get("place_matches"):
            name = named.get("name")
            return f"Có tên và nằm đúng địa bàn trong phương án: {name}" if vi else \
                f"Named in the plan and in its planned place: {name}"
        overlap = next((r for r in related if "overlap_ratio" in r), None)
        if overlap is not None:
            text_ = (f"{measured:.0%} diện tích nằm trong {first_name([overlap])}; yêu cầu ≥ {threshold:.0%}" if vi
                     else f"{measured:.0%} lies within {first_name([overlap])}; required ≥ {threshold:.0%}")
        else:
            text_ = ("Không thuộc cụm công nghiệp nào trong phương án" if vi
                     else "Not within any cluster of the plan")
        return text_ + (f" ({note[lang]})" if note else "")

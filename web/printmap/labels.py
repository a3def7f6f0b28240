"""Feature labels (print_styles.json "label"), placed greedily: higher priority and larger features first, a label
dropped where it would overlap a symbol, the map furniture or a label already placed."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import numpy as np
import pandas as pd
import shapely

from .canvas import Canvas
from .layout import Box, MapPlan
from .symbols import is_missing, matches
from .typography import draw_text

# A candidate box: x0, y0, x1, y1 in page mm and the text's horizontal alignment in it.
Candidate = tuple[float, float, float, float, str]


@dataclass
class LabelJob:
    """A layer's features to label: what is drawn (geometries in EPSG:9213, points as their symbols' squares)."""

    priority: int  # 1 first
    lid: str
    spec: dict
    frame: pd.DataFrame  # the layer's rows drawn (a GeoDataFrame)
    geoms: np.ndarray
    kind: str


@dataclass(frozen=True)
class _Font:
    size: float  # points
    weight: str
    style: str
    color: str
    alpha: float

    @classmethod
    def of(cls, spec: dict, k: float) -> _Font:
        return cls(float(spec.get("size", 6)) * k, spec.get("weight", "normal"), spec.get("style", "normal"),
                   spec.get("color", "#222222"), float(spec.get("alpha", 1)))

    @property
    def height(self) -> float:
        """Height of a one-line label in mm."""
        return self.size * 25.4 / 72 * 1.05


def label_text(spec: dict, value) -> str:
    """The text of a label: the value without the prefixes to strip ("CCN "), upper-cased if asked; "" for none."""
    s = "" if is_missing(value) else str(value)
    for prefix in spec.get("strip") or ():
        if s.startswith(prefix):
            s = s[len(prefix):]
    if spec.get("upper"):
        s = s.upper()
    return s.strip()


def overlaps(box, boxes) -> bool:
    x0, y0, x1, y1 = box
    for b in boxes:
        if x0 < b[2] and x1 > b[0] and y0 < b[3] and y1 > b[1]:
            return True
    return False


def place_labels(cv: Canvas, jobs: list[LabelJob], obstacles: list[Box]) -> None:
    """Greedy placement: higher priority first; a label is dropped where it would overlap anything placed.

    Features' own boxes are among the obstacles: a label goes beside its feature ("around") or on it when the
    feature is large (polygon centres, roads), never over another symbol."""
    fx, fy, fw, fh = cv.plan.frame
    k = cv.plan.k
    placed: list[Box] = list(obstacles)
    inner = (fx + 1 * k, fy + 1 * k, fx + fw - 1 * k, fy + fh - 1 * k)
    for job in sorted(jobs, key=attrgetter("priority")):
        _place_job(cv, job, placed, inner)


def _place_job(cv: Canvas, job: LabelJob, placed: list[Box], inner: Box) -> None:
    font = _Font.of(job.spec, cv.plan.k)
    placement = job.spec.get("placement", "center")
    seen: set[str] = set()
    for _, i, txt in _candidates(cv.plan, job):
        if placement == "line" and txt in seen:  # a road's number once
            continue
        wid = cv.meas.width(txt, font.size, font.weight, font.style)
        for cand in _boxes(cv.plan, placement, job.geoms[i], wid, font.height):
            box = cand[:4]
            if box[0] < inner[0] or box[1] < inner[1] or box[2] > inner[2] or box[3] > inner[3]:
                continue
            if overlaps(box, placed):
                continue
            placed.append(box)
            seen.add(txt)
            _draw_label(cv, cand, txt, job.spec, font)
            break


def _candidates(plan: MapPlan, job: LabelJob) -> list[tuple[float, int, str]]:
    """(−size, row, text) of each feature worth a label, largest first; polygons too small on paper are skipped."""
    spec = job.spec
    min_area = float(spec.get("minPaperMm2", 0))
    sel = matches(job.frame, spec.get("only") or {})
    values = job.frame[spec["field"]].to_numpy()
    out = []
    for i in np.flatnonzero(sel):
        g = job.geoms[i]
        txt = label_text(spec, values[i])
        if not txt:
            continue
        if job.kind == "polygon" and g.area / (plan.scale / 1000) ** 2 < min_area:
            continue
        out.append((-(g.area if job.kind == "polygon" else g.length), i, txt))
    out.sort()
    return out


def _boxes(plan: MapPlan, placement: str, g, wid: float, hgt: float) -> list[Candidate]:
    """Where a label of `wid` × `hgt` mm may go, best first."""
    if placement == "line":
        return _line_boxes(plan, g, wid, hgt)
    if placement == "around":
        return _around_boxes(plan, g, wid, hgt)
    pt = shapely.point_on_surface(g)
    px, py = plan.to_paper(pt.x, pt.y)
    return [(px - wid / 2, py - hgt / 2, px + wid / 2, py + hgt / 2, "center")]


def _line_boxes(plan: MapPlan, g, wid: float, hgt: float) -> list[Candidate]:
    """Along the part of a line inside the map: its middle, then farther out (with room for the label's box)."""
    k = plan.k
    inside = g.intersection(shapely.box(*plan.extent))
    if inside.is_empty:
        return []
    out = []
    for frac in (0.5, 0.35, 0.65, 0.2, 0.8):
        pt = inside.interpolate(frac, normalized=True) if hasattr(inside, "interpolate") else \
            shapely.point_on_surface(inside)
        px, py = plan.to_paper(pt.x, pt.y)
        out.append((px - wid / 2 - 0.6 * k, py - hgt / 2 - 0.4 * k, px + wid / 2 + 0.6 * k,
                    py + hgt / 2 + 0.4 * k, "center"))
    return out


def _around_boxes(plan: MapPlan, g, wid: float, hgt: float) -> list[Candidate]:
    """Beside the feature's box: right, left, above, below, then the four corners."""
    gap = 0.7 * plan.k
    b = g.bounds
    x0, y0 = plan.to_paper(b[0], b[1])
    x1, y1 = plan.to_paper(b[2], b[3])
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    return [(x1 + gap, cy - hgt / 2, x1 + gap + wid, cy + hgt / 2, "left"),
            (x0 - gap - wid, cy - hgt / 2, x0 - gap, cy + hgt / 2, "right"),
            (cx - wid / 2, y1 + gap, cx + wid / 2, y1 + gap + hgt, "center"),
            (cx - wid / 2, y0 - gap - hgt, cx + wid / 2, y0 - gap, "center"),
            (x1 + gap, y1, x1 + gap + wid, y1 + hgt, "left"),
            (x1 + gap, y0 - hgt, x1 + gap + wid, y0, "left"),
            (x0 - gap - wid, y1, x0 - gap, y1 + hgt, "right"),
            (x0 - gap - wid, y0 - hgt, x0 - gap, y0, "right")]


def _draw_label(cv: Canvas, cand: Candidate, txt: str, spec: dict, font: _Font) -> None:
    """The label in its box: on a white halo, or in a rounded box (road numbers) when the spec has one."""
    x0, y0, x1, y1, ha = cand
    x = x0 if ha == "left" else x1 if ha == "right" else (x0 + x1) / 2
    kw: dict = {}
    if spec.get("box"):
        kw["bbox"] = {"boxstyle": f"round,pad={0.15}", "facecolor": spec["box"].get("fillColor", "white"),
                      "edgecolor": spec["box"].get("color", "black"), "linewidth": 0.5 * cv.ks}
    else:
        kw["halo"] = 1.8 * cv.ks
    draw_text(cv.page, x, (y0 + y1) / 2, txt, font.size, ha=ha, va="center_baseline", color=font.color,
              alpha=font.alpha, weight=font.weight, style=font.style, zorder=4, **kw)

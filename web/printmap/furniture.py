"""Map furniture: the VN-2000 grid labelled in metres around the frame, grid north, the frame and the sheet's
double border."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Polygon, Rectangle

from .canvas import Canvas
from .layout import Box, MapPlan
from .texts import T, fmt_int
from .typography import draw_text

_GRID_STEPS = (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 25_000, 50_000, 100_000, 200_000)


def grid_step(plan: MapPlan) -> int:
    """The grid spacing in metres: the first round step giving cells of about 3 cm on paper."""
    want = 32 * plan.k * plan.scale / 1000
    for g in _GRID_STEPS:
        if g >= want:
            return g
    return _GRID_STEPS[-1]


def draw_grid(cv: Canvas) -> None:
    """Grid lines over the map, each labelled with its coordinate on both sides of the frame."""
    plan = cv.plan
    g = grid_step(plan)
    x0, y0, x1, y1 = plan.extent
    xs = np.arange(math.ceil(x0 / g) * g, x1, g)
    ys = np.arange(math.ceil(y0 / g) * g, y1, g)
    segs = [np.array([[x, y0], [x, y1]]) for x in xs] + [np.array([[x0, y], [x1, y]]) for y in ys]
    cv.ax.add_collection(LineCollection(segs, colors="#4d4d4d", linewidths=0.3 * cv.ks, alpha=0.55, zorder=90),
                         autolim=False)
    _label_verticals(cv, xs)
    _label_horizontals(cv, ys)
    fx, fy, fw, fh = plan.frame
    k = plan.k
    draw_text(cv.page, fx + 1.2 * k, fy + fh - 1.2 * k, "X, Y (m) · VN-2000", 4.6 * k, ha="left", va="top",
              color="#333333", halo=2 * cv.ks)


def _label_verticals(cv: Canvas, xs: np.ndarray) -> None:
    """Ticks and labels below and above the frame; none too near a corner."""
    plan, page, k = cv.plan, cv.page, cv.plan.k
    fx, fy, fw, fh = plan.frame
    size, tick, edge = 5.2 * k, 1.5 * k, 0.6 * k
    for x in xs:
        px, _ = plan.to_paper(x, plan.extent[1])
        if px - fx < 6 * k or fx + fw - px < 6 * k:
            continue
        lab = fmt_int(x)
        page.plot([px, px], [fy - tick, fy], color="black", lw=0.5 * cv.ks)
        page.plot([px, px], [fy + fh, fy + fh + tick], color="black", lw=0.5 * cv.ks)
        draw_text(page, px, fy - tick - edge, lab, size, ha="center", va="top")
        draw_text(page, px, fy + fh + tick + edge, lab, size, ha="center", va="bottom")


def _label_horizontals(cv: Canvas, ys: np.ndarray) -> None:
    """Ticks and labels left and right of the frame, written upwards; none too near a corner."""
    plan, page, k = cv.plan, cv.page, cv.plan.k
    fx, fy, fw, fh = plan.frame
    size, tick, edge = 5.2 * k, 1.5 * k, 0.6 * k
    for y in ys:
        _, py = plan.to_paper(plan.extent[0], y)
        if py - fy < 6 * k or fy + fh - py < 6 * k:
            continue
        lab = fmt_int(y)
        page.plot([fx - tick, fx], [py, py], color="black", lw=0.5 * cv.ks)
        page.plot([fx + fw, fx + fw + tick], [py, py], color="black", lw=0.5 * cv.ks)
        draw_text(page, fx - tick - edge, py, lab, size, ha="right", va="center", rotation=90)
        draw_text(page, fx + fw + tick + edge, py, lab, size, ha="left", va="center", rotation=90)


def draw_north_arrow(cv: Canvas) -> list[Box]:
    """Grid north in the frame's top right corner; returns the boxes (the arrow, the corner note) labels avoid."""
    page, k, ks = cv.page, cv.plan.k, cv.ks
    fx, fy, fw, fh = cv.plan.frame
    cx = fx + fw - 11 * k
    top = fy + fh - 7 * k
    hgt = 14 * k
    wid = 5 * k
    base = top - hgt
    page.add_patch(Polygon([(cx, top), (cx - wid / 2, base), (cx, base + hgt * 0.28)], closed=True,
                           facecolor="black", edgecolor="black", lw=0.6 * ks, zorder=6))
    page.add_patch(Polygon([(cx, top), (cx + wid / 2, base), (cx, base + hgt * 0.28)], closed=True,
                           facecolor="white", edgecolor="black", lw=0.6 * ks, zorder=6))
    halo = 2.5 * ks
    lang = cv.plan.lang
    draw_text(page, cx, top + 0.8 * k, T["north_letter"][lang], 9 * k, ha="center", va="bottom", weight="bold",
              zorder=6, halo=halo)
    draw_text(page, cx, base - 0.8 * k, T["north"][lang], 4.6 * k, ha="center", va="top", zorder=6, halo=halo)
    return [(cx - 9 * k, base - 5 * k, cx + 9 * k, top + 6 * k), (fx, fy + fh - 5 * k, fx + 40 * k, fy + fh)]


def draw_frame(cv: Canvas) -> None:
    """The map frame's border, and the sheet's border with a hairline just outside it."""
    page, k, ks = cv.page, cv.plan.k, cv.ks
    fx, fy, fw, fh = cv.plan.frame
    W, H = cv.plan.page
    page.add_patch(Rectangle((fx, fy), fw, fh, fill=False, lw=0.9 * ks, edgecolor="#000000", zorder=5))
    m = cv.plan.title_box[0]
    page.add_patch(Rectangle((m, m), W - 2 * m, H - 2 * m, fill=False, lw=1.4 * ks, edgecolor="#000000"))
    page.add_patch(Rectangle((m - 1.2 * k, m - 1.2 * k), W - 2 * m + 2.4 * k, H - 2 * m + 2.4 * k, fill=False,
                             lw=0.4 * ks, edgecolor="#000000"))

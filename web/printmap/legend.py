"""The legend: a row per class drawn (with counts and hectares), flowed into up to three columns at the largest
font size that fits the space the panel leaves for it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .canvas import Canvas
from .layout import Box, MapPlan
from .symbols import Classes, MplStyle, mpl_style
from .texts import PHASE_WORD, T, decimal, fmt_int
from .typography import Measure, draw_text, line_h

# "Outside the province": the mask's own colours (print_styles.json "mask"), at a hairline.
OUTSIDE = MplStyle(edge=to_rgba("#bdbdbd"), face=to_rgba("#eeeeee"), lw=0.4, dashes=None, hatch=None, size=0)


@dataclass
class LegendRow:
    kind: str  # polygon | line | point | header | note
    label: str
    style: MplStyle | None = None
    indent: bool = False


@dataclass
class DrawnLayer:
    """What the panel tells of a layer drawn: its legend rows, the accuracy of its features on the map, its source."""

    lid: str
    title: str
    rows: list[LegendRow]
    accuracy: dict[str, int]
    attribution: str
    license: str


# ---------------------------------------------------------------------------------------------------- rows

def layer_rows(cv: Canvas, lid: str, kind: str, title: str, frame, classes: Classes) -> list[LegendRow]:
    """The rows of one layer: a header and a row per class and per phase, or one row when it has no classes."""
    if not classes.by or classes.classes == [None]:
        return [LegendRow(kind, title, mpl_style(cv.styles.style(lid, kind, None, None), kind, cv.ks))]
    rows = [LegendRow("header", title)]
    rows.extend(_class_row(cv, lid, kind, frame, classes, c) for c in classes.classes)
    rows.extend(_phase_row(cv, lid, kind, classes.phase_field, ph) for ph in classes.phases)
    return rows


def _class_row(cv: Canvas, lid: str, kind: str, frame, classes: Classes, c: str | None) -> LegendRow:
    """A class with its count, and its area in ha where the preset sums one (thematic layers only get counts)."""
    plan, st = cv.plan, cv.styles
    sel = classes.class_mask(c)
    label = st.value_label(classes.by, c, plan.lang) if c is not None else "—"
    n = int(sel.sum())
    stats_field = plan.preset.stats.get(lid)
    if stats_field and stats_field in frame.columns:
        area = pd.to_numeric(frame.loc[sel, stats_field], errors="coerce").sum()
        label += f" ({n}; {fmt_int(area)} ha)" if area > 0 else f" ({n})"
    elif lid not in plan.preset.base:
        label += f" ({n})"
    return LegendRow(kind, label, mpl_style(st.style(lid, kind, c, None), kind, cv.ks), True)


def _phase_row(cv: Canvas, lid: str, kind: str, phase_field: str, ph: str) -> LegendRow:
    """A plan phase, shown by its own mark (e.g. the hatch) on a neutral symbol."""
    st, lang = cv.styles, cv.plan.lang
    s = st.style(lid, kind, None, ph)
    s.update({"color": "#333333", "fillColor": "#ffffff", "fillOpacity": 1, "dashArray": None})
    label = f"{PHASE_WORD[lang]} {st.value_label(phase_field, ph, lang)}"
    return LegendRow(kind, label, mpl_style(s, kind, cv.ks), True)


def _sheet_rows(plan: MapPlan, drawn: list[DrawnLayer], enlarged: list[float]) -> list[LegendRow]:
    """Thematic layers first (top of the drawing order = most important), then base layers, then the notes."""
    lang = plan.lang
    base = set(plan.preset.base)
    ordered = [d for d in reversed(drawn) if d.lid not in base] + [d for d in drawn if d.lid in base]
    rows = [r for d in ordered for r in d.rows]
    if any(lid in plan.preset.stats for lid in plan.layers):
        rows.append(LegendRow("note", T["counts"][lang]))
    if enlarged:
        rows.append(LegendRow("note", T["enlarged"][lang].format(mm=decimal(f"{max(enlarged):.1f}", lang))))
    if rows and "province" in plan.layers:
        rows.append(LegendRow("polygon", T["outside"][lang], OUTSIDE))
    return rows


# ---------------------------------------------------------------------------------------------------- fitting

@dataclass
class _Fit:
    fs: float  # font size, points
    sym_w: float  # symbol size, mm
    sym_h: float
    ncols: int
    used: int  # columns the rows need
    wrapped: list[tuple[LegendRow, list[str]]]
    places: list[tuple[int, float]]  # (column, offset from the top) of each row


def flow(heights: list[float], headers: list[bool], avail: float) -> list[tuple[int, float]]:
    """(column, offset from the top) of each legend row; a header never ends a column without its first entry."""
    out, col, cur = [], 0, 0.0
    for i, hh in enumerate(heights):
        need = hh + (heights[i + 1] if headers[i] and i + 1 < len(heights) else 0)
        if cur > 0 and cur + need > avail:
            col, cur = col + 1, 0.0
        out.append((col, cur))
        cur += hh
    return out


def _columns(meas: Measure, rows: list[LegendRow], width: float, avail_h: float, fs: float, k: float) -> _Fit:
    """The fewest columns (up to three) the rows need at font size `fs`."""
    sym_w, sym_h = 7 * k * (fs / (6.4 * k)), 3.4 * k * (fs / (6.4 * k))
    lh = max(line_h(fs) * 1.12, sym_h + 1.4 * k)
    ncols = 1
    while True:
        colw = width / ncols
        wrapped = [(r, meas.wrap(r.label, fs, colw - sym_w - 3 * k - (2 * k if r.indent else 0),
                                 "bold" if r.kind == "header" else "normal")) for r in rows]
        heights = [len(lines) * line_h(fs) + (lh - line_h(fs)) + (0.8 * k if r.kind == "header" else 0)
                   for r, lines in wrapped]
        places = flow(heights, [r.kind == "header" for r, _ in wrapped], avail_h)
        used = max((c for c, _ in places), default=0) + 1
        if used <= ncols or ncols >= 3:
            return _Fit(fs, sym_w, sym_h, ncols, used, wrapped, places)
        ncols += 1


def _fit(meas: Measure, rows: list[LegendRow], width: float, avail_h: float, k: float) -> _Fit:
    """The largest font size, from 7.6 pt down by 10 % at most ten times, at which the rows fit."""
    fs = 7.6 * k
    for _attempt in range(10):
        fit = _columns(meas, rows, width, avail_h, fs, k)
        if fit.used <= fit.ncols:
            break
        fs *= 0.9
    return fit


# ---------------------------------------------------------------------------------------------------- drawing

def draw_legend(cv: Canvas, drawn: list[DrawnLayer], box: Box, enlarged: list[float]) -> None:
    plan, k = cv.plan, cv.plan.k
    x, y, w, h = box
    pad = 3 * k
    head = 8 * k
    rows = _sheet_rows(plan, drawn, enlarged)
    fit = _fit(cv.meas, rows, w - 2 * pad, h - pad * 2 - line_h(head) - 1.5 * k, k)
    draw_text(cv.page, x + w / 2, y + h - pad - line_h(head) / 2, T["legend"][plan.lang], head, ha="center",
              va="center", weight="bold")
    top = y + h - pad - line_h(head) - 1.5 * k
    colw = (w - 2 * pad) / fit.ncols
    for (r, lines), (ci, cur) in zip(fit.wrapped, fit.places, strict=True):
        _draw_row(cv, r, lines, x + pad + ci * colw, top - cur, fit)


def _draw_row(cv: Canvas, r: LegendRow, lines: list[str], cx: float, cy: float, fit: _Fit) -> None:
    """One row with its top left at (cx, cy): a bold header, an italic note, or a symbol and its label."""
    k, fs, page = cv.plan.k, fit.fs, cv.page
    indent = 2 * k if r.indent else 0
    if r.kind == "header":
        for i, line in enumerate(lines):
            draw_text(page, cx, cy - 0.8 * k - (i + 0.5) * line_h(fs), line, fs, va="center", weight="bold")
    elif r.kind == "note":
        for i, line in enumerate(lines):
            draw_text(page, cx + indent, cy - (i + 0.5) * line_h(fs), line, fs * 0.9, va="center", style="italic",
                      color="#444444")
    else:
        sx = cx + indent
        _draw_symbol(cv, r, sx, cy - line_h(fs) / 2, fit)
        for i, line in enumerate(lines):
            draw_text(page, sx + fit.sym_w + 2 * k, cy - (i + 0.5) * line_h(fs), line, fs, va="center")


def _draw_symbol(cv: Canvas, r: LegendRow, sx: float, mid: float, fit: _Fit) -> None:
    """A polygon swatch, a line or a point marker, in the style drawn on the map."""
    s, page = r.style, cv.page
    ls = s.linestyle
    if r.kind == "polygon":
        rect = Rectangle((sx, mid - fit.sym_h / 2), fit.sym_w, fit.sym_h, facecolor=s.face, edgecolor=s.edge,
                         lw=min(s.lw, 2.5 * cv.ks), linestyle=ls, hatch=s.hatch)
        if s.hatch:
            rect.set_hatch_linewidth(max(0.35, s.lw * 0.35))
        page.add_patch(rect)
    elif r.kind == "line":
        page.add_line(Line2D([sx, sx + fit.sym_w], [mid, mid], color=s.edge, lw=s.lw, linestyle=ls,
                             solid_capstyle="butt"))
    else:
        page.scatter([sx + fit.sym_w / 2], [mid], s=s.size ** 2, c=[s.face if s.face != "none" else "white"],
                     edgecolors=[s.edge], linewidths=s.lw, linestyles=ls, zorder=5)

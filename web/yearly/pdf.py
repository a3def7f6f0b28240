"""The yearly report as an A4 PDF: title page, a section per plan (indicators against targets, progress bars,
change by unit), the plan maps, sources and accuracy, and the traceability appendix.

matplotlib's object-oriented API only (a `Figure` per page, never pyplot), so two reports rendered in server
threads share nothing; the font is the print maps' (web/printmap/typography.py), which covers Vietnamese.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable

from matplotlib.ticker import FuncFormatter

from geo.cancel import checkpoint
from layers.provenance import ACCURACY_LABELS
from layers.report import DISCLAIMER
from web.printmap.typography import FONT
from web.yearly.texts import (
    CONFIDENCE,
    HONESTY_MARK,
    ORGANISATION,
    T,
    fmt_change,
    fmt_day,
    fmt_number,
    fmt_percent,
    is_marked,
    plan_indicators,
    target_confidence,
)

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
A4_IN = (PAGE_W_MM / 25.4, PAGE_H_MM / 25.4)  # portrait; the plan maps are set on A4 landscape pages
A4_LANDSCAPE_IN = A4_IN[::-1]
MARGIN_MM = 14.0
BOTTOM_MM = 282.0  # the content stops here; the footer (disclaimer, page number) sits below
# Units ranked in the change-by-unit chart: the largest values, enough to read on half a page.
CHART_UNITS = 15
# Colours of the charts and the table (the department's print palette, as in web/reports.py).
INK, MUTED, GOOD, WARN, BAR, BAR_SINCE = "#1f2933", "#555555", "#1a7f37", "#8a5300", "#2f6fb0", "#b8c7d9"
HEAD_FILL, RULE = "#eef2f5", "#bbbbbb"
# The course over the year: at most this many indicators of a plan, drawn side by side (those that changed first,
# then those with a target).
COURSE_PANELS = 4
# The plan maps of the current state (presets of web/print_styles.json), each on an A4 landscape page.
MAP_PRESETS = ("cluster-plan-2030", "overview")
MAP_DPI = 150  # the sheet's smallest text (6 pt) stays legible in print; about 0.6 MB of PNG a map
LEGEND_HEADROOM = 1.3  # the bar chart's top above its highest bar, so the legend never covers a bar

# --------------------------------------------------------------------------------------------------------- PDF
class _Pages:
    """Portrait A4 pages in mm (y grows downwards), a cursor, and a new page when the next block does not fit."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.figures: list = []
        self.y = 0.0
        self.new()

    def new(self, landscape: bool = False):
        from matplotlib.figure import Figure

        fig = Figure(figsize=A4_LANDSCAPE_IN if landscape else A4_IN)
        w, h = (PAGE_H_MM, PAGE_W_MM) if landscape else (PAGE_W_MM, PAGE_H_MM)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.axis("off")
        self.figures.append((fig, ax, landscape))
        self.fig, self.ax = fig, ax
        self.y = MARGIN_MM
        return fig, ax

    def need(self, height: float) -> None:
        if self.y + height > BOTTOM_MM:
            self.new()

    def text(self, x: float, y: float, s: str, size: float = 9.0, **kw) -> None:
        kw.setdefault("color", INK)
        self.ax.text(x, y, s, fontsize=size, fontfamily=FONT, parse_math=False, va=kw.pop("va", "top"), **kw)

    def para(self, s: str, size: float = 9.0, width: int = 105, gap: float = 1.5, x: float = MARGIN_MM,
             **kw) -> None:
        """A wrapped paragraph at the cursor (continued on a new page when it does not fit)."""
        line = size * 0.3528 * 1.35
        for row in textwrap.wrap(s, width) or [""]:
            self.need(line)
            self.text(x, self.y, row, size, **kw)
            self.y += line
        self.y += gap

    def heading(self, s: str, size: float = 12.0) -> None:
        self.need(size * 0.3528 * 1.6 + 30)  # never a heading alone at the foot of a page
        self.text(MARGIN_MM, self.y, s, size, weight="bold")
        self.y += size * 0.3528 * 1.7

    def axes(self, x: float, y: float, w: float, h: float):
        """A chart's axes at a place of the page given in mm."""
        return self.fig.add_axes((x / PAGE_W_MM, 1 - (y + h) / PAGE_H_MM, w / PAGE_W_MM, h / PAGE_H_MM))


def _chars(width: float, size: float) -> int:
    """About how many characters of `size` points fit in `width` mm (DejaVu Sans averages ~0.55 em)."""
    return max(4, int(width / (size * 0.3528 * 0.55)))


def _table(pages: _Pages, columns: list[tuple[str, float, str]], rows: list[list[str]], size: float = 7.5,
           marks: list[bool] | None = None) -> None:
    """A ruled table: columns (heading, width mm, align); cells wrap to their column; the header repeats on a new
    page."""
    line = size * 0.3528 * 1.3

    def header() -> None:
        x = MARGIN_MM
        pages.ax.add_patch(_rect(MARGIN_MM, pages.y, sum(w for _, w, _ in columns), line * 2 + 1.5, HEAD_FILL))
        for title, width, align in columns:
            for k, part in enumerate(textwrap.wrap(title, _chars(width - 1, size))[:2]):
                pages.text(x + (width - 1 if align == "right" else 1), pages.y + 0.8 + k * line, part, size,
                           weight="bold", ha=align)
            x += width
        pages.y += line * 2 + 1.5

    pages.need(line * 4)
    header()
    for r, row in enumerate(rows):
        cells = [textwrap.wrap(cell, _chars(width - 1.5, size), break_on_hyphens=False) or [""]
                 for (_, width, _), cell in zip(columns, row, strict=True)]
        height = line * max(len(c) for c in cells) + 1.6
        if pages.y + height > BOTTOM_MM:
            pages.new()
            header()
        x = MARGIN_MM
        for (_, width, align), parts in zip(columns, cells, strict=True):
            for k, part in enumerate(parts):
                colour = WARN if (marks and marks[r] and HONESTY_MARK in part) else INK
                pages.text(x + (width - 1 if align == "right" else 1), pages.y + 0.8 + k * line, part, size,
                           ha=align, color=colour)
            x += width
        pages.y += height
        pages.ax.plot([MARGIN_MM, MARGIN_MM + sum(w for _, w, _ in columns)], [pages.y, pages.y], color=RULE,
                      lw=0.4)
    pages.y += 2


def _rect(x: float, y: float, w: float, h: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="none")


def _style(ax, size: float = 7.0) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=size)
    for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        label.set_fontfamily(FONT)


def _progress_chart(pages: _Pages, indicators: list[dict], lang: str) -> None:
    """Horizontal bars: each targeted indicator's share of its target (the target is the 100 % line)."""
    targeted = [i for i in indicators if i.get("progress") is not None]
    if not targeted:
        return
    height = 8 + 6 * len(targeted)
    pages.need(height + 8)
    pages.text(MARGIN_MM, pages.y, T["progress_chart"][lang], 8.5, weight="bold")
    pages.y += 4.5
    ax = pages.axes(MARGIN_MM + 62, pages.y, PAGE_W_MM - 2 * MARGIN_MM - 70, height - 6)
    names = [textwrap.shorten(i["title"][lang], 48, placeholder="…") for i in targeted]
    shares = [i["progress"] * 100 for i in targeted]
    ys = list(range(len(targeted)))[::-1]
    ax.barh(ys, [min(s, 100) for s in shares], color=[WARN if is_marked(i) else GOOD for i in targeted], height=0.6)
    ax.barh(ys, [100] * len(ys), color="none", edgecolor=RULE, height=0.6, lw=0.6)
    for yy, share, ind in zip(ys, shares, targeted, strict=True):
        mark = f" {HONESTY_MARK}" if is_marked(ind) else ""
        ax.text(min(share, 100) + 1.5, yy, fmt_percent(share / 100, lang) + mark, va="center", fontsize=6.5,
                fontfamily=FONT, color=INK, parse_math=False)
    ax.set_yticks(ys, names)
    ax.set_xlim(0, 125)
    ax.set_xticks([0, 25, 50, 75, 100])
    _style(ax, 6.5)
    pages.y += height + 2


def _course_chart(pages: _Pages, report: dict, indicators: list[dict], lang: str) -> None:
    """Small multiples: the province's value of a few indicators at each month's end of the year."""
    course = report.get("course") or {}
    series = course.get("values") or {}
    chosen = [i for i in indicators if i["id"] in series and len({v for v in series[i["id"]] if v is not None}) > 1]
    chosen += [i for i in indicators if i["id"] in series and i.get("target") is not None and i not in chosen]
    chosen = chosen[:COURSE_PANELS]
    if not chosen:
        return
    height = 40.0
    pages.need(height + 8)
    pages.text(MARGIN_MM, pages.y, T["course_chart"][lang].format(since=fmt_day(course["dates"][0]),
                                                                    day=fmt_day(course["dates"][-1])), 8.5,
               weight="bold")
    pages.y += 5
    dates = course["dates"]
    xs = list(range(len(dates)))
    labels = [f"{d[8:10]}/{d[5:7]}" for d in dates]
    width = (PAGE_W_MM - 2 * MARGIN_MM) / COURSE_PANELS
    for k, ind in enumerate(chosen):
        ax = pages.axes(MARGIN_MM + k * width + 9, pages.y + 7, width - 13, height - 24)
        values = series[ind["id"]]
        ax.plot(xs, [v if v is not None else float("nan") for v in values], marker="o", ms=2, lw=1,
                color=WARN if is_marked(ind) else BAR)
        if ind.get("target") is not None:
            ax.axhline(ind["target"], color=GOOD, lw=0.8, ls="--")
        ax.set_xticks(xs[::3] if len(xs) > 6 else xs, labels[::3] if len(xs) > 6 else labels)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(round(v, 2), lang)))
        _style(ax, 5.5)
        title = textwrap.wrap(ind["title"][lang], 30)[:2]
        for j, row in enumerate(title):
            pages.text(MARGIN_MM + k * width + 1, pages.y + j * 2.8, row, 6.5)
        pages.text(MARGIN_MM + k * width + 1, pages.y + height - 10,
                   f"{ind['unit'][lang]}" + (f" · {T['col_target'][lang].lower()} {fmt_number(ind['target'], lang)}"
                                             if ind.get("target") is not None else "")
                   + (f" {HONESTY_MARK}" if is_marked(ind) else ""), 6, color=MUTED)
    pages.y += height


def _unit_chart(pages: _Pages, report: dict, indicators: list[dict], lang: str) -> None:
    """Grouped bars of the plan's first indicator that changed by unit (else its first by-unit one): the units
    that changed most, then those with the largest values, at the comparison date and at the year's end."""
    with_units = [i for i in indicators if i.get("by_unit")]
    if not with_units:
        return
    changed = [i for i in with_units if any((u.get("change") or 0) != 0 for u in i["by_unit"])]
    ind = (changed or with_units)[0]
    units = sorted(ind["by_unit"], key=lambda u: (-abs(u.get("change") or 0), -(u.get("value") or 0)))
    units = [u for u in units if (u.get("value") or 0) or (u.get("value_since") or 0)][:CHART_UNITS]
    if not units:
        return
    height = 62.0
    pages.need(height + 10)
    title = T["by_unit_chart"][lang].format(title=ind["title"][lang], units=T["communes"][lang],
                                            since=fmt_day(report["since"]), day=fmt_day(report["date"]))
    pages.text(MARGIN_MM, pages.y, title + (f" {HONESTY_MARK}" if is_marked(ind) else ""), 8.5, weight="bold")
    pages.y += 4.5
    ax = pages.axes(MARGIN_MM + 8, pages.y, PAGE_W_MM - 2 * MARGIN_MM - 12, height - 22)
    xs = list(range(len(units)))
    ax.bar([x - 0.2 for x in xs], [u.get("value_since") or 0 for u in units], width=0.4, color=BAR_SINCE,
           label=fmt_day(report["since"]))
    ax.bar([x + 0.2 for x in xs], [u.get("value") or 0 for u in units], width=0.4, color=BAR,
           label=fmt_day(report["date"]))
    for x, u in zip(xs, units, strict=True):
        if u.get("change"):
            ax.text(x + 0.2, u.get("value") or 0, fmt_change(u["change"], lang), ha="center", va="bottom",
                    fontsize=6, fontfamily=FONT, color=WARN, parse_math=False)
    ax.set_xticks(xs, [textwrap.shorten(u["name"], 18, placeholder="…") for u in units], rotation=55, ha="right")
    ax.set_ylabel(ind["unit"][lang], fontsize=6.5, fontfamily=FONT)
    top = max(max(u.get("value") or 0, u.get("value_since") or 0) for u in units)
    ax.set_ylim(0, top * LEGEND_HEADROOM)
    ax.legend(frameon=False, prop={"family": FONT, "size": 6.5}, loc="upper right", ncols=2)
    _style(ax, 6.5)
    pages.y += height
    if not changed:
        pages.para(T["no_unit_change"][lang], 7.5, color=MUTED)


def _title_page(pages: _Pages, report: dict, lang: str) -> None:
    ax = pages.ax
    pages.text(PAGE_W_MM / 2, 22, ORGANISATION[lang], 12, weight="bold", ha="center")
    ax.plot([80, 130], [29, 29], color=INK, lw=0.8)
    pages.text(PAGE_W_MM / 2, 80, T["title"][lang].format(year=report["year"]), 15, weight="bold", ha="center")
    for k, row in enumerate(textwrap.wrap(T["subtitle"][lang], 80)):
        pages.text(PAGE_W_MM / 2, 92 + k * 5.5, row, 10, ha="center", color=MUTED)
    facts = [(T["as_of"][lang], fmt_day(report["date"])), (T["since"][lang], fmt_day(report["since"])),
             (T["made"][lang], fmt_day(report["made"]))]
    for k, (label, value) in enumerate(facts):
        pages.text(50, 120 + k * 7, f"{label}:", 10)
        pages.text(125, 120 + k * 7, value, 10, weight="bold")
    pages.text(MARGIN_MM + 6, 155, T["contents"][lang], 10.5, weight="bold")
    sections = [T["sec_indicators"][lang], *[f"    {n}. {p['title'][lang]}" for n, p in
                                             enumerate(report["communes"]["plans"], start=1)],
                T["sec_maps"][lang], T["sec_sources"][lang], T["sec_trace"][lang]]
    for k, s in enumerate(sections):
        pages.text(MARGIN_MM + 10, 162 + k * 5.5, s, 9)
    box_y = 170 + len(sections) * 5.5
    note = T["accuracy_text"][lang].format(mark=HONESTY_MARK)
    rows = textwrap.wrap(note, 100)
    ax.add_patch(_rect(MARGIN_MM, box_y, PAGE_W_MM - 2 * MARGIN_MM, 8 + len(rows) * 4.2, "#fff3bf"))
    pages.text(MARGIN_MM + 3, box_y + 2, f"{HONESTY_MARK} {T['accuracy_note'][lang]}", 8.5, weight="bold",
               color=WARN)
    for k, row in enumerate(rows):
        pages.text(MARGIN_MM + 3, box_y + 6.5 + k * 4.2, row, 8)


def _plan_section(pages: _Pages, report: dict, number: int, plan: dict, lang: str) -> None:
    indicators = plan_indicators(report, plan["id"])
    pages.heading(f"{number}. {plan['title'][lang]}")
    day, since = fmt_day(report["date"]), fmt_day(report["since"])
    columns = [(T["col_indicator"][lang], 47, "left"), (T["col_unit"][lang], 23, "left"), (day, 18, "right"),
               (since, 18, "right"), (T["col_change"][lang], 15, "right"), (T["col_target"][lang], 16, "right"),
               (T["col_year"][lang], 10, "right"), (T["col_progress"][lang], 16, "right"),
               (T["col_accuracy"][lang], 19, "left")]
    notes: dict[str, int] = {}
    rows, marks = [], []
    for ind in indicators:
        mark = ""
        if is_marked(ind):
            note = (ind.get("honesty_note") or {}).get(lang) or ACCURACY_LABELS[ind["accuracy"]][lang]
            mark = f" {HONESTY_MARK}{notes.setdefault(note, len(notes) + 1)}"
        target = fmt_number(ind.get("target"), lang)
        if ind.get("target") is not None and ind.get("target_confidence") == "not_sourced":
            target += "*"
        rows.append([ind["title"][lang], ind["unit"][lang], fmt_number(ind["value"], lang) + mark,
                     fmt_number(ind.get("value_since"), lang), fmt_change(ind.get("change"), lang), target,
                     str(ind.get("target_year") or "—"), fmt_percent(ind.get("progress"), lang),
                     ACCURACY_LABELS.get(ind.get("accuracy"), {}).get(lang, ind.get("accuracy") or "—")])
        marks.append(bool(mark))
    _table(pages, columns, rows, marks=marks)
    if notes:
        pages.para(T["honesty_head"][lang], 7.5, color=WARN, gap=0.5)
        for note, k in notes.items():
            pages.para(f"{HONESTY_MARK}{k} {note}", 7.5, width=120, color=WARN, gap=0.5)
    if any(i.get("target") is not None and i.get("target_confidence") == "not_sourced" for i in indicators):
        pages.para(f"* {CONFIDENCE['not_sourced'][lang]}", 7.5, color=WARN, gap=0.5)
    pages.y += 2
    _progress_chart(pages, indicators, lang)
    _course_chart(pages, report, indicators, lang)
    _unit_chart(pages, report, indicators, lang)
    pages.y += 4


def _map_pages(pages: _Pages, report: dict, maps: list[tuple[str, bytes]], lang: str) -> None:
    """Each plan map (a PNG of web/printmap drawn on A4 landscape) on a landscape page of its own."""
    import matplotlib.image as mpimg

    for k, (title, png) in enumerate(maps):
        fig, ax = pages.new(landscape=True)
        heading = f"{T['sec_maps'][lang]} — {title}" if k == 0 else title
        pages.text(10, 6, heading, 10, weight="bold")
        image = mpimg.imread(io.BytesIO(png), format="png")
        h_px, w_px = image.shape[:2]
        width = PAGE_H_MM - 20
        height = min(width * h_px / w_px, PAGE_W_MM - 34)  # room for the caption above the footer
        width = height * w_px / h_px
        ax.imshow(image, extent=(10, 10 + width, 11 + height, 11), interpolation="antialiased")
        ax.set_xlim(0, PAGE_H_MM)
        ax.set_ylim(PAGE_W_MM, 0)
        pages.text(10, 13 + height, T["map_caption"][lang].format(day=fmt_day(report["date"])), 7.5, color=MUTED)
    pages.new()


def _sources(pages: _Pages, report: dict, lang: str) -> None:
    pages.heading(T["sec_sources"][lang])
    pages.text(MARGIN_MM, pages.y, T["target_docs"][lang], 9.5, weight="bold")
    pages.y += 5
    documents: dict[str, list[str]] = {}
    for ind in report["communes"]["indicators"]:
        basis = ind.get("target_basis")
        if ind.get("target") is None:
            continue
        doc = (basis or {}).get("document") or T["not_sourced"][lang]
        documents.setdefault(doc, []).append(f"{ind['id']} ({target_confidence(ind, lang)})")
    for doc, ids in documents.items():
        pages.para(f"• {doc}", 8, width=115, gap=0.3)
        pages.para(", ".join(ids), 7, width=135, x=MARGIN_MM + 4, color=MUTED, gap=1)
    pages.y += 2
    pages.text(MARGIN_MM, pages.y, T["layer_sources"][lang], 9.5, weight="bold")
    pages.y += 5
    for layer in report["layers"]:
        mix = ", ".join(f"{ACCURACY_LABELS.get(a, {}).get(lang, a)} {n}" for a, n in layer["accuracy"].items())
        pages.para(f"• {layer['title'][lang]} ({layer['id']}): {layer['attribution'] or '—'}"
                   + (f" — {layer['license']}" if layer.get("license") else ""), 8, width=115, gap=0.3)
        pages.para(f"{T['col_accuracy'][lang]}: {mix or '—'}", 7, width=135, x=MARGIN_MM + 4, color=MUTED, gap=1)
    pages.y += 2
    pages.text(MARGIN_MM, pages.y, T["accuracy_note"][lang], 9.5, weight="bold")
    pages.y += 5
    pages.para(T["accuracy_text"][lang].format(mark=HONESTY_MARK), 8, width=115)
    pages.para(DISCLAIMER[lang], 8, width=115)


def _traceability(pages: _Pages, report: dict, lang: str) -> None:
    pages.new()
    pages.heading(T["sec_trace"][lang])
    pages.para(T["trace_intro"][lang], 8, width=115)
    day, since = fmt_day(report["date"]), fmt_day(report["since"])
    columns = [(T["col_layer"][lang], 42, "left"), (f"{T['col_revision'][lang]} {day}", 22, "right"),
               (f"{T['col_fingerprint'][lang]} {day}", 34, "left"), (f"{T['col_revision'][lang]} {since}", 22,
                                                                     "right"),
               (f"{T['col_fingerprint'][lang]} {since}", 34, "left"), (T["col_features"][lang], 28, "right")]

    def revision(value: int | None) -> str:
        return T["shipped"][lang] if value is None else f"#{value}"

    rows = [[layer["id"], revision(layer["revision"]), layer["fingerprint"], revision(layer["revision_since"]),
             layer["fingerprint_since"], fmt_number(layer["features"], lang)] for layer in report["layers"]]
    _table(pages, columns, rows, size=7)
    inputs = report["communes"]["inputs"]
    facts = [(T["book"][lang], f"{report['book']['name']} — {report['book']['fingerprint']}"),
             (T["version"][lang], inputs.get("planmap_version") or "—"),
             (T["dataset"][lang], inputs.get("dataset") or "—"),
             (T["computed"][lang], inputs.get("computed_at") or "—")]
    for label, value in facts:
        pages.para(f"{label}: {value}", 8, width=120, gap=0.5)
    _course_revisions(pages, report, lang)


def _course_revisions(pages: _Pages, report: dict, lang: str) -> None:
    """The revision of each layer at every date of the course over the year (the charts' points)."""
    course = report.get("course") or {}
    if not course:
        return
    pages.y += 3
    pages.need(20)
    pages.text(MARGIN_MM, pages.y, T["course_trace"][lang], 9, weight="bold")
    pages.y += 5
    stored = {k: v for k, v in course["revisions"].items() if any(r is not None for r in v)}
    if not stored:
        pages.para(T["course_shipped"][lang], 8, width=120)
        return
    dates = course["dates"]
    width = (PAGE_W_MM - 2 * MARGIN_MM - 32) / len(dates)
    columns = [(T["col_layer"][lang], 32, "left"), *[(f"{d[8:10]}/{d[5:7]}", width, "right") for d in dates]]
    rows = [[layer_id, *[T["shipped"][lang] if r is None else f"#{r}" for r in revs]]
            for layer_id, revs in stored.items()]
    _table(pages, columns, rows, size=6)
    pages.para(T["course_others"][lang], 7.5, width=130, color=MUTED)


def plan_maps(dataset, lang: str = "vi", today=None) -> list[tuple[str, bytes]]:
    """The plan maps of `dataset` (the layers as they were on the report's date) as PNG, with their titles."""
    from web.printmap import PRESETS, render_map

    out = []
    for preset in MAP_PRESETS:
        checkpoint()  # between maps: stop if whoever asked has gone
        png = render_map(dataset, preset=preset, size="A4", orientation="landscape", fmt="png", dpi=MAP_DPI,
                         lang=lang, today=today)
        out.append((PRESETS[preset].title[lang], png))
    return out


def yearly_pdf(report: dict, maps: list[tuple[str, bytes]], lang: str = "vi",
               progress: Callable[[int, int], None] | None = None) -> bytes:
    """The yearly report as an A4 PDF: title page, a section per plan (table, progress bars, change by unit), the
    plan maps (PNG bytes with their titles), sources and accuracy, and the traceability appendix."""
    from matplotlib.backends.backend_pdf import PdfPages

    pages = _Pages(lang)
    _title_page(pages, report, lang)
    pages.new()
    pages.heading(T["sec_indicators"][lang], 13)
    for number, plan in enumerate(report["communes"]["plans"], start=1):
        checkpoint()  # between plans: stop if whoever asked has gone
        _plan_section(pages, report, number, plan, lang)
    if maps:
        _map_pages(pages, report, maps, lang)
    _sources(pages, report, lang)
    _traceability(pages, report, lang)
    total = len(pages.figures)
    for number, (_, ax, landscape) in enumerate(pages.figures, start=1):
        w, h = (PAGE_H_MM, PAGE_W_MM) if landscape else (PAGE_W_MM, PAGE_H_MM)
        if number > 1:
            ax.text(MARGIN_MM, h - 9, "\n".join(textwrap.wrap(DISCLAIMER[lang], 150)), fontsize=6,
                    fontfamily=FONT, color=MUTED, va="top", parse_math=False)
        ax.text(w - MARGIN_MM, h - 5, f"{number}/{total}", fontsize=7, fontfamily=FONT, ha="right",
                parse_math=False)
    buf = io.BytesIO()
    title = T["title"][lang].format(year=report["year"])
    with PdfPages(buf, metadata={"Title": title, "Creator": "planmap", "CreationDate": None}) as pdf:
        for number, (fig, _, _) in enumerate(pages.figures, start=1):
            checkpoint()
            pdf.savefig(fig)
            if progress:
                progress(number, total)
    return buf.getvalue()

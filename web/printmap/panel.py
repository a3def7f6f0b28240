"""The title across the top and the panel beside (landscape) or below (portrait) the map: the scale block, the
accuracy note, sources and licences, the footer, and the space left for the legend.

Blocks are measured before they are placed: in landscape they stack bottom-up under the legend; in portrait the
panel has three columns (legend | scale and note | sources and footer)."""

from __future__ import annotations

from matplotlib.patches import Rectangle

from .canvas import Canvas
from .coverage import CoverageBlock
from .furniture import grid_step
from .layout import Box
from .legend import DrawnLayer, draw_legend
from .texts import CRS_NAME, T, decimal, fmt_dist, scale_words
from .typography import draw_text, line_h

_BAR_KM = (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500)
_NOTE_TEXT = "#5a3000"  # the accuracy note: dark brown on yellow, so nobody misses it
_BODY_TEXT = "#1a1a1a"

Lines = list[tuple[str, str]]  # (text, weight) of each line of a block


def draw_title(cv: Canvas) -> None:
    """Title and subtitle centred in the title box, shrunk until they fit its width."""
    plan, meas, page = cv.plan, cv.meas, cv.page
    x, y, w, h = plan.title_box
    k = plan.k
    size = 15 * k
    while size > 7 * k and meas.width(plan.title, size, "bold") > w - 10 * k:
        size *= 0.93
    if plan.subtitle:
        draw_text(page, x + w / 2, y + h * 0.60, plan.title, size, ha="center", va="center", weight="bold",
                  color="#1a1a1a")
        sub = 8.5 * k
        while sub > 5 * k and meas.width(plan.subtitle, sub, "normal") > w - 10 * k:
            sub *= 0.93
        draw_text(page, x + w / 2, y + h * 0.22, plan.subtitle, sub, ha="center", va="center", style="italic",
                  color="#333333")
    else:
        draw_text(page, x + w / 2, y + h * 0.5, plan.title, size, ha="center", va="center", weight="bold")
    page.plot([x, x + w], [y, y], color="black", lw=0.8 * cv.ks)


def draw_panel(cv: Canvas, drawn: list[DrawnLayer], enlarged: list[float], coverage=None) -> None:
    """The panel's blocks (with the network coverage table when `coverage` is given), then the legend in the space
    they leave."""
    draw_legend(cv, drawn, Panel(cv, drawn, coverage).draw(), enlarged)


class Panel:
    """The panel's measures, shared by its blocks; each block is drawn with its bottom at a given height and
    returns its own height (mm)."""

    def __init__(self, cv: Canvas, drawn: list[DrawnLayer], coverage=None) -> None:
        self.cv, self.page, self.plan, self.drawn = cv, cv.page, cv.plan, drawn
        self.lang, self.k, self.ks = cv.plan.lang, cv.plan.k, cv.ks
        self.pad = 3 * self.k
        self.fs = 6.2 * self.k  # body text
        self.small = 5.2 * self.k
        self.slh = line_h(self.small)
        self.big = 9 * self.k  # the stated scale
        self.bar_h = 2.2 * self.k
        self.coverage = CoverageBlock(self, coverage) if coverage is not None else None

    def draw(self) -> Box:
        """The columns' borders and every block; returns the box left for the legend."""
        cols = self.columns()
        for cx, cy, cw, chh in cols:
            self.page.add_patch(Rectangle((cx, cy), cw, chh, fill=False, lw=0.7 * self.ks, edgecolor="black"))
        return self._landscape(cols[0]) if self.plan.orientation == "landscape" else self._portrait(cols)

    def columns(self) -> list[Box]:
        px, py, pw, ph = self.plan.panel
        if self.plan.orientation == "landscape":
            return [(px, py, pw, ph)]
        w1 = pw * 0.44  # legend | scale + note | sources + date
        w2 = pw * 0.27
        return [(px, py, w1, ph), (px + w1, py, w2, ph), (px + w1 + w2, py, pw - w1 - w2, ph)]

    def _landscape(self, col: Box) -> Box:
        """Bottom-up in one column: footer, sources, note, scale; the legend above them."""
        x, y, w, h = col
        k = self.k
        yb = y
        yb += self.footer(x, yb, w)
        yb += self.lines(x, yb, w, self.source_lines(w), self.small, _BODY_TEXT) + 1 * k
        yb += self.note(x + k, yb, w - 2 * k, self.note_lines(w - 2 * k)) + 2 * k
        yb += self.scale(x, yb, w) + 1 * k
        if self.coverage is not None:
            self.page.plot([x, x + w], [yb, yb], color="black", lw=0.6 * self.ks)
            yb += self.coverage.draw(x, yb, w) + 1 * k
        self.page.plot([x, x + w], [yb, yb], color="black", lw=0.6 * self.ks)
        return (x, yb, w, y + h - yb)

    def _portrait(self, cols: list[Box]) -> Box:
        """Scale and note from the top of the middle column; sources from the top and the footer at the bottom of
        the right one; the legend in the left one."""
        k = self.k
        x1, y1, w1, h1 = cols[1]
        sh = self.scale_height(w1)
        self.scale(x1, y1 + h1 - sh, w1)
        nl = self.note_lines(w1 - 2 * k)
        nh = self.lines_height(nl, self.small)
        self.note(x1 + k, y1 + h1 - sh - nh - 2 * k, w1 - 2 * k, nl)
        if self.coverage is not None:  # under the note, with the rows that fit above the column's foot
            room = h1 - sh - nh - 3 * k
            self.coverage.draw(x1, y1 + h1 - sh - nh - 3 * k - self.coverage.height(w1, room), w1, room)
        x2, y2, w2, h2 = cols[2]
        self.footer(x2, y2, w2)
        sl = self.source_lines(w2)
        self.lines(x2, y2 + h2 - self.lines_height(sl, self.small), w2, sl, self.small, _BODY_TEXT)
        return cols[0]

    # ------------------------------------------------------------------------------------------------ text blocks

    def lines_height(self, lines: Lines, size: float) -> float:
        return len(lines) * line_h(size) + self.pad

    def lines(self, x: float, y_bottom: float, w: float, lines: Lines, size: float, color: str | None,
              box: dict | None = None) -> float:
        """Lines of text from the top of the block, in a rectangle drawn with `box` (its keywords) if given."""
        lh = line_h(size)
        hgt = self.lines_height(lines, size)
        if box is not None:
            self.page.add_patch(Rectangle((x, y_bottom), w, hgt, **box))
        for i, (line, weight) in enumerate(lines):
            draw_text(self.page, x + self.pad, y_bottom + hgt - self.pad / 2 - (i + 0.5) * lh, line, size,
                      va="center", weight=weight, color=color)
        return hgt

    def footer(self, x: float, y_bottom: float, w: float) -> float:
        """The organisation, the date and the paper, framed."""
        plan, lang = self.plan, self.lang
        org = (self.cv.styles.print.get("organisation") or {}).get(lang, "")
        date = plan.today.strftime("%d/%m/%Y") if lang == "vi" else plan.today.isoformat()
        paper = T["paper"][lang].format(size=plan.size, orient=T[plan.orientation][lang])
        lines = [(org, "bold"), (f"{T['date'][lang]}: {date} · {T['made_with'][lang]}", "normal"),
                 (f"{paper} · {scale_words(plan.scale, lang)}", "normal")]
        return self.lines(x, y_bottom, w, lines, self.fs, None,
                          {"fill": False, "lw": 0.6 * self.ks, "edgecolor": "black"})

    def note(self, x: float, y_bottom: float, w: float, lines: Lines) -> float:
        """The accuracy note on yellow."""
        return self.lines(x, y_bottom, w, lines, self.small, _NOTE_TEXT,
                          {"facecolor": "#fff3bf", "edgecolor": "#b26a00", "lw": 0.8 * self.ks})

    def source_lines(self, w: float) -> Lines:
        """Sources and licences, layers with the same ones on one line."""
        groups: dict[tuple[str, str], list[str]] = {}
        for d in self.drawn:
            groups.setdefault((d.attribution or "—", d.license or "—"), []).append(d.title)
        out = [(T["sources"][self.lang], "bold")]
        for (attr, lic), titles in groups.items():
            text = f"• {'; '.join(titles)}: {attr} — {lic}"
            out.extend((line, "normal") for line in self.cv.meas.wrap(text, self.small, w - 2 * self.pad))
        return out

    def note_lines(self, w: float) -> Lines:
        """The warning, then the layers that are not exact with their accuracy, most common first."""
        lang, meas = self.lang, self.cv.meas
        parts = []
        for d in self.drawn:
            inexact = {a: n for a, n in d.accuracy.items() if a != "exact"}
            if inexact:
                ranked = sorted(inexact, key=inexact.get, reverse=True)
                parts.append(f"{d.title}: {', '.join(self.cv.styles.accuracy_label(a, lang) for a in ranked)}")
        out = [(line, "bold") for line in meas.wrap("⚠ " + T["note_head"][lang], self.fs, w - 2 * self.pad, "bold")]
        body = T["note_layers"][lang] + " " + "; ".join(parts) + "." if parts else T["note_all_exact"][lang]
        out.extend((line, "normal") for line in meas.wrap(body, self.small, w - 2 * self.pad))
        return out

    # ------------------------------------------------------------------------------------------------ scale block

    def _scale_notes(self, w: float) -> list[str]:
        lang, meas, width = self.lang, self.cv.meas, w - 2 * self.pad
        grid = T["grid"][lang].format(g=fmt_dist(grid_step(self.plan), lang))
        return meas.wrap(f"{T['crs'][lang]}: {CRS_NAME}", self.small, width) + meas.wrap(grid, self.small, width)

    def scale_height(self, w: float) -> float:
        k, slh = self.k, self.slh
        return (self.pad + line_h(self.big) + 2 * k + self.bar_h + slh * 1.2 + len(self._scale_notes(w)) * slh
                + self.pad)

    def scale(self, x: float, y_bottom: float, w: float) -> float:
        """The stated scale, a bar in km, the coordinate system and the grid spacing."""
        k, slh, page = self.k, self.slh, self.page
        hgt = self.scale_height(w)
        top = y_bottom + hgt
        draw_text(page, x + w / 2, top - self.pad - line_h(self.big) / 2, scale_words(self.plan.scale, self.lang),
                  self.big, ha="center", va="center", weight="bold")
        by = top - self.pad - line_h(self.big) - 2 * k - self.bar_h
        self._scale_bar(x, by, w)
        yy = by - slh * 1.2 - 0.6 * k
        for line in self._scale_notes(w):
            draw_text(page, x + self.pad, yy - slh / 2, line, self.small, va="center")
            yy -= slh
        return hgt

    def _scale_bar(self, x: float, by: float, w: float) -> None:
        """The longest standard length within 78 % of the block, in four black and white segments."""
        plan, k = self.plan, self.k
        avail = (w - 2 * self.pad) * 0.78
        km = max([b for b in _BAR_KM if b * 1e6 / plan.scale <= avail] or [_BAR_KM[0]])
        length = km * 1e6 / plan.scale
        bx = x + (w - length) / 2
        nseg = 4
        for i in range(nseg):
            self.page.add_patch(Rectangle((bx + i * length / nseg, by), length / nseg, self.bar_h,
                                           facecolor="black" if i % 2 == 0 else "white", edgecolor="black",
                                           lw=0.5 * self.ks))
        for i, frac in enumerate((0, 0.5, 1)):
            lab = decimal(f"{km * frac:g}", self.lang)
            draw_text(self.page, bx + length * frac, by - 0.6 * k, lab + (" km" if i == 2 else ""), self.small,
                      ha="center", va="top")

"""Small SVG charts drawn by the server for the supervision page: a bar per unit, a line over the years.

Hand-written SVG (no chart library, nothing from a CDN): the page puts the SVG into its own DOM, so each bar and
point carries `data-` attributes (the unit's code, the value) that the page's script uses (clicking a unit's bar
zooms the map to it) and that tests count.  Every text is escaped; numbers are formatted for the language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# Layout in SVG user units (the page scales the SVG to its box; these keep labels legible at about 1:1).
BAR_HEIGHT = 14  # one unit's row: 92 communes make a chart of ~1,400 units, scrolled in its box
BAR_GAP = 3
LABEL_WIDTH = 150  # unit names (e.g. "Phường Phan Đình Phùng") are cut to fit
VALUE_WIDTH = 70
CHART_WIDTH = 560
LINE_HEIGHT = 240
MARGIN = 28
FONT = "system-ui, 'Segoe UI', Roboto, 'Noto Sans', Arial, sans-serif"
BAR_COLOUR = "#2b7bb9"
CHANGE_UP = "#1a7f37"  # green: more than at the comparison date
CHANGE_DOWN = "#b42318"  # red: less
LINE_COLOUR = "#0b4f6c"
TARGET_COLOUR = "#c05621"
GRID_COLOUR = "#d9dee4"
NOTE_COLOUR = "#8a4b00"
MAX_LABEL_CHARS = 24
SMALL = 10  # figures below it get two decimals (densities), others one
YEAR_CHARS = 4  # an axis label longer than a year (the chosen day) is right-aligned at the last point


@dataclass(frozen=True)
class Bar:
    """One unit's bar: its code (to find it on the map), name, value and change since the comparison date."""

    code: str
    name: str
    value: float | None
    change: float | None = None


@dataclass(frozen=True)
class Point:
    """The indicator on one day of the series (a year end, or the chosen date)."""

    day: str  # YYYY-MM-DD
    label: str  # what the axis says, e.g. "2023"
    value: float | None


def number(value: float | None, lang: str = "vi", digits: int | None = None) -> str:
    """A figure as the page writes it: 1.234,5 in Vietnamese, 1,234.5 in English (two decimals below 10, e.g.
    0,35 stations per 10.000 people, else one); "—" when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if digits is None:
        digits = 2 if abs(value) < SMALL else 1
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    if lang == "vi":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def _cut(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


NOTE_HEIGHT = 18  # the honesty note's line under a chart
NOTE_CHARS = 110


def _svg(width: float, height: float, body: list[str], title: str, kind: str, note: str = "") -> str:
    """The chart's SVG element; `note` (the honesty note of its figures) is written under it."""
    if note:
        height += NOTE_HEIGHT
        body = [*body, f'<text class="pm-chart-note" x="4" y="{height - 5:g}" fill="{NOTE_COLOUR}">'
                       f"⚠ {escape(_cut(note, NOTE_CHARS))}</text>"]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="pm-chart pm-chart-{kind}" viewBox="0 0 {width:g} '
            f'{height:g}" width="{width:g}" height="{height:g}" role="img" font-family="{FONT}" font-size="11">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def bar_chart(bars: list[Bar], title: str, unit: str, lang: str = "vi", note: str = "") -> str:
    """A horizontal bar per unit, largest first (units without a value last, with no bar drawn): its name, the bar,
    the value and the change since the comparison date."""
    rows = sorted(bars, key=lambda b: (b.value is None, -(b.value or 0.0), b.name))
    top = max((b.value for b in rows if b.value is not None), default=0.0)
    span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH - 2 * 4
    height = MARGIN + len(rows) * (BAR_HEIGHT + BAR_GAP) + 8
    body = [f'<text x="4" y="16" font-weight="600">{escape(title)} ({escape(unit)})</text>']
    for i, bar in enumerate(rows):
        y = MARGIN + i * (BAR_HEIGHT + BAR_GAP)
        width = 0.0 if bar.value is None or top <= 0 else max(0.0, bar.value) / top * span
        change = "" if bar.change is None or bar.change == 0 else (
            ("+" if bar.change > 0 else "") + number(bar.change, lang))
        tip = f"{bar.name}: {number(bar.value, lang)} {unit}" + (f" ({change})" if change else "")
        body.append(
            f'<g class="pm-bar" data-code={quoteattr(bar.code)} data-name={quoteattr(bar.name)} '
            f'data-value="{"" if bar.value is None else repr(float(bar.value))}" tabindex="0" role="button">'
            f"<title>{escape(tip)}</title>"
            f'<text x="{LABEL_WIDTH - 4}" y="{y + BAR_HEIGHT - 3}" text-anchor="end">{escape(_cut(bar.name))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"/>'
            f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + BAR_HEIGHT - 3}">{escape(number(bar.value, lang))}'
            + (f'<tspan fill="{CHANGE_UP if (bar.change or 0) > 0 else CHANGE_DOWN}"> {escape(change)}</tspan>'
               if change else "")
            + "</text></g>")
    return _svg(CHART_WIDTH, height, body, title, "units", note)


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round steps from 0 to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(math.ceil(top / step)) + 1)]


def line_chart(points: list[Point], title: str, unit: str, lang: str = "vi", target: float | None = None,
               target_label: str | None = None, note: str = "") -> str:
    """The indicator at each point of the series joined by a line, with the target as a dashed line (if any)."""
    known = [p.value for p in points if p.value is not None]
    ticks = _ticks(max([*known, target or 0.0, 0.0]))
    top = ticks[-1] or 1.0
    left, right, y0, y1 = 56, CHART_WIDTH - 16, LINE_HEIGHT - 30, MARGIN + 6
    step = (right - left) / max(1, len(points) - 1)

    def y_of(v: float) -> float:
        return y0 - (v / top) * (y0 - y1)

    body = [f'<text x="4" y="16" font-weight="600">{escape(title)} ({escape(unit)})</text>']
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{right}" y1="{y_of(t):.1f}" y2="{y_of(t):.1f}" stroke="{GRID_COLOUR}"/>'
                    f'<text x="{left - 4}" y="{y_of(t) + 4:.1f}" text-anchor="end">{escape(number(t, lang))}</text>')
    if target is not None:
        ty = y_of(target)
        body.append(f'<g class="pm-target" data-value="{float(target)!r}"><line x1="{left}" x2="{right}" '
                    f'y1="{ty:.1f}" y2="{ty:.1f}" stroke="{TARGET_COLOUR}" stroke-dasharray="6 4"/>'
                    f'<text x="{right}" y="{ty - 4:.1f}" text-anchor="end" fill="{TARGET_COLOUR}">'
                    f"{escape(target_label or '')} {escape(number(target, lang))}</text></g>")
    xs = [left + i * step if len(points) > 1 else (left + right) / 2 for i in range(len(points))]
    path = [f"{x:.1f},{y_of(p.value):.1f}" for x, p in zip(xs, points, strict=True) if p.value is not None]
    if len(path) > 1:
        body.append(f'<polyline points="{" ".join(path)}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
    for k, (x, p) in enumerate(zip(xs, points, strict=True)):
        anchor = "end" if k == len(points) - 1 and len(points) > 1 and len(p.label) > YEAR_CHARS else "middle"
        body.append(f'<text x="{x:.1f}" y="{y0 + 16}" text-anchor="{anchor}">{escape(p.label)}</text>')
        if p.value is None:
            continue
        body.append(f'<g class="pm-point" data-day="{escape(p.day)}" data-value="{float(p.value)!r}">'
                    f"<title>{escape(p.day)}: {escape(number(p.value, lang))} {escape(unit)}</title>"
                    f'<circle cx="{x:.1f}" cy="{y_of(p.value):.1f}" r="4" fill="{LINE_COLOUR}"/>'
                    f'<text x="{x:.1f}" y="{y_of(p.value) - 8:.1f}" text-anchor="middle">'
                    f"{escape(number(p.value, lang))}</text></g>")
    return _svg(CHART_WIDTH, LINE_HEIGHT, body, title, "series", note)


# ------------------------------------------------------------------------------------------------- the indicators
TEXT = {
    "vi": {"units": "{title} — theo {units}", "series": "{title} — cuối mỗi năm", "target": "Mục tiêu {year}:",
           "communes": "xã/phường", "districts": "huyện/thành phố", "since": "thay đổi so với {since}"},
    "en": {"units": "{title} — by {units}", "series": "{title} — at each year end", "target": "Target {year}:",
           "communes": "commune", "districts": "district", "since": "change since {since}"},
}


def _day(iso: str, lang: str) -> str:
    """A day as the page writes it: 1/12/2026 in Vietnamese, 2026-12-01 in English."""
    if lang != "vi":
        return iso
    y, m, d = iso.split("-")
    return f"{int(d)}/{int(m)}/{y}"


def _pick(texts: dict | None, lang: str) -> str:
    return "" if not texts else texts.get(lang) or texts.get("vi") or ""


def units_chart(indicator: dict, units_layer: str, lang: str = "vi") -> str:
    """GET /indicators' figure of one indicator per unit, as a bar chart (one bar per unit)."""
    words = TEXT.get(lang, TEXT["vi"])
    bars = [Bar(str(u["code"]), str(u["name"]), u["value"], u.get("change")) for u in indicator["by_unit"] or []]
    title = words["units"].format(title=_pick(indicator["title"], lang),
                                  units=words["districts" if units_layer == "districts" else "communes"])
    return bar_chart(bars, title, _pick(indicator["unit"], lang), lang, _pick(indicator.get("honesty_note"), lang))


def series_chart(series: dict, lang: str = "vi") -> str:
    """indicator_series' points as a line chart, with the indicator's target (and its year) as a dashed line."""
    words = TEXT.get(lang, TEXT["vi"])
    ind = series["indicator"] or {}
    points = [Point(p["day"], p["day"][:4] if p["day"].endswith("-12-31") else _day(p["day"], lang), p["value"])
              for p in series["points"]]
    target = ind.get("target")
    label = words["target"].format(year=ind.get("target_year") or "") if target is not None else None
    return line_chart(points, words["series"].format(title=_pick(ind.get("title"), lang)), _pick(ind.get("unit"), lang),
                      lang, target=target, target_label=label, note=_pick(ind.get("honesty_note"), lang))

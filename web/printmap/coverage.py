"""The optional network coverage table of a print map (layers/coverage.py): which network and distance D, the
distance kind (straight-line), the province's area and people beyond D before and after the planned stations, the
communes with the most people beyond D, and the indicative note — so a printed map carries the same caveats as the
screen."""

from __future__ import annotations

from dataclasses import dataclass

from layers.coverage import DISTANCE_KIND, Coverage

from .texts import decimal, fmt_int
from .typography import draw_text, line_h

# Communes listed on paper: the few with the most people beyond D (the full table is the CSV export's).
PRINT_ROWS = 8
_NOTE_TEXT = "#5a3000"
WRAP_SHARE = 0.95  # lines are wrapped a little short of the block: measured widths run slightly narrow

WORDS = {
    "head": {"vi": "ĐỘ PHỦ MẠNG LƯỚI: {network}, D = {d} km",
             "en": "NETWORK COVERAGE: {network}, D = {d} km"},
    "kind": {"vi": "Khoảng cách: {kind}", "en": "Distance: {kind}"},
    "totals": {"vi": "Ngoài D — hiện trạng ({n0} cửa hàng): {a0} km², ≈ {p0} người; sau quy hoạch ({n1}): {a1} km², "
                     "≈ {p1} người",
               "en": "Beyond D — existing ({n0} stations): {a0} km², ≈ {p0} people; with planned ({n1}): {a1} km², "
                     "≈ {p1} people"},
    "columns": {"vi": ("Xã/phường", "Dân số ngoài D: hiện trạng", "sau QH"),
                "en": ("Commune/ward", "People beyond D: existing", "planned")},
    "unknown": {"vi": "Chưa có số dân của {n} xã (không tính).", "en": "Population unknown in {n} communes "
                                                                       "(not counted)."},
    "unknown_value": {"vi": "chưa rõ", "en": "unknown"},
}


@dataclass
class CoverageRequest:
    """What the print was asked to tabulate (checked by the API before the render)."""

    network: str
    distance_m: float


def _people(value: int | None, lang: str) -> str:
    return WORDS["unknown_value"][lang] if value is None else fmt_int(value)


class CoverageBlock:
    """The table as lines measured before it is placed, then drawn with its bottom at a given height."""

    def __init__(self, panel, result: Coverage) -> None:
        self.panel, self.result = panel, result
        self.lang, self.k = panel.lang, panel.k
        self.size = panel.small
        self.lh = line_h(self.size)

    def _lines(self, w: float) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]], list[str]]:
        r, lang, meas = self.result, self.lang, self.panel.cv.meas
        width = (w - 2 * self.panel.pad) * WRAP_SHARE
        s = r.summary
        head = WORDS["head"][lang].format(network=r.network.label[lang],
                                          d=decimal(f"{r.distance_m / 1000:g}", lang))
        top = [(line, "bold") for line in meas.wrap(head, self.size, width, "bold")]
        top += [(line, "normal") for line in meas.wrap(WORDS["kind"][lang].format(kind=DISTANCE_KIND[lang]),
                                                       self.size, width)]
        totals = WORDS["totals"][lang].format(
            n0=r.stations["before"]["count"], n1=r.stations["after"]["count"],
            a0=fmt_int(s["before"]["area_beyond_km2"]), a1=fmt_int(s["after"]["area_beyond_km2"]),
            p0=_people(s["before"]["population_beyond"], lang), p1=_people(s["after"]["population_beyond"], lang))
        top += [(line, "normal") for line in meas.wrap(totals, self.size, width)]
        ranked = sorted((c for c in r.communes if c["before"]["population_beyond"]),
                        key=lambda c: -c["before"]["population_beyond"])[:PRINT_ROWS]
        rows = [(c["name"] or "—", _people(c["before"]["population_beyond"], lang),
                 _people(c["after"]["population_beyond"], lang)) for c in ranked]
        tail = []
        if s["communes_population_unknown"]:
            tail += meas.wrap(WORDS["unknown"][lang].format(n=len(s["communes_population_unknown"])), self.size,
                              width)
        tail += meas.wrap(f"{r.notes['indicative'][lang]} {r.notes['after'][lang]}", self.size, width)
        return top, rows, tail

    def _fitted(self, w: float, max_height: float | None):
        """The lines, with as many commune rows as fit in `max_height` (the caveats are never left out)."""
        top, rows, tail = self._lines(w)
        if max_height is not None:
            room = int((max_height - 2 * self.panel.pad) // self.lh) - len(top) - 1 - len(tail)
            rows = rows[:max(room, 0)]
        return top, rows, tail

    def height(self, w: float, max_height: float | None = None) -> float:
        top, rows, tail = self._fitted(w, max_height)
        return (len(top) + 1 + len(rows) + len(tail)) * self.lh + 2 * self.panel.pad

    def draw(self, x: float, y_bottom: float, w: float, max_height: float | None = None) -> float:
        """The block with its bottom at `y_bottom` (as many rows as fit in `max_height`); returns its height."""
        page, pad, lh, size = self.panel.page, self.panel.pad, self.lh, self.size
        top, rows, tail = self._fitted(w, max_height)
        hgt = self.height(w, max_height)
        y = y_bottom + hgt - pad - lh / 2
        for line, weight in top:
            draw_text(page, x + pad, y, line, size, va="center", weight=weight)
            y -= lh
        right1, right2 = x + w * 0.78, x + w - pad
        for i, (name, before, after) in enumerate([WORDS["columns"][self.lang], *rows]):
            weight = "bold" if i == 0 else "normal"
            draw_text(page, x + pad, y, name, size, va="center", weight=weight)
            draw_text(page, right1, y, before, size, va="center", ha="right", weight=weight)
            draw_text(page, right2, y, after, size, va="center", ha="right", weight=weight)
            y -= lh
        for line in tail:
            draw_text(page, x + pad, y, line, size, va="center", color=_NOTE_TEXT)
            y -= lh
        return hgt

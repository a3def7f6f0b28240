"""The sheet's one font: measuring and wrapping text in page millimetres, and drawing it as real text."""

from __future__ import annotations

from matplotlib import patheffects
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

FONT = "DejaVu Sans"  # ships with matplotlib; covers Vietnamese


class Measure:
    """Text sizes in mm from the font itself, so the layout is decided before anything is drawn (no renderer)."""

    def __init__(self) -> None:
        self.ttp = TextToPath()
        self.cache: dict = {}

    def width(self, s: str, size: float, weight: str = "normal", style: str = "normal") -> float:
        key = (s, size, weight, style)
        if key not in self.cache:
            prop = FontProperties(family=FONT, size=size, weight=weight, style=style)
            w, _, _ = self.ttp.get_text_width_height_descent(s, prop, ismath=False)
            self.cache[key] = w * 25.4 / 72
        return self.cache[key]

    def wrap(self, text: str, size: float, width: float, weight: str = "normal") -> list[str]:
        """Greedy word wrap to `width` mm; a newline in `text` always starts a line."""
        lines: list[str] = []
        for para in text.split("\n"):
            cur = ""
            for word in para.split(" "):
                cand = f"{cur} {word}" if cur else word
                if cur and self.width(cand, size, weight) > width:
                    lines.append(cur)
                    cur = word
                else:
                    cur = cand
            lines.append(cur)
        return lines


def line_h(size: float) -> float:
    """Line height in mm of text `size` points high."""
    return size * 25.4 / 72 * 1.3


def draw_text(ax, x, y, s, size, **kw):
    """Text as text (never mathtext); a `halo` (line width in points) is drawn as a white copy underneath, so the
    text itself stays a text object in the PDF (path effects would turn it into outlines no PDF reader can search)."""
    kw.setdefault("fontfamily", FONT)
    halo = kw.pop("halo", None)
    if halo:
        under = {k: v for k, v in kw.items() if k not in ("color", "alpha", "bbox")}
        ax.text(x, y, s, fontsize=size, parse_math=False, color="white",
                path_effects=[patheffects.Stroke(linewidth=halo, foreground="white")], **under)
    return ax.text(x, y, s, fontsize=size, parse_math=False, **kw)

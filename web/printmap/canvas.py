"""The figure of one render and what every drawing step shares: the page axes in mm, the map axes in EPSG:9213
metres, the plan, the style tables and the text measure.

A new `Figure` per render (never pyplot), so renders in concurrent server threads share no state."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import matplotlib
import shapely
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from geo.cancel import checkpoint

from .layout import MapPlan
from .symbols import Styles
from .texts import CRS_NAME
from .typography import Measure

# Embed TrueType (Type 42) fonts in PDFs: Vietnamese text stays selectable and searchable; with the default
# Type 3 fonts glyphs outside Latin-1 become drawings.  A process-wide setting read at save time.
matplotlib.rcParams["pdf.fonttype"] = 42


@dataclass
class Canvas:
    """One sheet being drawn: `page` spans the paper in mm (decorations, text), `ax` the map frame in metres."""

    plan: MapPlan
    fig: Figure
    page: Axes
    ax: Axes
    styles: Styles = field(default_factory=Styles)
    meas: Measure = field(default_factory=Measure)

    @property
    def ks(self) -> float:
        """Line widths and symbols grow more slowly than the paper (A1 lines are not twice as heavy as A3's)."""
        return self.plan.k ** 0.7

    @property
    def mpp(self) -> float:
        """Ground metres per paper mm."""
        return self.plan.scale / 1000.0

    @property
    def extent_box(self) -> shapely.Polygon:
        """The map extent (EPSG:9213) as a polygon, for clipping and intersecting."""
        return shapely.box(*self.plan.extent)


def new_canvas(plan: MapPlan) -> Canvas:
    """A white page with the map axes (under) and the page axes (over) laid out as the plan says."""
    styles, meas = Styles(), Measure()
    W, H = plan.page
    fig = Figure(figsize=(W / 25.4, H / 25.4), dpi=plan.dpi)
    fig.patch.set_facecolor("white")
    page = fig.add_axes((0, 0, 1, 1), zorder=3)
    page.set_xlim(0, W)
    page.set_ylim(0, H)
    page.set_axis_off()
    page.patch.set_visible(False)
    fx, fy, fw, fh = plan.frame
    ax = fig.add_axes((fx / W, fy / H, fw / W, fh / H), zorder=1)
    ext = plan.extent
    ax.set_xlim(ext[0], ext[2])
    ax.set_ylim(ext[1], ext[3])
    ax.set_axis_off()
    ax.set_aspect("auto")
    return Canvas(plan, fig, page, ax, styles, meas)


class _Checkpoint(Artist):
    """Draws nothing; while the sheet is encoded (most of a render's time) it stops the render if the client who
    asked for it has gone (geo/cancel.py)."""

    def draw(self, renderer) -> None:
        checkpoint()


def _add_checkpoints(cv: Canvas) -> None:
    """A checkpoint after each z-order band of the map (every layer has its own) and after the page furniture."""
    for axes in (cv.ax, cv.page):
        for z in sorted({child.zorder for child in axes.get_children()}):
            axes.add_artist(_Checkpoint()).set_zorder(z)


def encode(cv: Canvas) -> bytes:
    """The sheet as PDF or PNG bytes, with no creation date so the same map gives the same bytes."""
    plan = cv.plan
    _add_checkpoints(cv)
    buf = io.BytesIO()
    if plan.fmt == "pdf":
        cv.fig.savefig(buf, format="pdf", dpi=plan.dpi,
                       metadata={"Title": plan.title, "Creator": "planmap", "Subject": CRS_NAME,
                                 "CreationDate": None, "ModDate": None})
    else:
        cv.fig.savefig(buf, format="png", dpi=plan.dpi, metadata={"Title": plan.title, "Software": "planmap"},
                       pil_kwargs={"optimize": False, "compress_level": 6})
    return buf.getvalue()

"""A print map from request to bytes: plan, draw in order (map, grid, north arrow, labels, frame, title, panel),
encode; progress is reported as it goes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from geo.cancel import checkpoint

from .canvas import encode, new_canvas
from .features import draw_features
from .furniture import draw_frame, draw_grid, draw_north_arrow
from .labels import place_labels
from .layout import MapPlan, plan_map
from .panel import draw_panel, draw_title


class _Progress:
    """Calls `report(step, total)`: step 0 at once, then one step per `tick()`."""

    def __init__(self, report: Callable[[int, int], None] | None, total: int) -> None:
        self.report, self.total, self.step = report, total, 0
        if report is not None:
            report(0, total)

    def tick(self) -> None:
        """One stage done: report it, and stop here if the client who asked has gone (geo/cancel.py)."""
        checkpoint()
        self.step += 1
        if self.report is not None:
            self.report(self.step, self.total)


def render_map(dataset, *, preset: str = "cluster-plan-2030", collections=None, bbox=None, bbox_crs: str = "CRS84",
               size: str | None = None, orientation: str | None = None, fmt: str = "pdf", dpi: int = 200,
               title: str | None = None, lang: str = "vi", today: dt.date | None = None,
               progress: Callable[[int, int], None] | None = None,
               coverage: tuple[str, float] | None = None) -> bytes:
    """A print-ready map as PDF or PNG bytes.

    preset: a key of PRESETS; collections: thematic layers (list or comma-separated) drawn over the preset's base
    layers instead of the preset's own; bbox: minx,miny,maxx,maxy in bbox_crs (CRS84 by default) — the map shows
    at least this area; size A4|A3|A1 and orientation landscape|portrait (default: the preset's); fmt pdf|png;
    dpi 72–600 (PNG pixels = mm / 25.4 × dpi); title replaces the preset title; lang vi|en; today: the date printed;
    progress(step, total) is called as the layers are drawn; coverage: (network, distance D in m) adds the network
    coverage table to the panel.  Raises PrintError on bad input."""
    plan = plan_map(dataset, preset=preset, collections=collections, bbox=bbox, bbox_crs=bbox_crs, size=size,
                    orientation=orientation, fmt=fmt, dpi=dpi, title=title, lang=lang, today=today,
                    coverage=coverage)
    return draw_plan(dataset, plan, progress=progress)


def draw_plan(dataset, plan: MapPlan, progress: Callable[[int, int], None] | None = None) -> bytes:
    """Draw a laid-out plan (see plan_map) and encode it.

    The order matters: labels come after everything they must not cover, and artists of equal z-order are
    painted in the order they are added."""
    steps = _Progress(progress, len(plan.layers) + 3)
    cv = new_canvas(plan)
    content = draw_features(cv, dataset, steps.tick)
    draw_grid(cv)
    content.obstacles.extend(draw_north_arrow(cv))
    place_labels(cv, content.labels, content.obstacles)
    steps.tick()
    draw_frame(cv)
    draw_title(cv)
    table = None
    if plan.coverage is not None:  # the analysis of today's stations (cached per dataset: layers/coverage.py)
        from layers.coverage import coverage as network_coverage

        table = network_coverage(dataset, plan.coverage[0], plan.coverage[1])
    draw_panel(cv, content.drawn, content.enlarged, table)
    steps.tick()
    body = encode(cv)
    steps.tick()
    return body

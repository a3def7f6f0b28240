"""What is drawn inside the map frame: the grey mask outside the province, then each layer's features by class,
and what each layer leaves for later steps (legend rows, label jobs, boxes labels must avoid)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from matplotlib.patches import PathPatch

from geo.crs import to_metres
from layers.admin import province_outline

from .canvas import Canvas
from .labels import LabelJob
from .layout import Box, MapPlan
from .legend import DrawnLayer, layer_rows
from .symbols import Classes, draw_group, layer_kind, matches, mpl_style, polygon_path


@dataclass
class MapContent:
    """What the map drew, for the steps after it."""

    drawn: list[DrawnLayer] = field(default_factory=list)  # in drawing order
    obstacles: list[Box] = field(default_factory=list)  # page-mm boxes no label may cover
    labels: list[LabelJob] = field(default_factory=list)
    enlarged: list[float] = field(default_factory=list)  # minimum symbol sizes (mm) applied somewhere


def draw_features(cv: Canvas, dataset, on_layer: Callable[[], None]) -> MapContent:
    """The mask, then every layer of the plan in drawing order; `on_layer()` after each (for progress)."""
    mask_outside_province(cv, dataset)
    content = MapContent()
    z = 1.0  # each layer with features drawn gets the next z band
    for lid in cv.plan.layers:
        if _draw_layer(cv, lid, dataset.get(lid), z, content):
            z += 1
        on_layer()
    return content


def mask_outside_province(cv: Canvas, dataset) -> None:
    """Grey out what lies outside the province in force on the map's date (layers.admin decides which outline)."""
    plan = cv.plan
    outline84 = province_outline(dataset, plan.today) if "province" in plan.layers else None
    if outline84 is None:
        return
    outline = to_metres(np.array([outline84]))[0]
    mask = cv.extent_box.buffer(cv.mpp * 5, join_style="mitre").difference(outline)
    path = polygon_path(mask) if not mask.is_empty else None
    if path is not None:
        fill = (cv.styles.print.get("mask") or {}).get("fillColor", "#eeeeee")
        cv.ax.add_patch(PathPatch(path, facecolor=fill, edgecolor="none", zorder=0.5))


def _draw_layer(cv: Canvas, lid: str, layer, z: float, content: MapContent) -> bool:
    """Draw one layer's features in the extent and note what later steps need; False when none was drawn."""
    kind = layer_kind(layer)
    frame, geoms = _visible(cv, lid, layer.frame)
    title = layer.meta.text("title", cv.plan.lang)
    drawn = DrawnLayer(lid, title, [], _accuracy_mix(frame), layer.meta.attribution, layer.meta.license)
    if len(frame):
        pl = cv.styles.print_layer(lid)
        geoms = _enlarge_small(cv, pl, kind, geoms, content.enlarged)
        classes = Classes.of(cv.styles, lid, frame)
        half = _draw_classes(cv, lid, kind, geoms, classes, z)
        drawn.rows = layer_rows(cv, lid, kind, title, frame, classes)
        if kind == "point":  # points as the squares their symbols cover, for obstacles and labels
            geoms = shapely.buffer(geoms, half, cap_style="square")
        if lid not in cv.plan.preset.base or kind == "point":
            content.obstacles.extend(_paper_boxes(cv.plan, geoms))
        spec = pl.get("label")
        if spec and spec.get("field") in frame.columns:
            content.labels.append(LabelJob(int(spec.get("priority", 5)), lid, spec, frame, geoms, kind))
    content.drawn.append(drawn)
    return bool(len(frame))


def _visible(cv: Canvas, lid: str, frame):
    """The features in the map extent that the preset's filters keep, and their geometries in EPSG:9213."""
    geoms = to_metres(frame.geometry.to_numpy())
    keep = shapely.intersects(geoms, cv.extent_box) & ~shapely.is_empty(geoms)
    keep &= matches(frame, cv.plan.preset.filters.get(lid) or {})
    return frame[keep], geoms[keep]


def _accuracy_mix(frame) -> dict[str, int]:
    if "accuracy" not in frame.columns:
        return {}
    return {str(a): int(n) for a, n in frame["accuracy"].value_counts().items()}


def _enlarge_small(cv: Canvas, pl: dict, kind: str, geoms: np.ndarray, enlarged: list[float]) -> np.ndarray:
    """Polygons too small at this scale become squares of the layer's minimum symbol size (`minSymbolMm`), so a
    cluster of 5 ha still shows on a 1:400 000 sheet; the size used is noted for the legend."""
    min_mm = float(pl.get("minSymbolMm", 0)) * cv.ks
    if kind != "polygon" or min_mm <= 0:
        return geoms
    mpp = cv.mpp
    b = shapely.bounds(geoms)
    small = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / mpp < min_mm
    if not small.any():
        return geoms
    pts = shapely.point_on_surface(geoms[small])
    geoms = geoms.copy()
    geoms[small] = shapely.buffer(pts, min_mm * mpp / 2, cap_style="square")
    enlarged.append(float(pl.get("minSymbolMm")) * cv.ks)
    return geoms


def _draw_classes(cv: Canvas, lid: str, kind: str, geoms: np.ndarray, classes: Classes, z: float) -> np.ndarray:
    """Each (class, phase) group in its style, polygons under lines under points; returns half the symbol size
    of each feature in metres (what a point's symbol covers on the ground)."""
    zs = {"polygon": 0, "line": 100, "point": 200}[kind]
    half = np.zeros(len(geoms))
    for gi, (c, ph) in enumerate(classes.groups):
        sel = classes.mask(c, ph)
        sty = mpl_style(cv.styles.style(lid, kind, c, ph), kind, cv.ks)
        draw_group(cv.ax, kind, geoms[sel], sty, z + zs + gi * 0.01)
        half[sel] = (sty.size + sty.lw) / 2 * 25.4 / 72 * cv.mpp
    return half


def _paper_boxes(plan: MapPlan, geoms: np.ndarray) -> list[Box]:
    """Each geometry's bounds on the page (mm), 0.3 mm larger."""
    bx = shapely.bounds(geoms)
    px0, py0 = plan.to_paper(bx[:, 0], bx[:, 1])
    px1, py1 = plan.to_paper(bx[:, 2], bx[:, 3])
    return list(zip(px0 - 0.3, py0 - 0.3, px1 + 0.3, py1 + 0.3, strict=True))

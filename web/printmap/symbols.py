"""Symbols: web/styles.json (the screen map's table) with web/print_styles.json on top, turned into matplotlib
styles, and groups of features drawn with them.

Paper and screen read the same table, so a colour changed for the web map changes on the printed map too."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from .presets import LABELS, PRINT_STYLES, STYLES, read_json

PX_TO_PT = 0.75  # CSS px (styles.json) → points


def is_missing(v) -> bool:
    """None, NaN or pandas NA: a value a feature does not have (pandas gives any of them, by dtype and version)."""
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def class_key(v) -> str | None:
    """A field value as the key of the style tables (110.0 → "110"); None when missing."""
    if is_missing(v):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def layer_kind(layer) -> str:
    """polygon, line or point: from the declared geometry type, else from the most common geometry."""
    gt = (layer.geometry_type or "").lower()
    for kind in ("polygon", "line", "point"):
        if kind in gt:
            return kind
    tid = shapely.get_type_id(layer.frame.geometry.to_numpy())
    tid = tid[tid >= 0]
    if len(tid):
        common = int(np.bincount(tid).argmax())
        if common in (3, 6):
            return "polygon"
        if common in (1, 5):
            return "line"
    return "point"


class Styles:
    """styles.json (screen) with print_styles.json on top, and the value labels of labels.json."""

    def __init__(self) -> None:
        self.web = read_json(STYLES)
        self.print = read_json(PRINT_STYLES)
        self.labels = read_json(LABELS)

    def web_layer(self, lid: str) -> dict:
        return (self.web.get("layers") or {}).get(lid) or {}

    def print_layer(self, lid: str) -> dict:
        return (self.print.get("layers") or {}).get(lid) or {}

    def by(self, lid: str) -> str | None:
        return self.print_layer(lid).get("by") or self.web_layer(lid).get("by")

    def phase_field(self, lid: str) -> str | None:
        return (self.web_layer(lid).get("phase") or {}).get("field")

    def class_order(self, lid: str) -> list[str]:
        pl, wl = self.print_layer(lid), self.web_layer(lid)
        if pl.get("by"):
            return list((pl.get("classes") or {}).keys())
        return list((wl.get("classes") or {}).keys())

    def phase_order(self, lid: str) -> list[str]:
        return list(((self.web_layer(lid).get("phase") or {}).get("classes") or {}).keys())

    def style(self, lid: str, kind: str, cls: str | None, phase: str | None) -> dict:
        """The style of a class and phase: fallback, then the layer's base, its class, its phase; print over web."""
        wl, pl = self.web_layer(lid), self.print_layer(lid)
        s = dict((self.web.get("fallback") or {}).get(kind) or {})
        s.update(wl.get("base") or {})
        s.update(pl.get("base") or {})
        if cls is not None:
            if not pl.get("by") or pl.get("by") == wl.get("by"):
                s.update((wl.get("classes") or {}).get(cls) or {})
            s.update((pl.get("classes") or {}).get(cls) or {})
        if phase is not None:
            s.update(((wl.get("phase") or {}).get("classes") or {}).get(phase) or {})
            s.update(((pl.get("phase") or {}).get("classes") or {}).get(phase) or {})
        return s

    def value_label(self, field_name: str, value: str, lang: str) -> str:
        entry = ((self.labels.get("values") or {}).get(field_name) or {}).get(value)
        if entry:
            return entry.get(lang) or entry.get("vi") or value
        if field_name == "voltage_kv":
            return f"{value} kV"
        return value

    def accuracy_label(self, value: str, lang: str) -> str:
        return self.value_label("accuracy", value, lang).lower()


@dataclass
class MplStyle:
    """A styles.json style converted for matplotlib (points)."""

    edge: tuple
    face: tuple | str
    lw: float
    dashes: tuple | None
    hatch: str | None
    size: float  # point marker diameter in points

    @property
    def linestyle(self):
        return self.dashes if self.dashes else "solid"


def mpl_style(s: dict, kind: str, ks: float) -> MplStyle:
    """CSS px and Leaflet options → points, scaled by `ks` (the paper's line factor)."""
    color = s.get("color", "#3388ff")
    edge = to_rgba(color, float(s.get("opacity", 1.0)))
    if kind == "line" or s.get("fill") is False:
        face: tuple | str = "none"
    else:
        face = to_rgba(s.get("fillColor", color), float(s.get("fillOpacity", 0.2)))
    lw = float(s.get("weight", 3)) * PX_TO_PT * ks
    dashes = None
    if s.get("dashArray"):
        nums = [float(v) * PX_TO_PT * ks for v in re.split(r"[ ,]+", str(s["dashArray"]).strip()) if v]
        if nums and lw > 0:
            dashes = (0, tuple(max(d / lw, 0.05) for d in nums))
    size = 2 * float(s.get("radius", 5)) * PX_TO_PT * ks
    return MplStyle(edge=edge, face=face, lw=lw, dashes=dashes, hatch=s.get("hatch"), size=size)


def matches(frame, wanted: dict[str, list]) -> np.ndarray:
    """Rows whose value in each named field is one of the values listed (fields the layer lacks are ignored)."""
    keep = np.ones(len(frame), dtype=bool)
    for col, allowed in wanted.items():
        if col in frame.columns:
            keep &= frame[col].astype(str).isin([str(a) for a in allowed]).to_numpy()
    return keep


def _keys(frame, column: str | None) -> pd.Series:
    """Each feature's style key in `column`, None where missing (an object Series: pandas' `map` would turn the
    None back into NaN, which is no key and no label)."""
    if column and column in frame.columns:
        values = [class_key(v) for v in frame[column].to_numpy(dtype=object)]
    else:
        values = [None] * len(frame)
    return pd.Series(values, index=frame.index, dtype=object)


def _rank(order: list[str], value: str | None) -> int:
    return order.index(value) if value in order else 99


def _group_order(class_order: list[str], phase_order: list[str], group: tuple) -> tuple:
    c, ph = group
    return (_rank(class_order, c), str(c), _rank(phase_order, ph), str(ph))


def _equal(keys: pd.Series, value: str | None) -> np.ndarray:
    return ((keys == value) if value is not None else keys.isna()).to_numpy()


@dataclass
class Classes:
    """A layer's features split by class (the style's `by` field) and plan phase, in the style table's order."""

    by: str | None
    phase_field: str | None
    cls: pd.Series  # per feature: its class key or None
    phase: pd.Series  # per feature: its phase key or None
    groups: list[tuple[str | None, str | None]]  # (class, phase) pairs present, in drawing and legend order

    @classmethod
    def of(cls, styles: Styles, lid: str, frame) -> Classes:
        by, phase_field = styles.by(lid), styles.phase_field(lid)
        keys, phases = _keys(frame, by), _keys(frame, phase_field)
        order = partial(_group_order, styles.class_order(lid), styles.phase_order(lid))
        groups = sorted(set(zip(keys, phases, strict=True)), key=order)
        return cls(by, phase_field, keys, phases, groups)

    @property
    def classes(self) -> list[str | None]:
        return list(dict.fromkeys(g[0] for g in self.groups))

    @property
    def phases(self) -> list[str]:
        return [p for p in dict.fromkeys(g[1] for g in self.groups) if p is not None]

    def class_mask(self, c: str | None) -> np.ndarray:
        return _equal(self.cls, c)

    def mask(self, c: str | None, ph: str | None) -> np.ndarray:
        return _equal(self.cls, c) & _equal(self.phase, ph)


# ---------------------------------------------------------------------------------------------------- geometry

def polygon_path(geom) -> MplPath | None:
    """A (multi)polygon with its holes as one matplotlib path; None when nothing is left to draw."""
    verts, codes = [], []
    parts = geom.geoms if hasattr(geom, "geoms") else [geom]
    for poly in parts:
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            c = np.asarray(ring.coords)[:, :2]
            if len(c) < 3:
                continue
            verts.append(c)
            cc = np.full(len(c), MplPath.LINETO, dtype=np.uint8)
            cc[0], cc[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            codes.append(cc)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _line_parts(geom) -> list[np.ndarray]:
    if geom is None or geom.is_empty:
        return []
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _line_parts(g)]
    if geom.geom_type in ("Polygon",):
        return [np.asarray(r.coords)[:, :2] for r in (geom.exterior, *geom.interiors)]
    if geom.geom_type in ("LineString", "LinearRing"):
        return [np.asarray(geom.coords)[:, :2]]
    return []


def _draw_polygons(ax, geoms: np.ndarray, s: MplStyle, zorder: float) -> None:
    paths = [p for p in (polygon_path(g) for g in geoms) if p is not None]
    if not paths:
        return
    coll = PatchCollection([PathPatch(p) for p in paths], facecolors=[s.face] if s.face != "none" else "none",
                           edgecolors=[s.edge], linewidths=s.lw, linestyles=[s.linestyle], zorder=zorder,
                           joinstyle="round")
    if s.hatch:
        coll.set_hatch(s.hatch)
        coll.set_hatch_linewidth(max(0.35, s.lw * 0.35))
    ax.add_collection(coll, autolim=False)


def _draw_lines(ax, geoms: np.ndarray, s: MplStyle, zorder: float) -> None:
    parts = [p for g in geoms for p in _line_parts(g)]
    if not parts:
        return
    ax.add_collection(LineCollection(parts, colors=[s.edge], linewidths=s.lw, linestyles=[s.linestyle],
                                     zorder=zorder, capstyle="round", joinstyle="round"), autolim=False)


def _draw_points(ax, geoms: np.ndarray, s: MplStyle, zorder: float) -> None:
    pts = shapely.get_coordinates(geoms)
    if not len(pts):
        return
    ax.scatter(pts[:, 0], pts[:, 1], s=s.size ** 2, c=[s.face if s.face != "none" else (1, 1, 1, 0)],
               edgecolors=[s.edge], linewidths=s.lw, linestyles=s.linestyle, zorder=zorder, clip_on=True)


def draw_group(ax, kind: str, geoms: np.ndarray, s: MplStyle, zorder: float) -> None:
    """One style's features as one collection (fast to draw, small in the PDF)."""
    draw = {"polygon": _draw_polygons, "line": _draw_lines}.get(kind, _draw_points)
    draw(ax, geoms, s, zorder)

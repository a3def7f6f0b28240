"""Print-ready plan maps: PDF or PNG of chosen layers on A4, A3 or A1, rendered on the server with no internet.

The map is drawn in VN-2000 / TM-3 106°30′ (EPSG:9213) at a standard scale that is true on paper, with a VN-2000
grid labelled in metres, a scale bar, grid north, a title block, the legend of what is drawn (symbols from
web/styles.json, the screen map's own table, plus the print additions of web/print_styles.json), sources and
licences, the accuracy note for non-exact layers and the date.

Only matplotlib's object-oriented API is used (a `Figure` per call, never pyplot), so concurrent renders in server
threads do not share state; call `render_map` from a worker thread (it takes a few seconds on A1).

    from web.printmap import render_map
    pdf = render_map(dataset, preset="cluster-plan-2030", size="A3", orientation="landscape", fmt="pdf")
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Polygon, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextToPath

from geo.crs import METRIC_CRS, UnsupportedCrsError, parse_crs, to_metres, transform_bbox
from geo.errors import BadRequest
from layers.admin import province_outline

# Embed TrueType (Type 42) fonts in PDFs: Vietnamese text stays selectable and searchable (pdftotext finds it);
# with the default Type 3 fonts glyphs outside Latin-1 become drawings.  A process-wide setting read at save time.
matplotlib.rcParams["pdf.fonttype"] = 42

WEB = Path(__file__).resolve().parent
STYLES = WEB / "styles.json"
PRINT_STYLES = WEB / "print_styles.json"
LABELS = WEB / "labels.json"

FONT = "DejaVu Sans"  # ships with matplotlib; covers Vietnamese
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "A1": (594.0, 841.0)}
ORIENTATIONS = ("landscape", "portrait")
FORMATS = ("pdf", "png")
LANGS = ("vi", "en")
DPI_RANGE = (72, 600)
MAX_PIXELS = 150_000_000  # a PNG larger than this (A1 above ≈ 430 dpi) is refused: it would need gigabytes
MAX_TITLE = 200
CRS_NAME = "VN-2000 / TM-3 106°30′ (EPSG:9213)"
PX_TO_PT = 0.75  # CSS px (styles.json) → points
# Standard scales: 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 × 10ⁿ.
_SCALE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5)
_GRID_STEPS = (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 25_000, 50_000, 100_000, 200_000)
_BAR_KM = (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500)
_PHASE_WORD = {"vi": "Giai đoạn", "en": "Phase"}

T = {  # page texts
    "legend": {"vi": "CHÚ GIẢI", "en": "LEGEND"},
    "scale": {"vi": "Tỷ lệ", "en": "Scale"},
    "crs": {"vi": "Hệ tọa độ", "en": "Coordinate system"},
    "grid": {"vi": "Lưới tọa độ VN-2000, ô lưới {g}; X hướng Bắc, Y hướng Đông, đơn vị mét",
             "en": "VN-2000 grid every {g}; X northing, Y easting, in metres"},
    "north": {"vi": "Bắc lưới", "en": "Grid north"},
    "north_letter": {"vi": "B", "en": "N"},
    "note_head": {"vi": "Dữ liệu minh họa/gần đúng — không phải số liệu chính thức.",
                  "en": "Demonstration/approximate data — not official figures."},
    "note_layers": {"vi": "Các lớp không chính xác tuyệt đối:", "en": "Layers that are not exact:"},
    "note_all_exact": {"vi": "Mọi lớp trên bản đồ đều có độ chính xác «chính xác».",
                       "en": "Every layer on the map is exact."},
    "sources": {"vi": "NGUỒN DỮ LIỆU VÀ GIẤY PHÉP", "en": "SOURCES AND LICENCES"},
    "date": {"vi": "Ngày lập", "en": "Date"},
    "made_with": {"vi": "Lập bằng planmap", "en": "Made with planmap"},
    "paper": {"vi": "Khổ {size} {orient}", "en": "{size} {orient}"},
    "landscape": {"vi": "ngang", "en": "landscape"},
    "portrait": {"vi": "dọc", "en": "portrait"},
    "enlarged": {"vi": "Ký hiệu được phóng to khi đối tượng nhỏ hơn {mm} mm trên giấy",
                 "en": "Symbols enlarged where the feature is smaller than {mm} mm on paper"},
    "outside": {"vi": "Ngoài địa giới tỉnh", "en": "Outside the province"},
    "counts": {"vi": "(n; ha): số đối tượng trên bản đồ; tổng diện tích",
               "en": "(n; ha): features on the map; total area"},
}


class PrintError(BadRequest):
    """Input a print map cannot be made from; `.en` and `.vi` carry the message in each language."""

    code = "PrintError"


@dataclass(frozen=True)
class MapPreset:
    """A named map: title, the layers it draws (drawing order), its default extent and paper."""

    id: str
    title: dict[str, str]
    subtitle: dict[str, str]
    base: tuple[str, ...]  # always drawn (when the dataset has them)
    collections: tuple[str, ...]  # thematic layers drawn unless the caller chooses others
    extent: dict = field(default_factory=dict)  # {"layer", "field", "value"}: features whose bounds frame the map
    size: str = "A3"
    orientation: str = "landscape"
    stats: dict[str, str] = field(default_factory=dict)  # layer → area field summed in the legend
    filters: dict[str, dict[str, list]] = field(default_factory=dict)  # layer → {field: [values drawn]}


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _load_presets() -> dict[str, MapPreset]:
    out = {}
    for pid, p in (_read_json(PRINT_STYLES).get("presets") or {}).items():
        out[pid] = MapPreset(id=pid, title=dict(p["title"]), subtitle=dict(p.get("subtitle") or {}),
                             base=tuple(p.get("base") or ()), collections=tuple(p.get("collections") or ()),
                             extent=dict(p.get("extent") or {}), size=p.get("size", "A3"),
                             orientation=p.get("orientation", "landscape"), stats=dict(p.get("stats") or {}),
                             filters=dict(p.get("filters") or {}))
    return out


PRESETS: dict[str, MapPreset] = _load_presets()


# ---------------------------------------------------------------------------------------------------- the plan

@dataclass
class MapPlan:
    """Everything decided before drawing: validated inputs, page layout (mm) and the map extent (EPSG:9213 m)."""

    preset: MapPreset
    layers: list[str]  # drawing order
    size: str
    orientation: str
    fmt: str
    dpi: int
    lang: str
    title: str
    subtitle: str
    today: dt.date
    page: tuple[float, float]  # mm
    frame: tuple[float, float, float, float]  # map frame x, y, w, h in mm from the page's lower left
    panel: tuple[float, float, float, float]
    title_box: tuple[float, float, float, float]
    k: float  # size factor of text and lines relative to A3
    scale: int  # 1:scale
    extent: tuple[float, float, float, float]  # minx, miny, maxx, maxy in EPSG:9213

    @property
    def pixels(self) -> tuple[int, int]:
        return (int(self.page[0] / 25.4 * self.dpi), int(self.page[1] / 25.4 * self.dpi))

    def to_paper(self, x: np.ndarray | float, y: np.ndarray | float):
        """EPSG:9213 metres → page mm."""
        fx, fy, _, _ = self.frame
        return (fx + (np.asarray(x) - self.extent[0]) * 1000 / self.scale,
                fy + (np.asarray(y) - self.extent[1]) * 1000 / self.scale)


def _parse_collections(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


def _nice_scale(needed: float) -> int:
    exp = 10 ** math.floor(math.log10(max(needed, 1.0)))
    for mult in (1, 10):
        for step in _SCALE_STEPS:
            if step * exp * mult >= needed * (1 - 1e-9):
                return int(round(step * exp * mult))
    return int(round(10 * exp))


def _fmt_int(v: float) -> str:
    return f"{v:,.0f}".replace(",", " ")


def plan_map(dataset, *, preset: str = "cluster-plan-2030", collections=None, bbox=None, bbox_crs: str = "CRS84",
             size: str | None = None, orientation: str | None = None, fmt: str = "pdf", dpi: int = 200,
             title: str | None = None, lang: str = "vi", today: dt.date | None = None) -> MapPlan:
    """Validate a print request and lay the page out; raises PrintError with an English and a Vietnamese message.

    Cheap (milliseconds): the API calls it before queueing the render so bad input gets its 400 at once."""
    if lang not in LANGS:
        raise PrintError(f"unknown language {lang!r}; use vi or en", f"ngôn ngữ {lang!r} không hợp lệ; dùng vi hoặc en")
    p = PRESETS.get(preset)
    if p is None:
        raise PrintError(f"unknown preset {preset!r}; use one of: {', '.join(PRESETS)}",
                         f"mẫu bản đồ {preset!r} không có; dùng một trong: {', '.join(PRESETS)}")
    size = (size or p.size).upper()
    if size not in PAPER_MM:
        raise PrintError(f"unknown paper size {size!r}; use A4, A3 or A1",
                         f"khổ giấy {size!r} không hợp lệ; dùng A4, A3 hoặc A1")
    orientation = (orientation or p.orientation).lower()
    if orientation not in ORIENTATIONS:
        raise PrintError(f"unknown orientation {orientation!r}; use landscape or portrait",
                         f"hướng giấy {orientation!r} không hợp lệ; dùng landscape (ngang) hoặc portrait (dọc)")
    fmt = (fmt or "pdf").lower()
    if fmt not in FORMATS:
        raise PrintError(f"unknown format {fmt!r}; use pdf or png",
                         f"định dạng {fmt!r} không hợp lệ; dùng pdf hoặc png")
    try:
        dpi = int(dpi)
    except (TypeError, ValueError):
        raise PrintError(f"dpi must be a whole number, not {dpi!r}",
                         f"dpi phải là số nguyên, không phải {dpi!r}") from None
    if not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
        raise PrintError(f"dpi {dpi} is out of range {DPI_RANGE[0]}–{DPI_RANGE[1]}",
                         f"dpi {dpi} nằm ngoài khoảng {DPI_RANGE[0]}–{DPI_RANGE[1]}")
    w, h = PAPER_MM[size]
    if orientation == "landscape":
        w, h = h, w
    if fmt == "png" and (w / 25.4 * dpi) * (h / 25.4 * dpi) > MAX_PIXELS:
        raise PrintError(f"a {size} PNG at {dpi} dpi is too large; choose a lower dpi or the PDF",
                         f"ảnh PNG khổ {size} ở {dpi} dpi quá lớn; chọn dpi thấp hơn hoặc định dạng PDF")
    if title is not None:
        title = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", str(title)).strip()
        if not title:
            title = None
        elif len(title) > MAX_TITLE:
            raise PrintError(f"the title is longer than {MAX_TITLE} characters",
                             f"tiêu đề dài quá {MAX_TITLE} ký tự")

    # layers: the preset's base layers plus the chosen (or the preset's) thematic ones
    chosen = _parse_collections(collections)
    if chosen is not None and not chosen:
        raise PrintError("no collection chosen; name at least one, e.g. collections=industrial_clusters",
                         "chưa chọn lớp nào; hãy chọn ít nhất một lớp, ví dụ collections=industrial_clusters")
    if chosen:
        unknown = [c for c in chosen if dataset.get(c) is None]
        if unknown:
            raise PrintError(f"unknown collection(s): {', '.join(unknown)}",
                             f"không có lớp: {', '.join(unknown)}")
    wanted = list(dict.fromkeys([*p.base, *(chosen if chosen is not None else p.collections)]))
    present = [lid for lid in wanted if dataset.get(lid) is not None and len(dataset.get(lid))]
    if not present:
        raise PrintError("nothing to draw: none of the chosen collections has features",
                         "không có gì để vẽ: các lớp đã chọn không có đối tượng nào")
    layers = _drawing_order(dataset, present, set(p.base))

    # extent (EPSG:9213): the bbox, else the preset's outline, else all drawn layers
    data_box = _bounds_9213(dataset, present)
    if bbox is not None:
        try:
            vals = [float(v) for v in (bbox.split(",") if isinstance(bbox, str) else bbox)]
        except (TypeError, ValueError):
            vals = []
        if len(vals) != 4 or not all(math.isfinite(v) for v in vals) or vals[0] >= vals[2] or vals[1] >= vals[3]:
            raise PrintError("bbox must be four numbers minx,miny,maxx,maxy with min < max",
                             "bbox phải gồm bốn số minx,miny,maxx,maxy với min < max")
        try:
            src = parse_crs(bbox_crs)
        except UnsupportedCrsError as exc:
            raise PrintError(str(exc), f"hệ tọa độ {bbox_crs!r} không được hỗ trợ") from None
        box = transform_bbox(tuple(vals), src, parse_crs(METRIC_CRS))
        if not box.is_valid or box.is_empty or not box.intersects(shapely.box(*data_box)):
            raise PrintError("bbox lies outside the data", "bbox nằm ngoài phạm vi dữ liệu")
        ext = box.bounds
    else:
        ext = _preset_extent(dataset, p) or data_box
    plan_ext_w, plan_ext_h = ext[2] - ext[0], ext[3] - ext[1]
    if plan_ext_w < 1 or plan_ext_h < 1:
        raise PrintError("the extent is too small to print", "phạm vi quá nhỏ để in")

    # page layout in mm
    k = (min(w, h) / 297.0) ** 0.85
    m = 8 * k
    tb = 19 * k
    g = 6 * k  # grid-label gutter around the map frame
    gap = 4 * k
    inner = (m, m, w - 2 * m, h - 2 * m)
    title_box = (m, h - m - tb, w - 2 * m, tb)
    if orientation == "landscape":
        pw = max(0.25 * inner[2], 78 * k)
        frame = (m + g, m + g, inner[2] - pw - gap - 2 * g, inner[3] - tb - 2 * g - gap * 0.5)
        panel = (m + inner[2] - pw, m, pw, inner[3] - tb)
    else:
        ph = 0.22 * (inner[3] - tb)
        frame = (m + g, m + ph + gap + g, inner[2] - 2 * g, inner[3] - tb - ph - gap - 2 * g - gap * 0.5)
        panel = (m, m, inner[2], ph)
    fw, fh = frame[2], frame[3]
    pad = 1.02 if bbox is None else 1.0
    scale = _nice_scale(max(plan_ext_w * pad / fw, plan_ext_h * pad / fh) * 1000)
    cx, cy = (ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2
    half_w, half_h = fw * scale / 2000, fh * scale / 2000
    extent = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)

    if title is None:
        main, sub = p.title.get(lang) or p.title.get("vi", ""), p.subtitle.get(lang) or p.subtitle.get("vi", "")
    else:
        main, sub = title, ""
    return MapPlan(preset=p, layers=layers, size=size, orientation=orientation, fmt=fmt, dpi=dpi, lang=lang,
                   title=main, subtitle=sub, today=today or dt.date.today(), page=(w, h), frame=frame, panel=panel,
                   title_box=title_box, k=k, scale=scale, extent=extent)


def _kind(layer) -> str:
    gt = (layer.geometry_type or "").lower()
    if "polygon" in gt:
        return "polygon"
    if "line" in gt:
        return "line"
    if "point" in gt:
        return "point"
    tid = shapely.get_type_id(layer.frame.geometry.to_numpy())
    tid = tid[tid >= 0]
    if len(tid) and int(np.bincount(tid).argmax()) in (3, 6):
        return "polygon"
    if len(tid) and int(np.bincount(tid).argmax()) in (1, 5):
        return "line"
    return "point"


def _drawing_order(dataset, ids: list[str], base: set[str]) -> list[str]:
    """Base polygons, thematic polygons, lines, points — each group in the order asked."""
    rank = {"polygon": 0, "line": 2, "point": 3}

    def key(item):
        i, lid = item
        r = rank[_kind(dataset.get(lid))]
        if r == 0 and lid not in base:
            r = 1
        return (r, i)

    return [lid for _, lid in sorted(enumerate(ids), key=key)]


def _bounds_9213(dataset, ids: Sequence[str]) -> tuple[float, float, float, float]:
    boxes = []
    for lid in ids:
        b = dataset.get(lid).bounds
        boxes.append(to_metres(np.array([shapely.box(*b)]))[0].bounds)
    a = np.array(boxes)
    return (a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max())


def _preset_extent(dataset, p: MapPreset):
    spec = p.extent
    layer = dataset.get(spec.get("layer", "")) if spec else None
    if layer is None or not len(layer):
        return None
    frame = layer.frame
    if spec.get("field") in frame.columns and "value" in spec:
        frame = frame[frame[spec["field"]].astype(str) == str(spec["value"])]
    if not len(frame):
        return None
    return shapely.union_all(to_metres(frame.geometry.to_numpy())).bounds


# ---------------------------------------------------------------------------------------------------- styles

def _key(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class _Styles:
    """styles.json (screen) with print_styles.json on top."""

    def __init__(self) -> None:
        self.web = _read_json(STYLES)
        self.print = _read_json(PRINT_STYLES)
        self.labels = _read_json(LABELS)

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
class _Mpl:
    """A styles.json style converted for matplotlib (points)."""

    edge: tuple
    face: tuple | str
    lw: float
    dashes: tuple | None
    hatch: str | None
    size: float  # point marker diameter in points


def _mpl_style(s: dict, kind: str, ks: float) -> _Mpl:
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
    return _Mpl(edge=edge, face=face, lw=lw, dashes=dashes, hatch=s.get("hatch"), size=size)


# ---------------------------------------------------------------------------------------------------- geometry

def _polygon_path(geom) -> MplPath | None:
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


class _Measure:
    """Text sizes in mm from the font itself (no renderer needed)."""

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


def _line_h(size: float) -> float:
    return size * 25.4 / 72 * 1.3


# ---------------------------------------------------------------------------------------------------- drawing

@dataclass
class _LegendRow:
    kind: str  # polygon | line | point | header | note
    label: str
    style: _Mpl | None = None
    indent: bool = False


@dataclass
class _Drawn:
    lid: str
    title: str
    rows: list[_LegendRow]
    accuracy: dict[str, int]
    attribution: str
    license: str


def _text(ax, x, y, s, size, **kw):
    """Text as text (never mathtext); a `halo` (line width in points) is drawn as a white copy underneath, so the
    text itself stays a text object in the PDF (path effects would turn it into outlines pdftotext cannot read)."""
    kw.setdefault("fontfamily", FONT)
    halo = kw.pop("halo", None)
    if halo:
        under = {k: v for k, v in kw.items() if k not in ("color", "alpha", "bbox")}
        ax.text(x, y, s, fontsize=size, parse_math=False, color="white",
                path_effects=[patheffects.Stroke(linewidth=halo, foreground="white")], **under)
    return ax.text(x, y, s, fontsize=size, parse_math=False, **kw)


def render_map(dataset, *, preset: str = "cluster-plan-2030", collections=None, bbox=None, bbox_crs: str = "CRS84",
               size: str | None = None, orientation: str | None = None, fmt: str = "pdf", dpi: int = 200,
               title: str | None = None, lang: str = "vi", today: dt.date | None = None,
               progress: Callable[[int, int], None] | None = None) -> bytes:
    """A print-ready map as PDF or PNG bytes.

    preset: a key of PRESETS; collections: thematic layers (list or comma-separated) drawn over the preset's base
    layers instead of the preset's own; bbox: minx,miny,maxx,maxy in bbox_crs (CRS84 by default) — the map shows
    at least this area; size A4|A3|A1 and orientation landscape|portrait (default: the preset's); fmt pdf|png;
    dpi 72–600 (PNG pixels = mm / 25.4 × dpi); title replaces the preset title; lang vi|en; today: the date printed;
    progress(step, total) is called as the layers are drawn.  Raises PrintError on bad input."""
    plan = plan_map(dataset, preset=preset, collections=collections, bbox=bbox, bbox_crs=bbox_crs, size=size,
                    orientation=orientation, fmt=fmt, dpi=dpi, title=title, lang=lang, today=today)
    return draw_plan(dataset, plan, progress=progress)


def draw_plan(dataset, plan: MapPlan, progress: Callable[[int, int], None] | None = None) -> bytes:
    """Draw a laid-out plan (see plan_map) and encode it."""
    total = len(plan.layers) + 3
    step = 0

    def tick() -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(step, total)

    if progress is not None:
        progress(0, total)
    st = _Styles()
    meas = _Measure()
    lang, k = plan.lang, plan.k
    ks = k ** 0.7
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
    ext_box = shapely.box(*ext)
    mpp = plan.scale / 1000.0  # metres per paper mm

    drawn: list[_Drawn] = []
    obstacles: list[tuple[float, float, float, float]] = []  # label-free boxes in page mm
    label_jobs: list[tuple[int, str, dict, np.ndarray]] = []  # (priority, layer, spec, rows info)
    enlarged_any: list[float] = []
    z = 1.0

    # mask outside the (2025) province
    outline84 = province_outline(dataset, plan.today) if "province" in plan.layers else None
    if outline84 is not None:
        outline = to_metres(np.array([outline84]))[0]
        mask = ext_box.buffer(mpp * 5, join_style="mitre").difference(outline)
        mstyle = st.print.get("mask") or {}
        path = _polygon_path(mask) if not mask.is_empty else None
        if path is not None:
            ax.add_patch(PathPatch(path, facecolor=mstyle.get("fillColor", "#eeeeee"), edgecolor="none", zorder=0.5))

    for lid in plan.layers:
        layer = dataset.get(lid)
        kind = _kind(layer)
        frame = layer.frame
        geoms = to_metres(frame.geometry.to_numpy())
        keep = shapely.intersects(geoms, ext_box) & ~shapely.is_empty(geoms)
        for col, allowed in (plan.preset.filters.get(lid) or {}).items():
            if col in frame.columns:
                keep &= frame[col].astype(str).isin([str(a) for a in allowed]).to_numpy()
        frame = frame[keep]
        geoms = geoms[keep]
        pl = st.print_layer(lid)
        title = layer.meta.text("title", lang)
        rows: list[_LegendRow] = []
        if len(frame):
            by = st.by(lid)
            phase_f = st.phase_field(lid)
            cls = (frame[by].map(_key) if by in frame.columns else pd.Series([None] * len(frame), index=frame.index))
            phs = (frame[phase_f].map(_key) if phase_f and phase_f in frame.columns
                   else pd.Series([None] * len(frame), index=frame.index))
            # polygons too small at this scale become squares of the minimum symbol size
            min_mm = float(pl.get("minSymbolMm", 0)) * ks
            if kind == "polygon" and min_mm > 0:
                b = shapely.bounds(geoms)
                small = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / mpp < min_mm
                if small.any():
                    pts = shapely.point_on_surface(geoms[small])
                    geoms = geoms.copy()
                    geoms[small] = shapely.buffer(pts, min_mm * mpp / 2, cap_style="square")
                    enlarged_any.append(float(pl.get("minSymbolMm")) * ks)
            order_cls = st.class_order(lid)
            order_ph = st.phase_order(lid)
            groups = sorted(set(zip(cls, phs, strict=True)),
                            key=lambda g: (order_cls.index(g[0]) if g[0] in order_cls else 99, str(g[0]),
                                           order_ph.index(g[1]) if g[1] in order_ph else 99, str(g[1])))
            zs = {"polygon": 0, "line": 100, "point": 200}[kind]
            half = np.zeros(len(frame))  # half the symbol size of each point, in metres
            for gi, (c, ph) in enumerate(groups):
                sel = ((cls == c) if c is not None else cls.isna()).to_numpy() & \
                      ((phs == ph) if ph is not None else phs.isna()).to_numpy()
                sty = _mpl_style(st.style(lid, kind, c, ph), kind, ks)
                _draw_group(ax, kind, geoms[sel], sty, z + zs + gi * 0.01)
                half[sel] = (sty.size + sty.lw) / 2 * 25.4 / 72 * mpp
            z += 1
            # legend rows
            stats_field = plan.preset.stats.get(lid)
            classes = [c for c in dict.fromkeys(g[0] for g in groups)]
            if by and classes != [None]:
                rows.append(_LegendRow("header", title))
                for c in classes:
                    sel = (cls == c) if c is not None else cls.isna()
                    label = st.value_label(by, c, lang) if c is not None else "—"
                    n = int(sel.sum())
                    if stats_field and stats_field in frame.columns:
                        area = pd.to_numeric(frame.loc[sel.to_numpy(), stats_field], errors="coerce").sum()
                        label += f" ({n}; {_fmt_int(area)} ha)" if area > 0 else f" ({n})"
                    elif lid not in plan.preset.base:
                        label += f" ({n})"
                    rows.append(_LegendRow(kind, label, _mpl_style(st.style(lid, kind, c, None), kind, ks), True))
                phases = [p for p in dict.fromkeys(g[1] for g in groups) if p is not None]
                if phases:
                    for ph in phases:
                        s = st.style(lid, kind, None, ph)
                        s.update({"color": "#333333", "fillColor": "#ffffff", "fillOpacity": 1, "dashArray": None})
                        label = f"{_PHASE_WORD[lang]} {st.value_label(phase_f, ph, lang)}"
                        rows.append(_LegendRow(kind, label, _mpl_style(s, kind, ks), True))
            else:
                rows.append(_LegendRow(kind, title, _mpl_style(st.style(lid, kind, None, None), kind, ks)))
            # obstacles and labels
            if kind == "point":  # points as the squares their symbols cover, for obstacles and labels
                geoms = shapely.buffer(geoms, half, cap_style="square")
            if lid not in plan.preset.base or kind == "point":
                bx = shapely.bounds(geoms)
                px0, py0 = plan.to_paper(bx[:, 0], bx[:, 1])
                px1, py1 = plan.to_paper(bx[:, 2], bx[:, 3])
                obstacles.extend(zip(px0 - 0.3, py0 - 0.3, px1 + 0.3, py1 + 0.3, strict=True))
            spec = pl.get("label")
            if spec and spec.get("field") in frame.columns:
                label_jobs.append((int(spec.get("priority", 5)), lid, spec, (frame, geoms, kind)))
        mix: dict[str, int] = {}
        if "accuracy" in frame.columns:
            mix = {str(a): int(n) for a, n in frame["accuracy"].value_counts().items()}
        drawn.append(_Drawn(lid, title, rows, mix, layer.meta.attribution, layer.meta.license))
        tick()

    _draw_grid(ax, page, plan, ks)
    decorations = _draw_north_arrow(page, plan, ks)
    obstacles.extend(decorations)
    _place_labels(page, plan, meas, label_jobs, obstacles, ks)
    tick()

    # frame and page
    page.add_patch(Rectangle((fx, fy), fw, fh, fill=False, lw=0.9 * ks, edgecolor="#000000", zorder=5))
    m = plan.title_box[0]
    page.add_patch(Rectangle((m, m), W - 2 * m, H - 2 * m, fill=False, lw=1.4 * ks, edgecolor="#000000"))
    page.add_patch(Rectangle((m - 1.2 * k, m - 1.2 * k), W - 2 * m + 2.4 * k, H - 2 * m + 2.4 * k, fill=False,
                             lw=0.4 * ks, edgecolor="#000000"))
    _draw_title(page, plan, meas)
    _draw_panel(page, plan, meas, st, drawn, enlarged_any, ks)
    tick()

    buf = io.BytesIO()
    meta_title = plan.title
    if plan.fmt == "pdf":
        fig.savefig(buf, format="pdf", dpi=plan.dpi,
                    metadata={"Title": meta_title, "Creator": "planmap", "Subject": CRS_NAME,
                              "CreationDate": None, "ModDate": None})
    else:
        fig.savefig(buf, format="png", dpi=plan.dpi, metadata={"Title": meta_title, "Software": "planmap"},
                    pil_kwargs={"optimize": False, "compress_level": 6})
    tick()
    return buf.getvalue()


def _draw_group(ax, kind: str, geoms: np.ndarray, s: _Mpl, zorder: float) -> None:
    ls = s.dashes if s.dashes else "solid"
    if kind == "polygon":
        paths = [p for p in (_polygon_path(g) for g in geoms) if p is not None]
        if not paths:
            return
        coll = PatchCollection([PathPatch(p) for p in paths], facecolors=[s.face] if s.face != "none" else "none",
                               edgecolors=[s.edge], linewidths=s.lw, linestyles=[ls], zorder=zorder,
                               joinstyle="round")
        if s.hatch:
            coll.set_hatch(s.hatch)
            coll.set_hatch_linewidth(max(0.35, s.lw * 0.35))
        ax.add_collection(coll, autolim=False)
    elif kind == "line":
        parts = [p for g in geoms for p in _line_parts(g)]
        if not parts:
            return
        ax.add_collection(LineCollection(parts, colors=[s.edge], linewidths=s.lw, linestyles=[ls], zorder=zorder,
                                         capstyle="round", joinstyle="round"), autolim=False)
    else:
        pts = shapely.get_coordinates(geoms)
        if not len(pts):
            return
        ax.scatter(pts[:, 0], pts[:, 1], s=s.size ** 2, c=[s.face if s.face != "none" else (1, 1, 1, 0)],
                   edgecolors=[s.edge], linewidths=s.lw, linestyles=ls, zorder=zorder, clip_on=True)


def _grid_step(plan: MapPlan) -> int:
    want = 32 * plan.k * plan.scale / 1000  # grid cells of about 3 cm on paper
    for g in _GRID_STEPS:
        if g >= want:
            return g
    return _GRID_STEPS[-1]


def _fmt_dist(m: float, lang: str) -> str:
    if m >= 1000:
        km = m / 1000
        s = f"{km:g}"
        return (s.replace(".", ",") if lang == "vi" else s) + " km"
    return f"{m:g} m"


def _draw_grid(ax, page, plan: MapPlan, ks: float) -> None:
    g = _grid_step(plan)
    x0, y0, x1, y1 = plan.extent
    xs = np.arange(math.ceil(x0 / g) * g, x1, g)
    ys = np.arange(math.ceil(y0 / g) * g, y1, g)
    segs = [np.array([[x, y0], [x, y1]]) for x in xs] + [np.array([[x0, y], [x1, y]]) for y in ys]
    ax.add_collection(LineCollection(segs, colors="#4d4d4d", linewidths=0.3 * ks, alpha=0.55, zorder=90),
                      autolim=False)
    fx, fy, fw, fh = plan.frame
    size = 5.2 * plan.k
    tick_len = 1.5 * plan.k
    edge = 0.6 * plan.k
    for x in xs:
        px, _ = plan.to_paper(x, y0)
        if px - fx < 6 * plan.k or fx + fw - px < 6 * plan.k:
            continue
        lab = _fmt_int(x)
        page.plot([px, px], [fy - tick_len, fy], color="black", lw=0.5 * ks)
        page.plot([px, px], [fy + fh, fy + fh + tick_len], color="black", lw=0.5 * ks)
        _text(page, px, fy - tick_len - edge, lab, size, ha="center", va="top")
        _text(page, px, fy + fh + tick_len + edge, lab, size, ha="center", va="bottom")
    for y in ys:
        _, py = plan.to_paper(x0, y)
        if py - fy < 6 * plan.k or fy + fh - py < 6 * plan.k:
            continue
        lab = _fmt_int(y)
        page.plot([fx - tick_len, fx], [py, py], color="black", lw=0.5 * ks)
        page.plot([fx + fw, fx + fw + tick_len], [py, py], color="black", lw=0.5 * ks)
        _text(page, fx - tick_len - edge, py, lab, size, ha="right", va="center", rotation=90)
        _text(page, fx + fw + tick_len + edge, py, lab, size, ha="left", va="center", rotation=90)
    # axis names in the corners
    _text(page, fx + 1.2 * plan.k, fy + fh - 1.2 * plan.k, "X, Y (m) · VN-2000", 4.6 * plan.k, ha="left", va="top",
          color="#333333", halo=2 * ks)


def _draw_north_arrow(page, plan: MapPlan, ks: float) -> list[tuple[float, float, float, float]]:
    fx, fy, fw, fh = plan.frame
    k = plan.k
    cx = fx + fw - 11 * k
    top = fy + fh - 7 * k
    hgt = 14 * k
    wid = 5 * k
    base = top - hgt
    page.add_patch(Polygon([(cx, top), (cx - wid / 2, base), (cx, base + hgt * 0.28)], closed=True,
                           facecolor="black", edgecolor="black", lw=0.6 * ks, zorder=6))
    page.add_patch(Polygon([(cx, top), (cx + wid / 2, base), (cx, base + hgt * 0.28)], closed=True,
                           facecolor="white", edgecolor="black", lw=0.6 * ks, zorder=6))
    halo = 2.5 * ks
    _text(page, cx, top + 0.8 * k, T["north_letter"][plan.lang], 9 * k, ha="center", va="bottom", weight="bold",
          zorder=6, halo=halo)
    _text(page, cx, base - 0.8 * k, T["north"][plan.lang], 4.6 * k, ha="center", va="top", zorder=6,
          halo=halo)
    return [(cx - 9 * k, base - 5 * k, cx + 9 * k, top + 6 * k), (fx, fy + fh - 5 * k, fx + 40 * k, fy + fh)]


def _label_text(spec: dict, value) -> str:
    s = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    for prefix in spec.get("strip") or ():
        if s.startswith(prefix):
            s = s[len(prefix):]
    if spec.get("upper"):
        s = s.upper()
    return s.strip()


def _overlaps(box, boxes) -> bool:
    x0, y0, x1, y1 = box
    for b in boxes:
        if x0 < b[2] and x1 > b[0] and y0 < b[3] and y1 > b[1]:
            return True
    return False


def _place_labels(page, plan: MapPlan, meas: _Measure, jobs, obstacles, ks: float) -> None:
    """Greedy placement: higher priority first; a label is dropped where it would overlap anything placed."""
    fx, fy, fw, fh = plan.frame
    k = plan.k
    placed: list[tuple[float, float, float, float]] = list(obstacles)
    inner = (fx + 1 * k, fy + 1 * k, fx + fw - 1 * k, fy + fh - 1 * k)
    # features' own boxes are obstacles for other labels, not their own
    for _prio, _lid, spec, (frame, geoms, kind) in sorted(jobs, key=lambda j: j[0]):
        size = float(spec.get("size", 6)) * k
        weight = spec.get("weight", "normal")
        style = spec.get("style", "normal")
        color = spec.get("color", "#222222")
        alpha = float(spec.get("alpha", 1))
        placement = spec.get("placement", "center")
        only = spec.get("only") or {}
        min_area = float(spec.get("minPaperMm2", 0))
        hgt = size * 25.4 / 72 * 1.05
        gap = 0.7 * k
        sel = np.ones(len(frame), dtype=bool)
        for col, allowed in only.items():
            if col in frame.columns:
                sel &= frame[col].astype(str).isin([str(a) for a in allowed]).to_numpy()
        values = frame[spec["field"]].to_numpy()
        candidates = []
        for i in np.flatnonzero(sel):
            g = geoms[i]
            txt = _label_text(spec, values[i])
            if not txt:
                continue
            if kind == "polygon":
                area_mm2 = g.area / (plan.scale / 1000) ** 2
                if area_mm2 < min_area:
                    continue
            candidates.append((-(g.area if kind == "polygon" else g.length), i, txt))
        candidates.sort()
        seen: set[str] = set()
        for _, i, txt in candidates:
            g = geoms[i]
            if placement == "line" and txt in seen:
                continue
            wid = meas.width(txt, size, weight, style)
            boxes = []
            if placement == "line":
                inside = g.intersection(shapely.box(*plan.extent))
                if inside.is_empty:
                    continue
                for frac in (0.5, 0.35, 0.65, 0.2, 0.8):
                    pt = inside.interpolate(frac, normalized=True) if hasattr(inside, "interpolate") else \
                        shapely.point_on_surface(inside)
                    px, py = plan.to_paper(pt.x, pt.y)
                    boxes.append((px - wid / 2 - 0.6 * k, py - hgt / 2 - 0.4 * k, px + wid / 2 + 0.6 * k,
                                  py + hgt / 2 + 0.4 * k, "center"))
            elif placement == "around":
                b = g.bounds
                x0, y0 = plan.to_paper(b[0], b[1])
                x1, y1 = plan.to_paper(b[2], b[3])
                cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
                boxes = [(x1 + gap, cy - hgt / 2, x1 + gap + wid, cy + hgt / 2, "left"),
                         (x0 - gap - wid, cy - hgt / 2, x0 - gap, cy + hgt / 2, "right"),
                         (cx - wid / 2, y1 + gap, cx + wid / 2, y1 + gap + hgt, "center"),
                         (cx - wid / 2, y0 - gap - hgt, cx + wid / 2, y0 - gap, "center"),
                         (x1 + gap, y1, x1 + gap + wid, y1 + hgt, "left"),
                         (x1 + gap, y0 - hgt, x1 + gap + wid, y0, "left"),
                         (x0 - gap - wid, y1, x0 - gap, y1 + hgt, "right"),
                         (x0 - gap - wid, y0 - hgt, x0 - gap, y0, "right")]
            else:
                pt = shapely.point_on_surface(g)
                px, py = plan.to_paper(pt.x, pt.y)
                boxes = [(px - wid / 2, py - hgt / 2, px + wid / 2, py + hgt / 2, "center")]
            for bx in boxes:
                box = bx[:4]
                if box[0] < inner[0] or box[1] < inner[1] or box[2] > inner[2] or box[3] > inner[3]:
                    continue
                if _overlaps(box, placed):
                    continue
                placed.append(box)
                seen.add(txt)
                ha = bx[4]
                x = box[0] if ha == "left" else box[2] if ha == "right" else (box[0] + box[2]) / 2
                kw = {}
                if spec.get("box"):
                    kw["bbox"] = {"boxstyle": f"round,pad={0.15}", "facecolor": spec["box"].get("fillColor", "white"),
                                  "edgecolor": spec["box"].get("color", "black"), "linewidth": 0.5 * ks}
                else:
                    kw["halo"] = 1.8 * ks
                _text(page, x, (box[1] + box[3]) / 2, txt, size, ha=ha, va="center_baseline", color=color,
                      alpha=alpha, weight=weight, style=style, zorder=4, **kw)
                break


def _draw_title(page, plan: MapPlan, meas: _Measure) -> None:
    x, y, w, h = plan.title_box
    k = plan.k
    size = 15 * k
    while size > 7 * k and meas.width(plan.title, size, "bold") > w - 10 * k:
        size *= 0.93
    if plan.subtitle:
        _text(page, x + w / 2, y + h * 0.60, plan.title, size, ha="center", va="center", weight="bold",
              color="#1a1a1a")
        sub = 8.5 * k
        while sub > 5 * k and meas.width(plan.subtitle, sub, "normal") > w - 10 * k:
            sub *= 0.93
        _text(page, x + w / 2, y + h * 0.22, plan.subtitle, sub, ha="center", va="center", style="italic",
              color="#333333")
    else:
        _text(page, x + w / 2, y + h * 0.5, plan.title, size, ha="center", va="center", weight="bold")
    page.plot([x, x + w], [y, y], color="black", lw=0.8 * k ** 0.7)


def _draw_panel(page, plan: MapPlan, meas: _Measure, st: _Styles, drawn: list[_Drawn], enlarged: list[float],
                ks: float) -> None:
    lang, k = plan.lang, plan.k
    px, py, pw, ph = plan.panel
    pad = 3 * k
    fs = 6.2 * k  # body text
    small = 5.2 * k
    lh = _line_h(fs)
    slh = _line_h(small)

    if plan.orientation == "landscape":
        cols = [(px, py, pw, ph)]
    else:  # legend | scale + note | sources + date
        w1 = pw * 0.44
        w2 = pw * 0.27
        cols = [(px, py, w1, ph), (px + w1, py, w2, ph), (px + w1 + w2, py, pw - w1 - w2, ph)]
    for cx, cy, cw, chh in cols:
        page.add_patch(Rectangle((cx, cy), cw, chh, fill=False, lw=0.7 * ks, edgecolor="black"))

    # ---- blocks measured bottom-up: footer, sources, note, scale
    def block_footer(x, y_bottom, w, draw=True) -> float:
        org = (st.print.get("organisation") or {}).get(lang, "")
        date = plan.today.strftime("%d/%m/%Y") if lang == "vi" else plan.today.isoformat()
        orient = T[plan.orientation][lang]
        paper = T["paper"][lang].format(size=plan.size, orient=orient)
        lines = [org, f"{T['date'][lang]}: {date} · {T['made_with'][lang]}",
                 f"{paper} · {T['scale'][lang]} 1:{_fmt_int(plan.scale)}"]
        hgt = len(lines) * lh + pad
        if draw:
            page.add_patch(Rectangle((x, y_bottom), w, hgt, fill=False, lw=0.6 * ks, edgecolor="black"))
            for i, line in enumerate(lines):
                _text(page, x + pad, y_bottom + hgt - pad / 2 - (i + 0.5) * lh, line, fs, va="center",
                      weight="bold" if i == 0 else "normal")
        return hgt

    def source_lines(w) -> list[tuple[str, str]]:
        groups: dict[tuple[str, str], list[str]] = {}
        for d in drawn:
            key = (d.attribution or "—", d.license or "—")
            groups.setdefault(key, []).append(d.title)
        out = [(T["sources"][lang], "bold")]
        for (attr, lic), titles in groups.items():
            text = f"• {'; '.join(titles)}: {attr} — {lic}"
            out.extend((line, "normal") for line in meas.wrap(text, small, w - 2 * pad))
        return out

    def block_lines(x, y_bottom, w, lines, size, draw=True, box=None) -> float:
        lhh = _line_h(size)
        hgt = len(lines) * lhh + pad
        if draw:
            if box:
                page.add_patch(Rectangle((x, y_bottom), w, hgt, facecolor=box[0], edgecolor=box[1], lw=0.8 * ks))
            for i, (line, weight) in enumerate(lines):
                _text(page, x + pad, y_bottom + hgt - pad / 2 - (i + 0.5) * lhh, line, size, va="center",
                      weight=weight, color="#5a3000" if box else "#1a1a1a")
        return hgt

    def note_lines(w) -> list[tuple[str, str]]:
        parts = []
        for d in drawn:
            inexact = {a: n for a, n in d.accuracy.items() if a != "exact"}
            if inexact:
                mix = ", ".join(st.accuracy_label(a, lang) for a in sorted(inexact, key=lambda a: -inexact[a]))
                parts.append(f"{d.title}: {mix}")
        out = [(line, "bold") for line in meas.wrap("⚠ " + T["note_head"][lang], fs, w - 2 * pad, "bold")]
        if parts:
            body = T["note_layers"][lang] + " " + "; ".join(parts) + "."
        else:
            body = T["note_all_exact"][lang]
        out.extend((line, "normal") for line in meas.wrap(body, small, w - 2 * pad))
        return out

    def block_scale(x, y_bottom, w, draw=True) -> float:
        big = 9 * k
        crs_lines = meas.wrap(f"{T['crs'][lang]}: {CRS_NAME}", small, w - 2 * pad)
        grid_lines = meas.wrap(T["grid"][lang].format(g=_fmt_dist(_grid_step(plan), lang)), small, w - 2 * pad)
        bar_h = 2.2 * k
        hgt = pad + _line_h(big) + 2 * k + bar_h + slh * 1.2 + (len(crs_lines) + len(grid_lines)) * slh + pad
        if not draw:
            return hgt
        top = y_bottom + hgt
        _text(page, x + w / 2, top - pad - _line_h(big) / 2, f"{T['scale'][lang]} 1:{_fmt_int(plan.scale)}", big,
              ha="center", va="center", weight="bold")
        # scale bar: longest standard length within 70 % of the block
        avail = (w - 2 * pad) * 0.78
        km = max([b for b in _BAR_KM if b * 1e6 / plan.scale <= avail] or [_BAR_KM[0]])
        length = km * 1e6 / plan.scale
        bx = x + (w - length) / 2
        by = top - pad - _line_h(big) - 2 * k - bar_h
        nseg = 4
        for i in range(nseg):
            page.add_patch(Rectangle((bx + i * length / nseg, by), length / nseg, bar_h,
                                     facecolor="black" if i % 2 == 0 else "white", edgecolor="black", lw=0.5 * ks))
        for i, frac in enumerate((0, 0.5, 1)):
            val = km * frac
            lab = f"{val:g}".replace(".", ",") if lang == "vi" else f"{val:g}"
            _text(page, bx + length * frac, by - 0.6 * k, lab + (" km" if i == 2 else ""), small, ha="center",
                  va="top")
        yy = by - slh * 1.2 - 0.6 * k
        for line in crs_lines + grid_lines:
            _text(page, x + pad, yy - slh / 2, line, small, va="center")
            yy -= slh
        return hgt

    if plan.orientation == "landscape":
        x, y, w, _h = cols[0]
        yb = y
        yb += block_footer(x, yb, w)
        yb += block_lines(x, yb, w, source_lines(w), small) + 1 * k
        nl = note_lines(w - 2 * k)
        yb += block_lines(x + k, yb, w - 2 * k, nl, small, box=("#fff3bf", "#b26a00")) + 2 * k
        yb += block_scale(x, yb, w) + 1 * k
        page.plot([x, x + w], [yb, yb], color="black", lw=0.6 * ks)
        legend_box = (x, yb, w, y + _h - yb)
    else:
        x1, y1, w1, h1 = cols[1]
        sh = block_scale(x1, 0, w1, draw=False)
        block_scale(x1, y1 + h1 - sh, w1)
        nl = note_lines(w1 - 2 * k)
        nh = block_lines(x1 + k, 0, w1 - 2 * k, nl, small, draw=False)
        block_lines(x1 + k, y1 + h1 - sh - nh - 2 * k, w1 - 2 * k, nl, small, box=("#fff3bf", "#b26a00"))
        x2, y2, w2, h2 = cols[2]
        block_footer(x2, y2, w2)
        sl = source_lines(w2)
        sh2 = block_lines(x2, 0, w2, sl, small, draw=False)
        block_lines(x2, y2 + h2 - sh2, w2, sl, small)
        legend_box = cols[0]
    _draw_legend(page, plan, meas, drawn, legend_box, enlarged, ks)


def _draw_legend(page, plan: MapPlan, meas: _Measure, drawn: list[_Drawn], box, enlarged: list[float],
                 ks: float) -> None:
    lang, k = plan.lang, plan.k
    x, y, w, h = box
    pad = 3 * k
    rows: list[_LegendRow] = []
    # legend order: thematic first (top of the drawing order = most important), then base
    base = set(plan.preset.base)
    for d in [d for d in reversed(drawn) if d.lid not in base] + [d for d in drawn if d.lid in base]:
        rows.extend(d.rows)
    if any(lid in plan.preset.stats for lid in plan.layers):
        rows.append(_LegendRow("note", T["counts"][lang]))
    if enlarged:
        rows.append(_LegendRow("note", T["enlarged"][lang].format(mm=f"{max(enlarged):.1f}".replace(
            ".", "," if lang == "vi" else "."))))
    if any(True for _ in rows):
        mask_row = _LegendRow("polygon", T["outside"][lang], _Mpl(edge=to_rgba("#bdbdbd"), face=to_rgba("#eeeeee"),
                                                                  lw=0.4, dashes=None, hatch=None, size=0))
        if "province" in plan.layers:
            rows.append(mask_row)
    head = 8 * k
    fs = 7.6 * k
    for _attempt in range(10):
        sym_w, sym_h = 7 * k * (fs / (6.4 * k)), 3.4 * k * (fs / (6.4 * k))
        lh = max(_line_h(fs) * 1.12, sym_h + 1.4 * k)
        avail_h = h - pad * 2 - _line_h(head) - 1.5 * k
        ncols = 1
        while True:
            colw = (w - 2 * pad) / ncols
            wrapped = [(r, meas.wrap(r.label, fs, colw - sym_w - 3 * k - (2 * k if r.indent else 0),
                                     "bold" if r.kind == "header" else "normal")) for r in rows]
            heights = [len(lines) * _line_h(fs) + (lh - _line_h(fs)) + (0.8 * k if r.kind == "header" else 0)
                       for r, lines in wrapped]
            places = _flow(heights, [r.kind == "header" for r, _ in wrapped], avail_h)
            used = max(c for c, _ in places) + 1
            if used <= ncols or ncols >= 3:
                break
            ncols += 1
        if used <= ncols:
            break
        fs *= 0.9
    _text(page, x + w / 2, y + h - pad - _line_h(head) / 2, T["legend"][lang], head, ha="center", va="center",
          weight="bold")
    top = y + h - pad - _line_h(head) - 1.5 * k
    colw = (w - 2 * pad) / ncols
    for (r, lines), (ci, cur) in zip(wrapped, places, strict=True):
        cx = x + pad + ci * colw
        cy = top - cur
        indent = 2 * k if r.indent else 0
        if r.kind == "header":
            for i, line in enumerate(lines):
                _text(page, cx, cy - 0.8 * k - (i + 0.5) * _line_h(fs), line, fs, va="center", weight="bold")
        elif r.kind == "note":
            for i, line in enumerate(lines):
                _text(page, cx + indent, cy - (i + 0.5) * _line_h(fs), line, fs * 0.9, va="center", style="italic",
                      color="#444444")
        else:
            mid = cy - _line_h(fs) / 2
            sx = cx + indent
            s = r.style
            ls = s.dashes if s.dashes else "solid"
            if r.kind == "polygon":
                rect = Rectangle((sx, mid - sym_h / 2), sym_w, sym_h, facecolor=s.face, edgecolor=s.edge,
                                 lw=min(s.lw, 2.5 * ks), linestyle=ls, hatch=s.hatch)
                if s.hatch:
                    rect.set_hatch_linewidth(max(0.35, s.lw * 0.35))
                page.add_patch(rect)
            elif r.kind == "line":
                page.add_line(Line2D([sx, sx + sym_w], [mid, mid], color=s.edge, lw=s.lw, linestyle=ls,
                                     solid_capstyle="butt"))
            else:
                page.scatter([sx + sym_w / 2], [mid], s=s.size ** 2, c=[s.face if s.face != "none" else "white"],
                             edgecolors=[s.edge], linewidths=s.lw, linestyles=ls, zorder=5)
            for i, line in enumerate(lines):
                _text(page, sx + sym_w + 2 * k, cy - (i + 0.5) * _line_h(fs), line, fs, va="center")


def _flow(heights: list[float], headers: list[bool], avail: float) -> list[tuple[int, float]]:
    """(column, offset from the top) of each legend row; a header never ends a column without its first entry."""
    out, col, cur = [], 0, 0.0
    for i, hh in enumerate(heights):
        need = hh + (heights[i + 1] if headers[i] and i + 1 < len(heights) else 0)
        if cur > 0 and cur + need > avail:
            col, cur = col + 1, 0.0
        out.append((col, cur))
        cur += hh
    return out

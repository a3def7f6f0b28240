"""The plan of a print map: the request checked, the layers chosen and ordered, the page laid out in mm and the
standard scale and extent that fit the map frame.

Cheap (milliseconds) and separate from drawing, so the API refuses bad input at once, before queueing a render."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import shapely

from geo.crs import METRIC_CRS, UnsupportedCrsError, parse_crs, to_metres, transform_bbox
from geo.errors import BadRequest
from layers.coverage import check_distance, network_of

from .presets import PRESETS, MapPreset
from .symbols import layer_kind

PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "A1": (594.0, 841.0)}
ORIENTATIONS = ("landscape", "portrait")
FORMATS = ("pdf", "png")
LANGS = ("vi", "en")
DPI_RANGE = (72, 600)
MAX_PIXELS = 150_000_000  # a PNG larger than this (A1 above ≈ 430 dpi) is refused: it would need gigabytes
MAX_TITLE = 200
# Standard scales: 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 × 10ⁿ.
_SCALE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5)

Box = tuple[float, float, float, float]


class PrintError(BadRequest):
    """Input a print map cannot be made from; `.en` and `.vi` carry the message in each language."""

    code = "PrintError"


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
    frame: Box  # map frame x, y, w, h in mm from the page's lower left
    panel: Box
    title_box: Box
    k: float  # size factor of text and lines relative to A3
    scale: int  # 1:scale
    extent: Box  # minx, miny, maxx, maxy in EPSG:9213
    coverage: tuple[str, float] | None = None  # (network, distance D in m): the coverage table in the panel

    @property
    def pixels(self) -> tuple[int, int]:
        return (int(self.page[0] / 25.4 * self.dpi), int(self.page[1] / 25.4 * self.dpi))

    def to_paper(self, x: np.ndarray | float, y: np.ndarray | float):
        """EPSG:9213 metres → page mm."""
        fx, fy, _, _ = self.frame
        return (fx + (np.asarray(x) - self.extent[0]) * 1000 / self.scale,
                fy + (np.asarray(y) - self.extent[1]) * 1000 / self.scale)


class _Paper(NamedTuple):
    size: str
    orientation: str
    fmt: str
    dpi: int
    page: tuple[float, float]  # w, h in mm


class _Layout(NamedTuple):
    k: float
    frame: Box
    panel: Box
    title_box: Box


def plan_map(dataset, *, preset: str = "cluster-plan-2030", collections=None, bbox=None, bbox_crs: str = "CRS84",
             size: str | None = None, orientation: str | None = None, fmt: str = "pdf", dpi: int = 200,
             title: str | None = None, lang: str = "vi", today: dt.date | None = None,
             coverage: tuple[str, float] | None = None) -> MapPlan:
    """Validate a print request and lay the page out; raises PrintError with an English and a Vietnamese message.

    `coverage`: (network, distance D in metres) adds the network coverage table to the panel (computed when drawn).

    Cheap (milliseconds): the API calls it before queueing the render so bad input gets its 400 at once."""
    p = _check_preset(preset, lang)
    paper = _check_paper(p, size, orientation, fmt, dpi)
    title = _check_title(title)
    if coverage is not None:
        coverage = (network_of(coverage[0]).key, check_distance(coverage[1]))
    present = _present_layers(dataset, p, collections)
    layers = _drawing_order(dataset, present, set(p.base))
    ext = _requested_extent(dataset, p, present, bbox, bbox_crs)
    lay = _page_layout(*paper.page, paper.orientation)
    scale, extent = _fit_scale(ext, lay.frame, padded=bbox is None)
    if title is None:
        main, sub = p.title.get(lang) or p.title.get("vi", ""), p.subtitle.get(lang) or p.subtitle.get("vi", "")
    else:
        main, sub = title, ""
    return MapPlan(preset=p, layers=layers, size=paper.size, orientation=paper.orientation, fmt=paper.fmt,
                   dpi=paper.dpi, lang=lang, title=main, subtitle=sub, today=today or dt.date.today(),
                   page=paper.page, frame=lay.frame, panel=lay.panel, title_box=lay.title_box, k=lay.k, scale=scale,
                   extent=extent, coverage=coverage)


# ---------------------------------------------------------------------------------------------------- checks

def _check_preset(preset: str, lang: str) -> MapPreset:
    if lang not in LANGS:
        raise PrintError(f"unknown language {lang!r}; use vi or en", f"ngôn ngữ {lang!r} không hợp lệ; dùng vi hoặc en")
    p = PRESETS.get(preset)
    if p is None:
        raise PrintError(f"unknown preset {preset!r}; use one of: {', '.join(PRESETS)}",
                         f"mẫu bản đồ {preset!r} không có; dùng một trong: {', '.join(PRESETS)}")
    return p


def _check_paper(p: MapPreset, size: str | None, orientation: str | None, fmt: str, dpi) -> _Paper:
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
    dpi = _check_dpi(dpi)
    w, h = PAPER_MM[size]
    if orientation == "landscape":
        w, h = h, w
    if fmt == "png" and (w / 25.4 * dpi) * (h / 25.4 * dpi) > MAX_PIXELS:
        raise PrintError(f"a {size} PNG at {dpi} dpi is too large; choose a lower dpi or the PDF",
                         f"ảnh PNG khổ {size} ở {dpi} dpi quá lớn; chọn dpi thấp hơn hoặc định dạng PDF")
    return _Paper(size, orientation, fmt, dpi, (w, h))


def _check_dpi(dpi) -> int:
    try:
        dpi = int(dpi)
    except (TypeError, ValueError):
        raise PrintError(f"dpi must be a whole number, not {dpi!r}",
                         f"dpi phải là số nguyên, không phải {dpi!r}") from None
    if not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
        raise PrintError(f"dpi {dpi} is out of range {DPI_RANGE[0]}–{DPI_RANGE[1]}",
                         f"dpi {dpi} nằm ngoài khoảng {DPI_RANGE[0]}–{DPI_RANGE[1]}")
    return dpi


def _check_title(title: str | None) -> str | None:
    """The caller's title without control characters; None for none (the preset's title is used)."""
    if title is None:
        return None
    title = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", str(title)).strip()
    if len(title) > MAX_TITLE:
        raise PrintError(f"the title is longer than {MAX_TITLE} characters", f"tiêu đề dài quá {MAX_TITLE} ký tự")
    return title or None


# ---------------------------------------------------------------------------------------------------- layers

def _parse_collections(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


def _present_layers(dataset, p: MapPreset, collections) -> list[str]:
    """The preset's base layers plus the chosen (or the preset's) thematic ones, those with features."""
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
    return present


def _drawing_order(dataset, ids: list[str], base: set[str]) -> list[str]:
    """Base polygons, thematic polygons, lines, points — each group in the order asked."""
    rank = {"polygon": 0, "line": 2, "point": 3}
    ranks = {}
    for lid in ids:
        r = rank[layer_kind(dataset.get(lid))]
        ranks[lid] = 1 if r == 0 and lid not in base else r
    return sorted(ids, key=ranks.__getitem__)  # stable: the order asked within a group


# ---------------------------------------------------------------------------------------------------- extent

def _bounds_9213(dataset, ids: Sequence[str]) -> Box:
    boxes = []
    for lid in ids:
        b = dataset.get(lid).bounds
        boxes.append(to_metres(np.array([shapely.box(*b)]))[0].bounds)
    a = np.array(boxes)
    return (a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max())


def _preset_extent(dataset, p: MapPreset) -> Box | None:
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


def _bbox_extent(bbox, bbox_crs: str, data_box: Box) -> Box:
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
    return box.bounds


def _requested_extent(dataset, p: MapPreset, present: list[str], bbox, bbox_crs: str) -> Box:
    """What the map must show (EPSG:9213): the bbox, else the preset's outline, else all drawn layers."""
    data_box = _bounds_9213(dataset, present)
    if bbox is not None:
        ext = _bbox_extent(bbox, bbox_crs, data_box)
    else:
        ext = _preset_extent(dataset, p) or data_box
    if ext[2] - ext[0] < 1 or ext[3] - ext[1] < 1:
        raise PrintError("the extent is too small to print", "phạm vi quá nhỏ để in")
    return ext


# ---------------------------------------------------------------------------------------------------- page

def _page_layout(w: float, h: float, orientation: str) -> _Layout:
    """Title across the top; the panel to the right (landscape) or below (portrait); the map frame in the rest."""
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
    return _Layout(k, frame, panel, title_box)


def _nice_scale(needed: float) -> int:
    exp = 10 ** math.floor(math.log10(max(needed, 1.0)))
    for mult in (1, 10):
        for step in _SCALE_STEPS:
            if step * exp * mult >= needed * (1 - 1e-9):
                return int(round(step * exp * mult))
    return int(round(10 * exp))


def _fit_scale(ext: Box, frame: Box, padded: bool) -> tuple[int, Box]:
    """The smallest standard scale at which `ext` fits the frame (2 % margin unless a bbox was asked), and the
    extent the frame then shows, centred on `ext`."""
    fw, fh = frame[2], frame[3]
    pad = 1.02 if padded else 1.0
    scale = _nice_scale(max((ext[2] - ext[0]) * pad / fw, (ext[3] - ext[1]) * pad / fh) * 1000)
    cx, cy = (ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2
    half_w, half_h = fw * scale / 2000, fh * scale / 2000
    return scale, (cx - half_w, cy - half_h, cx + half_w, cy + half_h)

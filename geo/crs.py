"""Coordinate reference systems the service speaks, and vectorized transforms between them.

Everything is stored in OGC:CRS84 (longitude, latitude).  Planners' official files are in VN-2000; Thái Nguyên
uses the TM-3 zone with central meridian 106°30′ (EPSG:9213).  Measuring in metres is done in that CRS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

from geo.errors import BadRequest

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
METRIC_CRS = "EPSG:9213"  # VN-2000 / TM-3 106-30: the province's official projected CRS
# Where anything planmap handles may lie: Vietnam's mainland and islands, generously (CRS84 degrees).
VIETNAM_BOUNDS = (102.0, 8.0, 110.0, 23.5)


@dataclass(frozen=True)
class SupportedCrs:
    """One CRS a client may ask for, with its OGC URI and whether coordinates are written latitude-first."""

    uri: str
    code: str  # the pyproj user input, e.g. "EPSG:9213"
    label: str
    lat_first: bool

    @property
    def header(self) -> str:
        return f"<{self.uri}>"


def _epsg(code: int, label: str, lat_first: bool = False) -> SupportedCrs:
    return SupportedCrs(f"http://www.opengis.net/def/crs/EPSG/0/{code}", f"EPSG:{code}", label, lat_first)


SUPPORTED: tuple[SupportedCrs, ...] = (
    SupportedCrs(CRS84_URI, "OGC:CRS84", "WGS 84 (lon, lat)", False),
    _epsg(4326, "WGS 84 (lat, lon)", lat_first=True),
    _epsg(3857, "WGS 84 / Pseudo-Mercator"),
    _epsg(9213, "VN-2000 / TM-3 106°30′"),
    _epsg(3405, "VN-2000 / UTM 48N"),
)
CRS84 = SUPPORTED[0]

_ALIASES: dict[str, SupportedCrs] = {}
for _crs in SUPPORTED:
    _ALIASES[_crs.uri.lower()] = _crs
    _ALIASES[_crs.code.lower()] = _crs
    _ALIASES[f"[{_crs.code.lower()}]"] = _crs  # safe CURIE form
    _ALIASES[_crs.uri.lower().replace("http://", "https://")] = _crs
_ALIASES["crs84"] = CRS84
_ALIASES["[ogc:crs84]"] = CRS84


class UnsupportedCrsError(BadRequest):
    """A CRS the service does not offer."""


def parse_crs(value: str | None) -> SupportedCrs:
    """Map a URI, CURIE or EPSG code given by a client to a supported CRS (None means CRS84)."""
    if value is None or value == "":
        return CRS84
    found = _ALIASES.get(value.strip().lower())
    if found is None:
        offered = ", ".join(c.uri for c in SUPPORTED)
        raise UnsupportedCrsError(f"CRS {value!r} is not supported; use one of: {offered}",
                                  f"Hệ tọa độ {value!r} không được hỗ trợ; dùng một trong: {offered}")
    return found


@lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


# A forked worker makes transformers of its own: one made before fork holds a PROJ context (and its open proj.db)
# of the parent.
os.register_at_fork(after_in_child=_transformer.cache_clear)


def transform_coords(xy: np.ndarray, source: SupportedCrs, target: SupportedCrs) -> np.ndarray:
    """Transform an (n, 2) array of coordinates given and returned in each CRS's axis order."""
    if source == target or (source.code in ("OGC:CRS84", "EPSG:4326") and target.code in ("OGC:CRS84", "EPSG:4326")):
        out = np.asarray(xy, dtype="float64")
        return out[:, ::-1] if source.lat_first != target.lat_first else out
    xy = np.asarray(xy, dtype="float64")
    if source.lat_first:
        xy = xy[:, ::-1]
    x, y = _transformer(source.code, target.code).transform(xy[:, 0], xy[:, 1])
    out = np.column_stack([x, y])
    return out[:, ::-1] if target.lat_first else out


def transform_geometries(geoms: np.ndarray, source: SupportedCrs, target: SupportedCrs) -> np.ndarray:
    """Transform shapely geometries between supported CRSs (vectorized over all vertices at once)."""
    if source == target:
        return geoms
    return shapely.transform(geoms, lambda xy: transform_coords(xy, source, target))


def to_metres(geoms: np.ndarray, source: SupportedCrs = CRS84) -> np.ndarray:
    """Geometries in VN-2000 / TM-3 106°30′ metres, where distances and areas are measured."""
    return transform_geometries(geoms, source, parse_crs(METRIC_CRS))


def transform_bbox(bbox: tuple[float, float, float, float], source: SupportedCrs, target: SupportedCrs,
                   densify: int = 21) -> shapely.Geometry:
    """A bbox given in `source` as a polygon in `target`, with densified edges so curved edges stay covered.

    The part of the bbox beyond the source CRS's domain (`bbox_domain`) is left out first: reprojected, it would
    be infinities; a bbox entirely beyond it is refused (400 naming the bbox).
    """
    clipped = clip_bbox(bbox, source)
    if clipped is None:
        raise bbox_outside(source)
    minx, miny, maxx, maxy = clipped
    if (minx, miny) == (maxx, maxy):
        box = shapely.Point(minx, miny)
    else:  # a bbox without area is a line: GEOS cannot densify it as a box
        box = shapely.box(minx, miny, maxx, maxy) if minx < maxx and miny < maxy else \
            shapely.LineString([(minx, miny), (maxx, maxy)])
        box = shapely.segmentize(box, max(maxx - minx, maxy - miny) / densify)
    if source.lat_first:  # a lat-first bbox is (minlat, minlon, maxlat, maxlon): EPSG:4326, i.e. CRS84 swapped
        box = shapely.transform(box, lambda a: a[:, ::-1])
        source = CRS84
    return transform_geometries(np.array([box]), source, target)[0]


@lru_cache(maxsize=16)
def pyproj_crs(crs: SupportedCrs) -> CRS:
    return CRS.from_user_input(crs.code)


@lru_cache(maxsize=16)
def bbox_domain(crs: SupportedCrs) -> tuple[float, float, float, float]:
    """Where a bbox given in `crs` may lie, in that CRS's own axis order.

    Degrees: the whole globe.  A projected CRS: its area of use (EPSG's, as pyproj reports it) widened to all of
    Vietnam, where everything planmap holds lies — VN-2000 / TM-3 106°30′ is defined for old Thái Nguyên only,
    yet the merged province and its neighbours are drawn in it.  Far outside, a transverse Mercator projection
    has no inverse (it gives infinities), so a bbox is clipped to this domain before it is transformed.
    """
    if pyproj_crs(crs).is_geographic:
        return (-90.0, -180.0, 90.0, 180.0) if crs.lat_first else (-180.0, -90.0, 180.0, 90.0)
    area = pyproj_crs(crs).area_of_use
    lon0, lat0, lon1, lat1 = VIETNAM_BOUNDS
    if area is not None:
        lon0, lat0 = min(lon0, area.west), min(lat0, area.south)
        lon1, lat1 = max(lon1, area.east), max(lat1, area.north)
    bounds = _transformer("OGC:CRS84", crs.code).transform_bounds(lon0, lat0, lon1, lat1, densify_pts=21)
    return tuple(float(v) for v in bounds)  # type: ignore[return-value]


def bbox_outside(crs: SupportedCrs) -> BadRequest:
    """The refusal of a bbox that lies wholly outside the area `crs` is used for."""
    minx, miny, maxx, maxy = bbox_domain(crs)
    where = f"x {minx:.0f}..{maxx:.0f}, y {miny:.0f}..{maxy:.0f}"
    return BadRequest(f"bbox lies outside the area {crs.code} is used for ({where})",
                      f"bbox nằm ngoài vùng sử dụng của {crs.code} ({where})")


def clip_bbox(bbox: tuple[float, float, float, float], crs: SupportedCrs
              ) -> tuple[float, float, float, float] | None:
    """The part of `bbox` (in `crs`) inside the CRS's domain (`bbox_domain`); None when nothing of it is."""
    minx, miny, maxx, maxy = bbox_domain(crs)
    clipped = (max(bbox[0], minx), max(bbox[1], miny), min(bbox[2], maxx), min(bbox[3], maxy))
    if clipped[0] > clipped[2] or clipped[1] > clipped[3]:
        return None
    return clipped

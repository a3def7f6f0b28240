"""Turning a planner's proposal (a GeoJSON Feature, or rows of a file) into checked, metric-ready input."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import shape

from geo.crs import CRS84, SupportedCrs, UnsupportedCrsError, parse_crs, transform_geometries
from layers.rules import PROPOSAL_KINDS

# Where a proposal may be at all: Vietnam's mainland and islands, generously (CRS84 degrees).
VIETNAM_BOUNDS = (102.0, 8.0, 110.0, 23.5)
ALLOWED_GEOMETRIES = ("Point", "Polygon", "MultiPolygon")


class ProposalError(ValueError):
    """A proposal that cannot be checked, with the reason in English and Vietnamese."""

    def __init__(self, en: str, vi: str) -> None:
        super().__init__(en)
        self.en, self.vi = en, vi


@dataclass
class Proposals:
    """A batch of proposals in CRS84 (as given, converted) with their kinds and attributes."""

    kinds: np.ndarray
    geoms: np.ndarray  # CRS84
    properties: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.kinds)


def declared_crs(feature: dict, crs: str | None) -> SupportedCrs:
    """The CRS of a proposal: the `crs` parameter, else a GeoJSON 2008 `crs` member, else CRS84."""
    name = crs
    member = feature.get("crs")
    if name is None and isinstance(member, dict):
        name = (member.get("properties") or {}).get("name")
    try:
        return parse_crs(name)
    except UnsupportedCrsError as exc:
        raise ProposalError(str(exc), f"Hệ tọa độ không được hỗ trợ: {name}") from None


def check_lonlat(geoms: np.ndarray, labels: list[str] | None = None) -> None:
    """Refuse coordinates outside Vietnam, and say so when they look like VN-2000 metres sent as degrees."""
    for i, geom in enumerate(geoms):
        minx, miny, maxx, maxy = geom.bounds
        where = f" ({labels[i]})" if labels else ""
        if abs(minx) > 180 or abs(maxx) > 180 or abs(miny) > 90 or abs(maxy) > 90:
            if 100_000 <= minx <= 900_000 and 1_000_000 <= miny <= 2_800_000:
                raise ProposalError(
                    f"coordinates{where} look like VN-2000 metres (x={minx:.0f}, y={miny:.0f}) but were sent as "
                    "longitude/latitude; declare crs=http://www.opengis.net/def/crs/EPSG/0/9213",
                    f"Tọa độ{where} có vẻ là mét VN-2000 (x={minx:.0f}, y={miny:.0f}) nhưng được gửi như kinh độ/vĩ "
                    "độ; hãy khai báo crs=EPSG:9213")
            raise ProposalError(f"coordinates{where} are not longitude/latitude", f"Tọa độ{where} không hợp lệ")
        lon0, lat0, lon1, lat1 = VIETNAM_BOUNDS
        if minx < lon0 or maxx > lon1 or miny < lat0 or maxy > lat1:
            raise ProposalError(f"the proposal{where} lies outside Vietnam ({minx:.4f}, {miny:.4f})",
                                f"Đề xuất{where} nằm ngoài lãnh thổ Việt Nam ({minx:.4f}, {miny:.4f})")


def check_geometry(geom, where: str = "") -> None:
    if geom is None or geom.is_empty:
        raise ProposalError(f"the proposal{where} has no geometry", f"Đề xuất{where} không có hình học")
    if geom.geom_type not in ALLOWED_GEOMETRIES:
        raise ProposalError(f"geometry type {geom.geom_type}{where} is not a point or polygon",
                            f"Kiểu hình học {geom.geom_type}{where} phải là điểm hoặc vùng")
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        raise ProposalError(f"invalid geometry{where}: {reason}", f"Hình học không hợp lệ{where}: {reason}")


def check_kind(kind: object, where: str = "") -> str:
    if kind not in PROPOSAL_KINDS:
        raise ProposalError(f"unknown proposal kind {kind!r}{where}; use one of {', '.join(PROPOSAL_KINDS)}",
                            f"Loại đề xuất {kind!r}{where} không hợp lệ; dùng một trong: {', '.join(PROPOSAL_KINDS)}")
    return str(kind)


def from_feature(feature: object, crs: str | None = None) -> tuple[Proposals, dt.date | None]:
    """One GeoJSON Feature → a batch of one, plus its `as_of` property when given."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ProposalError("the body must be a GeoJSON Feature", "Nội dung phải là một GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise ProposalError("properties must be an object", "properties phải là một đối tượng")
    kind = check_kind(props.get("kind"))
    source = declared_crs(feature, crs)
    try:
        geom = shape(feature["geometry"]) if feature.get("geometry") else None
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise ProposalError(f"unreadable geometry: {exc}", f"Không đọc được hình học: {exc}") from None
    check_geometry(geom)
    geoms = np.array([geom], dtype=object)
    if source != CRS84:
        geoms = transform_geometries(geoms, source, CRS84)
    check_lonlat(geoms)
    as_of = props.get("as_of")
    day = None
    if as_of is not None:
        try:
            day = dt.date.fromisoformat(str(as_of))
        except ValueError:
            raise ProposalError(f"as_of {as_of!r} is not a date (YYYY-MM-DD)",
                                f"as_of {as_of!r} không phải ngày (YYYY-MM-DD)") from None
    return Proposals(kinds=np.array([kind], dtype=object), geoms=geoms, properties=[props]), day

"""Turning a planner's proposal (a GeoJSON Feature, or rows of a file) into checked, metric-ready input."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import shape

from geo.crs import CRS84, VIETNAM_BOUNDS, SupportedCrs, UnsupportedCrsError, parse_crs, transform_geometries
from geo.errors import PlanmapError, Unprocessable
from layers.limits import MAX_BATCH_VERTICES, MAX_CHECK_VERTICES_PLANNER, check_vertices
from layers.query import QueryError, parse_date
from layers.rules import PROPOSAL_KINDS

ALLOWED_GEOMETRIES = ("Point", "Polygon", "MultiPolygon")
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection")  # RFC 7946 §3.1


class ProposalError(Unprocessable):
    """A proposal that cannot be checked, with the reason in English and Vietnamese."""

    code = "InvalidProposal"


@dataclass
class Proposals:
    """A batch of proposals in CRS84 (as given, converted) with their kinds and attributes."""

    kinds: np.ndarray
    geoms: np.ndarray  # CRS84
    properties: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.kinds)


def declared_crs(feature: dict, crs: str | None) -> SupportedCrs:
    """The CRS of a proposal: the `crs` parameter, else a GeoJSON 2008 named `crs` member, else CRS84."""
    name = crs
    member = feature.get("crs")
    if name is None and member is not None:
        properties = member.get("properties") if isinstance(member, dict) else None
        name = properties.get("name") if isinstance(properties, dict) else None
        if not isinstance(name, str) or member.get("type") != "name":
            raise ProposalError('the crs member must be {"type": "name", "properties": {"name": "<CRS URI>"}}',
                                'Thành phần crs phải có dạng {"type": "name", "properties": {"name": "<URI>"}}')
    try:
        return parse_crs(name)
    except UnsupportedCrsError as exc:
        raise ProposalError(str(exc), f"Hệ tọa độ không được hỗ trợ: {name}") from None


def read_geometry(value: object, error: type[PlanmapError] | None = None) -> shapely.Geometry | None:
    """A GeoJSON geometry object as a shapely geometry (None for null), refusing — with `error`, ProposalError by
    default — an unknown type, coordinates that do not fit the type, and coordinates that are not finite numbers."""
    error = error or ProposalError
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in GEOMETRY_TYPES:
        raise error(f"unreadable geometry: type must be one of {', '.join(GEOMETRY_TYPES)} (given: {kind!r})"[:300],
                    f"Không đọc được hình học: kiểu phải là một trong {', '.join(GEOMETRY_TYPES)}")
    try:
        geom = shape(value)
        finite = bool(np.isfinite(shapely.get_coordinates(geom, include_z=bool(shapely.has_z(geom)))).all())
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, shapely.errors.ShapelyError):
        raise error(f"unreadable geometry: its coordinates do not make a {kind} (RFC 7946 §3.1)",
                    f"Không đọc được hình học: tọa độ không tạo thành {kind} (RFC 7946 §3.1)") from None
    if not finite:
        raise error("unreadable geometry: every coordinate must be a finite number",
                    "Không đọc được hình học: mọi tọa độ phải là số hữu hạn")
    return geom


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
    name = props.get("name")
    if name is not None and not isinstance(name, str):
        raise ProposalError("the proposal's name must be text", "Tên đề xuất phải là chuỗi ký tự")
    source = declared_crs(feature, crs)
    geom = read_geometry(feature.get("geometry"))
    check_geometry(geom)
    geoms = np.array([geom], dtype=object)
    if source != CRS84:
        geoms = transform_geometries(geoms, source, CRS84)
    check_lonlat(geoms)
    as_of = props.get("as_of")
    day = None
    if as_of is not None:
        try:
            day = parse_date(as_of)
        except QueryError:
            raise ProposalError(f"as_of {as_of!r} is not a date (YYYY-MM-DD)",
                                f"as_of {as_of!r} không phải ngày (YYYY-MM-DD)") from None
    return Proposals(kinds=np.array([kind], dtype=object), geoms=geoms, properties=[props]), day


def _check_batch_size(geoms: np.ndarray) -> None:
    """Refuse (413) a file with a proposal, or proposals together, over the vertex limits, before any check."""
    counts = shapely.get_num_coordinates(geoms)
    for row in np.flatnonzero(counts > MAX_CHECK_VERTICES_PLANNER)[:1]:
        check_vertices(int(counts[row]), MAX_CHECK_VERTICES_PLANNER, f"the proposal at row {row + 1}",
                       f"Đề xuất ở dòng {row + 1}")
    check_vertices(int(counts.sum()), MAX_BATCH_VERTICES, "the file's proposals together", "Các đề xuất của tệp")


def _guess_xy_columns(columns: list[str]) -> tuple[str, str] | None:
    lower = {c.lower(): c for c in columns}
    for x, y in (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y"), ("kinh_do", "vi_do"),
                 ("easting", "northing")):
        if x in lower and y in lower:
            return lower[x], lower[y]
    return None


def read_proposals(path, crs: str | None = None) -> tuple[Proposals, object]:
    """Proposals from a GeoPackage, Shapefile, GeoJSON or CSV (with lon/lat or x/y columns), WGS84 or VN-2000.

    Every row is validated; the error lists each bad row (up to 20) so the planner can fix the file.
    """
    from pathlib import Path

    import geopandas as gpd
    import pandas as pd
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise ProposalError(f"{path} does not exist", f"Không có tệp {path}")
    try:
        if path.suffix.lower() == ".csv":
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            cols = _guess_xy_columns(list(table.columns))
            if cols is None:
                raise ProposalError("the CSV needs coordinate columns lon/lat (WGS84) or x/y (VN-2000 metres)",
                                    "Tệp CSV cần cột tọa độ lon/lat (WGS84) hoặc x/y (mét VN-2000)")
            try:
                xs = pd.to_numeric(table[cols[0]]).to_numpy(dtype=float)
                ys = pd.to_numeric(table[cols[1]]).to_numpy(dtype=float)
            except ValueError as exc:
                raise ProposalError(f"coordinates are not numbers: {exc}", f"Tọa độ không phải số: {exc}") from None
            frame = gpd.GeoDataFrame(table.drop(columns=list(cols)), geometry=gpd.points_from_xy(xs, ys))
            source_crs = crs
            if source_crs is None and len(frame) and np.nanmin(np.abs(xs)) > 1000:
                source_crs = "EPSG:9213"  # metres: VN-2000 / TM-3 106°30′, the province's CRS
        else:
            frame = pyogrio.read_dataframe(path)
            source_crs = crs or (frame.crs.to_string() if frame.crs is not None else None)
    except ProposalError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem
        raise ProposalError(f"cannot read {path.name}: {exc}", f"Không đọc được {path.name}: {exc}") from None
    if len(frame) == 0:
        raise ProposalError(f"{path.name} holds no proposals", f"{path.name} không có đề xuất nào")
    if "kind" not in frame.columns:
        raise ProposalError("a `kind` column is required (fuel_station, lpg_station, industrial_cluster, "
                            "industrial_park, factory)", "Cần cột `kind` (loại đề xuất)")
    geoms = frame.geometry.to_numpy()
    _check_batch_size(geoms)
    problems = []
    for i, (kind, geom) in enumerate(zip(frame["kind"], geoms, strict=True)):
        try:
            check_kind(kind, f" at row {i + 1}")
            check_geometry(geom, f" at row {i + 1}")
        except ProposalError as exc:
            problems.append(exc)
    if not problems:
        try:
            target = parse_crs(source_crs) if source_crs and source_crs.upper() not in ("EPSG:4326", "OGC:CRS84") \
                else CRS84
        except UnsupportedCrsError:
            target = None
            from pyproj import CRS

            geoms = gpd.GeoSeries(geoms, crs=CRS.from_user_input(source_crs)).to_crs("OGC:CRS84").to_numpy()
        if target is not None and target != CRS84:
            geoms = transform_geometries(geoms, target, CRS84)
        try:
            check_lonlat(geoms, [f"row {i + 1}" for i in range(len(geoms))])
        except ProposalError as exc:
            problems.append(exc)
    if problems:
        shown = problems[:20]
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise ProposalError("; ".join(p.en for p in shown) + more, "; ".join(p.vi for p in shown) + more)
    props = frame.drop(columns=frame.geometry.name).to_dict("records")
    return Proposals(kinds=frame["kind"].astype(str).to_numpy(dtype=object), geoms=geoms, properties=props), frame

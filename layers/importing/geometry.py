"""Checking each geometry in the file's own coordinates: none or empty is an error, heights are dropped, the
geometry is fitted to the layer's type (closed CAD lines as polygons, single as multi-part…) and an invalid one is
repaired (a warning) or, with `repair=False`, rejected.  Every conversion is counted in a note."""

from __future__ import annotations

import numpy as np
import shapely

from layers.importing.context import ImportContext

_FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line", "LinearRing": "line",
           "MultiLineString": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}
# shapely's type ids of the geometry types a layer may have
_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6}
_MULTI = {"point": shapely.MultiPoint, "line": shapely.MultiLineString, "polygon": shapely.MultiPolygon}
_CONVERSIONS = {
    "closed_line_as_polygon": ("closed lines were read as polygons", "đường khép kín được đọc thành vùng"),
    "zero_line_as_point": ("zero-length lines (DGN points) were read as points",
                           "đường có độ dài 0 (điểm DGN) được đọc thành điểm"),
    "promoted_to_multi": ("single geometries were stored as multi-part", "hình đơn được lưu dạng đa phần"),
    "single_part": ("one-part multi geometries were stored as single", "hình đa phần chỉ có một phần được lưu "
                    "dạng đơn"),
    "collection_flattened": ("geometry collections of one kind were merged", "tập hợp hình cùng loại được gộp"),
}
_VN_TYPES = {"Point": "điểm", "MultiPoint": "đa điểm", "LineString": "đường", "MultiLineString": "đa đường",
             "Polygon": "vùng", "MultiPolygon": "đa vùng", "GeometryCollection": "tập hợp hình"}
_VN_REASONS = {"Self-intersection": "tự cắt", "Ring Self-intersection": "vòng tự cắt",
               "Too few points": "quá ít điểm", "Hole lies outside shell": "lỗ nằm ngoài vòng ngoài",
               "Nested shells": "vòng ngoài lồng nhau", "Interior is disconnected": "phần trong bị tách rời",
               "Duplicate Rings": "vòng trùng nhau", "Invalid Coordinate": "tọa độ không hợp lệ",
               "Ring Not Closed": "vòng không khép kín", "Nested holes": "lỗ lồng nhau"}


def norm_geometry_type(value: str | None) -> str | None:
    """A layer's geometry type as shapely names it ("Point Z", "multipolygon" → "Point", "MultiPolygon")."""
    if not value:
        return None
    v = str(value).replace(" Z", "").replace("25D", "").strip()
    names = {n.lower(): n for n in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                    "MultiPolygon")}
    return names.get(v.lower())


def check_geometries(ctx: ImportContext, geoms: np.ndarray) -> np.ndarray:
    """The geometries fit for the layer (None where a feature is rejected, with the problem reported).

    Vectorised for the common case — a valid geometry of the layer's own type — so that a 200,000-feature file
    is checked in a fraction of a second; only empty, mistyped or invalid geometries are looked at one by one."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.empty(len(geoms), dtype=object)
    missing = shapely.is_missing(geoms)
    missing[~missing] = shapely.is_empty(geoms[~missing])
    has_z = np.zeros(len(geoms), dtype=bool)
    has_z[~missing] = shapely.has_z(geoms[~missing])
    geoms = geoms.copy()
    if has_z.any():
        geoms[has_z] = shapely.force_2d(geoms[has_z])
    type_ids = shapely.get_type_id(geoms)
    if ctx.geometry_type is not None:
        plain = type_ids == _TYPE_IDS[ctx.geometry_type]
    else:
        plain = np.isin(type_ids, [v for k, v in _TYPE_IDS.items()])
    plain &= ~missing
    valid = np.zeros(len(geoms), dtype=bool)
    valid[plain] = shapely.is_valid(geoms[plain])
    out[plain & valid] = geoms[plain & valid]
    converted: dict[str, int] = {}
    for i in np.flatnonzero(~(plain & valid)):
        geom = geoms[i]
        if missing[i]:
            ctx.problem(i, "error", "empty_geometry", "the feature has no geometry", "Đối tượng không có hình học")
            continue
        how = None
        if not plain[i]:
            geom, how = coerce(geom, ctx.geometry_type)
            if geom is None:
                ctx.problem(i, "error", "geometry_type", f"a {how} cannot go into a layer of {ctx.geometry_type}",
                            f"Kiểu hình học {_vn_type(how)} không phù hợp với lớp kiểu "
                            f"{_vn_type(ctx.geometry_type)}")
                continue
            if how:
                converted[how] = converted.get(how, 0) + 1
        out[i] = geom if (plain[i] and valid[i]) or (not plain[i] and shapely.is_valid(geom)) \
            else _repair_or_reject(ctx, int(i), geom)
    z_count = int(has_z.sum())
    if z_count:
        ctx.report.note("z_dropped", f"heights (Z) were dropped from {z_count} features",
                        f"Đã bỏ cao độ (Z) của {z_count} đối tượng")
    for how, count in converted.items():
        en, vi = _CONVERSIONS.get(how, (how, how))
        ctx.report.note(f"geometry_{how}", f"{count} features: {en}", f"{count} đối tượng: {vi}")
    return out


def _repair_or_reject(ctx: ImportContext, i: int, geom):
    """The invalid geometry repaired (a warning), or None with an error when it may not or cannot be."""
    reason = shapely.is_valid_reason(geom)
    if not ctx.repair:
        ctx.problem(i, "error", "invalid_geometry", f"invalid geometry: {reason}",
                    f"Hình học không hợp lệ: {_vn_reason(reason)}", reason=reason)
        return None
    fixed = _repair(geom)
    fixed, _ = coerce(fixed, ctx.geometry_type) if fixed is not None else (None, None)
    if fixed is None or fixed.is_empty:
        ctx.problem(i, "error", "invalid_geometry", f"invalid geometry that cannot be repaired: {reason}",
                    f"Hình học không hợp lệ, không sửa được: {_vn_reason(reason)}", reason=reason)
        return None
    ctx.problem(i, "warning", "invalid_geometry_repaired", f"invalid geometry repaired: {reason}; now "
                f"{fixed.geom_type}", f"Hình học không hợp lệ đã được sửa: {_vn_reason(reason)}; nay là "
                f"{_vn_type(fixed.geom_type)}", reason=reason)
    return fixed


def coerce(geom, target: str | None):
    """Fit a geometry to the layer's type: (geometry, conversion) or (None, the geometry's type) if impossible."""
    gtype = geom.geom_type
    how = None
    if gtype == "LinearRing":
        geom, gtype = shapely.LineString(geom.coords), "LineString"
    if gtype == "GeometryCollection":
        fams = {_FAMILY.get(g.geom_type) for g in geom.geoms if not g.is_empty}
        if len(fams) != 1 or None in fams:
            return None, "GeometryCollection"
        fam = fams.pop()
        parts = [p for g in geom.geoms for p in getattr(g, "geoms", [g])]
        geom = _MULTI[fam](parts)
        gtype, how = geom.geom_type, "collection_flattened"
    if target is None:
        return geom, how
    fam, want = _FAMILY.get(gtype), _FAMILY[target]
    if fam != want:
        if want == "polygon" and gtype == "LineString" and geom.is_closed and len(geom.coords) >= 4:
            geom, how = shapely.Polygon(geom.coords), "closed_line_as_polygon"
        elif want == "point" and gtype == "LineString" and len(set(geom.coords)) == 1:
            geom, how = shapely.Point(geom.coords[0]), "zero_line_as_point"
        else:
            return None, gtype
        gtype = geom.geom_type
    multi = target.startswith("Multi")
    if multi and not gtype.startswith("Multi"):
        geom = _MULTI[want]([geom])
        how = how or "promoted_to_multi"
    elif not multi and gtype.startswith("Multi"):
        if len(geom.geoms) != 1:
            return None, f"{gtype} of {len(geom.geoms)} parts"
        geom, how = geom.geoms[0], how or "single_part"
    return geom, how


def _repair(geom):
    """make_valid, keeping only the parts of the geometry's own dimension."""
    fixed = shapely.make_valid(geom)
    fam = _FAMILY.get(geom.geom_type)
    parts = [p for p in getattr(fixed, "geoms", [fixed]) if _FAMILY.get(p.geom_type) == fam and not p.is_empty]
    flat = [q for p in parts for q in getattr(p, "geoms", [p])]
    if not flat:
        return None
    if fam == "polygon":
        return shapely.MultiPolygon(flat) if len(flat) > 1 else flat[0]
    if fam == "line":
        return shapely.MultiLineString(flat) if len(flat) > 1 else flat[0]
    return shapely.MultiPoint(flat) if len(flat) > 1 else flat[0]


def _vn_type(t: str | None) -> str:
    if not t:
        return "?"
    head = t.split(" ")[0]
    return _VN_TYPES.get(head, head) + (t[len(head):].replace(" of ", " gồm ").replace("parts", "phần"))


def _vn_reason(reason: str) -> str:
    for en, vi in _VN_REASONS.items():
        if reason.startswith(en):
            return vi + reason[len(en):]
    return reason

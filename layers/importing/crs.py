"""Deciding which CRS the coordinates are in, refusing one they cannot be in, and transforming them to CRS84.

The CRS declared by the planner wins over the file's; a file without one is given WGS 84 when its coordinates are
longitudes/latitudes in Vietnam, or VN-2000 / TM-3 106°30′ (EPSG:9213, the province's) when they are metres that
fall around Thái Nguyên in it — also with the surveyors' axis order (X = northing), which is then swapped.
Anything else is refused with a hint (e.g. UTM 48N), as is a CRS in degrees for metres or the other way round, or
one that puts every feature outside Vietnam.  After the transformation a feature outside Vietnam is rejected and
one outside the province is imported with a warning.
"""

from __future__ import annotations

import re

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geo.crs import VIETNAM_BOUNDS, UnsupportedCrsError, parse_crs
from layers.importing.context import ImportContext
from layers.importing.errors import ImportRefused

TM3_CRS = "EPSG:9213"  # VN-2000 / TM-3 106°30′, the province's CRS
UTM48_CRS = "EPSG:3405"  # VN-2000 / UTM 48N
_PROVINCE_BOX = (105.2, 21.2, 106.4, 22.8)  # where Thái Nguyên is, when no outline was given
_TM3_BOX = (300_000, 2_300_000, 700_000, 2_600_000)  # TM-3 metres around the province
_UTM48_BOX = (100_000, 1_000_000, 900_000, 2_700_000)  # UTM 48N metres anywhere near northern Vietnam


def decide_crs(ctx: ImportContext, geoms: np.ndarray) -> None:
    """Set `ctx.crs` (and `ctx.swap`) from the declaration, the file or the coordinates; report which and why."""
    live = np.array([g for i, g in enumerate(geoms) if i not in ctx.rejected and g is not None], dtype=object)
    if len(live) == 0:
        raise ImportRefused("no_valid_features", f"none of the {len(geoms)} features of {ctx.name} has a usable "
                            "geometry", f"Không đối tượng nào trong {len(geoms)} đối tượng của {ctx.name} có "
                            "hình học dùng được", details={"problems": ctx.report.problems[:50]})
    b = shapely.bounds(live)
    bounds = (float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])), float(np.nanmax(b[:, 2])),
              float(np.nanmax(b[:, 3])))
    if ctx.declared_crs:
        target = parse_user_crs(ctx.declared_crs)
        ctx.report.crs_source = "declared"
        if ctx.file_crs is not None and not target.equals(ctx.file_crs, ignore_axis_order=True):
            ctx.report.note("declared_crs_overrides_file", f"the declared CRS {crs_label(target)} was used "
                            f"instead of the file's {crs_label(ctx.file_crs)}", f"Đã dùng hệ tọa độ khai báo "
                            f"{crs_label(target)} thay cho hệ tọa độ của tệp {crs_label(ctx.file_crs)}", "warning")
    elif ctx.file_crs is not None:
        target, ctx.report.crs_source = ctx.file_crs, "file"
    else:
        target = _assume_crs(ctx, bounds)
    if target.is_geographic:
        _check_degrees(ctx, target, bounds)
    elif target.is_projected:
        _check_metres(target, bounds)
    ctx.report.crs = crs_label(target)
    ctx.crs = target


def _assume_crs(ctx: ImportContext, bounds) -> CRS:
    """The CRS of a file that names none, from where its coordinates fall; refuse when none fits."""
    x0, y0, x1, y1 = bounds
    lon0, lat0, lon1, lat1 = VIETNAM_BOUNDS
    if lon0 <= x0 and x1 <= lon1 and lat0 <= y0 and y1 <= lat1 + 0.5:
        if ctx.fmt == "geojson":  # RFC 7946: no CRS is WGS 84
            ctx.report.crs_source = "file"
            return CRS.from_user_input("OGC:CRS84")
        ctx.report.crs_source = "assumed_wgs84"
        ctx.report.note("crs_assumed", "the file declares no CRS; its coordinates are longitudes/latitudes in "
                        "Vietnam, so WGS 84 was assumed", "Tệp không khai báo hệ tọa độ; tọa độ là kinh độ/vĩ "
                        "độ trong lãnh thổ Việt Nam nên đã giả định hệ WGS 84", "warning")
        return CRS.from_user_input("OGC:CRS84")
    tm3 = CRS.from_user_input(TM3_CRS)
    for swapped, bx in _axis_orders(bounds):
        if _within(bx, _TM3_BOX) and _fits_province(ctx, tm3, bx):
            ctx.report.crs_source = "assumed_vn2000_tm3"
            ctx.swap = swapped
            extra_en = (" The columns were in the surveying order (X = northing, Y = easting) and were swapped."
                        if swapped else "")
            extra_vi = (" Tọa độ theo quy ước trắc địa (X hướng Bắc, Y hướng Đông) nên đã được đổi chỗ."
                        if swapped else "")
            ctx.report.note("crs_assumed", "the file declares no CRS; its coordinates are metres that fit "
                            "VN-2000 / TM-3 zone with central meridian 106°30′ (EPSG:9213) around Thái Nguyên, "
                            "so that CRS was assumed — declare the CRS if it is another one." + extra_en,
                            "Tệp không khai báo hệ tọa độ. Đã giả định VN-2000 múi 3° kinh tuyến trục 106°30′ "
                            "(EPSG:9213) vì tọa độ (mét) nằm quanh tỉnh Thái Nguyên — hãy khai báo hệ tọa độ "
                            "nếu không đúng." + extra_vi, "warning")
            return tm3
    utm48 = CRS.from_user_input(UTM48_CRS)
    hint_en = hint_vi = ""
    if any(_within(bx, _UTM48_BOX) and _fits_province(ctx, utm48, bx) for _, bx in _axis_orders(bounds)):
        hint_en = " As VN-2000 / UTM zone 48N (EPSG:3405) they would fall in the province."
        hint_vi = " Nếu là VN-2000 / UTM múi 48 (EPSG:3405) thì tọa độ nằm trong tỉnh."
    raise ImportRefused("ambiguous_crs", f"{ctx.name} declares no CRS and its coordinates (x {x0:.0f}–{x1:.0f}, "
                        f"y {y0:.0f}–{y1:.0f}) fit neither longitude/latitude in Vietnam nor VN-2000 / TM-3 "
                        f"106°30′ around Thái Nguyên.{hint_en} Declare the CRS (e.g. EPSG:9213, EPSG:3405, "
                        "EPSG:4326).", f"{ctx.name} không khai báo hệ tọa độ và tọa độ (x {x0:.0f}–{x1:.0f}, "
                        f"y {y0:.0f}–{y1:.0f}) không khớp kinh độ/vĩ độ Việt Nam hay VN-2000 múi 3° kinh tuyến "
                        f"trục 106°30′ quanh Thái Nguyên.{hint_vi} Hãy khai báo hệ tọa độ (ví dụ EPSG:9213, "
                        "EPSG:3405, EPSG:4326).", details={"bounds": list(bounds)})


def _axis_orders(bounds) -> tuple[tuple[bool, tuple], tuple[bool, tuple]]:
    """The bounds as given, and with x and y swapped (surveyors write the northing first)."""
    x0, y0, x1, y1 = bounds
    return (False, tuple(bounds)), (True, (y0, x0, y1, x1))


def _within(bx, box) -> bool:
    return box[0] <= bx[0] and bx[2] <= box[2] and box[1] <= bx[1] and bx[3] <= box[3]


def _fits_province(ctx: ImportContext, crs: CRS, bx) -> bool:
    """Whether bounds in `crs` meet (a margin around) the province."""
    t = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
    lon, lat = t.transform([bx[0], bx[2], bx[0], bx[2]], [bx[1], bx[1], bx[3], bx[3]])
    box = shapely.box(min(lon), min(lat), max(lon), max(lat))
    area = ctx.province.bounds if ctx.province is not None else _PROVINCE_BOX
    return box.intersects(shapely.box(*area).buffer(0.3))


def _check_degrees(ctx: ImportContext, target: CRS, bounds) -> None:
    """Refuse a CRS in degrees for coordinates that are metres, or latitude/longitude stored the wrong way."""
    x0, y0, x1, y1 = bounds
    if max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90:
        look_en, look_vi = "", ""
        if 100_000 <= min(x0, y0) and max(x1, y1) <= 2_700_000:
            look_en = " They look like VN-2000 metres: declare crs=EPSG:9213 (TM-3 106°30′) or the right zone."
            look_vi = (" Tọa độ có vẻ là mét VN-2000: hãy khai báo crs=EPSG:9213 (múi 3° kinh tuyến trục "
                       "106°30′) hoặc múi chiếu đúng.")
        raise ImportRefused("wrong_crs", f"the CRS {crs_label(target)} ({ctx.report.crs_source}) is in degrees but "
                            f"the coordinates are not (x {x0:.0f}–{x1:.0f}, y {y0:.0f}–{y1:.0f}).{look_en}",
                            f"Hệ tọa độ {crs_label(target)} tính bằng độ nhưng tọa độ trong tệp không phải độ "
                            f"(x {x0:.0f}–{x1:.0f}, y {y0:.0f}–{y1:.0f}).{look_vi}",
                            details={"bounds": list(bounds)})
    if 8 <= x0 and x1 <= 24 and 102 <= y0 and y1 <= 110:
        raise ImportRefused("wrong_crs", f"the coordinates are latitude, longitude (x {x0:.4f}, y {y0:.4f}) "
                            "but were stored as longitude, latitude; swap the columns",
                            f"Tọa độ ghi theo thứ tự vĩ độ, kinh độ (x {x0:.4f}, y {y0:.4f}) thay vì kinh độ, "
                            "vĩ độ; hãy đổi chỗ hai cột")


def _check_metres(target: CRS, bounds) -> None:
    """Refuse a CRS in metres for coordinates that look like degrees."""
    x0, y0, x1, y1 = bounds
    if max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90:
        label = crs_label(target)
        raise ImportRefused("wrong_crs", f"the CRS {label} is in metres but the coordinates look like degrees "
                            f"(x {x0:.5f}–{x1:.5f}, y {y0:.5f}–{y1:.5f}); they are probably WGS 84 "
                            "(declare crs=EPSG:4326)", f"Hệ tọa độ {label} tính bằng mét nhưng tọa độ có vẻ là độ "
                            f"(x {x0:.5f}–{x1:.5f}, y {y0:.5f}–{y1:.5f}); có lẽ là WGS 84 (khai báo "
                            "crs=EPSG:4326)", details={"bounds": list(bounds)})


def to_crs84(ctx: ImportContext, geoms: np.ndarray) -> np.ndarray:
    """The geometries in CRS84 (None for rejected ones); a feature outside Vietnam is rejected, one outside the
    province is kept with a warning, and a CRS that puts every feature outside Vietnam is refused."""
    keep = np.array([i not in ctx.rejected for i in range(len(geoms))])
    out84 = _project(ctx, geoms[keep])
    b = shapely.bounds(out84)
    inside_vn = _inside_vietnam(ctx, b)
    inside_prov = np.ones(len(out84), dtype=bool)
    if ctx.province is not None:
        shapely.prepare(ctx.province)
        inside_prov = shapely.intersects(ctx.province, out84)
    result = np.empty(len(geoms), dtype=object)
    for k, i in enumerate(np.flatnonzero(keep)):
        if not inside_vn[k]:
            ctx.problem(i, "error", "outside_vietnam", f"the feature lies outside Vietnam (lon {b[k, 0]:.4f}, "
                        f"lat {b[k, 1]:.4f})", f"Đối tượng nằm ngoài lãnh thổ Việt Nam (kinh độ {b[k, 0]:.4f}, "
                        f"vĩ độ {b[k, 1]:.4f})")
            continue
        if not inside_prov[k]:
            ctx.problem(i, "warning", "outside_province", "the feature lies outside the province "
                        f"(lon {b[k, 0]:.4f}, lat {b[k, 1]:.4f}); imported, please check",
                        f"Đối tượng nằm ngoài ranh giới tỉnh (kinh độ {b[k, 0]:.4f}, vĩ độ "
                        f"{b[k, 1]:.4f}); vẫn được nhập, đề nghị kiểm tra")
        result[i] = out84[k]
    if ctx.province is not None and not inside_prov.any():
        ctx.report.note("all_outside_province", "no feature lies in the province — check the CRS",
                        "Không đối tượng nào nằm trong tỉnh — hãy kiểm tra hệ tọa độ", "warning")
    return result


def _project(ctx: ImportContext, geoms: np.ndarray) -> np.ndarray:
    if ctx.swap:
        geoms = shapely.transform(geoms, lambda a: a[:, ::-1])
    t = Transformer.from_crs(ctx.crs, "OGC:CRS84", always_xy=True)

    def project(a: np.ndarray) -> np.ndarray:
        x, y = t.transform(a[:, 0], a[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)


def _inside_vietnam(ctx: ImportContext, b: np.ndarray) -> np.ndarray:
    """Which bounds (CRS84) lie in Vietnam; refuse the CRS when none does."""
    lon0, lat0, lon1, lat1 = VIETNAM_BOUNDS
    finite = np.isfinite(b).all(axis=1)
    inside = finite & (b[:, 0] >= lon0) & (b[:, 2] <= lon1) & (b[:, 1] >= lat0) & (b[:, 3] <= lat1)
    if not inside.any():
        assert ctx.crs is not None
        where = f"{np.nanmean(b[:, 0]):.4f}, {np.nanmean(b[:, 1]):.4f}" if finite.any() else "?"
        raise ImportRefused("wrong_crs", f"in the CRS {crs_label(ctx.crs)} ({ctx.report.crs_source}) the features "
                            f"would lie outside Vietnam (around lon/lat {where}); the CRS is probably wrong — "
                            "declare the right one", f"Theo hệ tọa độ {crs_label(ctx.crs)} các đối tượng nằm "
                            f"ngoài lãnh thổ Việt Nam (quanh kinh độ/vĩ độ {where}); có lẽ hệ tọa độ sai — hãy "
                            "khai báo đúng hệ tọa độ", details={"crs": crs_label(ctx.crs)})
    return inside


def parse_user_crs(value: str) -> CRS:
    """A CRS as a planner may write it: a code planmap serves, an OGC URI, a bare EPSG number, WKT or PROJ."""
    try:
        try:
            return CRS.from_user_input(parse_crs(value).code)
        except UnsupportedCrsError:
            pass
        text = str(value).strip()
        m = re.search(r"/EPSG/\d+/(\d+)$", text) or re.fullmatch(r"(\d{4,5})", text)
        return CRS.from_user_input(f"EPSG:{m.group(1)}" if m else text)
    except CRSError:
        raise ImportRefused("bad_crs", f"the declared CRS {value!r} is not known", f"Hệ tọa độ khai báo {value!r} "
                            "không xác định được") from None


def crs_label(crs: CRS) -> str:
    """A CRS as the report names it: OGC:CRS84, EPSG:<code>, another authority's code, or its name."""
    if crs.equals(CRS.from_user_input("OGC:CRS84")):
        return "OGC:CRS84"
    try:
        code = crs.to_epsg(min_confidence=70)
    except CRSError:
        code = None
    if code:
        return f"EPSG:{code}"
    auth = crs.to_authority(min_confidence=70)
    return f"{auth[0]}:{auth[1]}" if auth else crs.name

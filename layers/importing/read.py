"""Reading the located dataset into one GeoDataFrame (index: each feature's id in the file) and the CRS it names.

GDAL reads every format but CSV; a Shapefile's text is read as Latin-1 so that its bytes reach the text stage
untouched (`ctx.raw_text`), since the .dbf rarely says its encoding truthfully.  CSV is read here: coordinate
columns or a WKT column, a decimal comma accepted, text in UTF-8 or else raw bytes for the text stage.
The CRS named by the file (or a .prj beside it) goes to `ctx.file_crs`; whether it is believed is the CRS stage's
business.
"""

from __future__ import annotations

import csv
import io
import mmap
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.importing.context import ImportContext
from layers.importing.errors import ImportRefused
from layers.importing.formats import FORMATS
from layers.importing.values import parse_number
from layers.text import fold

_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "hinh_hoc")
_XY_COLUMNS = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("long", "lat"), ("kinh_do", "vi_do"),
               ("kinhdo", "vido"), ("x", "y"), ("easting", "northing"), ("toa_do_x", "toa_do_y"))


def read(ctx: ImportContext) -> gpd.GeoDataFrame:
    """The features of `ctx.dataset`, in file order; sets `ctx.file_crs` (and `ctx.raw_text`)."""
    ctx.report.format = FORMATS[ctx.fmt]
    assert ctx.dataset is not None
    if ctx.fmt == "csv":
        frame = _take_crs_column(ctx, _read_csv(ctx, ctx.dataset))
    else:
        frame = _read_gdal(ctx, ctx.dataset)
        if ctx.field_names_csv is not None:
            frame = _restore_field_names(ctx, frame)
        if ctx.fmt in ("dxf", "dgn"):
            frame = _skip_cad_labels(ctx, frame)
    if ctx.sidecar_prj is not None and ctx.file_crs is None:
        try:
            ctx.file_crs = CRS.from_user_input(ctx.sidecar_prj.read_text(errors="replace"))
            ctx.report.note("prj_beside", f"CRS taken from {ctx.sidecar_prj.name} beside the data",
                            f"Hệ tọa độ lấy từ tệp {ctx.sidecar_prj.name} đi kèm dữ liệu")
        except CRSError:
            pass
    return frame


def _unreadable(ctx: ImportContext, exc: Exception) -> ImportRefused:
    msg = str(exc).replace(str(ctx.tmp), "").strip()
    return ImportRefused("unreadable", f"{ctx.name} cannot be read as {FORMATS.get(ctx.fmt, ctx.fmt)}: {msg}",
                         f"Không đọc được {ctx.name} (định dạng {FORMATS.get(ctx.fmt, ctx.fmt)}): {msg}")


# ------------------------------------------------------------------------------------------------- GDAL
def _read_gdal(ctx: ImportContext, ds: Path) -> gpd.GeoDataFrame:
    kwargs: dict = {}
    if ctx.fmt == "shapefile":
        kwargs["encoding"] = "latin1"  # GDAL hands over the .dbf bytes untouched; the text stage decodes them
        ctx.raw_text = True
    frames, counts, file_crs = _read_layers(ctx, ds, _layer_names(ctx, ds), kwargs)
    frame = _combine_folders(ctx, frames, counts)
    ctx.file_crs = _usable_file_crs(ctx, ds, file_crs)
    return frame


def _layer_names(ctx: ImportContext, ds: Path) -> list[str]:
    """The layers to read: all of them, or the one the caller chose."""
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(ds)]
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem
        raise _unreadable(ctx, exc) from None
    if not names:
        raise ImportRefused("no_features", f"{ctx.name} holds no layer", f"{ctx.name} không có lớp dữ liệu nào")
    if ctx.source_layer is None:
        return names
    if ctx.source_layer not in names:
        raise ImportRefused("unknown_source_layer", f"{ctx.name} has no layer {ctx.source_layer!r}; its "
                            f"layers: {', '.join(names)}", f"{ctx.name} không có lớp {ctx.source_layer!r}; "
                            f"các lớp: {', '.join(names)}", details={"layers": names})
    return [ctx.source_layer]


# Features read per call for the formats that can start anywhere (a GeoPackage table, a Shapefile): GDAL's reader
# holds Python's GIL for the whole of a call — ~0.3 s for 200,000 points — which the server's other requests would
# wait out; batches keep each hold to a few milliseconds.
READ_BATCH = 20_000
SEEKABLE_FORMATS = ("gpkg", "shp")


def _read_in_batches(ctx: ImportContext, ds: Path, layer: str, count: int, kwargs: dict) -> gpd.GeoDataFrame:
    if ctx.fmt not in SEEKABLE_FORMATS or count <= READ_BATCH:
        return pyogrio.read_dataframe(ds, layer=layer, fid_as_index=True, **kwargs)
    parts = [pyogrio.read_dataframe(ds, layer=layer, fid_as_index=True, skip_features=start, max_features=READ_BATCH,
                                    **kwargs) for start in range(0, count, READ_BATCH)]
    return gpd.GeoDataFrame(pd.concat(parts), geometry=parts[0].geometry.name, crs=parts[0].crs)


def _read_layers(ctx: ImportContext, ds: Path, names: list[str],
                 kwargs: dict) -> tuple[list[gpd.GeoDataFrame], dict[str, int], CRS | None]:
    """Each layer's features, feature count and the first CRS named; a GeoPackage of several layers is refused
    (they are different things), KML folders are read to be taken together."""
    frames: list[gpd.GeoDataFrame] = []
    file_crs: CRS | None = None
    counts: dict[str, int] = {}
    several_tables = len(names) > 1 and ctx.fmt == "gpkg"
    try:
        for layer in names:
            info = pyogrio.read_info(ds, layer=layer, **kwargs)
            counts[layer] = int(info.get("features") or 0)
            if several_tables:
                continue
            frame = _read_in_batches(ctx, ds, layer, counts[layer], kwargs)
            if info.get("crs") and file_crs is None:
                file_crs = CRS.from_user_input(info["crs"])
            frames.append(frame)
    except Exception as exc:  # noqa: BLE001
        raise _unreadable(ctx, exc) from None
    if several_tables:
        listed = ", ".join(f"{n} ({c})" for n, c in counts.items())
        raise ImportRefused("several_layers", f"{ctx.name} holds several layers: {listed}; choose one "
                            "(source_layer)", f"{ctx.name} có nhiều lớp: {listed}; hãy chọn một lớp",
                            details={"layers": counts})
    return frames, counts, file_crs


def _combine_folders(ctx: ImportContext, frames: list[gpd.GeoDataFrame], counts: dict[str, int]) -> gpd.GeoDataFrame:
    """KML folders: one layer each — taken together, in file order, numbered through."""
    if len(frames) > 1:
        used = [n for n, c in counts.items() if c]
        frames = [f for f in frames if len(f)]
        if len(used) > 1:
            ctx.report.note("layers_combined", f"the features of {len(used)} folders were taken together: "
                            f"{', '.join(used)}", f"Đã gộp đối tượng của {len(used)} thư mục: {', '.join(used)}")
        offsets = 0
        for f in frames:
            f.index = np.arange(offsets, offsets + len(f))
            offsets += len(f)
    frame = pd.concat(frames) if len(frames) > 1 else (frames[0] if frames else gpd.GeoDataFrame())
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        frame = gpd.GeoDataFrame(frame, geometry=[None] * len(frame))
    return frame


def _usable_file_crs(ctx: ImportContext, ds: Path, file_crs: CRS | None) -> CRS | None:
    """The file's CRS as far as it means something: KML is CRS84 whatever GDAL says; GeoJSON without a "crs"
    member is left to the coordinates; a local (engineering) CRS is no help."""
    if ctx.fmt == "kml":
        file_crs = CRS.from_user_input("OGC:CRS84")
    elif ctx.fmt == "geojson" and not _has_crs_member(ds):
        file_crs = None  # RFC 7946 says WGS84; GDAL says so too — the coordinates are checked by the CRS stage
    if file_crs is not None and not (file_crs.is_geographic or file_crs.is_projected):
        ctx.report.note("local_crs", f"the file's CRS ({file_crs.name}) is a local/engineering system and was "
                        "ignored", f"Hệ tọa độ của tệp ({file_crs.name}) là hệ cục bộ, không dùng được", "warning")
        file_crs = None
    return file_crs


def _has_crs_member(path: Path) -> bool:
    with open(path, "rb") as f:
        try:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return m.find(b'"crs"') >= 0
        except ValueError:
            return False


def _restore_field_names(ctx: ImportContext, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A planmap Shapefile export lists its shortened field names (and text continued in `name_2`…)."""
    assert ctx.field_names_csv is not None
    try:
        rows = list(csv.DictReader(io.StringIO(ctx.field_names_csv.read_text(encoding="utf-8-sig"))))
        pairs = [(r["field"], r["shapefile_field"], r.get("part_of") or "") for r in rows]
    except (KeyError, UnicodeDecodeError, csv.Error):
        return frame
    frame = frame.copy()
    for full, short, part_of in pairs:
        if short not in frame.columns:
            continue
        if part_of and part_of in frame.columns:
            frame[part_of] = [a if not isinstance(b, str) or not b else (a or "") + b
                              for a, b in zip(frame[part_of], frame[short], strict=True)]
            frame = frame.drop(columns=[short])
        else:
            frame = frame.rename(columns={short: full})
    ctx.report.note("field_names_restored", f"full field names restored from {ctx.field_names_csv.name}",
                    f"Tên trường đầy đủ được khôi phục từ {ctx.field_names_csv.name}")
    return frame


def _skip_cad_labels(ctx: ImportContext, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """CAD text entities are labels when the drawing also has other entities: they are not features."""
    if ctx.fmt == "dxf" and "SubClasses" in frame.columns:
        is_text = frame["SubClasses"].astype(str).str.contains("AcDbText|AcDbMText", regex=True).to_numpy()
    elif ctx.fmt == "dgn" and "Type" in frame.columns:
        is_text = (pd.to_numeric(frame["Type"], errors="coerce") == 17).to_numpy()
    else:
        return frame
    if not is_text.any() or is_text.all():
        return frame
    ctx.report.note("cad_labels_skipped", f"{int(is_text.sum())} text entities (labels) were not imported as "
                    "features; the drawing's other entities were", f"{int(is_text.sum())} đối tượng chữ (nhãn) "
                    "không được nhập như đối tượng; các đối tượng còn lại của bản vẽ đã được nhập",
                    labels=[str(t) for t in frame.loc[is_text, "Text"].head(50)] if "Text" in frame else [])
    return frame.loc[~is_text]


# ------------------------------------------------------------------------------------------------- CSV
def _read_csv(ctx: ImportContext, ds: Path) -> gpd.GeoDataFrame:
    """A CSV's rows as features (index: the data row number, 1-based)."""
    table = _csv_table(ctx, _csv_text(ctx, ds))
    folded = {re.sub(r"[^a-z0-9]+", "_", fold(str(c))).strip("_"): c for c in table.columns}
    wkt_col = next((folded[k] for k in _WKT_COLUMNS if k in folded), None)
    xy = next(((folded[a], folded[b]) for a, b in _XY_COLUMNS if a in folded and b in folded), None)
    if wkt_col is not None:
        geoms = _wkt_geometries(table[wkt_col])
        table = table.drop(columns=[wkt_col])
    elif xy is not None:
        geoms = _xy_geometries(ctx, table[xy[0]], table[xy[1]])
        table = table.drop(columns=list(xy))
    else:
        raise ImportRefused("no_coordinates", "the CSV needs coordinate columns (lon/lat, x/y, kinh_do/vi_do) or a "
                            f"WKT column; its columns: {', '.join(map(str, table.columns))}",
                            "Tệp CSV cần các cột tọa độ (lon/lat, x/y, kinh_do/vi_do) hoặc cột WKT; các cột hiện "
                            f"có: {', '.join(map(str, table.columns))}")
    frame = gpd.GeoDataFrame(table, geometry=geoms)
    frame.index = np.arange(1, len(frame) + 1)  # source id: the data row number
    return frame


def _csv_text(ctx: ImportContext, ds: Path) -> str:
    """The file as text: UTF-8 (BOM or not), or else Latin-1 standing for the bytes (`ctx.raw_text`)."""
    data = ds.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin1")  # byte-for-byte; the text stage finds the encoding
        ctx.raw_text = True
    if not text.strip():
        raise ImportRefused("no_features", f"{ctx.name} is empty", f"Tệp {ctx.name} rỗng")
    return text


def _csv_table(ctx: ImportContext, text: str) -> pd.DataFrame:
    """The rows as strings, with the delimiter the file uses (, ; tab or |)."""
    try:
        sep = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise _unreadable(ctx, exc) from None
    if table.empty:
        raise ImportRefused("no_features", f"{ctx.name} has a header but no rows",
                            f"{ctx.name} chỉ có dòng tiêu đề, không có dữ liệu")
    return table


def _wkt_geometries(cells: pd.Series) -> list:
    geoms: list = []
    for value in cells:
        try:
            geoms.append(shapely.from_wkt(value) if str(value).strip() else None)
        except shapely.errors.GEOSException:
            geoms.append(None)
    return geoms


def _xy_geometries(ctx: ImportContext, xs: pd.Series, ys: pd.Series) -> list:
    geoms: list = []
    comma = 0
    for xv, yv in zip(xs, ys, strict=True):
        x, cx = parse_number(xv)
        y, cy = parse_number(yv)
        comma += cx or cy
        geoms.append(shapely.Point(x, y) if x is not None and y is not None else None)
    if comma:
        ctx.report.note("decimal_comma", f"{comma} coordinates used a decimal comma (read as a decimal point)",
                        f"{comma} tọa độ dùng dấu phẩy thập phân (đã đọc như dấu chấm)")
    return geoms


def _take_crs_column(ctx: ImportContext, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """planmap's CSV export names its CRS in a `crs` column: take it as the file's CRS."""
    if "crs" in frame.columns and frame["crs"].nunique() == 1:
        try:
            ctx.file_crs = CRS.from_user_input(str(frame["crs"].iloc[0]))
            return frame.drop(columns=["crs"])
        except CRSError:
            pass
    return frame

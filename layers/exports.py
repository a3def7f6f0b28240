"""Data exports for other agencies: any selection of collections, in WGS84 or VN-2000, in the formats they use.

Every file is written into a private temporary folder and only handed over (or renamed into place) when complete,
so nothing half-written ever reaches a user.  Provenance (`source`, `accuracy`) travels as ordinary fields.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.cancel import checkpoint
from geo.crs import CRS84, SupportedCrs
from geo.errors import BadRequest, NotFound
from layers.dataset import Dataset, Layer
from layers.query import FeatureQuery, select_rows
from layers.validation import FAMILY


@dataclass(frozen=True)
class ExportFormat:
    """How one format is written: GDAL driver, file extension, whether several collections fit in one file."""

    key: str
    label: str
    driver: str | None
    ext: str
    media_type: str
    multi_layer: bool
    wgs84_only: bool = False


FORMATS: dict[str, ExportFormat] = {f.key: f for f in (
    ExportFormat("gpkg", "GeoPackage", "GPKG", "gpkg", "application/geopackage+sqlite3", True),
    ExportFormat("shp", "ESRI Shapefile (zip)", "ESRI Shapefile", "shp", "application/zip", False),
    ExportFormat("kml", "KML", "LIBKML", "kml", "application/vnd.google-earth.kml+xml", True, wgs84_only=True),
    ExportFormat("geojson", "GeoJSON", "GeoJSON", "geojson", "application/geo+json", False),
    ExportFormat("csv", "CSV (WKT geometry)", None, "csv", "text/csv; charset=utf-8", False),
    ExportFormat("dxf", "AutoCAD DXF", None, "dxf", "image/vnd.dxf", True),
    ExportFormat("fgb", "FlatGeobuf", "FlatGeobuf", "fgb", "application/flatgeobuf", False),
)}
ZIP = "application/zip"


class ExportError(BadRequest):
    """An export that cannot be made as asked; the message says why, in English and Vietnamese."""

    code = "ExportError"


@dataclass
class Export:
    """A finished export: the file on disk (in its own temp folder), the name to give it, what it holds."""

    path: Path
    filename: str
    media_type: str
    counts: dict[str, int]

    def cleanup(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def select(dataset: Dataset, collections: list[str], query: FeatureQuery) -> dict[str, gpd.GeoDataFrame]:
    """The selected features of each collection (CRS84), in feature order; refuses unknown or empty selections."""
    if not collections:
        raise ExportError("name at least one collection", "Cần chọn ít nhất một lớp dữ liệu")
    unknown = [c for c in collections if dataset.get(c) is None]
    if unknown:
        raise NotFound(f"unknown collection(s): {', '.join(unknown)}", f"Không có lớp: {', '.join(unknown)}")
    chosen: dict[str, gpd.GeoDataFrame] = {}
    for cid in dict.fromkeys(collections):
        layer = dataset.get(cid)
        filters = {k: v for k, v in query.filters.items() if k in layer.frame.columns}
        rows = select_rows(layer, FeatureQuery(bbox=query.bbox, bbox_crs=query.bbox_crs, filters=filters,
                                               interval=query.interval))
        if len(rows):
            chosen[cid] = _with_id(layer, rows)
    missing_filters = [k for k in query.filters if not any(k in dataset.get(c).frame.columns for c in collections)]
    if missing_filters:
        raise ExportError(f"no selected collection has the propert(ies) {', '.join(missing_filters)}",
                          f"Không lớp nào có thuộc tính {', '.join(missing_filters)}")
    if not chosen:
        raise ExportError("the selection is empty: no feature matches", "Không có đối tượng nào được chọn")
    return chosen


def _with_id(layer: Layer, rows: np.ndarray) -> gpd.GeoDataFrame:
    frame = layer.frame.iloc[rows].copy()
    frame.insert(0, "fid", layer.fids[rows])
    return frame.reset_index(drop=True)


def shapefile_field_names(columns: list[str]) -> dict[str, str]:
    """Predictable ≤10-character names: the first 10 characters, or the first 8 + a 2-digit counter on a clash."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in columns:
        short = name[:10]
        n = 1
        while short.lower() in used:
            short = f"{name[:8]}{n:02d}"
            n += 1
        used.add(short.lower())
        out[name] = short
    return out


DBF_TEXT_BYTES = 254  # the dBase limit of one text field
DBF_MAX_FIELDS = 255  # the dBase limit of fields in one table (GDAL writes more, but many readers stop at 255)
DXF_XDATA_BYTES = 255  # the DXF limit of one XDATA string (group code 1000)


def split_long_text(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, list[str]], dict[str, int]]:
    """Text longer than a dBase field holds continues in `name_2`, `name_3`… so nothing is cut off — as long as
    the table stays within DBF_MAX_FIELDS.  When it would not, the longest fields get fewer continuation fields
    (an equal share) and their texts are cut; returns the frame, each split field's parts, and per field the
    number of features whose text was cut."""
    geom = frame.geometry.name
    columns = [c for c in frame.columns if c != geom]
    chunked = {c: [_utf8_chunks(v) if isinstance(v, str) else [v] for v in frame[c].tolist()]
               for c in columns if frame[c].dtype.kind in "OUT"}
    need = {c: max((len(ch) for ch in chunks), default=1) for c, chunks in chunked.items()}
    allowed = _share(need, DBF_MAX_FIELDS - len(columns))
    out = frame.copy()
    parts_of: dict[str, list[str]] = {}
    cut: dict[str, int] = {}
    for col, chunks in chunked.items():
        n = allowed[col]
        if n <= 1 and need[col] <= 1:
            continue
        if need[col] > n:
            cut[col] = sum(len(ch) > n for ch in chunks)
        if n <= 1:
            out[col] = [ch[0] for ch in chunks]
            continue
        names = [col] + [f"{col}_{i}" for i in range(2, n + 1)]
        pieces = {name: [ch[i] if i < len(ch) else None for ch in chunks] for i, name in enumerate(names)}
        at = list(out.columns).index(col)
        out = pd.concat([out.iloc[:, :at], pd.DataFrame(pieces, index=out.index), out.iloc[:, at + 1:]], axis=1)
        parts_of[col] = names
    return gpd.GeoDataFrame(out, geometry=geom, crs=frame.crs), parts_of, cut


def _share(need: dict[str, int], extra: int) -> dict[str, int]:
    """Fields per text column: what each needs, or an equal share of the `extra` continuation fields the table
    has room for when they do not all fit (the shortest needs are met first)."""
    allowed = {c: 1 for c in need}
    wanting = sorted((n - 1, c) for c, n in need.items() if n > 1)
    left = max(extra, 0)
    for i, (more, col) in enumerate(wanting):
        give = min(more, left // (len(wanting) - i))
        allowed[col] += give
        left -= give
    return allowed


def _utf8_chunks(text: str) -> list[str]:
    """Pieces of ≤ 254 UTF-8 bytes, cut inside a word: readers strip spaces at either end of a dBase value.

    Text with no such place in the second half of a piece (e.g. one-letter words) is cut at the byte limit."""
    chunks, current, size = [], "", 0
    for ch in text:
        width = len(ch.encode("utf-8"))
        if size + width > DBF_TEXT_BYTES:
            cut = len(current)
            while cut > len(current) // 2 and (current[cut - 1].isspace() or (current + ch)[cut].isspace()):
                cut -= 1
            if cut <= len(current) // 2:
                cut = len(current)
            chunks.append(current[:cut])
            current = current[cut:]
            size = len(current.encode("utf-8"))
        current += ch
        size += width
    return [*chunks, current]


def utf8_prefix(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def _target(crs: SupportedCrs) -> str:
    """The CRS written into files: WGS84 as EPSG:4326 (files keep lon/lat order), VN-2000 by EPSG code."""
    return "EPSG:4326" if crs.code in ("OGC:CRS84", "EPSG:4326") else crs.code


def export_data(dataset: Dataset, collections: list[str], fmt: str, crs: SupportedCrs = CRS84,
                query: FeatureQuery | None = None, progress: Callable[[int, int], None] | None = None,
                extras: dict[str, bytes] | None = None) -> Export:
    """Write the selection in `fmt` into a fresh temp folder; zip when the format needs several files, or when
    `extras` (file name → bytes: tables of an analysis, e.g. coverage_fuel.csv) travel with the data."""
    spec = FORMATS.get(fmt)
    if spec is None:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}",
                          f"Định dạng {fmt!r} không được hỗ trợ; dùng: {', '.join(FORMATS)}")
    if spec.wgs84_only and crs.code not in ("OGC:CRS84", "EPSG:4326"):
        raise ExportError(f"{spec.label} is always WGS84 (by its specification); ask crs=EPSG:4326",
                          f"{spec.label} luôn dùng WGS84 theo đặc tả; hãy chọn crs=EPSG:4326")
    chosen = select(dataset, collections, query or FeatureQuery())
    target = _target(crs)
    frames = {cid: frame.to_crs(target) for cid, frame in chosen.items()}
    workdir = Path(tempfile.mkdtemp(prefix="planmap-export-"))
    stamp = dt.date.today().strftime("%Y%m%d")
    base = f"planmap_{'_'.join(frames) if len(frames) <= 3 else 'layers'}_{target.replace(':', '')}_{stamp}"
    try:
        notes: list[str] = []  # what a format could not hold as it was, for the README
        files = _write(spec, frames, workdir / "out", dataset, progress, notes)
        if len(files) == 1 and fmt not in ("shp", "dxf") and not extras:  # shapefiles and DXF need sidecars
            final = workdir / f"{base}.{spec.ext}"
            files[0].rename(final)
            media = spec.media_type
        else:
            final = workdir / f"{base}.zip"
            with zipfile.ZipFile(final, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in files:
                    zf.write(f, f.relative_to(workdir / "out"))
                for name, body in (extras or {}).items():
                    zf.writestr(name, body)
                zf.writestr("README.txt", _readme(dataset, frames, spec, target, notes, list(extras or ())))
            media = ZIP
        shutil.rmtree(workdir / "out", ignore_errors=True)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)  # nothing half-written is left behind
        raise
    return Export(final, final.name, media, {cid: len(f) for cid, f in frames.items()})


def _readme(dataset: Dataset, frames: dict[str, gpd.GeoDataFrame], spec: ExportFormat, target: str,
            notes: list[str], extras: list[str] | None = None) -> str:
    lines = [f"planmap export — {dt.date.today().isoformat()} — {spec.label} — {target}", ""]
    for cid, frame in frames.items():
        meta = dataset.get(cid).meta
        acc = frame["accuracy"].value_counts().to_dict() if "accuracy" in frame.columns else {}
        lines += [f"{cid}: {meta.text('title', 'vi')} / {meta.text('title', 'en')} — {len(frame)} features",
                  f"  accuracy: {acc}", f"  licence: {meta.license}", f"  attribution: {meta.attribution}", ""]
    lines.append("Dữ liệu không 'exact' là dữ liệu gần đúng/minh họa, không phải số liệu chính thức. / "
                 "Non-exact data is approximate or demonstration data, not official.")
    if notes:
        lines += ["", f"Giới hạn của định dạng / limits of {spec.label}:", *(f"  - {n}" for n in notes)]
    if extras:
        lines += ["", "Bảng phân tích kèm theo (các dòng # đầu tệp nói chúng dựa trên gì) / analysis tables (their "
                  "# lines say what they rest on):", *(f"  - {name}" for name in extras)]
    return "\n".join(lines) + "\n"


def notice(dataset: Dataset, cid: str, frame: gpd.GeoDataFrame) -> str:
    """What travels with a layer in every file: its title, licence, attribution and how exact it is."""
    meta = dataset.get(cid).meta
    mix = frame["accuracy"].value_counts().to_dict() if "accuracy" in frame.columns else {}
    honest = ("" if set(mix) <= {"exact"} else " Dữ liệu không 'exact' là gần đúng/minh họa, không phải số liệu chính "
              "thức. / Non-exact data is approximate or illustrative, not official.")
    return (f"{meta.text('title', 'vi')} / {meta.text('title', 'en')} — planmap export. Giấy phép / licence: "
            f"{meta.license}. Ghi công / attribution: {meta.attribution}. Độ chính xác / accuracy: {mix}.{honest}")


def _layer_options(spec: ExportFormat, dataset: Dataset, cid: str, frame: gpd.GeoDataFrame) -> dict:
    """The layer's notice in the file's own metadata (GeoPackage, GeoJSON, FlatGeobuf, KML)."""
    text = notice(dataset, cid, frame)
    title = dataset.get(cid).meta.text("title", "vi")
    return {"gpkg": {"DESCRIPTION": text, "IDENTIFIER": title}, "geojson": {"DESCRIPTION": text},
            "fgb": {"TITLE": title, "DESCRIPTION": text}, "kml": {"DESCRIPTION": text}}.get(spec.key, {})


def _write(spec: ExportFormat, frames: dict[str, gpd.GeoDataFrame], out: Path, dataset: Dataset,
           progress: Callable[[int, int], None] | None, notes: list[str]) -> list[Path]:
    out.mkdir(parents=True)
    files: list[Path] = []
    total = len(frames)
    if spec.key == "dxf":
        dxf = _write_dxf(frames, out / "planmap.dxf", dataset, notes)
        prj = dxf.with_suffix(".prj")  # DXF has no CRS of its own: the .prj beside it says which one
        prj.write_text(esri_prj(next(iter(frames.values())).crs.to_string()), encoding="utf-8")
        files += [dxf, prj]
        if progress:
            progress(total, total)
        return files
    for i, (cid, frame) in enumerate(frames.items(), start=1):
        checkpoint()  # between layers: the client may have gone (the caller removes what was written)
        if spec.key == "gpkg" or spec.key == "kml":
            path = out / f"planmap.{spec.ext}"
            opts = {"layer": cid, "driver": spec.driver, "append": path.exists()}
            pyogrio.write_dataframe(frame, path, layer_options=_layer_options(spec, dataset, cid, frame), **opts)
            if path not in files:
                files.append(path)
        elif spec.key == "shp":
            for name, part in _by_family(cid, frame, notes):
                files += _write_shapefile(out, name, part, notes)
        elif spec.key == "csv":
            path = out / f"{cid}.csv"
            table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            table["wkt"] = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=-1)
            table["crs"] = frame.crs.to_string() if frame.crs is not None else ""
            meta = dataset.get(cid).meta
            table["license"], table["attribution"] = meta.license, meta.attribution  # a CSV has no metadata
            table.to_csv(path, index=False, encoding="utf-8-sig")
            files.append(path)
        else:
            path = out / f"{cid}.{spec.ext}"
            pyogrio.write_dataframe(frame, path, driver=spec.driver,
                                    layer_options=_layer_options(spec, dataset, cid, frame))
            files.append(path)
        if progress:
            progress(i, total)
    return files


def _by_family(cid: str, frame: gpd.GeoDataFrame, notes: list[str]) -> list[tuple[str, gpd.GeoDataFrame]]:
    """A Shapefile holds one kind of geometry: a layer of points and polygons (the proposals register) becomes
    `<id>_point.shp` and `<id>_polygon.shp`."""
    types = frame.geometry.geom_type.to_numpy(dtype=object)
    families = np.array([FAMILY.get(t, "") for t in types], dtype=object)
    present = [f for f in ("point", "line", "polygon") if f in set(families)]
    if len(present) <= 1:
        return [(cid, frame)]
    families[families == ""] = present[0]  # no geometry: a null shape in the first file
    notes.append(f"{cid}: mỗi loại hình học một tệp ({', '.join(f'{cid}_{f}.shp' for f in present)}) / a Shapefile "
                 f"holds one geometry type: {', '.join(f'{cid}_{f}.shp' for f in present)}")
    return [(f"{cid}_{f}", frame[families == f]) for f in present]


def _write_shapefile(out: Path, name: str, frame: gpd.GeoDataFrame, notes: list[str]) -> list[Path]:
    """One Shapefile: long text continued over extra fields (cut, with a note, beyond the dBase field limit),
    field names shortened and listed in `<name>_fields.csv`."""
    split, parts_of, cut = split_long_text(frame)
    names = shapefile_field_names([c for c in split.columns if c != split.geometry.name])
    shp = split.rename(columns=names)
    pyogrio.write_dataframe(shp, out / f"{name}.shp", driver="ESRI Shapefile", layer_options={"ENCODING": "UTF-8"})
    continued = {part: col for col, parts in parts_of.items() for part in parts}
    with open(out / f"{name}_fields.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["field", "shapefile_field", "part_of"])
        writer.writerows([full, short, continued.get(full, "")] for full, short in names.items())
    for col, count in cut.items():
        kept = len(parts_of.get(col, [col])) * DBF_TEXT_BYTES
        notes.append(f"{name}.{col}: văn bản của {count} đối tượng bị cắt còn tối đa {kept} byte (giới hạn "
                     f"{DBF_MAX_FIELDS} trường của dBase) / the text of {count} features was cut to at most "
                     f"{kept} bytes (dBase holds at most {DBF_MAX_FIELDS} fields); the other formats keep it whole")
    return sorted(out.glob(f"{name}.*")) + [out / f"{name}_fields.csv"]


def _write_dxf(frames: dict[str, gpd.GeoDataFrame], path: Path, dataset: Dataset, notes: list[str]) -> Path:
    """AutoCAD DXF R2010 (UTF-8): one CAD layer per collection, named by its Vietnamese title; names as labels.

    Attributes travel in the entity's XDATA under the application name PLANMAP, one `field=value` string each,
    cut to the format's 255 bytes (the README names the fields cut).
    """
    import ezdxf

    doc = ezdxf.new("R2010", setup=True)
    doc.appids.add("PLANMAP")
    msp = doc.modelspace()
    crs_note = ""
    cut: dict[tuple[str, str], int] = {}
    for colour, (cid, frame) in enumerate(frames.items(), start=1):
        layer_name = _cad_name(dataset.get(cid).meta.text("title", "vi")) or cid
        doc.layers.add(layer_name, color=colour % 255 or 1)
        label_layer = f"{layer_name} - nhãn"
        doc.layers.add(label_layer, color=7)
        crs_note = frame.crs.to_string() if frame.crs is not None else ""
        props = frame.drop(columns=frame.geometry.name)
        for record, geom in zip(props.to_dict("records"), frame.geometry.to_numpy(), strict=True):
            xdata = []
            for k, v in record.items():
                whole = _dxf_line(f"{k}={'' if _missing(v) else v}", "\\P")
                kept = utf8_prefix(whole, DXF_XDATA_BYTES)
                if kept != whole:
                    cut[(cid, k)] = cut.get((cid, k), 0) + 1
                xdata.append((1000, kept))
            for entity in _dxf_entities(msp, geom, layer_name):
                entity.set_xdata("PLANMAP", xdata)
            name = record.get("name")
            if isinstance(name, str) and name and geom is not None and not geom.is_empty:
                at = shapely.point_on_surface(geom)
                label = utf8_prefix(_dxf_line(name, " "), DXF_XDATA_BYTES)  # TEXT: one line of ≤ 255 bytes
                if label != _dxf_line(name, " "):
                    cut[(cid, "name (nhãn / label)")] = cut.get((cid, "name (nhãn / label)"), 0) + 1
                msp.add_text(label, dxfattribs={"layer": label_layer, "height": 20.0 if "9213" in crs_note
                                               or "3405" in crs_note else 0.0002, "insert": (at.x, at.y)})
    doc.header["$INSUNITS"] = 6 if ("9213" in crs_note or "3405" in crs_note) else 0  # metres
    for (cid, k), count in cut.items():
        notes.append(f"{cid}.{k}: {count} giá trị bị cắt còn {DXF_XDATA_BYTES} byte (giới hạn chuỗi XDATA/TEXT của "
                     f"DXF) / {count} values were cut to {DXF_XDATA_BYTES} bytes (the DXF limit of an XDATA or TEXT "
                     "string); the other formats keep them whole")
    doc.saveas(path, encoding="utf-8")
    return path


def _dxf_line(text: str, newline: str) -> str:
    """A DXF value is one line of the file: a line break inside it would end the value (and break the file), so
    breaks become `newline` (XDATA: the DXF paragraph code \\P; a TEXT label: a space)."""
    return text.replace("\r\n", newline).replace("\n", newline).replace("\r", newline)


def esri_prj(crs: str) -> str:
    """The CRS as an ESRI .prj text, so CAD/GIS users can georeference the DXF."""
    from pyproj import CRS

    return CRS.from_user_input(crs).to_wkt("WKT1_ESRI") if crs else ""


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, (list, dict)) and bool(pd.isna(value)))


def _cad_name(title: str) -> str:
    """A valid CAD layer name: no <>/\\":;?*|=` characters."""
    return "".join(ch for ch in title if ch not in '<>/\\":;?*|=`').strip()


def _dxf_entities(msp, geom: shapely.Geometry, layer: str) -> list:
    if geom is None or geom.is_empty:
        return []
    out = []
    for part in getattr(geom, "geoms", [geom]):
        attribs = {"layer": layer}
        if part.geom_type == "Point":
            out.append(msp.add_point((part.x, part.y), dxfattribs=attribs))
        elif part.geom_type == "LineString":
            out.append(msp.add_lwpolyline(list(part.coords), dxfattribs=attribs))
        elif part.geom_type == "Polygon":
            for ring in (part.exterior, *part.interiors):
                out.append(msp.add_lwpolyline(list(ring.coords), close=True, dxfattribs=attribs))
    return out


def write_to(export: Export, destination: Path) -> Path:
    """Move a finished export to `destination` atomically (same folder temp file, then rename)."""
    destination = Path(destination)
    tmp = destination.with_name(f".{destination.name}.part")
    shutil.copyfile(export.path, tmp)
    tmp.replace(destination)
    export.cleanup()
    return destination



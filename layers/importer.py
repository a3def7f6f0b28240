"""Importing a planner's file into a layer: read, recognise CRS and text encoding, map fields, check every feature.

`read_import` is a pure function: it reads the file (unpacking a zip into a private temporary folder that it
removes), and returns the features in OGC:CRS84 ready for the layer together with an `ImportReport` a planner can
read — which CRS and encoding were used and why, how fields were mapped, and every problem per feature
(1-based, in source order).  Nothing is written anywhere else and nothing is dropped silently: a feature is either
in the returned frame or listed in the report with an error.  A file that cannot be imported at all raises
`ImportRefused` with the reason in English and Vietnamese and a machine-readable `code`.

Formats: Shapefile (zip), GeoPackage, KML/KMZ, DXF, MicroStation DGN (v7), MapInfo TAB (zip) and MIF, GeoJSON,
CSV with coordinate columns (lon/lat, x/y, kinh_do/vi_do) or a WKT column.
"""

from __future__ import annotations

import csv
import io
import json
import math
import mmap
import re
import shutil
import tempfile
import unicodedata
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geo.crs import VIETNAM_BOUNDS
from geo.errors import Unprocessable
from layers import vn_encodings as vn
from layers.provenance import ACCURACY, DEFAULT_ACCURACY
from layers.text import fold

TM3_CRS = "EPSG:9213"  # VN-2000 / TM-3 106°30′, the province's CRS
UTM48_CRS = "EPSG:3405"  # VN-2000 / UTM 48N
ACCURACY_VALUES = ACCURACY

FORMATS = {
    "shapefile": "ESRI Shapefile", "gpkg": "GeoPackage", "kml": "KML", "dxf": "AutoCAD DXF",
    "dgn": "MicroStation DGN (v7)", "mapinfo": "MapInfo TAB/MIF", "geojson": "GeoJSON", "csv": "CSV",
}
_SUPPORTED_EN = ("Shapefile (zip with .shp, .shx, .dbf, .prj), GeoPackage, KML/KMZ, DXF, DGN (v7), "
                 "MapInfo TAB (zip with .tab, .dat, .map, .id), GeoJSON, CSV with coordinate columns")
_SUPPORTED_VI = ("Shapefile (nén zip gồm .shp, .shx, .dbf, .prj), GeoPackage, KML/KMZ, DXF, DGN (v7), "
                 "MapInfo TAB (nén zip gồm .tab, .dat, .map, .id), GeoJSON, CSV có cột tọa độ")
_EXT_FORMAT = {
    ".shp": "shapefile", ".gpkg": "gpkg", ".kml": "kml", ".dxf": "dxf", ".dgn": "dgn", ".tab": "mapinfo",
    ".mif": "mapinfo", ".geojson": "geojson", ".json": "geojson", ".csv": "csv", ".txt": "csv",
}
_ASIDE = {".shx", ".dbf", ".prj", ".cpg", ".qpj", ".sbn", ".sbx", ".xml", ".dat", ".map", ".id", ".ind", ".mid",
          ".qix", ".fix", ".aux", ".txt", ".pdf", ".doc", ".docx", ".png", ".jpg", ".jpeg", ".gif", ".xls",
          ".xlsx", ".qml", ".sld", ".lyr", ".md", ".html", ".htm", ".ovr"}

# Drivers' own bookkeeping fields: never mapped by their name alone, dropped for a new layer when empty.
_DRIVER_FIELDS = {
    "dxf": {"Layer", "PaperSpace", "SubClasses", "Linetype", "EntityHandle", "Text"},
    "dgn": {"Type", "Level", "GraphicGroup", "ColorIndex", "Weight", "Style", "EntityNum", "MSLink", "Text", "ULink"},
    "kml": {"id", "Name", "description", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
            "visibility", "drawOrder", "icon", "snippet"},
}

# Common Vietnamese (and English) field names → the planmap field they mean.  Keys are folded and compacted:
# lower case, no diacritics, no separators ("Diện tích" → "dientich").
_SYNONYMS: dict[str, str] = {}
for _target, _names in {
    "name": "ten tên name ten_goi tendoituong ten_cong_trinh ten_ccn ten_kcn ten_cum ten_khu ten_cua_hang ten_chxd "
            "ten_tram ten_mo ten_nha_may ten_duong ten_dia_danh label nhan",
    "name_en": "ten_tieng_anh ten_en english_name",
    "status": "trang_thai trangthai tinh_trang hien_trang state",
    "area_ha": "dien_tich dientich dien_tich_ha dt dt_ha dtich s_ha area area_ha",
    "area_km2": "dien_tich_km2 dt_km2 area_km2",
    "code": "ma ma_so maso ma_xa ma_dvhc ma_hanh_chinh code id_code",
    "kind": "loai loai_hinh phan_loai loai_cong_trinh type kind",
    "voltage_kv": "dien_ap cap_dien_ap cap_da u_kv kv voltage voltage_kv",
    "note": "ghi_chu ghichu mo_ta mota chu_thich description notes remark note",
    "source": "nguon nguon_du_lieu nguon_goc nguon_so_lieu source",
    "accuracy": "do_chinh_xac chinh_xac accuracy",
    "commune": "xa phuong xa_phuong ten_xa ten_phuong commune ward",
    "district": "huyen quan_huyen ten_huyen district",
    "province": "tinh ten_tinh province",
    "legal_basis": "can_cu can_cu_phap_ly quyet_dinh so_quyet_dinh van_ban legal_basis",
    "operator": "don_vi_quan_ly don_vi_kinh_doanh doanh_nghiep operator",
    "owner": "chu_dau_tu chu_so_huu owner",
    "capacity_mw": "cong_suat cong_suat_mw capacity capacity_mw",
    "capacity_kg": "suc_chua suc_chua_kg capacity_kg",
    "population": "dan_so population",
    "mineral": "khoang_san loai_khoang_san mineral",
    "area_type": "loai_khu_vuc area_type",
    "plan_phase": "giai_doan ky_quy_hoach plan_phase",
    "start_year": "nam_van_hanh nam_hoat_dong start_year",
    "grade": "cap cap_cua_hang hang grade",
    "valid_from": "hieu_luc_tu tu_ngay valid_from",
    "valid_to": "het_hieu_luc den_ngay valid_to",
}.items():
    for _n in _names.split():
        _SYNONYMS.setdefault(re.sub(r"[^a-z0-9]", "", fold(_n)), _target)
_WEAK_SYNONYMS = {"text": "name", "layer": "kind"}  # DXF/DGN fields: used only when nothing better maps

_ACCURACY_WORDS = {"chinh xac": "exact", "gan dung": "approximate", "uoc tinh": "approximate",
                   "so do": "schematic", "tong hop": "synthetic", "minh hoa": "synthetic"}
_TRUE = {"true", "t", "1", "yes", "y", "co", "dung", "x"}
_FALSE = {"false", "f", "0", "no", "n", "khong", "sai"}


# ------------------------------------------------------------------------------------------------- results
class ImportRefused(Unprocessable):
    """The whole file is refused: `code` says what kind of refusal, `en`/`vi` explain it to the planner.

    Always 422 (the upload was received but cannot be used), except 413 for a file over the size limit."""

    def __init__(self, code: str, en: str, vi: str, status: int = 422, details: dict | None = None) -> None:
        super().__init__(en, vi, status=413 if status == 413 else 422, code=code,
                         details={"outcome": "refused", **({"details": details} if details else {})})


@dataclass
class ImportReport:
    """What an import did, for the planner: CRS and encoding used and why, field mapping, every problem."""

    file: str
    format: str
    layer: str
    crs_source: str = ""
    crs: str = ""
    encoding: str | None = None
    encoding_source: str | None = None
    field_mapping: dict[str, str] = field(default_factory=dict)
    unmapped_fields: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    features_read: int = 0
    features_imported: int = 0
    features_rejected: int = 0
    problems: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=_json_default, ensure_ascii=False))

    def note(self, code: str, en: str, vi: str, severity: str = "info", **extra) -> None:
        self.notes.append({"code": code, "severity": severity, "message": {"vi": vi, "en": en}, **extra})

    def problem(self, feature: int, source_id, severity: str, code: str, en: str, vi: str,
                field_name: str | None = None, **extra) -> None:
        self.problems.append({"feature": feature, "source_id": source_id, "severity": severity, "code": code,
                              "field": field_name, "message": {"vi": vi, "en": en}, **extra})

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.problems if p["severity"] == "error"]

    @property
    def warnings(self) -> list[dict]:
        return [p for p in self.problems if p["severity"] == "warning"]


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("latin1")
    return str(value)


# ------------------------------------------------------------------------------------------------- entry point
def read_import(path: Path, layer_id: str, schema: dict[str, str] | None, province: shapely.Geometry | None, *,
                crs: str | None = None, encoding: str | None = None, field_map: dict[str, str] | None = None,
                repair: bool = True, max_bytes: int = 200_000_000, accuracy: str | None = None,
                source: str | None = None, geometry_type: str | None = None, source_layer: str | None = None,
                filename: str | None = None, on_bad_value: str = "reject") -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read a planner's file for layer `layer_id` and check it feature by feature.

    schema: the layer's fields → JSON type ("string", "integer", "number", "boolean"); None for a new layer
        (source fields are kept).  province: the province outline in CRS84, to flag features outside it.
    crs / encoding: declared by the user; they win over the file.  field_map: source field → layer field.
    repair: invalid geometries are repaired (warning) rather than rejected (error).  accuracy / source: the
        provenance of features whose file gives none (accuracy defaults to "approximate", with a note).
    geometry_type: the layer's geometry type ("Point", "LineString", "MultiPolygon", …).
    source_layer: which layer of a multi-layer GeoPackage.  filename: the name the user gave the file.
    on_bad_value: "reject" (default) rejects a feature whose value does not fit the field's type; "null"
        imports it with the value emptied.  Either way the feature and value are reported.

    Returns the features in OGC:CRS84 (columns: the schema's fields, `source`, `accuracy`, geometry; rows in
    source order, rejected ones left out; `frame.attrs["source_features"]` gives each row's 1-based source
    feature number) and the report.  Raises ImportRefused when the file as a whole cannot be imported.
    """
    path = Path(path)
    name = filename or path.name
    if on_bad_value not in ("reject", "null"):
        raise ValueError("on_bad_value must be 'reject' or 'null'")
    if accuracy is not None and accuracy not in ACCURACY_VALUES:
        raise ImportRefused("bad_accuracy", f"accuracy must be one of {', '.join(ACCURACY_VALUES)}",
                            f"Độ chính xác phải là một trong: {', '.join(ACCURACY_VALUES)}")
    with tempfile.TemporaryDirectory(prefix="planmap-import-") as tmp:
        job = _Import(path, name, layer_id, schema, province, crs=crs, encoding=encoding, field_map=field_map,
                      repair=repair, max_bytes=max_bytes, accuracy=accuracy, source=source,
                      geometry_type=geometry_type, source_layer=source_layer, on_bad_value=on_bad_value,
                      tmp=Path(tmp))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            return job.run()


# ------------------------------------------------------------------------------------------------- sniffing
def _sniff(path: Path) -> str | None:
    """The format from the content (first bytes), falling back to the extension; None if unknown."""
    with open(path, "rb") as f:
        head = f.read(8192)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    if len(head) >= 4 and head[0] in (0x08, 0xC8) and head[1] == 0x09 and head[2] == 0xFE and head[3] == 0x02:
        return "dgn"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"AutoCAD Binary DXF") or re.match(rb"(999\s*\r?\n.*\r?\n\s*)?0\s*\r?\n\s*SECTION", text):
        return "dxf"
    low = text[:4096].lower()
    if low.startswith(b"<") and b"<kml" in low:
        return "kml"
    if low.startswith(b"!table"):
        return "mapinfo"
    if low.startswith(b"version ") and b"columns" in low:
        return "mapinfo"  # MIF
    if low.startswith(b"{") and (b'"type"' in low or b'"features"' in low):
        return "geojson"
    ext = path.suffix.lower()
    if ext in (".zip", ".kmz"):
        return "zip"
    fmt = _EXT_FORMAT.get(ext)
    if fmt in ("csv", "shapefile"):
        return fmt
    if fmt is not None and head.strip():
        return fmt  # the extension's format; the reader will say if the content does not fit
    return None


def _refuse_unknown(name: str) -> ImportRefused:
    return ImportRefused("unknown_format", f"{name}: not a file format planmap can import. Supported: {_SUPPORTED_EN}",
                         f"{name}: định dạng tệp không được hỗ trợ. Các định dạng nhận được: {_SUPPORTED_VI}")


# ------------------------------------------------------------------------------------------------- the job
class _Import:
    def __init__(self, path: Path, name: str, layer_id: str, schema, province, *, crs, encoding, field_map, repair,
                 max_bytes, accuracy, source, geometry_type, source_layer, on_bad_value, tmp: Path) -> None:
        self.path, self.name, self.layer_id, self.schema = path, name, layer_id, schema
        self.province = province
        self.declared_crs, self.declared_encoding = crs, encoding
        self.field_map, self.repair, self.max_bytes = field_map or {}, repair, max_bytes
        self.accuracy, self.source = accuracy, source
        self.geometry_type = _norm_geometry_type(geometry_type)
        self.source_layer, self.on_bad_value, self.tmp = source_layer, on_bad_value, tmp
        self.report = ImportReport(file=name, format="", layer=layer_id)
        self.dataset: Path | None = None
        self.fmt = ""
        self.raw_text = False  # strings were read as Latin-1 stand-ins for bytes (Shapefile, non-UTF-8 CSV)
        self.sidecar_prj: Path | None = None
        self.cpg: str | None = None
        self.file_charset: str | None = None
        self.field_names_csv: Path | None = None

    # ---------------------------------------------------------------- orchestration
    def run(self) -> tuple[gpd.GeoDataFrame, ImportReport]:
        self._check_size()
        self._locate()
        frame, file_crs = self._read()
        self.report.features_read = len(frame)
        if len(frame) == 0:
            raise ImportRefused("no_features", f"{self.name} holds no features", f"{self.name} không có đối tượng nào")
        frame = self._fix_text(frame)
        geoms, fids = frame.geometry.to_numpy(), frame.index.to_numpy()
        attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        rejected: set[int] = set()
        geoms = self._check_geometries(geoms, fids, rejected)
        target_crs = self._decide_crs(file_crs, geoms, rejected)
        geoms = self._transform(geoms, target_crs, fids, rejected)
        values = self._map_fields(attrs, fids, rejected)
        return self._assemble(values, geoms, rejected), self.report

    # ---------------------------------------------------------------- size, zip, format
    def _check_size(self) -> None:
        if not self.path.exists():
            raise ImportRefused("not_found", f"{self.name} does not exist", f"Không có tệp {self.name}", 404)
        size = self.path.stat().st_size
        if size > self.max_bytes:
            raise ImportRefused("too_large", f"{self.name} is {size / 1e6:.1f} MB; the limit is "
                                f"{self.max_bytes / 1e6:.0f} MB. Split the file or send a zip.",
                                f"Tệp {self.name} có dung lượng {_vn_num(size / 1e6)} MB, vượt giới hạn "
                                f"{_vn_num(self.max_bytes / 1e6, 0)} MB. Hãy chia nhỏ tệp hoặc nén zip.", 413,
                                {"bytes": size, "max_bytes": self.max_bytes})
        if size == 0:
            raise ImportRefused("empty_file", f"{self.name} is empty (0 bytes)", f"Tệp {self.name} rỗng (0 byte)")

    def _locate(self) -> None:
        kind = _sniff(self.path)
        if kind == "ole":
            raise ImportRefused("unsupported_dgn_v8", f"{self.name} looks like a MicroStation DGN v8 file (or another "
                                "OLE document); only DGN v7 can be read. Save it as DGN v7 or DXF in MicroStation.",
                                f"{self.name} có vẻ là tệp MicroStation DGN v8 (hoặc tài liệu OLE khác); chỉ đọc "
                                "được DGN v7. Hãy lưu lại dạng DGN v7 hoặc DXF trong MicroStation.")
        if kind == "zip":
            self._unzip()
            return
        if self.path.suffix.lower() in (".zip", ".kmz"):
            raise ImportRefused("truncated_zip", f"{self.name} is not a readable zip archive (truncated or corrupt)",
                                f"Tệp nén {self.name} bị hỏng hoặc không đầy đủ (tải lên bị cắt ngang?)")
        if kind is None:
            raise _refuse_unknown(self.name)
        if kind == "shapefile":
            raise ImportRefused("incomplete_shapefile", "a Shapefile is several files (.shp, .shx, .dbf, .prj, "
                                ".cpg): send them together in one zip", "Shapefile gồm nhiều tệp (.shp, .shx, .dbf, "
                                ".prj, .cpg): hãy nén tất cả vào một tệp zip rồi gửi")
        if kind == "mapinfo" and self.path.suffix.lower() == ".tab":
            raise ImportRefused("incomplete_mapinfo", "a MapInfo table is several files (.tab, .dat, .map, .id): "
                                "send them together in one zip", "Bảng MapInfo gồm nhiều tệp (.tab, .dat, .map, .id): "
                                "hãy nén tất cả vào một tệp zip rồi gửi")
        # GDAL picks drivers by extension in places: give the file the name its content deserves.
        ext = {"gpkg": ".gpkg", "kml": ".kml", "dxf": ".dxf", "dgn": ".dgn", "geojson": ".geojson", "csv": ".csv",
               "mapinfo": self.path.suffix.lower() or ".mif"}[kind]
        if self.path.suffix.lower() != ext:
            target = self.tmp / f"source{ext}"
            try:
                target.symlink_to(self.path.resolve())
            except OSError:
                shutil.copyfile(self.path, target)
            self.dataset = target
        else:
            self.dataset = self.path
        self.fmt = kind

    def _unzip(self) -> None:
        try:
            archive = zipfile.ZipFile(self.path)
            infos = [i for i in archive.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
            raise ImportRefused("truncated_zip", f"{self.name} is a truncated or corrupt zip archive; upload it again",
                                f"Tệp nén {self.name} bị cắt ngang hoặc hỏng; hãy tải lên lại") from None
        members = [i for i in infos if not _junk_member(i.filename)]
        if not members:
            raise ImportRefused("no_features", f"the zip {self.name} is empty", f"Tệp nén {self.name} không chứa gì")
        total = sum(i.file_size for i in members)
        if total > self.max_bytes:
            raise ImportRefused("too_large", f"{self.name} unpacks to {total / 1e6:.1f} MB; the limit is "
                                f"{self.max_bytes / 1e6:.0f} MB", f"Tệp nén {self.name} giải nén ra "
                                f"{_vn_num(total / 1e6)} MB, vượt giới hạn {_vn_num(self.max_bytes / 1e6, 0)} MB",
                                413, {"bytes": total, "max_bytes": self.max_bytes})
        root = self.tmp / "zip"
        written = 0
        paths: list[Path] = []
        try:
            for info in members:
                parts = [p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p not in ("", ".", "/")]
                if not parts or ".." in parts:
                    continue
                target = root.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > self.max_bytes:
                            raise ImportRefused("too_large", f"{self.name} unpacks to more than "
                                                f"{self.max_bytes / 1e6:.0f} MB", f"Tệp nén {self.name} giải nén "
                                                f"ra hơn {_vn_num(self.max_bytes / 1e6, 0)} MB", 413)
                        dst.write(chunk)
                paths.append(target)
        except (zipfile.BadZipFile, EOFError, OSError, zlib_error()) as exc:
            raise ImportRefused("truncated_zip", f"{self.name} is a truncated or corrupt zip archive ({exc}); "
                                "upload it again", f"Tệp nén {self.name} bị cắt ngang hoặc hỏng; hãy tải lên lại") \
                from None
        finally:
            archive.close()
        self._pick_dataset(paths, root)

    def _pick_dataset(self, paths: list[Path], root: Path) -> None:
        by_ext: dict[str, list[Path]] = {}
        for p in paths:
            by_ext.setdefault(p.suffix.lower(), []).append(p)
        found: list[tuple[str, Path]] = []
        for p in paths:
            ext = p.suffix.lower()
            if ext in (".zip", ".kmz"):
                raise ImportRefused("nested_zip", f"{self.name} holds another archive ({p.name}); unpack it and send "
                                    "the data itself", f"Tệp nén {self.name} chứa tệp nén khác ({p.name}); hãy giải "
                                    "nén và gửi trực tiếp dữ liệu")
            if ext == ".shp":
                found.append(("shapefile", p))
            elif ext == ".tab" or (ext == ".mif" and not _sibling(p, ".tab")):
                found.append(("mapinfo", p))
            elif ext in (".gpkg", ".kml", ".dxf", ".dgn", ".geojson", ".json"):
                found.append((_EXT_FORMAT[ext], p))
            elif ext == ".csv":
                found.append(("csv", p))
        if len(found) > 1 and any(f != "csv" for f, _ in found):  # tables beside the data: field lists, notes
            extra = [p for f, p in found if f == "csv"]
            found = [(f, p) for f, p in found if f != "csv"]
            for p in extra:
                if found[0][0] == "shapefile" and p.name.lower() == f"{found[0][1].stem.lower()}_fields.csv":
                    self.field_names_csv = p
            self.report.note("tables_ignored", f"tables beside the data were not imported as features: "
                             f"{', '.join(p.name for p in extra)}", f"Các bảng đi kèm không được nhập như đối "
                             f"tượng: {', '.join(p.name for p in extra)}")
        if not found:
            listed = ", ".join(str(p.relative_to(root)) for p in paths[:20])
            raise ImportRefused("no_dataset", f"{self.name} holds no dataset planmap can read ({listed}). "
                                f"Supported: {_SUPPORTED_EN}", f"Tệp nén {self.name} không chứa dữ liệu đọc được "
                                f"({listed}). Các định dạng nhận được: {_SUPPORTED_VI}")
        if len(found) > 1:
            listed = ", ".join(str(p.relative_to(root)) for _, p in found)
            raise ImportRefused("several_datasets", f"{self.name} holds several datasets ({listed}); send one "
                                "per import", f"Tệp nén {self.name} chứa nhiều bộ dữ liệu ({listed}); mỗi lần chỉ "
                                "nhập một bộ", details={"datasets": [str(p.relative_to(root)) for _, p in found]})
        fmt, p = found[0]
        if fmt == "shapefile":
            missing = [e for e in (".shx", ".dbf") if _sibling(p, e) is None]
            if missing:
                raise ImportRefused("incomplete_shapefile", f"the Shapefile {p.name} in {self.name} lacks "
                                    f"{', '.join(missing)}", f"Shapefile {p.name} trong {self.name} thiếu tệp "
                                    f"{', '.join(missing)}")
            cpg = _sibling(p, ".cpg")
            self.cpg = cpg.read_bytes().decode("ascii", errors="replace").strip() if cpg else None
        if fmt == "mapinfo" and p.suffix.lower() == ".tab":
            missing = [e for e in (".dat", ".map") if _sibling(p, e) is None]
            if missing:
                raise ImportRefused("incomplete_mapinfo", f"the MapInfo table {p.name} in {self.name} lacks "
                                    f"{', '.join(missing)}", f"Bảng MapInfo {p.name} trong {self.name} thiếu tệp "
                                    f"{', '.join(missing)}")
        if fmt == "mapinfo":
            head = p.read_bytes()[:4096].decode("latin1")
            m = re.search(r'(?im)^\s*!?charset\s+"?([\w-]+)"?', head)
            self.file_charset = m.group(1) if m else None
        if fmt in ("dxf", "dgn", "csv", "geojson"):
            self.sidecar_prj = _sibling(p, ".prj")
        self.fmt, self.dataset = fmt, p

    # ---------------------------------------------------------------- reading
    def _read(self) -> tuple[gpd.GeoDataFrame, CRS | None]:
        self.report.format = FORMATS[self.fmt]
        assert self.dataset is not None
        if self.fmt == "csv":
            frame = self._read_csv(self.dataset)
            file_crs = None
            if "crs" in frame.columns and frame["crs"].nunique() == 1:  # planmap's CSV export names its CRS
                try:
                    file_crs = CRS.from_user_input(str(frame["crs"].iloc[0]))
                    frame = frame.drop(columns=["crs"])
                except CRSError:
                    pass
        else:
            frame, file_crs = self._read_gdal(self.dataset)
            if self.field_names_csv is not None:
                frame = self._restore_field_names(frame)
            if self.fmt in ("dxf", "dgn"):
                frame = self._skip_cad_labels(frame)
        if self.sidecar_prj is not None and file_crs is None:
            try:
                file_crs = CRS.from_user_input(self.sidecar_prj.read_text(errors="replace"))
                self.report.note("prj_beside", f"CRS taken from {self.sidecar_prj.name} beside the data",
                                 f"Hệ tọa độ lấy từ tệp {self.sidecar_prj.name} đi kèm dữ liệu")
            except CRSError:
                pass
        return frame, file_crs

    def _read_gdal(self, ds: Path) -> tuple[gpd.GeoDataFrame, CRS | None]:
        kwargs: dict = {}
        if self.fmt == "shapefile":
            kwargs["encoding"] = "latin1"  # GDAL hands over the .dbf bytes untouched; decoded below
            self.raw_text = True
        try:
            layers = [(str(n), str(g)) for n, g in pyogrio.list_layers(ds)]
        except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem
            raise self._unreadable(exc) from None
        if not layers:
            raise ImportRefused("no_features", f"{self.name} holds no layer", f"{self.name} không có lớp dữ liệu nào")
        names = [n for n, _ in layers]
        if self.source_layer is not None:
            if self.source_layer not in names:
                raise ImportRefused("unknown_source_layer", f"{self.name} has no layer {self.source_layer!r}; its "
                                    f"layers: {', '.join(names)}", f"{self.name} không có lớp {self.source_layer!r}; "
                                    f"các lớp: {', '.join(names)}", details={"layers": names})
            names = [self.source_layer]
        frames: list[gpd.GeoDataFrame] = []
        file_crs: CRS | None = None
        counts: dict[str, int] = {}
        try:
            for layer in names:
                info = pyogrio.read_info(ds, layer=layer, **kwargs)
                counts[layer] = int(info.get("features") or 0)
                if len(names) > 1 and self.fmt == "gpkg":
                    continue
                frame = pyogrio.read_dataframe(ds, layer=layer, fid_as_index=True, **kwargs)
                if info.get("crs") and file_crs is None:
                    file_crs = CRS.from_user_input(info["crs"])
                frames.append(frame)
        except ImportRefused:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._unreadable(exc) from None
        if len(names) > 1 and self.fmt == "gpkg":
            listed = ", ".join(f"{n} ({c})" for n, c in counts.items())
            raise ImportRefused("several_layers", f"{self.name} holds several layers: {listed}; choose one "
                                "(source_layer)", f"{self.name} có nhiều lớp: {listed}; hãy chọn một lớp",
                                details={"layers": counts})
        if len(frames) > 1:  # KML folders: one layer each — taken together, in file order
            used = [n for n, c in counts.items() if c]
            frames = [f for f in frames if len(f)]
            if len(used) > 1:
                self.report.note("layers_combined", f"the features of {len(used)} folders were taken together: "
                                 f"{', '.join(used)}", f"Đã gộp đối tượng của {len(used)} thư mục: {', '.join(used)}")
            offsets = 0
            for f in frames:
                f.index = np.arange(offsets, offsets + len(f))
                offsets += len(f)
        frame = pd.concat(frames) if len(frames) > 1 else (frames[0] if frames else gpd.GeoDataFrame())
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
            frame = gpd.GeoDataFrame(frame, geometry=[None] * len(frame))
        if self.fmt == "kml":
            file_crs = CRS.from_user_input("OGC:CRS84")
        elif self.fmt == "geojson" and not _has_crs_member(ds):
            file_crs = None  # RFC 7946 says WGS84; GDAL says so too — the coordinates are checked below
        if file_crs is not None and not (file_crs.is_geographic or file_crs.is_projected):
            self.report.note("local_crs", f"the file's CRS ({file_crs.name}) is a local/engineering system and was "
                             "ignored", f"Hệ tọa độ của tệp ({file_crs.name}) là hệ cục bộ, không dùng được",
                             "warning")
            file_crs = None
        return frame, file_crs

    def _restore_field_names(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """A planmap Shapefile export lists its shortened field names (and text continued in `name_2`…)."""
        try:
            rows = list(csv.DictReader(io.StringIO(self.field_names_csv.read_text(encoding="utf-8-sig"))))
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
        self.report.note("field_names_restored", f"full field names restored from {self.field_names_csv.name}",
                         f"Tên trường đầy đủ được khôi phục từ {self.field_names_csv.name}")
        return frame

    def _skip_cad_labels(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """CAD text entities are labels when the drawing also has other entities: they are not features."""
        if self.fmt == "dxf" and "SubClasses" in frame.columns:
            is_text = frame["SubClasses"].astype(str).str.contains("AcDbText|AcDbMText", regex=True).to_numpy()
        elif self.fmt == "dgn" and "Type" in frame.columns:
            is_text = (pd.to_numeric(frame["Type"], errors="coerce") == 17).to_numpy()
        else:
            return frame
        if not is_text.any() or is_text.all():
            return frame
        self.report.note("cad_labels_skipped", f"{int(is_text.sum())} text entities (labels) were not imported as "
                         "features; the drawing's other entities were", f"{int(is_text.sum())} đối tượng chữ (nhãn) "
                         "không được nhập như đối tượng; các đối tượng còn lại của bản vẽ đã được nhập",
                         labels=[str(t) for t in frame.loc[is_text, "Text"].head(50)] if "Text" in frame else [])
        return frame.loc[~is_text]

    def _unreadable(self, exc: Exception) -> ImportRefused:
        msg = str(exc).replace(str(self.tmp), "").strip()
        return ImportRefused("unreadable", f"{self.name} cannot be read as {FORMATS.get(self.fmt, self.fmt)}: {msg}",
                             f"Không đọc được {self.name} (định dạng {FORMATS.get(self.fmt, self.fmt)}): {msg}")

    def _read_csv(self, ds: Path) -> gpd.GeoDataFrame:
        data = ds.read_bytes()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin1")  # byte-for-byte; the encoding is found below
            self.raw_text = True
        if not text.strip():
            raise ImportRefused("no_features", f"{self.name} is empty", f"Tệp {self.name} rỗng")
        try:
            dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
            sep = dialect.delimiter
        except csv.Error:
            sep = ","
        try:
            table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, ValueError) as exc:
            raise self._unreadable(exc) from None
        if table.empty:
            raise ImportRefused("no_features", f"{self.name} has a header but no rows",
                                f"{self.name} chỉ có dòng tiêu đề, không có dữ liệu")
        folded = {re.sub(r"[^a-z0-9]+", "_", fold(str(c))).strip("_"): c for c in table.columns}
        wkt_col = next((folded[k] for k in ("wkt", "geometry", "geom", "the_geom", "shape", "hinh_hoc") if k in folded),
                       None)
        pairs = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("long", "lat"), ("kinh_do", "vi_do"),
                 ("kinhdo", "vido"), ("x", "y"), ("easting", "northing"), ("toa_do_x", "toa_do_y"))
        xy = next(((folded[a], folded[b]) for a, b in pairs if a in folded and b in folded), None)
        if wkt_col is None and xy is None:
            raise ImportRefused("no_coordinates", "the CSV needs coordinate columns (lon/lat, x/y, kinh_do/vi_do) or a "
                                f"WKT column; its columns: {', '.join(map(str, table.columns))}",
                                "Tệp CSV cần các cột tọa độ (lon/lat, x/y, kinh_do/vi_do) hoặc cột WKT; các cột hiện "
                                f"có: {', '.join(map(str, table.columns))}")
        geoms: list = []
        if wkt_col is not None:
            for value in table[wkt_col]:
                try:
                    geoms.append(shapely.from_wkt(value) if str(value).strip() else None)
                except shapely.errors.GEOSException:
                    geoms.append(None)
            table = table.drop(columns=[wkt_col])
        else:
            comma = 0
            for xs, ys in zip(table[xy[0]], table[xy[1]], strict=True):
                x, cx = _parse_number(xs)
                y, cy = _parse_number(ys)
                comma += cx or cy
                geoms.append(shapely.Point(x, y) if x is not None and y is not None else None)
            if comma:
                self.report.note("decimal_comma", f"{comma} coordinates used a decimal comma (read as a decimal point)",
                                 f"{comma} tọa độ dùng dấu phẩy thập phân (đã đọc như dấu chấm)")
            table = table.drop(columns=list(xy))
        frame = gpd.GeoDataFrame(table, geometry=geoms)
        frame.index = np.arange(1, len(frame) + 1)  # source id: the data row number
        return frame

    # ---------------------------------------------------------------- text encoding
    def _fix_text(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        geom_name = frame.geometry.name
        columns = [c for c in frame.columns if c != geom_name]
        text_cols = [c for c in columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)]
        strings: set[str] = {str(c) for c in columns}
        for c in text_cols:
            strings.update(v for v in frame[c].to_numpy() if isinstance(v, str))
        declared = None
        if self.declared_encoding:
            declared = vn.normalize_name(self.declared_encoding)
            if declared is None:
                raise ImportRefused("bad_encoding", f"unknown text encoding {self.declared_encoding!r}; use utf-8, "
                                    "cp1258, tcvn3 or vni", f"Bảng mã {self.declared_encoding!r} không được hỗ trợ; "
                                    "dùng utf-8, cp1258, tcvn3 hoặc vni")
        if self.raw_text:
            convert = self._decode_raw(strings, declared)
        else:
            convert = self._decode_read(strings, declared)

        def fix(v):
            return unicodedata.normalize("NFC", convert.get(v, v)) if isinstance(v, str) else v

        for c in text_cols:
            frame[c] = [fix(v) for v in frame[c].to_numpy()]
        rename: dict = {}
        seen: set[str] = set()
        for c in columns:
            new = fix(str(c))
            while new in seen or new == geom_name:
                new += "_"
            seen.add(new)
            rename[c] = new
        return frame.rename(columns=rename)

    def _decode_raw(self, strings: set[str], declared: str | None) -> dict[str, str]:
        """Strings standing for bytes (Latin-1): decode with the declared or .cpg encoding, else detect."""
        raw = {s: s.encode("latin1") for s in strings}
        enc, source = declared, "declared" if declared else None
        if enc is None and self.cpg:
            cpg = vn.normalize_name(self.cpg)
            if cpg is None:
                self.report.note("cpg_unknown", f"the .cpg file names an unknown encoding ({self.cpg}); detecting",
                                 f"Tệp .cpg ghi bảng mã không rõ ({self.cpg}); đang tự nhận dạng", "warning")
            elif cpg == "utf-8" and not _all_utf8(raw.values()):
                self.report.note("cpg_wrong", "the .cpg file says UTF-8 but the text is not UTF-8; detecting",
                                 "Tệp .cpg ghi UTF-8 nhưng văn bản không phải UTF-8; đang tự nhận dạng", "warning")
            else:
                enc, source = cpg, "cpg"
        if enc is None:
            det = vn.detect(raw.values())
            if det.ambiguous:
                self._refuse_encoding(det)
            enc = det.encoding
            source = "utf-8" if enc == "utf-8" else f"detected_{enc}"
            if enc != "utf-8":
                self.report.note("encoding_detected", f"text was in {vn.LABELS[enc]} and was converted to Unicode "
                                 f"({_score_text(det)})", f"Văn bản dùng bảng mã {vn.LABELS[enc]}, đã chuyển sang "
                                 f"Unicode ({_score_text(det)})", "warning", scores=det.scores)
        self.report.encoding, self.report.encoding_source = enc, source
        out = {}
        bad = 0
        for s, b in raw.items():
            text = vn.decode(b, enc)
            bad += "\ufffd" in text
            if text != s:
                out[s] = text
        if bad:
            self.report.note("undecodable_text", f"{bad} text values have bytes that are not valid {enc} (shown as �)",
                             f"{bad} giá trị văn bản có byte không hợp lệ theo bảng mã {enc} (hiện là �)", "warning")
        return out

    def _decode_read(self, strings: set[str], declared: str | None) -> dict[str, str]:
        """Strings already decoded by GDAL: legacy Vietnamese read as Windows-1252 is recognised and converted."""
        legacy = {s: vn.recover_bytes(s) for s in strings if vn.looks_legacy(s)}
        legacy = {s: b for s, b in legacy.items() if b is not None}
        charset = _charset_codec(self.file_charset)
        if declared and declared != "utf-8":
            self.report.encoding, self.report.encoding_source = declared, "declared"
            return {s: vn.decode(b, declared) for s, b in legacy.items()}
        if charset:
            self.report.encoding, self.report.encoding_source = charset, "file"
        else:
            self.report.encoding, self.report.encoding_source = "utf-8", "declared" if declared else "utf-8"
        if not legacy or declared:
            return {}
        as_is = vn.syllable_score(legacy)
        as_is_score = as_is[0] / as_is[1] if as_is[1] else 1.0
        det = vn.detect(legacy.values(), min_score=0.6, margin=0.15)
        det.scores["as-is"] = as_is_score
        if det.encoding and det.encoding != "utf-8" and det.scores[det.encoding] >= as_is_score + 0.15:
            enc = det.encoding
            self.report.encoding, self.report.encoding_source = enc, f"detected_{enc}"
            self.report.note("encoding_detected", f"text was in {vn.LABELS[enc]} and was converted to Unicode "
                             f"({_score_text(det)})", f"Văn bản dùng bảng mã {vn.LABELS[enc]}, đã chuyển sang "
                             f"Unicode ({_score_text(det)})", "warning", scores=det.scores)
            return {s: vn.decode(b, enc) for s, b in legacy.items()}
        if as_is[1] >= 3 and as_is_score < 0.5:
            self.report.note("encoding_unsure", "some text does not look like Vietnamese in Unicode and no legacy "
                             "encoding fits clearly; kept as read — declare the encoding if names look wrong",
                             "Một số văn bản không giống tiếng Việt Unicode và không khớp rõ bảng mã cũ nào; giữ "
                             "nguyên — hãy khai báo bảng mã nếu tên hiển thị sai", "warning", scores=det.scores)
        return {}

    def _refuse_encoding(self, det: vn.Detection) -> None:
        shown = "; ".join(f"{vn.LABELS[k]} {det.scores[k]:.0%}: " + " | ".join(det.samples.get(k, [])[:2])
                          for k in det.scores)
        raise ImportRefused("ambiguous_encoding", f"the text encoding of {self.name} cannot be recognised with "
                            f"confidence ({shown}); declare it: utf-8, cp1258, tcvn3 or vni",
                            f"Không nhận dạng chắc chắn được bảng mã của {self.name} ({shown}); hãy khai báo bảng "
                            "mã: utf-8, cp1258, tcvn3 (ABC) hoặc vni", details={"scores": det.scores,
                                                                               "samples": det.samples})

    # ---------------------------------------------------------------- geometry (source CRS)
    def _check_geometries(self, geoms: np.ndarray, fids: np.ndarray, rejected: set[int]) -> np.ndarray:
        out = np.empty(len(geoms), dtype=object)
        z_count, converted, repaired = 0, {}, 0
        for i, geom in enumerate(geoms):
            n, sid = i + 1, _sid(fids[i])
            if geom is None or geom.is_empty:
                self.report.problem(n, sid, "error", "empty_geometry", "the feature has no geometry",
                                    "Đối tượng không có hình học")
                rejected.add(i)
                continue
            if shapely.has_z(geom):
                geom = shapely.force_2d(geom)
                z_count += 1
            geom, how = _coerce(geom, self.geometry_type)
            if geom is None:
                self.report.problem(n, sid, "error", "geometry_type", f"a {how} cannot go into a layer of "
                                    f"{self.geometry_type}", f"Kiểu hình học {_vn_type(how)} không phù hợp với lớp "
                                    f"kiểu {_vn_type(self.geometry_type)}")
                rejected.add(i)
                continue
            if how:
                converted[how] = converted.get(how, 0) + 1
            if not shapely.is_valid(geom):
                reason = shapely.is_valid_reason(geom)
                if not self.repair:
                    self.report.problem(n, sid, "error", "invalid_geometry", f"invalid geometry: {reason}",
                                        f"Hình học không hợp lệ: {_vn_reason(reason)}", reason=reason)
                    rejected.add(i)
                    continue
                fixed = _repair(geom)
                fixed, _ = _coerce(fixed, self.geometry_type) if fixed is not None else (None, None)
                if fixed is None or fixed.is_empty:
                    self.report.problem(n, sid, "error", "invalid_geometry", f"invalid geometry that cannot be "
                                        f"repaired: {reason}", f"Hình học không hợp lệ, không sửa được: "
                                        f"{_vn_reason(reason)}", reason=reason)
                    rejected.add(i)
                    continue
                repaired += 1
                self.report.problem(n, sid, "warning", "invalid_geometry_repaired",
                                    f"invalid geometry repaired: {reason}; now {fixed.geom_type}",
                                    f"Hình học không hợp lệ đã được sửa: {_vn_reason(reason)}; nay là "
                                    f"{_vn_type(fixed.geom_type)}", reason=reason)
                geom = fixed
            out[i] = geom
        if z_count:
            self.report.note("z_dropped", f"heights (Z) were dropped from {z_count} features",
                             f"Đã bỏ cao độ (Z) của {z_count} đối tượng")
        for how, count in converted.items():
            en, vi = _CONVERSIONS.get(how, (how, how))
            self.report.note(f"geometry_{how}", f"{count} features: {en}", f"{count} đối tượng: {vi}")
        return out

    # ---------------------------------------------------------------- CRS
    def _decide_crs(self, file_crs: CRS | None, geoms: np.ndarray, rejected: set[int]) -> CRS:
        live = np.array([g for i, g in enumerate(geoms) if i not in rejected and g is not None], dtype=object)
        if len(live) == 0:
            raise ImportRefused("no_valid_features", f"none of the {len(geoms)} features of {self.name} has a usable "
                                "geometry", f"Không đối tượng nào trong {len(geoms)} đối tượng của {self.name} có "
                                "hình học dùng được", details={"problems": self.report.problems[:50]})
        b = shapely.bounds(live)
        bounds = (float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])), float(np.nanmax(b[:, 2])),
                  float(np.nanmax(b[:, 3])))
        self.swap = False
        if self.declared_crs:
            target = _parse_user_crs(self.declared_crs)
            self.report.crs_source = "declared"
            if file_crs is not None and not target.equals(file_crs, ignore_axis_order=True):
                self.report.note("declared_crs_overrides_file", f"the declared CRS {_crs_label(target)} was used "
                                 f"instead of the file's {_crs_label(file_crs)}", f"Đã dùng hệ tọa độ khai báo "
                                 f"{_crs_label(target)} thay cho hệ tọa độ của tệp {_crs_label(file_crs)}",
                                 "warning")
        elif file_crs is not None:
            target, self.report.crs_source = file_crs, "file"
        else:
            target = self._assume_crs(bounds)
        self._sanity(target, bounds, live)
        self.report.crs = _crs_label(target)
        return target

    def _assume_crs(self, bounds) -> CRS:
        x0, y0, x1, y1 = bounds
        lon0, lat0, lon1, lat1 = VIETNAM_BOUNDS
        default_geojson = self.fmt == "geojson"
        if lon0 <= x0 and x1 <= lon1 and lat0 <= y0 and y1 <= lat1 + 0.5:
            if default_geojson:
                self.report.crs_source = "file"
                return CRS.from_user_input("OGC:CRS84")
            self.report.crs_source = "assumed_wgs84"
            self.report.note("crs_assumed", "the file declares no CRS; its coordinates are longitudes/latitudes in "
                             "Vietnam, so WGS 84 was assumed", "Tệp không khai báo hệ tọa độ; tọa độ là kinh độ/vĩ "
                             "độ trong lãnh thổ Việt Nam nên đã giả định hệ WGS 84", "warning")
            return CRS.from_user_input("OGC:CRS84")
        tm3 = CRS.from_user_input(TM3_CRS)
        for swapped in (False, True):
            bx = (y0, x0, y1, x1) if swapped else bounds
            if 300_000 <= bx[0] and bx[2] <= 700_000 and 2_300_000 <= bx[1] and bx[3] <= 2_600_000 \
                    and self._fits_province(tm3, bx):
                self.report.crs_source = "assumed_vn2000_tm3"
                self.swap = swapped
                extra_en = (" The columns were in the surveying order (X = northing, Y = easting) and were swapped."
                            if swapped else "")
                extra_vi = (" Tọa độ theo quy ước trắc địa (X hướng Bắc, Y hướng Đông) nên đã được đổi chỗ."
                            if swapped else "")
                self.report.note("crs_assumed", "the file declares no CRS; its coordinates are metres that fit "
                                 "VN-2000 / TM-3 zone with central meridian 106°30′ (EPSG:9213) around Thái Nguyên, "
                                 "so that CRS was assumed — declare the CRS if it is another one." + extra_en,
                                 "Tệp không khai báo hệ tọa độ. Đã giả định VN-2000 múi 3° kinh tuyến trục 106°30′ "
                                 "(EPSG:9213) vì tọa độ (mét) nằm quanh tỉnh Thái Nguyên — hãy khai báo hệ tọa độ "
                                 "nếu không đúng." + extra_vi, "warning")
                return tm3
        hint_en = hint_vi = ""
        for swapped in (False, True):
            bx = (y0, x0, y1, x1) if swapped else bounds
            if 100_000 <= bx[0] and bx[2] <= 900_000 and 1_000_000 <= bx[1] and bx[3] <= 2_700_000 \
                    and self._fits_province(CRS.from_user_input(UTM48_CRS), bx):
                hint_en = " As VN-2000 / UTM zone 48N (EPSG:3405) they would fall in the province."
                hint_vi = " Nếu là VN-2000 / UTM múi 48 (EPSG:3405) thì tọa độ nằm trong tỉnh."
        raise ImportRefused("ambiguous_crs", f"{self.name} declares no CRS and its coordinates (x {x0:.0f}–{x1:.0f}, "
                            f"y {y0:.0f}–{y1:.0f}) fit neither longitude/latitude in Vietnam nor VN-2000 / TM-3 "
                            f"106°30′ around Thái Nguyên.{hint_en} Declare the CRS (e.g. EPSG:9213, EPSG:3405, "
                            "EPSG:4326).", f"{self.name} không khai báo hệ tọa độ và tọa độ (x {x0:.0f}–{x1:.0f}, "
                            f"y {y0:.0f}–{y1:.0f}) không khớp kinh độ/vĩ độ Việt Nam hay VN-2000 múi 3° kinh tuyến "
                            f"trục 106°30′ quanh Thái Nguyên.{hint_vi} Hãy khai báo hệ tọa độ (ví dụ EPSG:9213, "
                            "EPSG:3405, EPSG:4326).", details={"bounds": list(bounds)})

    def _fits_province(self, crs: CRS, bx) -> bool:
        t = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
        lon, lat = t.transform([bx[0], bx[2], bx[0], bx[2]], [bx[1], bx[1], bx[3], bx[3]])
        box = shapely.box(min(lon), min(lat), max(lon), max(lat))
        area = (self.province.bounds if self.province is not None else (105.2, 21.2, 106.4, 22.8))
        return box.intersects(shapely.box(*area).buffer(0.3))

    def _sanity(self, target: CRS, bounds, live: np.ndarray) -> None:
        """Refuse a CRS the coordinates cannot be in: degrees declared but metres given, or the other way."""
        x0, y0, x1, y1 = bounds
        label = _crs_label(target)
        if target.is_geographic:
            if max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90:
                look_en, look_vi = "", ""
                if 100_000 <= min(x0, y0) and max(x1, y1) <= 2_700_000:
                    look_en = " They look like VN-2000 metres: declare crs=EPSG:9213 (TM-3 106°30′) or the right zone."
                    look_vi = (" Tọa độ có vẻ là mét VN-2000: hãy khai báo crs=EPSG:9213 (múi 3° kinh tuyến trục "
                               "106°30′) hoặc múi chiếu đúng.")
                raise ImportRefused("wrong_crs", f"the CRS {label} ({self.report.crs_source}) is in degrees but the "
                                    f"coordinates are not (x {x0:.0f}–{x1:.0f}, y {y0:.0f}–{y1:.0f}).{look_en}",
                                    f"Hệ tọa độ {label} tính bằng độ nhưng tọa độ trong tệp không phải độ "
                                    f"(x {x0:.0f}–{x1:.0f}, y {y0:.0f}–{y1:.0f}).{look_vi}",
                                    details={"bounds": list(bounds)})
            if 8 <= x0 and x1 <= 24 and 102 <= y0 and y1 <= 110:
                raise ImportRefused("wrong_crs", f"the coordinates are latitude, longitude (x {x0:.4f}, y {y0:.4f}) "
                                    "but were stored as longitude, latitude; swap the columns",
                                    f"Tọa độ ghi theo thứ tự vĩ độ, kinh độ (x {x0:.4f}, y {y0:.4f}) thay vì kinh độ, "
                                    "vĩ độ; hãy đổi chỗ hai cột")
        elif target.is_projected and max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90:
            raise ImportRefused("wrong_crs", f"the CRS {label} is in metres but the coordinates look like degrees "
                                f"(x {x0:.5f}–{x1:.5f}, y {y0:.5f}–{y1:.5f}); they are probably WGS 84 "
                                "(declare crs=EPSG:4326)", f"Hệ tọa độ {label} tính bằng mét nhưng tọa độ có vẻ là độ "
                                f"(x {x0:.5f}–{x1:.5f}, y {y0:.5f}–{y1:.5f}); có lẽ là WGS 84 (khai báo "
                                "crs=EPSG:4326)", details={"bounds": list(bounds)})

    def _transform(self, geoms: np.ndarray, target: CRS, fids: np.ndarray, rejected: set[int]) -> np.ndarray:
        keep = np.array([i not in rejected for i in range(len(geoms))])
        live = geoms[keep]
        if self.swap:
            live = shapely.transform(live, lambda a: a[:, ::-1])
        t = Transformer.from_crs(target, "OGC:CRS84", always_xy=True)

        def project(a: np.ndarray) -> np.ndarray:
            x, y = t.transform(a[:, 0], a[:, 1])
            return np.column_stack([x, y])

        out84 = shapely.transform(live, project)
        lon0, lat0, lon1, lat1 = VIETNAM_BOUNDS
        b = shapely.bounds(out84)
        finite = np.isfinite(b).all(axis=1)
        inside_vn = finite & (b[:, 0] >= lon0) & (b[:, 2] <= lon1) & (b[:, 1] >= lat0) & (b[:, 3] <= lat1)
        if not inside_vn.any():
            where = f"{np.nanmean(b[:, 0]):.4f}, {np.nanmean(b[:, 1]):.4f}" if finite.any() else "?"
            raise ImportRefused("wrong_crs", f"in the CRS {_crs_label(target)} ({self.report.crs_source}) the features "
                                f"would lie outside Vietnam (around lon/lat {where}); the CRS is probably wrong — "
                                "declare the right one", f"Theo hệ tọa độ {_crs_label(target)} các đối tượng nằm "
                                f"ngoài lãnh thổ Việt Nam (quanh kinh độ/vĩ độ {where}); có lẽ hệ tọa độ sai — hãy "
                                "khai báo đúng hệ tọa độ", details={"crs": _crs_label(target)})
        result = np.empty(len(geoms), dtype=object)
        idx = np.flatnonzero(keep)
        inside_prov = np.ones(len(idx), dtype=bool)
        if self.province is not None:
            shapely.prepare(self.province)
            inside_prov = shapely.intersects(self.province, out84)
        for k, i in enumerate(idx):
            n, sid = i + 1, _sid(fids[i])
            if not inside_vn[k]:
                self.report.problem(n, sid, "error", "outside_vietnam", f"the feature lies outside Vietnam "
                                    f"(lon {b[k, 0]:.4f}, lat {b[k, 1]:.4f})", f"Đối tượng nằm ngoài lãnh thổ Việt "
                                    f"Nam (kinh độ {b[k, 0]:.4f}, vĩ độ {b[k, 1]:.4f})")
                rejected.add(int(i))
                continue
            if not inside_prov[k]:
                self.report.problem(n, sid, "warning", "outside_province", "the feature lies outside the province "
                                    f"(lon {b[k, 0]:.4f}, lat {b[k, 1]:.4f}); imported, please check",
                                    f"Đối tượng nằm ngoài ranh giới tỉnh (kinh độ {b[k, 0]:.4f}, vĩ độ "
                                    f"{b[k, 1]:.4f}); vẫn được nhập, đề nghị kiểm tra")
            result[i] = out84[k]
        if self.province is not None and not inside_prov.any():
            self.report.note("all_outside_province", "no feature lies in the province — check the CRS",
                             "Không đối tượng nào nằm trong tỉnh — hãy kiểm tra hệ tọa độ", "warning")
        return result

    # ---------------------------------------------------------------- attributes
    def _map_fields(self, attrs: pd.DataFrame, fids: np.ndarray, rejected: set[int]) -> dict[str, list]:
        source_cols = [str(c) for c in attrs.columns]
        mapping = self._mapping(source_cols)
        self.report.field_mapping = mapping
        mapped_targets = set(mapping.values())
        self.report.unmapped_fields = [c for c in source_cols if c not in mapping]
        n_rows = len(attrs)
        values: dict[str, list] = {}
        if self.schema is None:
            for c in source_cols:
                if c in mapping:
                    values[mapping[c]] = [_clean(v) for v in attrs[c].to_numpy()]
            empty = [t for t, vs in values.items() if t not in ("source", "accuracy")
                     and all(v is None or v == "" for v in vs)]
            if empty:
                for t in empty:
                    del values[t]
                self.report.note("empty_fields_dropped", f"fields with no value were left out: {', '.join(empty)}",
                                 f"Các trường không có giá trị đã được bỏ qua: {', '.join(empty)}")
        else:
            self.report.missing_fields = [f for f in self.schema if f not in mapped_targets
                                          and f not in ("source", "accuracy")]
            by_target = {t: s for s, t in mapping.items()}
            comma_fields: dict[str, int] = {}
            for target, jtype in self.schema.items():
                if target in ("source", "accuracy"):
                    continue
                src = by_target.get(target)
                if src is None:
                    values[target] = [None] * n_rows
                    continue
                col = []
                for i, raw in enumerate(attrs[src].to_numpy()):
                    value, ok, note = _convert(raw, jtype, target)
                    if note == "comma":
                        comma_fields[target] = comma_fields.get(target, 0) + 1
                    if not ok:
                        reject = self.on_bad_value == "reject"
                        self.report.problem(
                            i + 1, _sid(fids[i]), "error" if reject else "warning", "bad_type",
                            f"{src} = {raw!r} is not {_EN_TYPE[jtype]} (field {target})"
                            + ("; feature rejected" if reject else "; value emptied"),
                            f"{src} = {raw!r} không phải {_VI_TYPE[jtype]} (trường {target})"
                            + ("; đối tượng bị loại" if reject else "; giá trị bị để trống"),
                            field_name=target, value=_clean(raw))
                        if reject:
                            rejected.add(i)
                        value = None
                    col.append(value)
                values[target] = col
            for target, count in comma_fields.items():
                self.report.note("decimal_comma", f"{count} values of {target} used a decimal comma (read as a "
                                 "decimal point)", f"{count} giá trị của trường {target} dùng dấu phẩy thập phân "
                                 "(đã đọc như dấu chấm)", field=target)
        values["source"] = self._sources(attrs, mapping, n_rows)
        values["accuracy"] = self._accuracies(attrs, mapping, fids, n_rows)
        return values

    def _mapping(self, source_cols: list[str]) -> dict[str, str]:
        targets = list(self.schema) if self.schema is not None else None
        mapping: dict[str, str] = {}
        for src, dst in self.field_map.items():
            if src not in source_cols:
                raise ImportRefused("bad_field_map", f"field_map names a field {src!r} that {self.name} does not have; "
                                    f"its fields: {', '.join(source_cols)}", f"Bảng ánh xạ trường nêu trường {src!r} "
                                    f"không có trong {self.name}; các trường: {', '.join(source_cols)}")
            if targets is not None and dst not in targets:
                raise ImportRefused("bad_field_map", f"field_map maps {src!r} to {dst!r}, which is not a field of "
                                    f"layer {self.layer_id} ({', '.join(targets)})", f"Bảng ánh xạ trường gán {src!r} "
                                    f"vào {dst!r}, không phải trường của lớp {self.layer_id}")
            mapping[src] = dst
        taken = set(mapping.values())
        driver = _DRIVER_FIELDS.get(self.fmt, set())
        if targets is None:
            for c in source_cols:
                if c in mapping:
                    continue
                syn = _SYNONYMS.get(_compact(c))
                dst = syn if syn in ("source", "accuracy") and syn not in taken else c
                if dst in taken:
                    continue
                mapping[c] = dst
                taken.add(dst)
            return mapping
        by_key = {_compact(t): t for t in targets}
        for rule in ("exact", "synonym", "weak"):
            for c in source_cols:
                if c in mapping:
                    continue
                key = _compact(c)
                if rule == "exact":
                    dst = by_key.get(key) if c not in driver or key in ("name",) else None
                elif rule == "synonym":
                    dst = _SYNONYMS.get(key) if c not in driver else None
                else:
                    dst = _WEAK_SYNONYMS.get(key)
                if dst and dst in targets and dst not in taken:
                    mapping[c] = dst
                    taken.add(dst)
        return mapping

    def _sources(self, attrs: pd.DataFrame, mapping: dict[str, str], n: int) -> list[str]:
        default = self.source or f"import: {self.name}"
        src = next((s for s, t in mapping.items() if t == "source"), None)
        col = [_clean(v) for v in attrs[src].to_numpy()] if src else [None] * n
        out = [str(v) if v not in (None, "") else default for v in col]
        if src is None or any(v in (None, "") for v in col):
            self.report.note("source_default", f"features without a source were given source = {default!r}",
                             f"Các đối tượng không có nguồn được ghi nguồn = {default!r}")
        return out

    def _accuracies(self, attrs: pd.DataFrame, mapping: dict[str, str], fids: np.ndarray, n: int) -> list[str]:
        default = self.accuracy or DEFAULT_ACCURACY
        src = next((s for s, t in mapping.items() if t == "accuracy"), None)
        col = [_clean(v) for v in attrs[src].to_numpy()] if src else [None] * n
        out, defaulted = [], 0
        for i, v in enumerate(col):
            value = None
            if v not in (None, ""):
                key = fold(str(v)).replace("_", " ")
                value = key if key in ACCURACY_VALUES else _ACCURACY_WORDS.get(key)
                if value is None:
                    self.report.problem(i + 1, _sid(fids[i]), "warning", "bad_value",
                                        f"accuracy {v!r} is not one of {', '.join(ACCURACY_VALUES)}; {default!r} used",
                                        f"Độ chính xác {v!r} không thuộc {', '.join(ACCURACY_VALUES)}; đã dùng "
                                        f"{default!r}", field_name="accuracy", value=v)
            if value is None:
                value = default
                defaulted += 1
            out.append(value)
        if defaulted:
            if self.accuracy:
                self.report.note("accuracy_declared", f"{defaulted} features take the declared accuracy "
                                 f"{self.accuracy!r}", f"{defaulted} đối tượng lấy độ chính xác được khai báo "
                                 f"{self.accuracy!r}")
            else:
                self.report.note("accuracy_default", f"the accuracy of {defaulted} features was not declared; they "
                                 f"are marked {DEFAULT_ACCURACY!r} (not 'exact') — declare it if it is known",
                                 f"Độ chính xác của {defaulted} đối tượng không được khai báo; ghi là "
                                 f"{DEFAULT_ACCURACY!r} (không phải 'exact') — hãy khai báo nếu biết", "warning")
        return out

    # ---------------------------------------------------------------- output
    def _assemble(self, values: dict[str, list], geoms: np.ndarray, rejected: set[int]) -> gpd.GeoDataFrame:
        keep = [i for i in range(len(geoms)) if i not in rejected]
        data = {k: [v[i] for i in keep] for k, v in values.items()}
        frame = gpd.GeoDataFrame(data, geometry=[geoms[i] for i in keep], crs="OGC:CRS84")
        if self.schema is not None:
            for target, jtype in self.schema.items():
                if target in frame.columns and target not in ("source", "accuracy"):
                    frame[target] = _typed(frame[target], jtype)
        order = ([c for c in self.schema if c in frame.columns] if self.schema is not None
                 else [c for c in values if c not in ("source", "accuracy")])
        order += [c for c in ("source", "accuracy") if c not in order]
        frame = frame[order + ["geometry"]]
        frame.attrs["source_features"] = [i + 1 for i in keep]
        self.report.features_imported = len(keep)
        self.report.features_rejected = len(rejected)
        self.report.problems.sort(key=lambda p: (p["feature"], p["severity"] != "error"))
        return frame


# ------------------------------------------------------------------------------------------------- helpers
def zlib_error():
    import zlib

    return zlib.error


def _junk_member(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p.startswith("__MACOSX") or p.startswith(".") for p in parts) or name.endswith(("Thumbs.db", "~"))


def _sibling(p: Path, ext: str) -> Path | None:
    for q in p.parent.iterdir():
        if q.stem == p.stem and q.suffix.lower() == ext:
            return q
    return None


def _has_crs_member(path: Path) -> bool:
    with open(path, "rb") as f:
        try:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return m.find(b'"crs"') >= 0
        except ValueError:
            return False


def _all_utf8(values) -> bool:
    try:
        for v in values:
            v.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _charset_codec(charset: str | None) -> str | None:
    if not charset:
        return None
    c = charset.lower()
    return {"windowsvietnamese": "cp1258", "utf-8": "utf-8", "utf8": "utf-8", "windowslatin1": "cp1252",
            "neutral": None}.get(c, None)


def _score_text(det: vn.Detection) -> str:
    return ", ".join(f"{vn.LABELS.get(k, k)} {v:.0%}" for k, v in sorted(det.scores.items(), key=lambda kv: -kv[1]))


def _sid(fid):
    try:
        return int(fid)
    except (TypeError, ValueError):
        return str(fid)


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(str(name)))


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, str):
        return unicodedata.normalize("NFC", v)
    return v


def _parse_number(value) -> tuple[float | None, bool]:
    """A number from a cell; the flag says a decimal comma was read."""
    if value is None:
        return None, False
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        f = float(value)
        return (None if math.isnan(f) else f), False
    s = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if not s:
        return None, False
    comma = False
    if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+", s):  # 1.234,5 (Vietnamese thousands and decimal)
        s, comma = s.replace(".", "").replace(",", "."), True
    elif re.fullmatch(r"[+-]?\d+,\d+", s):
        s, comma = s.replace(",", "."), True
    try:
        f = float(s)
    except ValueError:
        return None, False
    return (f if math.isfinite(f) else None), comma


_UNITS = {"_kv": "kv", "_ha": "ha", "_mw": "mw", "_kg": "kg", "_km2": "km2", "_m": "m"}
_EN_TYPE = {"integer": "an integer", "number": "a number", "boolean": "true/false", "string": "text"}
_VI_TYPE = {"integer": "số nguyên", "number": "số", "boolean": "đúng/sai", "string": "văn bản"}


def _convert(raw, jtype: str, target: str):
    """(value, ok, note) converting a source value to the field's JSON type."""
    v = _clean(raw)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None, True, None
    if jtype == "string":
        if isinstance(v, float) and v.is_integer():
            return str(int(v)), True, None
        return str(v).strip() if isinstance(v, str) else str(v), True, None
    if jtype == "boolean":
        if isinstance(v, bool):
            return v, True, None
        key = fold(str(v))
        if key in _TRUE:
            return True, True, None
        if key in _FALSE:
            return False, True, None
        return None, False, None
    if isinstance(v, bool):
        return None, False, None
    if isinstance(v, str):
        s = v.strip()
        for suffix, unit in _UNITS.items():  # "110 kV" into voltage_kv, "12,5 ha" into area_ha
            if target.endswith(suffix) and fold(s).replace(" ", "").endswith(unit):
                s = s[: len(s) - len(unit)].strip()
                break
        f, comma = _parse_number(s)
    else:
        f, comma = _parse_number(v)
    if f is None:
        return None, False, None
    if jtype == "integer":
        if not float(f).is_integer():
            return None, False, None
        return int(f), True, ("comma" if comma else None)
    return float(f), True, ("comma" if comma else None)


def _typed(series: pd.Series, jtype: str) -> pd.Series:
    if jtype == "integer":
        return series.astype("Int64")
    if jtype == "number":
        return series.astype("float64")
    if jtype == "boolean":
        return series.astype("boolean")
    return series.astype(object)


def _parse_user_crs(value: str) -> CRS:
    try:
        from geo.crs import UnsupportedCrsError, parse_crs

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


def _crs_label(crs: CRS) -> str:
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


def _norm_geometry_type(value: str | None) -> str | None:
    if not value:
        return None
    v = str(value).replace(" Z", "").replace("25D", "").strip()
    names = {n.lower(): n for n in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                    "MultiPolygon")}
    return names.get(v.lower())


_FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line", "LinearRing": "line",
           "MultiLineString": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}
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


def _coerce(geom, target: str | None):
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


_VN_TYPES = {"Point": "điểm", "MultiPoint": "đa điểm", "LineString": "đường", "MultiLineString": "đa đường",
             "Polygon": "vùng", "MultiPolygon": "đa vùng", "GeometryCollection": "tập hợp hình"}


def _vn_type(t: str | None) -> str:
    if not t:
        return "?"
    head = t.split(" ")[0]
    return _VN_TYPES.get(head, head) + (t[len(head):].replace(" of ", " gồm ").replace("parts", "phần"))


_VN_REASONS = {"Self-intersection": "tự cắt", "Ring Self-intersection": "vòng tự cắt",
               "Too few points": "quá ít điểm", "Hole lies outside shell": "lỗ nằm ngoài vòng ngoài",
               "Nested shells": "vòng ngoài lồng nhau", "Interior is disconnected": "phần trong bị tách rời",
               "Duplicate Rings": "vòng trùng nhau", "Invalid Coordinate": "tọa độ không hợp lệ",
               "Ring Not Closed": "vòng không khép kín", "Nested holes": "lỗ lồng nhau"}


def _vn_reason(reason: str) -> str:
    for en, vi in _VN_REASONS.items():
        if reason.startswith(en):
            return vi + reason[len(en):]
    return reason


def _vn_num(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


__all__ = ["ACCURACY_VALUES", "FORMATS", "ImportRefused", "ImportReport", "read_import"]

"""Finding the dataset to read: the size limit, the format by content, a zip unpacked and the one dataset in it.

The stages after this one see a single file in a known format (`ctx.dataset`, `ctx.fmt`) and what lies beside it
(`.cpg`, `.prj`, MapInfo charset, a planmap export's field name list).  Whatever cannot become such a file —
empty, too large, a corrupt or nested zip, a Shapefile without its .shx/.dbf, several datasets — is refused here.
"""

from __future__ import annotations

import re
import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from layers.importing.context import ImportContext
from layers.importing.errors import ImportRefused
from layers.importing.formats import EXT_FORMAT, SUPPORTED_EN, SUPPORTED_VI, sniff

# The files a multi-file dataset cannot be read without: (format, main file's extension) → siblings, and how the
# dataset is called in a message (English, Vietnamese).
_NEEDS = {("shapefile", ".shp"): ((".shx", ".dbf"), "incomplete_shapefile", "Shapefile", "Shapefile"),
          ("mapinfo", ".tab"): ((".dat", ".map"), "incomplete_mapinfo", "MapInfo table", "Bảng MapInfo")}


def check_size(ctx: ImportContext) -> None:
    """Refuse a missing, empty or too large file before reading a byte of it."""
    if not ctx.path.exists():
        raise ImportRefused("not_found", f"{ctx.name} does not exist", f"Không có tệp {ctx.name}", 404)
    size = ctx.path.stat().st_size
    if size > ctx.max_bytes:
        raise ImportRefused("too_large", f"{ctx.name} is {size / 1e6:.1f} MB; the limit is "
                            f"{ctx.max_bytes / 1e6:.0f} MB. Split the file or send a zip.",
                            f"Tệp {ctx.name} có dung lượng {_vn_num(size / 1e6)} MB, vượt giới hạn "
                            f"{_vn_num(ctx.max_bytes / 1e6, 0)} MB. Hãy chia nhỏ tệp hoặc nén zip.", 413,
                            {"bytes": size, "max_bytes": ctx.max_bytes})
    if size == 0:
        raise ImportRefused("empty_file", f"{ctx.name} is empty (0 bytes)", f"Tệp {ctx.name} rỗng (0 byte)")


def locate(ctx: ImportContext) -> None:
    """Set `ctx.fmt` and `ctx.dataset` (unpacking a zip into `ctx.tmp`), or refuse a file that is no dataset."""
    kind = sniff(ctx.path)
    if kind == "ole":
        raise ImportRefused("unsupported_dgn_v8", f"{ctx.name} looks like a MicroStation DGN v8 file (or another "
                            "OLE document); only DGN v7 can be read. Save it as DGN v7 or DXF in MicroStation.",
                            f"{ctx.name} có vẻ là tệp MicroStation DGN v8 (hoặc tài liệu OLE khác); chỉ đọc "
                            "được DGN v7. Hãy lưu lại dạng DGN v7 hoặc DXF trong MicroStation.")
    if kind == "zip":
        _pick_dataset(ctx, *_unzip(ctx))
        return
    if ctx.path.suffix.lower() in (".zip", ".kmz"):
        raise ImportRefused("truncated_zip", f"{ctx.name} is not a readable zip archive (truncated or corrupt)",
                            f"Tệp nén {ctx.name} bị hỏng hoặc không đầy đủ (tải lên bị cắt ngang?)")
    if kind is None:
        raise ImportRefused("unknown_format", f"{ctx.name}: not a file format planmap can import. Supported: "
                            f"{SUPPORTED_EN}", f"{ctx.name}: định dạng tệp không được hỗ trợ. Các định dạng nhận "
                            f"được: {SUPPORTED_VI}")
    if kind == "shapefile":
        raise ImportRefused("incomplete_shapefile", "a Shapefile is several files (.shp, .shx, .dbf, .prj, "
                            ".cpg): send them together in one zip", "Shapefile gồm nhiều tệp (.shp, .shx, .dbf, "
                            ".prj, .cpg): hãy nén tất cả vào một tệp zip rồi gửi")
    if kind == "mapinfo" and ctx.path.suffix.lower() == ".tab":
        raise ImportRefused("incomplete_mapinfo", "a MapInfo table is several files (.tab, .dat, .map, .id): "
                            "send them together in one zip", "Bảng MapInfo gồm nhiều tệp (.tab, .dat, .map, .id): "
                            "hãy nén tất cả vào một tệp zip rồi gửi")
    ctx.dataset, ctx.fmt = _named_for_gdal(ctx, kind), kind


def _named_for_gdal(ctx: ImportContext, kind: str) -> Path:
    """GDAL picks drivers by extension in places: give the file the name its content deserves."""
    ext = {"gpkg": ".gpkg", "kml": ".kml", "dxf": ".dxf", "dgn": ".dgn", "geojson": ".geojson", "csv": ".csv",
           "mapinfo": ctx.path.suffix.lower() or ".mif"}[kind]
    if ctx.path.suffix.lower() == ext:
        return ctx.path
    target = ctx.tmp / f"source{ext}"
    try:
        target.symlink_to(ctx.path.resolve())
    except OSError:
        shutil.copyfile(ctx.path, target)
    return target


# ------------------------------------------------------------------------------------------------- zip
def _unzip(ctx: ImportContext) -> tuple[list[Path], Path]:
    """Unpack the archive into `ctx.tmp/zip`: the files written and that folder."""
    try:
        archive = zipfile.ZipFile(ctx.path)
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise ImportRefused("truncated_zip", f"{ctx.name} is a truncated or corrupt zip archive; upload it again",
                            f"Tệp nén {ctx.name} bị cắt ngang hoặc hỏng; hãy tải lên lại") from None
    root = ctx.tmp / "zip"
    try:
        return _extract(ctx, archive, _members(ctx, infos), root), root
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise ImportRefused("truncated_zip", f"{ctx.name} is a truncated or corrupt zip archive ({exc}); "
                            "upload it again", f"Tệp nén {ctx.name} bị cắt ngang hoặc hỏng; hãy tải lên lại") from None
    finally:
        archive.close()


def _members(ctx: ImportContext, infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """The archive's files worth unpacking (no __MACOSX, hidden or backup files), refusing too many bytes."""
    members = [i for i in infos if not _junk_member(i.filename)]
    if not members:
        raise ImportRefused("no_features", f"the zip {ctx.name} is empty", f"Tệp nén {ctx.name} không chứa gì")
    total = sum(i.file_size for i in members)
    if total > ctx.max_bytes:
        raise ImportRefused("too_large", f"{ctx.name} unpacks to {total / 1e6:.1f} MB; the limit is "
                            f"{ctx.max_bytes / 1e6:.0f} MB", f"Tệp nén {ctx.name} giải nén ra "
                            f"{_vn_num(total / 1e6)} MB, vượt giới hạn {_vn_num(ctx.max_bytes / 1e6, 0)} MB",
                            413, {"bytes": total, "max_bytes": ctx.max_bytes})
    return members


def _extract(ctx: ImportContext, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], root: Path) -> list[Path]:
    """Write the members below `root`, skipping paths that climb out of it and counting the bytes really
    written: the sizes an archive declares can lie (a zip bomb)."""
    written = 0
    paths: list[Path] = []
    for info in members:
        parts = [p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p not in ("", ".", "/")]
        if not parts or ".." in parts:
            continue
        target = root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > ctx.max_bytes:
                    raise ImportRefused("too_large", f"{ctx.name} unpacks to more than "
                                        f"{ctx.max_bytes / 1e6:.0f} MB", f"Tệp nén {ctx.name} giải nén "
                                        f"ra hơn {_vn_num(ctx.max_bytes / 1e6, 0)} MB", 413)
                dst.write(chunk)
        paths.append(target)
    return paths


# ------------------------------------------------------------------------------------------------- the dataset
def _pick_dataset(ctx: ImportContext, paths: list[Path], root: Path) -> None:
    """The one dataset among the unpacked files, with what lies beside it; refuse none or several."""
    found = _set_tables_aside(ctx, _datasets(ctx, paths))
    if not found:
        listed = ", ".join(str(p.relative_to(root)) for p in paths[:20])
        raise ImportRefused("no_dataset", f"{ctx.name} holds no dataset planmap can read ({listed}). "
                            f"Supported: {SUPPORTED_EN}", f"Tệp nén {ctx.name} không chứa dữ liệu đọc được "
                            f"({listed}). Các định dạng nhận được: {SUPPORTED_VI}")
    if len(found) > 1:
        listed = ", ".join(str(p.relative_to(root)) for _, p in found)
        raise ImportRefused("several_datasets", f"{ctx.name} holds several datasets ({listed}); send one "
                            "per import", f"Tệp nén {ctx.name} chứa nhiều bộ dữ liệu ({listed}); mỗi lần chỉ "
                            "nhập một bộ", details={"datasets": [str(p.relative_to(root)) for _, p in found]})
    fmt, p = found[0]
    _check_complete(ctx, fmt, p)
    _read_sidecars(ctx, fmt, p)
    ctx.fmt, ctx.dataset = fmt, p


def _datasets(ctx: ImportContext, paths: list[Path]) -> list[tuple[str, Path]]:
    """(format, main file) of every dataset among the files; refuse an archive inside the archive."""
    found: list[tuple[str, Path]] = []
    for p in paths:
        ext = p.suffix.lower()
        if ext in (".zip", ".kmz"):
            raise ImportRefused("nested_zip", f"{ctx.name} holds another archive ({p.name}); unpack it and send "
                                "the data itself", f"Tệp nén {ctx.name} chứa tệp nén khác ({p.name}); hãy giải "
                                "nén và gửi trực tiếp dữ liệu")
        if ext == ".shp":
            found.append(("shapefile", p))
        elif ext == ".tab" or (ext == ".mif" and not _sibling(p, ".tab")):
            found.append(("mapinfo", p))
        elif ext in (".gpkg", ".kml", ".dxf", ".dgn", ".geojson", ".json"):
            found.append((EXT_FORMAT[ext], p))
        elif ext == ".csv":
            found.append(("csv", p))
    return found


def _set_tables_aside(ctx: ImportContext, found: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """CSV tables beside other data are field lists or notes, not datasets; a planmap Shapefile export's
    `<name>_fields.csv` gives the full field names."""
    if len(found) <= 1 or all(f == "csv" for f, _ in found):
        return found
    extra = [p for f, p in found if f == "csv"]
    found = [(f, p) for f, p in found if f != "csv"]
    for p in extra:
        if found[0][0] == "shapefile" and p.name.lower() == f"{found[0][1].stem.lower()}_fields.csv":
            ctx.field_names_csv = p
    ctx.report.note("tables_ignored", f"tables beside the data were not imported as features: "
                    f"{', '.join(p.name for p in extra)}", f"Các bảng đi kèm không được nhập như đối "
                    f"tượng: {', '.join(p.name for p in extra)}")
    return found


def _check_complete(ctx: ImportContext, fmt: str, p: Path) -> None:
    """Refuse a Shapefile or MapInfo table that lacks a file it cannot be read without."""
    need = _NEEDS.get((fmt, p.suffix.lower()))
    if need is None:
        return
    exts, code, label_en, label_vi = need
    missing = [e for e in exts if _sibling(p, e) is None]
    if missing:
        raise ImportRefused(code, f"the {label_en} {p.name} in {ctx.name} lacks {', '.join(missing)}",
                            f"{label_vi} {p.name} trong {ctx.name} thiếu tệp {', '.join(missing)}")


def _read_sidecars(ctx: ImportContext, fmt: str, p: Path) -> None:
    """What the files beside the dataset say about its text encoding and CRS."""
    if fmt == "shapefile":
        cpg = _sibling(p, ".cpg")
        ctx.cpg = cpg.read_bytes().decode("ascii", errors="replace").strip() if cpg else None
    if fmt == "mapinfo":
        head = p.read_bytes()[:4096].decode("latin1")
        m = re.search(r'(?im)^\s*!?charset\s+"?([\w-]+)"?', head)
        ctx.file_charset = m.group(1) if m else None
    if fmt in ("dxf", "dgn", "csv", "geojson"):
        ctx.sidecar_prj = _sibling(p, ".prj")


def _junk_member(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p.startswith("__MACOSX") or p.startswith(".") for p in parts) or name.endswith(("Thumbs.db", "~"))


def _sibling(p: Path, ext: str) -> Path | None:
    """The file beside `p` with the same stem and extension `ext` (in any case)."""
    for q in p.parent.iterdir():
        if q.stem == p.stem and q.suffix.lower() == ext:
            return q
    return None


def _vn_num(x: float, digits: int = 1) -> str:
    """A number the Vietnamese way: 1.234,5."""
    return f"{x:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")

"""The `planmap` command: build the default dataset, list layers, serve the API."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click

from layers.provenance import ACCURACY

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / "data" / "planmap.gpkg"
DEFAULT_CATALOG = REPO / "data" / "catalog.yaml"
DEFAULT_SOURCES = REPO / "data" / "sources"
DEFAULT_DEM = DEFAULT_SOURCES / "dem" / "srtm3_N21E105_tn_clip.tif"
DEFAULT_RULES = REPO / "data" / "rules.yaml"
DEFAULT_INDICATORS = REPO / "data" / "indicators.yaml"

# How often a computing thread hands the GIL over (Python's default: 5 ms) — see `serve`.
GIL_SWITCH_INTERVAL_S = 0.001
# glibc's malloc: buffers up to this size come from the heap and are reused, not mapped fresh from the kernel
# for each response (a 4 MB page of 10,000 features cost ~1,000 page faults per request: 80 instead of 300 req/s).
MALLOC_MMAP_THRESHOLD_BYTES = 64 * 1024 * 1024
# … and freed heap memory above this is given back to the system.
MALLOC_TRIM_THRESHOLD_BYTES = 128 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


def tune_allocator() -> None:
    """Once everything is loaded: give back what loading freed (preparing a million features leaves gigabytes of
    free heap that the workers would inherit), then keep large response buffers in the heap (glibc only;
    elsewhere nothing changes)."""
    from geo.memory import give_back_free_memory, set_allocator_option

    give_back_free_memory()
    set_allocator_option(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_BYTES)
    set_allocator_option(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD_BYTES)


def store_spec() -> str:
    """The writable store: $PLANMAP_STORE (a folder, or a postgresql:// URL), or the git-ignored `store/` folder of
    the checkout."""
    return os.environ.get("PLANMAP_STORE") or str(REPO / "store")


def cache_folder() -> Path:
    """Prepared layers (layers/prepared.py): $PLANMAP_CACHE, or the git-ignored `cache/` folder of the checkout."""
    return Path(os.environ.get("PLANMAP_CACHE") or REPO / "cache")


def _cache(folder: Path | None):
    from layers.prepared import PreparedCache

    if folder is None:
        return None
    try:
        return PreparedCache(folder)
    except OSError as exc:
        raise click.ClickException(f"cannot use the cache folder {folder}: {exc}") from exc


def _store():
    """The store PLANMAP_STORE names; a database store keeps its scratch files in $PLANMAP_SCRATCH, or in the
    checkout's `store/` folder."""
    from layers.stores import SCRATCH_SETTING, open_store

    spec = store_spec()
    try:
        return open_store(spec, os.environ.get(SCRATCH_SETTING) or REPO / "store")
    except Exception as exc:  # noqa: BLE001 - a missing folder or an unreachable database: one clear message
        shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", spec)  # never print a password
        raise click.ClickException(f"cannot open the store {shown}: {exc} / không mở được kho dữ liệu") from exc


def _load(data: Path, catalog: Path, cache=None):
    from geo.errors import PlanmapError
    from layers.dataset import load_dataset

    if not data.exists():
        raise click.ClickException(f"dataset {data} does not exist (build it with `planmap build-data`) / "
                                   f"chưa có tệp dữ liệu {data}")
    try:
        return load_dataset(data, catalog, cache)
    except PlanmapError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes a clear CLI message
        raise click.ClickException(f"cannot read {data}: {exc}") from exc


def _progress(bar) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback driving a click progress bar whose total is learnt on the way."""
    def progress(done: int, total: int) -> None:
        bar.length = total
        bar.update(done - bar.pos)

    return progress


def _data_file(path: Path, default: Path, load, what_en: str, what_vi: str):
    """A data file named by an option, loaded (and so checked) now: the shipped default may be absent (None: that
    part of the service is then off or unknown), any other file must exist."""
    if not path.exists():
        if path == default:
            return None
        raise click.ClickException(f"{what_en} {path} does not exist / không có {what_vi} {path}")
    return load(path)


def _rules(path: Path):
    from layers.rules import load_rules

    return _data_file(path, DEFAULT_RULES, load_rules, "rules file", "tệp quy tắc")


def _indicators(path: Path):
    """The indicators file (the shipped default may be absent: GET /indicators then answers 503)."""
    from layers.indicators import load_indicators

    return _data_file(path, DEFAULT_INDICATORS, load_indicators, "indicators file", "tệp chỉ tiêu")


def _terrain(path: Path):
    """The elevation model of --dem: checked now (a file that is not a DEM stops here); the shipped default may be
    absent (terrain is then unknown)."""
    from layers.terrain import open_dem

    return _data_file(path, DEFAULT_DEM, open_dem, "elevation model", "tệp mô hình độ cao")


def _date(value: str | None, name: str):
    """A YYYY-MM-DD option (strptime would also take 2025-1-1), refused in both languages otherwise."""
    from geo.errors import PlanmapError
    from layers.query import parse_date

    try:
        return parse_date(value, name) if value is not None else None
    except PlanmapError as exc:
        raise click.BadParameter(exc.message()) from None


class PlanmapGroup(click.Group):
    """Every refusal of the domain (a PlanmapError) is printed in English and Vietnamese, exit status 1."""

    def invoke(self, ctx: click.Context):
        from geo.errors import PlanmapError

        try:
            return super().invoke(ctx)
        except PlanmapError as exc:
            raise click.ClickException(exc.message()) from exc


@click.group(cls=PlanmapGroup,
             help="planmap — bản đồ quy hoạch ngành Công Thương tỉnh Thái Nguyên / Thái Nguyên planning map service")
def main() -> None:
    pass


@main.command("build-data", help="Build the default dataset from data/sources into a GeoPackage.")
@click.option("--sources", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_SOURCES,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
def build_data(sources: Path, out: Path) -> None:
    from layers.build_dataset import build

    counts = build(sources, out)
    for name, count in counts.items():
        click.echo(f"{name:24s} {count:7d}")
    click.echo(f"→ {out}")


@main.command("check", help="Check a file of proposals (GeoPackage, Shapefile, GeoJSON, CSV) against the rules; "
                            "writes OUT.gpkg and OUT.csv.")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Output path without extension (default: FILE's name + '-checked').")
@click.option("--crs", default=None, help="CRS of the input when the file does not say (e.g. EPSG:9213).")
@click.option("--as-of", "as_of", default=None, callback=lambda _ctx, _param, value: _date(value, "--as-of"),
              help="Apply the rules in force on this date, YYYY-MM-DD (default: today).")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
@click.option("--rules", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_RULES)
@click.option("--dem", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DEM, show_default=True,
              help="Elevation model (GeoTIFF, any CRS) the terrain rule measures slopes on; outside it terrain is "
                   "unknown.")
def check(file: Path, out: Path | None, crs: str | None, as_of, data: Path, catalog: Path, rules: Path,
          dem: Path) -> None:
    from layers.batch import check_file

    rulebook = _rules(rules)
    if rulebook is None:
        raise click.ClickException(f"no rules file at {rules}")
    terrain = _terrain(dem)
    dataset = _load(data, catalog)
    out = out or file.with_name(file.stem + "-checked")
    with click.progressbar(length=1, label="Kiểm tra / checking", file=sys.stderr) as bar:
        summary = check_file(file, out, dataset, rulebook, crs=crs, as_of=as_of,
                             progress=_progress(bar), terrain=terrain)
    click.echo(" ".join(f"{k}: {v}" for k, v in summary["verdicts"].items()))
    click.echo(f"→ {summary['gpkg']}\n→ {summary['csv']}")


SUGGEST_FORMATS = {".gpkg": "gpkg", ".kml": "kml", ".geojson": "geojson", ".json": "geojson", ".csv": "csv",
                   ".dxf": "dxf", ".fgb": "fgb", ".zip": "shp", ".shp": "shp"}


@main.command("suggest", help="Suggest sites for a proposal kind in an area (commune, district, polygon or road "
                              "corridor), ranked by preferences, each checked against the rules; writes them with "
                              "-o (gpkg, kml, geojson, csv, dxf, fgb, shp/zip). / Gợi ý vị trí.")
@click.option("--kind", required=True, help="fuel_station | lpg_station | industrial_cluster | industrial_park | "
                                            "factory")
@click.option("--commune", default=None, help="A 2025 commune (name or code).")
@click.option("--district", default=None, help="A pre-2025 district (name or code).")
@click.option("--area", "area_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A GeoJSON file whose (first) polygon is the search area (CRS84).")
@click.option("--road", default=None, help="A road of layer roads by ref or name, e.g. QL3 or 'Quốc lộ 3'.")
@click.option("--corridor", type=float, default=None, help="Metres each side of --road (default 500).")
@click.option("--k", type=int, default=5, show_default=True, help="Candidates wanted (1–20).")
@click.option("--prefer", default=None, metavar="NAME=WEIGHT,…",
              help="near_road, far_from_stations, flat, in_cluster_plan (default near_road=1).")
@click.option("--area-ha", "area_ha", type=float, default=None, help="Site area for clusters, parks, factories.")
@click.option("--min-spacing", "min_spacing", type=float, default=None, help="Metres between candidates.")
@click.option("--cell", type=float, default=100.0, show_default=True, help="Grid cell in metres.")
@click.option("--strict", is_flag=True, help="No candidates while a rule cannot be assessed.")
@click.option("--as-of", "as_of", default=None, callback=lambda _ctx, _param, value: _date(value, "--as-of"),
              help="Rules and data in force on this date, YYYY-MM-DD (default: today).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--dem", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DEM, show_default=True,
              help="Elevation model for the `flat` preference.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the candidates here (format by extension).")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
@click.option("--rules", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_RULES)
def suggest_cmd(kind, commune, district, area_file, road, corridor, k, prefer, area_ha, min_spacing, cell, strict,
                as_of, lang, dem, out, data, catalog, rules) -> None:
    from pydantic import ValidationError

    from geo.terrain import Terrain
    from layers.checks import CheckEngine
    from layers.exports import write_to
    from layers.suggestions import SuggestionRequest, export_candidates, suggest

    fmt = None
    if out is not None:
        fmt = SUGGEST_FORMATS.get(out.suffix.lower())
        if fmt is None:
            raise click.BadParameter(f"use one of {', '.join(SUGGEST_FORMATS)} / đuôi tệp không hỗ trợ",
                                     param_hint="-o")
    area: dict = {}
    for name, value in (("commune", commune), ("district", district), ("road", road)):
        if value is not None:
            area[name] = value
    if corridor is not None:
        area["corridor_m"] = corridor
    if area_file is not None:
        area["polygon"] = _polygon_of(area_file)
    body = {"kind": kind, "k": k, "cell_m": cell, "strict": strict, "lang": lang,
            "preferences": _preferences(prefer), **({"area": area} if area else {}),
            **({"area_ha": area_ha} if area_ha is not None else {}),
            **({"min_spacing_m": min_spacing} if min_spacing is not None else {}),
            **({"as_of": as_of.isoformat()} if as_of else {})}
    try:
        request = SuggestionRequest.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(f"{problems} / yêu cầu không hợp lệ") from None
    rulebook = _rules(rules)
    if rulebook is None:
        raise click.ClickException(f"no rules file at {rules}")
    terrain = Terrain.open(dem) if dem is not None and dem.exists() else None
    answer = suggest(CheckEngine(_load(data, catalog), rulebook, terrain), request)
    click.echo(f"{answer['kind_label']} — {answer['area'].get('name') or answer['area']['type']} — "
               f"{answer['cells']['feasible']:,}/{answer['cells']['in_area']:,} ô đạt / cells feasible — "
               f"{answer['timings']['total']:.2f} s")
    click.echo(f"{'#':>3} {'điểm/score':>10} {'kết luận/verdict':>16} {'lon':>11} {'lat':>10}  xã/commune")
    for c in answer["candidates"]:
        commune_name = (c["report"]["context"].get("commune") or {}).get("name") or ""
        click.echo(f"{c['rank']:>3} {c['score']:>10.3f} {c['verdict']:>16} {c['centre'][0]:>11.5f} "
                   f"{c['centre'][1]:>10.5f}  {commune_name}")
    for u in answer["unassessed_rules"]:
        click.echo(f"  ! {u['rule']}: {u['reason']} — {u['verify']}")
    click.echo(answer["note"])
    if out is not None:
        if not answer["candidates"]:
            raise click.ClickException("no candidate: nothing written / không có vị trí nào: không ghi tệp")
        export = export_candidates(answer, fmt)
        written = write_to(export, out if export.filename.endswith(out.suffix) else out.with_suffix(".zip"))
        click.echo(f"→ {written}")


def _preferences(text: str | None) -> dict[str, float]:
    """`near_road=2,far_from_stations=1` → weights (refused with a message when unreadable)."""
    if not text:
        return {}
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        try:
            out[name.strip()] = float(weight)
        except ValueError:
            raise click.BadParameter(f"{part!r} is not NAME=WEIGHT / phải có dạng TÊN=TRỌNG_SỐ",
                                     param_hint="--prefer") from None
    return out


def _polygon_of(path: Path) -> dict:
    """The search polygon of a GeoJSON file: a geometry, a Feature, or a FeatureCollection's first feature."""
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc} / không đọc được tệp", param_hint="--area") from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        doc = (doc.get("features") or [None])[0]
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict):
        raise click.BadParameter(f"{path} holds no polygon / tệp không có vùng", param_hint="--area")
    return doc


@main.group("export", help="Export data files or print-ready maps.")
def export() -> None:
    pass


@export.command("data", help="Write collections to a file: gpkg, shp (zip), kml, geojson, csv, dxf, fgb.")
@click.argument("collections")
@click.option("--format", "fmt", required=True, help="gpkg | shp | kml | geojson | csv | dxf | fgb")
@click.option("--crs", default="EPSG:4326", show_default=True, help="EPSG:4326 (WGS84), EPSG:9213 or EPSG:3405")
@click.option("--bbox", default=None, help="minx,miny,maxx,maxy (in --bbox-crs, default CRS84)")
@click.option("--bbox-crs", default=None)
@click.option("--where", multiple=True, metavar="FIELD=VALUE", help="Property filter; repeatable.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Output file (default: the export's own name in the current folder).")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def export_data_cmd(collections: str, fmt: str, crs: str, bbox: str | None, bbox_crs: str | None, where: tuple,
                    out: Path | None, data: Path, catalog: Path) -> None:
    from geo.crs import parse_crs
    from layers.exports import export_data, write_to
    from layers.query import FeatureQuery

    dataset = _load(data, catalog)
    try:
        box = tuple(float(v) for v in bbox.split(",")) if bbox else None
        if box is not None and len(box) != 4:
            raise ValueError
        filters = dict(w.split("=", 1) for w in where)
    except ValueError:
        raise click.ClickException("--bbox needs 4 numbers and --where needs FIELD=VALUE") from None
    query = FeatureQuery(bbox=box, bbox_crs=parse_crs(bbox_crs), filters=filters)
    ids = [c.strip() for c in collections.split(",") if c.strip()]
    with click.progressbar(length=len(ids), label="Xuất dữ liệu / exporting", file=sys.stderr) as bar:
        result = export_data(dataset, ids, fmt, parse_crs(crs), query,
                             progress=lambda done, total: bar.update(done - bar.pos))
    target = write_to(result, out or Path.cwd() / result.filename)
    click.echo(" ".join(f"{k}: {v}" for k, v in result.counts.items()))
    click.echo(f"→ {target}")


@export.command("map", help="Render a print-ready map (PDF or PNG).")
@click.option("--preset", default="cluster-plan-2030", show_default=True)
@click.option("--size", default=None, type=click.Choice(["A4", "A3", "A1"]), help="Default: the preset's paper.")
@click.option("--orientation", default=None, type=click.Choice(["landscape", "portrait"]))
@click.option("--dpi", default=200, show_default=True, type=int)
@click.option("--collections", default=None, help="id[,id…] instead of the preset's layers")
@click.option("--bbox", default=None, help="minx,miny,maxx,maxy (CRS84 unless --bbox-crs)")
@click.option("--bbox-crs", default="OGC:CRS84")
@click.option("--title", default=None)
@click.option("--lang", default="vi", type=click.Choice(["vi", "en"]))
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Output file; .pdf or .png")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def export_map_cmd(preset, size, orientation, dpi, collections, bbox, bbox_crs, title, lang, out: Path, data, catalog):
    from web.printmap import render_map

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "png"):
        raise click.ClickException("--out must end in .pdf or .png")
    dataset = _load(data, catalog)
    try:
        box = tuple(float(v) for v in bbox.split(",")) if bbox else None
    except ValueError:
        raise click.ClickException("--bbox needs 4 numbers") from None
    ids = [c.strip() for c in collections.split(",")] if collections else None
    with click.progressbar(length=1, label="Vẽ bản đồ / rendering", file=sys.stderr) as bar:
        body = render_map(dataset, preset=preset, collections=ids, bbox=box, bbox_crs=bbox_crs, size=size,
                          orientation=orientation, fmt=fmt, dpi=dpi, title=title, lang=lang, progress=_progress(bar))
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_bytes(body)
    tmp.replace(out)
    click.echo(f"→ {out}")


@export.command("qgis-project", help="Write a QGIS project (.qgz) that opens every public layer from a planmap server "
                                     "over OGC API – Features, in VN-2000, grouped and styled as on the web map.")
@click.option("--url", required=True, help="The planmap server's address as QGIS will reach it, e.g. "
                                           "http://10.0.0.5:8000")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Output file (.qgz)")
@click.option("--lang", default="vi", type=click.Choice(["vi", "en"]), help="Language of layer and group names.")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def export_qgis_project_cmd(url: str, out: Path, lang: str, data: Path, catalog: Path) -> None:
    from api.routers.map import home_bounds
    from layers.access import ANONYMOUS
    from layers.workspace import Workspace
    from web.qgis_project import qgz, save, server_url

    if out.suffix.lower() != ".qgz":
        raise click.ClickException("--out must end in .qgz / tệp ra phải có đuôi .qgz")
    if not out.parent.is_dir():
        raise click.ClickException(f"folder {out.parent} does not exist / không có thư mục {out.parent}")
    base = server_url(url)
    cache = _cache(cache_folder())
    # the layers this installation serves to anyone (its data with the store's revisions, internal ones left out)
    public = Workspace(_load(data, catalog, cache), _store(), cache=cache).view(ANONYMOUS)
    save(qgz(base, public, home_bounds(public), lang), out)
    click.echo(f"{len(public.layers)} layers from {base} → {out}")


@main.command("report", help="The yearly plan supervision report (A4 PDF, Vietnamese): the indicators at 31/12 of "
                             "--year (this year: today) against the plans' targets and 31/12 of the year before, "
                             "by commune and district, with charts, the plan maps, sources and the traceability "
                             "appendix; --xlsx writes its tables for spreadsheets.")
@click.option("--year", required=True, type=int, help="The year reported, from the plans' first year to this year.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The PDF (default: bao-cao-giam-sat-quy-hoach-YEAR.pdf in this folder).")
@click.option("--xlsx", "xlsx_out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the tables here (.xlsx).")
@click.option("--lang", default="vi", type=click.Choice(["vi", "en"]))
@click.option("--indicators", "indicators_path", type=click.Path(path_type=Path, dir_okay=False),
              default=DEFAULT_INDICATORS, show_default=True)
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def report_cmd(year: int, out: Path | None, xlsx_out: Path | None, lang: str, indicators_path: Path, data: Path,
               catalog: Path) -> None:
    import datetime as dt

    from layers.history import dataset_on, province_today
    from layers.workspace import Workspace
    from layers.yearly import report_dates, yearly_report
    from web.yearly import plan_maps, yearly_pdf, yearly_xlsx

    out = out or Path(f"bao-cao-giam-sat-quy-hoach-{year}.pdf")
    if out.suffix.lower() != ".pdf":
        raise click.ClickException("--out must end in .pdf / tệp báo cáo phải có đuôi .pdf")
    if xlsx_out is not None and xlsx_out.suffix.lower() != ".xlsx":
        raise click.ClickException("--xlsx must end in .xlsx / tệp bảng phải có đuôi .xlsx")
    for target in (out, xlsx_out):
        if target is not None and not target.parent.is_dir():
            raise click.ClickException(f"folder {target.parent} does not exist / không có thư mục {target.parent}")
    today = province_today()
    report_dates(year, today)  # a year out of range stops here, before the data is loaded
    book = _indicators(indicators_path)
    if book is None:
        raise click.ClickException(f"no indicators file at {indicators_path} / không có tệp chỉ tiêu")
    cache = _cache(cache_folder())
    ws = Workspace(_load(data, catalog, cache), _store(), cache=cache)
    report = yearly_report(ws, book, year, today=today, book_name=indicators_path.name)
    click.echo(f"{'Năm' if lang == 'vi' else 'Year'} {year}: {report['date']} / {report['since']}, "
               f"{len(report['communes']['indicators'])} indicators")
    files = []
    if xlsx_out is not None:
        files.append((xlsx_out, yearly_xlsx(report)))
    with click.progressbar(length=1, label="Lập báo cáo / rendering", file=sys.stderr) as bar:
        maps = plan_maps(dataset_on(ws, dt.date.fromisoformat(report["date"])).dataset, lang, today=today)
        files.insert(0, (out, yearly_pdf(report, maps, lang, progress=_progress(bar))))
    for target, body in files:
        tmp = target.with_name(f".{target.name}.part")  # nothing half-written under the asked name
        tmp.write_bytes(body)
        tmp.replace(target)
        click.echo(f"→ {target}")


@main.command("coverage", help="Network coverage: straight-line distance from every place in the province to the "
                               "nearest fuel or LPG station, and who is beyond --distance, before and after the "
                               "planned stations (the stored revisions of the layers count).")
@click.option("--network", default="fuel", show_default=True, type=click.Choice(["fuel", "lpg"]))
@click.option("--distance", "distance_m", default=3000.0, show_default=True, type=float,
              help="The distance D in metres (500–50,000).")
@click.option("--cell", "cell_m", default=100.0, show_default=True, type=float, help="Grid cell size in metres.")
@click.option("--as-of", "as_of", default=None, callback=lambda _ctx, _param, value: _date(value, "--as-of"),
              help="Stations and boundaries in force on this date, YYYY-MM-DD (default: today).")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the per-commune and per-district table here (.csv).")
@click.option("--raster", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the distance raster here (GeoTIFF, VN-2000; see --state).")
@click.option("--state", default="before", show_default=True, type=click.Choice(["before", "after"]),
              help="The raster's stations: existing (before) or existing and planned (after).")
@click.option("--lang", default="vi", type=click.Choice(["vi", "en"]))
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def coverage_cmd(network: str, distance_m: float, cell_m: float, as_of, out: Path | None, raster: Path | None,
                 state: str, lang: str, data: Path, catalog: Path) -> None:
    from layers.access import ANONYMOUS
    from layers.coverage import coverage
    from layers.workspace import Workspace

    for target in (out, raster):
        if target is not None and not target.parent.is_dir():
            raise click.ClickException(f"folder {target.parent} does not exist / không có thư mục {target.parent}")
    cache = _cache(cache_folder())
    dataset = Workspace(_load(data, catalog, cache), _store(), cache=cache).view(ANONYMOUS)
    result = coverage(dataset, network, distance_m, cell_m, as_of)
    s = result.summary
    click.echo(f"{result.network.label[lang]}, D = {distance_m:g} m (đường chim bay / straight-line), "
               f"{result.grid.cell:g} m cells, as of {result.day.isoformat()}")
    for name in ("before", "after"):
        b = s[name]
        pop = "?" if b["population_beyond"] is None else f"{b['population_beyond']:,}"
        click.echo(f"{name:6s}: {result.stations[name]['count']} stations; beyond D: {b['area_beyond_km2']:,} km² "
                   f"({b['share_beyond']:.1%}), ≈ {pop} people; communes entirely beyond: "
                   f"{len(b['communes_entirely_beyond'])}, mostly: {len(b['communes_mostly_beyond'])}")
    if s["communes_population_unknown"]:
        click.echo(f"population unknown in {len(s['communes_population_unknown'])} communes (not counted): "
                   + ", ".join(s["communes_population_unknown"]))
    click.echo(result.notes["indicative"][lang])
    click.echo(result.notes["after"][lang])
    for target, body in ((out, result.csv() if out else None), (raster, result.geotiff(state) if raster else None)):
        if target is not None:
            tmp = target.with_name(f".{target.name}.part")  # nothing half-written under the asked name
            tmp.write_bytes(body)
            tmp.replace(target)
            click.echo(f"→ {target}")


@main.command("indicators", help="The plans' indicators against their targets, from the layers as they were at the "
                                 "end of --date (the store's revisions count), by province, 2025 commune or "
                                 "pre-2025 district, with the change since --since.")
@click.option("--date", "day", default=None, callback=lambda _ctx, _param, value: _date(value, "--date"),
              help="YYYY-MM-DD (default: today).")
@click.option("--since", default=None, callback=lambda _ctx, _param, value: _date(value, "--since"),
              help="Compare with the end of this day, YYYY-MM-DD.")
@click.option("--by", default="province", show_default=True, type=click.Choice(["province", "commune", "district"]))
@click.option("--plan", default=None, help="One plan only (its id in the indicators file).")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the table here (.csv; with --by, a row per unit too).")
@click.option("--lang", default="vi", type=click.Choice(["vi", "en"]))
@click.option("--indicators", "indicators_path", type=click.Path(path_type=Path, dir_okay=False),
              default=DEFAULT_INDICATORS, show_default=True)
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def indicators_cmd(day, since, by: str, plan: str | None, out: Path | None, lang: str, indicators_path: Path,
                   data: Path, catalog: Path) -> None:
    from layers.history import province_today
    from layers.indicators import compute, to_csv
    from layers.workspace import Workspace

    if out is not None and not out.parent.is_dir():
        raise click.ClickException(f"folder {out.parent} does not exist / không có thư mục {out.parent}")
    book = _indicators(indicators_path)
    if book is None:
        raise click.ClickException(f"no indicators file at {indicators_path} / không có tệp chỉ tiêu")
    cache = _cache(cache_folder())
    ws = Workspace(_load(data, catalog, cache), _store(), cache=cache)
    doc = compute(ws, book, day or province_today(), by=by, since=since, lang=lang, plan=plan)
    _print_indicators(doc, lang)
    if out is not None:
        tmp = out.with_name(f".{out.name}.part")  # nothing half-written under the asked name
        tmp.write_bytes(to_csv(doc))
        tmp.replace(out)
        click.echo(f"→ {out}")


def _print_indicators(doc: dict, lang: str) -> None:
    """The province's figures as a table, one line per indicator; a note under each illustrative figure."""
    def fmt(value) -> str:
        return "—" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".")

    click.echo(f"{'Ngày' if lang == 'vi' else 'Date'} {doc['date']}"
               + (f" ({'so với' if lang == 'vi' else 'since'} {doc['since']})" if doc["since"] else ""))
    header = ("chỉ tiêu / indicator", "giá trị", "trước", "thay đổi", "mục tiêu", "tiến độ", "độ chính xác")
    click.echo(f"{header[0]:42s} {header[1]:>10s} {header[2]:>10s} {header[3]:>9s} {header[4]:>9s} "
               f"{header[5]:>7s}  {header[6]}")
    for ind in doc["indicators"]:
        progress = "—" if ind["progress"] is None else f"{ind['progress']:.0%}"
        target = "—" if ind["target"] is None else f"{fmt(ind['target'])} ({ind['target_year']})"
        click.echo(f"{ind['id']:42s} {fmt(ind['value']):>10s} {fmt(ind['value_since']):>10s} "
                   f"{fmt(ind['change']):>9s} {target:>9s} {progress:>7s}  {ind['accuracy'] or '—'}"
                   + (f" [{ind['target_confidence']}]" if ind["target_confidence"] else ""))
        if ind["honesty_note"]:
            click.echo(f"    ⚠ {ind['honesty_note'][lang]}")
    if doc["units"]:
        click.echo(doc["units"]["note"][lang] + f" — {doc['units']['count']} ({doc['units']['layer']}, "
                   f"{doc['units']['day']}); -o FILE.csv")


@main.command("import", help="Import a planner's file (zip SHP/TAB, GPKG, KML, DXF, DGN, GeoJSON, CSV) as a new "
                             "revision of a layer.")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--layer", "layer_id", required=True, help="Collection id (a new id creates an internal layer).")
@click.option("--crs", default=None, help="Declare the CRS when the file lacks one (e.g. EPSG:9213).")
@click.option("--encoding", default=None, help="utf-8 | cp1258 | tcvn3 | vni, for old Shapefiles.")
@click.option("--append", is_flag=True, help="Add to the layer instead of replacing its features.")
@click.option("--accuracy", default=None, type=click.Choice(ACCURACY))
@click.option("--author", default=lambda: os.environ.get("USER", "cli"), show_default="$USER")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def import_cmd(file: Path, layer_id: str, crs, encoding, append: bool, accuracy, author: str, data: Path,
               catalog: Path) -> None:
    import json

    from layers.importing import ImportRefused
    from layers.imports import import_file
    from layers.workspace import Workspace

    if not file.exists():
        raise click.ClickException(f"{file} does not exist / không có tệp {file}")
    cache = _cache(cache_folder())
    ws = Workspace(_load(data, catalog, cache), _store(), cache=cache)
    try:
        doc = import_file(ws, layer_id, file, file.name, author, crs=crs, encoding=encoding, append=append,
                          accuracy=accuracy)
    except ImportRefused as exc:
        _print_import_report(exc.details.get("report") or {})
        raise
    report = doc["report"]
    _print_import_report(report)
    rev = doc["revision"]
    click.echo(f"revision {rev['id']} of {layer_id}: {rev['feature_count']} features "
               f"(+{rev['added']} ~{rev['changed']} -{rev['removed']})")
    click.echo(json.dumps({k: report.get(k) for k in ("features_read", "features_imported", "features_rejected",
                                                       "crs", "crs_source", "encoding")}, ensure_ascii=False))


def _print_import_report(report: dict) -> None:
    """Every problem and note of an import, one line each, on stderr."""
    for problem in report.get("problems", []):
        msg = problem.get("message", {})
        click.echo(f"  #{problem.get('feature')}: {problem.get('severity')} {problem.get('code')} — "
                   f"{msg.get('vi', '')} / {msg.get('en', '')}", err=True)
    for note in report.get("notes", []):
        click.echo(f"  note: {note.get('vi', note)} / {note.get('en', '')}", err=True)


@main.command("history", help="The revisions of a layer.")
@click.argument("layer_id")
def history_cmd(layer_id: str) -> None:
    revisions = _store().history(layer_id)
    if not revisions:
        click.echo(f"{layer_id}: no revisions (the shipped data)")
    for r in revisions:
        click.echo(f"{r.id:6d}  {r.created}  {r.author:12s} {r.action:9s} {r.feature_count:7d} "
                   f"+{r.added} ~{r.changed} -{r.removed}  {r.source_file or ''}")


@main.command("rollback", help="Make an earlier revision of a layer current again (as a new revision).")
@click.argument("layer_id")
@click.argument("revision", type=int)
@click.option("--author", default=lambda: os.environ.get("USER", "cli"))
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def rollback_cmd(layer_id: str, revision: int, author: str, data: Path, catalog: Path) -> None:
    from layers.workspace import Workspace

    cache = _cache(cache_folder())
    new = Workspace(_load(data, catalog, cache), _store(), cache=cache).rollback(layer_id, revision, author)
    click.echo(f"revision {new.id}: {layer_id} is back to revision {revision} ({new.feature_count} features)")


@main.group("rules", help="The rules file: its worked examples.")
def rules_group() -> None:
    pass


@rules_group.command("examples", help="Evaluate every worked example of the rules file; lists the ones whose answer "
                                      "differs from what they expect (exit 1), e.g. after a threshold was changed.")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_RULES,
              show_default=True)
def rules_examples(rules_path: Path) -> None:
    from layers.rule_examples import run_all

    results = run_all(_rules(rules_path) or _missing_rules(rules_path))
    for r in results:
        got = f"{r.status}" + (f" {r.measured:g}" if r.measured is not None else "")
        want = f"{r.expected}" + (f" {r.expected_measured:g}" if r.expected_measured is not None else "")
        click.echo(f"{'OK ' if r.ok else 'CHANGED'}  {r.rule:40s} {r.example}: expected {want}, got {got}")
    bad = [r for r in results if not r.ok]
    click.echo(f"{len(results) - len(bad)} of {len(results)} examples give what they expect")
    if bad:
        raise click.ClickException(f"{len(bad)} example(s) differ / {len(bad)} ví dụ cho kết quả khác")


def _missing_rules(path: Path):
    raise click.ClickException(f"no rules file at {path}")


@main.group("users", help="User accounts and their tokens.")
def users() -> None:
    pass


_DAYS_HELP = "Days the token lasts (default: $PLANMAP_TOKEN_DAYS, else 90; at most 730)."


@users.command("add", help="Create a user; prints their token once (it expires, see --days).")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "planner", "admin"]))
@click.option("--days", type=int, default=None, help=_DAYS_HELP)
def users_add(name: str, role: str, days: int | None) -> None:
    from layers.accounts import add_user

    made = add_user(_store(), name, role, os.environ.get("USER", "cli"), days)
    click.echo(f"token expires {made['expires']} / mã hết hạn {made['expires']}", err=True)
    click.echo(made["token"])


@users.command("token", help="Issue a new token for a user (printed once); the old one stops working.")
@click.argument("name")
@click.option("--days", type=int, default=None, help=_DAYS_HELP)
def users_token(name: str, days: int | None) -> None:
    from layers.accounts import issue_token

    issued = issue_token(_store(), name, days)
    click.echo(f"token expires {issued['expires']} / mã hết hạn {issued['expires']}", err=True)
    click.echo(issued["token"])


@users.command("disable", help="Disable a user: every request with their token is refused until enabled.")
@click.argument("name")
def users_disable(name: str) -> None:
    from layers.accounts import set_enabled

    set_enabled(_store(), name, False)
    click.echo(f"{name}: disabled / đã khóa")


@users.command("enable", help="Enable a disabled user again (their token works if it has not expired).")
@click.argument("name")
def users_enable(name: str) -> None:
    from layers.accounts import set_enabled

    set_enabled(_store(), name, True)
    click.echo(f"{name}: enabled / đã mở lại")


@users.command("list", help="List users (never their tokens), with when each token expires.")
def users_list() -> None:
    from layers.accounts import list_users

    for u in list_users(_store()):
        state = "disabled" if u["disabled"] else "expired" if u["expired"] else "active"
        click.echo(f"{u['name']:20s} {u['role']:8s} {state:8s} expires {u['expires']}  created {u['created']}")


@main.command("layers", help="List each layer with feature count, geometry type and accuracy mix.")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG)
def list_layers(data: Path, catalog: Path) -> None:
    dataset = _load(data, catalog)
    click.echo(f"{'id':22s} {'features':>8s}  {'geometry':16s} accuracy")
    for layer in dataset:
        mix = ", ".join(f"{k} {v}" for k, v in layer.accuracy_mix().items()) or "—"
        click.echo(f"{layer.id:22s} {len(layer):8d}  {layer.geometry_type:16s} {mix}")


@main.command("serve", help="Serve the layers (OGC API – Features, map) over HTTP.")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DATA, show_default=True,
              help="GeoPackage whose layers are served (each layer becomes a collection).")
@click.option("--catalog", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CATALOG,
              help="Catalog YAML describing the layers.")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="$HOST or 127.0.0.1")
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "8000")), show_default="$PORT or 8000")
@click.option("--rules", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_RULES,
              help="Rules file for the compliance checks.")
@click.option("--indicators", "indicators_path", type=click.Path(path_type=Path, dir_okay=False),
              default=DEFAULT_INDICATORS, help="Indicators file for GET /indicators (data/indicators.yaml).")
@click.option("--log-level", default="warning", show_default=True)
@click.option("--dem", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DEM, show_default=True,
              help="Elevation model (GeoTIFF, any CRS): the map's relief shading, the terrain layer (GET /terrain) "
                   "and the slopes checks measure; a planner's upload (PUT /terrain/dem) replaces it.")
@click.option("--osm-tiles", default=None, metavar="URL",
              help="Offer an online tile layer (e.g. OpenStreetMap's URL template) as an optional map background; "
                   "off by default so the map makes no request to another host.")
@click.option("--basemap", "basemap_specs", multiple=True, metavar="FILE[#title=…][#attribution=…][#id=…]",
              help="An office's own background the map can switch to (repeatable): an MBTiles or PMTiles file "
                   "(raster or vector tiles) or a GeoTIFF in any CRS, e.g. a scanned 1:50,000 sheet in VN-2000. "
                   "`#title=…`, `#attribution=…` and `#id=…` replace what the file says. Served by planmap "
                   "itself: nothing is uploaded anywhere.")
@click.option("--workers", type=click.IntRange(min=1), default=lambda: _workers_default(),
              show_default="$WORKERS or one per core",
              help="Processes serving requests, forked from one that loads the layers once (1: a single process).")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path, file_okay=False), default=cache_folder,
              show_default="$PLANMAP_CACHE or ./cache",
              help="Folder of prepared layers (encoded once, memory-mapped at every start and shared by workers).")
@click.option("--no-cache", is_flag=True, help="Prepare every layer in memory at each start (nothing written).")
def serve(data: Path, catalog: Path, host: str, port: int, rules: Path, log_level: str, dem: Path,
          osm_tiles: str | None, basemap_specs: tuple[str, ...], workers: int, cache_dir: Path,
          no_cache: bool, indicators_path: Path) -> None:
    from api.app import create_app
    from api.server import listening_socket
    from api.server import serve as run_server
    from geo.basemaps import open_basemaps

    basemaps = open_basemaps(basemap_specs)  # before the layers load: a file that cannot be served stops here
    _terrain(dem)  # so does an elevation model that is not one
    indicator_book = _indicators(indicators_path)  # and an indicators file with a bad entry
    cache = None if no_cache else _cache(cache_dir)
    dataset = _load(data, catalog, cache)
    rulebook = _rules(rules)
    # Light reads hand the GIL back and forth at every socket and thread hop; with Python's default 5 ms switch
    # interval each hop may wait that long behind a thread that computes (an import, an edit, a check).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    store = _store()
    app = create_app(dataset, rulebook, dem_path=dem if dem.exists() else None, osm_tiles=osm_tiles, store=store,
                     admin_token=os.environ.get("PLANMAP_ADMIN_TOKEN"), cache=cache, basemaps=basemaps,
                     indicators=indicator_book)
    tune_allocator()
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc} / không mở được cổng {host}:{port}") \
            from exc
    click.echo(f"planmap: {len(dataset.layers)} layers from {data} → http://{host}:{port}/ "
               f"({workers} worker{'s' if workers > 1 else ''})", err=True)
    for b in basemaps:
        click.echo(f"  base map / nền bản đồ {b.id}: {b.title} ({b.kind} {b.format}, zoom {b.minzoom}–{b.maxzoom})",
                   err=True)
        if b.kind == "vector" and not b.vector_layers:
            click.echo(f"  warning: {b.id} names no layers (`vector_layers` in its metadata): the map cannot draw it / "
                       f"cảnh báo: {b.id} không nêu tên lớp (`vector_layers`): bản đồ không vẽ được", err=True)
    sys.exit(run_server(app, sock, workers, log_level, before_fork=store.close))


def _workers_default() -> int:
    """$WORKERS (as `WORKERS=N make run` sets it), else one worker per core."""
    from api.server import default_workers

    value = os.environ.get("WORKERS", "").strip()
    if not value:
        return default_workers()
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"WORKERS={value!r} is not a number of processes (1 or more) / "
                                 f"WORKERS phải là số tiến trình (từ 1 trở lên)", param_hint="WORKERS")
    return int(value)


if __name__ == "__main__":
    sys.exit(main())

"""Background maps from an office's own files — MBTiles, PMTiles (v3) and GeoTIFF — served as XYZ tiles.

Each file is opened once to read what it is (format, title, attribution, bounds, zoom range) and refused with a
clear message when it cannot be served; tiles are then read on demand with handles of each serving process and
thread (a SQLite connection or a GDAL dataset is not shared between threads, and a forked worker must not reuse
its parent's).  Tiles are numbered XYZ in Web Mercator: y counts down from the north (MBTiles store TMS rows,
counted up from the south, and are flipped here).

A GeoTIFF in any CRS (e.g. a scanned 1:50,000 sheet in VN-2000) is reprojected and tiled on the fly: each tile is
warped from the file's overview closest to the tile's resolution, transparent outside the sheet, and kept in a
cache bounded in bytes.  Nothing here knows of plans.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import sqlite3
import threading
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from geo.bytecache import ByteCache
from geo.errors import BadRequest, Unprocessable

WEB_MERCATOR = "EPSG:3857"
TILE_PIXELS = 256  # a rendered GeoTIFF tile: the XYZ convention of Leaflet, QGIS and GDAL
MAX_ZOOM = 24  # ~1 cm per pixel: no background goes further, and tile numbers beyond it are refused at once
HALF_WORLD_M = 20037508.342789244  # half the width of Web Mercator's world in metres (π × 6378137)
EARTH_RADIUS_M = 6378137.0  # the sphere of Web Mercator
MAX_LATITUDE = 85.0511287798  # where Web Mercator's square world ends
# A GeoTIFF is served from this many zoom levels below its own resolution (or that of its coarsest overview):
# a tile then warps at most (2^2)² = 16 source pixels per tile pixel, a 1024² read at worst.
ZOOMS_BELOW_SOURCE = 2
PNG_COMPRESSION = 6  # zlib's default: a 256-pixel tile in a few ms, a third the size of level 1 on scans
RENDER_CACHE_BYTES = 64 * 1024 * 1024  # rendered GeoTIFF tiles kept per serving process (~2,000 tiles of a scan)
BOUNDS_DENSIFY_POINTS = 21  # points per edge when a sheet's outline is reprojected (its edges curve)
ID_LENGTH = 40  # a base map's id in URLs: short, from the file's name
OVERRIDES = ("id", "title", "attribution")  # what `FILE#key=value` may set (see BasemapSpec.parse)

MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "avif": "image/avif",
               "pbf": "application/vnd.mapbox-vector-tile"}
_FORMAT_NAMES = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp", "avif": "avif", "pbf": "pbf",
                 "mvt": "pbf"}
_ID = re.compile("[a-z0-9][a-z0-9_-]{0," + str(ID_LENGTH - 1) + "}")
_ACCEPTED = ("MBTiles (.mbtiles), PMTiles v3 (.pmtiles), GeoTIFF (.tif)",
             "MBTiles (.mbtiles), PMTiles v3 (.pmtiles), GeoTIFF (.tif)")


@dataclass(frozen=True)
class Tile:
    """One tile's bytes as stored, their media type and their Content-Encoding (gzipped vector tiles)."""

    data: bytes
    media_type: str
    encoding: str | None = None

    def decoded(self) -> Tile:
        """The tile without its gzip/deflate encoding, for a client that does not accept it."""
        if self.encoding in ("gzip", "deflate"):
            return Tile(zlib.decompress(self.data, zlib.MAX_WBITS | 32), self.media_type)  # 32: either header
        return self


@dataclass(frozen=True)
class BasemapSpec:
    """A base map as named on the command line: `FILE`, optionally followed by `#id=…`, `#title=…` and
    `#attribution=…` (in any order) that replace what the file's own metadata says."""

    path: Path
    id: str | None = None
    title: str | None = None
    attribution: str | None = None

    @classmethod
    def parse(cls, text: str) -> BasemapSpec:
        path, *parts = re.split("#(?=(?:" + "|".join(OVERRIDES) + ")=)", text)
        values: dict[str, str] = {}
        for part in parts:
            key, _, value = part.partition("=")
            if key in values:
                raise BadRequest(f"{key!r} is given twice in the base map {text!r}",
                                 f"{key!r} bị lặp lại trong nền bản đồ {text!r}")
            values[key] = value.strip()
        if not path.strip():
            raise BadRequest(f"no file is named in the base map {text!r}", f"Chưa nêu tệp nền bản đồ trong {text!r}")
        given_id = values.get("id")
        if given_id is not None and not _ID.fullmatch(given_id):
            raise BadRequest(f"base map id {given_id!r}: use up to {ID_LENGTH} lower-case letters, digits, - or _",
                             f"Mã nền bản đồ {given_id!r}: tối đa {ID_LENGTH} chữ thường, chữ số, - hoặc _")
        return cls(Path(path).expanduser(), **values)


class Basemap:
    """One background file: what it is, and its tiles (`tile(z, x, y)`, None where it has none)."""

    kind = "raster"

    def __init__(self, spec: BasemapSpec, fmt: str, title: str | None, attribution: str | None,
                 bounds: tuple[float, float, float, float], minzoom: int, maxzoom: int,
                 vector_layers: tuple[str, ...] = ()) -> None:
        self.path = spec.path
        self.id = spec.id or slug(spec.path.stem)
        self.named = spec.id is not None  # the id was given (`#id=…`), not made from the file's name
        self.title = spec.title or plain_text(title) or spec.path.stem
        self.attribution = spec.attribution if spec.attribution is not None else plain_text(attribution)
        self.format = fmt
        self.kind = "vector" if fmt == "pbf" else "raster"
        self.bounds = _clip_bounds(bounds)
        self.minzoom = max(0, min(minzoom, MAX_ZOOM))
        self.maxzoom = max(self.minzoom, min(maxzoom, MAX_ZOOM))
        self.vector_layers = vector_layers
        stat = spec.path.stat()
        self.version = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"  # changes with the file: part of each tile's ETag

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        """The tile z/x/y (XYZ) as the file has it, or None: not in the file (see `covers`)."""
        if not self.in_range(z, x, y):
            return None
        return self._read(z, x, y)

    def in_range(self, z: int, x: int, y: int) -> bool:
        """Whether z/x/y is a tile number of the file's zoom range."""
        return self.minzoom <= z <= self.maxzoom and 0 <= x < 1 << z and 0 <= y < 1 << z

    def covers(self, z: int, x: int, y: int) -> bool:
        """Whether tile z/x/y lies in the file's zoom range and overlaps its area: a tile missing there is empty
        (tilesets leave out tiles with nothing in them), one missing elsewhere does not exist."""
        if not self.in_range(z, x, y):
            return False
        west, south, east, north = tile_lonlat_bounds(z, x, y)
        w, s, e, n = self.bounds
        return west < e and east > w and south < n and north > s

    def _read(self, z: int, x: int, y: int) -> Tile | None:
        raise NotImplementedError

    def describe(self) -> dict:
        """What a client needs to show the base map (TileJSON's members, without the tile URL)."""
        doc = {"id": self.id, "title": self.title, "attribution": self.attribution, "kind": self.kind,
               "format": self.format, "bounds": [round(v, 7) for v in self.bounds], "minzoom": self.minzoom,
               "maxzoom": self.maxzoom}
        if self.kind == "vector":
            doc["vector_layers"] = [{"id": name} for name in self.vector_layers]
        return doc


# ---------------------------------------------------------------------------------------------------- MBTiles


class MBTilesBasemap(Basemap):
    """An MBTiles file (SQLite): raster PNG/JPEG/WebP or vector `pbf` tiles, served as stored."""

    _QUERY = "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?"

    def __init__(self, spec: BasemapSpec) -> None:
        conn = _sqlite(spec.path)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            if "tiles" not in names:
                raise _unusable(spec.path, "it has no `tiles` table (is it an MBTiles file?)",
                                "không có bảng `tiles` (có phải tệp MBTiles không?)")
            meta = {str(k): str(v) for k, v in conn.execute("SELECT name, value FROM metadata")} \
                if "metadata" in names else {}
            low, high = conn.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
            if low is None:
                raise _unusable(spec.path, "it holds no tiles", "tệp không có ô bản đồ nào")
            fmt = _FORMAT_NAMES.get(meta.get("format", "").strip().lower())
            if fmt is None:
                first = conn.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()[0]
                fmt = _sniff(bytes(first or b""), spec.path)
            bounds = _parse_bounds(meta.get("bounds")) or _tile_extent(conn, int(low))
            minzoom = _int(meta.get("minzoom"), int(low))
            maxzoom = _int(meta.get("maxzoom"), int(high))
            layers = _vector_layer_ids(meta.get("json")) if fmt == "pbf" else ()
        except sqlite3.DatabaseError as exc:
            raise _unusable(spec.path, f"SQLite cannot read it ({exc})", f"SQLite không đọc được ({exc})") from exc
        finally:
            conn.close()
        super().__init__(spec, fmt, meta.get("name"), meta.get("attribution"), bounds, minzoom, maxzoom, layers)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a new thread, or a worker forked from a reader
            local.pid, local.conn = os.getpid(), _sqlite(self.path)
        return local.conn

    def _read(self, z: int, x: int, y: int) -> Tile | None:
        row = self._connection().execute(self._QUERY, (z, x, (1 << z) - 1 - y)).fetchone()  # TMS rows: from south
        if row is None or not row[0]:
            return None
        data = bytes(row[0])
        return Tile(data, MEDIA_TYPES[self.format], _stored_encoding(data) if self.format == "pbf" else None)


def _sqlite(path: Path) -> sqlite3.Connection:
    """A read-only connection: serving never writes to an office's file."""
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)


def _tile_extent(conn: sqlite3.Connection, zoom: int) -> tuple[float, float, float, float]:
    """The area of the tiles of one zoom level, when the metadata does not give the bounds."""
    x0, x1, r0, r1 = conn.execute("SELECT MIN(tile_column), MAX(tile_column), MIN(tile_row), MAX(tile_row) "
                                  "FROM tiles WHERE zoom_level = ?", (zoom,)).fetchone()
    top, bottom = (1 << zoom) - 1 - r1, (1 << zoom) - 1 - r0
    west, _, _, north = tile_lonlat_bounds(zoom, x0, top)
    _, south, east, _ = tile_lonlat_bounds(zoom, x1, bottom)
    return west, south, east, north


def _vector_layer_ids(text: str | None) -> tuple[str, ...]:
    """The layers of a vector tileset, from the metadata's `json` member (TileJSON's `vector_layers`)."""
    try:
        layers = json.loads(text or "{}").get("vector_layers") or []
        return tuple(str(layer["id"]) for layer in layers if isinstance(layer, dict) and "id" in layer)
    except (ValueError, AttributeError):
        return ()


# ---------------------------------------------------------------------------------------------------- PMTiles

PMTILES_HEADER_BYTES = 127  # PMTiles v3: a fixed-size header
PMTILES_VERSION = 3


class PMTilesBasemap(Basemap):
    """A PMTiles v3 archive (raster or vector), read with the `pmtiles` package from a memory map."""

    def __init__(self, spec: BasemapSpec) -> None:
        from pmtiles.reader import MmapSource, Reader
        from pmtiles.tile import Compression, TileType, deserialize_header

        with open(spec.path, "rb") as f:
            head = f.read(PMTILES_HEADER_BYTES)
            # v3 starts "PMTiles" and its version byte; v1 and v2 started "PM" and a 16-bit version
            version = head[7] if head[:7] == b"PMTiles" and len(head) > 7 else head[2] if len(head) > 2 else None
            if version != PMTILES_VERSION:
                raise _unusable(spec.path, f"PMTiles version {version} is not supported: convert it to version 3 "
                                           "(`pmtiles convert`)",
                                f"không hỗ trợ PMTiles phiên bản {version}: hãy chuyển sang phiên bản 3")
            if len(head) < PMTILES_HEADER_BYTES:
                raise _unusable(spec.path, "it is cut short", "tệp bị cắt cụt")
            try:
                header = deserialize_header(head)
                metadata = Reader(MmapSource(f)).metadata()
            except Exception as exc:  # noqa: BLE001 - any decoding failure of a damaged archive
                raise _unusable(spec.path, f"its header or metadata is damaged ({exc})",
                                f"phần đầu hoặc siêu dữ liệu bị hỏng ({exc})") from exc
        formats = {TileType.MVT: "pbf", TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp",
                   TileType.AVIF: "avif"}
        fmt = formats.get(header["tile_type"])
        if fmt is None:
            kind = header["tile_type"].name
            raise _unusable(spec.path, f"its tiles ({kind}) cannot be shown", f"không hiển thị được loại ô {kind}")
        self._encoding = {Compression.GZIP: "gzip", Compression.BROTLI: "br",
                          Compression.ZSTD: "zstd"}.get(header["tile_compression"])
        metadata = metadata if isinstance(metadata, dict) else {}
        bounds = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7,
                  header["max_lat_e7"] / 1e7)
        layers = tuple(str(v["id"]) for v in metadata.get("vector_layers") or [] if isinstance(v, dict) and "id" in v)
        super().__init__(spec, fmt, metadata.get("name"), metadata.get("attribution"), bounds, header["min_zoom"],
                         header["max_zoom"], layers)
        self._reader = None
        self._pid = None
        self._lock = threading.Lock()

    def _archive(self):
        """The reader of this process (a memory map; reads from any thread)."""
        with self._lock:
            if self._pid != os.getpid():
                from pmtiles.reader import MmapSource, Reader

                with open(self.path, "rb") as f:  # the map keeps its own handle on the file
                    self._reader, self._pid = Reader(MmapSource(f)), os.getpid()
            return self._reader

    def _read(self, z: int, x: int, y: int) -> Tile | None:
        data = self._archive().get(z, x, y)
        if not data:
            return None
        return Tile(bytes(data), MEDIA_TYPES[self.format], self._encoding)


# ---------------------------------------------------------------------------------------------------- GeoTIFF


@dataclass(frozen=True)
class _Colours:
    """How a GeoTIFF's bands become a tile's RGBA: the bands read, a palette, a stretch of non-byte values."""

    bands: tuple[int, ...]
    palette: np.ndarray | None = None  # 256 × 4 lookup table of a paletted (indexed colour) sheet
    stretch: tuple[float, float] | None = None  # the value range shown black to white (non-byte rasters)
    has_alpha: bool = False

    def rgba(self, data: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """4 × h × w bytes from the warped bands (`data`) and the warped coverage mask (`alpha`, 0 outside)."""
        if self.palette is not None:
            out = self.palette[data[0]].transpose(2, 0, 1).copy()
            out[3] = np.minimum(out[3], alpha)
            return out
        if self.stretch is not None:
            low, high = self.stretch
            data = np.clip((data.astype("float32") - low) * (255.0 / max(high - low, 1e-12)), 0, 255)
        data = data.astype("uint8")
        rgb = data if len(data) == 3 else np.repeat(data[:1], 3, axis=0)
        return np.concatenate([rgb, alpha[None].astype("uint8")])


class GeoTiffBasemap(Basemap):
    """A georeferenced raster (GeoTIFF, any CRS), reprojected to Web Mercator and tiled on the fly as PNG."""

    def __init__(self, spec: BasemapSpec, cache_bytes: int = RENDER_CACHE_BYTES) -> None:
        import rasterio
        from rasterio.errors import RasterioIOError
        from rasterio.warp import transform_bounds

        try:
            src = rasterio.open(spec.path)
        except RasterioIOError as exc:
            raise _unusable(spec.path, f"GDAL cannot read it ({exc})", f"GDAL không đọc được ({exc})") from exc
        with src:
            if src.crs is None:
                raise _unusable(spec.path, "it has no coordinate reference system: set it first, e.g. "
                                           "`gdal_edit.py -a_srs EPSG:9213 FILE`",
                                "tệp chưa có hệ tọa độ: hãy gán trước, ví dụ `gdal_edit.py -a_srs EPSG:9213 TỆP`")
            self._colours = _colours(src, spec.path)
            self._overviews = tuple(src.overviews(1))
            try:
                lonlat = transform_bounds(src.crs, "OGC:CRS84", *src.bounds, densify_pts=BOUNDS_DENSIFY_POINTS)
            except Exception as exc:  # noqa: BLE001 - PROJ refuses: the georeference is unusable
                raise _unusable(spec.path, f"its extent cannot be reprojected ({exc})",
                                f"không chuyển được phạm vi sang WGS84 ({exc})") from exc
            tags = {k.upper(): v for k, v in src.tags().items()}
            width, height = src.width, src.height
        lonlat = _clip_bounds(lonlat)
        if not all(map(math.isfinite, lonlat)) or lonlat[0] >= lonlat[2] or lonlat[1] >= lonlat[3]:
            raise _unusable(spec.path, "its extent is not on the Earth", "phạm vi không nằm trên Trái Đất")
        west, south = lonlat_to_mercator(lonlat[0], lonlat[1])
        east, north = lonlat_to_mercator(lonlat[2], lonlat[3])
        self._mercator = (west, south, east, north)
        self._resolution = min((east - west) / width, (north - south) / height)  # metres per source pixel
        maxzoom = math.ceil(math.log2(2 * HALF_WORLD_M / (TILE_PIXELS * self._resolution)))
        coarsest = max(self._overviews, default=1)
        minzoom = maxzoom - ZOOMS_BELOW_SOURCE - int(math.log2(coarsest))
        title = tags.get("TITLE") or tags.get("TIFFTAG_DOCUMENTNAME") or tags.get("TIFFTAG_IMAGEDESCRIPTION")
        attribution = tags.get("ATTRIBUTION") or tags.get("TIFFTAG_COPYRIGHT") or tags.get("TIFFTAG_ARTIST")
        super().__init__(spec, "png", title, attribution, lonlat, minzoom, maxzoom)
        self._local = threading.local()
        self._cache = ByteCache(cache_bytes)

    def _read(self, z: int, x: int, y: int) -> Tile | None:
        bounds = tile_mercator_bounds(z, x, y)
        w, s, e, n = self._mercator
        if bounds[0] >= e or bounds[2] <= w or bounds[1] >= n or bounds[3] <= s:
            return None
        png = self._cache.get((z, x, y))
        if png is None:
            png = self._render(bounds)
            self._cache.put((z, x, y), png)
        return Tile(png, MEDIA_TYPES["png"])

    def _render(self, bounds: tuple[float, float, float, float]) -> bytes:
        from rasterio.enums import Resampling
        from rasterio.transform import Affine
        from rasterio.vrt import WarpedVRT

        west, _, east, north = bounds
        pixel = (east - west) / TILE_PIXELS
        source = self._dataset(self._level(pixel))
        transform = Affine(pixel, 0.0, west, 0.0, -pixel, north)
        # a palette's indexes must not be averaged: nearest; colours and greys: bilinear
        resampling = Resampling.nearest if self._colours.palette is not None else Resampling.bilinear
        with WarpedVRT(source, crs=WEB_MERCATOR, transform=transform, width=TILE_PIXELS, height=TILE_PIXELS,
                       resampling=resampling, add_alpha=not self._colours.has_alpha) as vrt:
            data = vrt.read(list(self._colours.bands))
            alpha = vrt.dataset_mask()
        return encode_png(self._colours.rgba(data, alpha))

    def _level(self, tile_resolution: float) -> int | None:
        """The coarsest overview still at least as fine as the tile (None: the full-resolution image)."""
        needed = tile_resolution / self._resolution
        fitting = [i for i, factor in enumerate(self._overviews) if factor <= needed]
        return fitting[-1] if fitting else None

    def _dataset(self, level: int | None):
        """This thread's handle on the file (or on one of its overviews)."""
        import rasterio

        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid, local.handles = os.getpid(), {}
        handle = local.handles.get(level)
        if handle is None:
            options = {} if level is None else {"overview_level": level}
            handle = local.handles[level] = rasterio.open(self.path, **options)
        return handle


def _colours(src, path: Path) -> _Colours:
    """How the file's bands are shown: RGB(A), a palette, or greys (stretched when not bytes)."""
    from rasterio.enums import ColorInterp

    interp = list(src.colorinterp)
    has_alpha = ColorInterp.alpha in interp
    byte = all(dtype == "uint8" for dtype in src.dtypes)
    if src.count >= 3:
        named = [interp.index(c) + 1 for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue) if c in interp]
        bands = tuple(named) if len(named) == 3 else (1, 2, 3)
    else:
        bands = (1,)
    if bands == (1,) and interp[0] == ColorInterp.palette:
        if not byte:
            raise _unusable(path, "only 8-bit palettes are supported", "chỉ hỗ trợ bảng màu 8 bit")
        palette = np.zeros((256, 4), dtype="uint8")
        for index, colour in src.colormap(1).items():
            palette[index] = (tuple(colour) + (255,))[:4]
        return _Colours(bands, palette=palette, has_alpha=has_alpha)
    stretch = None
    if not byte:
        try:
            stats = src.stats(indexes=list(bands), approx=True)
        except Exception as exc:  # noqa: BLE001 - GDAL cannot compute statistics: nothing can be shown
            raise _unusable(path, f"the range of its values cannot be computed ({exc})",
                            f"không tính được khoảng giá trị ({exc})") from exc
        stretch = (min(s.min for s in stats), max(s.max for s in stats))
    return _Colours(bands, stretch=stretch, has_alpha=has_alpha)


def encode_png(rgba: np.ndarray) -> bytes:
    """An RGBA PNG of a 4 × h × w byte array (written here: a tile is encoded in a worker thread, where GDAL's
    PNG driver would need a warnings filter, which is process-wide state)."""
    _, height, width = rgba.shape
    rows = np.zeros((height, 1 + width * 4), dtype="uint8")  # each row: filter type 0 (none), then RGBA pixels
    rows[:, 1:] = rgba.transpose(1, 2, 0).reshape(height, width * 4)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 6, 0, 0, 0])  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESSION)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------------- the set


class Basemaps:
    """The base maps a server offers, in the order they were given, by id."""

    def __init__(self, maps: Iterable[Basemap] = ()) -> None:
        self._maps: dict[str, Basemap] = {}
        for basemap in maps:
            if basemap.id in self._maps:
                raise BadRequest(f"two base maps have the id {basemap.id!r}: give one another with `#id=…`",
                                 f"Hai nền bản đồ trùng mã {basemap.id!r}: đặt mã khác bằng `#id=…`")
            self._maps[basemap.id] = basemap

    def get(self, basemap_id: str) -> Basemap | None:
        return self._maps.get(basemap_id)

    def __iter__(self) -> Iterator[Basemap]:
        return iter(self._maps.values())

    def __len__(self) -> int:
        return len(self._maps)


def open_basemap(spec: BasemapSpec | str | Path) -> Basemap:
    """The base map of one file, by what the file is (not its name); a clear refusal when it cannot be served.

    `spec`: a file, or its command-line text (`FILE#title=…`, see BasemapSpec.parse)."""
    if isinstance(spec, str):
        spec = BasemapSpec.parse(spec)
    elif isinstance(spec, Path):
        spec = BasemapSpec(spec)
    path = spec.path
    if not path.is_file():
        raise _unusable(path, "there is no such file", "không có tệp này")
    try:
        with open(path, "rb") as f:
            magic = f.read(16)
    except OSError as exc:
        raise _unusable(path, f"it cannot be read ({exc.strerror})", f"không đọc được tệp ({exc.strerror})") from exc
    if magic.startswith(b"SQLite format 3\x00"):
        return MBTilesBasemap(spec)
    if magic.startswith(b"PM"):  # PMTiles (versions before 3 are refused there, saying so)
        return PMTilesBasemap(spec)
    if magic[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # TIFF and BigTIFF
        return GeoTiffBasemap(spec)
    raise _unusable(path, f"it is none of the formats served as a base map: {_ACCEPTED[0]}",
                    f"không phải định dạng nền bản đồ được hỗ trợ: {_ACCEPTED[1]}")


def open_basemaps(specs: Iterable[BasemapSpec | str | Path]) -> Basemaps:
    """Every base map given, each checked now: a server must not start with one it cannot serve."""
    maps = [open_basemap(spec) for spec in specs]
    seen: dict[str, int] = {}
    for basemap in maps:  # two files of the same name without an explicit id: number the later ones
        count = seen.get(basemap.id, 0)
        seen[basemap.id] = count + 1
        if count and not basemap.named:
            basemap.id = f"{basemap.id[:ID_LENGTH - 4]}-{count + 1}"
    return Basemaps(maps)


# ---------------------------------------------------------------------------------------------------- helpers


def tile_mercator_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north of XYZ tile z/x/y in Web Mercator metres."""
    size = 2 * HALF_WORLD_M / (1 << z)
    west, north = -HALF_WORLD_M + x * size, HALF_WORLD_M - y * size
    return west, north - size, west + size, north


def tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north of XYZ tile z/x/y in degrees."""
    n = 1 << z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def lonlat_to_mercator(lon: float, lat: float) -> tuple[float, float]:
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    return (EARTH_RADIUS_M * math.radians(lon),
            EARTH_RADIUS_M * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def slug(text: str) -> str:
    """An id from a file name: ASCII letters without their marks, digits and dashes (`Bản đồ 1:50.000` →
    `ban-do-1-50-000`)."""
    ascii_text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = ascii_text.encode("ascii", "ignore").decode().lower()
    out = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:ID_LENGTH].strip("-")
    return out or "basemap"


def plain_text(text: str | None) -> str:
    """Metadata text as plain text: MBTiles attributions are often HTML links; the map shows text only."""
    if not text:
        return ""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", "", str(text)))).strip()


def _clip_bounds(bounds) -> tuple[float, float, float, float]:
    w, s, e, n = (float(v) for v in bounds)
    return max(w, -180.0), max(s, -MAX_LATITUDE), min(e, 180.0), min(n, MAX_LATITUDE)


def _parse_bounds(text: str | None) -> tuple[float, float, float, float] | None:
    try:
        values = tuple(float(v) for v in (text or "").split(","))
    except ValueError:
        return None
    return values if len(values) == 4 and values[0] < values[2] and values[1] < values[3] else None  # type: ignore


def _int(text: str | None, default: int) -> int:
    try:
        return int(float(text)) if text not in (None, "") else default
    except ValueError:
        return default


def _sniff(data: bytes, path: Path) -> str:
    """A tile's format from its first bytes (MBTiles whose metadata does not say)."""
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"\x1f\x8b" or data[:1] in (b"\x78", b"\x1a"):  # gzip, zlib, or a bare vector tile's layer
        return "pbf"
    raise _unusable(path, "the format of its tiles is not given and not recognised",
                    "không rõ định dạng các ô bản đồ")


def _stored_encoding(data: bytes) -> str | None:
    """How a vector tile is compressed as stored (MBTiles keep them gzipped, some older ones zlib)."""
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:1] == b"\x78":
        return "deflate"
    return None


def _unusable(path: Path, en: str, vi: str) -> Unprocessable:
    return Unprocessable(f"cannot serve {path} as a base map: {en}", f"Không dùng được {path} làm nền bản đồ: {vi}",
                         code="UnusableBasemap")

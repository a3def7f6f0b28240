"""Base map files the tests write themselves, whose every pixel is known: an MBTiles of PNG tiles (written with
sqlite3, rows in TMS order), vector tiles made by GDAL's MVT driver (from the pyogrio wheel) stored in an MBTiles
and in a PMTiles (written with the `pmtiles` package's writer), and GeoTIFF sheets in VN-2000 (EPSG:9213)
written with rasterio, coloured by quadrant.

Everything lies around (X0, Y0), the small world's centre near Thái Nguyên city (tests/small_world.py).
"""

from __future__ import annotations

import gzip
import json
import math
import sqlite3
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import Affine
from shapely.geometry import LineString, Point, box

from geo.basemaps import encode_png
from tests.small_world import X0, Y0

VN2000 = "EPSG:9213"
TO_LONLAT = Transformer.from_crs(VN2000, "OGC:CRS84", always_xy=True)

# The raster MBTiles: every tile over this area (lon/lat) at these zooms, each a solid colour naming it.
RASTER_BOUNDS = (105.75, 21.55, 105.95, 21.70)
RASTER_ZOOMS = range(9, 12)
RASTER_HOLE = (11, 1626, 898)  # a tile left out of the raster MBTiles, inside its area: nothing drawn there
# The vector tiles: a park, a road and a well near the centre.
VECTOR_ZOOMS = range(10, 13)
VECTOR_LAYER = "topo"

# The GeoTIFF sheet: SHEET_COLUMNS × SHEET_ROWS pixels of SHEET_PIXEL_M metres, its north-west corner here.
SHEET_PIXEL_M = 10.0
SHEET_COLUMNS, SHEET_ROWS = 400, 300
SHEET_WEST, SHEET_NORTH = X0 - 2_000.0, Y0 + 1_500.0
QUADRANTS = {"nw": (200, 30, 30), "ne": (30, 160, 60), "sw": (40, 70, 200), "se": (230, 200, 40)}
OVERVIEW_COLOUR = (120, 120, 120)  # the overviews of the sheet with overviews, unlike its full resolution
OVERVIEW_FACTORS = [2, 4, 8]


def tile_colour(z: int, x: int, y: int) -> tuple[int, int, int]:
    """The colour of raster tile z/x/y (XYZ): it names the tile, so a flipped row shows."""
    return 40 + z * 10, x % 256, y % 256


def decode_png(data: bytes) -> np.ndarray:
    """A PNG's pixels as bands × rows × columns."""
    with warnings.catch_warnings(), MemoryFile(data) as mem:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with mem.open() as src:
            return src.read()


def tiles_over(bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int]]:
    """(x, y) of every XYZ tile of zoom z over a lon/lat box."""
    west, south, east, north = bounds
    x0, y0 = lonlat_tile(west, north, z)
    x1, y1 = lonlat_tile(east, south, z)
    return [(x, y) for x in range(int(x0), int(x1) + 1) for y in range(int(y0), int(y1) + 1)]


def lonlat_tile(lon: float, lat: float, z: int) -> tuple[float, float]:
    """The fractional XYZ tile position of a point: its integer part is the tile, the rest the place in it."""
    n = 1 << z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return (lon + 180) / 360 * n, y


def write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], metadata: dict[str, str]) -> Path:
    """An MBTiles file as the spec says: `metadata` and `tiles`, rows counted from the south (TMS)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        conn.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", list(metadata.items()))
        conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                         [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()])
    conn.close()
    return path


def raster_tiles() -> dict[tuple[int, int, int], bytes]:
    """PNG tiles of solid colours (tile_colour) over RASTER_BOUNDS, all but RASTER_HOLE."""
    tiles = {}
    for z in RASTER_ZOOMS:
        for x, y in tiles_over(RASTER_BOUNDS, z):
            if (z, x, y) == RASTER_HOLE:
                continue
            rgba = np.zeros((4, 256, 256), dtype="uint8")
            rgba[:3] = np.array(tile_colour(z, x, y), dtype="uint8")[:, None, None]
            rgba[3] = 255
            tiles[(z, x, y)] = encode_png(rgba)
    return tiles


def raster_mbtiles(path: Path, bare: bool = False, **metadata: str) -> Path:
    """The raster tiles in an MBTiles, as QGIS's "Generate XYZ tiles" writes them; `bare`: with a name and
    nothing else in its metadata (no format, bounds or zooms: they must be found from the tiles)."""
    tiles = raster_tiles()
    if bare:
        return write_mbtiles(path, tiles, {"name": "Không siêu dữ liệu"})
    meta = {"name": "Ảnh nền thử", "format": "png", "bounds": ",".join(map(str, RASTER_BOUNDS)),
            "minzoom": str(RASTER_ZOOMS[0]), "maxzoom": str(RASTER_ZOOMS[-1]), "type": "baselayer",
            "attribution": '<a href="https://example.invalid/">© Sở Tài nguyên thử &amp; bạn</a>', **metadata}
    return write_mbtiles(path, tiles, meta)


def vector_tiles(folder: Path) -> tuple[dict[tuple[int, int, int], bytes], dict]:
    """Mapbox Vector Tiles (uncompressed) of a small topographic layer, made by GDAL's MVT driver, and the
    tileset's metadata as GDAL writes it (with `vector_layers`)."""
    centre = TO_LONLAT.transform(X0, Y0)
    lon, lat = centre
    frame = gpd.GeoDataFrame(
        {"kind": ["park", "road", "well"], "name": ["Công viên", "Đường tỉnh", "Giếng"]},
        geometry=[box(lon - 0.01, lat - 0.008, lon + 0.01, lat + 0.008),
                  LineString([(lon - 0.03, lat - 0.02), (lon + 0.03, lat + 0.02)]), Point(lon + 0.005, lat)],
        crs="OGC:CRS84")
    out = folder / "mvt"
    pyogrio.write_dataframe(frame, out, layer=VECTOR_LAYER, driver="MVT",
                            dataset_options={"MINZOOM": VECTOR_ZOOMS[0], "MAXZOOM": VECTOR_ZOOMS[-1],
                                             "COMPRESS": "NO", "FORMAT": "DIRECTORY"})
    tiles = {}
    for file in out.rglob("*.pbf"):
        z, x, y = int(file.parent.parent.name), int(file.parent.name), int(file.stem)
        tiles[(z, x, y)] = file.read_bytes()
    metadata = json.loads((out / "metadata.json").read_text())
    return tiles, metadata


def vector_mbtiles(path: Path, tiles: dict, metadata: dict) -> Path:
    """The vector tiles in an MBTiles, gzipped as tippecanoe and GDAL store them."""
    meta = {"name": "Nền địa hình vector", "format": "pbf", "minzoom": str(VECTOR_ZOOMS[0]),
            "maxzoom": str(VECTOR_ZOOMS[-1]), "bounds": metadata.get("bounds", "-180,-85,180,85"),
            "attribution": "© Bản đồ vector thử", "json": metadata["json"]}
    return write_mbtiles(path, {k: gzip.compress(v) for k, v in tiles.items()}, meta)


def vector_pmtiles(path: Path, tiles: dict, metadata: dict) -> Path:
    """The vector tiles in a PMTiles v3 archive, written with the `pmtiles` package (gzipped tiles)."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    west, south, east, north = (float(v) for v in metadata["bounds"].split(","))
    layers = json.loads(metadata["json"])["vector_layers"]
    with open(path, "wb") as f:
        writer = Writer(f)
        for (z, x, y), data in sorted(tiles.items(), key=lambda item: zxy_to_tileid(*item[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), gzip.compress(data))
        writer.finalize(
            {"tile_type": TileType.MVT, "tile_compression": Compression.GZIP, "min_lon_e7": int(west * 1e7),
             "min_lat_e7": int(south * 1e7), "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
             "center_zoom": VECTOR_ZOOMS[0], "center_lon_e7": int((west + east) / 2 * 1e7),
             "center_lat_e7": int((south + north) / 2 * 1e7)},
            {"name": "Bản đồ PMTiles thử", "attribution": "© PMTiles thử", "vector_layers": layers})
    return path


def raster_pmtiles(path: Path) -> Path:
    """The raster tiles in a PMTiles v3 archive (PNG, stored as they are), written with the `pmtiles` package."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    west, south, east, north = RASTER_BOUNDS
    with open(path, "wb") as f:
        writer = Writer(f)
        for (z, x, y), data in sorted(raster_tiles().items(), key=lambda item: zxy_to_tileid(*item[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        writer.finalize(
            {"tile_type": TileType.PNG, "tile_compression": Compression.NONE, "min_lon_e7": int(west * 1e7),
             "min_lat_e7": int(south * 1e7), "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7)},
            {"name": "Ảnh PMTiles thử", "attribution": "© Ảnh thử"})
    return path


def sheet_pixels() -> np.ndarray:
    """The sheet's RGB: four quadrants of QUADRANTS' colours."""
    rgb = np.zeros((3, SHEET_ROWS, SHEET_COLUMNS), dtype="uint8")
    half_r, half_c = SHEET_ROWS // 2, SHEET_COLUMNS // 2
    places = {"nw": (slice(0, half_r), slice(0, half_c)), "ne": (slice(0, half_r), slice(half_c, None)),
              "sw": (slice(half_r, None), slice(0, half_c)), "se": (slice(half_r, None), slice(half_c, None))}
    for name, (rows, cols) in places.items():
        rgb[:, rows, cols] = np.array(QUADRANTS[name], dtype="uint8")[:, None, None]
    return rgb


def sheet_point(quadrant: str) -> tuple[float, float]:
    """VN-2000 easting, northing of the middle of one quadrant of the sheet."""
    width, height = SHEET_COLUMNS * SHEET_PIXEL_M, SHEET_ROWS * SHEET_PIXEL_M
    east = SHEET_WEST + width * (0.75 if quadrant.endswith("e") else 0.25)
    north = SHEET_NORTH - height * (0.25 if quadrant.startswith("n") else 0.75)
    return east, north


def sheet_geotiff(path: Path, overviews: bool = False, **tags: str) -> Path:
    """A scanned-sheet stand-in: an RGB GeoTIFF in VN-2000 (no alpha, no nodata, like a scan).  With
    `overviews`, its overviews are grey (OVERVIEW_COLOUR) while the full resolution keeps its quadrants — so a
    tile shows which one it was drawn from."""
    profile = {"driver": "GTiff", "width": SHEET_COLUMNS, "height": SHEET_ROWS, "count": 3, "dtype": "uint8",
               "crs": VN2000, "transform": Affine(SHEET_PIXEL_M, 0, SHEET_WEST, 0, -SHEET_PIXEL_M, SHEET_NORTH),
               "photometric": "RGB", "tiled": True, "blockxsize": 256, "blockysize": 256}
    with rasterio.open(path, "w", **profile) as dst:
        dst.update_tags(**tags)
        if overviews:
            grey = np.empty((3, SHEET_ROWS, SHEET_COLUMNS), dtype="uint8")
            grey[:] = np.array(OVERVIEW_COLOUR, dtype="uint8")[:, None, None]
            dst.write(grey)
            dst.build_overviews(OVERVIEW_FACTORS, Resampling.average)
        else:
            dst.write(sheet_pixels())
    if overviews:  # the full resolution is written again; the overviews keep the grey
        with rasterio.open(path, "r+") as dst:
            dst.write(sheet_pixels())
    return path


PALETTE = {0: (0, 0, 0, 0), 1: (150, 90, 40, 255), 2: (20, 120, 190, 255)}  # 0: the collar, nodata
COLLAR_ROWS = 50  # the paletted sheet's top rows are its collar (nodata)


def paletted_geotiff(path: Path) -> Path:
    """A scan in indexed colour, as topographic sheets often are: west half index 1, east half 2, and a collar of
    nodata (index 0) along the top."""
    index = np.ones((SHEET_ROWS, SHEET_COLUMNS), dtype="uint8")
    index[:, SHEET_COLUMNS // 2:] = 2
    index[:COLLAR_ROWS] = 0
    with rasterio.open(path, "w", driver="GTiff", width=SHEET_COLUMNS, height=SHEET_ROWS, count=1, dtype="uint8",
                       crs=VN2000, transform=Affine(SHEET_PIXEL_M, 0, SHEET_WEST, 0, -SHEET_PIXEL_M, SHEET_NORTH),
                       nodata=0, photometric="palette") as dst:
        dst.write(index, 1)
        dst.write_colormap(1, PALETTE)
    return path


def pixel_of(lon: float, lat: float, z: int) -> tuple[int, int, int, int]:
    """(x, y) of the tile of zoom z holding a point, and (column, row) of the point in that 256-pixel tile."""
    fx, fy = lonlat_tile(lon, lat, z)
    x, y = int(fx), int(fy)
    return x, y, int((fx - x) * 256), int((fy - y) * 256)

"""The WebMercatorQuad tiling scheme: which part of the Earth a tile z/x/y covers, and lon/lat in a tile's units.

WebMercatorQuad (OGC 2D Tile Matrix Set 2.0; the Google/OSM "XYZ" grid) is the one tiling scheme planmap serves:
every web map and QGIS's Vector Tiles connection read it.  Tile x grows eastwards and y southwards from the
top-left corner at (-180°, 85.05°); a tile is `EXTENT` units wide, the resolution of Mapbox Vector Tiles.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

WEB_MERCATOR_QUAD = "WebMercatorQuad"
WEB_MERCATOR_QUAD_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR_CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/3857"
EXTENT = 4096  # units across a vector tile: the MVT default, finer than any screen shows a tile (256–512 px)
TILE_PIXELS = 256  # the nominal pixel size of a WebMercatorQuad tile (its scale denominators are defined on it)
EARTH_RADIUS_M = 6378137.0  # the WGS 84 semi-major axis, the sphere of Web Mercator
HALF_WORLD_M = math.pi * EARTH_RADIUS_M  # the Web Mercator x of 180°E
MAX_LATITUDE = 85.0511287798066  # where Web Mercator's square world ends (y = ±HALF_WORLD_M)
PIXEL_SIZE_M = 0.00028  # the OGC "standardized rendering pixel" (0.28 mm), which scale denominators assume
MAX_TMS_ZOOM = 24  # the tile matrices WebMercatorQuad defines (0–24)


def tiles_across(z: int) -> int:
    return 1 << z


def tile_bounds(z: int, x: int, y: int, buffer: float = 0.0) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of tile z/x/y, widened by `buffer` tile units on every side (and
    clamped to the Web Mercator world)."""
    n = tiles_across(z)
    grow = buffer / EXTENT
    west, east = (x - grow) / n * 360.0 - 180.0, (x + 1 + grow) / n * 360.0 - 180.0
    north, south = _latitude((y - grow) / n), _latitude((y + 1 + grow) / n)
    return max(west, -180.0), max(south, -MAX_LATITUDE), min(east, 180.0), min(north, MAX_LATITUDE)


def _latitude(fraction: float) -> float:
    """The latitude at `fraction` of the world's height from its top edge."""
    fraction = min(max(fraction, 0.0), 1.0)
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * fraction))))


def lonlat_to_tile_units(xy: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """(n, 2) longitudes and latitudes → the same points in tile z/x/y's units (0..EXTENT inside the tile, y down)."""
    n = tiles_across(z)
    lon = xy[:, 0]
    lat = np.radians(np.clip(xy[:, 1], -MAX_LATITUDE, MAX_LATITUDE))
    wx = (lon + 180.0) / 360.0 * n
    wy = (1.0 - np.log(np.tan(lat) + 1.0 / np.cos(lat)) / math.pi) / 2.0 * n
    return np.column_stack([(wx - x) * EXTENT, (wy - y) * EXTENT])


def to_tile_units(geoms: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """Shapely geometries in degrees (CRS84) → in tile z/x/y's units, all vertices in one vectorised pass."""
    return shapely.transform(geoms, lambda xy: lonlat_to_tile_units(xy, z, x, y))


def tile_range(bbox: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    """(min x, min y, max x, max y) of the tiles at zoom z that cover a (west, south, east, north) box in degrees."""
    n = tiles_across(z)
    west, south, east, north = bbox
    corners = lonlat_to_tile_units(np.array([[west, north], [east, south]], dtype=np.float64), z, 0, 0) / EXTENT
    x0, y0 = (int(min(max(v, 0), n - 1)) for v in np.floor(corners[0]))
    x1, y1 = (int(min(max(v, 0), n - 1)) for v in np.floor(corners[1]))
    return x0, y0, x1, y1


def cell_size_m(z: int) -> float:
    """Metres (at the equator) of one nominal pixel of zoom z."""
    return 2 * HALF_WORLD_M / TILE_PIXELS / tiles_across(z)


def tile_matrix_set(max_zoom: int = MAX_TMS_ZOOM) -> dict:
    """The WebMercatorQuad tile matrix set as OGC 2D Tile Matrix Set 2.0 JSON writes it."""
    return {
        "id": WEB_MERCATOR_QUAD,
        "title": "Google Maps Compatible for the World",
        "uri": WEB_MERCATOR_QUAD_URI,
        "crs": WEB_MERCATOR_CRS_URI,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": [
            {"id": str(z), "scaleDenominator": cell_size_m(z) / PIXEL_SIZE_M, "cellSize": cell_size_m(z),
             "cornerOfOrigin": "topLeft", "pointOfOrigin": [-HALF_WORLD_M, HALF_WORLD_M],
             "tileWidth": TILE_PIXELS, "tileHeight": TILE_PIXELS, "matrixWidth": tiles_across(z),
             "matrixHeight": tiles_across(z)}
            for z in range(max_zoom + 1)],
    }

"""A layer's vector tiles: the features a WebMercatorQuad tile shows, generalised for its zoom, as an MVT.

A tile is built from the rows the layer's spatial index finds in the tile plus a buffer, never from a pass over
the layer: their geometries go into tile units at once (vectorised), lines and polygons are clipped to the
buffered tile and simplified to about a pixel of that zoom (a polygon too small to survive that keeps its exact
outline: nothing vanishes because it is small), and everything is written by geo/mvt.py.  Built tiles are kept
per layer object — a layer is immutable and an edit makes a new one, so an edit can never serve a stale tile —
in a least-recently-used cache bounded in bytes, with an ETag of their content (the same in every worker).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely

from geo.errors import BadRequest
from geo.mvt import encode_layer, encode_tile
from geo.tiles import EXTENT, tile_bounds, tiles_across, to_tile_units
from layers.dataset import Layer
from layers.limits import MAX_TILE_FEATURES, MAX_TILE_VERTICES, MAX_TILE_ZOOM, MIN_TILE_ZOOM, TILE_CACHE_BYTES

# Tile units drawn beyond each edge: a line or outline is cut outside the visible tile, so its stroke (a few
# pixels wide) does not stop short at the seam; 64 of 4096 is 4 px of a 256-px tile (MVT tools' usual buffer).
BUFFER = 64
# Simplification tolerance in tile units: 8 of 4096 is half a pixel of a 256-px tile and one pixel of a 512-px
# one (MapLibre), so generalisation is invisible at the zoom it is made for.
SIMPLIFY_TOLERANCE = EXTENT / 512
# A polygon whose box is narrower than this (in tile units) both ways would round away to nothing: it is drawn as
# a one-unit square where it lies instead — a dot on the map at this zoom, still there to find and click.
DOT_UNITS = 1.5
# Tiles smaller than this are sent as they are: compressing them saves less than the gzip header costs.
GZIP_FROM_BYTES = 1024
# gzip level of a cached tile: compressed once, served many times; 6 is zlib's balance of size and time.
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Tile:
    """One built tile: its MVT bytes (and gzip of them when worth it), features written and left out, ETag."""

    data: bytes
    gzipped: bytes | None
    features: int
    omitted: int
    etag: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.gzipped or b"")


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse (400) a tile outside WebMercatorQuad or the zooms served, naming the range, before any work."""
    if not MIN_TILE_ZOOM <= z <= MAX_TILE_ZOOM:
        raise BadRequest(f"tileMatrix (zoom) {z} is outside {MIN_TILE_ZOOM}..{MAX_TILE_ZOOM}",
                         f"Mức thu phóng {z} nằm ngoài {MIN_TILE_ZOOM}..{MAX_TILE_ZOOM}", code="TileOutOfRange")
    last = tiles_across(z) - 1
    for name, vi, value in (("tileCol (x)", "Cột (x)", x), ("tileRow (y)", "Hàng (y)", y)):
        if not 0 <= value <= last:
            raise BadRequest(f"{name} {value} is outside 0..{last} at zoom {z}",
                             f"{vi} {value} nằm ngoài 0..{last} ở mức thu phóng {z}", code="TileOutOfRange")


def build_tile(layer: Layer, z: int, x: int, y: int) -> Tile:
    """Tile z/x/y of `layer`: one MVT layer named after the collection, holding each feature's id and properties.

    A tile with no feature is still a valid MVT: the layer with no features (never a 204, which some clients
    take for an error)."""
    rows = layer.index.intersecting(tile_bounds(z, x, y, BUFFER))
    omitted = max(0, len(rows) - MAX_TILE_FEATURES)
    rows = rows[:MAX_TILE_FEATURES]
    geoms = layer.geometries(rows)
    if len(rows):
        vertices = np.cumsum(shapely.get_num_coordinates(geoms))
        within = int(np.searchsorted(vertices, MAX_TILE_VERTICES, side="right"))
        if within < len(rows):
            omitted += len(rows) - within
            rows, geoms = rows[:within], geoms[:within]
    geoms = generalised(to_tile_units(geoms, z, x, y))
    properties = {name: layer.column(name)[rows] for name in layer.property_columns}
    body, written = encode_layer(layer.id, layer.fids[rows], geoms, properties)
    data = encode_tile([body])
    gzipped = gzip.compress(data, GZIP_LEVEL, mtime=0) if len(data) >= GZIP_FROM_BYTES else None
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    return Tile(data, gzipped, written, omitted, etag)


def generalised(geoms: np.ndarray) -> np.ndarray:
    """Lines and polygons (in tile units) clipped to the buffered tile and simplified to SIMPLIFY_TOLERANCE;
    points as they are.  A polygon or line that simplification would erase keeps its clipped shape, and a polygon
    smaller than DOT_UNITS becomes a one-unit square: nothing vanishes for being small."""
    dims = shapely.get_dimensions(geoms)
    lines_or_areas = dims > 0
    if not lines_or_areas.any():
        return geoms
    out = geoms.copy()
    clipped = shapely.clip_by_rect(geoms[lines_or_areas], -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    simple = shapely.simplify(clipped, SIMPLIFY_TOLERANCE, preserve_topology=False)
    erased = shapely.is_empty(simple) & ~shapely.is_empty(clipped)
    simple[erased] = clipped[erased]
    bounds = shapely.bounds(simple)
    dot = (dims[lines_or_areas] == 2) & (bounds[:, 2] - bounds[:, 0] < DOT_UNITS) \
        & (bounds[:, 3] - bounds[:, 1] < DOT_UNITS)
    if dot.any():
        corner = np.floor((bounds[dot, :2] + bounds[dot, 2:]) / 2)
        simple[dot] = shapely.box(corner[:, 0], corner[:, 1], corner[:, 0] + 1, corner[:, 1] + 1)
    out[lines_or_areas] = simple
    return out


class TileCache:
    """Built tiles by (layer, z, x, y), least recently used dropped first once they hold more than `max_bytes`.

    The key holds a token object of the layer (made once per Layer, kept in its `cache`), not the layer: a cached
    tile does not keep an old layer alive, and a new layer (after an edit) never finds an old layer's tiles."""

    def __init__(self, max_bytes: int = TILE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[tuple, Tile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, layer: Layer, z: int, x: int, y: int) -> Tile:
        """The tile, built (outside the lock: two requests for one new tile may both build it) when not kept."""
        check_tile(z, x, y)
        key = (_token(layer), z, x, y)
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
                return tile
        tile = build_tile(layer, z, x, y)
        if tile.size <= self.max_bytes:
            with self._lock:
                old = self._tiles.pop(key, None)
                if old is not None:
                    self._bytes -= old.size
                self._tiles[key] = tile
                self._bytes += tile.size
                while self._bytes > self.max_bytes:
                    _, dropped = self._tiles.popitem(last=False)
                    self._bytes -= dropped.size
        return tile

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._tiles)


class _Token:
    """Stands for one Layer object in cache keys (compared by identity)."""

    __slots__ = ("__weakref__",)


def _token(layer: Layer) -> _Token:
    token = layer.cache.get("tile_token")
    if token is None:
        token = layer.cache.setdefault("tile_token", _Token())
    return token

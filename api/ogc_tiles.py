"""OGC API – Tiles documents (tile matrix sets, a collection's tilesets, tileset metadata) and TileJSON 3.0, as
plain functions; the tiles themselves are built by layers/tiles.py.

Tile URLs are `/collections/{id}/tiles/WebMercatorQuad/{z}/{x}/{y}` — the XYZ order every web map and QGIS's
Vector Tiles connection use — and the OGC template names them `{tileMatrix}/{tileCol}/{tileRow}`, so OGC clients
(GDAL's OGCAPI driver) fill in the same URL.
"""

from __future__ import annotations

from api.ogc import link
from api.responses import HTML, JSON
from geo.mvt import MVT_MEDIA_TYPE
from geo.tiles import (
    WEB_MERCATOR_CRS_URI,
    WEB_MERCATOR_QUAD,
    WEB_MERCATOR_QUAD_URI,
    tile_matrix_set,
    tile_range,
)
from layers.dataset import Layer
from layers.limits import MAX_TILE_ZOOM, MIN_TILE_ZOOM

TILING_SCHEME_REL = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
TILEJSON = "application/vnd.mapbox.tile+json"  # TileJSON's media type (as tipg and Martin serve it)
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOMETRY_DIMENSION = {"point": 0, "line": 1, "polygon": 2}
# The zoom a TileJSON `center` suggests: a province (~150 km) fills a screen at about z9.
CENTER_ZOOM = 9


def tiles_url(base: str, cid: str) -> str:
    return f"{base}/collections/{cid}/tiles/{WEB_MERCATOR_QUAD}"


def tile_template(base: str, cid: str, ogc: bool = True) -> str:
    """The URL template of a collection's tiles: OGC's variable names, or TileJSON's {z}/{x}/{y}."""
    tail = "{tileMatrix}/{tileCol}/{tileRow}" if ogc else "{z}/{x}/{y}"
    return f"{tiles_url(base, cid)}/{tail}"


def _geometry_dimension(layer: Layer) -> int | None:
    kind = layer.geometry_type.lower()
    for word, dimension in GEOMETRY_DIMENSION.items():
        if word in kind:
            return dimension
    return None


def _layer_fields(layer: Layer) -> dict[str, dict]:
    return {name: {"type": kind} for name, kind in layer.queryables().items()}


def _item_link(base: str, cid: str) -> dict:
    return {**link(tile_template(base, cid), "item", MVT_MEDIA_TYPE, "Ô bản đồ (MVT) / Tiles"), "templated": True}


def tileset_summary(layer: Layer, base: str, lang: str = "vi") -> dict:
    """A tileset as the tilesets list gives it."""
    cid = layer.id
    return {
        "title": layer.meta.text("title", lang),
        "dataType": "vector",
        "crs": WEB_MERCATOR_CRS_URI,
        "tileMatrixSetURI": WEB_MERCATOR_QUAD_URI,
        "links": [
            link(tiles_url(base, cid), "self", JSON, "Ô bản đồ WebMercatorQuad / WebMercatorQuad tileset"),
            link(f"{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}", TILING_SCHEME_REL, JSON, WEB_MERCATOR_QUAD),
            _item_link(base, cid),
        ],
    }


def tilesets_doc(layer: Layer, base: str, lang: str = "vi") -> dict:
    cid = layer.id
    return {
        "links": [
            link(f"{base}/collections/{cid}/tiles", "self", JSON, "Các bộ ô bản đồ / Tilesets"),
            link(f"{base}/collections/{cid}", "collection", JSON, layer.meta.text("title", lang)),
        ],
        "tilesets": [tileset_summary(layer, base, lang)],
    }


def tileset_doc(layer: Layer, base: str, lang: str = "vi") -> dict:
    """Tileset metadata (OGC 2D TMS 2.0, JSON), with the limits of the tile matrices the layer reaches."""
    cid = layer.id
    west, south, east, north = layer.bounds
    limits = []
    for z in range(MIN_TILE_ZOOM, MAX_TILE_ZOOM + 1):
        x0, y0, x1, y1 = tile_range(layer.bounds, z)
        limits.append({"tileMatrix": str(z), "minTileRow": y0, "maxTileRow": y1, "minTileCol": x0,
                       "maxTileCol": x1})
    vector_layer = {"id": cid, "title": layer.meta.text("title", lang), "dataType": "vector",
                    "minTileMatrix": str(MIN_TILE_ZOOM), "maxTileMatrix": str(MAX_TILE_ZOOM),
                    "propertiesSchema": {"type": "object", "properties": _layer_fields(layer)}}
    dimension = _geometry_dimension(layer)
    if dimension is not None:
        vector_layer["geometryDimension"] = dimension
    return {
        "title": layer.meta.text("title", lang),
        "description": layer.meta.text("description", lang),
        "dataType": "vector",
        "crs": WEB_MERCATOR_CRS_URI,
        "tileMatrixSetURI": WEB_MERCATOR_QUAD_URI,
        "tileMatrixSetLimits": limits,
        "boundingBox": {"lowerLeft": [west, south], "upperRight": [east, north], "crs": CRS84_URI},
        "centerPoint": {"coordinates": [(west + east) / 2, (south + north) / 2], "crs": CRS84_URI,
                        "tileMatrix": str(CENTER_ZOOM)},
        "layers": [vector_layer],
        "attribution": layer.meta.attribution,
        "license": layer.meta.license,
        "links": [
            link(f"{tiles_url(base, cid)}?f=json", "self", JSON, "Ô bản đồ WebMercatorQuad / This tileset"),
            link(f"{tiles_url(base, cid)}?f=html", "alternate", HTML, "Dạng HTML / As HTML"),
            link(f"{tiles_url(base, cid)}?f=tilejson", "alternate", TILEJSON, "TileJSON 3.0"),
            link(f"{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}", TILING_SCHEME_REL, JSON, WEB_MERCATOR_QUAD),
            link(f"{base}/collections/{cid}", "collection", JSON, layer.meta.text("title", lang)),
            _item_link(base, cid),
        ],
    }


def tilejson(layer: Layer, base: str, lang: str = "vi") -> dict:
    """TileJSON 3.0.0, what MapLibre and Leaflet plugins read."""
    cid = layer.id
    west, south, east, north = layer.bounds
    return {
        "tilejson": "3.0.0",
        "name": layer.meta.text("title", lang),
        "description": layer.meta.text("description", lang),
        "attribution": layer.meta.attribution,
        "scheme": "xyz",
        "tiles": [tile_template(base, cid, ogc=False)],
        "minzoom": MIN_TILE_ZOOM,
        "maxzoom": MAX_TILE_ZOOM,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, CENTER_ZOOM],
        "vector_layers": [{"id": cid, "description": layer.meta.text("title", lang), "minzoom": MIN_TILE_ZOOM,
                           "maxzoom": MAX_TILE_ZOOM,
                           "fields": {name: kind for name, kind in layer.queryables().items()}}],
    }


def tile_matrix_sets_doc(base: str) -> dict:
    return {"tileMatrixSets": [{
        "id": WEB_MERCATOR_QUAD, "title": "Google Maps Compatible for the World", "uri": WEB_MERCATOR_QUAD_URI,
        "crs": WEB_MERCATOR_CRS_URI,
        "links": [link(f"{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}", "self", JSON, WEB_MERCATOR_QUAD)]}],
        "links": [link(f"{base}/tileMatrixSets", "self", JSON, "Lưới ô bản đồ / Tile matrix sets")]}


def tile_matrix_set_doc() -> dict:
    return tile_matrix_set()

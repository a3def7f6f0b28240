"""OGC API – Tiles: a collection's vector tiles (Mapbox Vector Tiles in WebMercatorQuad), their metadata and
TileJSON, and the tile matrix sets.

The same access rules as items (an internal layer is a 404 for those who may not see it: the `Collection`
dependency).  Building a tile is CPU work, so every route is a plain `def` (FastAPI's thread pool), never the
event loop; built tiles are cached per layer revision (layers/tiles.py).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from api import html, ogc_tiles
from api.deps import BaseUrl, Collection
from api.models import TileJSON, TileMatrixSet, TileMatrixSets, TileSet, TileSets
from api.params import CommonParams, QueryOf, TileParams, TileSetParams, negotiate
from api.responses import documented, json_bytes
from geo.errors import NotFound
from geo.mvt import MVT_MEDIA_TYPE
from geo.tiles import WEB_MERCATOR_QUAD
from layers.limits import MAX_TILE_ZOOM, MIN_TILE_ZOOM

router = APIRouter(tags=["Tiles"])

TileMatrixSetId = Annotated[str, Path(alias="tileMatrixSetId", description="Lưới ô / tile matrix set "
                                      f"(only {WEB_MERCATOR_QUAD})")]
TileMatrix = Annotated[int, Path(alias="tileMatrix", ge=MIN_TILE_ZOOM, le=MAX_TILE_ZOOM,
                                 description="Mức thu phóng / zoom level (z)")]
TileCol = Annotated[int, Path(alias="tileCol", ge=0, description="Cột / column (x), 0..2^z-1 from the west")]
TileRow = Annotated[int, Path(alias="tileRow", ge=0, description="Hàng / row (y), 0..2^z-1 from the north")]
# Tiles change only with their layer, and every answer carries an ETag: clients ask again and get a 304.
TILE_CACHE_CONTROL = "no-cache"


def _known(tms: str) -> None:
    if tms != WEB_MERCATOR_QUAD:
        raise NotFound(f"tile matrix set {tms!r} is not offered; use {WEB_MERCATOR_QUAD}",
                       f"Không có lưới ô {tms!r}; dùng {WEB_MERCATOR_QUAD}")


def _html_page(title: str, doc: dict, lang: str, rows: list[list[object]] | None = None):
    body = (html.table(["", ""], rows) if rows else "") + html.links_list(doc.get("links", []))
    return html.page(title, body, lang)


@router.get("/tileMatrixSets", summary="Lưới ô bản đồ / Tile matrix sets", operation_id="getTileMatrixSetsList",
            responses=documented(model=TileMatrixSets, html=True))
def list_tile_matrix_sets(request: Request, params: QueryOf[CommonParams], base: BaseUrl):
    doc = ogc_tiles.tile_matrix_sets_doc(base)
    if negotiate(request, params.f) == "html":
        return _html_page("Lưới ô bản đồ / Tile matrix sets", doc, params.lang,
                          [[t["id"], t["uri"]] for t in doc["tileMatrixSets"]])
    return json_bytes(orjson.dumps(doc))


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="Một lưới ô / One tile matrix set",
            operation_id="getTileMatrixSet", responses=documented(404, model=TileMatrixSet, html=True))
def get_tile_matrix_set(request: Request, tms: TileMatrixSetId, params: QueryOf[CommonParams]):
    _known(tms)
    doc = ogc_tiles.tile_matrix_set_doc()
    if negotiate(request, params.f) == "html":
        rows = [[m["id"], f"{m['matrixWidth']} × {m['matrixHeight']}, 1:{m['scaleDenominator']:,.0f}"]
                for m in doc["tileMatrices"]]
        return _html_page(doc["title"], doc, params.lang, rows)
    return json_bytes(orjson.dumps(doc))


@router.get("/collections/{collectionId}/tiles", summary="Các bộ ô bản đồ vector của một lớp / A collection's "
            "vector tilesets", operation_id="getCollectionVectorTileSetsList",
            responses=documented(401, 404, model=TileSets, html=True))
def list_tilesets(request: Request, layer: Collection, params: QueryOf[CommonParams], base: BaseUrl):
    doc = ogc_tiles.tilesets_doc(layer, base, params.lang)
    if negotiate(request, params.f) == "html":
        return _html_page(f"{layer.meta.text('title', params.lang)} – tiles", doc, params.lang,
                          [[t["title"], t["tileMatrixSetURI"]] for t in doc["tilesets"]]
                          + [[lk["rel"], lk["href"]] for t in doc["tilesets"] for lk in t["links"]])
    return json_bytes(orjson.dumps(doc))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}",
            summary="Thông tin bộ ô bản đồ (OGC hoặc TileJSON) / Tileset metadata (OGC or TileJSON)",
            operation_id="getCollectionVectorTileSet",
            responses={**documented(401, 404, model=TileSet, html=True),
                       200: {"description": "OK", "content": {
                           "application/json": {"schema": {"$ref": "#/components/schemas/TileSet"}},
                           ogc_tiles.TILEJSON: {"schema": {"$ref": f"#/components/schemas/{TileJSON.__name__}"}},
                           "text/html": {"schema": {"type": "string"}}}}})
def get_tileset(request: Request, layer: Collection, tms: TileMatrixSetId, params: QueryOf[TileSetParams],
                base: BaseUrl):
    _known(tms)
    if params.f == "tilejson":
        return json_bytes(orjson.dumps(ogc_tiles.tilejson(layer, base, params.lang)), ogc_tiles.TILEJSON)
    doc = ogc_tiles.tileset_doc(layer, base, params.lang)
    if negotiate(request, params.f) == "html":
        template = next(lk["href"] for lk in doc["links"] if lk["rel"] == "item")
        rows = [["URL (QGIS, MapLibre)", ogc_tiles.tile_template(base, layer.id, ogc=False)],
                ["OGC template", template], ["zoom", f"{MIN_TILE_ZOOM}–{MAX_TILE_ZOOM}"],
                ["MVT layer", layer.id]]
        return _html_page(doc["title"], doc, params.lang, rows)
    return json_bytes(orjson.dumps(doc))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileCol}/{tileRow}",
            summary="Một ô bản đồ vector (MVT) / One vector tile (Mapbox Vector Tile)",
            operation_id="getCollectionVectorTile",
            description="z/x/y theo thứ tự XYZ (QGIS, MapLibre, Leaflet) / in XYZ order; one MVT layer named after "
                        "the collection with each feature's id and properties; a tile without features is an "
                        "empty layer (200). Header Planmap-Features-Omitted: features left out beyond the limits "
                        "of one tile.",
            responses=documented(401, 404, binary=(MVT_MEDIA_TYPE,)))
def get_tile(request: Request, layer: Collection, tms: TileMatrixSetId, z: TileMatrix, x: TileCol, y: TileRow,
             params: QueryOf[TileParams]):
    _known(tms)
    tile = request.app.state.tiles.get(layer, z, x, y)
    headers = {"ETag": tile.etag, "Cache-Control": TILE_CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if tile.omitted:
        headers["Planmap-Features-Omitted"] = str(tile.omitted)
    if tile.etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    body = tile.data
    if tile.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "").lower():
        body = tile.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=MVT_MEDIA_TYPE, headers=headers)

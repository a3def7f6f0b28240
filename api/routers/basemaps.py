"""The office's own base maps (`planmap serve --basemap FILE`): their list, each one's TileJSON, and their tiles.

A tile is read or rendered in the `basemaps` lane of the work pool (api/work.py): a GeoTIFF tile is warped and
encoded there, at most the lane's workers at once, and a tile whose client has gone (the map was panned on) is
not rendered at all.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BeforeValidator
from starlette.responses import Response

from api.deps import BaseUrl, Work
from api.models import Basemap as BasemapModel
from api.models import Basemaps as BasemapsModel
from api.ogc import link
from api.params import whole_number
from api.responses import JSON, documented, json_bytes
from geo.basemaps import MAX_ZOOM, MEDIA_TYPES, Basemap, Basemaps
from geo.errors import NotFound

router = APIRouter(tags=["Basemaps"])

# Tiles change only when the file is replaced (and the server restarted): browsers keep them an hour, then ask
# again with the ETag (which names the file's version) and get a 304 if nothing changed.
TILE_CACHE = "public, max-age=3600"
TILEJSON_VERSION = "3.0.0"

BasemapId = Annotated[str, Path(alias="basemapId", min_length=1, max_length=64,
                                description="Mã nền bản đồ / base map id (GET /basemaps)")]
Zoom = Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Mức thu phóng / zoom level"),
                 BeforeValidator(whole_number)]
Column = Annotated[int, Path(ge=0, le=(1 << MAX_ZOOM) - 1, description="Cột ô (từ tây) / tile column, from the west"),
                   BeforeValidator(whole_number)]
Row = Annotated[int, Path(ge=0, le=(1 << MAX_ZOOM) - 1, description="Hàng ô (từ bắc, XYZ) / tile row, from the north"),
                BeforeValidator(whole_number)]


async def basemaps(request: Request) -> Basemaps:
    return request.app.state.basemaps


Served = Annotated[Basemaps, Depends(basemaps)]


def tilejson(basemap: Basemap, base: str) -> dict:
    """One base map as TileJSON 3.0 (what MapLibre, QGIS and Leaflet plugins read), plus planmap's own members."""
    return {"tilejson": TILEJSON_VERSION, **basemap.describe(), "name": basemap.title, "scheme": "xyz",
            "tiles": [f"{base}/basemaps/{basemap.id}/{{z}}/{{x}}/{{y}}"]}


def _named(served: Basemaps, basemap_id: str) -> Basemap:
    found = served.get(basemap_id)
    if found is None:
        raise NotFound(f"there is no base map {basemap_id!r}", f"Không có nền bản đồ {basemap_id!r}")
    return found


@router.get("/basemaps", summary="Nền bản đồ / Base maps of this server", operation_id="getBasemaps",
            responses=documented(model=BasemapsModel))
def list_basemaps(served: Served, base: BaseUrl):
    """The backgrounds the map can switch to: the office's MBTiles, PMTiles and GeoTIFF files, each as TileJSON."""
    doc = {"basemaps": [tilejson(b, base) for b in served],
           "links": [link(f"{base}/basemaps", "self", JSON, "Nền bản đồ / Base maps")]}
    return json_bytes(orjson.dumps(doc))


@router.get("/basemaps/{basemapId}", summary="Một nền bản đồ (TileJSON) / One base map as TileJSON",
            operation_id="getBasemap", responses=documented(404, model=BasemapModel))
def get_basemap(basemap_id: BasemapId, served: Served, base: BaseUrl):
    return json_bytes(orjson.dumps(tilejson(_named(served, basemap_id), base)))


@router.get("/basemaps/{basemapId}/{z}/{x}/{y}", summary="Một ô của nền bản đồ / A tile of a base map",
            operation_id="getBasemapTile",
            responses={**documented(404, 503, binary=tuple(MEDIA_TYPES.values())),
                       204: {"description": "Ô trống trong phạm vi nền bản đồ / an empty tile inside the base map"},
                       304: {"description": "Không đổi / not modified (If-None-Match)"}})
async def get_basemap_tile(basemap_id: BasemapId, z: Zoom, x: Column, y: Row, served: Served, request: Request,
                           work: Work):
    """An XYZ tile (row 0 in the north) as the file stores it (gzipped vector tiles keep their Content-Encoding
    for clients that accept it) or, for a GeoTIFF, rendered as PNG; 204 for a tile the file leaves out inside its
    area and zoom range (nothing there), 404 outside them."""
    return await work["basemaps"].run(tile_response, served, basemap_id, z, x, y, request)


def tile_response(served: Basemaps, basemap_id: str, z: int, x: int, y: int, request: Request) -> Response:
    basemap = _named(served, basemap_id)
    etag = f'"{basemap.version}-{z}-{x}-{y}"'
    headers = {"Cache-Control": TILE_CACHE, "ETag": etag}
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    tile = basemap.tile(z, x, y)
    if tile is None and basemap.covers(z, x, y):  # in the area, nothing drawn there: an empty tile
        return Response(status_code=204, headers=headers)
    if tile is None:
        raise NotFound(f"base map {basemap_id!r} has no tile {z}/{x}/{y}",
                       f"Nền bản đồ {basemap_id!r} không có ô {z}/{x}/{y}")
    if tile.encoding is not None:
        if not accepts(request.headers.get("accept-encoding"), tile.encoding):
            tile = tile.decoded()
        headers["Vary"] = "Accept-Encoding"
    if tile.encoding is not None:
        headers["Content-Encoding"] = tile.encoding
    return Response(tile.data, media_type=tile.media_type, headers=headers)


def accepts(header: str | None, encoding: str) -> bool:
    """Whether an Accept-Encoding header takes `encoding` (by name or `*`, with a weight above 0)."""
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in (encoding, "*"):
            weight = params.strip().lower().removeprefix("q=")
            try:
                return not params.strip() or float(weight) > 0
            except ValueError:
                return False
    return False

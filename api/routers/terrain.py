"""Terrain as a layer: the elevation model in force (GET /terrain), its elevation and slope as GeoTIFFs on the
VN-2000 grid, the slope overlay of the map, and a planner's own DEM (PUT /terrain/dem).

Reading and warping the DEM runs in the `terrain` lane of the work pool; an upload in the `imports` lane.  The
functions are layers/terrain.py's.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Form
from starlette.responses import Response

from api.deps import Planner, Work, Ws
from api.models import TerrainDoc
from api.params import DemForm, QueryOf, TerrainRasterParams
from api.responses import documented, json_bytes
from geo.crs import METRIC_CRS, parse_crs, transform_bbox
from geo.errors import NotFound
from layers import terrain as terrain_layer
from layers.limits import FORM_OVERHEAD_BYTES, MAX_UPLOAD_BYTES

router = APIRouter(tags=["Terrain"])
TIFF = "image/tiff"
PNG = "image/png"


def _in_force(ws):
    found = ws.terrain
    if found is None:
        raise NotFound("no elevation model is loaded: terrain is unknown", "Máy chủ không có mô hình độ cao",
                       code="NoTerrain")
    return found


def _describe(ws) -> Response:
    found = ws.terrain
    doc = terrain_layer.describe(found, ws.terrain_source.uploaded())
    if found is not None:
        _, bounds = terrain_layer.slope_overlay(found)
        doc["overlay"] = {"href": "/terrain/slope.png", "bounds": list(bounds), "legend": doc["legend"]}
    return json_bytes(orjson.dumps(doc), headers={"Cache-Control": "no-store"})


@router.get("/terrain", operation_id="getTerrain",
            summary="Mô hình độ cao đang dùng, vùng phủ / The elevation model in force and its coverage",
            responses=documented(401, 503, model=TerrainDoc))
async def get_terrain(ws: Ws, work: Work):
    return await work["terrain"].run(_describe, ws)


def _surface(ws, what: str, params: TerrainRasterParams) -> Response:
    found = _in_force(ws)
    bounds = None
    if params.box is not None:
        bounds = transform_bbox(params.box, params.bbox_crs_value(), parse_crs(METRIC_CRS)).bounds
    data = terrain_layer.geotiff(found, what, params.cell, bounds)
    return Response(data, media_type=TIFF, headers={
        "Content-Disposition": f'attachment; filename="planmap-{what}.tif"', "Cache-Control": "no-store"})


@router.get("/terrain/elevation.tif", operation_id="getElevation",
            summary="Độ cao (m), GeoTIFF lưới VN-2000 / Elevation (m) as a GeoTIFF on the VN-2000 grid",
            responses=documented(401, 404, 413, 503, binary=(TIFF,)))
async def elevation_tif(params: QueryOf[TerrainRasterParams], ws: Ws, work: Work):
    return await work["terrain"].run(_surface, ws, "elevation", params)


@router.get("/terrain/slope.tif", operation_id="getSlope",
            summary="Độ dốc (độ), GeoTIFF lưới VN-2000 / Slope (degrees) as a GeoTIFF on the VN-2000 grid",
            responses=documented(401, 404, 413, 503, binary=(TIFF,)))
async def slope_tif(params: QueryOf[TerrainRasterParams], ws: Ws, work: Work):
    return await work["terrain"].run(_surface, ws, "slope", params)


def _overlay(ws) -> Response:
    png, _ = terrain_layer.slope_overlay(_in_force(ws))
    return Response(png, media_type=PNG, headers={"Cache-Control": "no-store"})


@router.get("/terrain/slope.png", operation_id="getSlopeOverlay",
            summary="Lớp phủ độ dốc cho bản đồ (Web Mercator; khung ở GET /terrain) / Slope overlay for the map",
            responses=documented(401, 404, 503, binary=(PNG,)))
async def slope_png(ws: Ws, work: Work):
    return await work["terrain"].run(_overlay, ws)


def _install(ws, form: DemForm, author: str) -> Response:
    ws.terrain_source.install(form.file.file, form.file.filename, author)
    return _describe(ws)


@router.put("/terrain/dem", operation_id="putDem",
            summary="Thay mô hình độ cao (cán bộ quy hoạch) / Replace the elevation model (planners)",
            max_body_size=MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES,
            responses=documented(401, 403, 413, 422, 503, model=TerrainDoc))
async def put_dem(who: Planner, ws: Ws, work: Work, form: Annotated[DemForm, Form(media_type="multipart/form-data")]):
    return await work["imports"].run(_install, ws, form, who.name)

"""Exports: data files for other agencies and print-ready maps, as downloads.

Route functions are plain `def`s: FastAPI runs them in its worker threads, so a long export does not block
other users' requests on the event loop.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from pydantic import ConfigDict
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from api.deps import dataset
from api.errors import ApiError, bad_request
from api.params import BboxParams, crs_param, validate_params
from layers.exports import FORMATS, ExportError, export_data
from layers.query import FeatureQuery, QueryError, parse_interval

router = APIRouter(tags=["Exports"])


class DataExportParams(BboxParams):
    """GET /exports/data: which collections, format, CRS and selection (other parameters filter properties)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    collections: str
    format: str
    crs: str | None = None
    datetime: str | None = None
    lang: str = "vi"



def _export_error(exc: ExportError) -> ApiError:
    return ApiError(exc.status, exc.en, exc.vi, "ExportError")


def _download(export) -> FileResponse:
    return FileResponse(export.path, media_type=export.media_type, filename=export.filename,
                        background=BackgroundTask(export.cleanup))


@router.get("/exports/data", summary="Download collections (GeoPackage, Shapefile, KML, GeoJSON, CSV, DXF, FlatGeobuf)")
def export_data_route(request: Request):
    params = validate_params(DataExportParams, request)
    if params.format not in FORMATS:
        raise bad_request(f"format: unknown format {params.format!r}; use one of {', '.join(FORMATS)}",
                          f"Định dạng {params.format!r} không được hỗ trợ")
    try:
        interval = parse_interval(params.datetime) if params.datetime else None
    except QueryError as exc:
        raise bad_request(f"datetime: {exc}") from None
    query = FeatureQuery(bbox=params.bbox, bbox_crs=crs_param(params.bbox_crs, "bbox-crs"),
                         filters={k: str(v) for k, v in (params.model_extra or {}).items()}, interval=interval)
    collections = [c.strip() for c in params.collections.split(",") if c.strip()]
    try:
        export = export_data(dataset(request), collections, params.format, crs_param(params.crs), query)
    except ExportError as exc:
        raise _export_error(exc) from None
    return _download(export)


class MapExportParams(BboxParams):
    """GET /exports/map: a print-ready map of a preset or chosen collections."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    preset: str = "cluster-plan-2030"
    size: str | None = None  # None: the preset's own paper
    orientation: str | None = None
    f: str = "pdf"
    dpi: int = 200
    collections: str | None = None
    title: str | None = None
    lang: str = "vi"



# Rendering is CPU-bound: at most two at a time, so a queue of big maps cannot starve other users' requests.
RENDER_SLOTS = threading.BoundedSemaphore(2)


@router.get("/exports/map", summary="A print-ready plan map (PDF or PNG)")
def export_map_route(request: Request):
    from web.printmap import PrintError, draw_plan, plan_map

    params = validate_params(MapExportParams, request)
    bbox_crs = crs_param(params.bbox_crs, "bbox-crs")
    collections = [c.strip() for c in params.collections.split(",") if c.strip()] if params.collections else None
    layers = dataset(request)
    try:  # validate and lay out first (milliseconds), so bad input is refused without waiting for a slot
        plan = plan_map(layers, preset=params.preset, collections=collections, bbox=params.bbox,
                        bbox_crs=bbox_crs.code, size=params.size, orientation=params.orientation, fmt=params.f,
                        dpi=params.dpi, title=params.title, lang=params.lang)
        with RENDER_SLOTS:
            body = draw_plan(layers, plan)
    except PrintError as exc:
        raise ApiError(getattr(exc, "status", 400), exc.en, exc.vi, "PrintError") from None
    media = "application/pdf" if params.f == "pdf" else "image/png"
    name = f"planmap_{params.preset}_{plan.size}_{plan.orientation}.{params.f}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


OPENAPI_PATHS = {
    "/exports/data": {"get": {
        "summary": "Tải dữ liệu / Download data", "operationId": "exportData", "tags": ["Exports"],
        "parameters": [
            {"name": "collections", "in": "query", "required": True, "schema": {"type": "string"},
             "description": "id[,id…]"},
            {"name": "format", "in": "query", "required": True, "schema": {"type": "string", "enum": list(FORMATS)}},
            {"$ref": "#/components/parameters/crs"}, {"$ref": "#/components/parameters/bbox"},
            {"$ref": "#/components/parameters/bbox-crs"}, {"$ref": "#/components/parameters/datetime"}],
        "responses": {"200": {"description": "Tệp / file", "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}}},
    "/exports/map": {"get": {
        "summary": "Bản đồ in / Print-ready map", "operationId": "exportMap", "tags": ["Exports"],
        "parameters": [
            {"name": "preset", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "size", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["A4", "A3", "A1"]}},
            {"name": "orientation", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["landscape", "portrait"]}},
            {"name": "f", "in": "query", "required": False, "schema": {"type": "string", "enum": ["pdf", "png"]}},
            {"name": "dpi", "in": "query", "required": False, "schema": {"type": "integer"}},
            {"name": "collections", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "title", "in": "query", "required": False, "schema": {"type": "string"}},
            {"$ref": "#/components/parameters/bbox"}, {"$ref": "#/components/parameters/bbox-crs"},
            {"$ref": "#/components/parameters/lang"}],
        "responses": {"200": {"description": "PDF / PNG", "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}}}},
            "400": {"$ref": "#/components/responses/Problem"}}}},
}

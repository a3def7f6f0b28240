"""Exports: data files for other agencies, print-ready maps and the offline copy of the web map, as downloads.

Each export is written or rendered in a lane of the work pool (api/work.py) — `exports` for files, `renders` for
maps — with a short queue and then 503, so big exports never starve other users.  The functions are
layers/exports.py's, web/printmap's and web/offline.py's.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from api import ogc
from api.deps import Caller, VisibleDataset, Work, Ws
from api.params import DataExportParams, MapExportParams, OfflineParams, QueryOf, split_ids
from api.responses import PDF, documented
from api.routers.map import home_bounds
from geo.cancel import checkpoint
from geo.crs import CRS84
from geo.errors import BadRequest, NotFound
from layers.access import ANONYMOUS, Principal
from layers.coverage import coverage
from layers.dataset import Dataset
from layers.exports import FORMATS, export_data
from layers.query import encode_rows
from web.offline import offline_map_zip

router = APIRouter(tags=["Exports"])
ZIP = "application/zip"
OFFLINE_META = ("id", "title", "titles", "group", "groupTitle", "geometryType", "numberOfFeatures", "accuracy",
                "attribution", "license")


@router.get("/exports/data", operation_id="exportData",
            summary="Tải dữ liệu (GeoPackage, Shapefile, KML, GeoJSON, CSV, DXF, FlatGeobuf) / Download data",
            description="Các tham số khác lọc theo thuộc tính / other parameters filter on properties",
            responses=documented(401, 404, 503, binary=tuple(dict.fromkeys(f.media_type for f in FORMATS.values()))
                                 + (ZIP,)))
async def export_data_route(params: QueryOf[DataExportParams], dataset: VisibleDataset, work: Work):
    export = await work["exports"].run(export_for, dataset, params)
    return FileResponse(export.path, media_type=export.media_type, filename=export.filename,
                        background=BackgroundTask(export.cleanup))


def export_for(dataset: Dataset, params: DataExportParams):
    """The export file a request asks for (its query and CRS read here, off the event loop)."""
    extras = None
    if params.coverage is not None:  # the network coverage table travels with the data (layers/coverage.py)
        table = coverage(dataset, params.coverage, params.coverage_distance_m)
        extras = {f"coverage_{params.coverage}.csv": table.csv()}
    return export_data(dataset, split_ids(params.collections), params.format, ogc.crs_param(params.crs),
                       params.query(params.property_filters()), extras=extras)


def render_plan_map(dataset: Dataset, params: MapExportParams) -> tuple[bytes, str]:
    """Lay out (validating the request) and draw a print map; returns the file and its name."""
    from web.printmap import draw_plan, plan_map

    if params.collections is not None and not split_ids(params.collections):
        raise BadRequest("collections: name at least one collection", "Hãy chọn ít nhất một lớp")

    plan = plan_map(dataset, preset=params.preset, collections=split_ids(params.collections) or None,
                    bbox=params.box, bbox_crs=params.bbox_crs_value().code, size=params.size,
                    orientation=params.orientation, fmt=params.f, dpi=params.dpi, title=params.title, lang=params.lang,
                    coverage=(params.coverage, params.coverage_distance_m) if params.coverage else None)
    return draw_plan(dataset, plan), f"planmap_{params.preset}_{plan.size}_{plan.orientation}.{params.f}"


@router.get("/exports/map", summary="Bản đồ in (PDF, PNG) / A print-ready plan map", operation_id="exportMap",
            responses=documented(401, 503, binary=(PDF, "image/png")))
async def export_map_route(params: QueryOf[MapExportParams], dataset: VisibleDataset, work: Work):
    return await work["renders"].run(plan_map_response, dataset, params)


def plan_map_response(dataset: Dataset, params: MapExportParams) -> Response:
    body, name = render_plan_map(dataset, params)
    return Response(body, media_type=PDF if params.f == "pdf" else "image/png",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def offline_copy_response(ws, who: Principal, collections: str | None, hillshade, lang: str) -> Response:
    """The offline copy as a download; the layers are read here, off the event loop (seeing them may mean
    catching up with the store)."""
    wanted = split_ids(collections)
    if not wanted:
        raise BadRequest("collections: name at least one collection", "Hãy chọn ít nhất một lớp")
    data = offline_copy(ws.view(who), ws.view(ANONYMOUS), wanted, hillshade, lang)
    return Response(data, media_type=ZIP, headers={"Content-Disposition": 'attachment; filename="planmap-offline.zip"'})


def offline_copy(everything: Dataset, public: Dataset, wanted: list[str], hillshade, lang: str) -> bytes:
    """The offline copy's zip: the chosen layers that are public (the copy leaves the building)."""
    unknown = [c for c in wanted if everything.get(c) is None]
    if unknown:
        raise NotFound(f"no such collection: {', '.join(unknown)}", f"Không có lớp: {', '.join(unknown)}")
    chosen = [c for c in wanted if public.get(c) is not None]
    if not chosen:
        raise BadRequest("only internal layers were chosen; the offline copy holds public layers only",
                         "Chỉ chọn lớp nội bộ; bản ngoại tuyến chỉ gồm các lớp công khai")
    docs, features = [], {}
    for cid in chosen:
        checkpoint()  # between layers: stop if whoever asked has gone
        layer = public.get(cid)
        doc = ogc.collection_doc(layer, "", lang)
        docs.append({k: doc[k] for k in OFFLINE_META if k in doc})  # what the page uses; no links, no CRS URIs
        features[cid] = b'{"type":"FeatureCollection","features":[' + encode_rows(layer, np.arange(len(layer)),
                                                                                 CRS84) + b"]}"
    from web.page import MapSettings  # folium: imported when first needed, not at start-up

    settings = MapSettings(home=home_bounds(public), hillshade_bounds=hillshade.bounds if hillshade else None)
    skipped = [c for c in wanted if c not in chosen]
    return offline_map_zip(settings, docs, features, hillshade.png if hillshade else None, skipped)


@router.get("/exports/offline-map", operation_id="exportOfflineMap",
            summary="Bản đồ ngoại tuyến (zip, mở từ ổ đĩa) / A standalone offline copy of the web map",
            responses=documented(401, 404, 503, binary=(ZIP,)))
async def get_offline_map(request: Request, params: QueryOf[OfflineParams], who: Caller, ws: Ws,
                          work: Work):
    """index.html + assets + the chosen public layers' data, opening from disk with no server and no internet."""
    return await work["exports"].run(offline_copy_response, ws, who, params.collections, request.app.state.hillshade,
                                     params.lang)

"""Analyses over grids: network coverage (GET /analysis/coverage and its distance raster).

Each analysis runs in the `analysis` lane of the work pool (about a second of numpy over a few million cells);
the event loop only awaits it.  The functions are layers/coverage.py's.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from api.deps import VisibleDataset, Work
from api.models import CoverageResult
from api.params import CoverageParams, CoverageRasterParams, QueryOf
from api.responses import documented, json_bytes
from layers.coverage import coverage
from layers.dataset import Dataset

router = APIRouter(tags=["Analysis"])
GEOTIFF = "image/tiff; application=geotiff"
CSV = "text/csv; charset=utf-8"


def coverage_response(dataset: Dataset, params: CoverageParams) -> Response:
    """The coverage as JSON (with the map overlays unless `overlay=false`) or its table as CSV."""
    result = coverage(dataset, params.network, params.distance_m, params.cell_m, params.as_of)
    if params.f == "csv":
        name = f"coverage_{params.network}_{params.distance_m:g}m.csv"
        return Response(result.csv(), media_type=CSV,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return json_bytes(orjson.dumps(result.document(params.lang, overlays=params.overlay),
                                   option=orjson.OPT_SERIALIZE_NUMPY))


@router.get("/analysis/coverage", operation_id="getCoverage",
            summary="Độ phủ mạng lưới cửa hàng xăng dầu / LPG / Network coverage of fuel and LPG stations",
            description="Khoảng cách (đường chim bay) từ mọi nơi trong tỉnh tới cửa hàng gần nhất, diện tích và dân "
                        "số ngoài khoảng cách D theo xã và huyện (trước 2025), trước và sau quy hoạch / straight-line "
                        "distance to the nearest station, area and population beyond D per commune and pre-2025 "
                        "district, before and after the planned stations",
            responses=documented(401, 404, 413, 422, 503, model=CoverageResult, binary=(CSV,)))
async def get_coverage(params: QueryOf[CoverageParams], dataset: VisibleDataset, work: Work):
    return await work["analysis"].run(coverage_response, dataset, params)


def raster_response(dataset: Dataset, params: CoverageRasterParams) -> Response:
    result = coverage(dataset, params.network, params.distance_m, params.cell_m, params.as_of)
    name = f"coverage_{params.network}_{params.state}_{params.cell_m:g}m.tif"
    return Response(result.geotiff(params.state), media_type=GEOTIFF,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/analysis/coverage/distance.tif", operation_id="getCoverageRaster",
            summary="Bản đồ khoảng cách tới cửa hàng gần nhất (GeoTIFF, VN-2000) / Distance raster (GeoTIFF)",
            description="Mét, đường chim bay; ngoài tỉnh là nodata / metres, straight-line; nodata outside the "
                        "province",
            responses=documented(401, 404, 413, 422, 503, binary=(GEOTIFF,)))
async def get_coverage_raster(params: QueryOf[CoverageRasterParams], dataset: VisibleDataset, work: Work):
    return await work["analysis"].run(raster_response, dataset, params)

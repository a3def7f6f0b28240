"""Supervising the plans: GET /indicators (the indicators on a day, by unit, against the plans' targets) and
GET /indicators/definitions (the indicators file).

The figures are layers/indicators.py's; they run in the `indicators` lane, because a past day may rebuild layers
from the store's revisions (warm, an answer takes milliseconds).
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from api.deps import Caller, Indicators, Work, Ws
from api.models import IndicatorDefinitions, IndicatorsResult
from api.params import IndicatorDefinitionsParams, IndicatorsParams, QueryOf
from api.responses import documented, json_bytes
from layers.history import province_today
from layers.indicators import IndicatorBook, compute, definitions, to_csv
from layers.workspace import Workspace

router = APIRouter(tags=["Indicators"])
CSV = "text/csv; charset=utf-8"


def indicators_response(workspace: Workspace, book: IndicatorBook, params: IndicatorsParams,
                        sees_internal: bool) -> Response:
    """The indicators as JSON, or their table as CSV."""
    workspace.refresh()
    day = params.date or province_today()
    doc = compute(workspace, book, day, by=params.by, since=params.since, lang=params.lang, plan=params.plan,
                  sees_internal=sees_internal)
    if params.f == "csv":
        name = f"indicators_{doc['date']}_{params.by}.csv"
        return Response(to_csv(doc), media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return json_bytes(orjson.dumps(doc))


@router.get("/indicators", operation_id="getIndicators",
            summary="Chỉ tiêu giám sát quy hoạch / Plan supervision indicators",
            description="Các chỉ tiêu (data/indicators.yaml) tính từ các lớp như vào cuối một ngày (theo các phiên "
                        "bản đã lưu và valid_from/valid_to), theo tỉnh, xã (2025) hoặc huyện (trước 2025), so với "
                        "chỉ tiêu quy hoạch và với ngày `since`; mỗi số liệu nêu độ chính xác của dữ liệu / the "
                        "indicators computed from the layers as they were at the end of a day (the store's "
                        "revisions and valid_from/valid_to), by province, 2025 commune or pre-2025 district, "
                        "against the plans' targets and the day `since`; every figure says how exact its data is",
            responses=documented(400, 401, 422, 503, model=IndicatorsResult, binary=(CSV,)))
async def get_indicators(params: QueryOf[IndicatorsParams], book: Indicators, ws: Ws, who: Caller, work: Work):
    sees_internal = who.sees_internal
    return await work["indicators"].run(indicators_response, ws, book, params, sees_internal)


@router.get("/indicators/definitions", operation_id="getIndicatorDefinitions",
            summary="Định nghĩa các chỉ tiêu / The indicators' definitions",
            description="Các quy hoạch và chỉ tiêu của tệp chỉ tiêu: định nghĩa, cách tính, chỉ tiêu và nguồn / the "
                        "plans and entries of the indicators file: definition, measure, target and its source",
            responses=documented(400, 422, 503, model=IndicatorDefinitions))
def get_indicator_definitions(params: QueryOf[IndicatorDefinitionsParams], book: Indicators):
    return json_bytes(orjson.dumps(definitions(book, params.plan, params.lang)))

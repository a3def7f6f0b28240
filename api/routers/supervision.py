"""The supervision page ("Thống kê / Giám sát quy hoạch") and its charts.

GET /supervision is a page of the web map (left out of /api, like /map); GET /indicators/chart draws one
indicator's chart as SVG (per unit, or at each year end) from the same computation as GET /indicators, in the
`indicators` lane of the work pool.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from api.deps import Caller, Indicators, Work, Ws
from api.models import IndicatorChart
from api.params import IndicatorChartParams, QueryOf
from api.responses import documented, json_bytes
from api.routers.map import _csp, home_bounds
from layers.history import province_today
from layers.indicator_series import check_series, indicator_series, one_indicator
from layers.indicators import IndicatorBook, compute
from layers.workspace import Workspace

router = APIRouter()
SVG = "image/svg+xml"


@router.get("/supervision", tags=["Map"], include_in_schema=False,
            summary="Thống kê / Giám sát quy hoạch / Supervising the plans")
def get_supervision(request: Request):
    from web.supervision import render_supervision_page

    page = render_supervision_page(home_bounds(request.app.state.dataset), province_today())
    return HTMLResponse(page, headers={"Content-Security-Policy": _csp(None), "Cache-Control": "no-cache",
                                       "X-Content-Type-Options": "nosniff"})


def chart_response(workspace: Workspace, book: IndicatorBook, params: IndicatorChartParams,
                   sees_internal: bool) -> Response:
    """The chart as SVG, or the figures it draws as JSON."""
    from web.charts import series_chart, units_chart

    day = params.date or province_today()
    single = one_indicator(book, params.indicator)  # 404, and the series' bound (413), before any work
    if params.kind == "series":
        check_series(day)
    workspace.refresh()
    if params.kind == "series":
        data = indicator_series(workspace, book, params.indicator, day, params.lang, sees_internal)
        doc = {"kind": "series", "indicator": params.indicator, "date": day.isoformat(), "points": data["points"]}
        svg = series_chart(data, params.lang) if params.f != "json" else ""
    else:
        found = compute(workspace, single, day, by=params.by, since=params.since, lang=params.lang,
                        sees_internal=sees_internal)
        ind = next((i for i in found["indicators"] if i["id"] == params.indicator), None)
        units = found["units"] or {}
        doc = {"kind": "units", "indicator": params.indicator, "date": day.isoformat(),
               "since": found["since"], "by": params.by, "units": found["units"],
               "by_unit": ind["by_unit"] if ind else []}
        svg = units_chart(ind or {"title": None, "unit": None, "by_unit": []}, units.get("layer", ""), params.lang) \
            if params.f != "json" else ""
    if params.f == "json":
        return json_bytes(orjson.dumps(doc))
    return Response(svg.encode("utf-8"), media_type=SVG, headers={"Cache-Control": "no-cache"})


@router.get("/indicators/chart", tags=["Indicators"], operation_id="getIndicatorChart",
            summary="Biểu đồ một chỉ tiêu (SVG) / Chart of one indicator (SVG)",
            description="kind=units: giá trị theo từng xã (2025) hoặc huyện (trước 2025), một cột mỗi đơn vị; "
                        "kind=series: giá trị toàn tỉnh vào cuối mỗi năm từ 2021 đến ngày `date`, với mục tiêu; "
                        "f=json: các số liệu của biểu đồ / kind=units: the value per 2025 commune or pre-2025 "
                        "district, one bar per unit; kind=series: the province's value at each year end from "
                        "2021 to `date`, with the target; f=json: the chart's figures",
            responses=documented(400, 401, 404, 413, 422, 503, model=IndicatorChart, binary=(SVG,)))
async def get_indicator_chart(params: QueryOf[IndicatorChartParams], book: Indicators, ws: Ws, who: Caller,
                              work: Work):
    sees_internal = who.sees_internal
    return await work["indicators"].run(chart_response, ws, book, params, sees_internal)

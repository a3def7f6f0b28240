"""The supervision page ("Thống kê / Giám sát quy hoạch") and its charts.

GET /supervision is a page of the web map (left out of /api, like /map); GET /indicators/chart draws one
indicator's chart as SVG (the indicator at each year end, or per unit) from the same computation as
GET /indicators, in the `analysis` lane of the work pool.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from api.routers.map import _csp, home_bounds

router = APIRouter(tags=["Map"], include_in_schema=False)


@router.get("/supervision", summary="Thống kê / Giám sát quy hoạch / Supervising the plans")
def get_supervision(request: Request):
    from web.supervision import render_supervision_page

    page = render_supervision_page(home_bounds(request.app.state.dataset), dt.date.today())
    return HTMLResponse(page, headers={"Content-Security-Policy": _csp(None), "Cache-Control": "no-cache",
                                       "X-Content-Type-Options": "nosniff"})

"""The yearly supervision report (GET /reports/yearly): the indicators of a year against the plans' targets and
the year before, as the department's A4 PDF or its tables as XLSX.

The report is rendered in the `renders` lane (the plan maps and pages take a few seconds); the year is checked
before any work is done.  The document is layers/yearly.py's, the files web/yearly's.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import Caller, Indicators, Work, Ws
from api.params import QueryOf, YearlyReportParams
from api.responses import PDF, documented
from layers.history import dataset_on, province_today
from layers.indicators import IndicatorBook
from layers.workspace import Workspace
from layers.yearly import report_dates, yearly_report

router = APIRouter(tags=["Reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def yearly_response(workspace: Workspace, book: IndicatorBook, params: YearlyReportParams,
                    sees_internal: bool) -> Response:
    """The report of `params.year` as a download (PDF with the plan maps, or the XLSX tables)."""
    from web.yearly import plan_maps, yearly_pdf, yearly_xlsx

    today = province_today()
    report_dates(params.year, today)  # a year outside the range is refused before anything is computed
    workspace.refresh()
    report = yearly_report(workspace, book, params.year, today=today, sees_internal=sees_internal)
    name = f"bao-cao-giam-sat-quy-hoach-{params.year}"
    if params.f == "xlsx":
        return Response(yearly_xlsx(report), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    day = dt.date.fromisoformat(report["date"])
    maps = plan_maps(dataset_on(workspace, day, sees_internal).dataset, params.lang, today=today)
    return Response(yearly_pdf(report, maps, params.lang), media_type=PDF,
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})


@router.get("/reports/yearly", operation_id="getYearlyReport",
            summary="Báo cáo giám sát thực hiện quy hoạch hằng năm (PDF, XLSX) / Yearly plan supervision report",
            description="Các chỉ tiêu tại 31/12 của năm (năm nay: đến hôm nay) so với mục tiêu quy hoạch và với "
                        "31/12 năm trước, theo xã (2025) và huyện (trước 2025), kèm biểu đồ, bản đồ hiện trạng, "
                        "nguồn và phụ lục truy xuất số liệu (PDF A4); hoặc các bảng (XLSX) / the indicators at the "
                        "year's end (this year: today) against the plans' targets and the previous year's end, by "
                        "2025 commune and pre-2025 district, with charts, plan maps, sources and a traceability "
                        "appendix (A4 PDF); or the tables (XLSX)",
            responses=documented(401, 422, 503, binary=(PDF, XLSX)))
async def get_yearly_report(params: QueryOf[YearlyReportParams], book: Indicators, ws: Ws, who: Caller, work: Work):
    return await work["renders"].run(yearly_response, ws, book, params, who.sees_internal)

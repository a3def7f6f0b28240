"""Compliance checks of proposed sites (POST /checks) and the rules they apply (GET /rules).

A check runs in the `checks` lane of the work pool (a large polygon with a PDF report takes seconds); the event
loop only awaits it.  The functions are layers/checking.py's and web/reports.py's.
"""

from __future__ import annotations

import datetime as dt

import orjson
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from api import html
from api.deps import Caller, Engine, Work
from api.models import CheckReport, Rules
from api.params import BodyOf, CheckParams, FeatureIn, JsonBody, ProposalIn, QueryOf, RulesParams, negotiate
from api.responses import GEOJSON, PDF, documented, json_bytes
from geo.cancel import checkpoint
from geo.geojson import vertex_count
from layers.access import Principal
from layers.checking import check_feature
from layers.checks import CheckEngine
from layers.limits import (
    MAX_CHECK_VERTICES_ANONYMOUS,
    MAX_CHECK_VERTICES_PLANNER,
    MAX_PROPOSAL_BYTES,
    check_vertices,
)
from layers.measures import evidence_roles
from layers.rules import PROPOSAL_KIND_LABELS
from web.reports import CONFIDENCE, report_html, report_pdf

router = APIRouter(tags=["Checks"])


def rules_doc(checks: CheckEngine, day: dt.date, kind: str | None, lang: str) -> dict:
    """The rules in force on `day` (for `kind`) and those switched off in the rules file (`enabled: false`, listed
    so a planner sees what could be switched on), the proposal kinds, and the evidence roles reports draw."""
    rules = checks.rules.in_force(day, kind) + checks.rules.disabled(kind)
    return {"as_of": day.isoformat(), "kinds": {k: v[lang] for k, v in PROPOSAL_KIND_LABELS.items()},
            "kind_labels": PROPOSAL_KIND_LABELS,
            "rules": [{**r.model_dump(mode="json", by_alias=True, exclude_none=True),
                       "title_text": getattr(r.title, lang)} for r in rules],
            "roles": {name: role.to_dict() for name, role in evidence_roles().items()}}


def _rules_html(doc: dict, lang: str) -> str:
    rows = [[f"<code>{html.escape(r['id'])}</code>",
             r["title_text"] + ("" if r.get("enabled", True) else " (đang tắt / switched off)"),
             ", ".join(r["applies_to"]),
             "—" if r.get("threshold") is None else f"{r['threshold']:g} {r['unit']}", r["severity"],
             "; ".join(f"{b['document']} {b['article']}" for b in r["legal_basis"]),
             CONFIDENCE[r["confidence"]][lang],
             f"{r['in_force'].get('from') or '…'} → {r['in_force'].get('to') or '…'}"] for r in doc["rules"]]
    return html.table(["id", "", "áp dụng / applies to", "ngưỡng / threshold", "mức / severity",
                       "căn cứ / legal basis", "độ tin cậy / confidence", "hiệu lực / in force"], rows, raw_first=True)


@router.get("/rules", summary="Quy tắc đang có hiệu lực / The planning rules in force", operation_id="getRules",
            responses=documented(401, 503, model=Rules, html=True))
def list_rules(request: Request, params: QueryOf[RulesParams], checks: Engine):
    doc = rules_doc(checks, params.as_of or dt.date.today(), params.kind, params.lang)
    if negotiate(request, params.f) == "html":
        return html.page("Quy tắc kiểm tra / Planning rules", _rules_html(doc, params.lang), params.lang)
    return json_bytes(orjson.dumps(doc))


def render_report(report: dict, fmt: str, lang: str) -> Response:
    """The report as JSON, a printable HTML page, or an A4 PDF (rendering is CPU work: call it in a worker)."""
    if fmt == "html":
        return HTMLResponse(report_html(report, lang))
    if fmt == "pdf":
        return Response(report_pdf(report, lang), media_type=PDF,
                        headers={"Content-Disposition": 'inline; filename="planmap-check.pdf"'})
    return json_bytes(orjson.dumps(report))


def check_and_render(checks: CheckEngine, body: JsonBody[ProposalIn], params: CheckParams, request: Request,
                     who: Principal) -> Response:
    """The whole of `POST /checks` off the event loop: decoding the body, the vertex bound, then the rules, then
    the report (in the format asked for by `f` or the request's Accept header)."""
    proposal = body.parse()
    check_proposal_size(proposal, who)
    fmt = params.f or negotiate(request, None)
    report = check_feature(checks, proposal.as_geojson(), crs=params.crs, as_of=params.as_of, lang=params.lang)
    checkpoint()  # the client may have gone while the rules ran: then no report is rendered
    return render_report(report, fmt, params.lang)


def check_proposal_size(feature: FeatureIn, who: Principal) -> None:
    """Refuse (413) a proposal with more vertices than this caller may have checked, before any work."""
    limit = MAX_CHECK_VERTICES_PLANNER if who.can("planner") else MAX_CHECK_VERTICES_ANONYMOUS
    check_vertices(vertex_count(feature.geometry_json()), limit, "the proposal", "Đề xuất")


@router.post("/checks", summary="Kiểm tra địa điểm đề xuất / Check a proposed site", operation_id="postCheck",
             max_body_size=MAX_PROPOSAL_BYTES,
             responses=documented(401, 413, 422, 503, model=CheckReport, html=True, binary=(PDF,)))
async def post_check(request: Request, params: QueryOf[CheckParams], checks: Engine, work: Work, who: Caller,
                     feature: BodyOf[ProposalIn, GEOJSON]):
    return await work["checks"].run(check_and_render, checks, feature, params, request, who)

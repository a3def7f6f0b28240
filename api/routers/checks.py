"""Compliance checks of proposed sites (POST /checks) and the rules they apply (GET /rules)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import HTMLResponse, Response

from api import html
from api.deps import engine
from api.errors import ApiError, bad_request
from api.params import crs_param, json_body, negotiate, validate_params
from layers.checks import CheckEngine
from layers.proposals import ProposalError, from_feature
from layers.report import build_reports
from layers.rules import PROPOSAL_KIND_LABELS
from web.reports import CONFIDENCE, report_html, report_pdf

router = APIRouter(tags=["Checks"])
MAX_BODY = 2_000_000  # bytes: a proposal is one feature, not a dataset


class CheckParams(BaseModel):
    """Query parameters of POST /checks."""

    model_config = ConfigDict(extra="forbid")
    f: Literal["json", "html", "pdf"] | None = None
    lang: Literal["vi", "en"] = "vi"
    crs: str | None = None
    as_of: dt.date | None = None


class RulesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    f: str | None = None
    lang: Literal["vi", "en"] = "vi"
    as_of: dt.date | None = None
    kind: str | None = None


def rules_doc(checks: CheckEngine, day: dt.date, kind: str | None, lang: str) -> dict:
    """The rules in force on `day` (for `kind`), as plain JSON."""
    rules = checks.rules.in_force(day, kind)
    return {"as_of": day.isoformat(), "kinds": {k: v[lang] for k, v in PROPOSAL_KIND_LABELS.items()},
            "rules": [{**r.model_dump(mode="json", by_alias=True, exclude_none=True),
                       "title_text": getattr(r.title, lang)} for r in rules]}


@router.get("/rules", summary="The planning rules in force")
def list_rules(request: Request):
    params = validate_params(RulesParams, request)
    checks = engine(request)
    if params.kind is not None and params.kind not in PROPOSAL_KIND_LABELS:
        raise bad_request(f"kind: unknown proposal kind {params.kind!r}; use one of {', '.join(PROPOSAL_KIND_LABELS)}",
                          f"Loại đề xuất không hợp lệ: {params.kind!r}")
    doc = rules_doc(checks, params.as_of or dt.date.today(), params.kind, params.lang)
    if negotiate(request, params.f) == "html":
        rows = [[f"<code>{html.escape(r['id'])}</code>", r["title_text"], ", ".join(r["applies_to"]),
                 "—" if r.get("threshold") is None else f"{r['threshold']:g} {r['unit']}", r["severity"],
                 "; ".join(f"{b['document']} {b['article']}" for b in r["legal_basis"]),
                 CONFIDENCE[r["confidence"]][params.lang],
                 f"{r['in_force'].get('from') or '…'} → {r['in_force'].get('to') or '…'}"] for r in doc["rules"]]
        body = html.table(["id", "", "áp dụng / applies to", "ngưỡng / threshold", "mức / severity",
                           "căn cứ / legal basis", "độ tin cậy / confidence", "hiệu lực / in force"], rows,
                          raw_first=True)
        return html.page("Quy tắc kiểm tra / Planning rules", body, params.lang)
    return Response(orjson.dumps(doc), media_type="application/json")


def check_one(checks: CheckEngine, body: object, params: CheckParams) -> dict:
    """Validate a proposal Feature and build its report (plain function: tests call it directly)."""
    crs = crs_param(params.crs)
    try:
        proposals, as_of = from_feature(body, params.crs)
    except ProposalError as exc:
        raise ApiError(422 if isinstance(body, dict) and body.get("type") == "Feature" else 400, exc.en, exc.vi,
                       "InvalidProposal") from None
    day = params.as_of or as_of or dt.date.today()
    return build_reports(checks, proposals, day, params.lang, crs)[0]


@router.post("/checks", summary="Check a proposed site against the plans and the rules")
async def post_check(request: Request):
    params = validate_params(CheckParams, request)
    checks = engine(request)
    report = check_one(checks, await json_body(request, MAX_BODY), params)
    fmt = params.f or ("html" if negotiate(request, None) == "html" else "json")
    if fmt == "html":
        return HTMLResponse(report_html(report, params.lang))
    if fmt == "pdf":
        return Response(report_pdf(report, params.lang), media_type="application/pdf",
                        headers={"Content-Disposition": 'inline; filename="planmap-check.pdf"'})
    return Response(orjson.dumps(report), media_type="application/json")


OPENAPI_PATHS = {
    "/rules": {"get": {
        "summary": "Quy tắc đang có hiệu lực / The planning rules in force", "operationId": "getRules",
        "tags": ["Checks"],
        "parameters": [{"$ref": "#/components/parameters/f"}, {"$ref": "#/components/parameters/lang"},
                       {"name": "as_of", "in": "query", "required": False,
                        "schema": {"type": "string", "format": "date"}},
                       {"name": "kind", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": list(PROPOSAL_KIND_LABELS)}}],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": {"$ref": "#/components/responses/Problem"}}}},
    "/checks": {"post": {
        "summary": "Kiểm tra địa điểm đề xuất / Check a proposed site", "operationId": "postCheck",
        "tags": ["Checks"],
        "parameters": [
            {"name": "f", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["json", "html", "pdf"]}},
            {"$ref": "#/components/parameters/lang"}, {"$ref": "#/components/parameters/crs"},
            {"name": "as_of", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}}],
        "requestBody": {"required": True, "content": {"application/geo+json": {"schema": {
            "$ref": "#/components/schemas/Feature"}}, "application/json": {"schema": {
                "$ref": "#/components/schemas/Feature"}}}},
        "responses": {
            "200": {"description": "Báo cáo / report", "content": {
                "application/json": {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
            "400": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}}},
}

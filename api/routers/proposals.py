"""The proposals register: planners save a checked proposal with its report and a status; it is a map layer.

Checking and saving run in the work pool; the functions are layers/checking.py's and layers/register.py's.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path
from pydantic import BeforeValidator
from starlette.responses import Response

from api.deps import BaseUrl, Engine, IfMatch, Planner, Work, Ws
from api.models import ProposalSaved, Written
from api.params import BodyOf, JsonBody, ProposalIn, ProposalParams, QueryOf, StatusChange, whole_number
from api.responses import GEOJSON, documented, json_bytes
from api.routers.checks import check_proposal_size
from layers import features, register
from layers.access import Principal
from layers.checking import check_feature, report_geometry84
from layers.checks import CheckEngine
from layers.limits import MAX_PROPOSAL_BYTES, MAX_SMALL_BODY_BYTES

router = APIRouter(tags=["Proposals"])
ProposalId = Annotated[int, Path(alias="proposalId", ge=1, le=2**62), BeforeValidator(whole_number)]


def check_and_save(checks: CheckEngine, ws, body: JsonBody[ProposalIn], params: ProposalParams, who: Principal,
                   base: str) -> Response:
    """Check a proposal and file it in the register with its report (all of it off the event loop, decoding the
    body included)."""
    proposal = body.parse()
    check_proposal_size(proposal, who)
    feature = proposal.as_geojson()
    status = register.check_status((feature.get("properties") or {}).get("status", "submitted"))
    report = check_feature(checks, feature, crs=params.crs, as_of=params.as_of, lang=params.lang)
    fid, revision = register.save_proposal(ws, report, report_geometry84(report), status, who.name)
    saved = {"id": fid, "revision": revision.id, "verdict": report["verdict"], "status": status}
    return json_bytes(orjson.dumps(saved), status=201,
                      headers={"Location": f"{base}/collections/{register.LAYER}/items/{fid}"})


def decide(ws, proposal_id: int, body: JsonBody[StatusChange], author: str, if_match: str | None) -> Response:
    """Set a proposal's status and answer with its new entity tag."""
    status = body.parse().status
    revision = register.set_status(ws, proposal_id, status, author, if_match)
    tag = features.etag_of(ws, register.LAYER, proposal_id)
    return json_bytes(orjson.dumps({"id": proposal_id, "status": status, "revision": revision.id}),
                      headers={"ETag": tag} if tag else None)


@router.post("/proposals", status_code=201, operation_id="saveProposal",
             summary="Kiểm tra và lưu đề xuất kèm báo cáo (cán bộ quy hoạch) / Check a proposal and save it",
             max_body_size=MAX_PROPOSAL_BYTES,
             responses=documented(401, 403, 409, 413, 422, 503, model=ProposalSaved, status=201))
async def create_proposal(params: QueryOf[ProposalParams], who: Planner, checks: Engine, ws: Ws,
                          work: Work, base: BaseUrl, feature: BodyOf[ProposalIn, GEOJSON]):
    return await work["writes"].run(check_and_save, checks, ws, feature, params, who, base)


@router.post("/proposals/{proposalId}/status", operation_id="setProposalStatus", max_body_size=MAX_SMALL_BODY_BYTES,
             summary="Duyệt hoặc từ chối đề xuất đã lưu (cán bộ quy hoạch) / Approve or reject a saved proposal",
             responses=documented(401, 403, 404, 409, 412, 413, 503, model=Written))
async def change_status(proposal_id: ProposalId, who: Planner, change: BodyOf[StatusChange], ws: Ws, work: Work,
                        if_match: IfMatch = None):
    return await work["writes"].run(decide, ws, proposal_id, change, who.name, if_match)

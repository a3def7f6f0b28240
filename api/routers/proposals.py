"""The proposals register: planners save a checked proposal with its report and a status; it is a map layer."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from shapely.geometry import shape
from starlette.responses import Response

from api.deps import base_url, engine, require, workspace
from api.errors import ApiError, bad_request, not_found
from api.params import json_body, validate_params
from api.routers.checks import CheckParams, check_one
from geo.crs import CRS84, parse_crs, transform_geometries
from layers.workspace import WorkspaceError

router = APIRouter(tags=["Proposals"])
LAYER = "proposals"
STATUSES = ("submitted", "approved", "rejected")


def save_proposal(ws, report: dict, geometry84, status: str, author: str) -> tuple[int, int]:
    """Append one checked proposal to the `proposals` layer (a new layer is internal: proposals are drafts)."""
    props = report["proposal"]["properties"]
    row = {
        "name": props.get("name"), "kind": report["kind"], "status": status, "verdict": report["verdict"],
        "as_of": report["as_of"], "checked_by": author,
        "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commune": (report["context"].get("commune") or {}).get("name"),
        "district_pre2025": (report["context"].get("district_pre2025") or {}).get("name"),
        "report": orjson.dumps(report).decode(),
        "source": f"planmap proposals register ({author})", "accuracy": props.get("accuracy") or "approximate",
    }
    is_new = ws.dataset.get(LAYER) is None
    created: dict[str, int] = {}

    def change(current: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
        fid = int(current.index.max()) + 1 if current is not None and len(current) else 1
        created["fid"] = fid
        new = gpd.GeoDataFrame([row], geometry=[geometry84], crs="OGC:CRS84", index=[fid])
        if current is None:
            return new
        if current.geometry.name != new.geometry.name:
            new = new.rename_geometry(current.geometry.name)
        return gpd.GeoDataFrame(pd.concat([current, new]), geometry=current.geometry.name, crs="OGC:CRS84")

    if is_new:  # internal before it exists, so it is never public for a moment
        ws.set_internal(LAYER, True, author)
    revision = ws.modify(LAYER, change, author=author, action="create")
    return created["fid"], revision.id


@router.post("/proposals", status_code=201, summary="Check a proposal and save it with its report (planners)")
async def create_proposal(request: Request):
    who = require(request, "planner")
    params = validate_params(ProposalParams, request)
    body = await json_body(request, 2_000_000)
    status = ((body or {}).get("properties") or {}).get("status", "submitted") if isinstance(body, dict) else None
    if status not in STATUSES:
        raise bad_request(f"status must be one of {', '.join(STATUSES)}", "Trạng thái không hợp lệ")
    report = check_one(engine(request), body, CheckParams(lang=params.lang, crs=params.crs, as_of=params.as_of))
    geom = shape(report["proposal"]["geometry"])
    if params.crs:
        geom = transform_geometries(np.array([geom], dtype=object), parse_crs(params.crs), CRS84)[0]
    try:
        fid, revision = save_proposal(workspace(request), report, geom, status, who.name)
    except WorkspaceError as exc:
        raise ApiError(exc.status, exc.en, exc.vi) from None
    return Response(orjson.dumps({"id": fid, "revision": revision, "verdict": report["verdict"], "status": status}),
                    status_code=201, media_type="application/json",
                    headers={"Location": f"{base_url(request)}/collections/{LAYER}/items/{fid}"})


class ProposalParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lang: Literal["vi", "en"] = "vi"
    crs: str | None = None
    as_of: dt.date | None = None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["submitted", "approved", "rejected"]


@router.post("/proposals/{proposal_id}/status", summary="Approve or reject a saved proposal (planners)")
async def change_status(proposal_id: int, request: Request):
    who = require(request, "planner")
    try:
        change = StatusChange.model_validate_json(await request.body())
    except ValueError as exc:
        raise bad_request(f"send {{\"status\": submitted|approved|rejected}}: {exc}",
                          "Trạng thái không hợp lệ") from None
    ws = workspace(request)
    frame = ws.current_frame(LAYER)
    if frame is None or proposal_id not in frame.index:
        raise not_found(f"proposal {proposal_id} does not exist", f"Không có đề xuất {proposal_id}")

    def set_status(current: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        current.at[proposal_id, "status"] = change.status
        return current

    revision = ws.modify(LAYER, set_status, author=who.name, action="replace")
    return Response(orjson.dumps({"id": proposal_id, "status": change.status, "revision": revision.id}),
                    media_type="application/json")

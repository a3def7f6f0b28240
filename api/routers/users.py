"""User accounts: admins create users and hand them a bearer token (only its hash is kept)."""

from __future__ import annotations

import re
from typing import Literal

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from api.deps import require, workspace
from api.errors import ApiError, bad_request
from layers.access import hash_token, new_token
from layers.revisions import Store

router = APIRouter(tags=["Users"])


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    role: Literal["viewer", "planner", "admin"]


def add_user(store: Store, name: str, role: str, created_by: str) -> str:
    """Create (or re-key) a user; returns the token to hand over — it is not stored and cannot be shown again."""
    if not re.fullmatch(r"[\w.@-]{1,64}", name):
        raise ValueError("a user name is letters, digits and . @ - _")
    token = new_token()
    store.add_user(name, role, hash_token(token), created_by)
    return token


@router.post("/users", status_code=201, summary="Create a user and get their token (admins)")
async def create_user(request: Request):
    who = require(request, "admin")
    try:
        body = NewUser.model_validate_json(await request.body())
    except ValueError as exc:
        raise bad_request(f"send {{\"name\": …, \"role\": viewer|planner|admin}}: {exc}",
                          "Cần {\"name\": …, \"role\": viewer|planner|admin}") from None
    store = workspace(request).store
    if store is None:
        raise ApiError(503, "this server has no writable store", "Máy chủ không có kho dữ liệu ghi được")
    try:
        token = add_user(store, body.name, body.role, who.name)
    except ValueError as exc:
        raise bad_request(str(exc), "Tên người dùng không hợp lệ") from None
    return Response(orjson.dumps({"name": body.name, "role": body.role, "token": token}), status_code=201,
                    media_type="application/json")


@router.get("/users", summary="List users (admins)")
def list_users(request: Request):
    require(request, "admin")
    store = workspace(request).store
    return Response(orjson.dumps({"users": store.users() if store else []}), media_type="application/json")

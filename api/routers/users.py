"""User accounts: admins create users and hand them a bearer token (only its hash is kept)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Body

from api.deps import Admin, Ws
from api.models import UserCreated, Users
from api.params import NewUser
from api.responses import documented, json_bytes
from layers.accounts import add_user, list_users

router = APIRouter(tags=["Users"])


@router.post("/users", status_code=201, operation_id="createUser",
             summary="Tạo tài khoản và mã truy cập (quản trị) / Create a user and get their token (admins)",
             responses=documented(401, 403, 503, model=UserCreated, status=201))
def create_user(body: Annotated[NewUser, Body()], who: Admin, ws: Ws):
    token = add_user(ws.store, body.name, body.role, who.name)
    return json_bytes(orjson.dumps({"name": body.name, "role": body.role, "token": token}), status=201)


@router.get("/users", operation_id="listUsers", summary="Danh sách tài khoản (quản trị) / List users (admins)",
            responses=documented(401, 403, model=Users))
def get_users(who: Admin, ws: Ws):
    return json_bytes(orjson.dumps({"users": list_users(ws.store)}))

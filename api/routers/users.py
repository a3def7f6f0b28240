"""User accounts (admins): create a user and hand them a bearer token (only its hash is kept), list accounts,
issue a new token (the old one stops working), disable and re-enable a user.  The functions are
layers/accounts.py's, which `planmap users …` calls too."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path

from api.deps import Admin, Ws
from api.models import TokenIssued, User, UserCreated, Users
from api.params import JSON_MEDIA, BodyOf, NewToken, NewUser
from api.responses import documented, json_bytes
from layers.accounts import add_user, issue_token, list_users, set_enabled
from layers.limits import MAX_SMALL_BODY_BYTES

router = APIRouter(tags=["Users"])
UserName = Annotated[str, Path(alias="userName", min_length=1, max_length=64, pattern=r"^[\w.@-]+$",
                               description="Tên người dùng / user name")]


@router.post("/users", status_code=201, operation_id="createUser", max_body_size=MAX_SMALL_BODY_BYTES,
             summary="Tạo tài khoản và mã truy cập (quản trị) / Create a user and get their token (admins)",
             responses=documented(400, 401, 403, 409, 413, 503, model=UserCreated, status=201))
def create_user(who: Admin, request_body: BodyOf[NewUser], ws: Ws):
    body = request_body.parse()
    return json_bytes(orjson.dumps(add_user(ws.store, body.name, body.role, who.name, body.days)), status=201)


@router.get("/users", operation_id="listUsers", summary="Danh sách tài khoản (quản trị) / List users (admins)",
            responses=documented(401, 403, model=Users))
def get_users(who: Admin, ws: Ws):
    return json_bytes(orjson.dumps({"users": list_users(ws.store)}))


@router.post("/users/{userName}/token", operation_id="issueToken", max_body_size=MAX_SMALL_BODY_BYTES,
             summary="Cấp mã truy cập mới, mã cũ hết hiệu lực (quản trị) / Issue a new token; the old one stops "
                     "working (admins)", responses=documented(400, 401, 403, 404, 413, 503, model=TokenIssued))
def new_token(user: UserName, who: Admin, ws: Ws, request_body: BodyOf[NewToken, JSON_MEDIA, False]):
    body = request_body.parse()
    return json_bytes(orjson.dumps(issue_token(ws.store, user, body.days if body else None)))


@router.post("/users/{userName}/disable", operation_id="disableUser",
             summary="Khóa tài khoản (quản trị) / Disable a user: their token stops working (admins)",
             responses=documented(401, 403, 404, 503, model=User))
def disable_user(user: UserName, who: Admin, ws: Ws):
    return json_bytes(orjson.dumps(set_enabled(ws.store, user, False)))


@router.post("/users/{userName}/enable", operation_id="enableUser",
             summary="Mở lại tài khoản (quản trị) / Enable a disabled user again (admins)",
             responses=documented(401, 403, 404, 503, model=User))
def enable_user(user: UserName, who: Admin, ws: Ws):
    return json_bytes(orjson.dumps(set_enabled(ws.store, user, True)))

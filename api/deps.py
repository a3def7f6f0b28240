"""Shared request helpers: who is asking, the dataset they may see, the service's base URL."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from api.errors import ApiError
from layers.access import ANONYMOUS, Principal, hash_token, same_secret
from layers.checks import CheckEngine
from layers.dataset import Dataset
from layers.workspace import Workspace


def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def principal(request: Request) -> Principal:
    """The caller, from an `Authorization: Bearer <token>` header (anonymous without one; 401 for a bad one)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization")
    who = ANONYMOUS
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "use an `Authorization: Bearer <token>` header", "Cần tiêu đề Authorization: Bearer",
                           "Unauthorized")
        admin_token = request.app.state.admin_token
        if admin_token and same_secret(token, admin_token):
            who = Principal("admin", "admin")
        else:
            store = workspace(request).store
            found = store.user_by_token_hash(hash_token(token)) if store is not None else None
            if found is None:
                raise ApiError(401, "the token is not valid", "Mã truy cập không hợp lệ", "Unauthorized")
            who = Principal(*found)
    request.state.principal = who
    return who


def require(request: Request, role: str) -> Principal:
    """The caller, if they hold at least `role`: 401 for anonymous callers, 403 for too low a role."""
    who = principal(request)
    if not who.can(role):
        if who.role == "anonymous":
            raise ApiError(401, f"sign in: this needs the {role} role (Authorization: Bearer <token>)",
                           f"Cần đăng nhập với vai trò {role}", "Unauthorized")
        raise ApiError(403, f"the {who.role} role may not do this; it needs {role}",
                       f"Vai trò {who.role} không được phép; cần {role}", "Forbidden")
    return who


def dataset(request: Request) -> Dataset:
    """The layers this caller may see: internal layers only for planners and admins."""
    return workspace(request).view(principal(request))


def engine(request: Request) -> CheckEngine:
    """The compliance engine over exactly the caller's layers, so internal layers never appear as evidence."""
    found = workspace(request).engine(dataset(request))
    if found is None:
        raise ApiError(503, "no rules are loaded on this server", "Máy chủ chưa nạp bộ quy tắc", "NoRules")
    return found


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def json_response(body: bytes, media_type: str = "application/json", headers: dict | None = None) -> Response:
    return Response(body, media_type=media_type, headers=headers)

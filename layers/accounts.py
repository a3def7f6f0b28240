"""User accounts: an admin creates a user and hands over a bearer token; only the token's hash is kept."""

from __future__ import annotations

import re

from geo.errors import BadRequest, Unavailable
from layers.access import ROLES, hash_token, new_token
from layers.revisions import Store

USER_NAME = re.compile(r"[\w.@-]{1,64}")


def _writable(store: Store | None) -> Store:
    if store is None:
        raise Unavailable("this server has no writable store", "Máy chủ không có kho dữ liệu ghi được")
    return store


def add_user(store: Store | None, name: str, role: str, created_by: str) -> str:
    """Create (or re-key) a user; returns the token to hand over — it is not stored and cannot be shown again."""
    if not USER_NAME.fullmatch(name):
        raise BadRequest("a user name is 1–64 letters, digits and . @ - _",
                         "Tên người dùng gồm 1–64 chữ cái, chữ số và . @ - _")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}", f"Vai trò phải là một trong: {', '.join(ROLES)}")
    token = new_token()
    _writable(store).add_user(name, role, hash_token(token), created_by)
    return token


def list_users(store: Store | None) -> list[dict]:
    """Every account (never a token)."""
    return store.users() if store is not None else []

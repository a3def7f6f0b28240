"""User accounts: an admin creates a user and hands over a bearer token; only the token's hash is kept.

A token lasts a limited time — DEFAULT_TOKEN_DAYS unless the admin gives another lifetime (at most
MAX_TOKEN_DAYS) when creating the user or issuing a new token; `PLANMAP_TOKEN_DAYS` changes the default of a
deployment.  An expired token, a disabled user's token and an unknown token are all refused (401), each with its
own reason.  Issuing a new token makes the old one stop working at once.  The deployment's own admin token
(`PLANMAP_ADMIN_TOKEN`) is not a user and does not expire: it is how a fresh deployment is administered.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from geo.errors import BadRequest, Conflict, NotFound, Unauthorized, Unavailable
from layers.access import ROLES, Principal, hash_token, new_token
from layers.revisions import RevisionStore

USER_NAME = re.compile(r"[\w.@-]{1,64}")
DEFAULT_TOKEN_DAYS = 90  # a token's lifetime when the admin names none (a quarter: long enough, not forever)
MAX_TOKEN_DAYS = 730  # the longest lifetime an admin may give (two years)
TOKEN_DAYS_SETTING = "PLANMAP_TOKEN_DAYS"  # environment variable: the deployment's default lifetime in days


def _writable(store: RevisionStore | None) -> RevisionStore:
    if store is None:
        raise Unavailable("this server has no writable store", "Máy chủ không có kho dữ liệu ghi được")
    return store


def default_token_days() -> int:
    """The default lifetime: `PLANMAP_TOKEN_DAYS` when set (1 … MAX_TOKEN_DAYS), else DEFAULT_TOKEN_DAYS."""
    raw = os.environ.get(TOKEN_DAYS_SETTING, "").strip()
    if not raw:
        return DEFAULT_TOKEN_DAYS
    return check_days(int(raw) if raw.isdigit() else raw, TOKEN_DAYS_SETTING)


def check_days(days: object, name: str = "days") -> int:
    """A token lifetime in whole days, 1 … MAX_TOKEN_DAYS."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise BadRequest(f"{name} must be a whole number of days from 1 to {MAX_TOKEN_DAYS}, not {days!r}",
                         f"{name} phải là số ngày nguyên từ 1 đến {MAX_TOKEN_DAYS}, không phải {days!r}")
    return days


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _expiry(days: int | None) -> str:
    return _stamp(_now() + dt.timedelta(days=check_days(days) if days is not None else default_token_days()))


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not USER_NAME.fullmatch(name):
        raise BadRequest("a user name is 1–64 letters, digits and . @ - _",
                         "Tên người dùng gồm 1–64 chữ cái, chữ số và . @ - _")
    return name


def _no_such_user(name: str) -> NotFound:
    return NotFound(f"there is no user {name!r}", f"Không có người dùng {name!r}")


def add_user(store: RevisionStore | None, name: str, role: str, created_by: str, days: int | None = None) -> dict:
    """Create a user; returns {name, role, token, expires} — the token is not stored and cannot be shown again.

    An existing name is refused (409): a new token for it is `issue_token`, so nobody takes over an account by
    creating it again."""
    _check_name(name)
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}", f"Vai trò phải là một trong: {', '.join(ROLES)}")
    token, expires = new_token(), _expiry(days)
    if not _writable(store).add_user(name, role, hash_token(token), created_by, expires):
        raise Conflict(f"user {name!r} exists; give them a new token with `planmap users token {name}` "
                       f"(POST /users/{name}/token)", f"Người dùng {name!r} đã có; cấp mã mới bằng "
                       f"`planmap users token {name}`")
    return {"name": name, "role": role, "token": token, "expires": expires}


def issue_token(store: RevisionStore | None, name: str, days: int | None = None) -> dict:
    """A new token for an existing user; their old token stops working at once.  Returns {name, token, expires}."""
    _check_name(name)
    token, expires = new_token(), _expiry(days)
    if not _writable(store).set_token(name, hash_token(token), expires):
        raise _no_such_user(name)
    return {"name": name, "token": token, "expires": expires}


def set_enabled(store: RevisionStore | None, name: str, enabled: bool) -> dict:
    """Disable a user (every request with their token is refused) or enable them again (the same token works,
    if it has not expired)."""
    _check_name(name)
    if not _writable(store).set_disabled(name, not enabled):
        raise _no_such_user(name)
    return next(u for u in list_users(store) if u["name"] == name)


def list_users(store: RevisionStore | None) -> list[dict]:
    """Every account (never a token), with when its token expires and whether it is disabled or expired."""
    if store is None:
        return []
    now = _now()
    return [{**u, "expires": _expires_of(u), "expired": _expires_at(u) <= now} for u in store.users()]


def _expires_at(user: dict) -> dt.datetime:
    """When a user's token expires; a token from before expiry existed lasts the default from its issue."""
    if user.get("expires"):
        return dt.datetime.fromisoformat(user["expires"].replace("Z", "+00:00"))
    issued = dt.datetime.fromisoformat(str(user.get("token_issued") or user.get("created")).replace("Z", "+00:00"))
    if issued.tzinfo is None:
        issued = issued.replace(tzinfo=dt.UTC)
    return issued + dt.timedelta(days=default_token_days())


def _expires_of(user: dict) -> str:
    return _stamp(_expires_at(user))


def authenticate(store: RevisionStore | None, token: str) -> Principal:
    """The user a token belongs to, or 401 saying why not: unknown, expired (and when), or the user disabled."""
    found = store.user_by_token_hash(hash_token(token)) if store is not None else None
    if found is None:
        raise Unauthorized("the token is not valid", "Mã truy cập không hợp lệ", code="InvalidToken")
    if found["disabled"]:
        raise Unauthorized(f"the account {found['name']!r} is disabled; ask an admin to enable it",
                           f"Tài khoản {found['name']!r} đã bị khóa; hãy liên hệ quản trị viên",
                           code="AccountDisabled")
    expires = _expires_at(found)
    if expires <= _now():
        day = expires.date().isoformat()
        raise Unauthorized(f"the token expired on {day}; ask an admin for a new one (planmap users token NAME)",
                           f"Mã truy cập đã hết hạn ngày {day}; hãy đề nghị quản trị viên cấp mã mới",
                           code="TokenExpired")
    return Principal(found["name"], found["role"])

"""FastAPI dependencies: who is asking, what they may see, the collection a path names, the engine, the work pool.

A route declares what it needs (`who: Planner`, `layer: Collection`, `engine: Engine`) and FastAPI resolves it
before the route runs; refusals (401, 403, 404, 503) are PlanmapErrors, turned into problem documents by
api/errors.py.  Declaring the bearer scheme here also puts it in the generated API definition.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.work import WorkPools
from geo.errors import BadRequest, Forbidden, NotFound, Unauthorized, Unavailable
from layers.access import ANONYMOUS, Principal, hash_token, same_secret
from layers.checks import CheckEngine
from layers.dataset import Dataset, Layer
from layers.workspace import Workspace

bearer = HTTPBearer(auto_error=False, scheme_name="bearerAuth",
                    description="Mã truy cập của cán bộ / a planner's token (`planmap users add`)")


def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def work(request: Request) -> WorkPools:
    return request.app.state.work


def caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
           ) -> Principal:
    """The person behind the request: anonymous without a token, 401 for a token that is not valid."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    who = ANONYMOUS
    if request.headers.get("authorization"):
        if credentials is None or not credentials.credentials.strip():
            raise Unauthorized("use an `Authorization: Bearer <token>` header", "Cần tiêu đề Authorization: Bearer")
        who = _principal_of(request, credentials.credentials.strip())
    request.state.principal = who
    return who


def _principal_of(request: Request, token: str) -> Principal:
    admin_token = request.app.state.admin_token
    if admin_token and same_secret(token, admin_token):
        return Principal("admin", "admin")
    store = workspace(request).store
    found = store.user_by_token_hash(hash_token(token)) if store is not None else None
    if found is None:
        raise Unauthorized("the token is not valid", "Mã truy cập không hợp lệ")
    return Principal(*found)


def require_role(role: str):
    """A dependency giving the caller if they hold at least `role`: 401 for anonymous callers, 403 for too low."""
    def dependency(who: Annotated[Principal, Depends(caller)]) -> Principal:
        if not who.can(role):
            if who.role == "anonymous":
                raise Unauthorized(f"sign in: this needs the {role} role (Authorization: Bearer <token>)",
                                   f"Cần đăng nhập với vai trò {role}")
            raise Forbidden(f"the {who.role} role may not do this; it needs {role}",
                            f"Vai trò {who.role} không được phép; cần {role}")
        return who

    dependency.__name__ = f"require_{role}"
    return dependency


def visible_dataset(request: Request, who: Annotated[Principal, Depends(caller)]) -> Dataset:
    """The layers this caller may see: internal layers only for planners and admins."""
    return workspace(request).view(who)


def collection(collection_id: Annotated[str, Path(alias="collectionId", description="Mã lớp dữ liệu / collection id")],
               dataset: Annotated[Dataset, Depends(visible_dataset)]) -> Layer:
    """The collection the path names, if this caller may see it (404 otherwise: internal layers do not exist for
    anonymous users)."""
    layer = dataset.get(collection_id)
    if layer is None:
        raise NotFound(f"collection {collection_id!r} does not exist", f"Không có lớp dữ liệu {collection_id!r}")
    return layer


def check_engine(request: Request, dataset: Annotated[Dataset, Depends(visible_dataset)]) -> CheckEngine:
    """The compliance engine over exactly the caller's layers, so internal layers never appear as evidence."""
    found = workspace(request).engine(dataset)
    if found is None:
        raise Unavailable("no rules are loaded on this server", "Máy chủ chưa nạp bộ quy tắc", code="NoRules")
    return found


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def no_repeated_parameters(request: Request) -> None:
    """Every query parameter at most once: a repeated one is a client mistake, never silently the first or last."""
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in seen:
            raise BadRequest(f"parameter {key!r} is given more than once", f"Tham số {key!r} bị lặp lại")
        seen.add(key)


Caller = Annotated[Principal, Depends(caller)]
Planner = Annotated[Principal, Depends(require_role("planner"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
VisibleDataset = Annotated[Dataset, Depends(visible_dataset)]
Collection = Annotated[Layer, Depends(collection)]
Engine = Annotated[CheckEngine, Depends(check_engine)]
Work = Annotated[WorkPools, Depends(work)]
Ws = Annotated[Workspace, Depends(workspace)]
BaseUrl = Annotated[str, Depends(base_url)]

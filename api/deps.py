"""FastAPI dependencies: who is asking, what they may see, the collection a path names, the engine, the work pool.

A route declares what it needs (`who: Planner`, `layer: Collection`, `engine: Engine`) and FastAPI resolves it
before the route runs; refusals (401, 403, 404, 503) are PlanmapErrors, turned into problem documents by
api/errors.py.  Declaring the bearer scheme here also puts it in the generated API definition.

The dependencies are `async def` and only look things up in memory, because FastAPI runs every plain `def`
dependency through its thread pool (a hop of ~0.3 ms each, five of them per read); the two that may touch the
store — a token lookup, and the once-a-second check for other processes' commits — await a thread for that.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.work import ClientLanes
from geo.errors import BadRequest, Forbidden, NotFound, PlanmapError, Unauthorized, Unavailable
from layers.access import ANONYMOUS, Principal, same_secret
from layers.accounts import authenticate
from layers.checks import CheckEngine
from layers.dataset import Dataset, Layer
from layers.indicators import IndicatorBook
from layers.limits import MAX_QUERY_STRING_BYTES
from layers.workspace import Workspace

bearer = HTTPBearer(auto_error=False, scheme_name="bearerAuth",
                    description="Mã truy cập của cán bộ / a planner's token (`planmap users add`)")


async def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


async def work(request: Request) -> ClientLanes:
    """The lanes of heavy work, tied to this request: its jobs are cancelled if its client disconnects."""
    return request.app.state.work.for_client(request.receive)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def caller(request: Request, credentials: Credentials) -> Principal:
    """The person behind the request: anonymous without a token, 401 for a token that is not valid."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    who = ANONYMOUS
    if request.headers.get("authorization"):
        if credentials is None or not credentials.credentials.strip():
            raise Unauthorized("use an `Authorization: Bearer <token>` header", "Cần tiêu đề Authorization: Bearer")
        who = await run_in_threadpool(principal_of, request, credentials.credentials.strip())
    request.state.principal = who
    return who


def principal_of(request: Request, token: str) -> Principal:
    """Whose token this is: the deployment's admin token, or a user of the store (401 otherwise: unknown, expired
    or disabled, each with its reason)."""
    admin_token = request.app.state.admin_token
    if admin_token and same_secret(token, admin_token):
        return Principal("admin", "admin")
    return authenticate(request.app.state.workspace.store, token)


def require_role(role: str):
    """A dependency giving the caller if they hold at least `role`: 401 for anonymous callers, 403 for too low."""
    async def dependency(who: Annotated[Principal, Depends(caller)]) -> Principal:
        if not who.can(role):
            if who.role == "anonymous":
                raise Unauthorized(f"sign in: this needs the {role} role (Authorization: Bearer <token>)",
                                   f"Cần đăng nhập với vai trò {role}")
            raise Forbidden(f"the {who.role} role may not do this; it needs {role}",
                            f"Vai trò {who.role} không được phép; cần {role}")
        return who

    dependency.__name__ = f"require_{role}"
    return dependency


async def visible_dataset(request: Request, who: Annotated[Principal, Depends(caller)]) -> Dataset:
    """The layers this caller may see: internal layers only for planners and admins."""
    ws = request.app.state.workspace
    if ws.behind():  # another worker of this host committed: read what its author expects to read back (and a
        # layer just hidden is hidden from everyone at once)
        await run_in_threadpool(ws.catch_up)
    elif ws.refresh_due():  # another process's commits are caught up with in a thread of their own
        ws.refresh(wait=False)
    return ws.snapshot(who.sees_internal)


CollectionId = Annotated[str, Path(alias="collectionId", description="Mã lớp dữ liệu / collection id")]
FeatureId = Annotated[str, Path(alias="featureId", description="Mã đối tượng / feature id")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="Chỉ ghi nếu đối tượng vẫn ở trạng thái này "
                                                                    "(ETag đã đọc) / write only if the feature is "
                                                                    "still in this state (the ETag read)")]


async def collection(collection_id: CollectionId,
               dataset: Annotated[Dataset, Depends(visible_dataset)]) -> Layer:
    """The collection the path names, if this caller may see it (404 otherwise: internal layers do not exist for
    anonymous users)."""
    layer = dataset.get(collection_id)
    if layer is None:
        raise NotFound(f"collection {collection_id!r} does not exist", f"Không có lớp dữ liệu {collection_id!r}")
    return layer


async def check_engine(request: Request, dataset: Annotated[Dataset, Depends(visible_dataset)]) -> CheckEngine:
    """The compliance engine over exactly the caller's layers, so internal layers never appear as evidence (built
    lazily: its metric layers and indexes are made by the checks themselves, in a worker)."""
    found = request.app.state.workspace.engine(dataset)
    if found is None:
        raise Unavailable("no rules are loaded on this server", "Máy chủ chưa nạp bộ quy tắc", code="NoRules")
    return found


async def indicator_book(request: Request) -> IndicatorBook:
    """The indicators file the server loaded (503 when it has none)."""
    book = getattr(request.app.state, "indicators", None)
    if book is None:
        raise Unavailable("no indicators are loaded on this server", "Máy chủ chưa nạp bộ chỉ tiêu",
                          code="NoIndicators")
    return book


async def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def no_repeated_parameters(request: Request) -> None:
    """Every query parameter at most once: a repeated one is a client mistake, never silently the first or last.

    It runs on the event loop for every request, so the query's length is checked first (MAX_QUERY_STRING_BYTES:
    a 414 before any parsing); what follows is a scan of at most that many bytes."""
    if len(request.scope.get("query_string", b"")) > MAX_QUERY_STRING_BYTES:
        raise PlanmapError(f"the query is longer than {MAX_QUERY_STRING_BYTES} bytes",
                           f"Chuỗi truy vấn dài quá {MAX_QUERY_STRING_BYTES} byte", status=414, code="URITooLong")
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
Work = Annotated[ClientLanes, Depends(work)]
Ws = Annotated[Workspace, Depends(workspace)]
BaseUrl = Annotated[str, Depends(base_url)]
Indicators = Annotated[IndicatorBook, Depends(indicator_book)]

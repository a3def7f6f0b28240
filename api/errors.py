"""One handler turns every refusal into an RFC 7807 problem document (JSON), in English and Vietnamese.

Domain code raises `geo.errors.PlanmapError` subclasses; FastAPI's own validation errors and Starlette's HTTP
errors (404 for an unknown path, 405, 413 from the body limit) get the same shape.  Nothing else converts errors.

A 413 from the body limit says the route's limit and closes the connection: the rest of the body is never read
(uvicorn would otherwise read and discard it all, keeping the connection for the next request).
"""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.responses import Response
from starlette.routing import compile_path

from geo.errors import PlanmapError

log = logging.getLogger("planmap")

PROBLEM_JSON = "application/problem+json"
_HTTP_VI = {404: "Không tìm thấy tài nguyên", 405: "Phương thức không được hỗ trợ",
            413: "Nội dung gửi lên quá lớn", 415: "Kiểu nội dung không được hỗ trợ"}
_HTTP_EN = {413: "the request body is larger than this route accepts"}
_HTTP_CODES = {400: "InvalidParameterValue", 404: "NotFound", 405: "MethodNotAllowed", 406: "NotAcceptable",
               413: "PayloadTooLarge", 500: "ServerError"}


def body_too_large(limit: int | None) -> PlanmapError:
    """The refusal of a body over its route's limit (`limit` bytes, when known)."""
    if limit is None:
        return PlanmapError(_HTTP_EN[413], _HTTP_VI[413], status=413, code=_HTTP_CODES[413])
    vi_limit = f"{limit:,}".replace(",", ".")
    return PlanmapError(f"{_HTTP_EN[413]} ({limit:,} bytes)", f"{_HTTP_VI[413]} (tối đa {vi_limit} byte)", status=413,
                        code=_HTTP_CODES[413], details={"limit_bytes": limit})


def problem_response(error: PlanmapError) -> Response:
    return Response(orjson.dumps(error.problem()), status_code=error.status, media_type=PROBLEM_JSON,
                    headers=error.headers or None)


# How a Vietnamese message names a parameter or body member (the English message uses its own name).
_VI_NAMES = {"f": "Định dạng", "format": "Định dạng", "lang": "Ngôn ngữ", "crs": "Hệ tọa độ",
             "bbox-crs": "Hệ tọa độ của bbox", "bbox": "Khung bbox", "limit": "Số đối tượng mỗi trang (limit)",
             "offset": "Vị trí bắt đầu (offset)", "datetime": "Thời gian (datetime)", "size": "Khổ giấy",
             "orientation": "Hướng giấy", "dpi": "Độ phân giải (dpi)", "preset": "Mẫu bản đồ", "kind": "Loại đề xuất",
             "as_of": "Ngày áp dụng (as_of)", "q": "Từ khóa (q)", "collections": "Các lớp (collections)",
             "status": "Trạng thái", "role": "Vai trò", "name": "Tên", "internal": "Chế độ nội bộ",
             "title": "Tiêu đề", "type": "Kiểu (type)", "geometry": "Hình học", "file": "Tệp", "mode": "Chế độ nhập",
             "accuracy": "Độ chính xác", "encoding": "Bảng mã"}


def _vi_message(err: dict, where: str, given: object) -> str:
    """The Vietnamese sentence for one pydantic error, by its type."""
    name = _VI_NAMES.get(where, where)
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    shown = f" {given!r}" if given is not None else ""
    if kind in ("literal_error", "enum"):
        return f"{name}{shown} không được hỗ trợ; dùng một trong: {str(ctx.get('expected', '')).replace(' or ', ', ')}"
    if kind in ("less_than_equal", "less_than"):
        return f"{name}{shown} phải {'≤' if kind == 'less_than_equal' else '<'} {ctx.get('le', ctx.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{name}{shown} phải {'≥' if kind == 'greater_than_equal' else '>'} {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("int_parsing", "float_parsing", "int_from_float", "int_type", "float_type"):
        return f"{name}{shown} phải là số"
    if kind.startswith("date"):
        return f"{name}{shown} phải là ngày YYYY-MM-DD"
    if kind == "missing":
        return f"Thiếu {name}"
    if kind == "extra_forbidden":
        return f"Tham số không xác định: {where}"
    if kind == "json_invalid":
        return "Nội dung gửi lên không phải JSON"
    if kind in ("string_too_short", "string_too_long", "string_pattern_mismatch"):
        return f"{name}{shown} không đúng độ dài hoặc dạng cho phép"
    return f"{name}{shown} không hợp lệ"


def validation_error(exc: RequestValidationError) -> PlanmapError:
    """FastAPI's validation errors as one 400 that names every bad parameter or body member, in both languages."""
    en, vi, fields = [], [], []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path", "header", "form"))
        fields.append(where.removeprefix("properties.") if where else "body")
        refusal = (err.get("ctx") or {}).get("error")
        if isinstance(refusal, PlanmapError):  # a validator's own refusal already says it in both languages
            name = _VI_NAMES.get(where, where)
            en.append(refusal.en if refusal.en.startswith(where) else f"{where}: {refusal.en}")
            vi.append(refusal.vi if refusal.vi.startswith((where, name)) else f"{name}: {refusal.vi}")
            continue
        given = err.get("input")
        if not (isinstance(given, (str, int, float)) and not isinstance(given, bool) and len(str(given)) <= 80) \
                or err.get("type") == "missing":
            given = None
        msg = "unknown parameter" if err.get("type") == "extra_forbidden" else \
            str(err.get("msg", "invalid")).removeprefix("Value error, ")
        en.append(f"{where or 'body'}: {msg}" + (f" (given: {given!r})" if given is not None else ""))
        vi.append(_vi_message(err, where or "body", given))
    return PlanmapError("; ".join(en) or "invalid request", "; ".join(vi) or "Yêu cầu không hợp lệ",
                        details={"field": fields[0]} if fields else None)  # the first one named, as writes do


class PlainErrorsAsProblems:
    """ASGI middleware: an error answered by the server's plumbing as plain text (Starlette's body limit replies
    `413 Content Too Large` itself when the Content-Length is over the route's limit) becomes a problem document
    like every other refusal.  ASGI middleware is a coroutine by nature; it only looks at response headers and,
    for a refusal, encodes a problem of a few hundred bytes — no I/O, no work that grows with the request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_problem(message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] >= 400:
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                status = message["status"]
                if headers.get(b"content-type", b"").startswith(b"text/plain"):
                    replaced = True
                    error = body_too_large(scope.get(MAX_BODY_SIZE_SCOPE_KEY)) if status == 413 else \
                        PlanmapError(_HTTP_EN.get(status, "request refused"), _HTTP_VI.get(status), status=status,
                                     code=_HTTP_CODES.get(status, "Error"))
                    body = orjson.dumps(error.problem())
                    await send({"type": "http.response.start", "status": status,
                                "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                            (b"content-length", str(len(body)).encode()),
                                            *([(b"connection", b"close")] if status == 413 else [])]})
                    await send({"type": "http.response.body", "body": body})
                    return
                if status == 413 and b"connection" not in headers:  # the body may be unread: do not read on
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            if replaced:
                return  # the plain body is dropped: the problem was sent whole
            await send(message)

        await self.app(scope, receive, send_problem)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path, for a 405's `Allow` (RFC 9110 §15.5.6).

    Starlette names only the first route whose path matched, and planmap serves one path from several routers
    (GET items is a read, POST items a Part 4 edit): its `Allow: GET` would hide the POST.
    """
    table = getattr(request.app.state, "allow_table", None)
    if table is None:
        from api.openapi import api_routes  # here: api.openapi imports (through api.ogc) this module

        table = request.app.state.allow_table = [(compile_path(r.path)[0], frozenset(r.methods))
                                                 for r in api_routes(request.app)]
    path = request.scope.get("path", "")
    return ", ".join(sorted({m for pattern, methods in table if pattern.match(path) for m in methods}))


def install_handlers(app: FastAPI) -> None:
    """Plain `def` handlers: Starlette runs them in its thread pool, so logging an incident or building the 405's
    `Allow` table never holds the event loop."""
    @app.exception_handler(PlanmapError)
    def _planmap(_: Request, exc: PlanmapError) -> Response:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    def _validation(_: Request, exc: RequestValidationError) -> Response:
        return problem_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 413:  # the body limit, counted while the body streamed in
            return problem_response(body_too_large(request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        error = PlanmapError(str(exc.detail), _HTTP_VI.get(exc.status_code), status=exc.status_code,
                             code=_HTTP_CODES.get(exc.status_code, "Error"), headers=headers)
        return problem_response(error)

    @app.exception_handler(Exception)
    def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return problem_response(PlanmapError("internal error; the incident was logged",
                                             "Lỗi hệ thống; sự cố đã được ghi lại", status=500, code="ServerError"))

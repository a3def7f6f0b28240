"""Errors as RFC 7807 problem documents (JSON), in English and Vietnamese, never a bare 500 for bad input."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("planmap")

PROBLEM_JSON = "application/problem+json"

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           406: "Not Acceptable", 409: "Conflict", 413: "Payload Too Large", 415: "Unsupported Media Type",
           422: "Unprocessable Content", 500: "Internal Server Error"}
_CODES = {400: "InvalidParameterValue", 404: "NotFound", 405: "MethodNotAllowed", 406: "NotAcceptable",
          500: "ServerError"}


class ApiError(Exception):
    """A request the service refuses, with what was wrong in English and in Vietnamese."""

    def __init__(self, status: int, detail: str, detail_vi: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.detail_vi = detail_vi or detail
        self.code = code or _CODES.get(status, "Error")


def problem(status: int, detail: str, detail_vi: str | None = None, code: str | None = None) -> Response:
    body = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "code": code or _CODES.get(status, "Error"),
        "detail": detail,
        "detail_vi": detail_vi or detail,
        "description": detail,  # OGC exception schema field
    }
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON)


def bad_request(detail: str, detail_vi: str | None = None) -> ApiError:
    return ApiError(400, detail, detail_vi)


def not_found(detail: str, detail_vi: str | None = None) -> ApiError:
    return ApiError(404, detail, detail_vi)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return problem(exc.status, exc.detail, exc.detail_vi, exc.code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body"))
            parts.append(f"{where}: {err.get('msg')}")
        detail = "; ".join(parts) or "invalid request"
        return problem(400, detail, f"Yêu cầu không hợp lệ: {detail}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        vi = {404: "Không tìm thấy tài nguyên", 405: "Phương thức không được hỗ trợ"}.get(exc.status_code)
        return problem(exc.status_code, str(exc.detail), vi)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "internal error; the incident was logged", "Lỗi hệ thống; sự cố đã được ghi lại")

"""Responses: ready-made JSON bytes with their media type, and how routes document what they answer."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response

from api.errors import PROBLEM_JSON

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
PDF = "application/pdf"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"

_PROBLEM_TEXT = {400: "Yêu cầu không hợp lệ / bad request", 401: "Cần đăng nhập / sign in",
                 403: "Không đủ quyền / not allowed", 404: "Không tìm thấy / not found",
                 409: "Xung đột / conflict",
                 412: "Đối tượng đã bị người khác sửa / changed by someone else since read",
                 413: "Quá lớn / too large", 422: "Không dùng được / unprocessable",
                 503: "Bận hoặc chưa cấu hình / busy or not configured"}


# Responses from this size on are compressed for clients that accept gzip (smaller ones are not worth it).
GZIP_MINIMUM_BYTES = 4096


def json_bytes(body: bytes, media_type: str = JSON, headers: dict | None = None, status: int = 200) -> Response:
    """A response whose body is already JSON bytes (features are encoded once, at load)."""
    return Response(body, status_code=status, media_type=media_type, headers=headers)


def problems(*codes: int) -> dict:
    """The problem responses a route may give (400 always: every route validates its input)."""
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {code: {"description": _PROBLEM_TEXT.get(code, "Problem"), "content": {PROBLEM_JSON: ref}}
            for code in sorted({400, *codes})}


def ok(model: type[BaseModel] | None, media: str = JSON, *, html: bool = False, status: int = 200,
       description: str = "OK", binary: tuple[str, ...] = ()) -> dict:
    """The success response of a route: `model` (a model of api/models.py, whose schema the API definition
    carries) as `media`, plus HTML for people, or binary files."""
    content: dict = {}
    if model is not None:
        content[media] = {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
    if html:
        content[HTML] = {"schema": {"type": "string"}}
    for kind in binary:
        content[kind] = {"schema": {"type": "string", "format": "binary"}}
    return {status: {"description": description, **({"content": content} if content else {})}}


def documented(*codes: int, model: type[BaseModel] | None = None, media: str = JSON, html: bool = False,
               status: int = 200, binary: tuple[str, ...] = ()) -> dict:
    """`responses=` for a route: its success and its problems."""
    return {**ok(model, media, html=html, status=status, binary=binary), **problems(*codes)}

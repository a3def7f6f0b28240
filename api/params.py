"""Query parameters, validated by pydantic models, and format negotiation (`f` or the Accept header)."""

from __future__ import annotations

import math
from typing import Literal

import orjson
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api.errors import bad_request
from geo.crs import SupportedCrs, UnsupportedCrsError, parse_crs

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100

Format = Literal["json", "html"]
Lang = Literal["vi", "en"]


def negotiate(request: Request, f: str | None) -> Format:
    """`f=json|html` wins; otherwise HTML only when the client prefers it (a browser), JSON for clients."""
    if f is not None:
        if f in ("json", "geojson"):
            return "json"
        if f == "html":
            return "html"
        raise bad_request(f"f={f!r} is not offered; use f=json or f=html",
                          f"Định dạng f={f!r} không được hỗ trợ; dùng f=json hoặc f=html")
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        html_at = accept.find("text/html")
        json_at = min((accept.find(t) for t in ("application/json", "application/geo+json") if t in accept),
                      default=-1)
        if json_at == -1 or html_at < json_at:
            return "html"
    return "json"


class CommonParams(BaseModel):
    """Parameters every resource accepts."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    f: str | None = None
    lang: Lang = "vi"


class BboxParams(BaseModel):
    """A `bbox` (4 or 6 numbers) with its `bbox-crs`, shared by items and exports."""

    model_config = ConfigDict(populate_by_name=True)

    bbox: tuple[float, float, float, float] | tuple[float, float, float, float, float, float] | None = None
    bbox_crs: str | None = Field(None, alias="bbox-crs")

    @field_validator("bbox", mode="before")
    @classmethod
    def _split_bbox(cls, value: object) -> object:
        if isinstance(value, str):
            parts = value.split(",")
            if len(parts) not in (4, 6) or any(p.strip() == "" for p in parts):
                raise ValueError("bbox needs 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy")
            return tuple(parts)
        return value

    @field_validator("bbox")
    @classmethod
    def _check_bbox(cls, value: tuple | None) -> tuple | None:
        if value is None:
            return None
        if not all(math.isfinite(v) for v in value):
            raise ValueError("bbox numbers must be finite")
        if len(value) == 6:  # 3D bbox: drop the heights
            value = (value[0], value[1], value[3], value[4])
        if value[0] > value[2] or value[1] > value[3]:
            raise ValueError("bbox lower corner must not exceed its upper corner")
        return value


class ItemsParams(CommonParams, BboxParams):
    """`/collections/{id}/items`: the OGC API – Features Part 1 and Part 2 parameters."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    crs: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)
    datetime: str | None = None


class ItemParams(CommonParams):
    """`/collections/{id}/items/{fid}`."""

    crs: str | None = None


def validate_params(model: type[BaseModel], request: Request) -> BaseModel:
    """Parse the query string with a model, turning every problem into a 400 that names the parameter."""
    raw: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in raw:
            raise bad_request(f"parameter {key!r} is given more than once", f"Tham số {key!r} bị lặp lại")
        raw[key] = value
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = err.get("loc", ())
            name = str(loc[0]) if loc else "?"
            msg = err.get("msg", "invalid")
            if err.get("type") == "extra_forbidden":
                msg = "unknown parameter"
            parts.append(f"{name}: {msg}")
        detail = "; ".join(parts)
        raise bad_request(detail, f"Tham số không hợp lệ — {detail}") from None


def crs_param(value: str | None, name: str = "crs") -> SupportedCrs:
    try:
        return parse_crs(value)
    except UnsupportedCrsError as exc:
        raise bad_request(f"{name}: {exc}", f"{name}: hệ tọa độ không được hỗ trợ ({value})") from None


async def json_body(request: Request, max_bytes: int) -> object:
    """The request body parsed as JSON: 413 when larger than `max_bytes`, 400 when not JSON."""
    from api.errors import ApiError

    raw = await request.body()
    if len(raw) > max_bytes:
        raise ApiError(413, f"the body is larger than {max_bytes} bytes", "Nội dung quá lớn")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not JSON: {exc}", "Nội dung không phải JSON") from None

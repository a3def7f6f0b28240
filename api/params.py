"""Query parameters and request bodies as pydantic models, and format negotiation (`f` or the Accept header).

Routes declare these models (`params: QueryOf[ItemsParams]`, `feature: FeatureIn`), so every request is
validated against them and the API definition at /api is generated from the same models (api/openapi.py): a
range, an enum or a new parameter in code is in the document by construction.  A query model is validated in one
pydantic call on the query string (`query_model`); FastAPI's own per-field extraction of query models costs
~0.3 ms per request on the hottest routes.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from fastapi import Depends, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geo.crs import CRS84, SUPPORTED, SupportedCrs, parse_crs
from geo.errors import BadRequest
from layers.accounts import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from layers.exports import FORMATS
from layers.provenance import ACCURACY
from layers.query import FeatureQuery, parse_interval
from layers.rules import PROPOSAL_KINDS

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
CRS_URIS = [c.uri for c in SUPPORTED]

Lang = Literal["vi", "en"]
PageFormat = Literal["json", "geojson", "html"]

_LANG = Field("vi", description="Ngôn ngữ / language of titles, descriptions and messages")
_F = Field(None, description="Định dạng trả về / response format (default: by the Accept header)")
_CRS_SCHEMA = {"type": "string", "format": "uri", "enum": CRS_URIS}


def query_model(model: type[BaseModel]):
    """A dependency giving the query string validated by `model` (errors named as query parameters); the API
    definition lists the model's fields as the route's query parameters (api/openapi.py reads `query_model`)."""

    async def from_query_string(request: Request) -> BaseModel:
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("query", *e["loc"])}
                                          for e in exc.errors(include_url=False)]) from None

    from_query_string.query_model = model  # type: ignore[attr-defined]
    return Depends(from_query_string)


class _QueryOf:
    """`QueryOf[Model]`: a route parameter filled from the query string by `Model`."""

    def __class_getitem__(cls, model: type[BaseModel]):
        return Annotated[model, query_model(model)]


QueryOf = _QueryOf


def negotiate(request: Request, f: str | None) -> Literal["json", "html"]:
    """`f=json|geojson|html` wins; otherwise HTML only when the client prefers it (a browser), JSON for clients."""
    if f is not None:
        return "html" if f == "html" else "json"
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        html_at = accept.find("text/html")
        json_at = min((accept.find(t) for t in ("application/json", "application/geo+json") if t in accept),
                      default=-1)
        if json_at == -1 or html_at < json_at:
            return "html"
    return "json"


def crs_param(value: str | None, name: str = "crs") -> SupportedCrs:
    """A supported CRS from a parameter (400 naming the parameter otherwise)."""
    try:
        return parse_crs(value)
    except BadRequest as exc:
        raise BadRequest(f"{name}: {exc.en}", f"{name}: {exc.vi}") from None


def _crs_field(description: str, alias: str | None = None):
    return Field(None, alias=alias, description=description, json_schema_extra=_CRS_SCHEMA)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CommonParams(Strict):
    """Parameters every resource accepts."""

    f: PageFormat | None = _F
    lang: Lang = _LANG


class BboxParams(BaseModel):
    """A `bbox` (4 or 6 numbers) with its `bbox-crs`, shared by items and exports."""

    model_config = ConfigDict(populate_by_name=True)

    bbox: str | None = Field(None, description="Khung giới hạn minx,miny,maxx,maxy (theo bbox-crs, mặc định CRS84) "
                                               "/ bounding box", json_schema_extra={
                                                   "type": "array", "minItems": 4, "maxItems": 6,
                                                   "items": {"type": "number"}, "style": "form", "explode": False})
    bbox_crs: str | None = _crs_field("Hệ tọa độ của bbox / CRS of bbox", alias="bbox-crs")

    @field_validator("bbox")
    @classmethod
    def _check_bbox(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_bbox(value)
        return value

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        return None if self.bbox is None else _parse_bbox(self.bbox)

    def bbox_crs_value(self) -> SupportedCrs:
        return crs_param(self.bbox_crs, "bbox-crs")

    def check_lon_lat(self) -> None:
        """A bbox in degrees must be longitudes and latitudes."""
        box, crs = self.box, self.bbox_crs_value()
        if box is None or crs not in (CRS84, SUPPORTED[1]):
            return
        lon_lat = box if crs == CRS84 else (box[1], box[0], box[3], box[2])
        if not (-180 <= lon_lat[0] <= 180 and -180 <= lon_lat[2] <= 180 and -90 <= lon_lat[1] <= 90
                and -90 <= lon_lat[3] <= 90):
            raise BadRequest("bbox is outside longitude −180..180 / latitude −90..90",
                             "bbox nằm ngoài phạm vi kinh độ/vĩ độ")


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    if len(parts) not in (4, 6) or any(p.strip() == "" for p in parts):
        raise ValueError("bbox needs 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError("bbox numbers must be numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError("bbox numbers must be finite")
    if len(values) == 6:  # 3D bbox: drop the heights
        values = [values[0], values[1], values[3], values[4]]
    if values[0] > values[2] or values[1] > values[3]:
        raise ValueError("bbox lower corner must not exceed its upper corner")
    return values[0], values[1], values[2], values[3]


class SelectionParams(BboxParams):
    """What to select from collections: bbox, time and property filters (extra parameters)."""

    datetime: str | None = Field(None, description="Thời điểm hoặc khoảng thời gian hiệu lực (RFC 3339, '..' cho "
                                                   "đầu mở) / instant or interval")

    def query(self, filters: dict[str, str] | None = None) -> FeatureQuery:
        self.check_lon_lat()
        interval = parse_interval(self.datetime) if self.datetime is not None else None
        return FeatureQuery(bbox=self.box, bbox_crs=self.bbox_crs_value(), filters=filters or {}, interval=interval)

    def property_filters(self) -> dict[str, str]:
        return {k: str(v) for k, v in (self.model_extra or {}).items()}


class ItemsParams(SelectionParams):
    """`/collections/{id}/items`: OGC API – Features Parts 1 and 2; other parameters filter on queryables."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    f: PageFormat | None = _F
    lang: Lang = _LANG
    crs: str | None = _crs_field("Hệ tọa độ của kết quả / CRS of the response geometries")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Số đối tượng tối đa mỗi trang / page size")
    offset: int = Field(0, ge=0, description="Bỏ qua bao nhiêu đối tượng đầu / features to skip")


RESERVED_ITEM_PARAMS = {"f", "lang", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime"}


class ItemParams(CommonParams):
    """`/collections/{id}/items/{featureId}`."""

    crs: str | None = _crs_field("Hệ tọa độ của kết quả / CRS of the response geometry")


class RulesParams(CommonParams):
    as_of: dt.date | None = Field(None, description="Quy tắc có hiệu lực ngày này / rules in force on this day")
    kind: Literal[PROPOSAL_KINDS] | None = Field(None, description="Loại đề xuất / proposal kind")  # type: ignore


class SiteParams(Strict):
    """How a proposal is read and judged: its CRS, the rules' date, the report's language."""

    lang: Lang = _LANG
    crs: str | None = _crs_field("Hệ tọa độ của đề xuất và kết quả / CRS of the proposal and the report")
    as_of: dt.date | None = Field(None, description="Áp dụng quy tắc có hiệu lực ngày này / rules as of this day")

    @field_validator("crs")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        crs_param(value)
        return value


class CheckParams(SiteParams):
    """Query parameters of POST /checks."""

    f: Literal["json", "html", "pdf"] | None = Field(None, description="Báo cáo dạng / report as JSON, HTML or PDF")


class ProposalParams(SiteParams):
    """Query parameters of POST /proposals."""


class SearchParams(Strict):
    q: str = Field(..., min_length=1, max_length=200, description="Tên cần tìm, vd. 'yen binh' / name to find")
    limit: int = Field(20, ge=1, le=100, description="Số kết quả tối đa / maximum results")
    collections: str | None = Field(None, description="Chỉ tìm trong các lớp này (phân cách bằng dấu phẩy) / "
                                                      "comma-separated collection ids")
    f: Literal["json"] | None = None


class DataExportParams(SelectionParams):
    """GET /exports/data: which collections, format, CRS and selection (other parameters filter properties)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    collections: str = Field(..., description="id[,id…]")
    format: Literal[tuple(FORMATS)] = Field(..., description="Định dạng tệp / file format")  # type: ignore
    crs: str | None = _crs_field("Hệ tọa độ của tệp / CRS of the file")
    lang: Lang = _LANG


PaperSize = Literal["A4", "A3", "A1"]


class MapExportParams(BboxParams):
    """GET /exports/map: a print-ready map of a preset or chosen collections."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    preset: str = Field("cluster-plan-2030", description="Mẫu bản đồ / map preset")
    size: PaperSize | None = Field(None, description="Khổ giấy (mặc định theo mẫu) / paper (default: the preset's)")
    orientation: Literal["landscape", "portrait"] | None = None
    f: Literal["pdf", "png"] = "pdf"
    dpi: int = Field(200, ge=72, le=600, description="Độ phân giải / dots per inch")
    collections: str | None = Field(None, description="id[,id…] thay cho các lớp của mẫu / instead of the preset's")
    title: str | None = Field(None, max_length=200, description="Tiêu đề / title")
    lang: Lang = _LANG


class OfflineParams(Strict):
    collections: str = Field(..., description="id[,id…] các lớp công khai / public collections")
    lang: Lang = _LANG


def split_ids(text: str | None) -> list[str]:
    """`a,b, c` → ["a", "b", "c"], without blanks or repeats."""
    return list(dict.fromkeys(c.strip() for c in (text or "").split(",") if c.strip()))


# ---------------------------------------------------------------------------------------------------- bodies
class FeatureIn(BaseModel):
    """A GeoJSON Feature sent to planmap (RFC 7946; a GeoJSON 2008 `crs` member is read too)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    geometry: dict | None = Field(..., description="GeoJSON geometry")
    properties: dict | None = None
    id: str | int | None = None
    crs: dict | None = None

    def as_geojson(self) -> dict:
        return self.model_dump(exclude_none=False, exclude_unset=True)


_DAYS = Field(None, ge=1, le=MAX_TOKEN_DAYS, description="Số ngày mã có hiệu lực (mặc định "
              f"{DEFAULT_TOKEN_DAYS}, hoặc PLANMAP_TOKEN_DAYS) / days the token lasts (default {DEFAULT_TOKEN_DAYS} "
              "or PLANMAP_TOKEN_DAYS)")


class NewUser(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w.@-]+$")
    role: Literal["viewer", "planner", "admin"]
    days: int | None = _DAYS


class NewToken(Strict):
    """A new token for a user (the old one stops working)."""

    days: int | None = _DAYS


class LayerSettings(Strict):
    internal: bool


class StatusChange(Strict):
    status: Literal["submitted", "approved", "rejected"]


class ImportForm(Strict):
    """The form of an import: the file and how to read it."""

    file: UploadFile = Field(..., description="Shapefile (zip), GPKG, KML, DXF, DGN, TAB (zip), GeoJSON, CSV")
    crs: str | None = Field(None, description="Hệ tọa độ khi tệp không ghi / CRS when the file lacks one")
    encoding: str | None = Field(None, max_length=40, description="Bảng mã / text encoding: utf-8, cp1258, tcvn3 "
                                                                "(ABC), vni")
    mode: Literal["replace", "append"] = "replace"
    accuracy: Literal[ACCURACY] | None = None  # type: ignore[valid-type]
    internal: bool | None = None

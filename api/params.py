"""Query parameters and request bodies as pydantic models, and format negotiation (`f` or the Accept header).

Routes declare these models (`params: QueryOf[ItemsParams]`, `feature: FeatureIn`), so every request is
validated against them and the API definition at /api is generated from the same models (api/openapi.py): a
range, an enum or a new parameter in code is in the document by construction.  A query model is validated in one
pydantic call on the query string (`query_model`); FastAPI's own per-field extraction of query models costs
~0.3 ms per request on the hottest routes.  A JSON body (`feature: BodyOf[FeatureIn, GEOJSON]`) arrives as bytes
and is decoded and validated by its route's job (`JsonBody.parse`), never on the event loop, where FastAPI's own
body parameters would decode megabytes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Annotated, Generic, Literal, TypeVar

import orjson
from fastapi import Depends, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from geo.crs import SUPPORTED, SupportedCrs, bbox_domain, bbox_outside, clip_bbox, parse_crs, pyproj_crs
from geo.errors import BadRequest
from layers.accounts import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from layers.coverage import (
    DEFAULT_CELL_M,
    DEFAULT_DISTANCE_M,
    MAX_CELL_M,
    MAX_DISTANCE_M,
    MIN_CELL_M,
    MIN_DISTANCE_M,
    NETWORKS,
)
from layers.exports import FORMATS
from layers.limits import FIRST_REPORT_YEAR, LAST_REPORT_YEAR_BOUND
from layers.proposals import GEOMETRY_TYPES
from layers.provenance import ACCURACY
from layers.query import INTERVAL_PATTERN, FeatureQuery, parse_date, parse_interval
from layers.rules import PROPOSAL_KINDS

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
CRS_URIS = [c.uri for c in SUPPORTED]

Lang = Literal["vi", "en"]
# `cql-text` is the drafts' name of cql2-text, which GDAL's OAPIF driver looks for in this parameter's enum before
# it sends a layer's attribute filter to the server (and then sends it as filter-lang=cql-text)
FilterLang = Literal["cql2-text", "cql2-json", "cql-text"]


def whole_number(value: object) -> object:
    """A parameter documented as an integer is written as one: pydantic alone takes "1.0" too."""
    if isinstance(value, str) and not re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        raise BadRequest(f"{value!r} is not a whole number", f"{value!r} không phải số nguyên")
    return value


QueryInt = Annotated[int, BeforeValidator(whole_number)]
# A date parameter is YYYY-MM-DD and nothing else (pydantic alone would read "0" as 1970-01-01).
IsoDate = Annotated[dt.date, BeforeValidator(parse_date), WithJsonSchema({"type": "string", "format": "date"})]
PageFormat = Literal["json", "geojson", "html"]

_LANG = Field("vi", description="Ngôn ngữ / language of titles, descriptions and messages")
_F = Field(None, description="Định dạng trả về / response format (default: by the Accept header)")
_CRS_SCHEMA = {"type": "string", "format": "uri", "enum": CRS_URIS}


def accepted_by(parse: Callable[[str], object]) -> AfterValidator:
    """A text field whose value `parse` must accept (its BadRequest names what is wrong); the text is kept."""
    def check(value: str | None) -> str | None:
        if value is not None:
            parse(value)
        return value

    return AfterValidator(check)


def query_model(model: type[BaseModel]):
    """A dependency giving the query string validated by `model` (errors named as query parameters); the API
    definition lists the model's fields as the route's query parameters (api/openapi.py reads `query_model`).

    A plain `def`: validation runs parsers (bbox, CRS, dates) and must not hold the event loop."""

    def from_query_string(request: Request) -> BaseModel:  # plain def: FastAPI validates it in its thread pool
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


JSON_MEDIA = "application/json"
M = TypeVar("M", bound=BaseModel)


class JsonBody(Generic[M]):
    """A JSON request body as it arrived; `parse()` — in the route's job, off the event loop — decodes it and
    validates it against its model, with the same 422 problems FastAPI's body parameters give."""

    __slots__ = ("raw", "content_type", "model", "required")

    def __init__(self, raw: bytes, content_type: str, model: type[M], required: bool = True) -> None:
        self.raw, self.content_type, self.model, self.required = raw, content_type, model, required

    def parse(self) -> M | None:
        """The body as its model (None for an absent optional body); RequestValidationError when it is not."""
        if not self.raw:
            if not self.required:
                return None
            raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required",
                                           "input": None}])
        media = self.content_type.split(";", 1)[0].strip().lower()
        value: object = self.raw  # another media type: refused by the model as not an object, as FastAPI does
        if not media or media == JSON_MEDIA or (media.startswith("application/") and media.endswith("+json")):
            try:
                value = orjson.loads(self.raw)
            except orjson.JSONDecodeError:
                value = _lenient_json(self.raw)
        try:
            return self.model.model_validate(value)
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                          for e in exc.errors(include_url=False)]) from None


def _lenient_json(raw: bytes) -> object:
    """What Python's reader (FastAPI's) makes of a body orjson refuses: NaN and Infinity (which the models then
    refuse naming the member), a byte-order mark, UTF-16; a 422 `json_invalid` when it is not JSON at all."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", getattr(exc, "pos", 0)),
                                       "msg": "JSON decode error", "input": {},
                                       "ctx": {"error": getattr(exc, "msg", str(exc))}}]) from None


def body_model(model: type[BaseModel], media_type: str = JSON_MEDIA, required: bool = True):
    """A dependency giving the request body, unparsed, as a JsonBody of `model`; the API definition documents
    `model` as the route's request body in `media_type` (api/openapi.py reads `body_model`).  Declared after the
    route's role, it is read only once the caller may send it."""

    async def request_body(request: Request) -> JsonBody:
        # Only reading happens here: awaiting the body's chunks from the server (no blocking I/O), joined once
        # — at most the route's body limit (16 KB for a status or setting, 2-5 MB for a feature), counted
        # while it streams in.  Decoding and validating it is the job's (`JsonBody.parse`).
        return JsonBody(await request.body(), request.headers.get("content-type", ""), model, required)

    request_body.body_model = (model, media_type, required)  # type: ignore[attr-defined]
    return Depends(request_body)


class _BodyOf:
    """`BodyOf[Model]`, `BodyOf[Model, media_type]` or `BodyOf[Model, media_type, False]` (optional): a route
    parameter holding the JSON body for its job to parse."""

    def __class_getitem__(cls, args):
        args = args if isinstance(args, tuple) else (args,)
        model, media_type, required = (*args, *(JSON_MEDIA, True)[len(args) - 1:])
        return Annotated[JsonBody, body_model(model, media_type, required)]


BodyOf = _BodyOf


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
    """A supported CRS from a parameter (400 naming the parameter otherwise; an empty one names no CRS)."""
    if value == "":
        raise BadRequest(f"{name} is empty; use one of: {', '.join(CRS_URIS)}",
                         f"{name} để trống; dùng một trong: {', '.join(CRS_URIS)}")
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
    """A `bbox` (4 or 6 numbers) with its `bbox-crs`, shared by items and exports.

    `bbox-crs` comes first so the bbox can be checked against it: degrees must be longitudes and latitudes, and a
    bbox in a projected CRS must reach the area that CRS is used for (geo.crs.bbox_domain); the part beyond it is
    left out (`box`), since a projection has no inverse far from its area and nothing planmap holds lies there.
    """

    model_config = ConfigDict(populate_by_name=True)

    bbox_crs: str | None = _crs_field("Hệ tọa độ của bbox / CRS of bbox", alias="bbox-crs")
    bbox: str | None = Field(None, description="Khung giới hạn minx,miny,maxx,maxy (theo bbox-crs, mặc định CRS84) "
                                               "/ bounding box", json_schema_extra={
                                                   "type": "array", "minItems": 4, "maxItems": 6,
                                                   "items": {"type": "number"}, "style": "form", "explode": False})

    @field_validator("bbox_crs")
    @classmethod
    def _supported_bbox_crs(cls, value: str | None) -> str | None:
        crs_param(value, "bbox-crs")
        return value

    @field_validator("bbox")
    @classmethod
    def _check_bbox(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and "bbox_crs" in info.data:  # an unsupported bbox-crs is reported by itself
            _bbox_in_domain(_parse_bbox(value), crs_param(info.data["bbox_crs"], "bbox-crs"))
        return value

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        """The bbox as given, less any part beyond the area its CRS is used for."""
        return None if self.bbox is None else clip_bbox(_parse_bbox(self.bbox), self.bbox_crs_value())

    def bbox_crs_value(self) -> SupportedCrs:
        return crs_param(self.bbox_crs, "bbox-crs")


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    if len(parts) not in (4, 6) or any(p.strip() == "" for p in parts):
        raise BadRequest("bbox needs 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy",
                         "bbox cần 4 (hoặc 6) số cách nhau bởi dấu phẩy: minx,miny,maxx,maxy")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise BadRequest("bbox numbers must be numbers", "Các giá trị của bbox phải là số") from None
    if not all(math.isfinite(v) for v in values):
        raise BadRequest("bbox numbers must be finite", "Các giá trị của bbox phải là số hữu hạn")
    if len(values) == 6:  # 3D bbox: drop the heights
        values = [values[0], values[1], values[3], values[4]]
    if values[0] > values[2] or values[1] > values[3]:
        raise BadRequest("bbox lower corner must not exceed its upper corner",
                         "Góc dưới của bbox không được lớn hơn góc trên")
    return values[0], values[1], values[2], values[3]


def _bbox_in_domain(box: tuple[float, float, float, float], crs: SupportedCrs) -> None:
    """Degrees within −180..180 / −90..90; a projected bbox at least partly within the CRS's area."""
    minx, miny, maxx, maxy = bbox_domain(crs)
    if pyproj_crs(crs).is_geographic:
        if not (minx <= box[0] and box[2] <= maxx and miny <= box[1] and box[3] <= maxy):
            raise BadRequest("bbox is outside longitude −180..180 / latitude −90..90",
                             "bbox nằm ngoài phạm vi kinh độ −180..180 / vĩ độ −90..90")
    elif clip_bbox(box, crs) is None:
        raise bbox_outside(crs)


class SelectionParams(BboxParams):
    """What to select from collections: bbox, time and property filters (extra parameters)."""

    datetime: Annotated[str | None, accepted_by(parse_interval)] = Field(
        None, description="Thời điểm hoặc khoảng thời gian hiệu lực (RFC 3339, '..' cho đầu mở) / instant or interval",
        json_schema_extra={"pattern": INTERVAL_PATTERN})

    def query(self, filters: dict[str, str] | None = None) -> FeatureQuery:
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
    limit: QueryInt = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Số đối tượng tối đa mỗi trang / page size")
    offset: QueryInt = Field(0, ge=0, description="Bỏ qua bao nhiêu đối tượng đầu / features to skip")
    # OGC API – Features Part 3: a CQL2 filter, read by layers/cql.py when the collection is known
    filter_lang: FilterLang | None = Field(None, alias="filter-lang", description=(
        "Ngôn ngữ của filter (mặc định cql2-text) / the filter's language (default cql2-text)"))
    filter_crs: str | None = _crs_field("Hệ tọa độ của hình học trong filter (mặc định CRS84) / CRS of the filter's "
                                        "geometries (default CRS84)", alias="filter-crs")
    filter: str | None = Field(None, description=(
        "Biểu thức lọc CQL2, vd. status = 'planned' AND area_ha > 20 / a CQL2 filter, e.g. "
        "status = 'planned' AND S_INTERSECTS(geometry, POINT(105.84 21.59))"))
    sortby: str | None = Field(None, description=(
        "Sắp xếp theo các thuộc tính (hoặc id), '-' giảm dần, vd. -area_ha,name / sort keys, '-' for descending"))
    properties: str | None = Field(None, description=(
        "Chỉ trả về các thuộc tính này (phân cách bằng dấu phẩy; id và hình học luôn có) / only these properties"))
    skip_geometry: bool | None = Field(None, alias="skipGeometry", description=(
        "true: không trả về hình học / true: features without geometry"))

    @field_validator("filter_crs")
    @classmethod
    def _supported_filter_crs(cls, value: str | None) -> str | None:
        crs_param(value, "filter-crs")
        return value


RESERVED_ITEM_PARAMS = {"f", "lang", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "filter", "filter-lang",
                        "filter-crs", "sortby", "properties", "skipGeometry"}


class ItemParams(CommonParams):
    """`/collections/{id}/items/{featureId}`."""

    crs: str | None = _crs_field("Hệ tọa độ của kết quả / CRS of the response geometry")


class RulesParams(CommonParams):
    as_of: IsoDate | None = Field(None, description="Quy tắc có hiệu lực ngày này / rules in force on this day")
    kind: Literal[PROPOSAL_KINDS] | None = Field(None, description="Loại đề xuất / proposal kind")  # type: ignore


class SiteParams(Strict):
    """How a proposal is read and judged: its CRS, the rules' date, the report's language."""

    lang: Lang = _LANG
    crs: str | None = _crs_field("Hệ tọa độ của đề xuất và kết quả / CRS of the proposal and the report")
    as_of: IsoDate | None = Field(None, description="Áp dụng quy tắc có hiệu lực ngày này / rules as of this day")

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
    limit: QueryInt = Field(20, ge=1, le=100, description="Số kết quả tối đa / maximum results")
    collections: str | None = Field(None, description="Chỉ tìm trong các lớp này (phân cách bằng dấu phẩy) / "
                                                      "comma-separated collection ids")
    f: Literal["json"] | None = None


_COVERAGE = Field(None, description="Kèm bảng độ phủ mạng lưới này / add the coverage table of this network "
                                   "(layers/coverage.py)")
_COVERAGE_D = Field(DEFAULT_DISTANCE_M, ge=MIN_DISTANCE_M, le=MAX_DISTANCE_M, allow_inf_nan=False,
                    description="Khoảng cách D của bảng độ phủ (m) / the coverage table's distance D in metres")


class DataExportParams(SelectionParams):
    """GET /exports/data: which collections, format, CRS and selection (other parameters filter properties)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    collections: str = Field(..., min_length=1, description="id[,id…]")
    format: Literal[tuple(FORMATS)] = Field(..., description="Định dạng tệp / file format")  # type: ignore
    crs: str | None = _crs_field("Hệ tọa độ của tệp / CRS of the file")
    lang: Lang = _LANG
    coverage: Literal[tuple(NETWORKS)] | None = _COVERAGE  # type: ignore[valid-type]
    coverage_distance_m: float = _COVERAGE_D


PaperSize = Literal["A4", "A3", "A1"]


class MapExportParams(BboxParams):
    """GET /exports/map: a print-ready map of a preset or chosen collections."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    preset: str = Field("cluster-plan-2030", description="Mẫu bản đồ / map preset")
    size: PaperSize | None = Field(None, description="Khổ giấy (mặc định theo mẫu) / paper (default: the preset's)")
    orientation: Literal["landscape", "portrait"] | None = None
    f: Literal["pdf", "png"] = "pdf"
    dpi: QueryInt = Field(200, ge=72, le=600, description="Độ phân giải / dots per inch")
    collections: str | None = Field(None, min_length=1,
                                    description="id[,id…] thay cho các lớp của mẫu / instead of the preset's")
    title: str | None = Field(None, max_length=200, description="Tiêu đề / title")
    lang: Lang = _LANG
    coverage: Literal[tuple(NETWORKS)] | None = _COVERAGE  # type: ignore[valid-type]
    coverage_distance_m: float = _COVERAGE_D


class OfflineParams(Strict):
    collections: str = Field(..., min_length=1, description="id[,id…] các lớp công khai / public collections")
    lang: Lang = _LANG


StyleFormat = Literal["sld11", "qml"]


class StyleParams(Strict):
    f: StyleFormat | None = Field(None, description="Định dạng ký hiệu / stylesheet: sld11 (SLD 1.1 / SE 1.1) or qml "
                                                    "(QGIS); default: by the Accept header, else SLD 1.1")
    lang: Lang = Field("vi", description="Ngôn ngữ của chú giải / language of the legend labels (the other one is "
                                         "the SLD rules' abstract)")


class QgisProjectParams(Strict):
    lang: Lang = Field("vi", description="Ngôn ngữ của tên lớp / language of the layer names")


def split_ids(text: str | None) -> list[str]:
    """`a,b, c` → ["a", "b", "c"], without blanks or repeats."""
    return list(dict.fromkeys(c.strip() for c in (text or "").split(",") if c.strip()))


# ---------------------------------------------------------------------------------------------------- bodies
# A property value written into a layer or a proposal: a JSON scalar.  Lists and objects fit no column of a layer
# (GeoPackage, Shapefile and the rest hold scalars), numbers must be finite and integers fit in 64 bits (SQLite).
INT64 = (-2**63, 2**63 - 1)


def _scalar(value: object) -> object:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int) and INT64[0] <= value <= INT64[1]:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise BadRequest("expected text, a finite number (integers within 64 bits) or true/false",
                     "giá trị thuộc tính phải là chuỗi, số hữu hạn (số nguyên trong 64 bit) hoặc true/false")


PropertyValue = Annotated[str | bool | int | float | None, PlainValidator(_scalar), WithJsonSchema({
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True,
    "description": "Chuỗi, số hoặc true/false / a string, number or boolean"})]


class GeometryIn(BaseModel):
    """A GeoJSON geometry (RFC 7946 §3.1): its type and coordinates; whether the coordinates fit the type, and
    the geometry is valid and in Vietnam, is checked by the domain (400/422 saying what is wrong)."""

    model_config = ConfigDict(extra="allow")

    type: Literal[GEOMETRY_TYPES]  # type: ignore[valid-type]
    coordinates: list | None = None
    geometries: list | None = None


class CrsName(BaseModel):
    name: str = Field(description="URI hoặc mã EPSG, vd. http://www.opengis.net/def/crs/EPSG/0/9213")


class CrsMember(BaseModel):
    """GeoJSON 2008's named-CRS member, read by checks and proposals (RFC 7946 dropped it; QGIS still writes it)."""

    type: Literal["name"]
    properties: CrsName


class FeatureIn(BaseModel):
    """A GeoJSON Feature sent to planmap (RFC 7946; a GeoJSON 2008 `crs` member is read too)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    geometry: GeometryIn | None = Field(..., description="GeoJSON geometry")
    properties: dict[str, PropertyValue] | None = None
    id: str | int | None = None
    crs: CrsMember | None = None

    def as_geojson(self) -> dict:
        return self.model_dump(exclude_none=False, exclude_unset=True)

    def geometry_json(self) -> dict | None:
        """The geometry as parsed JSON (for counting its vertices before any work), without copying it."""
        g = self.geometry
        return None if g is None else {"type": g.type, "coordinates": g.coordinates, "geometries": g.geometries}


_DAYS = Field(None, ge=1, le=MAX_TOKEN_DAYS, description="Số ngày mã có hiệu lực (mặc định "
              f"{DEFAULT_TOKEN_DAYS}, hoặc PLANMAP_TOKEN_DAYS) / days the token lasts (default {DEFAULT_TOKEN_DAYS} "
              "or PLANMAP_TOKEN_DAYS)")


class ProposalProperties(BaseModel):
    """A proposal's properties: its kind (required by the checks: 422 when unknown), name, and any other scalar
    attributes, which travel into the report."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, PropertyValue]  # type: ignore[assignment]

    kind: str | None = Field(None, description="Loại đề xuất / proposal kind",
                             json_schema_extra={"enum": list(PROPOSAL_KINDS)})
    name: str | None = Field(None, description="Tên đề xuất / the proposal's name")
    as_of: Annotated[str | None, accepted_by(parse_date)] = Field(
        None, description="Ngày áp dụng quy tắc (khi không có tham số as_of) / the rules' date when the as_of "
                          "parameter is not given", json_schema_extra={"format": "date"})


class ProposalIn(FeatureIn):
    """A proposal: a GeoJSON Feature with a point or polygon and the kind of what is proposed."""

    properties: ProposalProperties | None = None


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


class CoverageQuery(Strict):
    """What a coverage analysis is of: the network, the planner's distance, the grid's cell and the day."""

    network: Literal[tuple(NETWORKS)] = Field(  # type: ignore[valid-type]
        "fuel", description="Mạng lưới / network: fuel (xăng dầu), lpg (khí dầu mỏ hoá lỏng)")
    distance_m: float = Field(DEFAULT_DISTANCE_M, ge=MIN_DISTANCE_M, le=MAX_DISTANCE_M, allow_inf_nan=False,
                              description="Khoảng cách D (m, đường chim bay) / distance D in metres (straight-line)")
    cell_m: float = Field(DEFAULT_CELL_M, ge=MIN_CELL_M, le=MAX_CELL_M, allow_inf_nan=False,
                          description="Kích thước ô lưới (m) / grid cell size in metres")
    as_of: IsoDate | None = Field(None, description="Cửa hàng và ranh giới có hiệu lực ngày này (mặc định hôm nay) "
                                                    "/ stations and boundaries in force on this day (default today)")


class CoverageParams(CoverageQuery):
    """GET /analysis/coverage."""

    f: Literal["json", "csv"] | None = Field(None, description="json (mặc định) hoặc bảng csv / json (default) or the "
                                                               "table as csv")
    overlay: bool = Field(True, description="Kèm ảnh lớp phủ bản đồ (PNG base64) / include the map overlays")
    lang: Lang = _LANG


class CoverageRasterParams(CoverageQuery):
    """GET /analysis/coverage/distance.tif: the distance raster of one state."""

    state: Literal["before", "after"] = Field("before", description="before: cửa hàng hiện có / existing stations; "
                                                                    "after: cả quy hoạch / with the planned ones")


class TileSetParams(Strict):
    """A tileset's metadata: OGC's JSON, HTML for people, or TileJSON for web maps."""

    f: Literal["json", "html", "tilejson"] | None = Field(
        None, description="Định dạng trả về / response format: OGC tileset metadata (json), html, TileJSON 3.0")
    lang: Lang = _LANG


class TileParams(Strict):
    """A tile takes no query parameter (its zoom, column and row are in the path)."""


class TerrainRasterParams(BboxParams):
    """GET /terrain/elevation.tif and /terrain/slope.tif: the part of the DEM's coverage and the cell size."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cell: float | None = Field(None, ge=1, le=100_000, description="Kích thước ô lưới VN-2000 (m; mặc định: độ phân "
                                                                   "giải của DEM) / cell size in metres (default: "
                                                                   "the DEM's resolution)")


class DemForm(Strict):
    """PUT /terrain/dem: a planner's elevation model."""

    file: UploadFile = Field(..., description="GeoTIFF độ cao một kênh, hệ toạ độ bất kỳ / single-band elevation "
                                              "GeoTIFF in any CRS")


class SuggestionParams(Strict):
    """Query parameters of POST /suggestions: the answer as JSON, the candidates as GeoJSON, or as a file in one of
    the export formats of the layers."""

    f: Literal[("json", *FORMATS)] | None = Field(  # type: ignore[valid-type]
        None, description="json (mặc định / default): vị trí, báo cáo, bề mặt; geojson: các vị trí; gpkg, shp, kml, "
                          "csv, dxf, fgb: tệp các vị trí / the candidates as a file")
    crs: str | None = _crs_field("Hệ tọa độ của tệp xuất / CRS of an exported file (default CRS84)")

    @field_validator("crs")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        crs_param(value)
        return value


class IndicatorsParams(Strict):
    """GET /indicators: the plans' indicators on a day, by unit, with the change since another day."""

    date: IsoDate | None = Field(None, description="Các lớp như vào cuối ngày này (mặc định hôm nay) / the layers "
                                                   "as they were at the end of this day (default today)")
    since: IsoDate | None = Field(None, description="So sánh với cuối ngày này (thay đổi) / compare with the end of "
                                                    "this day (the change)")
    by: Literal["province", "commune", "district"] = Field(
        "province", description="Theo tỉnh, xã (2025) hoặc huyện (trước 2025) / by province, 2025 commune or "
                                "pre-2025 district")
    plan: str | None = Field(None, max_length=100, description="Chỉ một quy hoạch (xem /indicators/definitions) / "
                                                               "one plan only (see /indicators/definitions)")
    f: Literal["json", "csv"] | None = Field(None, description="json (mặc định) hoặc bảng csv / json (default) or "
                                                               "the table as csv")
    lang: Lang = _LANG


class IndicatorDefinitionsParams(Strict):
    """GET /indicators/definitions: the entries of the indicators file."""

    plan: str | None = Field(None, max_length=100, description="Chỉ một quy hoạch / one plan only")
    lang: Lang = _LANG


class IndicatorChartParams(Strict):
    """GET /indicators/chart: one indicator's chart, per unit or at each year end."""

    indicator: str = Field(..., max_length=100, description="Mã chỉ tiêu (xem /indicators/definitions) / the "
                                                            "indicator's id (see /indicators/definitions)")
    kind: Literal["units", "series"] = Field("units", description="units: theo đơn vị / per unit; series: giá trị "
                                                                  "toàn tỉnh cuối mỗi năm từ 2021 / the province's "
                                                                  "value at each year end from 2021")
    date: IsoDate | None = Field(None, description="Các lớp như vào cuối ngày này (mặc định hôm nay) / the layers "
                                                   "as they were at the end of this day (default today)")
    since: IsoDate | None = Field(None, description="kind=units: thay đổi so với cuối ngày này / the change since "
                                                    "the end of this day")
    by: Literal["commune", "district"] = Field("commune", description="kind=units: xã (2025) hoặc huyện (trước "
                                                                      "2025) / 2025 commune or pre-2025 district")
    f: Literal["svg", "json"] | None = Field(None, description="svg (mặc định) hoặc các số liệu json / svg "
                                                               "(default) or the figures as json")
    lang: Lang = _LANG


class YearlyReportParams(Strict):
    """GET /reports/yearly: the yearly supervision report of one year, as PDF or its tables as XLSX."""

    year: QueryInt = Field(..., ge=FIRST_REPORT_YEAR, le=LAST_REPORT_YEAR_BOUND,
                           description="Năm báo cáo: từ năm đầu kỳ quy hoạch đến năm nay (số liệu đến 31/12, với năm "
                                       "nay đến hôm nay; so sánh với 31/12 năm trước) / the year: from the plans' "
                                       "first year to this year (data as of 31/12, today for this year; compared "
                                       "with 31/12 of the year before)")
    f: Literal["pdf", "xlsx"] = Field("pdf", description="pdf (báo cáo A4) hoặc xlsx (các bảng) / pdf (the A4 "
                                                         "report) or xlsx (its tables)")
    lang: Lang = _LANG

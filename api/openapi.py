"""The OpenAPI 3.0 definition at /api, built from the catalog: one path per collection, no remote $ref.

Hand-built rather than FastAPI's own (OpenAPI 3.1) because OGC API – Features declares OAS 3.0 and offline
validators and GDAL read it.
"""

from __future__ import annotations

from api.ogc import CRS_LIST, SERVICE_DESCRIPTION, SERVICE_TITLE
from api.params import DEFAULT_LIMIT, MAX_LIMIT
from layers.dataset import Dataset

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _param(name: str, schema: dict, description: str, **extra) -> dict:
    out = {"name": name, "in": "query", "required": False, "schema": schema, "style": "form", "explode": False,
           "description": description}
    out.update(extra)
    return out


PARAMETERS = {
    "f": _param("f", {"type": "string", "enum": ["json", "html"]}, "Định dạng trả về / response format"),
    "lang": _param("lang", {"type": "string", "enum": ["vi", "en"], "default": "vi"},
                   "Ngôn ngữ của tiêu đề và mô tả / language of titles and descriptions"),
    "bbox": _param("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                   "Khung giới hạn minx,miny,maxx,maxy (theo bbox-crs, mặc định CRS84) / bounding box"),
    "bbox-crs": _param("bbox-crs", {"type": "string", "format": "uri", "enum": CRS_LIST},
                       "Hệ tọa độ của bbox / CRS of bbox"),
    "crs": _param("crs", {"type": "string", "format": "uri", "enum": CRS_LIST},
                  "Hệ tọa độ của kết quả / CRS of the response geometries"),
    "limit": _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                    "Số đối tượng tối đa mỗi trang / page size"),
    "offset": _param("offset", {"type": "integer", "minimum": 0, "default": 0},
                     "Bỏ qua bao nhiêu đối tượng đầu / features to skip"),
    "datetime": _param("datetime", {"type": "string"},
                       "Thời điểm hoặc khoảng thời gian hiệu lực (RFC 3339, '..' cho đầu mở) / instant or interval"),
    "featureId": {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"},
                  "description": "Mã đối tượng / feature id"},
}

SCHEMAS = {
    "Link": {"type": "object", "required": ["href", "rel"],
             "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
                            "title": {"type": "string"}}},
    "Problem": {"type": "object", "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "code": {"type": "string"}, "detail": {"type": "string"}, "detail_vi": {"type": "string"},
        "description": {"type": "string"}}},
    "Geometry": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}},
                 "nullable": True},
    "Feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "geometry": {"$ref": "#/components/schemas/Geometry"}, "properties": {"type": "object", "nullable": True},
        "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
    "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
        "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
        "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0},
        "timeStamp": {"type": "string", "format": "date-time"}}},
    "Document": {"type": "object", "additionalProperties": True},
}


def _ok(schema: str, media: str = "application/json") -> dict:
    return {"200": {"description": "OK", "content": {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                                                         "text/html": {"schema": {"type": "string"}}}},
            "400": _PROBLEM, "404": _PROBLEM, "500": _PROBLEM}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def build_openapi(dataset: Dataset, base: str, extra_paths: dict | None = None) -> dict:
    """The API definition for the layers currently served."""
    common = [_ref("f"), _ref("lang")]
    paths: dict[str, dict] = {
        "/": {"get": {"summary": "Trang chủ / Landing page", "operationId": "getLandingPage", "tags": ["Capabilities"],
                      "parameters": common, "responses": _ok("Document")}},
        "/conformance": {"get": {"summary": "Lớp phù hợp / Conformance", "operationId": "getConformance",
                                 "tags": ["Capabilities"], "parameters": common, "responses": _ok("Document")}},
        "/api": {"get": {"summary": "Định nghĩa API / This API definition", "operationId": "getApi",
                         "tags": ["Capabilities"], "parameters": [_ref("f")], "responses": _ok("Document")}},
        "/collections": {"get": {"summary": "Các lớp dữ liệu / Collections", "operationId": "getCollections",
                                 "tags": ["Collections"], "parameters": common, "responses": _ok("Document")}},
    }
    for layer in dataset:
        cid = layer.id
        title = layer.meta.text("title")
        filters = [_param(name, {"type": kind}, f"Lọc theo {name} (bằng) / equality filter on {name}")
                   for name, kind in layer.queryables().items()]
        paths[f"/collections/{cid}"] = {"get": {
            "summary": f"{title}: thông tin lớp / collection metadata", "operationId": f"describe_{cid}",
            "tags": [cid], "parameters": common, "responses": _ok("Document")}}
        paths[f"/collections/{cid}/queryables"] = {"get": {
            "summary": f"{title}: thuộc tính lọc được / queryables", "operationId": f"queryables_{cid}",
            "tags": [cid], "parameters": common, "responses": _ok("Document", "application/schema+json")}}
        paths[f"/collections/{cid}/items"] = {"get": {
            "summary": f"{title}: đối tượng / features", "operationId": f"items_{cid}", "tags": [cid],
            "parameters": [_ref(n) for n in ("f", "lang", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime")]
            + filters,
            "responses": _ok("FeatureCollection", "application/geo+json")}}
        write = {"security": [{"bearerAuth": []}], "tags": [cid],
                 "requestBody": {"required": True, "content": {"application/geo+json": {
                     "schema": {"$ref": "#/components/schemas/Feature"}}}}}
        paths[f"/collections/{cid}/items"]["post"] = {
            **write, "summary": f"{title}: thêm đối tượng / create a feature (planner)", "operationId": f"create_{cid}",
            "responses": {"201": {"description": "Created"}, "400": _PROBLEM, "401": _PROBLEM, "403": _PROBLEM}}
        paths[f"/collections/{cid}/items/{{featureId}}"] = {"put": {
            **write, "summary": f"{title}: thay đối tượng / replace a feature (planner)",
            "operationId": f"replace_{cid}", "parameters": [_ref("featureId")],
            "responses": {"200": {"description": "Replaced"}, "400": _PROBLEM, "401": _PROBLEM, "404": _PROBLEM}},
            "delete": {"security": [{"bearerAuth": []}], "tags": [cid], "operationId": f"delete_{cid}",
                       "summary": f"{title}: xóa đối tượng / delete a feature (planner)",
                       "parameters": [_ref("featureId")],
                       "responses": {"204": {"description": "Deleted"}, "401": _PROBLEM, "404": _PROBLEM}}}
        paths[f"/collections/{cid}/items/{{featureId}}"]["get"] = {
            "summary": f"{title}: một đối tượng / one feature", "operationId": f"item_{cid}", "tags": [cid],
            "parameters": [_ref("featureId"), _ref("f"), _ref("lang"), _ref("crs")],
            "responses": _ok("Feature", "application/geo+json")}
    paths.update(extra_paths or {})
    return {
        "openapi": "3.0.3",
        "info": {"title": SERVICE_TITLE["vi"], "description": SERVICE_DESCRIPTION["vi"], "version": "0.1.0",
                 "license": {"name": "GPL-3.0-or-later (code); data licences per collection"},
                 "contact": {"name": "Sở Công Thương tỉnh Thái Nguyên"}},
        "servers": [{"url": base}],
        "tags": [{"name": "Capabilities"}, {"name": "Collections"}]
        + [{"name": layer.id, "description": layer.meta.text("title")} for layer in dataset],
        "paths": paths,
        "components": {
            "parameters": PARAMETERS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": {"Problem": {"description": "Lỗi / Problem", "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
        },
    }

"""Search features by name across every collection, ignoring Vietnamese diacritics and case."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import dataset, json_response
from api.params import validate_params
from layers.search import NameIndex

router = APIRouter(tags=["Search"])


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(..., min_length=1, max_length=200)
    limit: int = Field(20, ge=1, le=100)
    collections: str | None = None
    f: str | None = None


def name_index(request: Request) -> NameIndex:
    """The name index of exactly the layers the caller may see (built once per dataset snapshot)."""
    return dataset(request).derived("name_index", NameIndex)


@router.get("/search", summary="Find features by name (diacritics and case ignored)")
def search(request: Request):
    params = validate_params(SearchParams, request)
    wanted = set(params.collections.split(",")) if params.collections else None
    hits = name_index(request).search(params.q, params.limit, wanted)
    doc = {"query": params.q, "numberReturned": len(hits),
           "results": [{"collection": h.collection, "id": h.id, "name": h.name, "bbox": list(h.bbox)} for h in hits]}
    return json_response(orjson.dumps(doc))


OPENAPI_PATH = {"/search": {"get": {
    "summary": "Tìm đối tượng theo tên (không phân biệt dấu, hoa thường) / find features by name",
    "operationId": "searchByName", "tags": ["Search"],
    "parameters": [
        {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 200},
         "description": "Tên cần tìm, vd. 'yen binh' / name to find"},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
         "description": "Số kết quả tối đa / maximum results"},
        {"name": "collections", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "Chỉ tìm trong các lớp này (phân cách bằng dấu phẩy) / comma-separated collection ids"}],
    "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                  "400": {"$ref": "#/components/responses/Problem"}}}}}

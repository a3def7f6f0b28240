"""Search features by name across every collection, ignoring Vietnamese diacritics and case."""

from __future__ import annotations

import orjson
from fastapi import APIRouter

from api.deps import VisibleDataset
from api.models import SearchResults
from api.params import QueryOf, SearchParams, split_ids
from api.responses import documented, json_bytes
from layers.search import NameIndex

router = APIRouter(tags=["Search"])


@router.get("/search", operation_id="searchByName",
            summary="Tìm đối tượng theo tên (không phân biệt dấu, hoa thường) / Find features by name",
            responses=documented(401, model=SearchResults))
def search(params: QueryOf[SearchParams], dataset: VisibleDataset):
    index = dataset.derived("name_index", NameIndex)  # of exactly the layers the caller may see
    wanted = set(split_ids(params.collections)) if params.collections else None
    hits = index.search(params.q, params.limit, wanted)
    doc = {"query": params.q, "numberReturned": len(hits),
           "results": [{"collection": h.collection, "id": h.id, "name": h.name, "bbox": list(h.bbox)} for h in hits]}
    return json_bytes(orjson.dumps(doc))

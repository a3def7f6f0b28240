"""Collections: the list, one collection's metadata, and its queryables."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from api import html, ogc
from api.deps import base_url, dataset, json_response
from api.params import CommonParams, negotiate, validate_params

router = APIRouter(tags=["Collections"])


def _collection_html(doc: dict, lang: str) -> str:
    acc = ", ".join(f"{k}: {v}" for k, v in doc["accuracy"].items())
    note = ""
    if set(doc["accuracy"]) - {"exact"}:
        note = ('<p class="note">Lớp này có dữ liệu không chính xác tuyệt đối (minh họa/gần đúng) — không phải số '
                "liệu chính thức. / This layer holds non-exact (approximate or demonstration) data — not "
                "official.</p>")
    rows = [["id", doc["id"]], ["Mô tả / Description", doc["description"]],
            ["Nhóm / Group", doc["groupTitle"]], ["Kiểu hình học / Geometry", doc["geometryType"]],
            ["Số đối tượng / Features", doc["numberOfFeatures"]], ["Độ chính xác / Accuracy", acc],
            ["Giấy phép / Licence", doc["license"]], ["Ghi công / Attribution", doc["attribution"]],
            ["Nguồn gốc / Provenance", doc["provenance"].get(lang, "")],
            ["Phạm vi / Extent", ", ".join(f"{v:.5f}" for v in doc["extent"]["spatial"]["bbox"][0])]]
    return note + html.table(["", ""], rows) + html.links_list(doc["links"])


@router.get("/collections", summary="The collections (plan layers)")
def list_collections(request: Request):
    params = validate_params(CommonParams, request)
    doc = ogc.collections_doc(dataset(request), base_url(request), params.lang)
    if negotiate(request, params.f) == "html":
        rows = [[f'<a href="{html.escape(c["links"][1]["href"])}">{html.escape(c["id"])}</a>', c["title"],
                 c["groupTitle"], c["geometryType"], c["numberOfFeatures"],
                 ", ".join(f"{k}: {v}" for k, v in c["accuracy"].items())] for c in doc["collections"]]
        body = html.table(["id", "Tên / Title", "Nhóm / Group", "Hình học", "Số đối tượng", "Độ chính xác"], rows,
                          raw_first=True)
        return html.page("Các lớp dữ liệu / Collections", body, params.lang)
    return json_response(orjson.dumps(doc))


@router.get("/collections/{collection_id}", summary="One collection's metadata")
def get_collection(collection_id: str, request: Request):
    params = validate_params(CommonParams, request)
    layer = ogc.get_layer(dataset(request), collection_id)
    doc = ogc.collection_doc(layer, base_url(request), params.lang)
    if negotiate(request, params.f) == "html":
        return html.page(doc["title"], _collection_html(doc, params.lang), params.lang)
    return json_response(orjson.dumps(doc))


@router.get("/collections/{collection_id}/queryables", summary="Properties that items can be filtered on")
def get_queryables(collection_id: str, request: Request):
    params = validate_params(CommonParams, request)
    layer = ogc.get_layer(dataset(request), collection_id)
    doc = ogc.queryables_doc(layer, base_url(request))
    if negotiate(request, params.f) == "html":
        rows = [[k, v.get("type", "geometry")] for k, v in doc["properties"].items()]
        return html.page(f"Queryables – {layer.meta.text('title', params.lang)}", html.table(["name", "type"], rows),
                         params.lang)
    return json_response(orjson.dumps(doc), "application/schema+json")

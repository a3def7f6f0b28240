"""Collections: the list, one collection's metadata, and its queryables."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from api import html, ogc
from api.deps import BaseUrl, Collection, VisibleDataset
from api.models import Collection as CollectionDoc
from api.models import Collections, Queryables
from api.params import CommonParams, QueryOf, negotiate
from api.responses import documented, json_bytes

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


@router.get("/collections", summary="Các lớp dữ liệu / The collections (plan layers)",
            operation_id="getCollections", responses=documented(401, model=Collections, html=True))
def list_collections(request: Request, params: QueryOf[CommonParams], dataset: VisibleDataset,
                     base: BaseUrl):
    doc = ogc.collections_doc(dataset, base, params.lang)
    if negotiate(request, params.f) == "html":
        rows = [[f'<a href="{html.escape(c["links"][1]["href"])}">{html.escape(c["id"])}</a>', c["title"],
                 c["groupTitle"], c["geometryType"], c["numberOfFeatures"],
                 ", ".join(f"{k}: {v}" for k, v in c["accuracy"].items())] for c in doc["collections"]]
        body = html.table(["id", "Tên / Title", "Nhóm / Group", "Hình học", "Số đối tượng", "Độ chính xác"], rows,
                          raw_first=True)
        return html.page("Các lớp dữ liệu / Collections", body, params.lang)
    return json_bytes(orjson.dumps(doc))


@router.get("/collections/{collectionId}", summary="Thông tin một lớp / One collection's metadata",
            operation_id="describeCollection", responses=documented(401, 404, model=CollectionDoc, html=True))
def get_collection(request: Request, layer: Collection, params: QueryOf[CommonParams], base: BaseUrl):
    doc = ogc.collection_doc(layer, base, params.lang)
    if negotiate(request, params.f) == "html":
        return html.page(doc["title"], _collection_html(doc, params.lang), params.lang)
    return json_bytes(orjson.dumps(doc))


@router.get("/collections/{collectionId}/queryables", operation_id="getQueryables",
            summary="Thuộc tính lọc được / Properties that items can be filtered on",
            responses=documented(401, 404, model=Queryables, media="application/schema+json", html=True))
def get_queryables(request: Request, layer: Collection, params: QueryOf[CommonParams], base: BaseUrl):
    doc = ogc.queryables_doc(layer, base)
    if negotiate(request, params.f) == "html":
        rows = [[k, v.get("type", "geometry")] for k, v in doc["properties"].items()]
        return html.page(f"Queryables – {layer.meta.text('title', params.lang)}", html.table(["name", "type"], rows),
                         params.lang)
    return json_bytes(orjson.dumps(doc), "application/schema+json")

"""The API definition (OpenAPI 3.0 JSON, generated from the routes) and a readable HTML rendering of it."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from api import html
from api.deps import BaseUrl, VisibleDataset
from api.openapi import build_openapi
from api.params import CommonParams, QueryOf, negotiate
from api.responses import OPENAPI_JSON, documented, json_bytes

router = APIRouter(tags=["Capabilities"])


def _doc_html(doc: dict) -> str:
    parts = [f"<p>{html.escape(doc['info']['description'])}</p>", '<p><a href="/api?f=json">OpenAPI 3.0 JSON</a></p>']
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            rows = [[p["name"], p["in"], p.get("schema", {}).get("type", ""), p.get("description", "")]
                    for p in op.get("parameters", [])]
            parts.append(f"<h3><code>{html.escape(method.upper())} {html.escape(path)}</code></h3>"
                         f"<p>{html.escape(op.get('summary', ''))}</p>"
                         + (html.table(["tham số / parameter", "in", "type", "mô tả / description"], rows)
                            if rows else ""))
    return "".join(parts)


@router.get("/api", summary="Định nghĩa API / This API definition (OpenAPI 3.0)", operation_id="getApi",
            responses=documented(401, media=OPENAPI_JSON, html=True))
def api_definition(request: Request, params: QueryOf[CommonParams], dataset: VisibleDataset,
                   base: BaseUrl):
    doc = dataset.derived(("openapi", base), lambda ds: build_openapi(request.app, ds, base))
    if negotiate(request, params.f) == "html":
        return html.page("API – planmap", _doc_html(doc), params.lang)
    return json_bytes(orjson.dumps(doc), OPENAPI_JSON)

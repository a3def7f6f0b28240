"""The API definition (OpenAPI 3.0 JSON) and a readable HTML rendering of it that works offline."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from api import html
from api.deps import base_url, dataset, json_response
from api.ogc import OPENAPI_JSON
from api.openapi import build_openapi
from api.params import CommonParams, negotiate, validate_params

router = APIRouter(tags=["Capabilities"])


def _doc_html(doc: dict) -> str:
    parts = [f"<p>{html.escape(doc['info']['description'])}</p>", '<p><a href="/api?f=json">OpenAPI 3.0 JSON</a></p>']
    params = doc["components"]["parameters"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            rows = []
            for p in op.get("parameters", []):
                p = params[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                rows.append([p["name"], p["in"], p.get("schema", {}).get("type", ""), p.get("description", "")])
            parts.append(f"<h3><code>{html.escape(method.upper())} {html.escape(path)}</code></h3>"
                         f"<p>{html.escape(op.get('summary', ''))}</p>"
                         + (html.table(["tham số / parameter", "in", "type", "mô tả / description"], rows)
                            if rows else ""))
    return "".join(parts)


@router.get("/api", summary="API definition")
def api_definition(request: Request):
    params = validate_params(CommonParams, request)
    doc = build_openapi(dataset(request), base_url(request), request.app.state.extra_openapi_paths)
    if negotiate(request, params.f) == "html":
        return html.page("API – planmap", _doc_html(doc), params.lang)
    return json_response(orjson.dumps(doc), OPENAPI_JSON)

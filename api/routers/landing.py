"""Landing page and conformance declaration."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from api import html, ogc
from api.deps import base_url, json_response
from api.params import CommonParams, negotiate, validate_params
from api.routers.map import map_page

router = APIRouter(tags=["Capabilities"])


@router.get("/", summary="Landing page")
def landing_page(request: Request):
    """Browsers get the map; `?f=html` the API's HTML landing page; JSON clients the OGC landing document."""
    params = validate_params(CommonParams, request)
    if params.f is None and negotiate(request, None) == "html":
        return map_page(request)
    doc = ogc.landing(base_url(request), params.lang)
    if negotiate(request, params.f) == "html":
        return html.page(doc["title"], f"<p>{html.escape(doc['description'])}</p>" + html.links_list(doc["links"]),
                         params.lang)
    return json_response(orjson.dumps(doc))


@router.get("/conformance", summary="Conformance classes")
def conformance(request: Request):
    params = validate_params(CommonParams, request)
    doc = ogc.conformance()
    if negotiate(request, params.f) == "html":
        items = "".join(f"<li><code>{html.escape(c)}</code></li>" for c in doc["conformsTo"])
        return html.page("Lớp phù hợp / Conformance", f"<ul>{items}</ul>", params.lang)
    return json_response(orjson.dumps(doc))

"""Landing page and conformance declaration."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from api import html, ogc
from api.deps import BaseUrl
from api.models import Conformance, LandingPage
from api.params import CommonParams, QueryOf, negotiate
from api.responses import documented, json_bytes
from api.routers.map import map_page

router = APIRouter(tags=["Capabilities"])


@router.get("/", summary="Trang chủ / Landing page", operation_id="getLandingPage",
            responses=documented(model=LandingPage, html=True))
def landing_page(request: Request, params: QueryOf[CommonParams], base: BaseUrl):
    """Browsers get the map; `?f=html` the API's HTML landing page; JSON clients the OGC landing document."""
    if params.f is None and negotiate(request, None) == "html":
        return map_page(request)
    doc = ogc.landing(base, params.lang)
    if negotiate(request, params.f) == "html":
        return html.page(doc["title"], f"<p>{html.escape(doc['description'])}</p>" + html.links_list(doc["links"]),
                         params.lang)
    return json_bytes(orjson.dumps(doc))


@router.get("/conformance", summary="Lớp phù hợp / Conformance classes", operation_id="getConformance",
            responses=documented(model=Conformance, html=True))
def conformance(request: Request, params: QueryOf[CommonParams]):
    doc = ogc.conformance()
    if negotiate(request, params.f) == "html":
        items = "".join(f"<li><code>{html.escape(c)}</code></li>" for c in doc["conformsTo"])
        return html.page("Lớp phù hợp / Conformance", f"<ul>{items}</ul>", params.lang)
    return json_bytes(orjson.dumps(doc))

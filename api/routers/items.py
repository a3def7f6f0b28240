"""Features of a collection: pages of items and single items, in any supported CRS."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import html, ogc
from api.deps import BaseUrl, Collection, FeatureId
from api.models import Feature, FeatureCollection
from api.params import ItemParams, ItemsParams, QueryOf, crs_param, negotiate
from api.responses import GEOJSON, documented, json_bytes
from layers import features

router = APIRouter(tags=["Features"])


def _items_html(layer, page: dict) -> str:
    frame = layer.frame
    cols = list(page["properties"]) if page["properties"] is not None else layer.property_columns
    rows = []
    for r in page["rows"]:
        fid = int(layer.fids[r])
        rows.append([f'<a href="/collections/{html.escape(layer.id)}/items/{fid}?f=html">{fid}</a>']
                    + [frame.iat[r, frame.columns.get_loc(c)] for c in cols])
    summary = f"<p>{len(page['rows'])} / {page['matched']} đối tượng (features)</p>"
    nav = html.links_list([lk for lk in page["links"] if lk["rel"] in ("next", "prev", "collection")])
    return summary + nav + html.table(["id", *cols], rows, raw_first=True)


@router.get("/collections/{collectionId}/items", summary="Đối tượng của một lớp / Features of a collection",
            operation_id="getFeatures",
            description="Lọc bằng CQL2 (filter, filter-lang, filter-crs), sắp xếp (sortby), chọn thuộc tính "
                        "(properties, skipGeometry); các tham số khác lọc theo thuộc tính (xem queryables) / a CQL2 "
                        "filter (OGC API – Features Part 3), sorting and property selection; other parameters "
                        "filter on the collection's queryables (equality)",
            responses=documented(401, 404, model=FeatureCollection, media=GEOJSON, html=True))
def get_items(request: Request, layer: Collection, params: QueryOf[ItemsParams], base: BaseUrl):
    body, crs, page = ogc.items_page(layer, params, base)
    if negotiate(request, params.f) == "html":
        return html.page(layer.meta.text("title", params.lang), _items_html(layer, page), params.lang)
    return json_bytes(body, GEOJSON, {"Content-Crs": crs.header})


@router.get("/collections/{collectionId}/items/{featureId}", summary="Một đối tượng / One feature",
            operation_id="getFeature", responses=documented(401, 404, model=Feature, media=GEOJSON, html=True))
def get_item(request: Request, layer: Collection, feature_id: FeatureId, params: QueryOf[ItemParams],
             base: BaseUrl):
    crs = crs_param(params.crs)
    body = ogc.feature(layer, feature_id, crs, base)
    tag = features.etag(layer, layer.row_of(int(feature_id)))
    if tag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers={"ETag": tag})
    if negotiate(request, params.f) == "html":
        row = layer.row_of(int(feature_id))
        frame = layer.frame
        rows = [[c, frame.iat[row, frame.columns.get_loc(c)]] for c in layer.property_columns]
        return html.page(f"{layer.meta.text('title', params.lang)} #{feature_id}", html.table(["", ""], rows),
                         params.lang)
    return json_bytes(body, GEOJSON, {"Content-Crs": crs.header, "ETag": tag})

"""Features of a collection: pages of items and single items, in any supported CRS."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api import html, ogc
from api.deps import base_url, dataset, json_response
from api.params import ItemParams, ItemsParams, crs_param, negotiate, validate_params

router = APIRouter(tags=["Features"])


def _items_html(layer, page: dict, lang: str) -> str:
    frame = layer.frame
    cols = layer.property_columns
    rows = []
    for r in page["rows"]:
        fid = int(layer.fids[r])
        rows.append([f'<a href="/collections/{html.escape(layer.id)}/items/{fid}?f=html">{fid}</a>']
                    + [frame.iat[r, frame.columns.get_loc(c)] for c in cols])
    summary = f"<p>{len(page['rows'])} / {page['matched']} đối tượng (features)</p>"
    nav = html.links_list([lk for lk in page["links"] if lk["rel"] in ("next", "prev", "collection")])
    return summary + nav + html.table(["id", *cols], rows, raw_first=True)


@router.get("/collections/{collection_id}/items", summary="Features of a collection")
def get_items(collection_id: str, request: Request):
    layer = ogc.get_layer(dataset(request), collection_id)
    params = validate_params(ItemsParams, request)
    body, crs, page = ogc.items_page(layer, params, base_url(request))
    if negotiate(request, params.f) == "html":
        return html.page(layer.meta.text("title", params.lang), _items_html(layer, page, params.lang), params.lang)
    return json_response(body, ogc.GEOJSON, {"Content-Crs": crs.header})


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
def get_item(collection_id: str, feature_id: str, request: Request):
    layer = ogc.get_layer(dataset(request), collection_id)
    params = validate_params(ItemParams, request)
    crs = crs_param(params.crs)
    body = ogc.feature(layer, feature_id, crs, base_url(request))
    if negotiate(request, params.f) == "html":
        row = layer.row_of(int(feature_id))
        frame = layer.frame
        rows = [[c, frame.iat[row, frame.columns.get_loc(c)]] for c in layer.property_columns]
        return html.page(f"{layer.meta.text('title', params.lang)} #{feature_id}", html.table(["", ""], rows),
                         params.lang)
    return json_response(body, ogc.GEOJSON, {"Content-Crs": crs.header})

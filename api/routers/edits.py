"""OGC API – Features Part 4: planners create, replace and delete features; every change is a revision.

Optimistic concurrency: every feature read or written carries an `ETag`; a replace or delete sent with
`If-Match` is refused with 412 (and changes nothing) when the feature changed since that tag was read.

The work (validation, the commit, rebuilding the layer) runs in the `writes` lane of the work pool
(api/work.py), never on the event loop; the functions are layers/features.py's.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header
from starlette.responses import Response

from api.deps import BaseUrl, CollectionId, FeatureId, IfMatch, Planner, Work, Ws
from api.models import Written
from api.params import BodyOf, FeatureIn, JsonBody, crs_param
from api.responses import GEOJSON, documented, json_bytes
from geo.geojson import vertex_count
from layers import features
from layers.access import Principal
from layers.limits import MAX_FEATURE_BYTES, MAX_FEATURE_VERTICES, check_vertices

router = APIRouter(tags=["Edits"])
FeatureBody = BodyOf[FeatureIn, GEOJSON]
ContentCrs = Annotated[str | None, Header(alias="Content-Crs", description="Hệ tọa độ của hình học gửi lên "
                                                                         "(mặc định CRS84) / CRS of the geometry")]


def _source_crs(content_crs: str | None):
    return crs_param(content_crs.strip("<> ") if content_crs else None, "Content-Crs")


def _check_size(feature: FeatureIn) -> None:
    """Refuse (413) a feature with more vertices than a layer accepts, before any work."""
    check_vertices(vertex_count(feature.geometry_json()), MAX_FEATURE_VERTICES, "the feature", "Đối tượng")


def _geometry_type(ws, collection_id: str) -> str | None:
    """The layer's geometry type, which a written feature must fit (None: no such layer; the edit says 404)."""
    layer = ws.dataset.get(collection_id)
    return layer.geometry_type if layer is not None else None


def write_feature(ws, collection_id: str, feature_id: str | None, body: JsonBody[FeatureIn],
                  content_crs: str | None, who: Principal, if_match: str | None, base: str) -> Response:
    """A Part 4 create (`feature_id` None) or replace, all of it off the event loop: decoding the body, the
    vertex bound, reading the geometry, the write, and the new entity tag."""
    feature = body.parse()
    _check_size(feature)
    props, geometry = features.parse_feature(feature.as_geojson(), _source_crs(content_crs),
                                             _geometry_type(ws, collection_id))
    if feature_id is None:
        fid, revision = features.create_feature(ws, collection_id, props, geometry, who.name, who.sees_internal)
        return json_bytes(orjson.dumps({"id": fid, "revision": revision.id}), status=201,
                          headers=_etag(ws, collection_id, fid,
                                        Location=f"{base}/collections/{collection_id}/items/{fid}"))
    fid, revision = features.replace_feature(ws, collection_id, feature_id, props, geometry, who.name,
                                             who.sees_internal, if_match=if_match)
    return json_bytes(orjson.dumps({"id": fid, "revision": revision.id}), headers=_etag(ws, collection_id, fid))


def remove_feature(ws, collection_id: str, feature_id: str, who: Principal, if_match: str | None) -> Response:
    features.delete_feature(ws, collection_id, feature_id, who.name, who.sees_internal, if_match=if_match)
    return Response(status_code=204)


def _etag(ws, collection_id: str, fid: int, **headers: str) -> dict[str, str]:
    """The written feature's new entity tag, for the client's next conditional write."""
    tag = features.etag_of(ws, collection_id, fid)
    return {**headers, "ETag": tag} if tag else headers


@router.post("/collections/{collectionId}/items", status_code=201, operation_id="createFeature",
             summary="Thêm đối tượng (cán bộ quy hoạch) / Create a feature (planners)", max_body_size=MAX_FEATURE_BYTES,
             responses=documented(401, 403, 404, 409, 413, 422, 503, model=Written, status=201))
async def create_feature(collection_id: CollectionId, who: Planner, feature: FeatureBody, ws: Ws, work: Work,
                         base: BaseUrl, content_crs: ContentCrs = None):
    return await work["writes"].run(write_feature, ws, collection_id, None, feature, content_crs, who, None, base)


@router.put("/collections/{collectionId}/items/{featureId}", operation_id="replaceFeature",
            summary="Thay đối tượng (cán bộ quy hoạch) / Replace a feature (planners)", max_body_size=MAX_FEATURE_BYTES,
            responses=documented(401, 403, 404, 409, 412, 413, 422, 503, model=Written))
async def replace_feature(collection_id: CollectionId, feature_id: FeatureId, who: Planner, feature: FeatureBody,
                          ws: Ws, work: Work, base: BaseUrl, content_crs: ContentCrs = None, if_match: IfMatch = None):
    return await work["writes"].run(write_feature, ws, collection_id, feature_id, feature, content_crs, who,
                                    if_match, base)


@router.delete("/collections/{collectionId}/items/{featureId}", status_code=204, operation_id="deleteFeature",
               summary="Xóa đối tượng (cán bộ quy hoạch) / Delete a feature (planners)",
               responses=documented(401, 403, 404, 409, 412, 503, status=204))
async def delete_feature(collection_id: CollectionId, feature_id: FeatureId, who: Planner, ws: Ws, work: Work,
                         if_match: IfMatch = None):
    return await work["writes"].run(remove_feature, ws, collection_id, feature_id, who, if_match)

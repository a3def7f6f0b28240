"""Loading planners' official files into a layer, the layer's revision history, rollback and visibility.

Imports run in the `imports` lane of the work pool (one at a time, a short queue), rollbacks in `writes`; the
functions are layers/imports.py's and the workspace's.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Form, Path
from pydantic import BeforeValidator
from starlette.responses import Response

from api.deps import Caller, Collection, Planner, Work, Ws
from api.models import ImportResult, LayerSettingsDoc, Revisions
from api.models import Revision as RevisionDoc
from api.params import BodyOf, ImportForm, LayerSettings, whole_number
from api.responses import documented, json_bytes
from geo.errors import NotFound
from layers import imports
from layers.access import revision_for
from layers.imports import check_layer_id
from layers.limits import FORM_OVERHEAD_BYTES, MAX_SMALL_BODY_BYTES, MAX_UPLOAD_BYTES
from layers.register import check_visibility

router = APIRouter(tags=["Imports and revisions"])
CollectionId = Annotated[str, Path(alias="collectionId", description="Mã lớp (lớp mới: được tạo, ở chế độ nội bộ) "
                                                                     "/ collection id (a new id creates a layer)")]
RevisionId = Annotated[int, Path(alias="revisionId", ge=1, le=2**62, description="Số phiên bản / revision number"),
                      BeforeValidator(whole_number)]


def _import_upload(ws, layer_id: str, options: ImportForm, author: str) -> Response:
    """The whole import off the event loop: the layer id, reading and checking the file, the commit, the report."""
    check_layer_id(layer_id)
    return json_bytes(orjson.dumps(_imported(ws, layer_id, options, author)), status=201)


def _imported(ws, layer_id: str, options: ImportForm, author: str) -> dict:
    return imports.import_upload(ws, layer_id, options.file.file, options.file.filename, author,
                                 crs=options.crs, encoding=options.encoding, append=options.mode == "append",
                                 accuracy=options.accuracy, internal=options.internal)


@router.post("/collections/{collectionId}/imports", status_code=201, operation_id="importFile",
             summary="Nhập tệp thành phiên bản mới (cán bộ quy hoạch) / Import a file as a new revision (planners)",
             max_body_size=MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES,
             responses=documented(401, 403, 413, 422, 503, model=ImportResult, status=201))
async def import_upload(collection_id: CollectionId, who: Planner, ws: Ws, work: Work,
                        form: Annotated[ImportForm, Form(media_type="multipart/form-data")]):
    return await work["imports"].run(_import_upload, ws, collection_id, form, who.name)


@router.get("/collections/{collectionId}/revisions", operation_id="getRevisions",
            summary="Lịch sử phiên bản của lớp / The layer's revision history",
            responses=documented(401, 404, model=Revisions))
def revisions(layer: Collection, ws: Ws, who: Caller):
    """Everyone may see when a layer changed and how much; who changed it and from which file only planners."""
    history = [revision_for(r.to_dict(), who) for r in ws.history(layer.id)]
    for item in history:
        item.pop("report", None)
    return json_bytes(orjson.dumps({"collection": layer.id, "revisions": history}))


@router.get("/collections/{collectionId}/revisions/{revisionId}", operation_id="getRevision",
            summary="Một phiên bản và báo cáo nhập / One revision with its import report",
            responses=documented(401, 404, model=RevisionDoc))
def revision(layer: Collection, revision_id: RevisionId, ws: Ws, who: Caller):
    found = [r for r in ws.history(layer.id) if r.id == revision_id]
    if not found:
        raise NotFound(f"revision {revision_id} does not exist", f"Không có phiên bản {revision_id}")
    return json_bytes(orjson.dumps(revision_for(found[0].to_dict(), who)))


@router.post("/collections/{collectionId}/revisions/{revisionId}/rollback", operation_id="rollback",
             summary="Khôi phục một phiên bản cũ (cán bộ quy hoạch) / Make an earlier revision current (planners)",
             responses=documented(401, 403, 404, 409, 503, model=RevisionDoc))
async def rollback(layer: Collection, revision_id: RevisionId, who: Planner, ws: Ws, work: Work):
    return await work["writes"].run(_rolled_back, ws, layer.id, revision_id, who.name)


def _rolled_back(ws, layer_id: str, revision_id: int, author: str) -> Response:
    return json_bytes(orjson.dumps(ws.rollback(layer_id, revision_id, author).to_dict()))


@router.put("/collections/{collectionId}/settings", operation_id="setLayerSettings", max_body_size=MAX_SMALL_BODY_BYTES,
            summary="Lớp nội bộ (dự thảo) hay công khai (cán bộ quy hoạch) / Make a layer internal or public",
            responses=documented(401, 403, 404, 409, 413, 503, model=LayerSettingsDoc))
def settings(layer: Collection, who: Planner, request_body: BodyOf[LayerSettings], ws: Ws):
    body = request_body.parse()
    check_visibility(layer.id, body.internal)
    ws.set_internal(layer.id, body.internal, who.name)
    return json_bytes(orjson.dumps({"collection": layer.id, "internal": body.internal}))

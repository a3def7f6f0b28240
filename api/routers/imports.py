"""Loading planners' official files into a layer, the layer's revision history, rollback and visibility."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import dataset, require, workspace
from api.errors import ApiError, bad_request, not_found
from layers.admin import province_outline
from layers.workspace import WorkspaceError

router = APIRouter(tags=["Imports"])
MAX_UPLOAD = 200_000_000  # bytes
LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


def run_import(ws, layer_id: str, path: Path, filename: str, author: str, *, crs: str | None = None,
               encoding: str | None = None, append: bool = False, accuracy: str | None = None,
               internal: bool | None = None) -> tuple[dict, int | None]:
    """Read, validate and commit one file as a new revision of `layer_id` (plain function for API, CLI, tests).

    Returns the report (with the revision when it landed) and the HTTP status that fits.
    """
    from layers.importer import ImportRefused, read_import

    if not LAYER_ID.match(layer_id):
        raise ApiError(400, f"layer id {layer_id!r} must be lower-case letters, digits and _",
                       f"Mã lớp {layer_id!r} chỉ gồm chữ thường, số và _")
    current = ws.dataset.get(layer_id)
    outline = province_outline(ws.dataset)
    schema = current.queryables() if current is not None else None
    try:
        frame, report = read_import(path, layer_id, schema, outline, crs=crs, encoding=encoding,
                                    accuracy=accuracy, geometry_type=current.geometry_type if current else None,
                                    filename=filename)
    except ImportRefused as exc:
        status = 413 if exc.status == 413 else 422
        return {"outcome": "refused", "title": "Import refused", "status": status, "code": exc.code,
                "detail": exc.en, "detail_vi": exc.vi, "file": filename}, status
    doc = report.to_dict()
    if len(frame) == 0:
        return {"outcome": "refused", "title": "Import refused", "status": 422, "code": "no_valid_features",
                "report": doc,
                "detail": "no feature passed validation; the layer is unchanged",
                "detail_vi": "Không có đối tượng hợp lệ; lớp giữ nguyên"}, 422
    try:
        if current is None:  # a new layer is a draft until someone publishes it — internal before it exists
            ws.set_internal(layer_id, True if internal is None else internal, author)
        elif internal is not None:
            ws.set_internal(layer_id, internal, author)
        revision = ws.replace_layer(layer_id, frame, author=author, source_file=filename, report=doc, append=append)
    except WorkspaceError as exc:
        raise ApiError(exc.status, exc.en, exc.vi) from None
    return {"outcome": "imported", "revision": revision.to_dict(), "report": doc}, 201


@router.post("/collections/{collection_id}/imports", summary="Import a file as a new revision (planners)")
async def import_file(collection_id: str, request: Request):
    who = require(request, "planner")
    length = int(request.headers.get("content-length") or 0)
    if length > MAX_UPLOAD + 1_000_000:
        raise ApiError(413, f"the upload is larger than {MAX_UPLOAD // 1_000_000} MB", "Tệp tải lên quá lớn")
    try:
        form = await request.form(max_part_size=MAX_UPLOAD)
    except Exception as exc:  # noqa: BLE001 - malformed multipart is the client's problem
        raise bad_request(f"send multipart/form-data with a `file` field: {exc}",
                          "Cần gửi multipart/form-data với trường `file`") from None
    upload = form.get("file")
    if upload is None or not hasattr(upload, "filename"):
        raise bad_request("the form needs a `file` field", "Thiếu trường `file`")
    unknown = set(form.keys()) - {"file", "crs", "encoding", "mode", "accuracy", "internal"}
    if unknown:
        raise bad_request(f"unknown form field(s): {', '.join(sorted(unknown))}", "Trường không xác định")
    mode = form.get("mode") or "replace"
    if mode not in ("replace", "append"):
        raise bad_request("mode must be replace or append", "mode phải là replace hoặc append")
    internal = form.get("internal")
    folder = Path(tempfile.mkdtemp(prefix="planmap-import-"))
    try:
        name = os.path.basename(upload.filename or "upload") or "upload"
        path = folder / name
        with open(path, "wb") as out:
            await run_in_threadpool(shutil.copyfileobj, upload.file, out, 1 << 20)
        doc, status = await run_in_threadpool(
            run_import, workspace(request), collection_id, path, name, who.name, crs=form.get("crs") or None,
            encoding=form.get("encoding") or None, append=mode == "append", accuracy=form.get("accuracy") or None,
            internal=None if internal in (None, "") else internal in ("1", "true", "yes"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    media = "application/json" if status < 400 else "application/problem+json"
    return Response(orjson.dumps(doc), status_code=status, media_type=media)


@router.get("/collections/{collection_id}/revisions", summary="The layer's revision history")
def revisions(collection_id: str, request: Request):
    if dataset(request).get(collection_id) is None:
        raise not_found(f"collection {collection_id!r} does not exist", f"Không có lớp dữ liệu {collection_id!r}")
    history = [r.to_dict() for r in workspace(request).history(collection_id)]
    for item in history:
        item.pop("report", None)
    return Response(orjson.dumps({"collection": collection_id, "revisions": history}), media_type="application/json")


@router.get("/collections/{collection_id}/revisions/{revision_id}", summary="One revision with its import report")
def revision(collection_id: str, revision_id: int, request: Request):
    if dataset(request).get(collection_id) is None:
        raise not_found(f"collection {collection_id!r} does not exist", f"Không có lớp dữ liệu {collection_id!r}")
    found = [r for r in workspace(request).history(collection_id) if r.id == revision_id]
    if not found:
        raise not_found(f"revision {revision_id} does not exist", f"Không có phiên bản {revision_id}")
    return Response(orjson.dumps(found[0].to_dict()), media_type="application/json")


@router.post("/collections/{collection_id}/revisions/{revision_id}/rollback",
             summary="Make an earlier revision current again (planners)")
def rollback(collection_id: str, revision_id: int, request: Request):
    who = require(request, "planner")
    if dataset(request).get(collection_id) is None:
        raise not_found(f"collection {collection_id!r} does not exist", f"Không có lớp dữ liệu {collection_id!r}")
    try:
        new = workspace(request).rollback(collection_id, revision_id, who.name)
    except WorkspaceError as exc:
        raise ApiError(exc.status, exc.en, exc.vi) from None
    return Response(orjson.dumps(new.to_dict()), media_type="application/json")


class LayerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    internal: bool


@router.put("/collections/{collection_id}/settings", summary="Make a layer internal (draft) or public (planners)")
async def settings(collection_id: str, request: Request):
    who = require(request, "planner")
    if dataset(request).get(collection_id) is None:
        raise not_found(f"collection {collection_id!r} does not exist", f"Không có lớp dữ liệu {collection_id!r}")
    try:
        body = LayerSettings.model_validate_json(await request.body())
    except ValueError as exc:
        raise bad_request(f"send {{\"internal\": true|false}}: {exc}", "Cần {\"internal\": true|false}") from None
    try:
        workspace(request).set_internal(collection_id, body.internal, who.name)
    except WorkspaceError as exc:
        raise ApiError(exc.status, exc.en, exc.vi) from None
    return Response(orjson.dumps({"collection": collection_id, "internal": body.internal}),
                    media_type="application/json")

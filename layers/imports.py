"""Loading a planner's official file into a layer: read and check it (layers/importing), then commit it whole.

The commit stage of an import: the file's features become the layer's next revision (or are appended), a layer
created by an import starts internal (a draft until someone publishes it), and a file without one usable feature
changes nothing.  The API route and `planmap import` both call `import_file`.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import BinaryIO

from geo.errors import BadRequest, Unavailable
from layers.admin import province_outline
from layers.importing import ImportRefused, read_import
from layers.limits import MAX_UPLOAD_BYTES
from layers.register import check_visibility
from layers.scratch import scratch_dir, scratch_root, scrub
from layers.validation import layer_rules
from layers.workspace import Workspace

LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
COPY_CHUNK_BYTES = 1 << 20


def check_layer_id(layer_id: str) -> str:
    """A collection id a new layer may take: lower-case letters, digits and _ (it becomes a URL and a table)."""
    if not LAYER_ID.match(layer_id):
        raise BadRequest(f"layer id {layer_id!r} must be lower-case letters, digits and _",
                         f"Mã lớp {layer_id!r} chỉ gồm chữ thường, số và _")
    return layer_id


def import_file(ws: Workspace, layer_id: str, path: Path, filename: str, author: str, *, crs: str | None = None,
                encoding: str | None = None, append: bool = False, accuracy: str | None = None,
                internal: bool | None = None) -> dict:
    """Read, validate and commit one file as a new revision of `layer_id`.

    Returns {"outcome": "imported", "revision": …, "report": …}; raises ImportRefused (422, or 413 for a file too
    large) when the file cannot be used — then the layer is as it was.
    """
    check_layer_id(layer_id)
    if internal is not None:
        check_visibility(layer_id, internal)
    current = ws.dataset.get(layer_id)
    schema = current.queryables() if current is not None else None
    root = _scratch(ws)
    try:
        with scratch_dir(root, "import") as work:
            frame, report = read_import(path, layer_id, schema, province_outline(ws.dataset), crs=crs,
                                        encoding=encoding, accuracy=accuracy, max_bytes=MAX_UPLOAD_BYTES,
                                        geometry_type=current.geometry_type if current else None, filename=filename,
                                        rules=layer_rules(ws.dataset, layer_id), workdir=work)
    except ImportRefused as exc:  # what the file's readers said, without the server's folders
        exc.en, exc.vi = scrub(exc.en, root, filename), scrub(exc.vi, root, filename)
        exc.details.setdefault("file", filename)
        raise
    doc = report.to_dict()
    if len(frame) == 0:
        refused = ImportRefused("no_valid_features", "no feature passed validation; the layer is unchanged",
                                "Không có đối tượng hợp lệ; lớp giữ nguyên")
        refused.details.update(file=filename, report=doc)
        raise refused
    if current is None:  # a new layer is a draft until someone publishes it — internal before it exists
        ws.set_internal(layer_id, True if internal is None else internal, author)
    elif internal is not None:
        ws.set_internal(layer_id, internal, author)
    revision = ws.replace_layer(layer_id, frame, author=author, source_file=filename, report=doc, append=append)
    return {"outcome": "imported", "revision": revision.to_dict(), "report": doc}


def import_upload(ws: Workspace, layer_id: str, upload: BinaryIO, filename: str | None, author: str,
                  **options) -> dict:
    """An uploaded file imported like `import_file`: written under its own base name into a scratch folder of the
    store (layers/scratch.py), which is removed afterwards whatever happens — and at the next start-up if the
    process is killed midway."""
    check_layer_id(layer_id)
    name = os.path.basename(filename or "") or "upload"
    if name in (".", ".."):
        name = "upload"
    with scratch_dir(_scratch(ws), "upload") as folder:
        path = folder / name
        with open(path, "wb") as out:
            shutil.copyfileobj(upload, out, COPY_CHUNK_BYTES)
        return import_file(ws, layer_id, path, name, author, **options)


def _scratch(ws: Workspace) -> Path:
    """The store's scratch folder; an import needs the store, so none is a 503 before any work."""
    if ws.store is None:
        raise Unavailable("this server has no writable store", "Máy chủ không có kho dữ liệu ghi được")
    return scratch_root(ws.store.folder)

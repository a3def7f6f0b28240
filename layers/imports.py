"""Loading a planner's official file into a layer: read and check it (layers/importing), then commit it whole.

The commit stage of an import: the file's features become the layer's next revision (or are appended), a layer
created by an import starts internal (a draft until someone publishes it), and a file without one usable feature
changes nothing.  The API route and `planmap import` both call `import_file`.
"""

from __future__ import annotations

import re
from pathlib import Path

from geo.errors import BadRequest
from layers.admin import province_outline
from layers.importing import ImportRefused, read_import
from layers.limits import MAX_UPLOAD_BYTES
from layers.register import check_visibility
from layers.validation import layer_rules
from layers.workspace import Workspace

LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


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
    try:
        frame, report = read_import(path, layer_id, schema, province_outline(ws.dataset), crs=crs,
                                    encoding=encoding, accuracy=accuracy, max_bytes=MAX_UPLOAD_BYTES,
                                    geometry_type=current.geometry_type if current else None, filename=filename,
                                    rules=layer_rules(ws.dataset, layer_id))
    except ImportRefused as exc:
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

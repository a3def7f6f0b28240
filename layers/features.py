"""Editing a layer feature by feature (OGC API – Features Part 4): create, replace, delete — each one revision.

One place decides what a written feature looks like: only the layer's own properties, provenance filled in
(`source` says who edited it and when, `accuracy` never defaults to `exact`), and new features take the next
free id.  An edit is an `Edit` of the rows it touches, so its cost does not grow with the layer.  Each feature
has an entity tag (its state's fingerprint): a write that names the state it was made from (`If-Match`) is
refused with 412 when someone changed the feature since.  The API, the proposals register and imports all go
through here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import CRS84, SupportedCrs, pyproj_crs, transform_geometries
from geo.errors import BadRequest, NotFound, PreconditionFailed, Unprocessable
from layers.dataset import Edit
from layers.importing.geometry import coerce, norm_geometry_type
from layers.proposals import check_lonlat, read_geometry
from layers.provenance import ACCURACY, DEFAULT_ACCURACY
from layers.validation import check_write

if TYPE_CHECKING:
    from layers.dataset import Layer
    from layers.revisions import Revision
    from layers.workspace import Workspace

STORAGE_CRS = pyproj_crs(CRS84)  # parsed once: building a one-row frame from the text costs more than the row
ETAG_BYTES = 12  # 96-bit fingerprints: collisions between two states of one feature are out of reach


def next_fid(layer: Layer | None) -> int:
    """The id a new feature of the layer gets: one past the largest."""
    return int(layer.fids.max()) + 1 if layer is not None and len(layer) else 1


def numbered(new: gpd.GeoDataFrame, start: int) -> gpd.GeoDataFrame:
    """`new` (CRS84) with feature ids start, start+1, … in its order."""
    new = gpd.GeoDataFrame(new.reset_index(drop=True), geometry=new.geometry.name, crs=STORAGE_CRS)
    new.index = pd.Index(range(start, start + len(new)), dtype="int64")
    return new


def etag(layer: Layer, row: int) -> str:
    """The feature's entity tag: a fingerprint of its whole state (properties and geometry) as served."""
    return '"' + hashlib.blake2b(layer.feature(row), digest_size=ETAG_BYTES).hexdigest() + '"'


def etag_of(ws: Workspace, layer_id: str, fid: int) -> str | None:
    layer = ws.dataset.get(layer_id)
    row = layer.row_of(fid) if layer is not None else None
    return None if row is None else etag(layer, row)


def check_if_match(layer: Layer, row: int, if_match: str | None) -> None:
    """Refuse (412) a write made from another state of the feature than the current one."""
    if if_match is None or if_match.strip() == "*":
        return
    current = etag(layer, row)
    offered = [t.strip() for t in if_match.split(",")]
    if current not in offered:  # strong comparison: a weak tag (W/…) never matches
        raise PreconditionFailed(
            "the feature was changed by someone else since you read it; reload it and redo your change",
            "Đối tượng đã được người khác sửa sau khi bạn mở; hãy tải lại và sửa lại",
            details={"current_etag": current})


def feature_row(columns: list[str] | None, properties: dict, author: str) -> dict:
    """A written feature's properties: the layer's own fields only, with provenance (None: a new layer)."""
    if columns is not None:
        unknown = [k for k in properties if k not in columns]
        if unknown:
            raise BadRequest(f"unknown properties {', '.join(unknown)}; the layer has: {', '.join(columns)}",
                             f"Thuộc tính không có trong lớp: {', '.join(unknown)}")
    row = dict(properties)
    row.setdefault("source", f"planmap: edited by {author} on {dt.date.today().isoformat()}")
    row.setdefault("accuracy", DEFAULT_ACCURACY)
    if row["accuracy"] not in ACCURACY:
        raise BadRequest(f"accuracy must be one of {', '.join(ACCURACY)}",
                         f"accuracy phải là một trong: {', '.join(ACCURACY)}")
    return row


def parse_feature(feature: dict, source: SupportedCrs = CRS84, geometry_type: str | None = None
                  ) -> tuple[dict, shapely.Geometry]:
    """A posted GeoJSON Feature's properties and geometry, the geometry checked and turned into CRS84.

    Properties are scalars (a layer's columns hold nothing else); the geometry is a GeoJSON geometry of finite
    coordinates (400 otherwise), valid, in Vietnam and of the layer's `geometry_type` family (422 otherwise: a
    polygon in a layer of points would break every Shapefile export and check of that layer).
    """
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise BadRequest("properties must be an object", "properties phải là một đối tượng")
    not_scalar = [k for k, v in props.items() if isinstance(v, (dict, list))
                  or (isinstance(v, float) and not np.isfinite(v))]
    if not_scalar:
        raise BadRequest(f"{not_scalar[0]}: expected text, a finite number or true/false",
                         f"{not_scalar[0]}: giá trị phải là chuỗi, số hữu hạn hoặc true/false",
                         details={"field": not_scalar[0]})
    geom = read_geometry(feature.get("geometry"), BadRequest)
    if geom is None:
        raise BadRequest("a feature of a layer needs a geometry", "Đối tượng của lớp cần có hình học")
    if geom.is_empty or not geom.is_valid:
        reason = "empty" if geom.is_empty else shapely.is_valid_reason(geom)
        raise Unprocessable(f"invalid geometry: {reason}", f"Hình học không hợp lệ: {reason}")
    if geom.geom_type == "GeometryCollection":  # an edit says what it is; an import may flatten one, not an edit
        raise BadRequest("geometry: a GeometryCollection cannot be stored in a layer; send its parts as features",
                         "geometry: không lưu được GeometryCollection vào lớp; hãy gửi từng phần thành đối tượng",
                         details={"field": "geometry"})
    fitted, found = coerce(geom, norm_geometry_type(geometry_type))
    if fitted is None:  # 400 naming the field, as every other value the layer cannot hold (layers/validation.py)
        raise BadRequest(f"geometry: a {found} cannot go into a layer of {geometry_type or 'single geometries'}",
                         f"geometry: hình {found} không phù hợp với lớp kiểu {geometry_type or 'hình đơn'}",
                         details={"field": "geometry"})
    geoms = np.array([fitted], dtype=object)
    if source != CRS84:
        geoms = transform_geometries(geoms, source, CRS84)
    check_lonlat(geoms)
    return props, geoms[0]


def _existing(layer: Layer | None, feature_id: str | int, layer_id: str) -> tuple[int, int]:
    """(feature id, row) of an existing feature, or 404."""
    try:
        fid = int(feature_id)
    except (TypeError, ValueError):
        fid = None
    row = layer.row_of(fid) if layer is not None and fid is not None else None
    if row is None:
        raise NotFound(f"feature {feature_id!r} does not exist in collection {layer_id!r}",
                       f"Không có đối tượng {feature_id!r} trong lớp {layer_id!r}")
    return fid, row


def editable(ws: Workspace, layer_id: str, sees_internal: bool) -> Layer:
    """The layer as published now, if the editor may see it (404 otherwise)."""
    layer = ws.view_for(sees_internal).get(layer_id)
    if layer is None:
        raise NotFound(f"collection {layer_id!r} does not exist", f"Không có lớp dữ liệu {layer_id!r}")
    return layer


def _one(row: dict, geometry: shapely.Geometry, fid: int) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame([row], geometry=[geometry], crs=STORAGE_CRS)
    frame.index = pd.Index([fid], dtype="int64")
    return frame


def create_feature(ws: Workspace, layer_id: str, properties: dict, geometry: shapely.Geometry, author: str,
                   sees_internal: bool = True) -> tuple[int, Revision]:
    """Add one feature (geometry in CRS84) as a new revision; returns its id and the revision."""
    properties, geometry = check_write(ws, layer_id, properties, geometry, sees_internal)  # 400 naming the field
    feature_row(editable(ws, layer_id, sees_internal).property_columns, properties, author)  # refuse before the lock
    created: list[int] = []

    def change(layer: Layer | None) -> Edit:
        if layer is None:
            raise NotFound(f"collection {layer_id!r} does not exist", f"Không có lớp dữ liệu {layer_id!r}")
        fid = next_fid(layer)
        created[:] = [fid]
        return Edit(puts=_one(feature_row(layer.property_columns, properties, author), geometry, fid))

    revision = ws.edit(layer_id, change, author=author, action="create")
    return created[0], revision


def replace_feature(ws: Workspace, layer_id: str, fid: str | int, properties: dict, geometry: shapely.Geometry,
                    author: str, sees_internal: bool = True, if_match: str | None = None) -> tuple[int, Revision]:
    """Replace one feature's properties and geometry as a new revision (412 if `if_match` is not its state)."""
    properties, geometry = check_write(ws, layer_id, properties, geometry, sees_internal)  # 400 naming the field
    layer = editable(ws, layer_id, sees_internal)
    number, _ = _existing(layer, fid, layer_id)
    feature_row(layer.property_columns, properties, author)  # refuse before the lock

    def change(layer: Layer | None) -> Edit:
        _, row = _existing(layer, number, layer_id)
        check_if_match(layer, row, if_match)
        return Edit(puts=_one(feature_row(layer.property_columns, properties, author), geometry, number))

    return number, ws.edit(layer_id, change, author=author, action="replace")


def delete_feature(ws: Workspace, layer_id: str, fid: str | int, author: str, sees_internal: bool = True,
                   if_match: str | None = None) -> Revision:
    """Remove one feature as a new revision (412 if `if_match` is not its current state)."""
    number, _ = _existing(editable(ws, layer_id, sees_internal), fid, layer_id)

    def change(layer: Layer | None) -> Edit:
        _, row = _existing(layer, number, layer_id)
        check_if_match(layer, row, if_match)
        return Edit(deleted=(number,))

    return ws.edit(layer_id, change, author=author, action="delete")


def set_property(ws: Workspace, layer_id: str, fid: int, name: str, value: object, author: str,
                 if_match: str | None = None) -> Revision:
    """Change one property of one feature (e.g. a proposal's status) as a new revision."""
    _existing(ws.dataset.get(layer_id), fid, layer_id)

    def change(layer: Layer | None) -> Edit:
        _, row = _existing(layer, fid, layer_id)
        check_if_match(layer, row, if_match)
        props = layer.properties_of(row)
        props[name] = value
        return Edit(puts=_one(props, layer.geometry_of(row), fid))

    return ws.edit(layer_id, change, author=author, action="replace")

"""Editing a layer feature by feature (OGC API – Features Part 4): create, replace, delete — each one revision.

One place decides what a written feature looks like: only the layer's own properties, provenance filled in
(`source` says who edited it and when, `accuracy` never defaults to `exact`), and new features take the next
free id.  The API, the proposals register and imports all go through here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import CRS84, SupportedCrs, transform_geometries
from geo.errors import BadRequest, NotFound, Unprocessable
from layers.importing.geometry import coerce, norm_geometry_type
from layers.proposals import check_lonlat, read_geometry
from layers.provenance import ACCURACY, DEFAULT_ACCURACY

if TYPE_CHECKING:
    from layers.revisions import Revision
    from layers.workspace import Workspace

STORAGE_CRS = "OGC:CRS84"


def next_fid(frame: gpd.GeoDataFrame | None) -> int:
    """The id a new feature of the layer gets: one past the largest (ids are never reused within a revision)."""
    return int(frame.index.max()) + 1 if frame is not None and len(frame) else 1


def append_features(current: gpd.GeoDataFrame | None, new: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[int]]:
    """`new` added after `current` with the next ids; returns the layer and the ids given (in `new`'s order)."""
    start = next_fid(current)
    fids = list(range(start, start + len(new)))
    new = gpd.GeoDataFrame(new.reset_index(drop=True), geometry=new.geometry.name, crs=STORAGE_CRS)
    new.index = pd.Index(fids, dtype="int64")
    if current is None:
        return new, fids
    if current.geometry.name != new.geometry.name:
        new = new.rename_geometry(current.geometry.name)
    return gpd.GeoDataFrame(pd.concat([current, new]), geometry=current.geometry.name, crs=STORAGE_CRS), fids


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
        raise BadRequest(f"properties {', '.join(not_scalar)}: a value must be text, a finite number or true/false",
                         f"Thuộc tính {', '.join(not_scalar)}: giá trị phải là chuỗi, số hữu hạn hoặc true/false")
    geom = read_geometry(feature.get("geometry"), BadRequest)
    if geom is None:
        raise BadRequest("a feature of a layer needs a geometry", "Đối tượng của lớp cần có hình học")
    if geom.is_empty or not geom.is_valid:
        reason = "empty" if geom.is_empty else shapely.is_valid_reason(geom)
        raise Unprocessable(f"invalid geometry: {reason}", f"Hình học không hợp lệ: {reason}")
    fitted, found = coerce(geom, norm_geometry_type(geometry_type))
    if fitted is None:
        raise Unprocessable(f"a {found} cannot go into a layer of {geometry_type or 'single geometries'}",
                            f"Hình {found} không phù hợp với lớp kiểu {geometry_type or 'hình đơn'}")
    geoms = np.array([fitted], dtype=object)
    if source != CRS84:
        geoms = transform_geometries(geoms, source, CRS84)
    check_lonlat(geoms)
    return props, geoms[0]


def _columns(frame: gpd.GeoDataFrame) -> list[str]:
    return [c for c in frame.columns if c != frame.geometry.name]


def feature_id(frame: gpd.GeoDataFrame | None, feature_id: str | int, layer_id: str) -> int:
    """The numeric id of an existing feature, or 404."""
    try:
        fid = int(feature_id)
    except (TypeError, ValueError):
        fid = None
    if frame is None or fid is None or fid not in frame.index:
        raise NotFound(f"feature {feature_id!r} does not exist in collection {layer_id!r}",
                       f"Không có đối tượng {feature_id!r} trong lớp {layer_id!r}")
    return fid


def editable(ws: Workspace, layer_id: str, sees_internal: bool) -> gpd.GeoDataFrame:
    """The layer's current features, if the editor may see the layer (404 otherwise)."""
    dataset = ws.view_for(sees_internal)
    if dataset.get(layer_id) is None:
        raise NotFound(f"collection {layer_id!r} does not exist", f"Không có lớp dữ liệu {layer_id!r}")
    return ws.current_frame(layer_id)


def create_feature(ws: Workspace, layer_id: str, properties: dict, geometry: shapely.Geometry, author: str,
                   sees_internal: bool = True) -> tuple[int, Revision]:
    """Add one feature (geometry in CRS84) as a new revision; returns its id and the revision."""
    feature_row(_columns(editable(ws, layer_id, sees_internal)), properties, author)  # refuse before the lock
    created: list[int] = []

    def change(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        row = feature_row(_columns(frame), properties, author)
        new = gpd.GeoDataFrame([row], geometry=[geometry], crs=STORAGE_CRS)
        out, fids = append_features(frame, new)
        created[:] = fids
        return out

    revision = ws.modify(layer_id, change, author=author, action="create")
    return created[0], revision


def replace_feature(ws: Workspace, layer_id: str, fid: str | int, properties: dict, geometry: shapely.Geometry,
                    author: str, sees_internal: bool = True) -> tuple[int, Revision]:
    """Replace one feature's properties and geometry as a new revision."""
    number = feature_id(editable(ws, layer_id, sees_internal), fid, layer_id)

    def change(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        feature_id(frame, number, layer_id)
        row = feature_row(_columns(frame), properties, author)
        replaced = frame.copy()
        for col in _columns(replaced):
            replaced.at[number, col] = row.get(col)
        replaced.loc[[number], replaced.geometry.name] = gpd.GeoSeries([geometry], index=[number], crs=STORAGE_CRS)
        return replaced

    return number, ws.modify(layer_id, change, author=author, action="replace")


def delete_feature(ws: Workspace, layer_id: str, fid: str | int, author: str, sees_internal: bool = True
                   ) -> Revision:
    """Remove one feature as a new revision."""
    number = feature_id(editable(ws, layer_id, sees_internal), fid, layer_id)
    return ws.modify(layer_id, lambda frame: frame.drop(index=feature_id(frame, number, layer_id)), author=author,
                     action="delete")


def set_property(ws: Workspace, layer_id: str, fid: int, name: str, value: object, author: str) -> Revision:
    """Change one property of one feature (e.g. a proposal's status) as a new revision."""
    feature_id(ws.current_frame(layer_id), fid, layer_id)

    def change(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        frame = frame.copy()
        frame.at[feature_id(frame, fid, layer_id), name] = value
        return frame

    return ws.modify(layer_id, change, author=author, action="replace")

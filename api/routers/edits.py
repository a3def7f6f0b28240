"""OGC API – Features Part 4: planners create, replace and delete features; every change is a revision."""

from __future__ import annotations

import datetime as dt
import re

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from fastapi import APIRouter, Request
from shapely.geometry import shape
from starlette.responses import Response

from api.deps import base_url, dataset, require, workspace
from api.errors import ApiError, bad_request, not_found
from api.params import crs_param, json_body
from geo.crs import CRS84, transform_geometries
from layers.proposals import ProposalError, check_lonlat
from layers.workspace import WorkspaceError

router = APIRouter(tags=["Edits"])
ACCURACY = ("exact", "approximate", "schematic", "synthetic")
MAX_BODY = 5_000_000
LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


def _workspace_error(exc: WorkspaceError) -> ApiError:
    return ApiError(exc.status, exc.en, exc.vi)


async def read_feature(request: Request) -> tuple[dict, shapely.Geometry]:
    """The GeoJSON Feature in the body, its geometry turned into CRS84 (from the Content-Crs header if given)."""
    body = await json_body(request, MAX_BODY)
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise bad_request("the body must be a GeoJSON Feature", "Nội dung phải là một GeoJSON Feature")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise bad_request("properties must be an object", "properties phải là một đối tượng")
    try:
        geom = shape(body["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise bad_request(f"unreadable geometry: {exc}", f"Không đọc được hình học: {exc}") from None
    if geom.is_empty or not geom.is_valid:
        reason = "empty" if geom.is_empty else shapely.is_valid_reason(geom)
        raise ApiError(422, f"invalid geometry: {reason}", f"Hình học không hợp lệ: {reason}")
    header = request.headers.get("content-crs")
    source = crs_param(header.strip("<>") if header else None, "Content-Crs")
    geoms = transform_geometries(np.array([geom], dtype=object), source, CRS84) \
        if source != CRS84 else [geom]
    try:
        check_lonlat(geoms)
    except ProposalError as exc:
        raise ApiError(422, exc.en, exc.vi) from None
    return props, geoms[0]


def _row(layer_frame: gpd.GeoDataFrame | None, props: dict, geom, who: str) -> dict:
    """A new row for the layer: known properties only, with provenance."""
    if layer_frame is not None:
        unknown = [k for k in props if k not in layer_frame.columns]
        if unknown:
            allowed = ", ".join(c for c in layer_frame.columns if c != layer_frame.geometry.name)
            raise bad_request(f"unknown properties {', '.join(unknown)}; the layer has: {allowed}",
                              f"Thuộc tính không có trong lớp: {', '.join(unknown)}")
    row = dict(props)
    row.setdefault("source", f"planmap: edited by {who} on {dt.date.today().isoformat()}")
    row.setdefault("accuracy", "approximate")
    if row["accuracy"] not in ACCURACY:
        raise bad_request(f"accuracy must be one of {', '.join(ACCURACY)}", "accuracy không hợp lệ")
    row["geometry"] = geom
    return row


def _editable(request: Request, collection_id: str) -> gpd.GeoDataFrame:
    layer = dataset(request).get(collection_id)
    if layer is None:
        raise not_found(f"collection {collection_id!r} does not exist", f"Không có lớp dữ liệu {collection_id!r}")
    return workspace(request).current_frame(collection_id)


def _commit(request: Request, collection_id: str, change, who, action: str):
    try:
        return workspace(request).modify(collection_id, change, author=who.name, action=action)
    except WorkspaceError as exc:
        raise _workspace_error(exc) from None


@router.post("/collections/{collection_id}/items", status_code=201, summary="Create a feature (planners)")
async def create_feature(collection_id: str, request: Request):
    who = require(request, "planner")
    props, geom = await read_feature(request)
    _row(_editable(request, collection_id), props, geom, who.name)  # refuse bad properties before taking the lock
    created: dict[str, int] = {}

    def change(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        fid = int(frame.index.max()) + 1 if len(frame) else 1
        created["fid"] = fid
        new = gpd.GeoDataFrame([_row(frame, props, geom, who.name)], geometry="geometry", crs="OGC:CRS84",
                               index=[fid])
        if frame.geometry.name != "geometry":
            new = new.rename_geometry(frame.geometry.name)
        return gpd.GeoDataFrame(pd.concat([frame, new]), geometry=frame.geometry.name, crs="OGC:CRS84")

    revision = _commit(request, collection_id, change, who, "create")
    fid = created["fid"]
    location = f"{base_url(request)}/collections/{collection_id}/items/{fid}"
    return Response(orjson.dumps({"id": fid, "revision": revision.id}), status_code=201,
                    media_type="application/json", headers={"Location": location})


@router.put("/collections/{collection_id}/items/{feature_id}", summary="Replace a feature (planners)")
async def replace_feature(collection_id: str, feature_id: str, request: Request):
    who = require(request, "planner")
    fid = _fid(_editable(request, collection_id), feature_id, collection_id)
    props, geom = await read_feature(request)

    def change(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        _fid(frame, feature_id, collection_id)
        row = _row(frame, props, geom, who.name)
        replaced = frame.copy()
        for col in replaced.columns:
            if col != replaced.geometry.name:
                replaced.at[fid, col] = row.get(col)
        replaced.loc[[fid], replaced.geometry.name] = gpd.GeoSeries([geom], index=[fid], crs="OGC:CRS84")
        return replaced

    revision = _commit(request, collection_id, change, who, "replace")
    return Response(orjson.dumps({"id": fid, "revision": revision.id}), media_type="application/json")


@router.delete("/collections/{collection_id}/items/{feature_id}", status_code=204,
               summary="Delete a feature (planners)")
def delete_feature(collection_id: str, feature_id: str, request: Request):
    who = require(request, "planner")
    _fid(_editable(request, collection_id), feature_id, collection_id)

    def change(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return frame.drop(index=_fid(frame, feature_id, collection_id))

    _commit(request, collection_id, change, who, "delete")
    return Response(status_code=204)


def _fid(frame: gpd.GeoDataFrame, feature_id: str, collection_id: str) -> int:
    try:
        fid = int(feature_id)
    except ValueError:
        fid = None
    if fid is None or fid not in frame.index:
        raise not_found(f"feature {feature_id!r} does not exist in collection {collection_id!r}",
                        f"Không có đối tượng {feature_id!r} trong lớp {collection_id!r}")
    return fid

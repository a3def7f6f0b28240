"""GeoJSON encoding done once per feature, so that a response is a join of ready-made bytes."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import orjson
import pandas as pd
import shapely


def json_value(value: object) -> object:
    """A value as JSON-able Python: NaN/NaT become null, numpy scalars become Python numbers, dates ISO text."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return value


def encode_properties(frame: pd.DataFrame) -> list[bytes]:
    """The `properties` object of each row as JSON bytes, in row order."""
    columns = list(frame.columns)
    values = frame.to_numpy(dtype=object)
    out: list[bytes] = []
    for row in values:
        # bytes(memoryview(...)): an exact-size copy — orjson's own buffer keeps ~4 KB of heap per object alive
        out.append(bytes(memoryview(orjson.dumps({c: json_value(v) for c, v in zip(columns, row, strict=True)}))))
    return out


# Geometries per vectorised GEOS call when encoding a whole layer: GEOS's writers hold Python's GIL for the whole
# of a call (~0.12 s for 200,000 points), which a server's other requests would wait out.
GEOS_BATCH = 10_000


def encode_geometries(geoms: np.ndarray) -> list[bytes]:
    """Each geometry as GeoJSON bytes (null for a missing geometry)."""
    out: list[bytes] = []
    for start in range(0, len(geoms), GEOS_BATCH):
        out += [b"null" if t is None else t.encode() for t in shapely.to_geojson(geoms[start:start + GEOS_BATCH])]
    return out


def feature_head(fid: object, properties: bytes) -> bytes:
    """The part of a Feature before its geometry: `{"type":"Feature","id":…,"properties":…,"geometry":`."""
    return b'{"type":"Feature","id":' + orjson.dumps(fid) + b',"properties":' + properties + b',"geometry":'


def join_features(parts: list[bytes] | np.ndarray) -> bytes:
    return b",".join(parts)


_POSITION_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
                   "MultiPolygon": 3}


def vertex_count(geometry: object) -> int:
    """The number of positions in a GeoJSON geometry (a dict as parsed), counted without building it: the cost is
    one step per ring or part, so a limit can be checked before any work.  Malformed members count as nothing;
    reading the geometry refuses them later."""
    if not isinstance(geometry, dict):
        return 0
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        return sum(vertex_count(g) for g in members) if isinstance(members, list) else 0
    depth = _POSITION_DEPTH.get(kind)  # type: ignore[arg-type]
    coords = geometry.get("coordinates")
    if depth is None or not isinstance(coords, list):
        return 0
    if depth == 0:
        return 1
    return _count(coords, depth)


def _count(items: list, depth: int) -> int:
    if depth == 1:
        return len(items)
    return sum(_count(part, depth - 1) for part in items if isinstance(part, list))

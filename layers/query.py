"""Selecting features of a layer (bbox, property equality, time) and encoding a page of them as GeoJSON."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import shapely

from geo.crs import CRS84, SupportedCrs, transform_bbox, transform_geometries
from geo.errors import BadRequest
from geo.geojson import encode_geometries, join_features
from layers.dataset import Layer


class QueryError(BadRequest):
    """A query that cannot be answered as asked (the client's mistake)."""


@dataclass(frozen=True)
class FeatureQuery:
    """What a client asked of a layer's items."""

    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: SupportedCrs = CRS84
    filters: dict[str, str] = field(default_factory=dict)
    interval: tuple[dt.date | None, dt.date | None] | None = None


def select_rows(layer: Layer, query: FeatureQuery) -> np.ndarray:
    """Row numbers (ascending) of the features matching every criterion."""
    if query.bbox is not None:
        area = transform_bbox(query.bbox, query.bbox_crs, CRS84) if query.bbox_crs != CRS84 \
            else shapely.box(*query.bbox)
        rows = layer.index.intersecting(area)
    else:
        rows = np.arange(len(layer), dtype="int64")
    if query.filters:
        mask = np.ones(len(rows), dtype=bool)
        for name, value in query.filters.items():
            mask &= _equals(layer.frame[name].to_numpy()[rows], value, name)
        rows = rows[mask]
    if query.interval is not None:
        rows = rows[layer.valid_between(*query.interval, rows=rows)]
    return rows


def _equals(column: np.ndarray, value: str, name: str) -> np.ndarray:
    kind = column.dtype.kind
    if kind in "iuf":
        try:
            number = float(value)
        except ValueError:
            raise QueryError(f"property {name!r} is a number; {value!r} is not",
                             f"Thuộc tính {name!r} là số; {value!r} không phải số") from None
        return column == number
    if kind == "b":
        return column == (value.lower() in ("true", "1"))
    return np.array([v is not None and str(v) == value for v in column], dtype=bool) if kind == "O" \
        else column.astype(str) == value


def parse_interval(text: str) -> tuple[dt.date | None, dt.date | None]:
    """An OGC `datetime` value: an instant, or `start/end` with `..` or empty for an open end."""
    def one(part: str) -> dt.date | None:
        part = part.strip()
        if part in ("", ".."):
            return None
        try:
            return dt.datetime.fromisoformat(part.replace("Z", "+00:00")).date() if "T" in part \
                else dt.date.fromisoformat(part)
        except ValueError:
            raise QueryError(f"datetime {part!r} is not an RFC 3339 date or date-time",
                             f"datetime {part!r} không phải ngày/giờ RFC 3339") from None

    if "/" in text:
        start_text, end_text = text.split("/", 1)
        start, end = one(start_text), one(end_text)
        if start_text.strip() in ("", "..") and end_text.strip() in ("", ".."):
            raise QueryError("datetime interval must have at least one closed end",
                             "Khoảng datetime phải có ít nhất một đầu xác định")
        if start and end and start > end:
            raise QueryError("datetime interval starts after it ends", "Khoảng datetime bắt đầu sau khi kết thúc")
        return start, end
    instant = one(text)
    if instant is None:
        raise QueryError("datetime must not be empty", "datetime không được để trống")
    return instant, instant


def encode_rows(layer: Layer, rows: np.ndarray, crs: SupportedCrs) -> bytes:
    """The Features at `rows`, comma-joined, with geometry in `crs` (CRS84 comes pre-encoded)."""
    if len(rows) == 0:
        return b""
    if crs == CRS84:
        return join_features(layer.features[rows])
    geoms = transform_geometries(layer.frame.geometry.to_numpy()[rows], CRS84, crs)
    geo_bytes = encode_geometries(geoms)
    return join_features([h + g + b"}" for h, g in zip(layer.heads(rows), geo_bytes, strict=True)])

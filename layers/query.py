"""Selecting features of a layer (bbox, property equality, time) and encoding a page of them as GeoJSON."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np

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
        if query.bbox_crs != CRS84:
            rows = layer.index.intersecting(transform_bbox(query.bbox, query.bbox_crs, CRS84))
        else:
            rows = layer.index.intersecting(tuple(query.bbox))
    else:
        rows = np.arange(len(layer), dtype="int64")
    if query.filters:
        mask = np.ones(len(rows), dtype=bool)
        for name, value in query.filters.items():
            mask &= _equals(layer.column(name)[rows], value, name)
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


# RFC 3339 as OGC API – Features reads it: a full-date, or a date-time (the offset may be left out: the day is what
# planmap filters on).  Nothing else is a date — not "0" (1970 to Python's lax parsers), not "20250101", not a week.
DATE_PATTERN = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
DATE_TIME_PATTERN = DATE_PATTERN + (r"(?:[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
                                    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?)?")
# an instant, or an interval with at least one closed end (`..` or nothing for an open one)
INTERVAL_PATTERN = (rf"^(?:{DATE_TIME_PATTERN}(?:/(?:{DATE_TIME_PATTERN}|\.\.)?)?"
                    rf"|(?:\.\.)?/{DATE_TIME_PATTERN})$")
_DATE = re.compile(DATE_PATTERN)
_DATE_TIME = re.compile(DATE_TIME_PATTERN)


def parse_date(text: object, name: str = "as_of") -> dt.date:
    """A calendar date written YYYY-MM-DD (ISO 8601 / RFC 3339 full-date), or a 400 naming the parameter."""
    if isinstance(text, dt.date) and not isinstance(text, dt.datetime):
        return text
    if isinstance(text, str) and _DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise QueryError(f"{name} {text!r} is not a date YYYY-MM-DD", f"{name} {text!r} không phải ngày YYYY-MM-DD")


def parse_interval(text: str) -> tuple[dt.date | None, dt.date | None]:
    """An OGC `datetime` value: an instant, or `start/end` with `..` or empty for an open end (INTERVAL_PATTERN)."""
    def one(part: str) -> dt.date | None:
        if part in ("", ".."):
            return None
        if _DATE_TIME.fullmatch(part):
            try:
                return dt.date.fromisoformat(part[:10]) if len(part) == 10 else \
                    dt.datetime.fromisoformat(part.replace("Z", "+00:00").replace("z", "+00:00")).date()
            except ValueError:
                pass
        raise QueryError(f"datetime {part!r} is not an RFC 3339 date or date-time",
                         f"datetime {part!r} không phải ngày/giờ RFC 3339")

    if "/" in text:
        start_text, end_text = text.split("/", 1)
        start, end = one(start_text), one(end_text)
        if start_text in ("", "..") and end_text in ("", ".."):
            raise QueryError("datetime interval must have at least one closed end",
                             "Khoảng datetime phải có ít nhất một đầu xác định")
        if start and end and start > end:
            raise QueryError("datetime interval starts after it ends", "Khoảng datetime bắt đầu sau khi kết thúc")
        return start, end
    instant = one(text)
    if instant is None:
        raise QueryError("datetime must not be empty or '..'", "datetime không được để trống hoặc '..'")
    return instant, instant


def encode_rows(layer: Layer, rows: np.ndarray, crs: SupportedCrs) -> bytes:
    """The Features at `rows`, comma-joined, with geometry in `crs` (CRS84 and VN-2000 come pre-encoded)."""
    if len(rows) == 0:
        return b""
    rows = np.asarray(rows, dtype=np.int64)
    prepared = layer.encoded.get(crs.code)
    if prepared is not None:
        return prepared.join(rows)
    geoms = transform_geometries(layer.geometries(rows), CRS84, crs)
    geo_bytes = encode_geometries(geoms)
    return join_features([h + g + b"}" for h, g in zip(layer.heads(rows), geo_bytes, strict=True)])

"""Selecting features of a layer (bbox, property equality, time, a CQL2 filter), ordering them (`sortby`) and
encoding a page of them as GeoJSON (all properties or some, with or without geometry)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import orjson
import pandas as pd

from geo.crs import CRS84, SupportedCrs, transform_bbox, transform_geometries
from geo.errors import BadRequest
from geo.geojson import encode_geometries, feature_head, join_features
from layers.cql import Filter, filter_mask
from layers.dataset import Layer
from layers.limits import MAX_SORT_KEYS


class QueryError(BadRequest):
    """A query that cannot be answered as asked (the client's mistake)."""


@dataclass(frozen=True)
class FeatureQuery:
    """What a client asked of a layer's items."""

    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: SupportedCrs = CRS84
    filters: dict[str, str] = field(default_factory=dict)
    interval: tuple[dt.date | None, dt.date | None] | None = None
    filter: Filter | None = None  # a CQL2 filter (OGC API – Features Part 3)


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
    if query.filter is not None and len(rows):
        rows = rows[filter_mask(layer, query.filter, rows)]
    return rows


# ------------------------------------------------------------------------------------------------------ sorting
ID = "id"  # the feature id: sortable like a property


@dataclass(frozen=True)
class SortKey:
    """One key of `sortby`: a property (or `id`), ascending unless `descending`."""

    name: str
    descending: bool = False


def parse_sortby(text: str, sortable: list[str]) -> tuple[SortKey, ...]:
    """`name,-area_ha` (or `+name`; a `+` left unencoded in a URL arrives as a space) → the keys, checked against
    the properties that can be sorted on (400 naming any other)."""
    keys: list[SortKey] = []
    for part in text.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name[1:].strip() if name[:1] in "+-" and name else name
        if not name:
            raise QueryError(f"sortby {text!r} has an empty key; write e.g. sortby=name,-area_ha",
                             f"sortby {text!r} có khóa trống; viết ví dụ sortby=name,-area_ha")
        if name not in sortable:
            raise QueryError(f"sortby: unknown property {name!r}; sortable: {', '.join(sortable)}",
                             f"sortby: không có thuộc tính {name!r}; sắp xếp được theo: {', '.join(sortable)}")
        if all(k.name != name for k in keys):
            keys.append(SortKey(name, descending))
    if len(keys) > MAX_SORT_KEYS:
        raise QueryError(f"sortby has {len(keys)} keys; at most {MAX_SORT_KEYS} are accepted",
                         f"sortby có {len(keys)} khóa; tối đa {MAX_SORT_KEYS}")
    return tuple(keys)


def sort_rows(layer: Layer, rows: np.ndarray, keys: tuple[SortKey, ...]) -> np.ndarray:
    """`rows` ordered by the keys, empty values last whichever the direction, ties in feature order (stable, so
    paging through a sorted result meets every feature once)."""
    if not keys or len(rows) < 2:
        return rows
    columns = [rows]  # np.lexsort: the last key is the primary one, the rows themselves break ties
    for key in reversed(keys):
        rank = _rank(layer, key.name)[rows]
        empty = rank < 0
        rank = -rank if key.descending else rank
        columns.append(np.where(empty, np.iinfo(np.int64).max, rank))
    return rows[np.lexsort(columns)]


def _rank(layer: Layer, name: str) -> np.ndarray:
    """Per row of the layer, the rank of its value of `name` among the distinct values (−1: empty), computed once
    per layer: a sorted page then costs a sort of whole numbers over the selected rows, not of their values."""
    key = ("rank", name)
    rank = layer.cache.get(key)
    if rank is None:
        values = layer.fids if name == ID else layer.column(name)
        try:
            codes, _ = pd.factorize(values, sort=True)
        except TypeError:  # values of several kinds in one column (an imported layer): ordered as text
            text = pd.Series(values, dtype=object)
            codes, _ = pd.factorize(text.where(text.isna(), text.astype(str)), sort=True)
        rank = layer.cache[key] = np.asarray(codes, dtype=np.int64)
    return rank


def parse_properties(text: str, layer: Layer) -> tuple[str, ...]:
    """`properties=name,status` → the properties to return, in that order (400 naming any the layer lacks); an
    empty value asks for none.  The feature id is not a property: it always comes (naming it changes nothing)."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip() and n.strip() != ID))
    columns = layer.property_columns
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise QueryError(f"properties: unknown {', '.join(map(repr, unknown))}; the layer has: {', '.join(columns)}",
                         f"properties: không có {', '.join(map(repr, unknown))}; lớp có: {', '.join(columns)}")
    return names


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


def encode_rows(layer: Layer, rows: np.ndarray, crs: SupportedCrs, properties: tuple[str, ...] | None = None,
                geometry: bool = True) -> bytes:
    """The Features at `rows`, comma-joined, with geometry in `crs` (CRS84 and VN-2000 come pre-encoded).

    `properties`: only these (None: all, the prepared bytes as they are); `geometry=False`: `"geometry":null`.
    Only then are the rows' Features re-encoded — each row's properties cut from its prepared bytes, so a value
    reads exactly as in the whole Feature."""
    if len(rows) == 0:
        return b""
    rows = np.asarray(rows, dtype=np.int64)
    prepared = layer.encoded.get(crs.code)
    if properties is None and geometry and prepared is not None:
        return prepared.join(rows)
    heads = layer.heads(rows) if properties is None else _heads_with(layer, rows, properties)
    if not geometry:
        return join_features([h + b"null}" for h in heads])
    if prepared is not None:
        geo_bytes = [f[n:-1] for f, n in zip(prepared.items(rows), prepared.head_lengths(rows).tolist(), strict=True)]
    else:
        geo_bytes = encode_geometries(transform_geometries(layer.geometries(rows), CRS84, crs))
    return join_features([h + g + b"}" for h, g in zip(heads, geo_bytes, strict=True)])


_PROPERTIES_AT = len(b'{"type":"Feature","id":')
_PROPERTIES_AFTER_ID = len(b',"properties":')
_GEOMETRY_KEY = len(b',"geometry":')


def _heads_with(layer: Layer, rows: np.ndarray, names: tuple[str, ...]) -> list[bytes]:
    """`{"type":"Feature","id":…,"properties":{only `names`},"geometry":` of each row."""
    features = layer.encoded[CRS84.code]
    out = []
    for f, n, fid in zip(features.items(rows), features.head_lengths(rows).tolist(), layer.fids[rows].tolist(),
                         strict=True):
        start = _PROPERTIES_AT + len(orjson.dumps(fid)) + _PROPERTIES_AFTER_ID
        props = orjson.loads(f[start:n - _GEOMETRY_KEY])
        out.append(feature_head(fid, orjson.dumps({k: props.get(k) for k in names})))
    return out

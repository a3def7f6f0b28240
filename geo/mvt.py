"""Mapbox Vector Tile 2.1 encoding, vectorised: a layer of features (geometries already in tile units) as bytes.

An MVT is a protocol-buffers message whose every number — field keys, lengths, feature ids, tags and geometry
commands — is a varint.  So the features of a layer are written as one stream of integers, built with numpy
over all features at once (no Python loop per feature or per vertex), and turned into varints in one pass; only
the layer's key and value tables (one entry per distinct property value) are written one by one.

Geometry rules of the specification (4.3): coordinates are integers relative to the previous point of the same
feature (zigzag-encoded); lines need two distinct points; rings are written without their closing point, need
three, and an exterior ring has a positive area in tile coordinates (y down) and its holes a negative one.
"""

from __future__ import annotations

import math
import struct
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely

from geo.tiles import EXTENT

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
VERSION = 2
# MVT GeomType
POINT, LINESTRING, POLYGON = 1, 2, 3
# geometry commands
MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
# protobuf wire types
VARINT, FIXED64, LEN = 0, 1, 2
# shapely type ids of the single-part types
_SHAPELY_POINT, _SHAPELY_LINESTRING, _SHAPELY_LINEARRING, _SHAPELY_POLYGON = 0, 1, 2, 3


def _key(field: int, wire: int) -> int:
    return (field << 3) | wire


# field keys of the Tile, Layer, Feature and Value messages
TILE_LAYER = _key(3, LEN)
LAYER_NAME, LAYER_FEATURE, LAYER_KEY, LAYER_VALUE = _key(1, LEN), _key(2, LEN), _key(3, LEN), _key(4, LEN)
LAYER_EXTENT, LAYER_VERSION = _key(5, VARINT), _key(15, VARINT)
FEATURE_ID, FEATURE_TAGS, FEATURE_TYPE, FEATURE_GEOMETRY = _key(1, VARINT), _key(2, LEN), _key(3, VARINT), _key(4, LEN)
VALUE_STRING, VALUE_DOUBLE, VALUE_INT, VALUE_SINT, VALUE_BOOL = (_key(1, LEN), _key(3, FIXED64), _key(4, VARINT),
                                                                 _key(6, VARINT), _key(7, VARINT))


# ---------------------------------------------------------------------------------------------------- varints
def varint_sizes(values: np.ndarray) -> np.ndarray:
    """Bytes of each unsigned value as a varint (7 bits per byte)."""
    v = np.asarray(values, dtype=np.uint64)
    sizes = np.ones(len(v), dtype=np.int64)
    for shift in range(7, 64, 7):
        sizes += (v >> np.uint64(shift)) > 0
    return sizes


def varints(values: np.ndarray) -> bytes:
    """Unsigned values as consecutive varints, all at once."""
    v = np.asarray(values, dtype=np.uint64)
    if not len(v):
        return b""
    sizes = varint_sizes(v)
    starts = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    for j in range(int(sizes.max())):
        at = np.flatnonzero(sizes > j)
        seven = (v[at] >> np.uint64(7 * j)) & np.uint64(0x7F)
        more = (sizes[at] > j + 1).astype(np.uint64) << np.uint64(7)
        out[starts[at] + j] = (seven | more).astype(np.uint8)
    return out.tobytes()


def varint(value: int) -> bytes:
    """One unsigned value as a varint (pure Python: the per-value tables call it once per distinct value)."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@lru_cache(maxsize=1024)
def _len_prefix(key: int, length: int) -> bytes:
    """A length-delimited field's key and length (the lengths of table entries repeat: kept)."""
    return bytes([key]) + varint(length)


def zigzag(values: np.ndarray) -> np.ndarray:
    """Signed integers as protobuf's zigzag (0, -1, 1, -2 … → 0, 1, 2, 3 …)."""
    v = np.asarray(values, dtype=np.int64)
    return ((v << 1) ^ (v >> 63)).astype(np.uint64)


def _lengths_per(owner: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(owner, weights=weights, minlength=n).astype(np.int64)


def _interleave(blocks: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Per feature, its part of each block one after the other: `blocks` are (values, count per feature), each
    block's values in feature order."""
    counts = np.column_stack([c for _, c in blocks]) if blocks else np.zeros((n, 0), dtype=np.int64)
    totals = counts.sum(axis=1)
    feature_start = np.cumsum(totals) - totals
    offsets = np.cumsum(counts, axis=1) - counts  # where each block starts within its feature
    out = np.empty(int(totals.sum()), dtype=np.uint64)
    for b, (values, count) in enumerate(blocks):
        if not len(values):
            continue
        owner = np.repeat(np.arange(n), count)
        rank = np.arange(len(values)) - np.repeat(np.cumsum(count) - count, count)
        out[feature_start[owner] + offsets[owner, b] + rank] = values
    return out


# -------------------------------------------------------------------------------------------------- geometries
def feature_types(geoms: np.ndarray) -> np.ndarray:
    """Per geometry its MVT type (POINT, LINESTRING, POLYGON; 0 when missing or empty), by its highest dimension
    (a clipped polygon may come back as a collection holding a stray line)."""
    dims = shapely.get_dimensions(geoms)
    kinds = np.where(dims == 0, POINT, np.where(dims == 1, LINESTRING, np.where(dims == 2, POLYGON, 0)))
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return np.where(present, kinds, 0)


def _parts_of(geoms: np.ndarray, shapely_types: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The single-part geometries of the given types in each geometry (collections opened), with their owner."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    nested = shapely.get_type_id(parts) == 7  # a collection inside a collection (rare): opened once more
    if nested.any():
        inner, inner_owner = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        owner = np.concatenate([owner[~nested], owner[nested][inner_owner]])
        order = np.argsort(owner, kind="stable")
        parts, owner = parts[order], owner[order]
    keep = np.isin(shapely.get_type_id(parts), shapely_types) & ~shapely.is_empty(parts)
    return parts[keep], owner[keep]


def _sequences(geoms: np.ndarray, kind: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The point sequences to write — per feature its points (POINT), each line, or each ring — as
    (integer coordinates (m, 2), sequence of each point, feature of each sequence, whether a ring is a hole)."""
    if kind == POINT:
        parts, owner = _parts_of(geoms, (_SHAPELY_POINT,))
        coords = np.rint(shapely.get_coordinates(parts)).astype(np.int64)
        return coords, owner, np.arange(len(geoms)), np.zeros(len(geoms), dtype=bool)
    if kind == LINESTRING:
        parts, owner = _parts_of(geoms, (_SHAPELY_LINESTRING, _SHAPELY_LINEARRING))
        coords, seq = shapely.get_coordinates(parts, return_index=True)
        return np.rint(coords).astype(np.int64), seq, owner, np.zeros(len(parts), dtype=bool)
    parts, owner = _parts_of(geoms, (_SHAPELY_POLYGON,))
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, seq = shapely.get_coordinates(rings, return_index=True)
    hole = np.ones(len(rings), dtype=bool)
    if len(rings):
        hole[np.concatenate(([0], np.flatnonzero(ring_part[1:] != ring_part[:-1]) + 1))] = False
    return np.rint(coords).astype(np.int64), seq, owner[ring_part], hole


def _clean(coords: np.ndarray, seq: np.ndarray, n_seq: int, kind: int, hole: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop repeated points (rounding merges close vertices), rings' closing points, and sequences too short to
    draw — with a polygon's holes when its exterior went; turn rings the way MVT reads them.  Returns the kept
    coordinates, their sequence, and per sequence whether it is kept."""
    if kind == POINT or not len(coords):
        return coords, seq, np.ones(n_seq, dtype=bool)
    first = np.ones(len(coords), dtype=bool)
    first[1:] = seq[1:] != seq[:-1]
    keep = first | (coords != np.roll(coords, 1, axis=0)).any(axis=1)
    coords, seq, first = coords[keep], seq[keep], first[keep]
    if kind == POLYGON:  # the closing point (equal to the ring's first) is implied by ClosePath
        last = np.ones(len(coords), dtype=bool)
        last[:-1] = seq[1:] != seq[:-1]
        starts = np.flatnonzero(first)
        start_of = np.repeat(starts, np.diff(np.append(starts, len(coords))))
        closing = last & ~first & (coords == coords[start_of]).all(axis=1)
        coords, seq = coords[~closing], seq[~closing]
    counts = np.bincount(seq, minlength=n_seq)
    kept = counts >= (3 if kind == POLYGON else 2)
    if kind == POLYGON:
        area = _ring_areas(coords, seq, n_seq)
        kept &= area != 0
        exterior_gone = ~kept & ~hole
        # a hole belongs to the nearest exterior before it (rings are in polygon order)
        exterior_index = np.maximum.accumulate(np.where(~hole, np.arange(n_seq), 0)) if n_seq else np.zeros(0, int)
        kept &= ~exterior_gone[exterior_index]
        flip = kept & ((hole & (area > 0)) | (~hole & (area < 0)))
        if flip.any():
            coords = _reverse_rings(coords, seq, flip)
    point_kept = kept[seq]
    return coords[point_kept], seq[point_kept], kept


def _ring_areas(coords: np.ndarray, seq: np.ndarray, n_seq: int) -> np.ndarray:
    """Twice the signed area of each ring (shoelace over its points, the closing edge included)."""
    if not len(coords):
        return np.zeros(n_seq, dtype=np.int64)
    nxt = np.arange(1, len(coords) + 1)
    last = np.ones(len(coords), dtype=bool)
    last[:-1] = seq[1:] != seq[:-1]
    starts = np.flatnonzero(np.concatenate(([True], seq[1:] != seq[:-1])))
    nxt[last] = starts
    x, y = coords[:, 0], coords[:, 1]
    cross = x * y[nxt] - x[nxt] * y
    return np.bincount(seq, weights=cross, minlength=n_seq).astype(np.int64)


def _reverse_rings(coords: np.ndarray, seq: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """The points of the flagged rings in reverse order (the others unchanged)."""
    index = np.arange(len(coords))
    starts = np.flatnonzero(np.concatenate(([True], seq[1:] != seq[:-1])))
    ends = np.append(starts[1:], len(coords))
    start_of = np.repeat(starts, ends - starts)
    end_of = np.repeat(ends, ends - starts)
    flipped = flip[seq]
    index[flipped] = (start_of + end_of - 1 - index)[flipped]
    return coords[index]


def geometry_stream(geoms: np.ndarray, kind: int) -> tuple[np.ndarray, np.ndarray]:
    """The command integers of every geometry of one MVT type (in tile units), and how many belong to each."""
    n = len(geoms)
    coords, seq, seq_feature, hole = _sequences(geoms, kind)
    n_seq = len(seq_feature)
    coords, seq, kept = _clean(coords, seq, n_seq, kind, hole)
    points = np.bincount(seq, minlength=n_seq).astype(np.int64)
    kept &= points > 0
    if kind == POINT:
        length = np.where(kept, 1 + 2 * points, 0)
    else:
        length = np.where(kept, 2 + 2 * points + (1 if kind == POLYGON else 0), 0)
    seq_start = np.cumsum(length) - length  # sequences are in feature order already
    out = np.zeros(int(length.sum()), dtype=np.uint64)
    if len(coords):
        # deltas from the previous point of the same feature (the cursor starts at 0, 0 for each feature)
        feature = seq_feature[seq]
        previous = np.roll(coords, 1, axis=0)
        new_feature = np.ones(len(coords), dtype=bool)
        new_feature[1:] = feature[1:] != feature[:-1]
        previous[new_feature] = 0
        delta = zigzag(coords - previous)
        rank = np.arange(len(coords)) - np.repeat(np.cumsum(points) - points, points)
        at = seq_start[seq] + (1 + 2 * rank if kind == POINT else np.where(rank == 0, 1, 2 + 2 * rank))
        out[at] = delta[:, 0]
        out[at + 1] = delta[:, 1]
    live = np.flatnonzero(kept)
    if kind == POINT:
        out[seq_start[live]] = (points[live] << 3) | MOVE_TO
    else:
        out[seq_start[live]] = (1 << 3) | MOVE_TO
        out[seq_start[live] + 3] = ((points[live] - 1) << 3) | LINE_TO
        if kind == POLYGON:
            out[seq_start[live] + length[live] - 1] = (1 << 3) | CLOSE_PATH
    return out, _lengths_per(seq_feature, length, n)


# -------------------------------------------------------------------------------------------------- properties
def _value_message(value: object) -> bytes | None:
    """One property value as an MVT Value message (None for a null)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.encode("utf-8")
        return _len_prefix(VALUE_STRING, len(text)) + text
    if isinstance(value, bool | np.bool_):
        return bytes([VALUE_BOOL, 1 if value else 0])
    if isinstance(value, int | np.integer):
        number = int(value)
        if number >= 0:
            return bytes([VALUE_INT]) + varint(number)
        return bytes([VALUE_SINT]) + varint((-number << 1) - 1)  # zigzag of a negative number
    if isinstance(value, float | np.floating):
        return bytes([VALUE_DOUBLE]) + struct.pack("<d", value)
    if isinstance(value, pd.Timestamp | np.datetime64):
        value = pd.Timestamp(value).isoformat()
    text = (value.isoformat() if hasattr(value, "isoformat") else str(value)).encode("utf-8")
    return _len_prefix(VALUE_STRING, len(text)) + text


def _tags(properties: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray, list[bytes], list[bytes]]:
    """(tag integers in feature order, tags per feature, keys, values) — each column factorised once, so the key
    and value tables hold every distinct value once per column."""
    keys: list[bytes] = []
    values: list[bytes] = []
    pairs = []
    for name, column in properties.items():
        codes, uniques = pd.factorize(pd.Series(column, copy=False), use_na_sentinel=True)
        messages = [_value_message(u) for u in (uniques.tolist() if hasattr(uniques, "tolist") else list(uniques))]
        index = np.full(len(messages) + 1, -1, dtype=np.int64)  # code -1 (a null) → -1
        for i, message in enumerate(messages):
            if message is not None:
                index[i] = len(values)
                values.append(message)
        value_of = index[codes]  # codes of -1 pick index[-1] = -1
        pairs.append((len(keys), value_of))
        keys.append(name.encode("utf-8"))
    if not pairs:
        return np.zeros(0, dtype=np.uint64), np.zeros(n, dtype=np.int64), keys, values
    value_index = np.column_stack([v for _, v in pairs])  # (n, columns)
    present = value_index >= 0
    key_index = np.broadcast_to(np.array([k for k, _ in pairs], dtype=np.int64), value_index.shape)
    stacked = np.stack([key_index, value_index], axis=2)[present]  # (tags, 2) in feature order
    return stacked.reshape(-1).astype(np.uint64), present.sum(axis=1).astype(np.int64) * 2, keys, values


# ------------------------------------------------------------------------------------------------------- layer
def encode_layer(name: str, ids: np.ndarray, geoms: np.ndarray, properties: dict[str, np.ndarray],
                 extent: int = EXTENT) -> tuple[bytes, int]:
    """One MVT layer message (without the Tile's field key) and the number of features written.

    `ids`: feature ids (non-negative; a negative one is left out, MVT ids being unsigned); `geoms`: shapely
    geometries in tile units (missing or empty ones, and those that vanish when rounded, are not written);
    `properties`: column name → one value per geometry (nulls are left out of a feature's tags)."""
    n = len(geoms)
    types = feature_types(geoms) if n else np.zeros(0, dtype=np.int64)
    geometry = np.zeros(0, dtype=np.uint64)
    geometry_count = np.zeros(n, dtype=np.int64)
    if n:
        streams = []
        for kind in (POINT, LINESTRING, POLYGON):
            rows = np.flatnonzero(types == kind)
            if len(rows):
                stream, counts = geometry_stream(geoms[rows], kind)
                geometry_count[rows] = counts
                streams.append((rows, stream, counts))
        if len(streams) == 1:
            geometry = streams[0][1]
        elif streams:  # features of several types: their streams back in feature order
            geometry = _in_feature_order(streams, geometry_count)
    written = np.flatnonzero(geometry_count > 0)
    if len(written) < n:  # features without a geometry here have no part of the stream: only their rows go
        ids, types, geometry_count = ids[written], types[written], geometry_count[written]
        properties = {k: np.asarray(v)[written] for k, v in properties.items()}
    m = len(written)
    tags, tag_count, keys, values = _tags(properties, m)
    tag_bytes = _bytes_per(tags, tag_count, m)
    geometry_bytes = _bytes_per(geometry, geometry_count, m)
    ids = np.asarray(ids, dtype=np.int64)
    has_id = ids >= 0
    id_values = np.where(has_id, ids, 0).astype(np.uint64)
    body = (np.where(has_id, 1 + varint_sizes(id_values), 0) + 1 + varint_sizes(tag_bytes) + tag_bytes + 2 + 1
            + varint_sizes(geometry_bytes) + geometry_bytes)
    head = np.column_stack([np.full(m, LAYER_FEATURE), body, np.full(m, FEATURE_ID), id_values,
                            np.full(m, FEATURE_TAGS), tag_bytes]).astype(np.uint64)
    head_mask = np.ones((m, 6), dtype=bool)
    head_mask[:, 2:4] = has_id[:, None]
    middle = np.column_stack([np.full(m, FEATURE_TYPE), types, np.full(m, FEATURE_GEOMETRY),
                              geometry_bytes]).astype(np.uint64)
    stream = _interleave([(head[head_mask], head_mask.sum(axis=1)), (tags, tag_count),
                          (middle.reshape(-1), np.full(m, 4, dtype=np.int64)), (geometry, geometry_count)], m)
    name_bytes = name.encode("utf-8")
    out = [bytes([LAYER_VERSION, VERSION, LAYER_NAME]), varint(len(name_bytes)), name_bytes, varints(stream)]
    out += [_len_prefix(LAYER_KEY, len(k)) + k for k in keys]
    out += [_len_prefix(LAYER_VALUE, len(v)) + v for v in values]
    out += [bytes([LAYER_EXTENT]), varint(extent)]
    return b"".join(out), m


def _bytes_per(stream: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """Bytes of each feature's part of a varint stream."""
    if not len(stream):
        return np.zeros(n, dtype=np.int64)
    owner = np.repeat(np.arange(n), counts)
    return _lengths_per(owner, varint_sizes(stream), n)


def _in_feature_order(streams: list[tuple[np.ndarray, np.ndarray, np.ndarray]], counts: np.ndarray) -> np.ndarray:
    """Streams of subsets of the features (rows, stream, count per row) joined back in feature order."""
    whole = np.concatenate([s for _, s, _ in streams])
    start = np.zeros(len(counts), dtype=np.int64)
    at = 0
    for rows, _, c in streams:
        start[rows] = at + np.cumsum(c) - c
        at += int(c.sum())
    index = np.repeat(start - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
    return whole[index]


def encode_tile(layers: list[bytes]) -> bytes:
    """A Tile message of layer messages."""
    return b"".join(bytes([TILE_LAYER]) + varint(len(layer)) + layer for layer in layers)

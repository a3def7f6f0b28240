"""Plan layers held in memory as GeoDataFrames, with a spatial index and features pre-encoded for serving.

Loading pays once for what every request would otherwise repeat: the STRtree, and each feature's GeoJSON
bytes in CRS84.  A request then selects row numbers and joins bytes.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import shapely

from geo.crs import CRS84, SupportedCrs, parse_crs, pyproj_crs, transform_geometries
from geo.geojson import GEOS_BATCH, encode_geometries, encode_properties, feature_head
from geo.index import SpatialIndex
from geo.packed import PackedBytes, RowBytes
from layers.catalog import CollectionMeta, default_meta, load_catalog

# What a layer's cache keeps when an edit derives a new layer from it: what depends on its fields, not its rows.
KEPT_ACROSS_EDITS = frozenset({"field_rules"})

# Edits kept as separate frames of rows before they are merged into one (the layer's own table is never copied
# for an edit).
MAX_PENDING_EDITS = 256

# The CRSs whose encoding of every feature is prepared once (not reprojected per request): storage (CRS84) and
# the province's official VN-2000 / TM-3 106°30′.
VN2000 = parse_crs("EPSG:9213")
PREPARED_CRS: tuple[SupportedCrs, ...] = (CRS84, VN2000)
# Decimals kept in a prepared projected encoding: millimetres (the surveys behind the plans are not finer).
PREPARED_DECIMALS = {VN2000.code: 3}

# JSON-schema type of each pandas dtype kind, for queryables.
_KIND_TYPES = {"i": "integer", "u": "integer", "f": "number", "b": "boolean"}


@dataclass(frozen=True)
class Edit:
    """One change of a layer: `puts` (CRS84, index = feature ids) added or replacing the features with those ids,
    `deleted` ids removed; with `full`, `puts` is the whole layer (an import that replaces it)."""

    puts: gpd.GeoDataFrame | None = None
    deleted: tuple[int, ...] = field(default=())
    full: bool = False


class FrameSource:
    """A layer's attribute table (with its geometries), in memory or read from a file the first time it is needed,
    with the schema (columns, their types, the geometry column's name) known without reading it."""

    def __init__(self, frame: gpd.GeoDataFrame | None = None, *, loader=None, column_loader=None,
                 columns: list[str] | None = None, geometry_name: str | None = None, n: int | None = None) -> None:
        self._frame, self._loader, self._column_loader = frame, loader, column_loader
        self._lock = threading.Lock()
        if frame is not None:
            self.geometry_name = frame.geometry.name
            self.columns = [c for c in frame.columns if c != self.geometry_name]
            self.n = len(frame)
        else:
            self.geometry_name, self.columns, self.n = geometry_name, list(columns), n

    @property
    def loaded(self) -> bool:
        return self._frame is not None

    def get(self) -> gpd.GeoDataFrame:
        if self._frame is None:
            with self._lock:
                if self._frame is None:
                    self._frame = self._loader()
        return self._frame

    def column(self, name: str) -> np.ndarray:
        """One column's values, without reading the others when the table is still on disk."""
        if self._frame is None and self._column_loader is not None:
            return self._column_loader(name)
        return self.get()[name].to_numpy()


class Layer:
    """One collection: its metadata, its features (CRS84) and what serving them needs, prepared once.

    Per row: the feature id, its bounding box, and the whole Feature encoded as GeoJSON in each prepared CRS
    (CRS84 and VN-2000) and as WKB — kept end to end in buffers (geo/packed.py) that may be memory-mapped files
    shared by every process (layers/prepared.py).  The attribute table and the shapely geometries are only built
    when something needs them (filters, checks, exports).

    A layer is immutable once published: an edit makes a new Layer (`updated`) that shares what did not change.
    """

    meta: CollectionMeta
    geometry_type: str
    fids: np.ndarray  # feature ids, ascending
    bounds_array: np.ndarray  # per row: minx, miny, maxx, maxy (CRS84; NaN when there is no geometry)
    encoded: dict[str, RowBytes]  # CRS code → per row the whole Feature in that CRS
    wkb: RowBytes  # per row: the geometry as WKB (CRS84)
    index: SpatialIndex

    def __init__(self, meta: CollectionMeta, frame: gpd.GeoDataFrame, geometry_type: str) -> None:
        self.meta, self.geometry_type = meta, geometry_type
        self.fids = frame.index.to_numpy(dtype="int64")
        prepared = prepare_rows(self.fids, frame)
        self._init(FrameSource(frame), prepared.bounds, {k: RowBytes.whole(v) for k, v in prepared.encoded.items()},
                   RowBytes.whole(prepared.wkb), {c: frame[c].dtype for c in frame.columns
                                                  if c != frame.geometry.name})
        self._frame = frame

    def _init(self, root: FrameSource, bounds: np.ndarray, encoded: dict[str, RowBytes], wkb: RowBytes,
              dtypes: dict) -> None:
        self.bounds_array, self.encoded, self.wkb = bounds, encoded, wkb
        self._frame = None
        self._pending = (root, [], np.arange(len(self.fids), dtype=np.int64))
        self.index = SpatialIndex(bounds, self.geometries)
        self._sorted = _is_sorted(self.fids)
        self.cache = {}  # things derived from exactly this layer (e.g. its geometries in metres)
        # each column's type as loaded: edited rows are conformed to it, however the assembled table widened it
        self._dtypes = dtypes

    @classmethod
    def from_parts(cls, meta: CollectionMeta, geometry_type: str, fids: np.ndarray, bounds: np.ndarray,
                   encoded: dict[str, PackedBytes], wkb: PackedBytes, root: FrameSource, dtypes: dict,
                   accuracy: dict[str, int] | None = None) -> Layer:
        """A layer over prepared buffers (e.g. memory-mapped from the cache), its table read when first needed."""
        layer = cls.__new__(cls)
        layer.meta, layer.geometry_type, layer.fids = meta, geometry_type, fids
        layer._init(root, bounds, {k: RowBytes.whole(v) for k, v in encoded.items()}, RowBytes.whole(wkb), dtypes)
        if accuracy is not None:
            layer.cache["accuracy_mix"] = accuracy
        return layer

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """The features as a GeoDataFrame (index = feature ids).  After an edit it is assembled on first use, so
        that the edit itself does not pay for copying every column of a large layer."""
        if self._frame is None:
            root, put_frames, source = self._pending
            root_frame = root.get()
            if not put_frames and len(source) == len(root_frame) and (
                    len(source) == 0 or (source[0] == 0 and _is_sorted(source) and source[-1] == len(source) - 1)):
                self._frame = root_frame
                return root_frame
            rows = np.where(source >= 0, source, len(root_frame) - source - 1)
            frame = pd.concat([root_frame, *put_frames]).iloc[rows] if put_frames else root_frame.iloc[rows]
            self._frame = gpd.GeoDataFrame(frame, geometry=root_frame.geometry.name, crs=root_frame.crs)
        return self._frame

    def _sources(self) -> tuple[FrameSource, list[gpd.GeoDataFrame], np.ndarray]:
        """Where each row's attributes are: (root table, edited rows since, per row its root row or -1-k for the
        k-th edited row)."""
        if self._pending is None:
            frame = self.frame
            return FrameSource(frame), [], np.arange(len(frame), dtype=np.int64)
        root, put_frames, source = self._pending
        if len(put_frames) >= MAX_PENDING_EDITS:  # the edited rows merged into one frame; their numbering is kept
            merged = pd.concat(put_frames)
            put_frames = [gpd.GeoDataFrame(merged, geometry=put_frames[0].geometry.name, crs=put_frames[0].crs)]
        return root, put_frames, source

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "_bounds"):
            self._bounds = _total_bounds(self.bounds_array)
        return self._bounds

    @property
    def geoms(self) -> np.ndarray:
        """Per row: the shapely geometry (CRS84)."""
        return self.frame.geometry.to_numpy()

    def geometries(self, rows: np.ndarray) -> np.ndarray:
        """The shapely geometries (CRS84) of some rows — from the table when it is built, else decoded from the
        rows' WKB alone (an exact test on a few rows need not build the whole table)."""
        if self._frame is not None:
            return self._frame.geometry.to_numpy()[rows]
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty(len(rows), dtype=object)
        if len(rows):
            items = self.wkb.items(rows)
            present = np.array([len(w) > 0 for w in items], dtype=bool)
            if present.any():
                out[present] = shapely.from_wkb([w for w in items if w])
        return out

    def column(self, name: str) -> np.ndarray:
        """One property's value per row, without assembling the whole table when it need not be.  Kept once built:
        a filter asked again (a GIS client's every page) costs the rows it tests, not a pass over the layer."""
        key = ("column", name)
        values = self.cache.get(key)
        if values is None:
            values = self.cache[key] = self._column(name)  # shared by every request on this layer: not to be written
        return values

    def _column(self, name: str) -> np.ndarray:
        if self._frame is not None:
            return self._frame[name].to_numpy()
        root, put_frames, source = self._pending
        if put_frames:
            return self.frame[name].to_numpy()
        values = root.column(name)
        return values if len(source) == len(values) and np.array_equal(source, np.arange(len(values))) \
            else values[source]

    def updated(self, puts: gpd.GeoDataFrame | None, deleted: np.ndarray | list[int]) -> Layer:
        """The layer after an edit: `puts` (CRS84, index = feature ids) added or replacing the rows with the same
        ids, `deleted` ids removed.  Unchanged rows keep their encoded bytes and their place in the spatial index,
        and the attribute table is assembled only when first used — so an edit costs what it changes (plus one
        pass over the row references), not a rebuild of the layer.  Rows stay in feature-id order."""
        root, put_frames, source = self._sources()
        puts = _conform(puts, root.columns, root.geometry_name, self._dtypes) \
            if puts is not None and len(puts) else None
        put_fids = puts.index.to_numpy(dtype="int64") if puts is not None else np.empty(0, dtype="int64")
        old = self.fids
        gone = np.isin(old, np.asarray(deleted, dtype="int64")) if len(deleted) else None
        kept_rows = np.flatnonzero(~gone) if gone is not None else None
        kept_fids = old[kept_rows] if kept_rows is not None else old
        replaced_at = np.searchsorted(kept_fids, put_fids)  # where each put's id is (or would go) among the kept
        is_replace = (replaced_at < len(kept_fids)) & (kept_fids[np.minimum(replaced_at, len(kept_fids) - 1)]
                                                      == put_fids) if len(kept_fids) else np.zeros(0, dtype=bool)
        appended = put_fids[~is_replace] if len(put_fids) else put_fids
        if len(appended) and ((len(kept_fids) and appended.min() <= kept_fids[-1]) or not _is_sorted(appended)):
            return self._rebuilt_with(puts, deleted)  # ids inserted among the others (e.g. a rollback): rare
        n_kept, n = len(kept_fids), len(kept_fids) + len(appended)
        fids = np.concatenate([kept_fids, appended])
        source = source if kept_rows is None else source[kept_rows]
        bounds = np.empty((n, 4), dtype=np.float64)
        bounds[:n_kept] = self.bounds_array if kept_rows is None else self.bounds_array[kept_rows]
        position = np.arange(len(old), dtype=np.int64)  # old row → new row (-1: gone, or its geometry replaced)
        if kept_rows is not None:
            position[:] = -1
            position[kept_rows] = np.arange(n_kept)
        added = np.empty(0, dtype=np.int64)
        new_rows = np.empty(0, dtype=np.int64)
        prepared = None
        if puts is not None:
            new_rows = np.where(is_replace, replaced_at, 0)
            new_rows[~is_replace] = np.arange(n_kept, n)
            prepared = prepare_rows(put_fids, puts)
            bounds[new_rows] = prepared.bounds
            first = sum(len(f) for f in put_frames)
            source = np.concatenate([source, np.empty(len(appended), dtype=np.int64)])
            source[new_rows] = -1 - np.arange(first, first + len(puts), dtype=np.int64)
            put_frames = [*put_frames, puts]
            replaced_old = np.flatnonzero(np.isin(position, new_rows[is_replace])) if is_replace.any() \
                else np.empty(0, dtype=np.int64)
            position[replaced_old] = -1
            added = np.sort(new_rows)
        layer = Layer.__new__(Layer)
        layer.meta, layer.geometry_type = self.meta, self.geometry_type
        layer._frame, layer._pending = None, (root, put_frames, source)
        layer.fids, layer.bounds_array = fids, bounds
        layer.encoded = {k: v.updated(kept_rows, prepared.encoded[k] if prepared else None, new_rows, n)
                         for k, v in self.encoded.items()}
        layer.wkb = self.wkb.updated(kept_rows, prepared.wkb if prepared else None, new_rows, n)
        layer.index = self.index.updated(bounds, layer.geometries, position, added)
        layer._sorted = True
        layer._dtypes = self._dtypes
        layer.cache = {k: v for k, v in self.cache.items() if k in KEPT_ACROSS_EDITS}
        validity = getattr(self, "_validity", None)
        if validity is not None:  # dates parsed once: carried over, only the edited rows parsed
            carried = tuple(v if kept_rows is None else v[kept_rows] for v in validity)
            carried = tuple(np.concatenate([v, np.full(len(appended), np.datetime64("NaT"), dtype=v.dtype)])
                            for v in carried)
            if puts is not None:
                parsed = _parse_validity(self.meta, lambda name: puts[name].to_numpy(), puts.columns)
                for v, p in zip(carried, parsed, strict=True):
                    v[new_rows] = p
            layer._validity = carried
        return layer

    def _rebuilt_with(self, puts: gpd.GeoDataFrame | None, deleted: np.ndarray | list[int]) -> Layer:
        """The layer after an edit that puts ids among the existing ones, built anew."""
        frame = self.frame
        frame = frame[~frame.index.isin(np.union1d(np.asarray(deleted, dtype="int64"),
                                                   puts.index.to_numpy() if puts is not None else []))]
        if puts is not None:
            frame = pd.concat([frame, puts]).sort_index()
        layer = Layer(self.meta, gpd.GeoDataFrame(frame, geometry=self.frame.geometry.name, crs=self.frame.crs),
                      self.geometry_type)
        layer._dtypes = self._dtypes
        return layer

    def feature(self, row: int) -> bytes:
        """One row's whole Feature (CRS84) as served."""
        return self.encoded[CRS84.code][row]

    def heads(self, rows: np.ndarray) -> list[bytes]:
        """`{"type":"Feature","id":…,"properties":…,"geometry":` of each row, to pair with another geometry."""
        features = self.encoded[CRS84.code]
        return [f[:n] for f, n in zip(features.items(rows), features.head_lengths(rows).tolist(), strict=True)]

    @property
    def id(self) -> str:
        return self.meta.id

    def __len__(self) -> int:
        return len(self.fids)

    def row_of(self, fid: int) -> int | None:
        fids = self.fids
        if not self._sorted:  # a layer loaded from a file whose feature ids are not in order (rare)
            hits = np.flatnonzero(fids == fid)
            return int(hits[0]) if len(hits) else None
        row = int(np.searchsorted(fids, fid))
        return row if row < len(fids) and fids[row] == fid else None

    @property
    def property_columns(self) -> list[str]:
        if self._frame is not None:
            return [c for c in self._frame.columns if c != self._frame.geometry.name]
        return list(self._pending[0].columns)

    def queryables(self) -> dict[str, str]:
        """Property name → JSON-schema type, for every property a client may filter on."""
        return {col: _KIND_TYPES.get(self._dtypes[col].kind, "string") if col in self._dtypes else "string"
                for col in self.property_columns}

    def date_properties(self) -> frozenset[str]:
        """Text properties whose every non-empty value is a calendar date YYYY-MM-DD (e.g. `valid_from`): the
        queryables say `format: date`, so GIS clients type them as dates.  Checked once per layer revision."""
        if "date_properties" not in self.cache:
            from layers.query import DATE_PATTERN  # layers.query builds on this module

            found = set()
            for name, kind in self.queryables().items():
                if kind != "string":
                    continue
                text = pd.Series(self.column(name), dtype=object).dropna().astype(str)
                text = text[text != ""]
                if len(text) and text.str.fullmatch(DATE_PATTERN).all():
                    found.add(name)
            self.cache["date_properties"] = frozenset(found)
        return self.cache["date_properties"]

    def properties_of(self, row: int) -> dict:
        """One feature's properties as served (decoded from its encoded bytes; no table assembly)."""
        features = self.encoded[CRS84.code]
        return orjson.loads(features[row][:features.head_length(row)] + b"null}")["properties"]

    def properties_json(self) -> list[str]:
        """Every row's properties as JSON text, cut from the encoded features (for storing a whole layer without
        encoding it twice)."""
        start, tail = len(b'{"type":"Feature","id":'), len(b',"geometry":')
        props = len(b',"properties":')
        features = self.encoded[CRS84.code]
        rows = np.arange(len(self))
        return [f[start + len(str(fid)) + props:n - tail].decode()
                for f, n, fid in zip(features.items(rows), features.head_lengths(rows).tolist(),
                                     self.fids.tolist(), strict=True)]

    def geometry_of(self, row: int) -> shapely.Geometry:
        """One feature's geometry (CRS84)."""
        return self.geometries(np.array([row]))[0]

    @property
    def validity(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(valid_from, valid_to) of every row as datetime64 (NaT: open), from the catalog's temporal fields;
        None when the layer has none.  Parsed once: every date filter of planmap goes through `valid_between`."""
        if not hasattr(self, "_validity"):
            self._validity = _parse_validity(self.meta, self.column, self.property_columns)
        return self._validity

    def valid_between(self, start: dt.date | None, end: dt.date | None, rows: np.ndarray | None = None
                      ) -> np.ndarray:
        """Mask of the rows (all, or `rows`) valid at some time in [start, end]; open ends are None.

        A feature without validity dates is always valid; `valid_to` is the last day in force."""
        validity = self.validity
        n = len(self) if rows is None else len(rows)
        if validity is None:
            return np.ones(n, dtype=bool)
        valid_from, valid_to = validity if rows is None else (validity[0][rows], validity[1][rows])
        ok = np.ones(n, dtype=bool)
        if end is not None:
            ok &= np.isnat(valid_from) | (valid_from <= np.datetime64(end))
        if start is not None:
            ok &= np.isnat(valid_to) | (valid_to >= np.datetime64(start))
        return ok

    def valid_on(self, day: dt.date) -> np.ndarray:
        """Mask of the rows in force on `day`."""
        return self.valid_between(day, day)

    def temporal_extent(self) -> list[str | None] | None:
        """[first valid_from, last valid_to] over the layer, open ends as None; None when not temporal."""
        validity = self.validity
        if validity is None:
            return None
        starts, ends = validity
        start = None if np.isnat(starts).any() or len(starts) == 0 else str(starts.min().astype("datetime64[D]"))
        end = None if np.isnat(ends).any() or len(ends) == 0 else str(ends.max().astype("datetime64[D]"))
        return [start, end]

    def accuracy_mix(self) -> dict[str, int]:
        """How many features are of each accuracy (exact, approximate, schematic, synthetic)."""
        if "accuracy_mix" not in self.cache:
            self.cache["accuracy_mix"] = accuracy_counts(self.column("accuracy")) \
                if "accuracy" in self.property_columns else {}
        return self.cache["accuracy_mix"]


@dataclass
class Dataset:
    """All layers served, in catalog order."""

    layers: dict[str, Layer]
    source: Path | None = None
    internal: frozenset[str] = frozenset()  # layers only planners and admins may see (e.g. draft plans)
    catalog: dict[str, CollectionMeta] = field(default_factory=dict)  # descriptions, also of layers not loaded yet
    # things derived from exactly this snapshot (its public view, check engine, name index), built on first use
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def get(self, layer_id: str) -> Layer | None:
        return self.layers.get(layer_id)

    def public_view(self) -> Dataset:
        """The same dataset without its internal layers: what anonymous users and viewers get."""
        if not self.internal:
            return self
        if "public" not in self.cache:
            self.cache["public"] = Dataset({k: v for k, v in self.layers.items() if k not in self.internal},
                                           self.source, catalog=self.catalog)
        return self.cache["public"]

    def derived(self, key: str, build):
        """A value computed once per dataset snapshot (e.g. the check engine or the search index)."""
        if key not in self.cache:
            self.cache[key] = build(self)
        return self.cache[key]

    def __iter__(self):
        return iter(self.layers.values())


@dataclass(frozen=True)
class PreparedRows:
    """What serving needs of some rows, computed once: boxes, the Feature in each prepared CRS, WKB."""

    bounds: np.ndarray
    encoded: dict[str, PackedBytes]
    wkb: PackedBytes


def prepare_rows(fids: np.ndarray, frame: gpd.GeoDataFrame) -> PreparedRows:
    """Each row's box, its whole Feature as GeoJSON in every prepared CRS (with the length of the part before the
    geometry, which is the same in all) and its geometry as WKB."""
    props = encode_properties(frame.drop(columns=frame.geometry.name))
    heads = [feature_head(int(f), p) for f, p in zip(fids, props, strict=True)]
    del props
    head_lengths = np.fromiter((len(h) for h in heads), dtype=np.int32, count=len(heads))
    geoms = frame.geometry.to_numpy()
    encoded = {}
    for crs in PREPARED_CRS:
        target = geoms if crs == CRS84 else _rounded(transform_geometries(geoms, CRS84, crs),
                                                     PREPARED_DECIMALS[crs.code])
        geo_bytes = encode_geometries(target)
        encoded[crs.code] = PackedBytes.from_items([h + g + b"}" for h, g in zip(heads, geo_bytes, strict=True)],
                                                   head_lengths)
        del geo_bytes
    wkb = PackedBytes.from_items([b"" if w is None else w for w in _wkb(geoms)], sep=b"\n")
    bounds = shapely.bounds(geoms) if len(geoms) else np.empty((0, 4), dtype=np.float64)
    return PreparedRows(np.ascontiguousarray(bounds, dtype=np.float64), encoded, wkb)


def _wkb(geoms: np.ndarray) -> list:
    return [w for start in range(0, len(geoms), GEOS_BATCH) for w in shapely.to_wkb(geoms[start:start + GEOS_BATCH])]


def _rounded(geoms: np.ndarray, decimals: int) -> np.ndarray:
    """Coordinates rounded to `decimals` (VN-2000 metres to the millimetre: shorter text, no false precision)."""
    present = ~shapely.is_missing(geoms)
    out = geoms.copy()
    if present.any():
        out[present] = shapely.transform(geoms[present], lambda c: np.round(c, decimals))
    return out


def accuracy_counts(values: np.ndarray) -> dict[str, int]:
    return {str(k): int(v) for k, v in pd.Series(values).value_counts(dropna=False).items()}


def _parse_validity(meta: CollectionMeta, column, columns) -> tuple[np.ndarray, np.ndarray] | None:
    fields = [f for f in meta.temporal_fields if f in columns]
    if not fields:
        return None
    return tuple(pd.to_datetime(pd.Series(column(f)), errors="coerce").to_numpy(dtype="datetime64[ns]")
                 for f in (fields[0], fields[-1]))


def _total_bounds(bounds: np.ndarray) -> tuple[float, float, float, float]:
    present = np.isfinite(bounds).all(axis=1) if len(bounds) else np.zeros(0, dtype=bool)
    if not present.any():
        return (0.0, 0.0, 0.0, 0.0)
    b = bounds[present]
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def _is_sorted(fids: np.ndarray) -> bool:
    return bool(len(fids) < 2 or (fids[1:] > fids[:-1]).all())


def _conform(puts: gpd.GeoDataFrame, columns: list[str], geometry: str, dtypes: dict) -> gpd.GeoDataFrame:
    """Edited rows in the layer's own columns and, where their values allow, its column types — so that a row
    encodes the same whether it came from an edit or from a full load (5 stays 5, not 5.0)."""
    if puts.geometry.name != geometry:
        puts = puts.rename_geometry(geometry)
    out: dict[str, pd.Series] = {}
    for col in columns:
        values = puts[col] if col in puts.columns else pd.Series(None, index=puts.index, dtype=object)
        dtype = dtypes.get(col, np.dtype(object))
        kind = dtype.kind
        if kind in "iuf" and (values.notna().all() or kind == "f"):
            try:
                values = values.astype(dtype)
            except (TypeError, ValueError):
                pass
        elif kind in "iu":  # an integer column with gaps: whole numbers stay whole, gaps stay null
            try:
                values = pd.Series([None if pd.isna(v) else _whole(v) for v in values], index=values.index,
                                   dtype=object)
            except (TypeError, ValueError):
                pass
        out[col] = values
    # one frame built from all columns at once, with the CRS object parsed once: per-column inserts and parsing
    # "OGC:CRS84" cost more than the rest of a one-feature edit
    out[geometry] = gpd.GeoSeries(puts.geometry.to_numpy(), index=puts.index, crs=_CRS84)
    return gpd.GeoDataFrame(pd.DataFrame(out, index=puts.index), geometry=geometry, crs=_CRS84)


_CRS84 = pyproj_crs(CRS84)


def _whole(value: object) -> int:
    number = float(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


def _geometry_type(info: dict) -> str:
    gtype = str(info.get("geometry_type") or "Unknown")
    return gtype.replace(" Z", "").replace("25D", "").replace("3D ", "")


def layer_from_frame(meta: CollectionMeta, frame: gpd.GeoDataFrame, geometry_type: str | None = None) -> Layer:
    """A Layer from a GeoDataFrame in any CRS (reprojected to CRS84; index = feature ids)."""
    if frame.crs is not None and not frame.crs.equals("OGC:CRS84"):
        frame = frame.to_crs("OGC:CRS84")
    frame = frame.set_crs("OGC:CRS84", allow_override=True)
    if geometry_type is None:
        kinds = set(shapely.get_type_id(frame.geometry.to_numpy()).tolist()) - {-1}
        names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}
        geometry_type = names.get(kinds.pop(), "Unknown") if len(kinds) == 1 else "Unknown"
    return Layer(meta=meta, frame=frame, geometry_type=geometry_type)


def load_dataset(gpkg: Path, catalog: Path | None = None, cache=None) -> Dataset:
    """Every layer of a GeoPackage, described by the catalog when one is given (catalog order first).

    `cache` (layers/prepared.py `PreparedCache`): prepared layers are taken from it — memory-mapped, nothing
    decoded — and prepared and written to it only when the file changed since."""
    metas = load_catalog(catalog) if catalog is not None and catalog.exists() else {}
    names = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
    order = [m for m in metas if m in names] + [n for n in names if n not in metas]
    stat = Path(gpkg).stat()
    layers: dict[str, Layer] = {}
    for name in order:
        meta = metas.get(name) or default_meta(name)

        def build(name: str = name, meta: CollectionMeta = meta) -> Layer:
            info = pyogrio.read_info(gpkg, layer=name)
            frame = pyogrio.read_dataframe(gpkg, layer=name, fid_as_index=True)
            frame.index.name = None
            return layer_from_frame(meta, frame, _geometry_type(info))

        if cache is None:
            layers[name] = build()
        else:
            key = cache.key("gpkg", Path(gpkg).resolve(), stat.st_size, stat.st_mtime_ns, name)
            layers[name] = cache.get_or_build(key, meta, build)
    return Dataset(layers=layers, source=gpkg, catalog=metas)


__all__ = ["CRS84", "Dataset", "Layer", "layer_from_frame", "load_dataset"]

"""Plan layers held in memory as GeoDataFrames, with a spatial index and features pre-encoded for serving.

Loading pays once for what every request would otherwise repeat: the STRtree, and each feature's GeoJSON
bytes in CRS84.  A request then selects row numbers and joins bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import shapely

from geo.crs import CRS84
from geo.geojson import encode_geometries, encode_properties, feature_head
from geo.index import SpatialIndex
from layers.catalog import CollectionMeta, default_meta, load_catalog

# What a layer's cache keeps when an edit derives a new layer from it: what depends on its fields, not its rows.
KEPT_ACROSS_EDITS = frozenset({"field_rules"})

# Edits kept as separate rows before a layer's frame is assembled anew (each assembly copies the whole layer).
MAX_PENDING_EDITS = 256

# JSON-schema type of each pandas dtype kind, for queryables.
_KIND_TYPES = {"i": "integer", "u": "integer", "f": "number", "b": "boolean"}


@dataclass(frozen=True)
class Edit:
    """One change of a layer: `puts` (CRS84, index = feature ids) added or replacing the features with those ids,
    `deleted` ids removed; with `full`, `puts` is the whole layer (an import that replaces it)."""

    puts: gpd.GeoDataFrame | None = None
    deleted: tuple[int, ...] = field(default=())
    full: bool = False


class Layer:
    """One collection: its metadata, its features as a GeoDataFrame in CRS84, and serving caches.

    A layer is immutable once published: an edit makes a new Layer (`updated`) that shares what did not change.
    """

    meta: CollectionMeta
    geometry_type: str
    fids: np.ndarray  # feature ids, ascending
    index: SpatialIndex
    features: np.ndarray  # per row: the whole Feature in CRS84, as bytes
    head_lengths: np.ndarray  # per row: bytes before the geometry (id and properties)

    def __init__(self, meta: CollectionMeta, frame: gpd.GeoDataFrame, geometry_type: str) -> None:
        self.meta, self.geometry_type = meta, geometry_type
        self._frame: gpd.GeoDataFrame | None = frame
        self._pending: tuple | None = None  # (root frame, put frames, source row of each row) until assembled
        self.fids = frame.index.to_numpy(dtype="int64")
        self.index = SpatialIndex(frame.geometry.to_numpy())
        self.features, self.head_lengths = _encode(self.fids, frame)
        self._sorted = _is_sorted(self.fids)
        self.cache: dict = {}  # things derived from exactly this layer (e.g. its geometries in metres)
        # each column's type as loaded: edited rows are conformed to it, however the assembled table widened it
        self._dtypes = {c: frame[c].dtype for c in frame.columns if c != frame.geometry.name}

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """The features as a GeoDataFrame (index = feature ids).  After an edit it is assembled on first use, so
        that the edit itself does not pay for copying every column of a large layer."""
        if self._frame is None:
            root, put_frames, source = self._pending
            rows = np.where(source >= 0, source, len(root) - source - 1)
            frame = pd.concat([root, *put_frames]).iloc[rows] if put_frames else root.iloc[rows]
            self._frame = gpd.GeoDataFrame(frame, geometry=root.geometry.name, crs=root.crs)
            self._pending = None
        return self._frame

    def _sources(self) -> tuple[gpd.GeoDataFrame, list[gpd.GeoDataFrame], np.ndarray]:
        """Where each row's attributes are: (root frame, edited rows since, per row its root row or -1-k for the
        k-th edited row)."""
        if self._pending is not None and len(self._pending[1]) < MAX_PENDING_EDITS:
            return self._pending
        frame = self.frame
        return frame, [], np.arange(len(frame), dtype=np.int64)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "_bounds"):
            self._bounds = _total_bounds(self.geoms)
        return self._bounds

    @property
    def geoms(self) -> np.ndarray:
        """Per row: the shapely geometry (CRS84)."""
        return self.frame.geometry.to_numpy()

    def updated(self, puts: gpd.GeoDataFrame | None, deleted: np.ndarray | list[int]) -> Layer:
        """The layer after an edit: `puts` (CRS84, index = feature ids) added or replacing the rows with the same
        ids, `deleted` ids removed.  Unchanged rows keep their encoded bytes and their place in the spatial index,
        and the attribute table is assembled only when first used — so an edit costs what it changes (plus one
        pass over the row references), not a rebuild of the layer.  Rows stay in feature-id order."""
        root, put_frames, source = self._sources()
        puts = _conform(puts, root, self._dtypes) if puts is not None and len(puts) else None
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
        features = np.empty(n, dtype=object)
        head_lengths = np.empty(n, dtype=np.int64)
        if kept_rows is None:
            features[:n_kept], head_lengths[:n_kept] = self.features, self.head_lengths
        else:
            np.take(self.features, kept_rows, out=features[:n_kept])
            np.take(self.head_lengths, kept_rows, out=head_lengths[:n_kept])
        fids = np.concatenate([kept_fids, appended])
        source = source if kept_rows is None else source[kept_rows]
        position = np.arange(len(old), dtype=np.int64)  # old row → new row (-1: gone, or its geometry replaced)
        if kept_rows is not None:
            position[:] = -1
            position[kept_rows] = np.arange(n_kept)
        added = np.empty(0, dtype=np.int64)
        if puts is not None:
            new_rows = np.where(is_replace, replaced_at, 0)
            new_rows[~is_replace] = np.arange(n_kept, n)
            new_features, new_lengths = _encode(put_fids, puts)
            features[new_rows], head_lengths[new_rows] = new_features, new_lengths
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
        layer.fids, layer.features, layer.head_lengths = fids, features, head_lengths
        layer.index = self.index.updated(lambda: layer.geoms, position, added,
                                         puts.geometry.to_numpy()[np.argsort(new_rows)] if puts is not None
                                         else np.empty(0, dtype=object))
        layer._sorted = True
        layer._dtypes = self._dtypes
        layer.cache = {k: v for k, v in self.cache.items() if k in KEPT_ACROSS_EDITS}
        validity = getattr(self, "_validity", None)
        if validity is not None:  # dates parsed once: carried over, only the edited rows parsed
            carried = tuple(v if kept_rows is None else v[kept_rows] for v in validity)
            carried = tuple(np.concatenate([v, np.full(len(appended), np.datetime64("NaT"), dtype=v.dtype)])
                            for v in carried)
            if puts is not None:
                parsed = _parse_validity(self.meta, puts)
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

    def heads(self, rows: np.ndarray) -> list[bytes]:
        """`{"type":"Feature","id":…,"properties":…,"geometry":` of each row, to pair with another geometry."""
        return [f[:n] for f, n in zip(self.features[rows], self.head_lengths[rows], strict=True)]

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
    def _columns_frame(self) -> gpd.GeoDataFrame:
        """A frame with the layer's columns and types, without assembling an edited layer's table."""
        return self._frame if self._frame is not None else self._pending[0]

    @property
    def property_columns(self) -> list[str]:
        frame = self._columns_frame
        return [c for c in frame.columns if c != frame.geometry.name]

    def queryables(self) -> dict[str, str]:
        """Property name → JSON-schema type, for every property a client may filter on."""
        return {col: _KIND_TYPES.get(self._dtypes[col].kind, "string") if col in self._dtypes else "string"
                for col in self.property_columns}

    def properties_of(self, row: int) -> dict:
        """One feature's properties as served (decoded from its encoded bytes; no table assembly)."""
        return orjson.loads(self.features[row][:self.head_lengths[row]] + b"null}")["properties"]

    def properties_json(self) -> list[str]:
        """Every row's properties as JSON text, cut from the encoded features (for storing a whole layer without
        encoding it twice)."""
        start, tail = len(b'{"type":"Feature","id":'), len(b',"geometry":')
        props = len(b',"properties":')
        return [f[start + len(str(fid)) + props:n - tail].decode()
                for f, n, fid in zip(self.features, self.head_lengths, self.fids.tolist(), strict=True)]

    def geometry_of(self, row: int) -> shapely.Geometry:
        """One feature's geometry (CRS84), from wherever the row's attributes are kept."""
        if self._frame is not None:
            return self._frame.geometry.iat[row]
        root, put_frames, source = self._pending
        k = int(source[row])
        if k >= 0:
            return root.geometry.iat[k]
        k = -1 - k
        for frame in put_frames:
            if k < len(frame):
                return frame.geometry.iat[k]
            k -= len(frame)
        raise IndexError(row)

    @property
    def validity(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(valid_from, valid_to) of every row as datetime64 (NaT: open), from the catalog's temporal fields;
        None when the layer has none.  Parsed once: every date filter of planmap goes through `valid_between`."""
        if not hasattr(self, "_validity"):
            self._validity = _parse_validity(self.meta, self.frame)
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
        if "accuracy" not in self.frame.columns:
            return {}
        return {str(k): int(v) for k, v in self.frame["accuracy"].value_counts(dropna=False).items()}


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


def _encode(fids: np.ndarray, frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's whole Feature in CRS84 as bytes, and the length of the part before its geometry."""
    props = encode_properties(frame.drop(columns=frame.geometry.name))
    heads = [feature_head(int(f), p) for f, p in zip(fids, props, strict=True)]
    del props
    geo_bytes = encode_geometries(frame.geometry.to_numpy())
    # one exact-size bytes object per feature; the head is a prefix of it (kept as a length, not a copy)
    features = np.empty(len(heads), dtype=object)
    features[:] = [h + g + b"}" for h, g in zip(heads, geo_bytes, strict=True)]
    head_lengths = np.fromiter((len(h) for h in heads), dtype=np.int64, count=len(heads))
    return features, head_lengths


def _parse_validity(meta: CollectionMeta, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    fields = [f for f in meta.temporal_fields if f in frame.columns]
    if not fields:
        return None
    return tuple(pd.to_datetime(frame[f], errors="coerce").to_numpy(dtype="datetime64[ns]")
                 for f in (fields[0], fields[-1]))


def _total_bounds(geoms: np.ndarray) -> tuple[float, float, float, float]:
    if len(geoms) == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return tuple(float(v) for v in shapely.total_bounds(geoms))


def _is_sorted(fids: np.ndarray) -> bool:
    return bool(len(fids) < 2 or (fids[1:] > fids[:-1]).all())


def _conform(puts: gpd.GeoDataFrame, frame: gpd.GeoDataFrame, dtypes: dict) -> gpd.GeoDataFrame:
    """Edited rows in the layer's own columns and, where their values allow, its column types — so that a row
    encodes the same whether it came from an edit or from a full load (5 stays 5, not 5.0)."""
    geometry = frame.geometry.name
    if puts.geometry.name != geometry:
        puts = puts.rename_geometry(geometry)
    columns = [c for c in frame.columns if c != geometry]
    out = pd.DataFrame(index=puts.index)
    for col in columns:
        values = puts[col] if col in puts.columns else pd.Series(None, index=puts.index, dtype=object)
        dtype = dtypes.get(col, frame[col].dtype)
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
    out[geometry] = gpd.GeoSeries(puts.geometry.to_numpy(), index=puts.index)
    return gpd.GeoDataFrame(out, geometry=geometry, crs=frame.crs)


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


def load_dataset(gpkg: Path, catalog: Path | None = None) -> Dataset:
    """Every layer of a GeoPackage, described by the catalog when one is given (catalog order first)."""
    metas = load_catalog(catalog) if catalog is not None and catalog.exists() else {}
    names = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
    order = [m for m in metas if m in names] + [n for n in names if n not in metas]
    layers: dict[str, Layer] = {}
    for name in order:
        info = pyogrio.read_info(gpkg, layer=name)
        frame = pyogrio.read_dataframe(gpkg, layer=name, fid_as_index=True)
        frame.index.name = None
        meta = metas.get(name) or default_meta(name)
        layers[name] = layer_from_frame(meta, frame, _geometry_type(info))
    return Dataset(layers=layers, source=gpkg, catalog=metas)


__all__ = ["CRS84", "Dataset", "Layer", "layer_from_frame", "load_dataset"]

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
import pandas as pd
import pyogrio
import shapely

from geo.crs import CRS84
from geo.geojson import encode_geometries, encode_properties, feature_head
from geo.index import SpatialIndex
from layers.catalog import CollectionMeta, default_meta, load_catalog

# JSON-schema type of each pandas dtype kind, for queryables.
_KIND_TYPES = {"i": "integer", "u": "integer", "f": "number", "b": "boolean"}


@dataclass
class Layer:
    """One collection: its metadata, its features as a GeoDataFrame in CRS84, and serving caches."""

    meta: CollectionMeta
    frame: gpd.GeoDataFrame
    geometry_type: str
    fids: np.ndarray = field(init=False)
    index: SpatialIndex = field(init=False)
    features: np.ndarray = field(init=False)  # per row: the whole Feature in CRS84, as bytes
    head_lengths: np.ndarray = field(init=False)  # per row: bytes before the geometry (id and properties)
    bounds: tuple[float, float, float, float] = field(init=False)

    def __post_init__(self) -> None:
        frame = self.frame
        self.fids = frame.index.to_numpy(dtype="int64")
        geoms = frame.geometry.to_numpy()
        self.index = SpatialIndex(geoms)
        props = encode_properties(frame.drop(columns=frame.geometry.name))
        heads = [feature_head(int(f), p) for f, p in zip(self.fids, props, strict=True)]
        del props
        geo_bytes = encode_geometries(geoms)
        # one exact-size bytes object per feature; the head is a prefix of it (kept as a length, not a copy)
        self.features = np.array([h + g + b"}" for h, g in zip(heads, geo_bytes, strict=True)], dtype=object)
        self.head_lengths = np.fromiter((len(h) for h in heads), dtype=np.int64, count=len(heads))
        self.bounds = tuple(float(v) for v in frame.total_bounds) if len(frame) else (0.0, 0.0, 0.0, 0.0)
        self._row_by_fid = {int(f): i for i, f in enumerate(self.fids)}

    def heads(self, rows: np.ndarray) -> list[bytes]:
        """`{"type":"Feature","id":…,"properties":…,"geometry":` of each row, to pair with another geometry."""
        return [f[:n] for f, n in zip(self.features[rows], self.head_lengths[rows], strict=True)]

    @property
    def id(self) -> str:
        return self.meta.id

    def __len__(self) -> int:
        return len(self.frame)

    def row_of(self, fid: int) -> int | None:
        return self._row_by_fid.get(fid)

    @property
    def property_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c != self.frame.geometry.name]

    def queryables(self) -> dict[str, str]:
        """Property name → JSON-schema type, for every property a client may filter on."""
        out = {}
        for col in self.property_columns:
            out[col] = _KIND_TYPES.get(self.frame[col].dtype.kind, "string")
        return out

    @property
    def validity(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(valid_from, valid_to) of every row as datetime64 (NaT: open), from the catalog's temporal fields;
        None when the layer has none.  Parsed once: every date filter of planmap goes through `valid_between`."""
        if not hasattr(self, "_validity"):
            fields = [f for f in self.meta.temporal_fields if f in self.frame.columns]
            self._validity = None if not fields else tuple(
                pd.to_datetime(self.frame[f], errors="coerce").to_numpy(dtype="datetime64[ns]")
                for f in (fields[0], fields[-1]))
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

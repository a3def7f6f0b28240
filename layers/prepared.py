"""Prepared layers cached on disk and memory-mapped: a restart, and every worker process, reuse one build.

Preparing a layer — encoding every feature as GeoJSON in CRS84 and VN-2000, its WKB and boxes — costs seconds for
a few hundred thousand features.  It is done once per *source*: a GeoPackage layer (named by the file's path,
size and modification time) or a store revision that replaced a whole layer (named by the store, the revision
and when it was made).  The result is a folder of flat files; opening it maps them read-only, so start-up reads
nothing but a few small headers, and processes that map the same files share the same memory.

An entry is written to a temporary folder and renamed into place: a reader sees a whole entry or none, and two
processes preparing the same source at once both end up mapping one of them.  Entries are never modified; a
changed source gets a new key.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.packed import PackedBytes, mapped_array
from layers.catalog import CollectionMeta
from layers.dataset import PREPARED_CRS, FrameSource, Layer, accuracy_counts

log = logging.getLogger("planmap")

# Bumped whenever what an entry holds, or how features are encoded, changes: older entries are then ignored.
CACHE_FORMAT = 1


def cache_key(*parts: object) -> str:
    """A file-name-safe key for a source, described by `parts` (e.g. path, size, mtime, layer)."""
    text = json.dumps([CACHE_FORMAT, *[str(p) for p in parts]], ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _file_name(crs_code: str) -> str:
    return "features-" + crs_code.replace(":", "_")


class PreparedCache:
    """A folder of prepared layers, one sub-folder per source key."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(*parts: object) -> str:
        return cache_key(*parts)

    def path(self, key: str) -> Path:
        return self.folder / key

    def get_or_build(self, key: str, meta: CollectionMeta, build: Callable[[], Layer]) -> Layer:
        """The prepared layer of `key`, mapped from disk — built with `build` and written first when missing."""
        layer = self.open(key, meta)
        if layer is not None:
            return layer
        # one process of the host prepares it (the workers of `planmap serve` all learn of an import at once);
        # the others wait for the lock and map what it wrote
        with open(self.folder / f".{key}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            layer = self.open(key, meta)
            if layer is not None:
                return layer
            self._discard(key)  # an unreadable entry (a disk error, an older planmap) is replaced, not kept
            self.save(key, build())
        layer = self.open(key, meta)
        if layer is None:
            raise RuntimeError(f"prepared layer {key} was written but cannot be read")
        return layer

    def open(self, key: str, meta: CollectionMeta) -> Layer | None:
        """The prepared layer of `key`, or None when there is none (or it is unreadable: it is then rebuilt)."""
        folder = self.path(key)
        try:
            header = json.loads((folder / "layer.json").read_text())
            if header.get("format") != CACHE_FORMAT:
                return None
            return _open(folder, header, meta)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            log.warning("prepared layer %s is unreadable (%s); preparing it again", folder, exc)
            return None

    def file(self, name: str, build: Callable[[], bytes]) -> bytes:
        """A small derived file kept beside the layers (e.g. the relief image): read, or built and written whole
        (a temporary file renamed into place)."""
        path = self.folder / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        data = build()
        fd, temp = tempfile.mkstemp(prefix=f".{name}-", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return data

    def _discard(self, key: str) -> None:
        target = self.path(key)
        if target.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{key}-discarded-", dir=self.folder))
            try:
                os.rename(target, aside / "entry")
            except OSError:
                pass
            shutil.rmtree(aside, ignore_errors=True)

    def save(self, key: str, layer: Layer) -> None:
        """Write `layer` under `key` whole or not at all (a temporary folder renamed into place)."""
        target = self.path(key)
        if (target / "layer.json").exists():
            return
        work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.folder))
        try:
            _write(work, layer)
            try:
                os.rename(work, target)
            except OSError:  # another process put the same entry in place first (or a broken one is there)
                if not (target / "layer.json").exists():
                    shutil.rmtree(target, ignore_errors=True)
                    os.rename(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _write(folder: Path, layer: Layer) -> None:
    rows = np.arange(len(layer))
    np.save(folder / "fids.npy", np.ascontiguousarray(layer.fids, dtype=np.int64))
    np.save(folder / "bounds.npy", np.ascontiguousarray(layer.bounds_array, dtype=np.float64))
    for crs in PREPARED_CRS:
        encoded = layer.encoded[crs.code]
        packed = encoded.segments[0] if len(encoded.segments) == 1 and _is_identity(encoded.item) \
            else encoded.flattened().segments[0]
        packed.save(folder, _file_name(crs.code))
    wkb = layer.wkb if len(layer.wkb.segments) == 1 and _is_identity(layer.wkb.item) else layer.wkb.flattened()
    wkb.segments[0].save(folder, "wkb")
    frame = layer.frame
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    with open(folder / "attributes.pickle", "wb") as out:
        pickle.dump(attrs, out, protocol=pickle.HIGHEST_PROTOCOL)
    header = {"format": CACHE_FORMAT, "features": len(layer), "geometry_type": layer.geometry_type,
              "geometry_name": frame.geometry.name, "columns": list(attrs.columns),
              "dtypes": {c: str(t) for c, t in layer._dtypes.items()},
              "accuracy_mix": accuracy_counts(attrs["accuracy"].to_numpy()) if "accuracy" in attrs else {},
              "rows": int(len(rows))}
    (folder / "layer.json").write_text(json.dumps(header, ensure_ascii=False))


def _dtype(name: str):
    """A column type from its name as written (e.g. int32, float64, str); unknown names read as object."""
    try:
        return pd.api.types.pandas_dtype(name)
    except TypeError:
        return np.dtype(object)


def _is_identity(item: np.ndarray) -> bool:
    return bool(np.array_equal(item, np.arange(len(item))))


def _open(folder: Path, header: dict, meta: CollectionMeta) -> Layer:
    fids = mapped_array(folder / "fids.npy")
    bounds = mapped_array(folder / "bounds.npy")
    encoded = {crs.code: PackedBytes.load(folder, _file_name(crs.code)) for crs in PREPARED_CRS}
    wkb = PackedBytes.load(folder, "wkb")
    attrs_cell: list[pd.DataFrame] = []

    def attributes() -> pd.DataFrame:
        if not attrs_cell:
            with open(folder / "attributes.pickle", "rb") as f:
                attrs_cell.append(pickle.load(f))  # noqa: S301 - our own cache, written by _write above
        return attrs_cell[0]

    def frame() -> gpd.GeoDataFrame:
        attrs = attributes().copy()
        items = [wkb.item(i) for i in range(len(wkb))]
        geoms = np.empty(len(items), dtype=object)
        present = np.array([len(w) > 0 for w in items], dtype=bool)
        if present.any():
            geoms[present] = shapely.from_wkb([w for w in items if w])
        attrs.index = pd.Index(np.asarray(fids), dtype="int64")
        attrs[header["geometry_name"]] = gpd.GeoSeries(geoms, index=attrs.index, crs="OGC:CRS84")
        return gpd.GeoDataFrame(attrs, geometry=header["geometry_name"], crs="OGC:CRS84")

    def column(name: str) -> np.ndarray:
        return attributes()[name].to_numpy()

    dtypes = {c: _dtype(t) for c, t in header["dtypes"].items()}
    root = FrameSource(loader=frame, column_loader=column, columns=header["columns"],
                       geometry_name=header["geometry_name"], n=header["features"])
    return Layer.from_parts(meta, header["geometry_type"], fids, bounds, encoded, wkb, root, dtypes,
                            header.get("accuracy_mix"))

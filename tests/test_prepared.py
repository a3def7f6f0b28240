"""Prepared layers on disk (layers/prepared.py) and the box-grid index (geo/index.py): a layer mapped from the
cache serves exactly what a layer built in memory serves, before and after edits; a changed source is prepared
again; a broken entry is never served."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.crs import CRS84, parse_crs
from geo.packed import MAX_SEGMENTS
from layers.catalog import default_meta
from layers.dataset import Dataset, layer_from_frame, load_dataset
from layers.prepared import PreparedCache
from layers.query import FeatureQuery, encode_rows, select_rows
from layers.revisions import Store
from layers.workspace import Workspace

VN2000 = parse_crs("EPSG:9213")


def _frame(n: int, seed: int, polygons: bool) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(105.6, 106.2, n), rng.uniform(21.4, 22.0, n)
    geoms = shapely.points(x, y)
    if polygons:
        sizes = rng.uniform(0.0005, 0.02, n)
        geoms = shapely.box(x, y, x + sizes, y + sizes)
        geoms[::97] = shapely.box(105.5, 21.3, 106.3, 22.1)  # a few covering everything (kept beside the grid)
    frame = gpd.GeoDataFrame({"name": [f"Điểm {i}" for i in range(n)], "kind": rng.integers(1, 5, n),
                              "accuracy": np.where(np.arange(n) % 3, "synthetic", "exact")},
                             geometry=geoms, crs="OGC:CRS84")
    frame.loc[5, "geometry"] = None  # a feature without geometry is kept, and never matches a bbox
    frame.index = pd.RangeIndex(1, n + 1)
    return frame


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prepared") / "layers.gpkg"
    pyogrio.write_dataframe(_frame(3000, 1, False), path, layer="points")
    pyogrio.write_dataframe(_frame(2000, 2, True), path, layer="parcels", append=True)
    return path


def _served(layer, rows) -> list:
    return [encode_rows(layer, rows, crs) for crs in (CRS84, VN2000, parse_crs("EPSG:3405"))]


def _boxes(seed: int, count: int) -> list[tuple[float, float, float, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x, y = rng.uniform(105.5, 106.2), rng.uniform(21.3, 22.0)
        w, h = rng.choice([0.001, 0.02, 0.2, 1.0]), rng.choice([0.001, 0.02, 0.2, 1.0])
        out.append((x, y, x + w, y + h))
    return out


def test_a_mapped_layer_serves_what_a_built_one_does(gpkg, tmp_path):
    built = load_dataset(gpkg)
    cache = PreparedCache(tmp_path / "cache")
    load_dataset(gpkg, cache=cache)  # prepares and writes
    mapped = load_dataset(gpkg, cache=cache)
    for layer_id in ("points", "parcels"):
        a, b = built.get(layer_id), mapped.get(layer_id)
        assert isinstance(b.encoded[CRS84.code].segments[0].buffer, mmap.mmap)  # mapped, not read
        assert b._frame is None  # the table is not built to serve
        assert list(a.fids) == list(b.fids)
        assert _served(a, np.arange(len(a))) == _served(b, np.arange(len(b)))
        assert a.accuracy_mix() == b.accuracy_mix() and a.queryables() == b.queryables()
        for box in _boxes(3, 60):
            for bbox_crs in (CRS84, VN2000):
                query_box = box if bbox_crs == CRS84 else \
                    tuple(shapely.bounds(_to(bbox_crs, shapely.box(*box))).tolist())
                q = FeatureQuery(bbox=query_box, bbox_crs=bbox_crs)
                got = select_rows(b, q)
                assert list(got) == list(select_rows(a, q))
            area = shapely.box(*box)
            truth = np.flatnonzero(shapely.intersects(a.geoms, area))
            assert list(select_rows(b, FeatureQuery(bbox=box))) == list(truth)
        assert b.frame.drop(columns="geometry").equals(a.frame.drop(columns="geometry"))
        assert shapely.equals(b.frame.geometry.to_numpy()[[0, 7]], a.frame.geometry.to_numpy()[[0, 7]]).all()
        assert list(select_rows(b, FeatureQuery(filters={"kind": "2"}))) == \
            list(np.flatnonzero(a.frame["kind"].to_numpy() == 2))


def _to(crs, geom):
    from geo.crs import transform_geometries
    return transform_geometries(np.array([geom]), CRS84, crs)[0]


def test_edits_of_a_mapped_layer_equal_edits_of_a_built_one(gpkg, tmp_path):
    cache = PreparedCache(tmp_path / "cache")
    load_dataset(gpkg, cache=cache)
    a, b = load_dataset(gpkg).get("parcels"), load_dataset(gpkg, cache=cache).get("parcels")
    rng = np.random.default_rng(7)
    for step in range(300):  # past the compaction of edit buffers (64) and the merge of edited rows (256)
        fid = int(rng.choice(a.fids))
        x, y = rng.uniform(105.6, 106.2, 2)
        put = gpd.GeoDataFrame({"name": [f"sửa {step}"], "kind": [step], "accuracy": ["exact"]},
                               geometry=[shapely.box(x, y, x + 0.01, y + 0.01)], crs="OGC:CRS84",
                               index=[fid if step % 2 else int(a.fids.max()) + 1])
        deleted = [int(rng.choice(a.fids))] if step % 5 == 0 else []
        a, b = a.updated(put, deleted), b.updated(put, deleted)
        box = _boxes(step, 1)[0]
        assert list(select_rows(a, FeatureQuery(bbox=box))) == list(select_rows(b, FeatureQuery(bbox=box)))
    assert _served(a, np.arange(len(a))) == _served(b, np.arange(len(b)))
    encoded = b.encoded[CRS84.code]
    assert len(encoded.segments) <= MAX_SEGMENTS + 1
    assert isinstance(encoded.segments[0].buffer, mmap.mmap)  # compaction copies the edited rows, not the layer
    assert b.frame.drop(columns="geometry").equals(a.frame.drop(columns="geometry"))
    truth = np.flatnonzero(shapely.intersects(a.geoms, shapely.box(105.8, 21.6, 105.9, 21.7)))
    assert list(select_rows(b, FeatureQuery(bbox=(105.8, 21.6, 105.9, 21.7)))) == list(truth)


def test_a_changed_source_is_prepared_again_and_the_old_entry_is_not_used(gpkg, tmp_path):
    source = tmp_path / "copy.gpkg"
    source.write_bytes(gpkg.read_bytes())
    cache = PreparedCache(tmp_path / "cache")
    first = load_dataset(source, cache=cache)
    entries = _entries(cache)
    again = load_dataset(source, cache=cache)  # nothing new prepared
    assert _entries(cache) == entries
    assert len(again.get("points")) == 3000
    pyogrio.write_dataframe(_frame(10, 9, False), source, layer="points")  # the planner replaces a layer
    changed = load_dataset(source, cache=cache)
    assert len(changed.get("points")) == 10 and len(first.get("points")) == 3000
    assert len(_entries(cache) - entries) == 2  # every layer of the changed file is new


def _entries(cache: PreparedCache) -> set[str]:
    return {name for name in os.listdir(cache.folder) if not name.startswith(".")}


def test_a_broken_or_half_written_entry_is_prepared_again(gpkg, tmp_path):
    cache = PreparedCache(tmp_path / "cache")
    load_dataset(gpkg, cache=cache)
    entries = sorted(p for p in cache.folder.iterdir() if not p.name.startswith("."))
    (entries[0] / "layer.json").write_text("{not json")
    (entries[1] / "fids.npy").unlink()
    (cache.folder / ".half-written-by-a-killed-process").mkdir()
    dataset = load_dataset(gpkg, cache=cache)
    assert len(dataset.get("points")) == 3000 and len(dataset.get("parcels")) == 2000
    assert select_rows(dataset.get("points"), FeatureQuery(bbox=(105, 21, 107, 23))).size == 2999


def test_an_import_is_prepared_once_and_mapped_by_another_process(tmp_path):
    """A whole-layer revision is written to the cache by the process that commits it; another process on the
    same store maps it instead of decoding the store's rows."""
    base = Dataset({"sites": layer_from_frame(default_meta("sites"), _frame(50, 4, False))})
    cache = PreparedCache(tmp_path / "cache")
    store = Store(tmp_path / "store")
    writer = Workspace(base, store, cache=cache)
    writer.replace_layer("sites", _frame(500, 5, True).drop(index=6), author="lan", source_file="a.gpkg",
                         report={})
    published = writer.dataset.get("sites")
    assert isinstance(published.encoded[CRS84.code].segments[0].buffer, mmap.mmap)
    other = Workspace(base, Store(tmp_path / "store"), cache=cache)
    layer = other.dataset.get("sites")
    assert isinstance(layer.encoded[CRS84.code].segments[0].buffer, mmap.mmap)
    assert _served(layer, np.arange(len(layer))) == _served(published, np.arange(len(published)))
    assert len(layer) == 499


def test_a_derived_file_is_built_once_and_read_back(tmp_path):
    cache = PreparedCache(tmp_path / "cache")
    built = []

    def build() -> bytes:
        built.append(1)
        return b"relief"

    assert cache.file("x.bin", build) == b"relief" and cache.file("x.bin", build) == b"relief"
    assert built == [1] and not [p for p in cache.folder.iterdir() if p.name.startswith(".")]


def _prepare_in_child(folder: str, gpkg: str, log: str) -> None:
    import time as _time

    from layers.dataset import load_dataset as _load

    def build():
        with open(log, "a") as out:
            out.write(f"{os.getpid()}\n")
        _time.sleep(0.5)  # long enough for the other process to find the entry missing too
        return _load(Path(gpkg)).get("points")

    PreparedCache(Path(folder)).get_or_build("same-source", default_meta("points"), build)


def test_processes_learning_of_one_source_at_once_prepare_it_once(gpkg, tmp_path):
    """The workers of a host all learn of an import at the same moment: one prepares, the others map it."""
    import multiprocessing

    log = tmp_path / "builds.txt"
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_prepare_in_child, args=(str(tmp_path / "cache"), str(gpkg), str(log)))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [c.exitcode for c in children] == [0, 0, 0]
    assert len(log.read_text().split()) == 1
    layer = PreparedCache(tmp_path / "cache").open("same-source", default_meta("points"))
    assert layer is not None and len(layer) == 3000

"""The layers as QGIS and other agencies' tools see them: GDAL's OAPIF driver, OWSLib, the ogctests suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from owslib.ogcapi.features import Features
from pyproj import Transformer

from tests.test_ogc_api import CONTRACT_IDS, read_layer


def oapif(server) -> str:
    return f"OAPIF:{server.url}"


def test_gdal_lists_every_collection(server, dataset):
    names = [str(n) for n, _ in pyogrio.list_layers(oapif(server))]
    assert names == [layer.id for layer in dataset]
    assert set(CONTRACT_IDS) <= set(names)


@pytest.mark.parametrize("cid", CONTRACT_IDS)
def test_gdal_reads_each_collection_whole_through_paging(server, cid):
    expected = read_layer(cid)
    # a small page size forces GDAL to follow the `next` links many times
    got = pyogrio.read_dataframe(oapif(server), layer=cid, PAGE_SIZE="40", fid_as_index=True)
    assert len(got) == len(expected)
    assert sorted(got.index.tolist()) == sorted(expected.index.tolist())
    got = got.loc[expected.index]
    assert got["name"].fillna("").tolist() == expected["name"].fillna("").tolist()
    assert got["accuracy"].tolist() == expected["accuracy"].tolist()
    assert shapely.equals_exact(got.geometry.to_numpy(), expected.geometry.to_numpy(), tolerance=1e-9).all()


def test_gdal_bbox_in_vn2000_gives_pyproj_coordinates_within_a_centimetre(server):
    to_vn = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)
    x0, y0 = to_vn.transform(105.70, 21.45)
    x1, y1 = to_vn.transform(105.95, 21.70)
    got = pyogrio.read_dataframe(oapif(server), layer="public_facilities", CRS="EPSG:9213", bbox=(x0, y0, x1, y1),
                                 fid_as_index=True)
    assert got.crs.to_epsg() == 9213
    expected = read_layer("public_facilities")
    expected_vn = expected.to_crs("EPSG:9213")
    inside = expected_vn[expected_vn.intersects(shapely.box(x0, y0, x1, y1))]
    assert len(inside) > 10
    assert sorted(got.index.tolist()) == sorted(inside.index.tolist())
    src = expected.loc[got.index].geometry
    ex, ey = to_vn.transform(src.x.to_numpy(), src.y.to_numpy())
    err = np.hypot(got.geometry.x.to_numpy() - ex, got.geometry.y.to_numpy() - ey)
    assert err.max() < 0.01


def test_gdal_polygons_in_vn2000_match_pyproj(server):
    got = pyogrio.read_dataframe(oapif(server), layer="industrial_parks", CRS="EPSG:9213", fid_as_index=True)
    expected = read_layer("industrial_parks").to_crs("EPSG:9213").loc[got.index]
    a = shapely.get_coordinates(got.geometry.to_numpy())
    b = shapely.get_coordinates(expected.geometry.to_numpy())
    assert a.shape == b.shape and np.abs(a - b).max() < 0.01


def test_owslib_reads_collections_queryables_and_items(server):
    api = Features(server.url)
    ids = [c["id"] for c in api.collections()["collections"]]
    assert set(CONTRACT_IDS) <= set(ids)
    queryables = api.collection_queryables("fuel_stations")
    assert "status" in queryables["properties"]
    items = api.collection_items("fuel_stations", limit=7, status="existing")
    assert items["numberReturned"] == 7
    assert {f["properties"]["status"] for f in items["features"]} == {"existing"}
    communes = api.collection_items("communes", bbox=[105.8, 21.55, 105.9, 21.65], limit=200)
    assert communes["numberMatched"] == len(communes["features"]) > 0
    assert all(f["properties"]["name"] for f in communes["features"])


def test_ogctests_features_core_passes(server, tmp_path: Path):
    import ogctests

    core = Path(ogctests.__file__).parent / "features" / "core"
    env = dict(os.environ, INSTANCE_URL=server.url)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(core), "-q", "-p", "no:cacheprovider",
         "--rootdir", str(core.parent.parent),
         "-W", "ignore"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    tail = result.stdout[-3000:]
    assert result.returncode == 0, tail
    assert " passed" in tail and " failed" not in tail, tail

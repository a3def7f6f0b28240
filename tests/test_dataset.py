"""Properties of the shipped default dataset built by layers.build_dataset."""

from __future__ import annotations

import itertools

import pandas as pd
import pyogrio
import pytest
import shapely

from layers.build_dataset import ACCURACY, DEFAULT_SOURCES, LAYER_ORDER, PUBLIC_FACILITY_KINDS, build

ADMIN_FROM_OTHER_SOURCES = {"province", "districts"}  # dvhcvn outlines differ slightly from the 2025 outline


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    assert (DEFAULT_SOURCES / "plan_facts.yaml").exists(), f"the open sources are part of the repo: {DEFAULT_SOURCES}"
    d = tmp_path_factory.mktemp("dataset")
    out1, out2 = d / "a.gpkg", d / "b.gpkg"
    counts = build(DEFAULT_SOURCES, out1)
    build(DEFAULT_SOURCES, out2)
    return counts, out1, out2


def read(path, layer):
    return pyogrio.read_dataframe(path, layer=layer, fid_as_index=True)


def province_2025(path):
    prov = read(path, "province")
    return prov.loc[prov["version"] == "2025"].geometry.iloc[0]


def test_layers_and_counts(built):
    counts, out, _ = built
    assert [name for name, _ in pyogrio.list_layers(out)] == list(LAYER_ORDER)
    assert counts["province"] == 2
    assert counts["districts"] == 9
    assert counts["communes"] == 92
    for lid in LAYER_ORDER:
        assert counts[lid] > 0, lid
        info = pyogrio.read_info(out, layer=lid)
        assert info["features"] == counts[lid]
        assert info["crs"] == "EPSG:4326"


@pytest.mark.parametrize("lid", LAYER_ORDER)
def test_common_fields_geometry(built, lid):
    _, out, _ = built
    df = read(out, lid)
    assert list(df.index) == list(range(1, len(df) + 1))  # fids 1..n
    for col in ("name", "source", "accuracy"):
        assert col in df.columns, col
    assert df["source"].notna().all() and (df["source"].str.len() > 0).all()
    assert set(df["accuracy"]) <= set(ACCURACY)
    geoms = df.geometry.values
    assert shapely.is_valid(geoms).all()
    assert not shapely.is_empty(geoms).any()
    prov = province_2025(out)
    if lid in ADMIN_FROM_OTHER_SOURCES:
        outside = shapely.area(shapely.difference(geoms, prov)) / shapely.area(geoms)
        assert (outside < 0.02).all()
    else:
        assert shapely.covers(prov.buffer(1e-6), geoms).all()


def test_province_versions(built):
    _, out, _ = built
    prov = read(out, "province").set_index("version")
    assert prov.loc["2025", "valid_from"] == "2025-07-01" and pd.isna(prov.loc["2025", "valid_to"])
    assert prov.loc["pre2025", "valid_to"] == "2025-06-30" and pd.isna(prov.loc["pre2025", "valid_from"])
    assert "202/2025/QH15" in prov.loc["2025", "legal_basis"]


def test_communes(built):
    _, out, _ = built
    com = read(out, "communes")
    assert com["code"].is_unique and com["code"].str.len().eq(5).all()
    assert sorted(com["kind"].value_counts().items()) == [("Phường", 15), ("Xã", 77)]
    assert com["former_districts"].notna().all() and com["former_province"].notna().all()
    assert set(itertools.chain.from_iterable(p.split("; ") for p in com["former_province"])) == \
        {"Thái Nguyên", "Bắc Kạn"}


def test_public_facility_kinds(built):
    _, out, _ = built
    pf = read(out, "public_facilities")
    assert set(pf["kind"]) <= set(PUBLIC_FACILITY_KINDS)
    assert {"school", "clinic", "market", "office"} <= set(pf["kind"])


@pytest.mark.parametrize("lid", ["industrial_parks", "industrial_clusters"])
def test_no_overlap_within_layer(built, lid):
    _, out, _ = built
    geoms = list(read(out, lid).geometry)
    tree = shapely.STRtree(geoms)
    for i, g in enumerate(geoms):
        for j in tree.query(g, predicate="intersects"):
            assert j == i, f"{lid}: feature {i + 1} overlaps {j + 1}"


def test_parks_clusters_disjoint(built):
    _, out, _ = built
    parks = shapely.union_all(read(out, "industrial_parks").geometry.values)
    clusters = read(out, "industrial_clusters").geometry.values
    assert not shapely.intersects(clusters, parks).any()


def test_enumerations(built):
    _, out, _ = built
    assert set(read(out, "industrial_parks")["status"]) <= {"operating", "planned", "expanding"}
    cl = read(out, "industrial_clusters")
    assert set(cl["status"]) <= {"existing", "planned", "expanded", "reduced", "dropped"}
    assert set(cl["plan_phase"]) <= {"2021-2025", "2026-2030", "after 2030"}
    assert set(read(out, "fuel_stations")["status"]) <= {"existing", "planned"}
    assert set(read(out, "roads")["road_class"]) <= {"expressway", "national"}
    assert set(read(out, "mineral_areas")["area_type"]) <= {"exploration", "mining", "reserve", "prohibited"}
    assert set(read(out, "power_lines")["voltage_kv"]) <= {22, 35, 110, 220, 500}


def test_deterministic(built):
    _, out1, out2 = built
    for lid in LAYER_ORDER:
        a, b = read(out1, lid), read(out2, lid)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        assert list(shapely.to_wkb(a.geometry.values)) == list(shapely.to_wkb(b.geometry.values)), lid

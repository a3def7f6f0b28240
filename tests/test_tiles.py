"""Vector tiles (OGC API – Tiles, Mapbox Vector Tiles): built by planmap, read back by GDAL's MVT driver.

Every tile is decoded by an independent reader — GDAL (from the pyogrio wheel), georeferenced from the tile's
z/x/y — and compared with the features as planmap's items endpoint or the source frame gives them: the same ids,
properties and places (within one tile unit), holes kept, generalised by zoom, bounded, and access-checked.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box

from api.app import create_app
from api.models import TileJSON, TileMatrixSet, TileMatrixSets, TileSet, TileSets
from geo.tiles import EXTENT, tile_bounds
from layers import tiles as layer_tiles
from layers.catalog import CollectionMeta
from layers.dataset import Dataset, layer_from_frame
from layers.limits import MAX_TILE_ZOOM
from layers.revisions import Store
from tests import small_world
from tests.conftest import ADMIN_TOKEN, LiveServer

MVT = "application/vnd.mapbox-vector-tile"
TILES_CONF = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
TO_3857 = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
WORLD_M = 2 * math.pi * 6378137.0
HERE = (105.84, 21.59)  # Thái Nguyên city


def meta(layer_id: str) -> CollectionMeta:
    return CollectionMeta(id=layer_id, title={"vi": f"Lớp {layer_id}", "en": f"Layer {layer_id}"},
                          description={"vi": "thử", "en": "test"}, license="test", attribution="test")


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The x, y of the tile at zoom z holding a point."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def unit_m(z: int) -> float:
    """Web Mercator metres of one tile unit at zoom z."""
    return WORLD_M / 2 ** z / EXTENT


def decode(data: bytes, z: int, x: int, y: int, folder: Path, layer: str) -> gpd.GeoDataFrame:
    """A tile read by GDAL's MVT driver, georeferenced from its z/x/y path (EPSG:3857), buffer included (GDAL would
    cut what lies beyond the tile's edge)."""
    path = folder / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    names = [str(n) for n, _ in pyogrio.list_layers(path)]
    assert names == [layer], names
    return pyogrio.read_dataframe(path, layer=layer, CLIP="NO")


def ids_of(frame: gpd.GeoDataFrame) -> list[int]:
    return sorted(int(v) for v in frame["mvt_id"])


def in_3857(geoms) -> np.ndarray:
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.column_stack(TO_3857.transform(*xy.T)))


# ---------------------------------------------------------------------------------------- tiles built, GDAL reads


def mixed_layer():
    """Points with every kind of property value a layer holds, around Thái Nguyên city."""
    lon, lat = HERE
    frame = gpd.GeoDataFrame(
        {"name": ["Một", "Hai", None, "Bốn — “quoted”"], "count": [3, -7, 0, 12], "area": [1.5, np.nan, 2.25, 0.0],
         "open": [True, False, True, False], "status": ["planned", "existing", "planned", None]},
        geometry=[Point(lon + 0.0002 * i, lat + 0.00015 * i) for i in range(4)], crs="OGC:CRS84", index=[5, 9, 11, 40])
    return layer_from_frame(meta("mixed"), frame)


def test_points_keep_ids_properties_and_places_in_gdal(tmp_path):
    layer = mixed_layer()
    z = 14
    x, y = tile_of(*HERE, z)
    tile = layer_tiles.build_tile(layer, z, x, y)
    got = decode(tile.data, z, x, y, tmp_path, "mixed")
    assert ids_of(got) == [5, 9, 11, 40] and tile.features == 4 and tile.omitted == 0
    by_id = got.set_index(got["mvt_id"].astype(int))
    source = layer.frame
    for fid in source.index:
        row, want = by_id.loc[fid], source.loc[fid]
        for name in ("name", "status"):
            got_value = row[name] if isinstance(row[name], str) else None
            assert got_value == (want[name] if isinstance(want[name], str) else None), (fid, name)
        assert int(row["count"]) == want["count"] and bool(row["open"]) == want["open"]
        assert (math.isnan(want["area"]) and (row["area"] is None or math.isnan(row["area"]))) or \
            row["area"] == want["area"]
    expected = in_3857(source.geometry.to_numpy())
    placed = shapely.distance(by_id.loc[source.index].geometry.to_numpy(), expected)
    assert placed.max() <= unit_m(z), placed  # rounded to whole tile units, no further


def test_polygons_keep_holes_and_lines_their_course(tmp_path):
    lon, lat = HERE
    outer = box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    holed = Polygon(outer.exterior.coords[::-1], [box(lon - 0.004, lat - 0.004, lon + 0.004, lat + 0.004).exterior])
    frame = gpd.GeoDataFrame({"name": ["vành khuyên", "đường"]},
                             geometry=[holed, LineString([(lon - 0.02, lat), (lon + 0.02, lat + 0.001)])],
                             crs="OGC:CRS84", index=[1, 2])
    layer = layer_from_frame(meta("shapes"), frame, "Unknown")
    z = 13
    x, y = tile_of(lon, lat, z)
    got = decode(layer_tiles.build_tile(layer, z, x, y).data, z, x, y, tmp_path, "shapes")
    got = got.set_index(got["mvt_id"].astype(int))
    area = got.loc[1].geometry
    assert area.geom_type in ("Polygon", "MultiPolygon") and len(shapely.get_parts(area)) == 1
    want = in_3857([holed])[0]
    assert len(area.interiors) == 1, "the hole must stay a hole (ring winding as MVT requires)"
    assert abs(area.area - want.area) / want.area < 0.01
    line = got.loc[2].geometry
    assert line.geom_type == "LineString"
    # the line leaves the tile: it is cut at the tile's buffer, not at its first vertex outside
    x0, y0, x1, y1 = in_3857([box(*tile_bounds(z, x, y))])[0].bounds
    assert line.bounds[0] < x0 + unit_m(z) * 2 or line.bounds[2] > x1 - unit_m(z) * 2


def test_generalised_per_zoom_and_nothing_small_vanishes(tmp_path):
    lon, lat = HERE
    # a 10,000-vertex outline ~11 km across whose edge zigzags by ±22 m: detail a z16 tile shows (a unit is
    # ~0.15 m) and a z8 tile cannot (a unit is ~38 m)
    angles = np.linspace(0, 2 * np.pi, 10_000, endpoint=False)
    radius = 0.05 + 0.0002 * (-1) ** np.arange(10_000)
    ring = Polygon(np.column_stack([lon + radius * np.cos(angles), lat + radius * np.sin(angles)]))
    tiny = box(lon + 0.1, lat, lon + 0.1001, lat + 0.0001)  # ~10 m: far below a pixel at z8
    frame = gpd.GeoDataFrame({"name": ["tròn", "nhỏ"]}, geometry=[ring, tiny], crs="OGC:CRS84", index=[1, 2])
    layer = layer_from_frame(meta("round"), frame)
    # z8: the whole circle, ~290 units (18 px) across; z16: a tile on its outline, ~0.15 m a unit
    z, x, y = 8, *tile_of(lon, lat, 8)
    got = decode(layer_tiles.build_tile(layer, z, x, y).data, z, x, y, tmp_path / "z8", "round")
    got = got.set_index(got["mvt_id"].astype(int))
    assert 2 in got.index, "a polygon smaller than a pixel is still drawn"
    assert shapely.get_num_coordinates(got.loc[1].geometry) < 200  # not 10,000
    truth = in_3857([ring])[0]  # and it stays within about a pixel (16 units) of the true outline
    assert got.loc[1].geometry.symmetric_difference(truth).area < truth.length * unit_m(z) * 16
    z, x, y = 16, *tile_of(lon + 0.05, lat, 16)
    got = decode(layer_tiles.build_tile(layer, z, x, y).data, z, x, y, tmp_path / "z16", "round")
    kept = shapely.get_num_coordinates(got.geometry.iloc[0])
    w, s, e, n = tile_bounds(z, x, y, layer_tiles.BUFFER)
    there = shapely.get_coordinates(ring)
    inside = ((there[:, 0] >= w) & (there[:, 0] <= e) & (there[:, 1] >= s) & (there[:, 1] <= n)).sum()
    assert inside > 20 and kept >= 0.5 * inside, (kept, inside)  # at z16 the outline keeps its detail


def test_a_tile_is_bounded_and_says_what_it_left_out(tmp_path, monkeypatch):
    lon, lat = HERE
    points = [Point(lon + 0.0001 * (i % 40), lat + 0.0001 * (i // 40)) for i in range(400)]
    layer = layer_from_frame(meta("dense"), gpd.GeoDataFrame({"n": range(400)}, geometry=points, crs="OGC:CRS84",
                                                             index=range(1, 401)))
    z = 12
    x, y = tile_of(lon, lat, z)
    assert layer_tiles.build_tile(layer, z, x, y).features == 400
    monkeypatch.setattr(layer_tiles, "MAX_TILE_FEATURES", 150)
    capped = layer_tiles.build_tile(layer, z, x, y)
    assert (capped.features, capped.omitted) == (150, 250)
    assert ids_of(decode(capped.data, z, x, y, tmp_path, "dense")) == list(range(1, 151))
    monkeypatch.setattr(layer_tiles, "MAX_TILE_VERTICES", 40)
    assert (layer_tiles.build_tile(layer, z, x, y).features, layer_tiles.build_tile(layer, z, x, y).omitted) == \
        (40, 360)


def test_an_empty_tile_is_a_valid_tile_of_the_layer(tmp_path):
    layer = mixed_layer()
    tile = layer_tiles.build_tile(layer, 10, 0, 0)  # the Arctic
    assert tile.features == 0 and tile.data
    assert len(decode(tile.data, 10, 0, 0, tmp_path, "mixed")) == 0


def test_the_cache_is_per_layer_revision_and_bounded():
    layer = mixed_layer()
    z = 14
    x, y = tile_of(*HERE, z)
    cache = layer_tiles.TileCache(max_bytes=10_000)
    first = cache.get(layer, z, x, y)
    assert cache.get(layer, z, x, y) is first and len(cache) == 1
    edited = layer.updated(None, [5])  # an edit makes a new layer: its tiles are built anew
    again = cache.get(edited, z, x, y)
    assert again is not first and again.features == 3 and again.etag != first.etag
    for zoom in range(14, 19):  # more tiles than fit: the least recently used go, the bound holds
        for dx in range(3):
            cache.get(layer, zoom, *tile_of(HERE[0] + dx * 0.0002, HERE[1], zoom))
    assert cache.bytes <= 10_000


# ---------------------------------------------------------------------------------------------- over HTTP


def dense_layer() -> gpd.GeoDataFrame:
    """600 points of a 30 × 20 grid, 0.001° apart, east of the small world."""
    lon, lat = small_world.lonlat(small_world.X0, small_world.Y0)
    pts = [Point(lon + 0.001 * (i % 30), lat + 0.001 * (i // 30)) for i in range(600)]
    return gpd.GeoDataFrame({"name": [f"Điểm {i}" for i in range(600)], "status": ["planned", "existing"] * 300},
                            geometry=pts, crs="OGC:CRS84", index=range(1, 601))


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[tuple[str, dict]]:
    """The small world plus a dense point layer, served on a loopback port with a store; (url, planner headers)."""
    world = small_world.dataset()
    layers = dict(world.layers)
    layers["dense_points"] = layer_from_frame(meta("dense_points"), dense_layer())
    dataset = Dataset(layers, internal=world.internal, catalog={k: v.meta for k, v in layers.items()})
    app = create_app(dataset, store=Store(tmp_path_factory.mktemp("tiles-store")), admin_token=ADMIN_TOKEN)
    app.state.workspace.set_internal("draft_plan", True, "test")
    with LiveServer(app) as live:
        made = httpx.post(f"{live.url}/users", json={"name": "tiles-planner", "role": "planner"},
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert made.status_code == 201, made.text
        yield live.url, {"Authorization": f"Bearer {made.json()['token']}"}


@pytest.fixture(scope="module")
def client(service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service[0], timeout=30) as c:
        yield c


def test_documents_link_tiles_from_the_landing_page_to_a_tile(client, tmp_path):
    landing = client.get("/").json()
    schemes = next(lk["href"] for lk in landing["links"] if lk["rel"].endswith("/tiling-schemes"))
    sets = TileMatrixSets.model_validate(client.get(schemes).json())
    tms_url = sets.tileMatrixSets[0]["links"][0]["href"]
    tms = TileMatrixSet.model_validate(client.get(tms_url).json())
    assert tms.id == "WebMercatorQuad" and tms.crs.endswith("/EPSG/0/3857")
    z0, z12 = tms.tileMatrices[0], tms.tileMatrices[12]
    assert z0["matrixWidth"] == 1 and z12["matrixWidth"] == 4096
    assert math.isclose(z0["cellSize"], 156543.03392804097) and math.isclose(z0["scaleDenominator"],
                                                                             559082264.0287178)
    conformance = client.get("/conformance").json()["conformsTo"]
    for name in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt", "oas30"):
        assert TILES_CONF + name in conformance
    collection = client.get("/collections/dense_points").json()
    tilesets_url = next(lk["href"] for lk in collection["links"] if lk["rel"].endswith("/tilesets-vector"))
    tilesets = TileSets.model_validate(client.get(tilesets_url).json())
    tileset_url = next(lk.href for lk in tilesets.tilesets[0].links if lk.rel == "self")
    tileset = TileSet.model_validate(client.get(tileset_url).json())
    assert tileset.layers[0]["id"] == "dense_points" and tileset.layers[0]["geometryDimension"] == 0
    assert set(tileset.layers[0]["propertiesSchema"]["properties"]) >= {"name", "status"}
    template = next(lk.href for lk in tileset.links if lk.rel == "item")
    assert template.endswith("/{tileMatrix}/{tileCol}/{tileRow}")
    lon, lat = small_world.lonlat(small_world.X0, small_world.Y0)
    z = 14
    x, y = tile_of(lon + 0.01, lat + 0.005, z)
    limits = next(m for m in tileset.tileMatrixSetLimits if m["tileMatrix"] == str(z))
    assert limits["minTileCol"] <= x <= limits["maxTileCol"] and limits["minTileRow"] <= y <= limits["maxTileRow"]
    ogc = client.get(template.replace("{tileMatrix}", str(z)).replace("{tileCol}", str(x))
                     .replace("{tileRow}", str(y)))
    tilejson = TileJSON.model_validate(client.get(tileset_url, params={"f": "tilejson"}).json())
    assert tilejson.vector_layers[0]["id"] == "dense_points" and tilejson.maxzoom == MAX_TILE_ZOOM
    xyz = client.get(tilejson.tiles[0].format(z=z, x=x, y=y))
    assert ogc.status_code == xyz.status_code == 200 and ogc.content == xyz.content
    assert ogc.headers["content-type"] == MVT
    assert len(decode(ogc.content, z, x, y, tmp_path, "dense_points")) > 0
    assert client.get(tileset_url, params={"f": "html"}).headers["content-type"].startswith("text/html")


def test_a_tile_holds_exactly_the_features_the_items_endpoint_finds_there(client, tmp_path):
    lon, lat = small_world.lonlat(small_world.X0, small_world.Y0)
    for z in (13, 15, 17):
        x, y = tile_of(lon + 0.012, lat + 0.008, z)
        res = client.get(f"/collections/dense_points/tiles/WebMercatorQuad/{z}/{x}/{y}")
        assert res.status_code == 200
        tile = decode(res.content, z, x, y, tmp_path / str(z), "dense_points")
        west, south, east, north = tile_bounds(z, x, y, layer_tiles.BUFFER)
        items = client.get("/collections/dense_points/items",
                           params={"bbox": f"{west!r},{south!r},{east!r},{north!r}", "limit": 10000}).json()
        assert ids_of(tile) == sorted(f["id"] for f in items["features"]) and len(tile), z
        names = dict(zip(tile["mvt_id"].astype(int), tile["name"], strict=True))
        assert all(names[f["id"]] == f["properties"]["name"] for f in items["features"])


def test_internal_layers_have_no_tiles_for_anonymous_users(client, service):
    _, planner = service
    lon, lat = small_world.lonlat(small_world.X0 + 1_100, small_world.Y0 + 1_100)
    z = 15
    x, y = tile_of(lon, lat, z)
    for path in ("/collections/draft_plan/tiles", "/collections/draft_plan/tiles/WebMercatorQuad",
                 f"/collections/draft_plan/tiles/WebMercatorQuad/{z}/{x}/{y}"):
        assert client.get(path).status_code == 404, path
        assert client.get(path, headers=planner).status_code == 200, path
    tile = client.get(f"/collections/draft_plan/tiles/WebMercatorQuad/{z}/{x}/{y}", headers=planner)
    assert b"draft_plan" in tile.content and "Dự thảo nội bộ".encode() in tile.content


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/collections/dense_points/tiles/WebMercatorQuad/23/0/0", 400, "tileMatrix"),
    ("/collections/dense_points/tiles/WebMercatorQuad/3/8/0", 400, "tileCol"),
    ("/collections/dense_points/tiles/WebMercatorQuad/3/0/8", 400, "tileRow"),
    ("/collections/dense_points/tiles/WebMercatorQuad/3/-1/0", 400, "tileCol"),
    ("/collections/dense_points/tiles/WebMercatorQuad/a/0/0", 400, "tileMatrix"),
    ("/collections/dense_points/tiles/WebMercatorQuad/3/0/1.5", 400, "tileRow"),
    ("/collections/dense_points/tiles/WebMercatorQuad/3/0/0?f=json", 400, "f"),
    ("/collections/dense_points/tiles/WorldCRS84Quad/3/0/0", 404, "WorldCRS84Quad"),
    ("/collections/dense_points/tiles/WorldCRS84Quad", 404, "WorldCRS84Quad"),
    ("/tileMatrixSets/WorldCRS84Quad", 404, "WorldCRS84Quad"),
    ("/collections/nowhere/tiles/WebMercatorQuad/3/0/0", 404, "nowhere"),
    ("/collections/dense_points/tiles/WebMercatorQuad?f=mvt", 400, "f"),
])
def test_bad_tile_requests_are_refused_naming_the_problem(client, path, status, words):
    res = client.get(path)
    assert res.status_code == status, res.text
    problem = res.json()
    assert words in problem["detail"] and problem["detail_vi"], problem


def test_tiles_carry_etags_and_gzip_once_and_change_with_an_edit(client, service, tmp_path):
    _, planner = service
    lon, lat = small_world.lonlat(small_world.X0, small_world.Y0)
    z = 13
    x, y = tile_of(lon + 0.012, lat + 0.008, z)
    url = f"/collections/dense_points/tiles/WebMercatorQuad/{z}/{x}/{y}"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.headers.get("content-encoding") is None and plain.headers["cache-control"] == "no-cache"
    etag = plain.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    with httpx.stream("GET", client.base_url.join(url), headers={"Accept-Encoding": "gzip"}) as raw:
        assert raw.headers["content-encoding"] == "gzip" and raw.headers["etag"] == etag
        assert gzip.decompress(b"".join(raw.iter_raw())) == plain.content
    # a planner moves feature 1 far away: the tile no longer holds it, and its ETag changes
    moved = {"type": "Feature", "properties": {"name": "Điểm 0", "status": "planned"},
             "geometry": {"type": "Point", "coordinates": [lon - 0.3, lat]}}
    assert 1 in ids_of(decode(plain.content, z, x, y, tmp_path / "before", "dense_points"))
    assert client.put("/collections/dense_points/items/1", json=moved, headers=planner).status_code == 200
    after = client.get(url)
    assert after.headers["etag"] != etag
    assert 1 not in ids_of(decode(after.content, z, x, y, tmp_path / "after", "dense_points"))
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


# ------------------------------------------------------------------------------------ GDAL's OGC API client


def test_gdal_reads_a_collection_through_ogc_api_tiles(server, dataset):
    """GDAL's OGCAPI driver (as QGIS's GDAL uses it) finds the tiles from the collection's links alone — tilesets,
    tileset metadata, tiling scheme, the tile template — and reads them: every cluster, with its properties.

    GDAL 3.12 offers only zooms 0 and 1 of a vector tileset: it places the collection's CRS84 extent in the tile
    matrix set's metres without reprojecting it, so only the tiles around (0, 0) m — z0, z1 — meet the limits."""
    got = pyogrio.read_dataframe(f"OGCAPI:{server.url}/collections/industrial_clusters", layer="Zoom level 1",
                                 API="TILES")
    source = dataset.get("industrial_clusters").frame
    names = got.groupby(got["mvt_id"].astype(int))["name"].first()
    assert sorted(names.index) == sorted(source.index)
    assert all(names[fid] == source.loc[fid, "name"] for fid in source.index)
    assert set(got["status"].dropna()) == set(source["status"].dropna())

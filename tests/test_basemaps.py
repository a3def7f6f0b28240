"""The office's own base maps (`planmap serve --basemap FILE`): MBTiles, PMTiles and GeoTIFF backgrounds, from
files the tests write (tests/basemap_files.py), through a real server on a loopback port, the real command, and
Debian's Chromium with every other host blocked.
"""

from __future__ import annotations

import gzip
import math
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from api.app import create_app
from api.models import Basemaps as BasemapsModel
from geo.basemaps import BasemapSpec, open_basemap, open_basemaps
from geo.bytecache import ByteCache
from geo.errors import BadRequest
from tests import basemap_files as bf
from tests import small_world
from tests.conftest import DATA, REPO, LiveServer, ServedProcess
from tests.test_web_map import open_map

GROUND_M_PER_PIXEL_Z0 = 2 * math.pi * 6378137 / 256  # Web Mercator's pixel at zoom 0 on the equator
SHEET_TITLE = "Tờ F-48-32-D (thử)"
SHEET_ATTRIBUTION = "© Cục Đo đạc, Bản đồ và Thông tin địa lý Việt Nam (thử)"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("basemaps")
    tiles, metadata = bf.vector_tiles(folder)
    return {
        "raster": bf.raster_mbtiles(folder / "raster.mbtiles"),
        "vector": bf.vector_mbtiles(folder / "vector.mbtiles", tiles, metadata),
        "pmtiles": bf.vector_pmtiles(folder / "vector.pmtiles", tiles, metadata),
        "sheet": bf.sheet_geotiff(folder / "sheet.tif", TIFFTAG_DOCUMENTNAME=SHEET_TITLE,
                                  TIFFTAG_COPYRIGHT=SHEET_ATTRIBUTION),
        "overviews": bf.sheet_geotiff(folder / "sheet-overviews.tif", overviews=True),
        "paletted": bf.paletted_geotiff(folder / "paletted.tif"),
        "tiles": tiles,
    }


def specs(files) -> list[str]:
    return [str(files["raster"]), f"{files['vector']}#id=vector-mbtiles", str(files["pmtiles"]),
            str(files["sheet"]), f"{files['overviews']}#title=Tờ có ảnh thu nhỏ#attribution=thử",
            str(files["paletted"])]


@pytest.fixture(scope="module")
def live(files) -> Iterator[LiveServer]:
    app = create_app(small_world.dataset(), small_world.RULES, basemaps=open_basemaps(specs(files)))
    with LiveServer(app) as served:
        yield served


@pytest.fixture(scope="module")
def client(live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


def tile(client: httpx.Client, basemap: str, z: int, x: int, y: int, **headers: str) -> httpx.Response:
    return client.get(f"/basemaps/{basemap}/{z}/{x}/{y}", headers=headers)


# ---------------------------------------------------------------------------------------------- the list


def test_the_list_says_what_each_base_map_is(client, live):
    resp = client.get("/basemaps")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    doc = resp.json()
    BasemapsModel.model_validate(doc)
    maps = {b["id"]: b for b in doc["basemaps"]}
    assert list(maps) == ["raster", "vector-mbtiles", "vector", "sheet", "sheet-overviews", "paletted"]  # as given
    raster = maps["raster"]
    assert raster["title"] == "Ảnh nền thử" and raster["kind"] == "raster" and raster["format"] == "png"
    assert raster["attribution"] == "© Sở Tài nguyên thử & bạn"  # the HTML link of the metadata, as text
    assert raster["bounds"] == list(bf.RASTER_BOUNDS)
    assert (raster["minzoom"], raster["maxzoom"]) == (bf.RASTER_ZOOMS[0], bf.RASTER_ZOOMS[-1])
    assert raster["tiles"] == [f"{live.url}/basemaps/raster/{{z}}/{{x}}/{{y}}"]
    assert raster["tilejson"] == "3.0.0" and raster["scheme"] == "xyz"
    for vid, title in (("vector-mbtiles", "Nền địa hình vector"), ("vector", "Bản đồ PMTiles thử")):
        assert maps[vid]["kind"] == "vector" and maps[vid]["format"] == "pbf" and maps[vid]["title"] == title
        assert maps[vid]["vector_layers"] == [{"id": bf.VECTOR_LAYER}]
        assert (maps[vid]["minzoom"], maps[vid]["maxzoom"]) == (bf.VECTOR_ZOOMS[0], bf.VECTOR_ZOOMS[-1])
    sheet = maps["sheet"]
    assert (sheet["title"], sheet["attribution"]) == (SHEET_TITLE, SHEET_ATTRIBUTION)  # from the TIFF tags
    corners = [bf.TO_LONLAT.transform(bf.SHEET_WEST + dx * bf.SHEET_PIXEL_M, bf.SHEET_NORTH - dy * bf.SHEET_PIXEL_M)
               for dx in (0, bf.SHEET_COLUMNS) for dy in (0, bf.SHEET_ROWS)]
    lons, lats = [c[0] for c in corners], [c[1] for c in corners]
    rounding = 1e-7  # the bounds are given to 7 decimals (~1 cm)
    assert sheet["bounds"][0] <= min(lons) + rounding and sheet["bounds"][2] >= max(lons) - rounding
    assert sheet["bounds"][1] <= min(lats) + rounding and sheet["bounds"][3] >= max(lats) - rounding
    assert sheet["bounds"][2] - sheet["bounds"][0] < (max(lons) - min(lons)) * 1.01  # no more than the sheet
    # its finest zoom: the first whose pixel is no larger than the sheet's 10 m
    lat = math.radians((lats[0] + lats[1]) / 2)
    ground = [GROUND_M_PER_PIXEL_Z0 * math.cos(lat) / 2**z for z in (sheet["maxzoom"] - 1, sheet["maxzoom"])]
    assert ground[1] <= bf.SHEET_PIXEL_M < ground[0], ground
    assert sheet["minzoom"] == sheet["maxzoom"] - 2  # without overviews, two levels out at most
    with_overviews = maps["sheet-overviews"]
    assert (with_overviews["title"], with_overviews["attribution"]) == ("Tờ có ảnh thu nhỏ", "thử")  # the overrides
    assert with_overviews["minzoom"] == sheet["maxzoom"] - 2 - int(math.log2(max(bf.OVERVIEW_FACTORS)))
    one = client.get("/basemaps/sheet")
    assert one.status_code == 200 and one.json() == sheet
    assert f"{live.url}/basemaps" in [link["href"] for link in client.get("/").json()["links"]]


# ---------------------------------------------------------------------------------------------- MBTiles


def test_mbtiles_tiles_are_served_in_xyz_order(client):
    for z in bf.RASTER_ZOOMS:
        for x, y in [t for t in bf.tiles_over(bf.RASTER_BOUNDS, z) if (z, *t) != bf.RASTER_HOLE]:
            resp = tile(client, "raster", z, x, y)
            assert resp.status_code == 200, (z, x, y, resp.text)
            assert resp.headers["content-type"] == "image/png"
            pixels = bf.decode_png(resp.content)
            assert tuple(pixels[:3, 128, 128]) == bf.tile_colour(z, x, y), (z, x, y)
            assert pixels[3].min() == 255
    z = bf.RASTER_ZOOMS[-1]
    x, y = bf.tiles_over(bf.RASTER_BOUNDS, z)[0]
    flipped = (1 << z) - 1 - y  # the row as MBTiles store it: not a row of this area in XYZ
    assert tile(client, "raster", z, x, flipped).status_code == 404


def test_a_tile_the_file_leaves_out_inside_its_area_is_empty(client):
    hole = tile(client, "raster", *bf.RASTER_HOLE)
    assert hole.status_code == 204 and hole.content == b""
    z, x, y = bf.RASTER_HOLE
    assert tile(client, "raster", z, x + 3, y).status_code == 404  # the same, outside the area: no such tile


def test_raster_pmtiles_and_a_bare_mbtiles_serve_the_same_tiles(tmp_path):
    """A raster PMTiles, and an MBTiles whose metadata says nothing but its name: format, zooms and area are
    found from the tiles themselves."""
    pm = open_basemap(bf.raster_pmtiles(tmp_path / "anh.pmtiles"))
    bare = open_basemap(bf.raster_mbtiles(tmp_path / "bare.mbtiles", bare=True))
    assert (pm.kind, pm.format, pm.title, pm.attribution) == ("raster", "png", "Ảnh PMTiles thử", "© Ảnh thử")
    assert (bare.format, bare.minzoom, bare.maxzoom) == ("png", bf.RASTER_ZOOMS[0], bf.RASTER_ZOOMS[-1])
    w, s, e, n = bf.RASTER_BOUNDS
    assert bare.bounds[0] <= w and bare.bounds[1] <= s and bare.bounds[2] >= e and bare.bounds[3] >= n
    for (z, x, y), png in bf.raster_tiles().items():
        for basemap in (pm, bare):
            served = basemap.tile(z, x, y)
            assert served.data == png and served.media_type == "image/png" and served.encoding is None
    assert pm.tile(*bf.RASTER_HOLE) is None and pm.covers(*bf.RASTER_HOLE)


def test_a_tile_can_be_revalidated_and_is_cached_by_browsers(client):
    x, y = bf.tiles_over(bf.RASTER_BOUNDS, 9)[0]
    first = tile(client, "raster", 9, x, y)
    assert first.headers["cache-control"] == "public, max-age=3600" and first.headers["etag"]
    again = tile(client, "raster", 9, x, y, **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = tile(client, "raster", 9, x, y + 1, **{"If-None-Match": first.headers["etag"]})
    assert other.status_code in (200, 404) and other.headers.get("etag") != first.headers["etag"]


@pytest.mark.parametrize(("path", "status"), [
    ("/basemaps/raster/8/0/0", 404),  # below the file's zooms
    ("/basemaps/raster/12/3260/1810", 404),  # beyond them
    ("/basemaps/raster/9/512/0", 404),  # no such column at zoom 9
    ("/basemaps/raster/9/0/0", 404),  # a column and row of zoom 9 the file does not hold
    ("/basemaps/nowhere/9/0/0", 404),
    ("/basemaps/nowhere", 404),
    ("/basemaps/raster/25/0/0", 400),  # beyond any zoom served
    ("/basemaps/raster/9/-1/0", 400),
    ("/basemaps/raster/9/1.5/0", 400),
    ("/basemaps/raster/z/0/0", 400),
])
def test_tiles_outside_are_refused_with_a_problem(client, path, status):
    resp = client.get(path)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["detail"] and problem["detail_vi"]


# ---------------------------------------------------------------------------------------------- vector tiles


@pytest.mark.parametrize("basemap", ["vector-mbtiles", "vector"])
def test_vector_tiles_keep_their_gzip_for_clients_that_take_it(client, files, basemap):
    served = 0
    for (z, x, y), mvt in sorted(files["tiles"].items()):
        zipped = tile(client, basemap, z, x, y, **{"Accept-Encoding": "gzip"})
        assert zipped.status_code == 200, zipped.text
        assert zipped.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        assert zipped.headers["content-encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["vary"]
        assert zipped.content == mvt  # httpx undid the gzip: the tile GDAL made, byte for byte
        plain = tile(client, basemap, z, x, y, **{"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == mvt
        served += 1
    assert served == len(files["tiles"]) > 3


def test_a_gzipped_tile_travels_gzipped(live, files):
    (z, x, y), mvt = min(files["tiles"].items())
    with httpx.Client(base_url=live.url) as raw:  # read the bytes as they travel
        with raw.stream("GET", f"/basemaps/vector/{z}/{x}/{y}", headers={"Accept-Encoding": "gzip"}) as resp:
            body = b"".join(resp.iter_raw())
    assert body[:2] == b"\x1f\x8b" and gzip.decompress(body) == mvt


# ---------------------------------------------------------------------------------------------- GeoTIFF


def sheet_lonlat(quadrant: str) -> tuple[float, float]:
    return bf.TO_LONLAT.transform(*bf.sheet_point(quadrant))


def test_a_geotiff_tile_has_the_sheets_colour_where_the_sheet_is(client, live):
    lane = live.server.config.app.state.work["basemaps"]
    before = lane.counters()["started"]
    for quadrant, colour in bf.QUADRANTS.items():
        lon, lat = sheet_lonlat(quadrant)
        for z in (12, 13, 14):
            x, y, col, row = bf.pixel_of(lon, lat, z)
            resp = tile(client, "sheet", z, x, y)
            assert resp.status_code == 200 and resp.headers["content-type"] == "image/png", resp.text
            pixels = bf.decode_png(resp.content)
            assert pixels.shape == (4, 256, 256)
            assert tuple(pixels[:, row, col]) == (*colour, 255), (quadrant, z)
    assert lane.counters()["started"] >= before + 12  # rendered in the base maps' lane, off the event loop


def test_a_geotiff_tile_is_transparent_outside_the_sheet(client):
    step = 8  # pixels either side of the sheet's west edge (~10 m each at zoom 14)
    west_edge = bf.TO_LONLAT.transform(bf.SHEET_WEST, bf.SHEET_NORTH - bf.SHEET_ROWS * bf.SHEET_PIXEL_M / 4)
    z, x, y, col, row = next((z, *bf.pixel_of(*west_edge, z)) for z in (14, 13, 12)
                             if step <= bf.pixel_of(*west_edge, z)[2] <= 255 - step)
    pixels = bf.decode_png(tile(client, "sheet", z, x, y).content)
    assert pixels[3, row, col - step] == 0
    assert tuple(pixels[:, row, col + step]) == (*bf.QUADRANTS["nw"], 255)
    far = bf.pixel_of(*bf.TO_LONLAT.transform(bf.SHEET_WEST - 20_000, bf.SHEET_NORTH), z)
    assert tile(client, "sheet", z, far[0], far[1]).status_code == 404  # nowhere near: no tile at all


def test_a_geotiff_with_overviews_is_drawn_from_them_when_zoomed_out(client):
    lon, lat = sheet_lonlat("nw")
    expected = {10: bf.OVERVIEW_COLOUR, 11: bf.OVERVIEW_COLOUR, 14: bf.QUADRANTS["nw"]}
    for z, colour in expected.items():
        x, y, col, row = bf.pixel_of(lon, lat, z)
        resp = tile(client, "sheet-overviews", z, x, y)
        assert resp.status_code == 200, resp.text
        assert tuple(bf.decode_png(resp.content)[:, row, col]) == (*colour, 255), z
    x, y, _, _ = bf.pixel_of(lon, lat, 8)
    assert tile(client, "sheet-overviews", 8, x, y).status_code == 404  # beyond the coarsest overview


def test_a_paletted_scan_keeps_its_colours_and_its_collar_is_transparent(client):
    for quadrant, index in (("nw", 1), ("ne", 2), ("se", 2), ("sw", 1)):
        x, y, col, row = bf.pixel_of(*sheet_lonlat(quadrant), 14)
        assert tuple(bf.decode_png(tile(client, "paletted", 14, x, y).content)[:, row, col]) == bf.PALETTE[index]
    collar = (bf.SHEET_WEST + 1_000, bf.SHEET_NORTH - bf.COLLAR_ROWS * bf.SHEET_PIXEL_M / 2)
    x, y, col, row = bf.pixel_of(*bf.TO_LONLAT.transform(*collar), 14)
    assert bf.decode_png(tile(client, "paletted", 14, x, y).content)[3, row, col] == 0  # nodata: see through


def test_the_render_cache_is_bounded_in_bytes():
    cache = ByteCache(1000)
    for i in range(30):
        cache.put(i, bytes(100))
    assert cache.size <= 1000 and len(cache) == 10
    assert cache.get(0) is None and cache.get(29) == bytes(100)
    cache.get(20)
    cache.put("new", bytes(100))
    assert cache.get(20) is not None and cache.get(21) is None  # the least recently used went first
    cache.put("huge", bytes(2000))
    assert cache.get("huge") is None and cache.size <= 1000


# ---------------------------------------------------------------------------------------------- the command


def test_the_override_syntax():
    spec = BasemapSpec.parse("/data/tờ 1#2.tif#attribution=© Cục A#B#title=Tờ 1:50.000#id=to-1")
    assert spec == BasemapSpec(Path("/data/tờ 1#2.tif"), id="to-1", title="Tờ 1:50.000", attribution="© Cục A#B")
    with pytest.raises(BadRequest):
        BasemapSpec.parse("a.tif#id=Bad Id")
    with pytest.raises(BadRequest):
        BasemapSpec.parse("a.tif#title=a#title=b")


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "1", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_a_file_that_cannot_be_served_stops_the_command(tmp_path, files):
    text = tmp_path / "notes.mbtiles"
    text.write_text("không phải bản đồ")
    broken = tmp_path / "broken.mbtiles"
    broken.write_bytes(files["raster"].read_bytes()[:2048])
    old_pmtiles = tmp_path / "old.pmtiles"
    old_pmtiles.write_bytes(b"PM\x02\x00" + bytes(200))
    no_crs = tmp_path / "scan.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # that is the point
        with rasterio.open(no_crs, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8") as dst:
            dst.write(np.zeros((1, 4, 4), dtype="uint8"))
    cases = {
        str(tmp_path / "missing.mbtiles"): ("no such file", "không có tệp"),
        str(text): ("none of the formats", "không phải định dạng"),
        str(broken): ("SQLite", "SQLite"),
        str(old_pmtiles): ("PMTiles version 2 is not supported", "PMTiles phiên bản 2"),
        str(no_crs): ("no coordinate reference system", "chưa có hệ tọa độ"),
    }
    for spec, (en, vi) in cases.items():
        result = serve("--basemap", spec)
        assert result.returncode == 1, (spec, result.stderr)
        assert en in result.stderr and vi in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    twice = serve("--basemap", f"{files['raster']}#id=a", "--basemap", f"{files['sheet']}#id=a")
    assert twice.returncode == 1 and "id 'a'" in twice.stderr and "trùng mã" in twice.stderr


def test_planmap_serve_serves_base_maps_from_each_worker(files):
    args = ["--data", str(DATA), "--workers", "2", "--basemap", str(files["raster"]),
            "--basemap", f"{files['sheet']}#title=Tờ bản đồ 1:50.000#attribution=© Cục Bản đồ"]
    with ServedProcess(*args) as served, httpx.Client(base_url=served.url, timeout=30) as c:
        maps = {b["id"]: b for b in c.get("/basemaps").json()["basemaps"]}
        assert maps["sheet"]["title"] == "Tờ bản đồ 1:50.000" and maps["sheet"]["attribution"] == "© Cục Bản đồ"
        lon, lat = sheet_lonlat("se")
        x, y, col, row = bf.pixel_of(lon, lat, 13)
        rx, ry = bf.tiles_over(bf.RASTER_BOUNDS, 10)[1]
        for _ in range(6):  # new connections: both workers answer, each with handles of its own
            with httpx.Client(base_url=served.url, timeout=30) as fresh:
                sheet = fresh.get(f"/basemaps/sheet/13/{x}/{y}")
                raster = fresh.get(f"/basemaps/raster/10/{rx}/{ry}")
            assert tuple(bf.decode_png(sheet.content)[:, row, col]) == (*bf.QUADRANTS["se"], 255)
            assert tuple(bf.decode_png(raster.content)[:3, 0, 0]) == bf.tile_colour(10, rx, ry)


# ---------------------------------------------------------------------------------------------- the map


def test_the_map_switches_to_each_base_map_offline(browser, live):
    """Each base map in the panel's backgrounds: switched on, its tiles come from planmap itself, its attribution
    shows, and the one before is switched off; no other host is asked for anything (open_map checks)."""
    with open_map(browser, live.url) as mp:
        statuses: list[tuple[str, int]] = []
        mp.page.on("response", lambda r: "/basemaps/" in r.url and statuses.append((r.url, r.status)))
        mp.open()
        maps = mp.js("() => window.planmapApp.cfg.basemaps")
        assert [b["id"] for b in maps] == ["raster", "vector-mbtiles", "vector", "sheet", "sheet-overviews", "paletted"]
        for b in maps:
            box = mp.page.locator(f'input[data-background="basemap:{b["id"]}"]')
            box.scroll_into_view_if_needed()
            box.check()
            if b["kind"] == "raster":
                mp.page.wait_for_function(
                    "(id) => document.querySelectorAll('.pm-basemap-' + id + ' img.leaflet-tile-loaded').length > 0",
                    arg=b["id"], timeout=20_000)
            else:
                mp.page.wait_for_function(PAINTED_CANVAS, arg=b["id"], timeout=20_000)
            attribution = mp.js("() => document.querySelector('.pm-attribution').textContent")
            assert b["attribution"] in attribution, attribution
            checked = mp.js("() => Array.from(document.querySelectorAll('input[data-background^=\"basemap:\"]'))"
                            ".filter((i) => i.checked).map((i) => i.dataset.background)")
            assert checked == [f"basemap:{b['id']}"]  # one background at a time
            asked = [url for url, _ in statuses if f"/basemaps/{b['id']}/" in url]
            assert asked and all(url.startswith(live.url) for url in asked), b["id"]
        assert statuses and all(status in (200, 204) for _, status in statuses), statuses
        assert mp.js("() => window.planmapApp.map.getZoom()") <= 19


# A canvas tile of the vector base map `id` with at least one painted pixel.
PAINTED_CANVAS = """(id) => Array.from(document.querySelectorAll('.pm-basemap-' + id + ' canvas')).some((c) => {
  if (!c.width) return false;
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
  return false;
})"""

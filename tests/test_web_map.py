"""The web map in a real browser (Debian's Chromium driven by Playwright), offline, plus its server side.

Every request to a host other than this machine's loopback is aborted and counted; each browser test ends by
asserting that none was made and that the page logged no console error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import httpx
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from api.app import create_app
from layers.dataset import Dataset, layer_from_frame
from layers.search import NameIndex
from tests.conftest import REPO, LiveServer

DEM = REPO / "data" / "sources" / "dem" / "srtm3_N21E105_tn_clip.tif"
SCREENSHOT = REPO / "docs" / "screenshots" / "map-default.png"
HOSTILE = "<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>"
HOSTILE_AT = (105.80, 21.70)  # lon, lat of the hostile test park, inside the province
HOSTILE_FID = 990001
DEFAULT_LAYERS = ["province", "communes", "industrial_parks", "industrial_clusters"]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def keep_screenshot(path: Path, png: bytes) -> None:
    """Write a screenshot of the docs, only when PLANMAP_SCREENSHOTS=1 (a test run leaves docs/ alone)."""
    if os.environ.get("PLANMAP_SCREENSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def map_dataset(dataset: Dataset) -> Dataset:
    """The default dataset plus one industrial park whose name is an HTML/script injection attempt."""
    parks = dataset.get("industrial_parks")
    lon, lat = HOSTILE_AT
    extra = gpd.GeoDataFrame(
        {"name": [HOSTILE], "status": ["planned"], "area_ha": [123.4], "accuracy": ["synthetic"],
         "source": ["test fixture"]},
        geometry=[box(lon - 0.006, lat - 0.006, lon + 0.006, lat + 0.006)], crs="OGC:CRS84", index=[HOSTILE_FID])
    frame = gpd.GeoDataFrame(pd.concat([parks.frame, extra]), geometry="geometry", crs="OGC:CRS84")
    layers = dict(dataset.layers)
    layers["industrial_parks"] = layer_from_frame(parks.meta, frame, parks.geometry_type)
    return Dataset(layers=layers, source=dataset.source)


@pytest.fixture(scope="module")
def map_server(map_dataset: Dataset) -> Iterator[LiveServer]:
    with LiveServer(create_app(map_dataset, dem_path=DEM)) as live:
        yield live


class MapPage:
    """A browser tab on the map that blocks and counts every non-loopback request and records console errors."""

    def __init__(self, context, base: str) -> None:
        self.context = context
        self.base = base
        self.external: list[str] = []
        self.local: list[str] = []
        self.errors: list[str] = []
        context.route("**/*", self._route)
        self.page = context.new_page()
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _route(self, route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK:
            self.local.append(url)
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def open(self, path: str = "/") -> float:
        """Navigate and wait until the default layers are drawn; the ms from navigation start to that moment."""
        self.page.goto(self.base + path, wait_until="domcontentloaded")
        self.page.wait_for_function("() => window.planmapReady === true", timeout=20_000)
        return float(self.page.evaluate("() => window.planmapReadyAt"))

    def js(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def drawn(self, layer_id: str) -> int:
        """Features (paths, markers or clusters) of one collection now in the map's DOM."""
        return int(self.js("(id) => document.querySelectorAll('.leaflet-map-pane .pm-l-' + id).length", layer_id))

    def check_clean(self) -> None:
        assert self.external == [], f"requests to other hosts: {self.external}"
        assert self.errors == [], f"console errors: {self.errors}"


@contextmanager
def open_map(browser, url: str, **context_options) -> Iterator[MapPage]:
    """A fresh browser context on the map; on leaving, no outside request and no console error may have happened."""
    context = browser.new_context(locale="vi-VN", **{"viewport": {"width": 1280, "height": 800}, **context_options})
    mp = MapPage(context, url)
    try:
        yield mp
        mp.check_clean()
    finally:
        context.close()


@pytest.fixture
def map_page(browser, map_server) -> Iterator[MapPage]:
    with open_map(browser, map_server.url) as mp:
        yield mp


# ---------------------------------------------------------------- the server side (no browser)


@pytest.fixture(scope="module")
def client(map_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=map_server.url, timeout=30) as c:
        yield c


def test_browsers_get_the_map_and_clients_keep_the_landing_page(client):
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "planmap.init(" in page.text and 'lang="vi"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/map").text == page.text
    assert client.get("/").json()["links"]
    assert client.get("/", headers={"Accept": "application/json"}).json()["title"]
    assert client.get("/?f=json", headers={"Accept": "text/html"}).json()["links"]
    api_home = client.get("/?f=html", headers={"Accept": "text/html"})
    assert "planmap.init(" not in api_home.text and "/collections?f=html" in api_home.text


def test_map_page_names_no_other_host(client):
    page = client.get("/map").text
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.I), "the page must not name another host"
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert srcs and all(not s.startswith(("http:", "https:", "//")) for s in srcs), srcs
    for src in srcs:
        if src.startswith("data:"):
            continue
        res = client.get("/" + src)
        assert res.status_code == 200, src


def test_static_files_are_whitelisted(client):
    js = client.get("/static/vendor/leaflet/dist/leaflet.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/vendor/leaflet/dist/images/layers.png").headers["content-type"] == "image/png"
    for bad in ["/static/vendor/leaflet/package.json", "/static/vendor/../package.json", "/static/vendor/",
                "/static/vendor/leaflet/dist/", "/static/vendor/%2e%2e/%2e%2e/pyproject.toml", "/static/../api/app.py",
                "/static/vendor/proj4/dist/../../../package-lock.json", "/static/labels.json.bak"]:
        assert client.get(bad).status_code == 404, bad
    assert client.get("/static/planmap.js").status_code == 200
    relief = client.get("/static/hillshade.png")
    assert relief.status_code == 200 and relief.content.startswith(b"\x89PNG")


def test_search_endpoint_ignores_diacritics_and_case(client, map_dataset):
    doc = client.get("/search", params={"q": "YEN binh"}).json()
    names = [r["name"] for r in doc["results"]]
    assert "Yên Bình" in names and "KCN Yên Bình" in names
    first = doc["results"][0]
    assert first["name"] == "Yên Bình" and first["collection"] == "communes"
    assert client.get("/search", params={"q": "diem thuy"}).json()["results"]  # "Điềm Thụy": Đ → d
    assert client.get("/search").status_code == 400
    assert NameIndex(map_dataset).search("   ") == []
    only = client.get("/search", params={"q": "yen binh", "collections": "industrial_parks"}).json()["results"]
    assert only and {r["collection"] for r in only} == {"industrial_parks"}


def test_hillshade_covers_the_dem(map_server):
    from geo.raster import hillshade_png

    shade = hillshade_png(DEM)
    west, south, east, north = shade.bounds
    assert 105.3 < west < east < 106.1 and 21.2 < south < north < 22.1
    assert shade.png.startswith(b"\x89PNG") and shade.width > 100 and shade.height > 100


def test_online_background_is_opt_in():
    from api.routers.map import _csp
    from web.page import MapSettings, render_map_page

    offline = render_map_page(MapSettings(home=(105.5, 21.4, 106.2, 22.4)))
    assert '"osm": null' in offline and "tile.openstreetmap" not in offline
    url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    online = render_map_page(MapSettings(home=(105.5, 21.4, 106.2, 22.4), osm_tiles=url))
    assert '"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in online
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in _csp(url)
    assert "https:" not in _csp(None)


# ---------------------------------------------------------------- in the browser


def test_default_view_is_offline_fast_and_honest(browser, map_page):
    # Warm the server and the browser once in a throw-away tab; then time a fresh tab (empty cache).
    warm = browser.new_context()
    warm.new_page().goto(map_page.base + "/", wait_until="load")
    warm.close()
    ready_ms = map_page.open("/")
    assert ready_ms < 2000, f"default layers drawn {ready_ms:.0f} ms after navigation (budget 2000 ms)"
    for layer_id in DEFAULT_LAYERS:
        assert map_page.drawn(layer_id) > 0, layer_id
        assert map_page.page.is_checked(f"#pm-toggle-{layer_id}"), layer_id
    assert map_page.drawn("districts") == 0 and map_page.drawn("fuel_stations") == 0
    collections = httpx.get(map_page.base + "/collections").json()["collections"]
    note = map_page.page.inner_text("#pm-note")
    for c in collections:
        listed = bool(set(c["accuracy"]) - {"exact"})
        assert (c["titles"]["vi"] in note) == listed, c["id"]
    assert "không phải số liệu quy hoạch chính thức" in note
    relief = map_page.page.query_selector("img.leaflet-image-layer")
    assert relief and relief.get_attribute("src").endswith("static/hillshade.png")
    assert map_page.js("() => document.querySelector('img.leaflet-image-layer').naturalWidth") > 100
    legend = map_page.page.inner_text("#pm-legend")
    assert "Đang hoạt động" in legend and "Quy hoạch mới" in legend
    map_page.page.wait_for_timeout(300)  # let the relief image settle
    png = map_page.page.screenshot()
    assert len(png) < 600_000
    keep_screenshot(SCREENSHOT, png)


def test_each_layer_toggles_and_draws_its_features(map_page):
    map_page.open("/")
    ids = map_page.js("() => Array.from(document.querySelectorAll('#pm-panel input[data-layer]'))"
                      ".map(i => i.dataset.layer)")
    assert len(ids) >= 15
    for layer_id in ids:
        toggle = f"#pm-toggle-{layer_id}"
        if map_page.page.is_checked(toggle):
            map_page.page.uncheck(toggle)
            assert map_page.drawn(layer_id) == 0, layer_id
        map_page.page.check(toggle)
        map_page.page.wait_for_function(
            "(id) => document.querySelector(`.pm-layer[data-layer='${id}']`).dataset.state === 'ready'"
            " && document.querySelectorAll('.leaflet-map-pane .pm-l-' + id).length > 0", arg=layer_id,
            timeout=10_000)
        assert map_page.js("(id) => !!document.querySelector(`#pm-legend [data-layer='${id}']`)", layer_id), layer_id
        count = int(map_page.page.get_attribute(f".pm-layer[data-layer='{layer_id}']", "data-count"))
        assert count > 0, layer_id
        map_page.page.uncheck(toggle)
        assert map_page.drawn(layer_id) == 0, layer_id
    # large layers are requested for the visible area only, small ones whole
    sizes = {c["id"]: c["numberOfFeatures"] for c in httpx.get(map_page.base + "/collections").json()["collections"]}
    for url in map_page.local:
        match = re.search(r"/collections/([^/]+)/items\?", url)
        if match:
            assert ("bbox=" in url) == (sizes[match.group(1)] > 200), url


def test_popup_shows_a_hostile_name_as_text(map_page):
    map_page.open("/")
    lon, lat = HOSTILE_AT
    map_page.js("([lat, lon]) => { window.planmapApp.map.setView([lat, lon], 15, {animate: false}); }", [lat, lon])
    map_page.page.wait_for_timeout(200)
    point = map_page.js("([lat, lon]) => { const p = window.planmapApp.map.latLngToContainerPoint([lat, lon]);"
                        " const r = window.planmapApp.map.getContainer().getBoundingClientRect();"
                        " return [r.left + p.x, r.top + p.y]; }", [lat, lon])
    map_page.page.mouse.click(point[0], point[1])
    title = map_page.page.wait_for_selector(".pm-popup-title", timeout=5000)
    assert title.inner_text() == HOSTILE
    popup = map_page.page.query_selector(".pm-popup")
    assert popup.get_attribute("data-fid") == str(HOSTILE_FID)
    assert popup.query_selector("img") is None and popup.query_selector("script") is None
    assert "Tên" in popup.inner_text() and "Quy hoạch mới" in popup.inner_text()
    # the search results show the same name as text too
    map_page.page.fill("#pm-search", "img src")
    map_page.page.press("#pm-search", "Enter")
    hit = map_page.page.wait_for_selector(".pm-search-hit .pm-search-name", state="attached", timeout=5000)
    assert hit.inner_text() == HOSTILE
    map_page.page.wait_for_timeout(300)
    assert map_page.js("() => typeof window.__pwned") == "undefined"
    assert map_page.page.query_selector("#pm-search-results img, .leaflet-popup img") is None


def test_diacritic_free_search_finds_and_zooms(map_page):
    map_page.open("/")
    zoom_before = map_page.js("() => window.planmapApp.map.getZoom()")
    map_page.page.fill("#pm-search", "yen binh")
    map_page.page.press("#pm-search", "Enter")
    first = map_page.page.wait_for_selector(".pm-search-hit", state="attached", timeout=5000)
    assert first.query_selector(".pm-search-name").inner_text() == "Yên Bình"
    map_page.page.wait_for_selector(".pm-popup-title", timeout=5000)
    assert map_page.page.inner_text(".pm-popup-title") == "Yên Bình"
    hit = httpx.get(map_page.base + "/search", params={"q": "yen binh"}).json()["results"][0]
    west, south, east, north = hit["bbox"]
    center = map_page.js("() => { const c = window.planmapApp.map.getCenter(); return [c.lng, c.lat]; }")
    assert west <= center[0] <= east and south <= center[1] <= north
    assert map_page.js("() => window.planmapApp.map.getZoom()") > zoom_before
    names = map_page.js("() => Array.from(document.querySelectorAll('.pm-search-name')).map(e => e.textContent)")
    assert "KCN Yên Bình" in names


def test_mouse_position_reads_out_vn2000_metres(map_page):
    map_page.open("/")
    box_ = map_page.page.query_selector(".folium-map").bounding_box()
    map_page.page.mouse.move(box_["x"] + box_["width"] / 2, box_["y"] + box_["height"] / 2)
    map_page.page.mouse.move(box_["x"] + box_["width"] / 2 + 15, box_["y"] + box_["height"] / 2 + 10)
    coords = map_page.page.wait_for_selector("#pm-coords[data-x]")
    x, y = float(coords.get_attribute("data-x")), float(coords.get_attribute("data-y"))
    lon, lat = float(coords.get_attribute("data-lon")), float(coords.get_attribute("data-lat"))
    assert 400_000 < x < 500_000 and 2_300_000 < y < 2_600_000, (x, y)
    ex, ey = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True).transform(lon, lat)
    assert abs(ex - x) < 1.0 and abs(ey - y) < 1.0, ((x, y), (ex, ey))
    text = coords.inner_text()
    assert "VN-2000" in text and "WGS84" in text and " m" in text


def test_english_toggle_changes_labels_and_is_remembered(map_page):
    map_page.open("/")
    assert map_page.page.inner_text(".pm-panel-head") == "Lớp bản đồ"
    map_page.page.click("#pm-lang")
    assert map_page.page.inner_text(".pm-panel-head") == "Map layers"
    assert map_page.js("() => document.documentElement.lang") == "en"
    groups = map_page.js("() => Array.from(document.querySelectorAll('.pm-group-title')).map(e => e.textContent)")
    assert "Industry" in groups and "Công nghiệp" not in groups
    assert "Demonstration data" in map_page.page.inner_text("#pm-note")
    map_page.page.reload(wait_until="domcontentloaded")
    map_page.page.wait_for_function("() => window.planmapReady === true", timeout=20_000)
    assert map_page.page.inner_text(".pm-panel-head") == "Map layers"
    assert map_page.page.get_attribute("#pm-search", "placeholder").startswith("Search")
    map_page.page.fill("#pm-search", "KCN Song Cong I")
    map_page.page.press("#pm-search", "Enter")
    map_page.page.wait_for_selector(".pm-popup-table", timeout=5000)
    labels = map_page.js("() => Array.from(document.querySelectorAll('.pm-popup-table th')).map(e => e.textContent)")
    assert "Name" in labels and "Status" in labels and "Tên" not in labels
    map_page.page.click("#pm-lang")
    assert map_page.page.inner_text(".pm-panel-head") == "Lớp bản đồ"


def test_admin_switch_shows_units_before_and_after_july_2025(map_page):
    map_page.open("/")
    assert map_page.drawn("communes") > 0 and map_page.drawn("districts") == 0
    map_page.page.check("input[data-admin='pre2025']")
    map_page.page.wait_for_function("() => document.querySelectorAll('.leaflet-map-pane .pm-l-districts').length > 0")
    assert map_page.drawn("communes") == 0
    assert map_page.drawn("province") == 1
    assert map_page.js("() => window.planmapApp.layers.get('province').group.getLayers()[0].feature"
                       ".properties.version") == "pre2025"
    map_page.page.check("input[data-admin='2025']")
    map_page.page.wait_for_function("() => document.querySelectorAll('.leaflet-map-pane .pm-l-communes').length > 0")
    assert map_page.drawn("districts") == 0


def test_measure_distance_and_area(map_page):
    map_page.open("/")
    rect = map_page.page.query_selector(".folium-map").bounding_box()
    cx, cy = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2

    def tips() -> list[str]:
        map_page.page.wait_for_timeout(350)  # a closed tooltip fades out for 200 ms
        return [t.inner_text() for t in map_page.page.query_selector_all(".pm-measure-tip")]

    map_page.page.click(".pm-measure-distance")
    map_page.page.mouse.click(cx - 100, cy)
    map_page.page.mouse.click(cx + 100, cy)
    map_page.page.keyboard.press("Escape")
    distance = tips()
    assert len(distance) == 1 and re.fullmatch(r"[\d.,]+ (km|m)", distance[0]), distance
    map_page.page.click(".pm-measure-clear")
    assert tips() == []
    map_page.page.click(".pm-measure-area")
    for dx, dy in [(-80, -80), (80, -80), (80, 80)]:
        map_page.page.mouse.click(cx + dx, cy + dy)
    map_page.page.keyboard.press("Escape")
    area = tips()
    assert len(area) == 1 and "ha" in area[0], area


def test_screenshot_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/screenshots/map-default.png" in readme

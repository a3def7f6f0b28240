"""The web map draws a large layer from planmap's vector tiles (protomaps-leaflet, on canvas), in Debian's Chromium
with every non-loopback request blocked: its styles by status, its legend, and a click opening the feature's popup.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import geopandas as gpd
import httpx
import pytest
from PIL import Image
from shapely.geometry import box

from api.app import create_app
from layers.dataset import Dataset, layer_from_frame
from tests.conftest import LiveServer
from tests.test_web_map import MapPage, open_map
from web.page import STYLES

LAYER = "industrial_clusters"  # on by default and styled by status: replaced by a layer too large for GeoJSON
ORIGIN = (105.70, 21.45)  # south-west corner of the grid of synthetic clusters
STEP = 0.004  # degrees between clusters (~400 m)
SIDE = 0.0015  # degrees across a cluster (~150 m): gaps of ~250 m between them
COLUMNS = 50
STATUSES = ("existing", "planned", "expanded")


def cluster_at(i: int) -> tuple[float, float]:
    """Centre (lon, lat) of synthetic cluster i."""
    return ORIGIN[0] + STEP * (i % COLUMNS) + SIDE / 2, ORIGIN[1] + STEP * (i // COLUMNS) + SIDE / 2


@pytest.fixture(scope="module")
def tiles_server(dataset: Dataset) -> Iterator[LiveServer]:
    """The default dataset with 2,500 synthetic industrial clusters — above the map's tile threshold."""
    count = STYLES["tileThreshold"] + 500
    frame = gpd.GeoDataFrame(
        {"name": [f"CCN Ô {i}" for i in range(count)], "status": [STATUSES[i % 3] for i in range(count)],
         "plan_phase": ["2021-2025"] * count, "accuracy": ["synthetic"] * count, "source": ["test"] * count},
        geometry=[box(*(c - SIDE / 2 for c in cluster_at(i)), *(c + SIDE / 2 for c in cluster_at(i)))
                  for i in range(count)], crs="OGC:CRS84", index=range(1, count + 1))
    layers = dict(dataset.layers)
    layers[LAYER] = layer_from_frame(dataset.get(LAYER).meta, frame, "Polygon")
    with LiveServer(create_app(Dataset(layers=layers, source=dataset.source))) as live:
        yield live


@pytest.fixture
def tiles_page(browser, tiles_server) -> Iterator[MapPage]:
    with open_map(browser, tiles_server.url) as mp:
        yield mp


def rgb_at(mp: MapPage, lon: float, lat: float) -> tuple[int, int, int]:
    """The colour the page shows at a place (a screenshot's pixel)."""
    x, y = mp.js("([lat, lon]) => { const p = window.planmapApp.map.latLngToContainerPoint([lat, lon]);"
                 " const r = window.planmapApp.map.getContainer().getBoundingClientRect();"
                 " return [r.left + p.x, r.top + p.y]; }", [lat, lon])
    png = mp.page.screenshot(clip={"x": x, "y": y, "width": 1, "height": 1})
    return Image.open(io.BytesIO(png)).convert("RGB").getpixel((0, 0))


def test_a_large_layer_is_drawn_from_tiles_with_its_styles_and_popups(tiles_page, tiles_server):
    mp = tiles_page
    mp.open("/")
    assert mp.page.is_checked(f"#pm-toggle-{LAYER}")
    layer_requests = [u for u in mp.local if f"/collections/{LAYER}/" in u]
    assert any(re.search(rf"/collections/{LAYER}/tiles/WebMercatorQuad/\d+/\d+/\d+$", u) for u in layer_requests)
    assert not any("/items" in u for u in layer_requests), "a tiled layer is not fetched as GeoJSON"
    assert mp.drawn(LAYER) == 1  # one canvas layer, not one path per feature
    state = mp.page.get_attribute(f".pm-layer[data-layer='{LAYER}']", "data-state")
    count = mp.page.get_attribute(f".pm-layer[data-layer='{LAYER}']", "data-count")
    assert state == "ready" and int(count) == STYLES["tileThreshold"] + 500
    legend = mp.page.inner_text(f"#pm-legend [data-layer='{LAYER}']")
    assert "Hiện có" in legend and "Quy hoạch mới" in legend and "Mở rộng" in legend

    target = 1235  # an "expanded" cluster (STATUSES[1235 % 3]; feature id 1236)
    lon, lat = cluster_at(target)
    mp.js("([lat, lon]) => window.planmapApp.map.setView([lat, lon], 16, {animate: false})", [lat, lon])
    mp.page.wait_for_function(f"() => document.querySelector(\".pm-layer[data-layer='{LAYER}']\")"
                              ".dataset.state === 'ready'", timeout=10_000)
    mp.page.wait_for_timeout(300)
    # the canvas shows the class colours of styles.json (expanded: pink fill), and nothing in the gaps
    expanded = STYLES["layers"][LAYER]["classes"]["expanded"]["fillColor"]
    want = tuple(int(expanded[i:i + 2], 16) for i in (1, 3, 5))
    inside = rgb_at(mp, lon, lat)
    gap = rgb_at(mp, lon + STEP / 2, lat)
    assert inside != gap
    assert inside[0] - inside[1] > 40 and inside[2] > inside[1], (inside, want)  # pink: red and blue over green
    # a click opens the popup of the feature under it, read from the items endpoint
    x, y = mp.js("([lat, lon]) => { const p = window.planmapApp.map.latLngToContainerPoint([lat, lon]);"
                 " const r = window.planmapApp.map.getContainer().getBoundingClientRect();"
                 " return [r.left + p.x, r.top + p.y]; }", [lat, lon])
    mp.page.mouse.click(x, y)
    title = mp.page.wait_for_selector(".pm-popup-title", timeout=5000)
    assert title.inner_text() == f"CCN Ô {target}"
    assert mp.page.get_attribute(".pm-popup", "data-fid") == str(target + 1)
    assert "Mở rộng" in mp.page.inner_text(".pm-popup") or "expanded" in mp.page.inner_text(".pm-popup")
    # a click in a gap between clusters opens what lies below there (the commune drawn as GeoJSON), no cluster
    mp.js("() => window.planmapApp.map.closePopup()")
    gx, gy = mp.js("([lat, lon]) => { const p = window.planmapApp.map.latLngToContainerPoint([lat, lon]);"
                   " const r = window.planmapApp.map.getContainer().getBoundingClientRect();"
                   " return [r.left + p.x, r.top + p.y]; }", [lat, lon + STEP / 2])
    mp.page.mouse.click(gx, gy)
    mp.page.wait_for_selector(".pm-popup", timeout=5000)
    assert mp.page.get_attribute(".pm-popup", "data-layer") == "communes"
    # switched off, the canvas goes; the small layers are still GeoJSON as before
    mp.page.uncheck(f"#pm-toggle-{LAYER}")
    assert mp.drawn(LAYER) == 0
    assert mp.drawn("industrial_parks") > 0
    sizes = {c["id"]: c["numberOfFeatures"] for c in httpx.get(tiles_server.url + "/collections").json()["collections"]}
    assert sizes[LAYER] > STYLES["tileThreshold"] >= max(v for k, v in sizes.items() if k != LAYER)

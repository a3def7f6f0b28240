"""The map's tools in a real browser: checking a site (issue 4), exports and the offline copy (issue 5), signing in
and saving proposals (issue 6).  Same rules as tests/test_web_map.py: every request to another host is aborted and
counted (none allowed) and the page may log no console error.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pyogrio
import pytest
from shapely.geometry import box, shape

from tests.conftest import REPO, ServedProcess, served_with_store
from tests.test_web_map import MapPage, keep_screenshot, open_map

ADMIN_TOKEN = secrets.token_hex(16)
HOSTILE = "<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>"
CHECK_SCREENSHOT = REPO / "docs" / "screenshots" / "check-panel.png"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedProcess]:
    """`planmap serve` with the default dataset and rules, a store of its own and an admin token."""
    with served_with_store(tmp_path_factory.mktemp("tools-store"), ADMIN_TOKEN) as live:
        yield live


@pytest.fixture
def tools_page(browser, served) -> Iterator[MapPage]:
    with open_map(browser, served.url, viewport={"width": 1280, "height": 900}, accept_downloads=True) as mp:
        yield mp


def _school(base: str) -> tuple[float, float, str]:
    doc = httpx.get(f"{base}/collections/public_facilities/items", params={"kind": "school", "limit": 1}).json()
    feature = doc["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    return lon, lat, feature["properties"]["name"]


def _screen_point(mp: MapPage, lon: float, lat: float) -> tuple[float, float]:
    return tuple(mp.js("([lat, lon]) => { const m = window.planmapApp.map;"
                       " const p = m.latLngToContainerPoint([lat, lon]);"
                       " const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }",
                       [lat, lon]))


def _view(mp: MapPage, lon: float, lat: float, zoom: int) -> None:
    mp.js("([lat, lon, z]) => { window.planmapApp.map.setView([lat, lon], z, {animate: false}); }", [lat, lon, zoom])
    mp.page.wait_for_timeout(250)


def _check_point(mp: MapPage, kind: str, lon: float, lat: float, name: str | None = None) -> None:
    mp.page.click("#pm-tool-check")
    mp.page.select_option("#pm-check-kind", kind)
    if name:
        mp.page.fill("#pm-check-name", name)
    _view(mp, lon, lat, 17)
    mp.page.click("#pm-check-point")
    x, y = _screen_point(mp, lon, lat)
    mp.page.mouse.move(x - 20, y - 20)
    mp.page.mouse.click(x, y)
    mp.page.wait_for_selector("#pm-check-verdict", timeout=15_000)


def test_the_panel_says_what_each_result_rests_on(tools_page):
    """Each rule shows the accuracy of the features that decided it, and the verdict says when it is indicative —
    read from the page, against the accuracy the API gives for the school."""
    mp = tools_page
    mp.open("/")
    lon, lat, school = _school(mp.base)
    school_accuracy = httpx.get(f"{mp.base}/collections/public_facilities/items",
                                params={"kind": "school", "limit": 1}).json()["features"][0]["properties"]["accuracy"]
    _check_point(mp, "fuel_station", lon + 0.0002, lat, name="CHXD Bằng Chứng")
    rule = mp.page.wait_for_selector("li.pm-rule[data-rule='fuel_station.crowded_places']")
    assert rule.get_attribute("data-evidence-accuracy") == school_accuracy
    labels = {"exact": "Chính xác", "approximate": "Gần đúng", "schematic": "Sơ đồ", "synthetic": "Minh họa"}
    evidence = rule.query_selector(".pm-rule-evidence").inner_text()
    assert evidence.startswith("Dữ liệu quyết định: " + labels[school_accuracy]) and "public_facilities #" in evidence
    accuracies = mp.js("() => Array.from(document.querySelectorAll('li.pm-rule'))"
                       ".map(li => li.dataset.evidenceAccuracy)")
    assert "không phải số liệu chính thức" in mp.page.inner_text("#pm-check-disclaimer")
    note = mp.page.query_selector("#pm-check-verdict-note")
    if any(a in ("schematic", "synthetic") for a in accuracies):
        assert note is not None and "Kết luận mang tính tham khảo: dựa trên dữ liệu minh họa" in note.inner_text()
    else:
        assert note is None or "tham khảo" not in note.inner_text()


def test_session_endpoint_never_fails(served):
    assert httpx.get(f"{served.url}/map/session").json() == {"valid": False, "name": None, "role": "anonymous"}
    bad = httpx.get(f"{served.url}/map/session", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 200 and bad.json()["valid"] is False
    assert bad.json()["reason"] == {"code": "InvalidToken", "vi": "Mã truy cập không hợp lệ",
                                    "en": "the token is not valid"}
    admin = httpx.get(f"{served.url}/map/session", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert admin == {"valid": True, "name": "admin", "role": "admin"}


def test_check_a_fuel_station_next_to_a_school(tools_page):
    mp = tools_page
    mp.open("/")
    lon, lat, school = _school(mp.base)
    _check_point(mp, "fuel_station", lon + 0.0002, lat, name="CHXD Tân Thịnh")  # ~20 m east of the school
    rule = mp.page.wait_for_selector("li.pm-rule[data-rule='fuel_station.crowded_places']")
    assert rule.get_attribute("data-status") == "fail"
    assert "Không đạt" in rule.inner_text() and school in rule.inner_text()
    assert "QCVN 01:2020/BCT" in rule.inner_text()
    assert mp.page.get_attribute("#pm-check-verdict", "data-verdict") == "fail"
    panel = mp.page.inner_text("#pm-check-report")
    assert "Xã/phường" in panel and "Huyện/thành phố" in panel
    assert "CHXD Tân Thịnh" in panel
    # the evidence is drawn, by role, with a legend
    assert mp.js("() => document.querySelectorAll('.leaflet-pane .pm-ev-distance').length") >= 1
    assert mp.js("() => document.querySelectorAll('.leaflet-pane .pm-ev-nearest').length") >= 1
    assert int(mp.page.get_attribute("#pm-check-report", "data-evidence")) >= 3
    assert "Khoảng cách" in mp.page.inner_text("#pm-ev-legend")
    mp.page.wait_for_timeout(200)
    png = mp.page.query_selector("#pm-check").screenshot()
    assert len(png) < 250_000
    keep_screenshot(CHECK_SCREENSHOT, png)
    # print: the HTML report in a new window
    with mp.page.expect_response(lambda r: "/checks?f=html" in r.url) as resp, mp.page.expect_popup() as popup:
        mp.page.click("#pm-check-print")
    assert resp.value.status == 200 and resp.value.headers["content-type"].startswith("text/html")
    popup.value.wait_for_url("blob:**")
    popup.value.wait_for_load_state()
    assert school in popup.value.content()
    popup.value.close()
    # PDF: a download
    with mp.page.expect_response(lambda r: "/checks?f=pdf" in r.url) as resp, mp.page.expect_download() as dl:
        mp.page.click("#pm-check-pdf")
    assert resp.value.headers["content-type"] == "application/pdf"
    assert dl.value.suggested_filename.endswith(".pdf")
    assert Path(dl.value.path()).read_bytes().startswith(b"%PDF")
    # English on the toggle: the report is asked for again in English
    mp.page.click("#pm-lang")
    mp.page.wait_for_function("() => document.querySelector('#pm-check-verdict')?.textContent.includes('Fail')")
    assert "Legal basis" in mp.page.inner_text("#pm-check-report")
    # a new check clears the old evidence
    mp.page.click("#pm-check-point")
    assert mp.js("() => document.querySelectorAll('.leaflet-pane .pm-ev-distance').length") >= 1  # still there
    x, y = _screen_point(mp, lon + 0.002, lat + 0.001)
    mp.page.mouse.move(x - 5, y - 5)
    mp.page.mouse.click(x, y)
    mp.page.wait_for_function("(lon) => Math.abs(window.planmapApp.tools.site.coordinates[0] - lon) < 1e-4",
                              arg=lon + 0.002)
    mp.page.wait_for_selector("#pm-check-verdict")
    assert mp.js("() => document.querySelectorAll('.leaflet-pane .pm-ev-site').length") == 1
    assert mp.js("() => window.__pwned") is None


def test_polygon_cluster_check_shows_the_area_rule(tools_page):
    mp = tools_page
    mp.open("/")
    mp.page.click("#pm-tool-check")
    mp.page.select_option("#pm-check-kind", "industrial_cluster")
    mp.page.fill("#pm-check-name", HOSTILE)
    _view(mp, 105.84, 21.59, 15)
    mp.page.click("#pm-check-polygon")
    rect = mp.page.query_selector(".folium-map").bounding_box()
    cx, cy = rect["x"] + rect["width"] / 2 + 100, rect["y"] + rect["height"] / 2
    corners = [(cx - 80, cy - 80), (cx + 80, cy - 80), (cx + 80, cy + 80), (cx - 80, cy + 80), (cx - 80, cy - 80)]
    for x, y in corners:
        mp.page.mouse.move(x, y)
        mp.page.mouse.click(x, y)
        mp.page.wait_for_timeout(120)
    mp.page.wait_for_selector("#pm-check-verdict", timeout=15_000)
    assert mp.js("() => window.planmapApp.tools.site.type") == "Polygon"
    area = mp.page.wait_for_selector("li.pm-rule[data-rule='industrial_cluster.area']")
    assert area.get_attribute("data-status") in {"pass", "fail", "warn"}
    assert "ha" in area.inner_text()
    assert mp.js("() => document.querySelectorAll('.leaflet-pane .pm-ev-site').length") >= 1
    assert HOSTILE in mp.page.inner_text("#pm-check-report")  # names are text, never HTML
    assert mp.page.query_selector("#pm-check img, #pm-check script") is None
    assert mp.js("() => window.__pwned") is None


def _download(mp: MapPage, selector: str, tmp_path: Path, name: str) -> Path:
    with mp.page.expect_download(timeout=60_000) as dl:
        mp.page.click(selector)
    out = tmp_path / (name + "_" + dl.value.suggested_filename)
    dl.value.save_as(out)
    return out


def test_export_data_of_the_current_view(tools_page, tmp_path):
    mp = tools_page
    mp.open("/")
    _view(mp, 105.84, 21.59, 13)
    west, south, east, north = mp.js("() => { const b = window.planmapApp.map.getBounds();"
                                     " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
    mp.page.click("#pm-tool-export")
    mp.page.select_option("#pm-export-format", "gpkg")
    mp.page.select_option("#pm-export-crs", "EPSG:4326")
    mp.page.check("#pm-export-view")
    out = _download(mp, "#pm-export-data", tmp_path, "data")
    assert out.suffix == ".gpkg"
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"communes", "industrial_parks", "industrial_clusters", "province"} <= layers
    view = box(west, south, east, north)
    all_communes = httpx.get(f"{mp.base}/collections/communes").json()["numberOfFeatures"]
    for name in layers:
        frame = gpd.read_file(out, layer=name).to_crs("EPSG:4326")
        assert len(frame) > 0, name
        assert frame.geometry.intersects(view.buffer(1e-6)).all(), name
        if name == "communes":
            assert len(frame) < all_communes
    assert "Đã tải" in mp.page.inner_text("#pm-export-status")


def test_export_map_pdf_and_errors_in_the_panel(tools_page, tmp_path):
    mp = tools_page
    mp.open("/")
    mp.page.click("#pm-tool-export")
    mp.page.select_option("#pm-export-preset", "cluster-plan-2030")
    mp.page.select_option("#pm-export-size", "A4")
    mp.page.select_option("#pm-export-orientation", "portrait")
    mp.page.select_option("#pm-export-mapformat", "pdf")
    mp.page.check("#pm-export-mapview")
    out = _download(mp, "#pm-export-map", tmp_path, "map")
    assert out.read_bytes().startswith(b"%PDF") and out.suffix == ".pdf"
    # a refused export says why in the panel (the server's Vietnamese problem text), not in the console
    mp.js("() => document.querySelector('#pm-export-format').append(new Option('xyz', 'xyz'))")
    mp.page.select_option("#pm-export-format", "xyz")
    mp.page.click("#pm-export-data")
    status = mp.page.wait_for_selector("#pm-export-status[data-state='error']")
    assert "Định dạng 'xyz' không được hỗ trợ" in status.inner_text()
    # the browser itself logs the refused request; that one line is expected, nothing else
    mp.errors[:] = [e for e in mp.errors if "status of 400" not in e]
    for layer_id in ("province", "communes", "industrial_parks", "industrial_clusters"):
        mp.page.uncheck(f"#pm-toggle-{layer_id}")
    mp.page.click("#pm-export-data")
    mp.page.wait_for_function("() => document.querySelector('#pm-export-status').textContent.includes('Chưa bật')")


def test_offline_copy_opens_from_disk_with_no_network(tools_page, browser, tmp_path):
    mp = tools_page
    mp.open("/")
    mp.page.check("#pm-toggle-fuel_stations")
    mp.page.click("#pm-tool-export")
    out = _download(mp, "#pm-export-offline", tmp_path, "offline")
    names = zipfile.ZipFile(out).namelist()
    assert "index.html" in names and "data/fuel_stations.js" in names and "data/communes.js" in names
    assert not any("leaflet-draw" in n or "planmap-tools" in n for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(out).extractall(site)
    html = (site / "index.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    blocked: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    try:
        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        page.goto((site / "index.html").as_uri(), wait_until="load")
        page.wait_for_function("() => window.planmapReady === true", timeout=20_000)
        for layer_id in ("province", "communes", "industrial_parks", "industrial_clusters", "fuel_stations"):
            count = page.evaluate("(id) => document.querySelectorAll('.leaflet-map-pane .pm-l-' + id).length", layer_id)
            assert count > 0, layer_id
        assert "không phải số liệu quy hoạch chính thức" in page.inner_text("#pm-note")
        assert page.query_selector("#pm-tool-check") is None and page.query_selector(".pm-api-link") is None
        assert "Cụm công nghiệp" in page.inner_text("#pm-legend")
        # a click on an industrial park opens its popup
        park = httpx.get(f"{mp.base}/collections/industrial_parks/items", params={"limit": 1}).json()["features"][0]
        point = shape(park["geometry"]).representative_point()
        page.evaluate("([lat, lon]) => { window.planmapApp.map.setView([lat, lon], 15, {animate: false}); }",
                      [point.y, point.x])
        page.wait_for_timeout(250)
        xy = page.evaluate("([lat, lon]) => { const m = window.planmapApp.map; const p = m.latLngToContainerPoint("
                           "[lat, lon]); const r = m.getContainer().getBoundingClientRect();"
                           " return [r.left + p.x, r.top + p.y]; }", [point.y, point.x])
        page.mouse.click(*xy)
        assert page.wait_for_selector(".pm-popup-title", timeout=5000).inner_text() == park["properties"]["name"]
        # search over the embedded names, without diacritics
        page.fill("#pm-search", "yen binh")
        page.press("#pm-search", "Enter")
        page.wait_for_function("() => document.querySelector('.pm-popup-title')?.textContent === 'Yên Bình'",
                               timeout=5000)
        page.click("#pm-lang")
        assert page.inner_text(".pm-panel-head") == "Map layers"
    finally:
        context.close()
    assert blocked == [], f"requests that were not file://: {blocked}"
    assert errors == [], f"console errors: {errors}"


def test_offline_map_endpoint(served):
    res = httpx.get(f"{served.url}/exports/offline-map", params={"collections": "industrial_parks"}, timeout=60)
    assert res.status_code == 200 and res.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(res.content))
    script = zf.read("data/industrial_parks.js").decode()
    assert script.startswith("window.PLANMAP_DATA") and '"FeatureCollection"' in script
    assert httpx.get(f"{served.url}/exports/offline-map", params={"collections": "nope"}).status_code == 404
    assert httpx.get(f"{served.url}/exports/offline-map").status_code == 400


def test_sign_in_shows_internal_layers_and_saves_a_proposal(tools_page):
    mp = tools_page
    base = mp.base
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    made = httpx.post(f"{base}/users", json={"name": "lan", "role": "planner"}, headers=admin)
    assert made.status_code == 201, made.text
    planner = {"Authorization": f"Bearer {made.json()['token']}"}
    put = httpx.put(f"{base}/collections/mineral_areas/settings", json={"internal": True}, headers=planner)
    assert put.status_code == 200, put.text
    try:
        mp.open("/")
        assert mp.page.query_selector("#pm-toggle-mineral_areas") is None
        mp.page.click("#pm-tool-auth")
        mp.page.fill("#pm-token", "not-a-token")
        mp.page.click("#pm-signin")
        mp.page.wait_for_selector("#pm-auth-status[data-state='error']")
        assert "không hợp lệ" in mp.page.inner_text("#pm-auth-status")
        # a disabled account is told so, in the page's language
        locked = httpx.post(f"{base}/users", json={"name": "khoa", "role": "planner"}, headers=admin).json()["token"]
        assert httpx.post(f"{base}/users/khoa/disable", headers=admin).status_code == 200
        mp.page.fill("#pm-token", locked)
        mp.page.click("#pm-signin")
        mp.page.wait_for_function("() => document.querySelector('#pm-auth-status').textContent.includes('bị khóa')")
        assert mp.js("() => sessionStorage.getItem('planmap.token')") is None
        mp.page.fill("#pm-token", made.json()["token"])
        mp.page.click("#pm-signin")
        mp.page.wait_for_selector("#pm-toggle-mineral_areas", state="attached", timeout=10_000)
        assert "lan" in mp.page.inner_text("#pm-auth-status")
        assert mp.page.inner_text("#pm-tool-auth") == "lan"
        assert mp.js("() => sessionStorage.getItem('planmap.token')") == made.json()["token"]
        mp.page.check("#pm-toggle-mineral_areas")
        mp.page.wait_for_function("() => document.querySelectorAll('.leaflet-map-pane .pm-l-mineral_areas').length > 0")
        # check a site and save it as a proposal
        lon, lat, _ = _school(base)
        _check_point(mp, "fuel_station", lon + 0.003, lat + 0.003, name="CHXD thử nghiệm")
        mp.page.click("#pm-check-save")
        saved = mp.page.wait_for_selector("#pm-save-status[data-state='done']", timeout=15_000)
        assert "Đã lưu đề xuất #" in saved.inner_text()
        mp.page.wait_for_selector("#pm-toggle-proposals", state="attached")
        assert mp.page.is_checked("#pm-toggle-proposals")
        mp.page.wait_for_function("() => document.querySelectorAll('.leaflet-map-pane .pm-l-proposals').length > 0")
        items = httpx.get(f"{base}/collections/proposals/items", headers=planner).json()["features"]
        assert any(f["properties"]["name"] == "CHXD thử nghiệm" for f in items)
        # signed in after a reload too (sessionStorage), then signing out hides the internal layers again
        mp.page.reload(wait_until="domcontentloaded")
        mp.page.wait_for_function("() => window.planmapReady === true", timeout=20_000)
        mp.page.wait_for_selector("#pm-toggle-proposals", state="attached")
        mp.page.click("#pm-tool-auth")
        mp.page.click("#pm-signout")
        mp.page.wait_for_selector("#pm-toggle-mineral_areas", state="detached")
        assert mp.page.query_selector("#pm-toggle-proposals") is None
        assert mp.js("() => sessionStorage.getItem('planmap.token')") is None
        # anonymous users get no save button
        _check_point(mp, "fuel_station", lon + 0.003, lat + 0.003)
        assert mp.page.query_selector("#pm-check-save") is None
    finally:
        httpx.put(f"{base}/collections/mineral_areas/settings", json={"internal": False}, headers=planner)

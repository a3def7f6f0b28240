"""Editing on the map in a real browser (issue 11): a planner edits a feature from its popup and decides a proposal;
a colleague's change made between opening the form and saving is shown as a conflict (412), never overwritten.

The colleague is a direct HTTP request to the same server.  Same rules as tests/test_web_map.py: every request to
another host is aborted and counted (none allowed) and the page may log no console error except the refused
requests the test provokes on purpose (the browser logs each 4xx itself).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from shapely.geometry import shape

from tests.conftest import REPO, ServedProcess, new_planner, served_with_store
from tests.test_web_map import MapPage, keep_screenshot, open_map

ADMIN_TOKEN = secrets.token_hex(16)
CONFLICT_SCREENSHOT = REPO / "docs" / "screenshots" / "edit-conflict.png"
LABELS = json.loads((REPO / "web" / "labels.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedProcess]:
    """`planmap serve` with the default dataset, a store of its own (the edits land there) and an admin token."""
    with served_with_store(tmp_path_factory.mktemp("edits-store"), ADMIN_TOKEN) as live:
        yield live


@pytest.fixture(scope="module")
def token(served) -> str:
    return new_planner(served.url, ADMIN_TOKEN, "lan")


@pytest.fixture(scope="module")
def colleague(served) -> httpx.Client:
    """Another planner, writing straight to the API."""
    made = httpx.post(f"{served.url}/users", json={"name": "minh", "role": "planner"},
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert made.status_code == 201, made.text
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {made.json()['token']}"}) as client:
        yield client


@pytest.fixture
def edit_page(browser, served) -> Iterator[MapPage]:
    with open_map(browser, served.url, viewport={"width": 1280, "height": 900}) as mp:
        yield mp
        # the conflicts and the refused value this test provokes: the browser logs each refused request
        mp.errors[:] = [e for e in mp.errors if not any(f"status of {s}" in e for s in (400, 412))]


def _sign_in(mp: MapPage, token: str) -> None:
    mp.page.click("#pm-tool-auth")
    mp.page.fill("#pm-token", token)
    mp.page.click("#pm-signin")
    mp.page.wait_for_function("() => document.documentElement.dataset.planmapRole === 'planner'")


def _click_at(mp: MapPage, lon: float, lat: float) -> None:
    """Centre the map on a place at zoom 16 and click there (opens the popup of the feature drawn on top).  The
    script returns nothing: Playwright would serialise the Leaflet map that setView returns, for seconds."""
    mp.js("([lat, lon]) => { window.planmapApp.map.setView([lat, lon], 16, {animate: false}); }", [lat, lon])
    mp.page.wait_for_timeout(250)
    x, y = mp.js("([lat, lon]) => { const m = window.planmapApp.map; const p = m.latLngToContainerPoint([lat, lon]);"
                 " const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }",
                 [lat, lon])
    mp.page.mouse.click(x, y)


def _still(mp: MapPage) -> None:
    """Wait until the map has stopped moving (a popup pans the map into view, animated)."""
    mp.page.wait_for_function("() => { const m = window.planmapApp.map;"
                              " return !(m._panAnim && m._panAnim._inProgress); }")
    mp.js("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def _popup(mp: MapPage, lon: float, lat: float, layer: str, fid: int):
    """The feature's popup, opened by a click on it (clicked again while clustered markers are still settling)."""
    selector = f".pm-popup[data-layer='{layer}'][data-fid='{fid}']"
    for attempt in range(3):
        mp.page.keyboard.press("Escape")
        _click_at(mp, lon, lat)
        try:
            popup = mp.page.wait_for_selector(selector, timeout=2000)
        except PlaywrightTimeout:
            if attempt == 2:
                raise
        else:
            _still(mp)
            return popup


def _open_form(mp: MapPage, lon: float, lat: float, layer: str, fid: int, action: str) -> None:
    """Open the feature's popup and press its action (edit or decide), once the map holds still."""
    _popup(mp, lon, lat, layer, fid)
    mp.page.click(f".pm-popup[data-layer='{layer}'][data-fid='{fid}'] #pm-popup-{action}")


def _status(mp: MapPage, state: str) -> str:
    return mp.page.wait_for_selector(f"#pm-edit-status[data-state='{state}']", timeout=15_000).inner_text()


def test_a_planner_edits_a_feature_and_a_colleagues_change_is_never_overwritten(edit_page, served, token, colleague):
    mp = edit_page
    base = served.url
    cluster = httpx.get(f"{base}/collections/industrial_clusters/items", params={"limit": 1}).json()["features"][0]
    fid = cluster["id"]
    point = shape(cluster["geometry"]).representative_point()
    url = f"/collections/industrial_clusters/items/{fid}"
    mp.open("/")
    # anonymous: the popup has no edit action, the edit tool no button
    _popup(mp, point.x, point.y, "industrial_clusters", fid)
    assert mp.page.query_selector("#pm-popup-edit") is None
    assert mp.page.is_hidden("#pm-tool-edit")
    # a planner: "Sửa" opens the form with the feature's properties, typed as the layer's queryables say
    _sign_in(mp, token)
    _open_form(mp, point.x, point.y, "industrial_clusters", fid, "edit")
    mp.page.wait_for_selector("#pm-edit-f-name")
    assert mp.page.input_value("#pm-edit-f-name") == cluster["properties"]["name"]
    assert mp.page.get_attribute("#pm-edit-f-area_ha", "type") == "number"
    assert mp.page.eval_on_selector_all("#pm-edit-f-accuracy option", "os => os.map(o => o.value)") == [
        "exact", "approximate", "schematic", "synthetic"]
    assert mp.page.input_value("#pm-edit-f-accuracy") == cluster["properties"]["accuracy"]
    assert mp.page.query_selector("#pm-edit-f-source") is not None
    status = cluster["properties"]["status"]  # a coded field: its codes suggested, the code's meaning shown
    assert mp.page.get_attribute("#pm-edit-f-status", "list") == "pm-edit-f-status-codes"
    assert mp.page.inner_text("label[data-field='status'] .pm-edit-meaning") == LABELS["values"]["status"][status]["vi"]
    assert mp.js("() => document.activeElement.id").startswith("pm-edit-f-")  # the keyboard lands in the form
    # edit and save: the server has the new value, the layer is drawn again with it
    mp.page.fill("#pm-edit-f-name", "CCN Đã Sửa")
    mp.page.fill("#pm-edit-f-area_ha", "61.5")
    mp.page.click("#pm-edit-save")
    assert "Đã lưu" in _status(mp, "done")
    now = colleague.get(url).json()["properties"]
    assert now["name"] == "CCN Đã Sửa" and now["area_ha"] == 61.5
    mp.page.wait_for_function("(fid) => window.planmapApp.layers.get('industrial_clusters').doc.features"
                              ".find(f => f.id === fid).properties.name === 'CCN Đã Sửa'", arg=fid)
    # a colleague changes the feature after the form was (re)loaded: saving is refused, the conflict shown
    assert mp.page.get_attribute("#pm-edit", "data-etag") is None  # the ETag is the panel body's
    etag = colleague.get(url).headers["ETag"]
    assert mp.js("() => document.querySelector('#pm-edit .pm-tool-body').dataset.etag") == etag
    theirs = colleague.get(url).json()
    theirs["properties"]["name"] = "Tên của đồng nghiệp"
    put = colleague.put(url, json=theirs, headers={"If-Match": etag, "Content-Type": "application/geo+json"})
    assert put.status_code == 200, put.text
    mp.page.fill("#pm-edit-f-name", "Tên của tôi")
    mp.page.press("#pm-edit-f-name", "Enter")  # Enter saves too
    box = mp.page.wait_for_selector("#pm-edit-conflict[data-state='conflict']", timeout=15_000)
    text = box.inner_text()
    assert "Một đồng nghiệp vừa sửa đối tượng này" in text and "Chưa có gì bị ghi đè" in text
    assert "Đối tượng đã được người khác sửa" in text  # the server's own detail_vi
    row = mp.page.inner_text("#pm-edit-conflict-table tr[data-field='name']")
    assert "Tên của đồng nghiệp" in row and "Tên của tôi" in row
    assert colleague.get(url).json()["properties"]["name"] == "Tên của đồng nghiệp"  # nothing overwritten
    mp.page.wait_for_timeout(150)
    keep_screenshot(CONFLICT_SCREENSHOT, mp.page.query_selector("#pm-edit").screenshot())
    # load the current version: the colleague's values in the form, the planner's still in view; reuse and save
    mp.page.click("#pm-edit-reload")
    mp.page.wait_for_selector("#pm-edit-conflict[data-state='loaded']")
    assert mp.page.input_value("#pm-edit-f-name") == "Tên của đồng nghiệp"
    assert "Tên của tôi" in mp.page.inner_text("label[data-field='name'] .pm-edit-mine")
    assert mp.js("() => document.querySelector('#pm-edit .pm-tool-body').dataset.etag") == put.headers["ETag"]
    mp.page.click("#pm-edit-reuse-name")
    assert mp.page.input_value("#pm-edit-f-name") == "Tên của tôi"
    mp.page.click("#pm-edit-save")
    assert "Đã lưu" in _status(mp, "done")
    assert colleague.get(url).json()["properties"]["name"] == "Tên của tôi"
    assert mp.page.is_hidden("#pm-edit-conflict")
    # another refusal, shown from the problem body: a value the layer does not allow
    mp.js("() => document.querySelector('#pm-edit-f-accuracy').append(new Option('bogus', 'bogus'))")
    mp.page.select_option("#pm-edit-f-accuracy", "bogus")
    mp.page.click("#pm-edit-save")
    assert "accuracy phải là một trong" in _status(mp, "error")
    assert mp.page.get_attribute("#pm-edit-status", "data-http") == "400"
    # delete: asked first; a colleague's change in between is a conflict too; then deleted for real
    etag = colleague.get(url).headers["ETag"]
    theirs = colleague.get(url).json()
    theirs["properties"]["note"] = "đồng nghiệp ghi chú"
    assert colleague.put(url, json=theirs, headers={"If-Match": etag}).status_code == 200
    mp.page.click("#pm-edit-delete")
    assert mp.js("() => document.activeElement.id") == "pm-edit-delete-no"
    assert "Xóa hẳn đối tượng" in mp.page.inner_text("#pm-edit-confirm")
    mp.page.click("#pm-edit-delete-yes")
    mp.page.wait_for_selector("#pm-edit-conflict[data-state='conflict'][data-kind='delete']")
    assert "đồng nghiệp ghi chú" in mp.page.inner_text("#pm-edit-conflict-table tr[data-field='note']")
    assert colleague.get(url).status_code == 200
    mp.page.click("#pm-edit-reload")
    mp.page.wait_for_selector("#pm-edit-conflict[data-state='loaded']")
    mp.page.click("#pm-edit-delete")
    mp.page.click("#pm-edit-delete-yes")
    assert "Đã xóa đối tượng" in _status(mp, "done")
    assert colleague.get(url).status_code == 404
    mp.page.wait_for_function("(fid) => !window.planmapApp.layers.get('industrial_clusters').doc.features"
                              ".some(f => f.id === fid)", arg=fid)
    assert mp.page.query_selector("#pm-edit-save") is None
    # in English the form says the same
    mp.page.click("#pm-lang")
    assert mp.page.inner_text("#pm-edit .pm-tool-title") == "Edit a feature"
    assert "deleted" in mp.page.inner_text("#pm-edit-status")


def test_a_planner_decides_a_proposal_and_sees_a_colleagues_decision(edit_page, served, token, colleague):
    mp = edit_page
    lon, lat = 105.85, 21.60
    saved = colleague.post("/proposals", json={"type": "Feature", "properties": {"kind": "fuel_station",
                           "name": "CHXD xét duyệt"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    assert saved.status_code == 201, saved.text
    pid = saved.json()["id"]
    url = f"/collections/proposals/items/{pid}"
    mp.open("/")
    _sign_in(mp, token)
    mp.page.wait_for_selector("#pm-toggle-proposals", state="attached")
    mp.page.check("#pm-toggle-proposals")
    mp.page.wait_for_function("() => window.planmapApp.layers.get('proposals').state === 'ready'")
    assert _popup(mp, lon, lat, "proposals", pid).query_selector("#pm-popup-edit") is None  # decided, not edited
    mp.page.click(f".pm-popup[data-fid='{pid}'] #pm-popup-decide")
    mp.page.wait_for_selector("#pm-decide-approved")
    assert mp.page.inner_text("#pm-edit .pm-tool-title") == "Xét duyệt đề xuất"
    assert mp.page.is_disabled("#pm-decide-submitted")  # the status it has now
    assert "CHXD xét duyệt" in mp.page.inner_text("#pm-edit")
    # a colleague rejects it meanwhile: approving is refused and the colleague's decision shown
    assert colleague.post(f"/proposals/{pid}/status", json={"status": "rejected"}).status_code == 200
    mp.page.click("#pm-decide-approved")
    box = mp.page.wait_for_selector("#pm-edit-conflict[data-state='conflict'][data-kind='status']", timeout=15_000)
    assert "Một đồng nghiệp đã đổi trạng thái thành: Không chấp thuận" in box.inner_text()
    row = mp.page.inner_text("#pm-edit-conflict-table tr[data-field='status']")
    assert "Không chấp thuận" in row and "Đã chấp thuận" in row
    assert colleague.get(url).json()["properties"]["status"] == "rejected"
    # load the current status, then decide again
    mp.page.click("#pm-edit-reload")
    mp.page.wait_for_selector("#pm-edit-conflict[data-state='loaded']")
    assert mp.page.is_disabled("#pm-decide-rejected") and not mp.page.is_disabled("#pm-decide-approved")
    mp.page.click("#pm-decide-approved")
    assert "Đã chuyển trạng thái: Đã chấp thuận" in _status(mp, "done")
    assert colleague.get(url).json()["properties"]["status"] == "approved"
    assert mp.page.is_disabled("#pm-decide-approved")
    # signing out closes the form (and the internal proposals layer is gone)
    mp.page.click("#pm-tool-auth")
    mp.page.click("#pm-signout")
    mp.page.wait_for_selector("#pm-tool-edit", state="hidden")
    assert mp.page.is_hidden("#pm-edit")


def test_a_point_is_moved_by_dragging_its_marker(edit_page, served, token, colleague):
    mp = edit_page
    station = httpx.get(f"{served.url}/collections/fuel_stations/items", params={"limit": 1}).json()["features"][0]
    fid = station["id"]
    lon, lat = station["geometry"]["coordinates"]
    mp.open("/")
    _sign_in(mp, token)
    mp.page.check("#pm-toggle-fuel_stations")
    mp.page.wait_for_function("() => window.planmapApp.layers.get('fuel_stations').state === 'ready'")
    _open_form(mp, lon, lat, "fuel_stations", fid, "edit")
    mp.page.wait_for_selector(".leaflet-popup", state="detached")  # a closed popup fades out over the marker
    box = mp.page.wait_for_selector(".pm-edit-marker").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    mp.page.mouse.move(x, y)
    mp.page.mouse.down()
    for step in range(1, 6):
        mp.page.mouse.move(x + 12 * step, y)
    mp.page.mouse.up()
    mp.page.wait_for_function("() => document.querySelector('#pm-edit-position').textContent.includes('đã di chuyển')")
    mp.page.click("#pm-edit-save")
    assert "Đã lưu" in _status(mp, "done")
    moved = colleague.get(f"/collections/fuel_stations/items/{fid}").json()["geometry"]["coordinates"]
    assert moved[0] > lon + 1e-5 and abs(moved[1] - lat) < 1e-5  # east by ~60 px at zoom 16, same latitude

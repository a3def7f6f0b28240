"""The map's site suggestions tool in a real browser (headless Chromium, offline: every non-loopback request is
aborted and counted, none allowed, and the page may log no console error), against `planmap serve` on the
default data."""

from __future__ import annotations

from collections.abc import Iterator

import pyogrio
import pytest

from tests.conftest import DATA, REPO, ServedProcess
from tests.test_web_map import MapPage, keep_screenshot, open_map


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedProcess]:
    with ServedProcess("--data", str(DATA), env={"PLANMAP_STORE": str(tmp_path_factory.mktemp("suggest-store"))}) \
            as live:
        yield live


@pytest.fixture
def page(browser, served) -> Iterator[MapPage]:
    with open_map(browser, served.url, viewport={"width": 1280, "height": 900}, accept_downloads=True) as mp:
        yield mp


def _ask(mp: MapPage, area: str, place: str | None, k: int) -> None:
    mp.page.click("#pm-tool-suggest")
    mp.page.wait_for_selector("#pm-suggest-kind option[value='fuel_station']", state="attached")
    mp.page.select_option("#pm-suggest-kind", "fuel_station")
    mp.page.select_option("#pm-suggest-area", area)
    if place is not None:
        mp.page.fill("#pm-suggest-place", place)
    mp.page.fill("#pm-suggest-k", str(k))
    mp.page.fill("#pm-suggest-pref-far_from_stations", "2")
    mp.page.click("#pm-suggest-run")


def test_suggestions_in_a_commune_with_surface_reports_and_export(page, tmp_path):
    mp = page
    mp.open("/")
    _ask(mp, "commune", "Phổ Yên", 3)
    # only the fields a commune search for a fuel station uses are shown
    assert mp.page.is_visible("#pm-suggest-place")
    assert not mp.page.is_visible("#pm-suggest-corridor") and not mp.page.is_visible("#pm-suggest-draw")
    assert not mp.page.is_visible("#pm-suggest-area-ha")
    mp.page.wait_for_selector("#pm-suggest-list li[data-rank='3']", timeout=60_000)
    items = mp.page.query_selector_all("#pm-suggest-list li[data-rank]")
    assert [i.get_attribute("data-rank") for i in items] == ["1", "2", "3"]
    assert "Phổ Yên" in mp.page.inner_text("#pm-suggest-summary")
    assert "điểm" in items[0].inner_text() and "Xa cửa hàng hiện có" in items[0].inner_text()
    # the rule the data cannot assess, and the indicative note, as the server words them
    unassessed = mp.page.inner_text("#pm-suggest-unassessed")
    assert "fuel_station.fire_sources" in unassessed and "kiểm tra" in unassessed
    assert "tham khảo" in mp.page.inner_text("#pm-suggest-note")
    # the surface overlay with its legend, and the numbered sites on the map
    assert mp.page.query_selector("img.pm-suggest-surface") is not None
    assert len(mp.page.query_selector_all("#pm-suggest-legend li")) == 6
    ranks = mp.js("() => Array.from(document.querySelectorAll('.pm-suggest-rank')).map(t => t.textContent)")
    assert sorted(ranks) == ["1", "2", "3"]
    keep_screenshot(REPO / "docs" / "screenshots" / "suggest-panel.png", mp.page.screenshot())
    # a candidate's report opens in the check tool's report view
    mp.page.click("#pm-suggest-report-1")
    mp.page.wait_for_selector("#pm-check-verdict")
    assert mp.page.is_visible("#pm-check")
    fire = mp.page.wait_for_selector("li.pm-rule[data-rule='fuel_station.fire_sources']")
    assert fire.get_attribute("data-status") == "unknown"
    spacing = mp.page.query_selector("li.pm-rule[data-rule='fuel_station.station_spacing']")
    assert spacing.get_attribute("data-status") == "pass"
    assert mp.page.get_attribute("#pm-check-verdict", "data-verdict") != "fail"
    # the candidates export like any layer
    mp.page.click("#pm-tool-suggest")
    mp.page.select_option("#pm-suggest-format", "gpkg")
    with mp.page.expect_download(timeout=60_000) as dl:
        mp.page.click("#pm-suggest-export")
    out = tmp_path / dl.value.suggested_filename
    dl.value.save_as(out)
    frame = pyogrio.read_dataframe(out)
    assert list(frame["rank"]) == [1, 2, 3] and set(frame["accuracy"]) <= {"exact", "approximate", "schematic",
                                                                             "synthetic"}
    # and everything comes off the map again
    mp.page.click("#pm-suggest-clear")
    assert mp.page.query_selector("img.pm-suggest-surface") is None
    # (Leaflet fades a tooltip out before removing it)
    mp.page.wait_for_function("() => document.querySelectorAll('.pm-suggest-rank').length === 0")


def test_a_drawn_search_area_and_a_missing_place(page):
    mp = page
    mp.open("/")
    _ask(mp, "commune", "", 2)  # no commune named: said in the panel, nothing sent
    mp.page.wait_for_function("() => document.querySelector('#pm-suggest-status')?.dataset.state === 'error'")
    assert "Hãy nhập tên" in mp.page.inner_text("#pm-suggest-status")
    # draw a search area east of Thái Nguyên city
    mp.page.select_option("#pm-suggest-area", "polygon")
    mp.js("() => window.planmapApp.map.setView([21.59, 105.84], 13, {animate: false})")
    mp.page.wait_for_timeout(250)
    mp.page.click("#pm-suggest-draw")
    rect = mp.page.query_selector(".folium-map").bounding_box()
    cx, cy = rect["x"] + rect["width"] / 2 + 150, rect["y"] + rect["height"] / 2
    corners = [(cx - 150, cy - 150), (cx + 150, cy - 150), (cx + 150, cy + 150), (cx - 150, cy + 150),
               (cx - 150, cy - 150)]
    for x, y in corners:
        mp.page.mouse.move(x, y)
        mp.page.mouse.click(x, y)
        mp.page.wait_for_timeout(120)
    mp.page.wait_for_function("() => document.querySelector('#pm-suggest-status')?.dataset.state === 'done'")
    mp.page.click("#pm-suggest-run")
    mp.page.wait_for_selector("#pm-suggest-list li[data-rank='1']", timeout=60_000)
    assert mp.page.inner_text("#pm-suggest-summary").startswith("Cửa hàng xăng dầu")
    # the check tool did not take the drawn area for a site to check
    assert mp.js("() => window.planmapApp.tools.site") is None

"""The network coverage tool of the map in a real browser (offline: every request to another host is aborted and
counted, none allowed; no console error), against what GET /analysis/coverage answers for the same question."""

from __future__ import annotations

import zipfile

import httpx

from tests import pdf
from tests.conftest import REPO
from tests.test_web_map import keep_screenshot, open_map

SCREENSHOT = REPO / "docs" / "screenshots" / "coverage-panel.png"


def _vi(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def test_the_coverage_tool_draws_the_overlay_legend_and_table(browser, server):
    expected = httpx.get(f"{server.url}/analysis/coverage", timeout=60,
                         params={"network": "fuel", "distance_m": 5000, "overlay": "false"}).json()
    with open_map(browser, server.url, viewport={"width": 1280, "height": 900}) as mp:
        mp.open("/")
        page = mp.page
        page.click("#pm-tool-coverage")
        page.fill("#pm-coverage-distance", "0.1")
        page.click("#pm-coverage-run")
        assert page.get_attribute("#pm-coverage-status", "data-state") == "error"
        assert "0,5" in page.inner_text("#pm-coverage-status")

        page.select_option("#pm-coverage-network", "fuel")
        page.fill("#pm-coverage-distance", "5")
        page.click("#pm-coverage-run")
        page.wait_for_selector("#pm-coverage-table tbody tr", timeout=30_000)

        assert "đường chim bay" in page.inner_text("#pm-coverage-kind")
        overlay = page.query_selector("img.pm-coverage-overlay")
        assert overlay.get_attribute("src").startswith("data:image/png;base64,")
        assert overlay.get_attribute("data-state") == "before"
        classes = page.query_selector_all("#pm-coverage-legend li")
        assert len(classes) == len(expected["legend"]) == 5
        held = page.query_selector_all("#pm-coverage-legend li[data-holds='true']")
        assert len(held) == 1 and "3–5 km" in held[0].inner_text() and "D = 5 km" in held[0].inner_text()
        # the communes mostly beyond D are outlined on the map
        outlined = [c for c in expected["communes"] if (c["before"]["share_beyond"] or 0) > 0.5]
        drawn = mp.js("() => document.querySelectorAll('.leaflet-pm-coverage-pane path').length")
        assert drawn == len(outlined) > 0

        listed = [c for c in expected["communes"] if c["before"]["share_beyond"] or c["after"]["share_beyond"]]
        rows = page.query_selector_all("#pm-coverage-table tbody tr")
        assert len(rows) == len(listed)
        most = max(listed, key=lambda c: c["before"]["population_beyond"] or -1)
        first = [td.inner_text() for td in rows[0].query_selector_all("td")]
        assert first[0] == most["name"] and first[2] == _vi(most["before"]["population_beyond"])
        unknown = next(c for c in listed if c["population"] is None)
        row = page.query_selector(f"#pm-coverage-table tr[data-code='{unknown['code']}']")
        assert "chưa rõ" in row.inner_text()  # an unknown population is said, never shown as 0

        before = page.inner_text("#pm-coverage-summary")
        assert before.startswith(f"{expected['stations']['before']['count']} cửa hàng")
        assert _vi(expected["summary"]["before"]["population_beyond"]) in before
        assert "tham khảo" in page.inner_text("#pm-coverage-note")

        src_before = overlay.get_attribute("src")
        page.click("#pm-coverage-after")
        page.wait_for_selector("img.pm-coverage-overlay[data-state='after']")
        assert page.get_attribute("img.pm-coverage-overlay", "src") != src_before
        after = page.inner_text("#pm-coverage-summary")
        assert after.startswith(f"{expected['stations']['after']['count']} cửa hàng")
        assert _vi(expected["summary"]["after"]["population_beyond"]) in after
        keep_screenshot(SCREENSHOT, page.screenshot())

        page.click("#pm-coverage-clear")
        assert page.query_selector("img.pm-coverage-overlay") is None


def test_the_export_tool_adds_the_coverage_table_shown(browser, server, tmp_path):
    with open_map(browser, server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True) as mp:
        mp.open("/")
        page = mp.page
        page.click("#pm-tool-export")
        assert not page.is_visible("#pm-export-coverage")  # nothing to add before a coverage is shown
        page.click("#pm-tool-coverage")
        page.select_option("#pm-coverage-network", "lpg")
        page.fill("#pm-coverage-distance", "2")
        page.click("#pm-coverage-run")
        page.wait_for_selector("#pm-coverage-table tbody tr", timeout=30_000)
        page.click("#pm-tool-export")
        page.check("#pm-export-coverage")
        page.select_option("#pm-export-size", "A4")
        page.select_option("#pm-export-mapformat", "pdf")
        with page.expect_download(timeout=60_000) as dl:
            page.click("#pm-export-map")
        out = tmp_path / dl.value.suggested_filename
        dl.value.save_as(out)
        text = pdf.text(out.read_bytes())
        assert "ĐỘ PHỦ MẠNG LƯỚI: Cửa hàng kinh doanh LPG, D = 2 km" in text and "đường chim bay" in text
        with page.expect_download(timeout=60_000) as dl:
            page.click("#pm-export-data")
        archive = tmp_path / dl.value.suggested_filename
        dl.value.save_as(archive)
        assert "coverage_lpg.csv" in zipfile.ZipFile(archive).namelist()

"""The supervision page ("Thống kê / Giám sát quy hoạch") in a real browser, offline (every request to another host
is aborted and counted, none allowed; no console error), against a real `planmap serve` with a store in which a
planner has just made a planned industrial cluster an existing one: the page must show what GET /indicators and
GET /indicators/chart answer for the same question, never figures of its own."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from shapely.geometry import shape

from tests.conftest import DATA, REPO, ServedProcess, new_planner
from tests.test_web_map import MapPage, keep_screenshot, open_map

SCREENSHOT = REPO / "docs" / "screenshots" / "supervision.png"
ADMIN = "supervision-admin-token-0123456789"
LABELS = json.loads((REPO / "web" / "labels.json").read_text(encoding="utf-8"))["ui"]
SVG = "{http://www.w3.org/2000/svg}"
EDITED = "clusters.operating.count"  # the indicator the planner's edit changes (+1 since a year ago)
DARKEST = "#08519c"  # the choropleth's top class (web/static/planmap-supervision.js RAMP)
UNSOURCED = "test.fuel.planned.count"
# The shipped indicators have no target without a source; the service of these tests adds one (a planner's own
# figure), which the page must call "chưa có nguồn".
UNSOURCED_ENTRY = f"""
  - id: {UNSOURCED}
    plan: fuel_network
    title: {{vi: "Cửa hàng xăng dầu quy hoạch mới (thử)", en: "Planned fuel stations (test)"}}
    definition: {{vi: "Số cửa hàng quy hoạch mới", en: "Planned stations"}}
    unit: {{vi: "cửa hàng", en: "stations"}}
    measure: {{layer: fuel_stations, aggregate: count, filter: {{status: [planned]}}}}
    target: 80
    target_year: 2030
    target_confidence: not_sourced
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[str]:
    """`planmap serve` with a store where one planned cluster was made `existing` today (a revision), and the
    shipped indicators plus one whose target has no source."""
    folder = tmp_path_factory.mktemp("supervision-store")
    book = folder / "indicators.yaml"
    book.write_text((REPO / "data" / "indicators.yaml").read_text(encoding="utf-8") + UNSOURCED_ENTRY,
                    encoding="utf-8")
    with ServedProcess("--data", str(DATA), "--indicators", str(book),
                       env={"PLANMAP_STORE": str(folder / "store"), "PLANMAP_ADMIN_TOKEN": ADMIN}) as served:
        token = new_planner(served.url, ADMIN, "hoa")
        items = f"{served.url}/collections/industrial_clusters/items"
        planned = httpx.get(items, params={"status": "planned", "limit": 1}).json()["features"][0]
        planned["properties"]["status"] = "existing"
        edited = httpx.put(f"{items}/{planned['id']}", headers={"Authorization": f"Bearer {token}"},
                           json={"type": "Feature", "properties": planned["properties"],
                                 "geometry": planned["geometry"]})
        assert edited.status_code == 200, edited.text
        yield served.url


@contextmanager
def open_supervision(browser, url: str, **options) -> Iterator[MapPage]:
    """The supervision page, loaded (tables, choropleth and charts drawn); no outside request, no console error."""
    with open_map(browser, url, **{"viewport": {"width": 1400, "height": 1000}, **options}) as mp:
        mp.page.goto(url + "/supervision", wait_until="domcontentloaded")
        ready(mp)
        yield mp


def ready(mp: MapPage) -> None:
    mp.page.wait_for_function("() => window.supervisionReady === true", timeout=30_000)


def indicators(url: str, page) -> dict:
    """GET /indicators for what the page shows (its date, comparison date and units)."""
    params = {"date": page.input_value("#sup-date"), "since": page.input_value("#sup-since"),
              "by": page.input_value("#sup-by")}
    resp = httpx.get(f"{url}/indicators", params=params, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _vi_whole(value: float) -> str:
    return f"{int(value):,}".replace(",", ".")


def test_the_tables_show_the_apis_figures_with_progress_honesty_and_sources(browser, service):
    with open_supervision(browser, service) as mp:
        page = mp.page
        day = dt.date.fromisoformat(page.input_value("#sup-date"))
        assert page.input_value("#sup-since") == day.replace(year=day.year - 1).isoformat()  # one year earlier
        doc = indicators(service, page)
        shown = mp.js("""() => Object.fromEntries([...document.querySelectorAll('tr.sup-row')].map((tr) => {
            const bar = tr.querySelector('.sup-progress-bar');
            return [tr.dataset.id, {
              plan: tr.closest('.sup-plan').dataset.plan,
              value: tr.querySelector('.sup-value').dataset.value,
              figure: tr.querySelector('.sup-figure').textContent,
              target: tr.querySelector('.sup-target').dataset.value,
              bar: bar ? bar.getBoundingClientRect().width / bar.parentElement.clientWidth : null,
              change: tr.querySelector('.sup-change').dataset.value,
              honesty: tr.querySelector('.sup-honesty') ? tr.querySelector('.sup-honesty').title : null,
              basis: tr.querySelector('.sup-basis').dataset.document,
              basisTip: tr.querySelector('.sup-basis').title,
              confidence: tr.querySelector('.sup-confidence').textContent}];
          }))""")
        assert sorted(shown) == sorted(i["id"] for i in doc["indicators"])
        for ind in doc["indicators"]:
            row = shown[ind["id"]]
            assert row["plan"] == ind["plan"]
            assert row["value"] == ("" if ind["value"] is None else str(ind["value"]).removesuffix(".0")) or \
                float(row["value"]) == ind["value"], (ind["id"], row)
            if ind["value"] is not None and ind["value"] == int(ind["value"]):
                assert row["figure"] == f"{_vi_whole(ind['value'])} {ind['unit']['vi']}"
            if ind["progress"] is None:
                assert row["bar"] is None
            else:  # the bar's width is value / target (full at or beyond the target)
                assert row["bar"] == pytest.approx(min(1.0, ind["progress"]), abs=0.01), ind["id"]
            if ind["change"] is None:
                assert row["change"] == ""
            else:
                assert float(row["change"]) == ind["change"]
            if ind["indicative"] or ind["honesty_note"]:  # said next to the figure, with the API's own note
                assert row["honesty"] == (ind["honesty_note"] or {}).get("vi", row["honesty"]), ind["id"]
            else:
                assert row["honesty"] is None, ind["id"]
            basis = ind["target_basis"]
            assert row["basis"] == (basis["document"] if basis and basis.get("document") else "")
            if basis and basis.get("note"):
                assert basis["note"] in row["basisTip"]
            conf = ind["target_confidence"]
            if conf == "not_sourced":
                assert row["confidence"] == "chưa có nguồn"
            elif conf is None:
                assert row["confidence"] == "—"
        by_id = {i["id"]: i for i in doc["indicators"]}
        assert by_id[EDITED]["change"] >= 1  # the planner's edit of today
        assert any(i["indicative"] for i in doc["indicators"])  # synthetic stations: the mark must show
        assert any(i["progress"] is not None for i in doc["indicators"])
        assert by_id[UNSOURCED]["target_confidence"] == "not_sourced"
        assert shown[UNSOURCED]["confidence"] == "chưa có nguồn" and shown[UNSOURCED]["basis"] == ""
        # the trace of the figures: the layers' revisions on the day
        revised = page.inner_text("#sup-revisions li[data-layer='industrial_clusters']")
        assert str(doc["inputs"]["revisions_on_date"]["industrial_clusters"]) in revised

        # another day: the state of the end of 2023 (before the edit), compared with a year earlier
        page.fill("#sup-date", "2023-12-31")
        page.dispatch_event("#sup-date", "change")
        ready(mp)
        assert page.input_value("#sup-since") == "2022-12-31"
        old = indicators(service, page)
        value = page.get_attribute(f"tr.sup-row[data-id='{EDITED}'] .sup-value", "data-value")
        assert float(value) == {i["id"]: i for i in old["indicators"]}[EDITED]["value"] == \
            by_id[EDITED]["value"] - by_id[EDITED]["change"]


def test_charts_and_the_choropleth_of_the_chosen_indicator_and_zoom_to_a_unit(browser, service):
    with open_supervision(browser, service) as mp:
        page = mp.page
        page.select_option("#sup-indicator", EDITED)
        ready(mp)
        doc = indicators(service, page)
        ind = next(i for i in doc["indicators"] if i["id"] == EDITED)
        units = doc["units"]
        assert units["layer"] == "communes" and len(ind["by_unit"]) == units["count"] > 50
        assert page.get_attribute(f"tr.sup-row[data-id='{EDITED}']", "class").endswith("sup-chosen")

        # the chart per unit: one bar per unit, with the API's values
        bars = mp.js("""() => [...document.querySelectorAll('#sup-chart-units svg .pm-bar')]
            .map((g) => [g.dataset.code, g.dataset.value])""")
        assert len(bars) == units["count"]
        expected = {u["code"]: u["value"] for u in ind["by_unit"]}
        assert {code: (float(v) if v else None) for code, v in bars} == expected
        # the chart over time: one point per year end from 2021, then the day; the last is the indicator today
        day = dt.date.fromisoformat(doc["date"])
        points = mp.js("""() => [...document.querySelectorAll('#sup-chart-series svg .pm-point')]
            .map((g) => [g.dataset.day, Number(g.dataset.value)])""")
        assert [p[0] for p in points] == [f"{y}-12-31" for y in range(2021, day.year)] + [doc["date"]]
        assert points[-1][1] == ind["value"]
        year_before = httpx.get(f"{service}/indicators", params={"date": points[-2][0]}).json()
        assert points[-2][1] == next(i["value"] for i in year_before["indicators"] if i["id"] == EDITED)
        assert page.query_selector("#sup-chart-series svg .pm-target") is not None  # the target line
        assert ind["indicative"]  # clusters of synthetic accuracy: the charts say so under them
        assert page.text_content("#sup-chart-units svg .pm-chart-note") == f"⚠ {ind['honesty_note']['vi']}"

        # the choropleth: one outlined polygon per unit, the largest value in the darkest class, a legend
        paths = mp.js("""() => [...document.querySelectorAll('#sup-map path.sup-unit')]
            .map((p) => [p.dataset.code, p.getAttribute('fill')])""")
        assert len(paths) == units["count"]
        top = max(ind["by_unit"], key=lambda u: u["value"] or 0)
        assert dict(paths)[top["code"]] == DARKEST
        legend = page.inner_text("#sup-legend")
        assert ind["title"]["vi"] in legend and ind["unit"]["vi"] in legend and "null" not in legend
        assert len(page.query_selector_all("#sup-legend li.sup-legend-class")) >= 2
        if ind["indicative"]:
            assert ind["honesty_note"]["vi"] in page.inner_text("#sup-legend .sup-legend-note")
        keep_screenshot(SCREENSHOT, page.screenshot(full_page=False))

        # clicking a unit's bar zooms the map to that unit
        outlines = httpx.get(f"{service}/collections/communes/items",
                             params={"limit": 1000, "datetime": units["day"]}).json()["features"]
        shapes = {str(f["properties"]["code"]): shape(f["geometry"]) for f in outlines}
        before = bounds(mp)
        page.click(f"#sup-chart-units .pm-bar[data-code='{top['code']}']")
        page.wait_for_function("(code) => document.documentElement.dataset.supUnit === code", arg=top["code"])
        after = bounds(mp)
        assert contains(after, shapes[top["code"]].bounds)
        assert (after[2] - after[0]) < (before[2] - before[0])  # zoomed in

        # hovering a unit on the map tells its value; clicking it zooms there
        other = max((u for u in ind["by_unit"] if u["code"] != top["code"]), key=lambda u: shapes[u["code"]].area)
        page.click(f"#sup-chart-units .pm-bar[data-code='{top['code']}']")  # any view with `other` in it
        mp.js("""() => { document.getElementById('sup-map').scrollIntoView();
            window.supervision.map.fitBounds(window.supervision.units.getBounds(), {animate: false}); }""")
        point = shapes[other["code"]].representative_point()
        x, y = mp.js("""([lat, lon]) => {
            const p = window.supervision.map.latLngToContainerPoint([lat, lon]);
            const box = document.getElementById('sup-map').getBoundingClientRect();
            return [box.left + p.x, box.top + p.y]; }""", [point.y, point.x])
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y, steps=3)
        tip = page.wait_for_selector(".sup-tooltip")
        assert tip.inner_text().startswith(other["name"] + ":")
        page.mouse.click(x, y)
        page.wait_for_function("(code) => document.documentElement.dataset.supUnit === code", arg=other["code"])
        assert contains(bounds(mp), shapes[other["code"]].bounds)

        # the pre-2025 districts: the same indicator per district, one polygon each
        page.select_option("#sup-by", "district")
        ready(mp)
        districts = indicators(service, page)["units"]
        assert districts["layer"] == "districts"
        assert len(page.query_selector_all("#sup-map path.sup-unit")) == districts["count"]
        assert len(page.query_selector_all("#sup-chart-units svg .pm-bar")) == districts["count"]

        # clicking another indicator's row puts it on the map and in the charts
        another = next(i for i in doc["indicators"] if i["by_unit"] and i["plan"] != ind["plan"])
        page.click(f"tr.sup-row[data-id='{another['id']}'] .sup-name")
        ready(mp)
        assert page.input_value("#sup-indicator") == another["id"]
        assert another["title"]["vi"] in page.inner_text("#sup-legend")
        assert another["title"]["vi"] in page.text_content("#sup-chart-units svg > title")


def bounds(mp: MapPage) -> tuple[float, float, float, float]:
    """The map's view: west, south, east, north."""
    return tuple(mp.js("() => { const b = window.supervision.map.getBounds(); "
                       "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"))


def contains(outer, inner, slack: float = 1e-6) -> bool:
    return (outer[0] <= inner[0] + slack and outer[1] <= inner[1] + slack and outer[2] >= inner[2] - slack
            and outer[3] >= inner[3] - slack)


def test_english_on_the_switch_and_the_links_between_map_and_page(browser, service):
    with open_map(browser, service) as mp:
        mp.open("/")
        page = mp.page
        link = page.query_selector("#pm-supervision-link")
        assert link.inner_text() == LABELS["vi"]["toolSupervision"]
        link.click()
        page.wait_for_url("**/supervision")
        ready(mp)
        assert page.inner_text("#sup-title") == LABELS["vi"]["supTitle"]
        doc = indicators(service, page)
        page.click("#sup-lang")
        assert page.inner_text("#sup-title") == LABELS["en"]["supTitle"]
        assert mp.js("() => document.documentElement.lang") == "en"
        ready(mp)
        headers = [h.inner_text() for h in page.query_selector_all(".sup-plan:first-child th, .sup-plan th")][:2]
        assert headers == ["Indicator", "Value"]
        titles = [h.inner_text() for h in page.query_selector_all(".sup-plan h2")]
        planned = {i["plan"] for i in doc["indicators"]}
        assert titles == [p["title"]["en"] for p in doc["plans"] if p["id"] in planned]
        marked = next(i for i in doc["indicators"] if i["indicative"] and i["honesty_note"])
        assert page.get_attribute(f"tr.sup-row[data-id='{marked['id']}'] .sup-honesty", "title") == \
            marked["honesty_note"]["en"]
        for conf in ("not_sourced", "verified", "secondary", "unverified"):
            row = next((i for i in doc["indicators"] if i["target_confidence"] == conf), None)
            if row is not None:
                assert page.inner_text(f"tr.sup-row[data-id='{row['id']}'] .sup-confidence") == \
                    LABELS["en"][{"not_sourced": "supConfNotSourced", "verified": "supConfVerified",
                                  "secondary": "supConfSecondary", "unverified": "supConfUnverified"}[conf]]
        assert "at each year end" in page.text_content("#sup-chart-series svg")
        page.click("#sup-map-link")
        page.wait_for_function("() => window.planmapReady === true", timeout=20_000)
        assert page.inner_text("#pm-supervision-link") == LABELS["en"]["toolSupervision"]  # the language is kept


def test_the_chart_route_answers_svg_json_and_clear_refusals(service):
    url = f"{service}/indicators/chart"
    day = "2025-12-31"
    svg = httpx.get(url, params={"indicator": EDITED, "kind": "units", "by": "district", "date": day})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    doc = httpx.get(f"{service}/indicators", params={"date": day, "by": "district"}).json()
    ind = next(i for i in doc["indicators"] if i["id"] == EDITED)
    assert len(root.findall(f".//{SVG}g[@class='pm-bar']")) == len(ind["by_unit"]) == doc["units"]["count"]
    figures = httpx.get(url, params={"indicator": EDITED, "kind": "series", "date": day, "f": "json"}).json()
    assert [p["day"] for p in figures["points"]] == ["2021-12-31", "2022-12-31", "2023-12-31", "2024-12-31", day]
    assert figures["points"][-1]["value"] == ind["value"]
    series = ET.fromstring(httpx.get(url, params={"indicator": EDITED, "kind": "series", "date": day}).content)
    assert [g.get("data-day") for g in series.findall(f".//{SVG}g[@class='pm-point']")] == \
        [p["day"] for p in figures["points"] if p["value"] is not None]

    unknown = httpx.get(url, params={"indicator": "no.such.indicator"})
    assert unknown.status_code == 404 and "no.such.indicator" in unknown.json()["detail"]
    far = httpx.get(url, params={"indicator": EDITED, "kind": "series", "date": "2099-12-31"})
    assert far.status_code == 413 and "15" in far.json()["detail"]
    assert httpx.get(url, params={"indicator": EDITED, "kind": "pie"}).status_code in (400, 422)
    assert httpx.get(url, params={"indicator": EDITED, "date": "31/12/2025"}).status_code in (400, 422)


def test_the_page_names_no_other_host(service):
    page = httpx.get(f"{service}/supervision")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    landing = httpx.get(f"{service}/?f=json").json()
    assert any(link["href"].endswith("/supervision") for link in landing["links"])


def test_the_svg_charts_escape_names_and_draw_one_bar_per_unit():
    from web.charts import Bar, Point, bar_chart, line_chart

    hostile = "<script>window.__pwned=1</script>&\"'"
    bars = [Bar("01", hostile, 4.0, 1.0), Bar("02", "Xã B", 2.0, -1.0), Bar("03", "Xã C", None)]
    root = ET.fromstring(bar_chart(bars, hostile, "cụm", note="Số liệu minh họa"))
    assert root.find(f".//{SVG}script") is None
    groups = root.findall(f".//{SVG}g[@class='pm-bar']")
    assert [g.get("data-code") for g in groups] == ["01", "02", "03"]  # largest first, unknown last
    assert groups[0].get("data-name") == hostile
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in groups]
    assert widths[0] == 2 * widths[1] > 0 and widths[2] == 0  # bars to scale; an unknown value has none
    assert "".join(root.find(f".//{SVG}text[@class='pm-chart-note']").itertext()) == "⚠ Số liệu minh họa"
    line = ET.fromstring(line_chart([Point("2021-12-31", "2021", 1.0), Point("2022-12-31", "2022", None),
                                     Point("2023-06-30", "30/6/2023", 3.5)], hostile, "ha", target=10.0))
    assert [g.get("data-day") for g in line.findall(f".//{SVG}g[@class='pm-point']")] == ["2021-12-31", "2023-06-30"]
    assert line.find(f".//{SVG}g[@class='pm-target']").get("data-value") == "10.0"

"""The yearly supervision report: its PDF and XLSX hold the figures GET /indicators computes (never numbers of
their own), say which are illustrative, show a change made during the year, and name every layer revision they rest
on; a year out of range is refused by the route and the command before any work.

The figures compared are computed in each test through `compute` or GET /indicators on the same data."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys

import httpx
import openpyxl
import pytest

from layers.features import replace_feature
from layers.history import province_today
from layers.indicators import compute, load_indicators
from layers.revisions import Store
from layers.workspace import Workspace
from layers.yearly import book_fingerprint, report_dates, yearly_report
from tests import pdf
from tests.conftest import REPO, new_planner, served_with_store
from web.yearly import plan_maps, yearly_pdf, yearly_xlsx
from web.yearly.texts import HONESTY_MARK, fmt_change, fmt_number, fmt_percent
from web.yearly.xlsx import (
    COURSE_SHEET,
    HEADER_ROW,
    SOURCES_SHEET,
    UNITS_SHEET,
    course_columns,
    plan_columns,
    sheet_name,
)

BOOK_PATH = REPO / "data" / "indicators.yaml"
CLUSTERS = "industrial_clusters"
ADMIN = "yearly-report-admin-token-0123456789"


def _planned_cluster(frame) -> tuple[int, dict, object]:
    """A planned cluster of the data, to be declared built (existing) during the year."""
    fid = int(frame.index[frame["status"] == "planned"][0])
    row = frame.loc[fid]
    props = {k: None if v != v else (v.item() if hasattr(v, "item") else v)  # NaN → None, numpy → Python
             for k, v in row.drop(frame.geometry.name).items()}
    return fid, props, row[frame.geometry.name]


@pytest.fixture(scope="module")
def book():
    return load_indicators(BOOK_PATH)


@pytest.fixture(scope="module")
def edited(dataset, tmp_path_factory):
    """The default data with a store where one planned cluster was declared existing today (this year)."""
    ws = Workspace(dataset, Store(tmp_path_factory.mktemp("yearly-store")))
    fid, props, geometry = _planned_cluster(ws.current_frame(CLUSTERS))
    replace_feature(ws, CLUSTERS, fid, props | {"status": "existing"}, geometry, "test")
    return ws, props


@pytest.fixture(scope="module")
def report(edited, book):
    ws, _ = edited
    return yearly_report(ws, book, province_today().year)


@pytest.fixture(scope="module")
def report_pdf(edited, report) -> bytes:
    ws, _ = edited
    from layers.history import dataset_on

    maps = plan_maps(dataset_on(ws, dt.date.fromisoformat(report["date"])).dataset)
    return yearly_pdf(report, maps, "vi")


def _api(ws, book, report: dict, by: str = "commune") -> dict:
    """GET /indicators' answer for the report's dates, computed here on the same data."""
    return compute(ws, book, dt.date.fromisoformat(report["date"]), by=by,
                   since=dt.date.fromisoformat(report["since"]))


def test_numbers_are_written_as_the_report_prints_them():
    assert fmt_number(1221.5) == "1 221,5" and fmt_number(1221.5, "en") == "1 221.5"
    assert fmt_number(0.2611) == "0,26" and fmt_number(28.0) == "28" and fmt_number(None) == "—"
    assert fmt_change(-2.5) == "−2,5" and fmt_change(1.0) == "+1" and fmt_change(0.0) == "0"
    assert fmt_percent(0.6829) == "68,3 %"


def test_the_dates_of_a_year_and_the_years_refused():
    today = dt.date(2026, 12, 1)
    assert report_dates(2025, today) == (dt.date(2025, 12, 31), dt.date(2024, 12, 31))
    assert report_dates(2026, today) == (today, dt.date(2025, 12, 31))  # this year: so far
    for year in (2020, 2027):
        with pytest.raises(Exception) as refused:
            report_dates(year, today)
        assert refused.value.status == 400 and "2021" in refused.value.message()


def test_a_revision_made_during_the_year_is_a_change(edited, book, report):
    ws, props = edited
    api = {i["id"]: i for i in _api(ws, book, report)["indicators"]}
    assert api["clusters.operating.count"]["change"] == 1
    assert api["clusters.planned.count"]["change"] == -1
    assert api["clusters.operating.area_ha"]["change"] == pytest.approx(props["area_ha"], abs=1e-3)
    assert report["layers"] and {x["id"]: x for x in report["layers"]}[CLUSTERS]["revision"] is not None
    assert {x["id"]: x for x in report["layers"]}[CLUSTERS]["revision_since"] is None  # shipped last year


def test_the_pdf_is_a4_with_the_title_plans_and_the_apis_figures(edited, book, report, report_pdf):
    ws, _ = edited
    sizes = pdf.pages(report_pdf)
    assert len(sizes) >= 4 and all(pdf.is_a4(s) or pdf.is_a4(s[::-1]) for s in sizes)
    assert any(not pdf.is_a4(s) for s in sizes)  # the plan maps are on landscape pages
    text = pdf.text(report_pdf)
    year = report["year"]
    assert "SỞ CÔNG THƯƠNG TỈNH THÁI NGUYÊN" in text
    assert f"BÁO CÁO GIÁM SÁT THỰC HIỆN QUY HOẠCH NĂM {year}" in text
    day, since = dt.date.fromisoformat(report["date"]), dt.date.fromisoformat(report["since"])
    assert f"Số liệu tính đến ngày: {day:%d/%m/%Y}" in text and f"{since:%d/%m/%Y}" in text
    api = _api(ws, book, report)
    for n, plan in enumerate(api["plans"], start=1):
        assert f"{n}. {plan['title']['vi']}" in text
    for ind in api["indicators"]:
        value = fmt_number(ind["value"])
        assert f"{ind['title']['vi']} {ind['unit']['vi']} {value}" in text, ind["id"]
        target = fmt_number(ind["target"]) + ("*" if ind["target_confidence"] == "not_sourced" else "")
        tail = f"{fmt_number(ind['value_since'])} {fmt_change(ind['change'])} {target}"
        if ind["target"] is not None:
            tail += f" {ind['target_year']} {fmt_percent(ind['progress'])}"
        assert tail in text, ind["id"]
        if ind["honesty_note"]:  # the mark next to the figure, its note under the table
            assert f"{value} {HONESTY_MARK}" in text and ind["honesty_note"]["vi"] in text, ind["id"]
    changed = {i["id"]: i for i in api["indicators"]}["clusters.operating.count"]
    assert f"{fmt_number(changed['value_since'])} +1 " in text


def test_the_pdf_names_its_sources_and_every_layer_revision(edited, book, report, report_pdf):
    ws, _ = edited
    text = pdf.text(report_pdf)
    api = _api(ws, book, report)
    assert "Nguồn số liệu và mức độ chính xác" in text and "Ghi chú về độ chính xác" in text
    for ind in api["indicators"]:
        if ind["target_basis"]:
            assert " ".join(ind["target_basis"]["document"].split()) in text
    assert "Phụ lục: Truy xuất số liệu / Traceability" in text
    inputs = api["inputs"]
    since = {x["id"]: x["fingerprint"] for x in inputs["since_layers"]}
    for layer in inputs["layers"]:
        revision = inputs["revisions_on_date"][layer["id"]]
        shown = "dữ liệu gốc" if revision is None else f"#{revision}"
        assert f"{layer['id']} {shown} {layer['fingerprint']}" in text
        assert since[layer["id"]] in text
    assert inputs["revisions_on_date"][CLUSTERS] is not None
    assert book_fingerprint(book) in text and inputs["planmap_version"] in text
    # the charts over the year: the clusters' revision at each month's end, the edit's on the last date only
    dates = report["course"]["dates"]
    shown = " ".join(["dữ liệu gốc"] * (len(dates) - 1) + [f"#{inputs['revisions_on_date'][CLUSTERS]}"])
    assert f"{CLUSTERS} {shown}" in text


def _rows(sheet, columns: list[str]) -> list[dict]:
    assert [c.value for c in sheet[HEADER_ROW]] == columns
    return [dict(zip(columns, (c.value for c in row), strict=True))
            for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if row[0].value is not None]


def test_the_xlsx_cells_are_the_apis_numbers(edited, book, report):
    ws, _ = edited
    wb = openpyxl.load_workbook(io.BytesIO(yearly_xlsx(report)))
    api = _api(ws, book, report)
    day, since = report["date"], report["since"]
    columns = plan_columns(day, since)
    taken = {UNITS_SHEET.lower(), SOURCES_SHEET.lower(), COURSE_SHEET.lower()}
    for plan in api["plans"]:
        rows = {r["Mã chỉ tiêu"]: r for r in _rows(wb[sheet_name(plan["title"]["vi"], taken)], columns)}
        mine = [i for i in api["indicators"] if i["plan"] == plan["id"]]
        assert list(rows) == [i["id"] for i in mine]
        for ind in mine:
            row = rows[ind["id"]]
            for col, key in ((3, "value"), (4, "value_since"), (5, "change"), (6, "target"), (7, "target_year"),
                             (8, "progress")):
                assert row[columns[col]] == (pytest.approx(ind[key]) if ind[key] is not None else None), \
                    (ind["id"], key)
            assert row[columns[10]] == (ind["honesty_note"] or {}).get("vi")
    units = _rows(wb[UNITS_SHEET], [c.value for c in wb[UNITS_SHEET][HEADER_ROW]])
    for level, by in (("Xã", "commune"), ("Huyện", "district")):
        doc = _api(ws, book, report, by)
        got = {(r["Mã đơn vị hành chính"], r["Mã chỉ tiêu"]): r for r in units if r["Cấp"].startswith(level)}
        expected = [(u, i) for i in doc["indicators"] for u in i["by_unit"] or []]
        assert len(got) == len(expected) > 0
        for unit, ind in expected:
            row = got[(unit["code"], ind["id"])]
            assert list(row.values())[6:] == [pytest.approx(unit[k]) if unit[k] is not None else None
                                              for k in ("value", "value_since", "change")]
    sources = [[c.value for c in row] for row in wb[SOURCES_SHEET].iter_rows(min_row=HEADER_ROW + 1)]
    layers = {r[1]: r for r in sources if r[0] == "Lớp dữ liệu"}
    for layer in api["inputs"]["layers"]:
        revision = api["inputs"]["revisions_on_date"][layer["id"]]
        assert layers[layer["id"]][3] == (revision if revision is not None else "dữ liệu gốc")
        assert layers[layer["id"]][4] == layer["fingerprint"]
    assert ["Tệp chỉ tiêu", "indicators.yaml", book_fingerprint(book)] == \
        [r for r in sources if r[0] == "Tệp chỉ tiêu"][0][:3]
    course = [[c.value for c in row] for row in wb[COURSE_SHEET].iter_rows(min_row=HEADER_ROW + 1)]
    assert [c.value for c in wb[COURSE_SHEET][HEADER_ROW]] == course_columns(report)
    figures = {r[0]: r[3:] for r in course if r[0] and "." in r[0]}
    revisions = {r[1]: r[3:] for r in course if r[0] == "Lớp dữ liệu"}
    for k, when in enumerate(report["course"]["dates"]):  # each point is GET /indicators' figure of that day
        doc = compute(ws, book, dt.date.fromisoformat(when), by="province")
        for ind in doc["indicators"]:
            assert figures[ind["id"]][k] == (pytest.approx(ind["value"]) if ind["value"] is not None else None)
        for layer_id, revision in doc["inputs"]["revisions_on_date"].items():
            assert revisions[layer_id][k] == (revision if revision is not None else "dữ liệu gốc")
    assert revisions[CLUSTERS][0] == "dữ liệu gốc" and isinstance(revisions[CLUSTERS][-1], int)


def test_the_route_through_a_real_server(tmp_path, book):
    year = province_today().year
    with served_with_store(tmp_path / "store", ADMIN) as served:
        token = new_planner(served.url, ADMIN, "thu")
        frame_doc = httpx.get(f"{served.url}/collections/{CLUSTERS}/items",
                              params={"status": "planned", "limit": 1}).json()
        feature = frame_doc["features"][0]
        feature["properties"]["status"] = "existing"
        put = httpx.put(f"{served.url}/collections/{CLUSTERS}/items/{feature['id']}", json=feature,
                        headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert put.status_code == 200, put.text
        day, since = report_dates(year)
        api = httpx.get(f"{served.url}/indicators", params={"date": day.isoformat(), "since": since.isoformat(),
                                                            "by": "commune"}, timeout=60).json()
        got = httpx.get(f"{served.url}/reports/yearly", params={"year": year, "f": "xlsx"}, timeout=120)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
        assert f"{year}.xlsx" in got.headers["content-disposition"]
        wb = openpyxl.load_workbook(io.BytesIO(got.content))
        columns = plan_columns(api["date"], api["since"])
        rows = {}
        for plan in api["plans"]:
            rows |= {r["Mã chỉ tiêu"]: r for r in _rows(wb[sheet_name(plan["title"]["vi"], set())], columns)}
        for ind in api["indicators"]:
            assert rows[ind["id"]][columns[3]] == pytest.approx(ind["value"])
            assert rows[ind["id"]][columns[5]] == pytest.approx(ind["change"])
        assert {i["id"]: i for i in api["indicators"]}["clusters.operating.count"]["change"] == 1
        got = httpx.get(f"{served.url}/reports/yearly", params={"year": year}, timeout=120)
        assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
        assert all(pdf.is_a4(s) or pdf.is_a4(s[::-1]) for s in pdf.pages(got.content))
        text = pdf.text(got.content)
        assert f"BÁO CÁO GIÁM SÁT THỰC HIỆN QUY HOẠCH NĂM {year}" in text and "Truy xuất số liệu" in text
        for bad in (2020, year + 1, "2025.5", "năm"):
            refused = httpx.get(f"{served.url}/reports/yearly", params={"year": bad}, timeout=30)
            assert refused.status_code == 400, (bad, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        refused = httpx.get(f"{served.url}/reports/yearly", params={"year": year + 1}, timeout=30).json()
        assert "2021" in refused["detail"] and "Năm báo cáo" in refused["detail_vi"]
        assert refused["code"] == "YearOutOfRange" and refused["last"] == year


def test_the_command_writes_the_pdf_and_the_tables(tmp_path):
    year = province_today().year - 1
    out, tables = tmp_path / "bao-cao.pdf", tmp_path / "bang.xlsx"
    env = {**os.environ, "PLANMAP_STORE": str(tmp_path / "store")}
    done = subprocess.run([sys.executable, "-m", "api.cli", "report", "--year", str(year), "-o", str(out),
                           "--xlsx", str(tables)], cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert f"→ {out}" in done.stdout and f"→ {tables}" in done.stdout
    text = pdf.text(out.read_bytes())
    assert f"BÁO CÁO GIÁM SÁT THỰC HIỆN QUY HOẠCH NĂM {year}" in text and f"31/12/{year}" in text
    assert openpyxl.load_workbook(tables)[SOURCES_SHEET].max_row > HEADER_ROW
    assert not list(tmp_path.glob(".*.part"))
    for bad in ("2019", str(province_today().year + 1)):
        refused = subprocess.run([sys.executable, "-m", "api.cli", "report", "--year", bad, "-o",
                                  str(tmp_path / "x.pdf")], cwd=REPO, capture_output=True, text=True, timeout=120,
                                 env=env)
        assert refused.returncode != 0 and "Năm báo cáo" in refused.stderr and "2021" in refused.stderr
        assert not (tmp_path / "x.pdf").exists()

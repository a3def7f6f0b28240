"""The yearly report's tables as an XLSX workbook (openpyxl) for the department's own spreadsheets: a sheet per
plan, one of every unit's figures (2025 communes and pre-2025 districts) and one of sources and traceability.

Figures are written as numbers (a progress as a fraction shown in %), never as text, so that the department can
sum and chart them; the headers are Vietnamese, as the department's files are.
"""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from layers.provenance import ACCURACY_LABELS
from web.yearly.texts import CONFIDENCE, HONESTY_MARK, T, fmt_day, is_marked, plan_indicators

SHEET_NAME_CHARS = 31  # Excel's limit on a sheet's name
HEADER_ROW = 4  # rows 1–2: the sheet's title and dates; the table's header on row 4, its rows from 5
SOURCES_SHEET = "Nguồn - Sources"  # "/" is not allowed in a sheet's name
UNITS_SHEET = "Theo đơn vị"
COURSE_SHEET = "Diễn biến trong năm"
BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="EEF2F5")
WARN = Font(color="8A5300")
LEVELS = {"communes": "Xã, phường (từ 1/7/2025)", "districts": "Huyện, thành phố (trước 1/7/2025)"}


def plan_columns(day: str, since: str) -> list[str]:
    """The headers of a plan's sheet (the tests read the cells by them)."""
    return ["Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị", f"Giá trị {fmt_day(day)}", f"Giá trị {fmt_day(since)}",
            "Thay đổi", "Mục tiêu", "Năm mục tiêu", "Tiến độ", "Độ chính xác",
            f"{HONESTY_MARK} Ghi chú độ chính xác", "Căn cứ mục tiêu", "Độ tin cậy của mục tiêu", "Định nghĩa"]


def unit_columns(day: str, since: str) -> list[str]:
    return ["Cấp", "Mã đơn vị hành chính", "Tên đơn vị", "Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị",
            f"Giá trị {fmt_day(day)}", f"Giá trị {fmt_day(since)}", "Thay đổi"]


SOURCE_COLUMNS = ["Mục", "Mã", "Tên", "Phiên bản tại ngày số liệu", "Dấu vân tay tại ngày số liệu",
                  "Phiên bản tại ngày so sánh", "Dấu vân tay tại ngày so sánh", "Số đối tượng", "Độ chính xác",
                  "Nguồn / ghi công", "Giấy phép"]


def sheet_name(title: str, taken: set[str]) -> str:
    """A plan's title as a sheet name Excel accepts: no []:*?/\\, at most 31 characters, unique."""
    base = re.sub(r"[\[\]:*?/\\]", "-", title)[:SHEET_NAME_CHARS].strip() or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:SHEET_NAME_CHARS - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _sheet(wb: Workbook, name: str, title: str, subtitle: str, columns: list[str]):
    ws = wb.create_sheet(name)
    ws.cell(1, 1, title).font = Font(bold=True, size=13)
    ws.cell(2, 1, subtitle)
    for c, head in enumerate(columns, start=1):
        cell = ws.cell(HEADER_ROW, c, head)
        cell.font, cell.fill = BOLD, HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    return ws


def _widths(ws, widths: list[int]) -> None:
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width


def _revision(value: int | None) -> str | int:
    """A revision number as a number; the shipped data (no stored revision) in words."""
    return T["shipped"]["vi"] if value is None else value


def yearly_xlsx(report: dict) -> bytes:
    """The workbook's bytes (the caller writes them to a temporary file and renames it)."""
    wb = Workbook()
    wb.remove(wb.active)
    day, since = report["date"], report["since"]
    dates = f"Số liệu tính đến ngày {fmt_day(day)}; so sánh với ngày {fmt_day(since)}; lập ngày " \
            f"{fmt_day(report['made'])}"
    taken = {UNITS_SHEET.lower(), SOURCES_SHEET.lower(), COURSE_SHEET.lower()}
    for plan in report["communes"]["plans"]:
        ws = _sheet(wb, sheet_name(plan["title"]["vi"], taken), f"{plan['title']['vi']} — năm {report['year']}",
                    dates, plan_columns(day, since))
        for r, ind in enumerate(plan_indicators(report, plan["id"]), start=HEADER_ROW + 1):
            basis = ind.get("target_basis") or {}
            note = (ind.get("honesty_note") or {}).get("vi") if is_marked(ind) else None
            values = [ind["id"], ind["title"]["vi"], ind["unit"]["vi"], ind["value"], ind.get("value_since"),
                      ind.get("change"), ind.get("target"), ind.get("target_year"), ind.get("progress"),
                      ACCURACY_LABELS.get(ind.get("accuracy"), {}).get("vi", ind.get("accuracy")), note,
                      " — ".join(x for x in (basis.get("document"), basis.get("note")) if x) or None,
                      CONFIDENCE.get(ind.get("target_confidence"), {}).get("vi", ind.get("target_confidence")),
                      ind["definition"]["vi"]]
            for c, value in enumerate(values, start=1):
                cell = ws.cell(r, c, value)
                if c == 9 and value is not None:
                    cell.number_format = "0.0%"
                if c == 11 and value:
                    cell.font = WARN
        _widths(ws, [26, 44, 14, 14, 14, 10, 10, 9, 9, 16, 40, 40, 18, 60])
    ws = _sheet(wb, UNITS_SHEET, f"Chỉ tiêu theo đơn vị hành chính — năm {report['year']}", dates,
                unit_columns(day, since))
    r = HEADER_ROW + 1
    for level in ("communes", "districts"):
        for ind in report[level]["indicators"]:
            for unit in ind.get("by_unit") or []:
                for c, value in enumerate([LEVELS[level], unit["code"], unit["name"], ind["id"], ind["title"]["vi"],
                                           ind["unit"]["vi"], unit["value"], unit.get("value_since"),
                                           unit.get("change")], start=1):
                    ws.cell(r, c, value)
                r += 1
    _widths(ws, [30, 14, 26, 26, 44, 14, 14, 14, 10])
    _course_sheet(wb, report, dates)
    _sources_sheet(wb, report, dates)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def course_columns(report: dict) -> list[str]:
    return ["Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị", *[fmt_day(d) for d in report["course"]["dates"]]]


def _course_sheet(wb: Workbook, report: dict, dates: str) -> None:
    """The province's figures at each month's end, and below them the revision of each layer on those dates."""
    course = report.get("course")
    if not course:
        return
    ws = _sheet(wb, COURSE_SHEET, f"Diễn biến trong năm {report['year']} (toàn tỉnh, cuối mỗi tháng)", dates,
                course_columns(report))
    r = HEADER_ROW + 1
    for ind in report["communes"]["indicators"]:
        for c, value in enumerate([ind["id"], ind["title"]["vi"], ind["unit"]["vi"],
                                   *course["values"].get(ind["id"], [])], start=1):
            ws.cell(r, c, value)
        r += 1
    r += 1
    ws.cell(r, 1, "Phiên bản các lớp tại các ngày trên").font = BOLD
    r += 1
    for layer_id, revisions in course["revisions"].items():
        for c, value in enumerate(["Lớp dữ liệu", layer_id, "", *[_revision(v) for v in revisions]], start=1):
            ws.cell(r, c, value)
        r += 1
    _widths(ws, [26, 44, 14, *[11] * len(course["dates"])])


def _sources_sheet(wb: Workbook, report: dict, dates: str) -> None:
    """Traceability: each layer at both dates (revision, fingerprint), the indicators file, planmap's version, and
    the documents the targets come from."""
    ws = _sheet(wb, SOURCES_SHEET, "Nguồn số liệu và truy xuất / Sources and traceability", dates, SOURCE_COLUMNS)
    r = HEADER_ROW + 1
    for layer in report["layers"]:
        mix = ", ".join(f"{ACCURACY_LABELS.get(a, {}).get('vi', a)}: {n}" for a, n in layer["accuracy"].items())
        for c, value in enumerate(["Lớp dữ liệu", layer["id"], layer["title"]["vi"], _revision(layer["revision"]),
                                   layer["fingerprint"], _revision(layer["revision_since"]),
                                   layer["fingerprint_since"], layer["features"], mix, layer.get("attribution"),
                                   layer.get("license")], start=1):
            ws.cell(r, c, value)
        r += 1
    inputs = report["communes"]["inputs"]
    for label, code, value in (("Tệp chỉ tiêu", report["book"]["name"], report["book"]["fingerprint"]),
                               ("Phiên bản planmap", "planmap", inputs.get("planmap_version")),
                               ("Bộ dữ liệu", "dataset", inputs.get("dataset")),
                               ("Thời điểm tính", "computed_at", inputs.get("computed_at"))):
        ws.cell(r, 1, label)
        ws.cell(r, 2, code)
        ws.cell(r, 3, value)
        r += 1
    for ind in report["communes"]["indicators"]:
        if ind.get("target") is None:
            continue
        basis = ind.get("target_basis") or {}
        ws.cell(r, 1, "Căn cứ mục tiêu")
        ws.cell(r, 2, ind["id"])
        ws.cell(r, 3, basis.get("document") or T["not_sourced"]["vi"])
        ws.cell(r, 9, CONFIDENCE.get(ind.get("target_confidence"), {}).get("vi", ind.get("target_confidence")))
        ws.cell(r, 10, basis.get("note"))
        r += 1
    _widths(ws, [20, 26, 44, 12, 20, 12, 20, 10, 36, 50, 16])

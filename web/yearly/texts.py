"""The words of the yearly report in Vietnamese and English, and how it writes its figures (shared by the PDF and
the XLSX, so both print the same number the same way)."""

from __future__ import annotations

from datetime import date

from layers.report import DISCLAIMER

# The honesty mark printed next to a figure computed from synthetic or schematic features (as checks mark theirs).
HONESTY_MARK = "⚠"

ORGANISATION = {"vi": "SỞ CÔNG THƯƠNG TỈNH THÁI NGUYÊN", "en": "DEPARTMENT OF INDUSTRY AND TRADE OF THÁI NGUYÊN"}
T = {
    "title": {"vi": "BÁO CÁO GIÁM SÁT THỰC HIỆN QUY HOẠCH NĂM {year}",
              "en": "PLAN IMPLEMENTATION SUPERVISION REPORT {year}"},
    "subtitle": {"vi": "Quy hoạch ngành Công Thương: công nghiệp, thương mại, điện, mạng lưới xăng dầu và LPG, "
                       "khoáng sản",
                 "en": "Industry and trade plans: industry, trade, electricity, the fuel and LPG network, minerals"},
    "made": {"vi": "Ngày lập báo cáo", "en": "Report made on"},
    "as_of": {"vi": "Số liệu tính đến ngày", "en": "Data as of"},
    "since": {"vi": "Ngày so sánh (cùng kỳ năm trước)", "en": "Compared with"},
    "contents": {"vi": "Nội dung", "en": "Contents"},
    "sec_indicators": {"vi": "Chỉ tiêu so với mục tiêu quy hoạch", "en": "Indicators against the plans' targets"},
    "sec_maps": {"vi": "Bản đồ hiện trạng thực hiện quy hoạch", "en": "Maps of the current state"},
    "sec_sources": {"vi": "Nguồn số liệu và mức độ chính xác", "en": "Sources and data accuracy"},
    "sec_trace": {"vi": "Phụ lục: Truy xuất số liệu / Traceability", "en": "Appendix: Traceability"},
    "col_indicator": {"vi": "Chỉ tiêu", "en": "Indicator"}, "col_unit": {"vi": "Đơn vị", "en": "Unit"},
    "col_change": {"vi": "Thay đổi", "en": "Change"}, "col_target": {"vi": "Mục tiêu", "en": "Target"},
    "col_year": {"vi": "Năm", "en": "Year"}, "col_progress": {"vi": "Tiến độ", "en": "Progress"},
    "col_accuracy": {"vi": "Độ chính xác", "en": "Accuracy"},
    "progress_chart": {"vi": "Tiến độ so với mục tiêu (%)", "en": "Progress against the target (%)"},
    "course_chart": {"vi": "Diễn biến trong năm (toàn tỉnh, cuối mỗi tháng, {since}–{day})",
                     "en": "Over the year (province, each month's end, {since}–{day})"},
    "course_trace": {"vi": "Phiên bản các lớp tại các ngày của biểu đồ diễn biến",
                     "en": "The layers' revisions on the dates of the charts over the year"},
    "course_shipped": {"vi": "Không lớp nào có phiên bản được lưu đến các ngày này: mọi điểm của biểu đồ tính từ dữ "
                             "liệu gốc.",
                       "en": "No layer had a stored revision by these dates: every point of the charts comes from the "
                             "shipped data."},
    "course_others": {"vi": "Các lớp khác: dữ liệu gốc tại mọi ngày.",
                      "en": "The other layers: the shipped data on every date."},
    "by_unit_chart": {"vi": "{title} theo {units}: {since} và {day}",
                      "en": "{title} by {units}: {since} and {day}"},
    "communes": {"vi": "xã, phường (từ 1/7/2025)", "en": "commune (since 1 July 2025)"},
    "districts": {"vi": "huyện, thành phố (trước 1/7/2025)", "en": "district (before 1 July 2025)"},
    "no_unit_change": {"vi": "Không có thay đổi theo đơn vị hành chính trong năm.",
                       "en": "No change by administrative unit over the year."},
    "honesty_head": {"vi": "Ghi chú về độ chính xác của số liệu:", "en": "Notes on the data's accuracy:"},
    "map_caption": {"vi": "Hiện trạng theo dữ liệu tại ngày {day} (các lớp với phiên bản ghi ở phụ lục).",
                    "en": "The state in the data as of {day} (layers at the revisions the appendix lists)."},
    "target_docs": {"vi": "Văn bản là căn cứ của mục tiêu", "en": "Documents the targets come from"},
    "layer_sources": {"vi": "Nguồn dữ liệu của các lớp", "en": "Data sources of the layers"},
    "accuracy_note": {"vi": "Ghi chú về độ chính xác", "en": "Data-accuracy note"},
    "accuracy_text": {
        "vi": "Mỗi đối tượng mang thuộc tính nguồn (source) và độ chính xác (accuracy): chính xác, gần đúng, sơ đồ, "
              "minh họa (giả lập). Chỉ tiêu tính từ đối tượng sơ đồ hoặc minh họa được đánh dấu {mark} bên cạnh số "
              "liệu và chỉ mang tính tham khảo. Mục tiêu không có văn bản nguồn được ghi là \"chưa có nguồn\".",
        "en": "Every feature carries its source and accuracy: exact, approximate, schematic, synthetic. Indicators "
              "computed from schematic or synthetic features are marked {mark} next to the figure and are "
              "indicative only. A target without a source document is marked \"not sourced\"."},
    "trace_intro": {
        "vi": "Mọi số liệu của báo cáo được tính bởi planmap (GET /indicators) từ các lớp dưới đây, ở phiên bản có "
              "hiệu lực vào mỗi ngày; \"dữ liệu gốc\" là bộ dữ liệu đi kèm planmap, chưa có chỉnh sửa nào được lưu. "
              "Dấu vân tay tính từ mã và khung bao của các đối tượng: sửa thuộc tính (vd. trạng thái) không đổi dấu "
              "vân tay nhưng luôn tạo phiên bản mới.",
        "en": "Every figure of this report was computed by planmap (GET /indicators) from the layers below, at the "
              "revision in force on each date; \"shipped\" is planmap's own dataset, with no stored edit. The "
              "fingerprint is of the features' ids and extents: an edit of properties (e.g. a status) leaves it as it "
              "was but always makes a new revision."},
    "col_layer": {"vi": "Lớp dữ liệu", "en": "Layer"}, "col_revision": {"vi": "Phiên bản", "en": "Revision"},
    "col_fingerprint": {"vi": "Dấu vân tay", "en": "Fingerprint"},
    "col_features": {"vi": "Số đối tượng", "en": "Features"},
    "shipped": {"vi": "dữ liệu gốc", "en": "shipped"},
    "book": {"vi": "Tệp chỉ tiêu", "en": "Indicators file"},
    "version": {"vi": "Phiên bản planmap", "en": "planmap version"},
    "dataset": {"vi": "Bộ dữ liệu", "en": "Dataset"},
    "computed": {"vi": "Thời điểm tính", "en": "Computed at"},
    "not_sourced": {"vi": "chưa có nguồn", "en": "not sourced"},
    "disclaimer": DISCLAIMER,
}
CONFIDENCE = {"verified": {"vi": "đã kiểm chứng", "en": "verified"},
              "secondary": {"vi": "nguồn thứ cấp", "en": "secondary source"},
              "unverified": {"vi": "chưa kiểm chứng", "en": "unverified"},
              "not_sourced": {"vi": "chưa có nguồn", "en": "not sourced"}}


# --------------------------------------------------------------------------------------------------- numbers
def fmt_number(value: float | None, lang: str = "vi") -> str:
    """A figure as the report prints it: thousands separated by a space (1 221, as the print maps write them),
    the language's decimal mark, at most two decimals below 10 and one from 10 on; "—" when there is none."""
    if value is None:
        return "—"
    places = 0 if float(value).is_integer() else (2 if abs(value) < 10 else 1)
    text = f"{value:,.{places}f}"
    if places:
        text = text.rstrip("0").rstrip(".")
    text = text.replace(",", " ")
    return text.replace(".", ",") if lang == "vi" else text


def fmt_change(value: float | None, lang: str = "vi") -> str:
    """A change over the year with its sign (+1, −2,5, 0)."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return ("+" if value > 0 else "−") + fmt_number(abs(value), lang)


def fmt_percent(progress: float | None, lang: str = "vi") -> str:
    """A share of the target (0.683 → 68,3 %)."""
    if progress is None:
        return "—"
    return fmt_number(round(progress * 100, 1), lang) + " %"


def fmt_day(iso: str | None) -> str:
    """A date as Vietnamese documents write it (31/12/2025)."""
    if not iso:
        return "—"
    d = date.fromisoformat(iso[:10])
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def is_marked(indicator: dict) -> bool:
    """Whether a figure is printed with the honesty mark (computed from synthetic or schematic features)."""
    return bool(indicator.get("indicative")) or indicator.get("accuracy") in ("synthetic", "schematic")


def plan_indicators(report: dict, plan_id: str) -> list[dict]:
    return [i for i in report["communes"]["indicators"] if i["plan"] == plan_id]


def target_confidence(indicator: dict, lang: str) -> str:
    conf = indicator.get("target_confidence")
    return CONFIDENCE.get(conf, {}).get(lang, conf or "")



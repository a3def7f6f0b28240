"""The words printed on the sheet in Vietnamese and English, and each language's way of writing numbers.

Kept apart from the drawing so a planner's wording fix touches one table, not the layout code."""

from __future__ import annotations

CRS_NAME = "VN-2000 / TM-3 106°30′ (EPSG:9213)"
PHASE_WORD = {"vi": "Giai đoạn", "en": "Phase"}

T = {  # page texts
    "legend": {"vi": "CHÚ GIẢI", "en": "LEGEND"},
    "scale": {"vi": "Tỷ lệ", "en": "Scale"},
    "crs": {"vi": "Hệ tọa độ", "en": "Coordinate system"},
    "grid": {"vi": "Lưới tọa độ VN-2000, ô lưới {g}; X hướng Bắc, Y hướng Đông, đơn vị mét",
             "en": "VN-2000 grid every {g}; X northing, Y easting, in metres"},
    "north": {"vi": "Bắc lưới", "en": "Grid north"},
    "north_letter": {"vi": "B", "en": "N"},
    "note_head": {"vi": "Dữ liệu minh họa/gần đúng — không phải số liệu chính thức.",
                  "en": "Demonstration/approximate data — not official figures."},
    "note_layers": {"vi": "Các lớp không chính xác tuyệt đối:", "en": "Layers that are not exact:"},
    "note_all_exact": {"vi": "Mọi lớp trên bản đồ đều có độ chính xác «chính xác».",
                       "en": "Every layer on the map is exact."},
    "sources": {"vi": "NGUỒN DỮ LIỆU VÀ GIẤY PHÉP", "en": "SOURCES AND LICENCES"},
    "date": {"vi": "Ngày lập", "en": "Date"},
    "made_with": {"vi": "Lập bằng planmap", "en": "Made with planmap"},
    "paper": {"vi": "Khổ {size} {orient}", "en": "{size} {orient}"},
    "landscape": {"vi": "ngang", "en": "landscape"},
    "portrait": {"vi": "dọc", "en": "portrait"},
    "enlarged": {"vi": "Ký hiệu được phóng to khi đối tượng nhỏ hơn {mm} mm trên giấy",
                 "en": "Symbols enlarged where the feature is smaller than {mm} mm on paper"},
    "outside": {"vi": "Ngoài địa giới tỉnh", "en": "Outside the province"},
    "counts": {"vi": "(n; ha): số đối tượng trên bản đồ; tổng diện tích",
               "en": "(n; ha): features on the map; total area"},
}


def fmt_int(v: float) -> str:
    """Thousands separated by a space, as both languages' official documents write them (1 221)."""
    return f"{v:,.0f}".replace(",", " ")


def decimal(s: str, lang: str) -> str:
    """A formatted number with the language's decimal mark: 2,5 in Vietnamese, 2.5 in English."""
    return s.replace(".", ",") if lang == "vi" else s


def fmt_dist(m: float, lang: str) -> str:
    """A grid step or distance in m, or in km from 1 km on."""
    if m >= 1000:
        return decimal(f"{m / 1000:g}", lang) + " km"
    return f"{m:g} m"


def scale_words(scale: int, lang: str) -> str:
    """The stated scale, e.g. "Tỷ lệ 1:400 000"."""
    return f"{T['scale'][lang]} 1:{fmt_int(scale)}"

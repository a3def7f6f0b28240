"""Print-ready plan maps (web/printmap/): paper sizes, pixels, page content, bad input, extent, thread safety,
features with missing values.

PDFs are read back with pypdfium2 (PDFium, the PDF engine of Chromium: page count and size, the text, the page
rendered to pixels), as a reader of the file would; no system package is needed.  The README's picture
docs/screenshots/cluster-plan-2030.png is rewritten only when PLANMAP_SCREENSHOTS=1."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
import shapely
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image

from geo.crs import to_metres
from layers.dataset import Dataset, layer_from_frame
from web.printmap import PAPER_MM, PRESETS, MapPreset, PrintError, plan_map, render_map

REPO = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO / "docs" / "screenshots" / "cluster-plan-2030.png"
TODAY = dt.date(2026, 11, 28)
LABELS = json.loads((REPO / "web" / "labels.json").read_text(encoding="utf-8"))
TN_CITY = (105.78, 21.53, 105.90, 21.63)  # around Thái Nguyên city, CRS84


def _pdf_text(pdf: bytes) -> str:
    """The text of every page, white space folded (a wrapped line reads as one)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        text = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    return " ".join(text.split())


def _page_size_pts(pdf: bytes) -> tuple[float, float]:
    """Width and height of the one page, in points."""
    doc = pdfium.PdfDocument(pdf)
    try:
        assert len(doc) == 1, f"{len(doc)} pages"
        return doc[0].get_size()
    finally:
        doc.close()


def _render_page(pdf: bytes, dpi: int) -> np.ndarray:
    """The first page as RGB pixels."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return np.asarray(doc[0].render(scale=dpi / 72).to_pil().convert("RGB"))
    finally:
        doc.close()


@pytest.fixture(scope="module")
def cluster_pdf(dataset) -> bytes:
    return render_map(dataset, preset="cluster-plan-2030", size="A3", orientation="landscape", fmt="pdf",
                      today=TODAY)


def test_presets_are_data():
    assert {"cluster-plan-2030", "overview"} <= set(PRESETS)
    for p in PRESETS.values():
        assert isinstance(p, MapPreset)
        assert p.title["vi"] and p.title["en"]
        assert p.size in PAPER_MM and p.orientation in ("landscape", "portrait")
    plan = PRESETS["cluster-plan-2030"]
    assert plan.title["vi"] == "PHƯƠNG ÁN PHÁT TRIỂN CỤM CÔNG NGHIỆP TỈNH THÁI NGUYÊN ĐẾN NĂM 2030"
    assert {"communes", "districts", "province", "roads"} <= set(plan.base)
    assert {"industrial_parks", "industrial_clusters"} <= set(plan.collections)


@pytest.mark.parametrize("size", ["A4", "A3", "A1"])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_pdf_page_size(dataset, size, orientation):
    pdf = render_map(dataset, size=size, orientation=orientation, fmt="pdf", dpi=72, today=TODAY)
    assert pdf.startswith(b"%PDF")
    w_mm, h_mm = PAPER_MM[size]
    if orientation == "landscape":
        w_mm, h_mm = h_mm, w_mm
    w, h = _page_size_pts(pdf)
    assert w == pytest.approx(w_mm / 25.4 * 72, abs=0.5)
    assert h == pytest.approx(h_mm / 25.4 * 72, abs=0.5)


def test_pdf_renders_to_a_drawn_page(cluster_pdf):
    img = _render_page(cluster_pdf, 40)
    assert img.shape[:2] == (round(297 / 25.4 * 40), round(420 / 25.4 * 40)) or \
        abs(img.shape[1] - 420 / 25.4 * 40) <= 1
    not_white = (img < 245).any(axis=2).mean()
    assert not_white > 0.15, f"only {not_white:.1%} of the page is drawn"
    colours = {tuple(c) for c in img.reshape(-1, 3)[:: 97] // 16}
    assert len(colours) > 20  # not a single-colour page: fills, lines and text of many colours


@pytest.mark.parametrize("size,dpi", [("A4", 72), ("A4", 100), ("A3", 90)])
def test_png_pixels_follow_dpi(dataset, size, dpi):
    png = render_map(dataset, size=size, orientation="landscape", fmt="png", dpi=dpi, today=TODAY)
    assert png.startswith(b"\x89PNG")
    w_mm, h_mm = PAPER_MM[size][::-1]
    img = Image.open(io.BytesIO(png))
    assert abs(img.width - w_mm / 25.4 * dpi) <= 1
    assert abs(img.height - h_mm / 25.4 * dpi) <= 1


def test_pdf_text_has_the_map_furniture(cluster_pdf, dataset):
    text = _pdf_text(cluster_pdf)
    assert "PHƯƠNG ÁN PHÁT TRIỂN CỤM CÔNG NGHIỆP TỈNH THÁI NGUYÊN ĐẾN NĂM 2030" in text
    m = re.search(r"Tỷ lệ 1:(\d{1,3}(?: \d{3})+)", text)
    assert m, "no stated scale"
    scale = int(m.group(1).replace(" ", ""))
    assert scale == plan_map(dataset, size="A3", orientation="landscape").scale
    assert "VN-2000 / TM-3 106°30′ (EPSG:9213)" in text
    assert re.search(r"\b2 \d{3} 000\b", text), "no labelled VN-2000 northing"
    assert "Dữ liệu minh họa/gần đúng — không phải số liệu chính thức" in text
    assert "Cụm công nghiệp: minh họa" in text  # the non-exact layers are named
    for source in ("dvhcvn", "vietnamese-provinces-database", "OpenStreetMap", "Bando.com.vn"):
        assert source in text, source
    assert "GPL-3.0" in text and "MIT" in text
    assert "CHÚ GIẢI" in text
    for status in ("existing", "expanded", "planned", "reduced", "dropped"):
        assert LABELS["values"]["status"][status]["vi"] in text, status
    assert "Giai đoạn 2026–2030" in text
    assert "Khu công nghiệp" in text and "Bắc lưới" in text
    assert "28/11/2026" in text and "planmap" in text
    assert "KCN Yên Bình" in text  # feature labels


def test_english(dataset):
    pdf = render_map(dataset, fmt="pdf", size="A4", lang="en", dpi=72, today=TODAY)
    text = _pdf_text(pdf)
    assert "INDUSTRIAL CLUSTER DEVELOPMENT PLAN OF THÁI NGUYÊN PROVINCE TO 2030" in text
    assert re.search(r"Scale 1:\d", text)
    assert "Demonstration/approximate data — not official figures" in text
    assert "LEGEND" in text and "Grid north" in text and "2026-11-28" in text
    for status in ("Existing", "Planned", "Dropped", "Reduced"):
        assert status in text


def test_title_is_text_not_markup(dataset):
    title = "Bản đồ thử $x^2$ <b>nghiệm</b> 50% & {cụm}"
    pdf = render_map(dataset, fmt="pdf", size="A4", dpi=72, title=title, today=TODAY)
    text = _pdf_text(pdf)
    assert title in text
    assert "PHƯƠNG ÁN PHÁT TRIỂN" not in text


def test_only_drawn_layers_are_in_the_legend(dataset):
    pdf = render_map(dataset, collections="power_lines,substations", size="A4", dpi=72, today=TODAY)
    text = _pdf_text(pdf)
    assert "Đường dây điện (minh họa)" in text and "110 kV" in text and "Trạm biến áp" in text
    assert "Cụm công nghiệp" not in text
    assert "PyPSA-ASEAN" in text  # its source is credited


@pytest.mark.parametrize("kwargs,word", [
    ({"preset": "nope"}, "preset"),
    ({"size": "A5"}, "paper size"),
    ({"orientation": "sideways"}, "orientation"),
    ({"fmt": "svg"}, "format"),
    ({"dpi": 50}, "dpi"),
    ({"dpi": 601}, "dpi"),
    ({"dpi": "many"}, "dpi"),
    ({"lang": "fr"}, "language"),
    ({"collections": "industrial_clusters,nope"}, "unknown collection"),
    ({"collections": ""}, "no collection"),
    ({"collections": []}, "no collection"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": (106.0, 21.8, 105.8, 21.6)}, "bbox"),
    ({"bbox": (0.0, 0.0, 1.0, 1.0)}, "outside"),
    ({"bbox": (105.8, 21.6, 105.9, 21.7), "bbox_crs": "EPSG:1234"}, "not supported"),
    ({"title": "x" * 201}, "title"),
    ({"size": "A1", "fmt": "png", "dpi": 600}, "too large"),
])
def test_bad_input_raises_print_error(dataset, kwargs, word):
    with pytest.raises(PrintError) as info:
        render_map(dataset, **kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert word in err.en.lower() or word in str(err).lower()
    assert err.vi and err.vi != err.en


def test_bbox_restricts_the_extent(dataset):
    full = plan_map(dataset)
    part = plan_map(dataset, bbox=TN_CITY)
    assert part.scale < full.scale
    x0, y0, x1, y1 = part.extent
    assert (x1 - x0) < (full.extent[2] - full.extent[0]) / 3
    from geo.crs import parse_crs, transform_bbox

    box = transform_bbox(TN_CITY, parse_crs("CRS84"), parse_crs("EPSG:9213"))
    bx0, by0, bx1, by1 = box.bounds
    assert x0 <= bx0 and y0 <= by0 and x1 >= bx1 and y1 >= by1  # the bbox is shown whole
    # the same box given in VN-2000 metres gives the same map
    same = plan_map(dataset, bbox=box.bounds, bbox_crs="http://www.opengis.net/def/crs/EPSG/0/9213")
    assert same.scale == part.scale and np.allclose(same.extent, part.extent)
    text = _pdf_text(render_map(dataset, bbox=",".join(map(str, TN_CITY)), size="A4", dpi=72, today=TODAY))
    a4 = plan_map(dataset, bbox=TN_CITY, size="A4").scale
    assert f"Tỷ lệ 1:{a4:,}".replace(",", " ") in text
    assert "Định Hoá" not in text and "Kim Phượng" not in text  # clusters far north are outside
    assert "Quyết Thắng" in text  # a cluster in the city is labelled


def test_progress_is_reported(dataset):
    calls: list[tuple[int, int]] = []
    render_map(dataset, size="A4", fmt="png", dpi=72, progress=lambda s, t: calls.append((s, t)), today=TODAY)
    total = calls[-1][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [s for s, _ in calls] == list(range(total + 1))
    assert total >= len(PRESETS["cluster-plan-2030"].base) + 2


def test_concurrent_renders_are_independent(dataset):
    """Server threads render at the same time: each result equals the same render done alone."""
    jobs = [dict(size="A4", lang="vi"), dict(size="A4", lang="en"), dict(size="A4", preset="overview"),
            dict(size="A4", bbox=TN_CITY)]
    alone = [render_map(dataset, fmt="png", dpi=72, today=TODAY, **j) for j in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda j: render_map(dataset, fmt="png", dpi=72, today=TODAY, **j), jobs * 2))
    for i, png in enumerate(together):
        assert png == alone[i % len(jobs)]


def test_fonts_cover_vietnamese(dataset):
    """DejaVu Sans is used and has every character printed — no tofu boxes."""
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=False)
    assert "DejaVuSans" in Path(path).name
    font = FT2Font(path)
    texts = [p.title[lang] + p.subtitle.get(lang, "") for p in PRESETS.values() for lang in ("vi", "en")]
    for lid in ("communes", "districts", "industrial_clusters", "industrial_parks"):
        texts.extend(str(v) for v in dataset.get(lid).frame["name"].dropna())
        texts.append(dataset.get(lid).meta.attribution + dataset.get(lid).meta.license)
    missing = {c for t in texts for c in t if not c.isspace() and font.get_char_index(ord(c)) == 0}
    assert not missing, f"characters without a glyph: {sorted(missing)}"


def test_cluster_plan_screenshot(dataset):
    """The README's picture: the cluster-plan preset, A3 landscape; saved only with PLANMAP_SCREENSHOTS=1, so a
    test run does not change the working tree."""
    png = render_map(dataset, preset="cluster-plan-2030", size="A3", orientation="landscape", fmt="png", dpi=110,
                     today=TODAY)
    assert len(png) < 1_500_000
    if os.environ.get("PLANMAP_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(png)
    img = Image.open(io.BytesIO(png))
    assert img.size == (int(420 / 25.4 * 110), int(297 / 25.4 * 110))


def _with_layer(dataset: Dataset, lid: str, frame) -> Dataset:
    """The dataset with one layer's features replaced."""
    layers = dict(dataset.layers)
    layers[lid] = layer_from_frame(dataset.get(lid).meta, frame)
    return Dataset(layers=layers, source=dataset.source, catalog=dataset.catalog)


def test_missing_status_and_name_do_not_break_a_render(dataset):
    """A cluster without status or name (a half-filled import) is counted under "—" and left unlabelled; it once
    made every /exports/map a 500 (pandas turned the missing class into NaN, and text was appended to it)."""
    frame = dataset.get("industrial_clusters").frame.copy()
    frame.loc[frame.index[0], ["status", "name"]] = None
    gaps = _with_layer(dataset, "industrial_clusters", frame)
    assert gaps.get("industrial_clusters").frame[["status", "name"]].isna().sum().tolist() == [1, 1]
    pdf = render_map(gaps, size="A4", dpi=72, today=TODAY)
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    assert re.search(r"— \(1; [\d ]+ ha\)", text), "the cluster without a status is not in the legend"
    assert not re.search(r"\b(nan|None|<NA>)\b", text)


def test_a_map_with_nothing_in_its_frame_renders(dataset):
    """A bbox in a corner of the province's bounds, outside every feature drawn: the legend has no row at all."""
    x0, y0, _, _ = dataset.get("province").bounds
    box = (x0 + 0.001, y0 + 0.001, x0 + 0.003, y0 + 0.003)
    plan = plan_map(dataset, collections="power_lines", bbox=box, size="A4", fmt="png", dpi=72)
    frame_box = shapely.box(*plan.extent)
    for lid in plan.layers:
        assert not shapely.intersects(to_metres(dataset.get(lid).frame.geometry.to_numpy()), frame_box).any(), lid
    png = render_map(dataset, collections="power_lines", bbox=box, size="A4", fmt="png", dpi=72, today=TODAY)
    assert png.startswith(b"\x89PNG")

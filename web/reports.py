"""Printable compliance reports: HTML with an inline SVG evidence map, and PDF (matplotlib, no internet)."""

from __future__ import annotations

import io
from html import escape

import numpy as np
import shapely
from shapely.geometry import shape

from geo.cancel import checkpoint
from layers.measures import evidence_roles
from layers.provenance import evidence_text
from layers.report import DISCLAIMER

STATUS_LABELS = {
    "pass": {"vi": "Đạt", "en": "Pass"}, "fail": {"vi": "Không đạt", "en": "Fail"},
    "warn": {"vi": "Cảnh báo", "en": "Warning"}, "unknown": {"vi": "Chưa xác định", "en": "Unknown"},
    "not_applicable": {"vi": "Không áp dụng", "en": "Not applicable"},
}
STATUS_COLOURS = {"pass": "#1a7f37", "fail": "#c62828", "warn": "#b26a00", "unknown": "#6e7781",
                  "not_applicable": "#afb8c1"}


def _role_styles() -> dict[str, tuple[str, str, str, str]]:
    """Evidence role → (stroke, fill, label vi, label en), from the rule types' own role table (their map style)."""
    out = {}
    for name, role in evidence_roles().items():
        style = role.style
        fill = style.get("fillColor", "none") if style.get("fillOpacity", 0) else "none"
        out[name] = (style.get("color", "#333333"), fill, role.vi, role.en)
    return out


ROLE_STYLE = _role_styles()
TEXT = {
    "title": {"vi": "BÁO CÁO KIỂM TRA SỰ PHÙ HỢP QUY HOẠCH", "en": "PLANNING COMPLIANCE REPORT"},
    "verdict": {"vi": "Kết luận", "en": "Verdict"}, "kind": {"vi": "Loại đề xuất", "en": "Proposal kind"},
    "as_of": {"vi": "Ngày áp dụng quy tắc", "en": "Rules as of"}, "rule": {"vi": "Quy tắc", "en": "Rule"},
    "status": {"vi": "Kết quả", "en": "Result"}, "detail": {"vi": "Đo được", "en": "Measured"},
    "basis": {"vi": "Căn cứ pháp lý", "en": "Legal basis"}, "confidence": {"vi": "Độ tin cậy", "en": "Confidence"},
    "commune": {"vi": "Xã/phường (từ 1/7/2025)", "en": "Commune (since 1 July 2025)"},
    "district": {"vi": "Huyện (trước 1/7/2025)", "en": "District (before 1 July 2025)"},
    "inside": {"vi": "Nằm trong", "en": "Lies in"},
    "terrain": {"vi": "Địa hình", "en": "Terrain"},
    "not_in_force": {"vi": "Quy tắc không có hiệu lực vào ngày kiểm tra (không dùng để kết luận):",
                     "en": "Rules not in force on the check's date (not used for the verdict):"},
    "disclaimer": DISCLAIMER,
}
CONFIDENCE = {"verified": {"vi": "đã kiểm chứng", "en": "verified"}, "secondary": {"vi": "nguồn thứ cấp",
              "en": "secondary source"}, "unverified": {"vi": "chưa kiểm chứng", "en": "unverified"},
              "policy": {"vi": "chính sách của Sở (ngưỡng do cán bộ đặt)", "en": "department policy (planner-set)"}}
NO_BASIS = {"vi": "không có văn bản pháp lý: chính sách của Sở", "en": "no legal text: the department's policy"}


def terrain_text(report: dict, lang: str) -> str:
    """The site's terrain in one line: elevation range and slope, or why it is unknown (never zero)."""
    t = report["context"].get("terrain")
    if not t:
        return "—"
    vi = lang == "vi"
    if t.get("elevation_min_m") is None:
        return ("Chưa xác định: " if vi else "Unknown: ") + (t.get("note") or "")
    res = f"DEM {t['dem']}, {t['resolution_m']:g} m" if t.get("dem") else ""
    if vi:
        return (f"Cao độ {t['elevation_min_m']:g}–{t['elevation_max_m']:g} m (chênh {t['elevation_range_m']:g} m); "
                f"độ dốc trung bình {t['slope_mean_pct']:g} % ({t['slope_mean_deg']:g}°), lớn nhất "
                f"{t['slope_max_pct']:g} % ({t['slope_max_deg']:g}°); {res}")
    return (f"Elevation {t['elevation_min_m']:g}–{t['elevation_max_m']:g} m (range {t['elevation_range_m']:g} m); "
            f"mean slope {t['slope_mean_pct']:g} % ({t['slope_mean_deg']:g}°), max {t['slope_max_pct']:g} % "
            f"({t['slope_max_deg']:g}°); {res}")


def _basis_text(result: dict) -> str:
    parts = [f"{b['document']} {b['article']}".strip() for b in result["legal_basis"]]
    if not parts and result.get("confidence") == "policy":
        parts.append(f"{NO_BASIS['vi']} / {NO_BASIS['en']}")
    if result.get("superseded_by"):
        parts.append(f"(⚠ thay thế bởi / superseded by {result['superseded_by']})")
    return "; ".join(parts)


def _evidence_geoms(report: dict) -> list[tuple[str, shapely.Geometry]]:
    out = []
    for result in report["results"]:
        for f in result["evidence"]["features"]:
            if f["geometry"]:
                out.append((f["properties"]["role"], shape(f["geometry"])))
    return out


def _svg_map(report: dict, lang: str, size: int = 420) -> str:
    """A small inline SVG of the site and the evidence (lon/lat scaled by cos(latitude))."""
    site = shape(report["proposal"]["geometry"])
    items = [*_evidence_geoms(report), ("site", site)]
    geoms = np.array([g for _, g in items], dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    k = np.cos(np.radians((miny + maxy) / 2))
    span = max((maxx - minx) * k, maxy - miny, 1e-4) * 1.1
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2

    def xy(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([((coords[:, 0] - cx) * k / span + 0.5) * size,
                                (0.5 - (coords[:, 1] - cy) / span) * size])

    shapes = []
    for role, geom in sorted(items, key=lambda it: it[0] != "conflicting_area"):
        stroke, fill, *_ = ROLE_STYLE.get(role, ("#333", "none", role, role))
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type == "Point":
                x, y = xy(np.array([[part.x, part.y]]))[0]
                shapes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{stroke}" stroke="#fff"/>')
            elif part.geom_type == "LineString":
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy(np.asarray(part.coords)))
                shapes.append(f'<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="2.5"/>')
            elif part.geom_type == "Polygon":
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy(np.asarray(part.exterior.coords)))
                shapes.append(f'<polygon points="{pts}" fill="{fill}" fill-opacity="0.45" stroke="{stroke}" '
                              'stroke-width="1.5"/>')
    scale_m = span * 111_320 / 4
    nice = 10 ** np.floor(np.log10(scale_m))
    nice = max(n for n in (nice, 2 * nice, 5 * nice) if n <= scale_m)
    bar = nice / 111_320 / span * size
    label = f"{nice / 1000:g} km" if nice >= 1000 else f"{nice:g} m"
    legend = "".join(f'<li><span style="background:{ROLE_STYLE[r][1] if ROLE_STYLE[r][1] != "none" else "#fff"};'
                     f'border:2px solid {ROLE_STYLE[r][0]}"></span>{escape(ROLE_STYLE[r][2 if lang == "vi" else 3])}'
                     "</li>" for r in dict.fromkeys(role for role, _ in items) if r in ROLE_STYLE)
    return (f'<figure class="evidence"><svg viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
            f'role="img" aria-label="evidence map">'
            f'<rect width="{size}" height="{size}" fill="#f4f6f8"/>{"".join(shapes)}'
            f'<line x1="12" y1="{size - 14}" x2="{12 + bar:.1f}" y2="{size - 14}" stroke="#000" stroke-width="3"/>'
            f'<text x="12" y="{size - 20}" font-size="11">{label}</text>'
            f'<text x="{size - 18}" y="22" font-size="14" font-weight="bold">N</text></svg>'
            f'<figcaption><ul class="legend">{legend}</ul></figcaption></figure>')


def report_html(report: dict, lang: str = "vi") -> str:
    """A self-contained printable HTML page (no external resources)."""
    t = {k: v[lang] for k, v in TEXT.items()}
    verdict = report["verdict"]
    rows = []
    for r in report["results"]:
        if r["status"] == "not_applicable":
            continue
        caveat = f'<div class="caveat">⚠ {escape(r["caveats"])}</div>' if r.get("caveats") and \
            r["status"] != "pass" or (r.get("caveats") and r["confidence"] != "verified") else ""
        quality = evidence_text(r, lang)
        quality = f'<div class="quality q-{escape(r["evidence_accuracy"])}">{escape(quality)}</div>' if quality else ""
        rows.append(
            f'<tr><td><strong>{escape(r["title"])}</strong><br><code>{escape(r["rule"])}</code></td>'
            f'<td><span class="status" style="background:{STATUS_COLOURS[r["status"]]}">'
            f'{escape(STATUS_LABELS[r["status"]][lang])}</span></td>'
            f'<td>{escape(r["message"])}{quality}{caveat}</td><td>{escape(_basis_text(r))}</td>'
            f'<td>{escape(CONFIDENCE[r["confidence"]][lang])}</td></tr>')
    not_in_force = "".join(f'<li><code>{escape(r["rule"])}</code> {escape(r["title"])}: {escape(r["note"])}</li>'
                           for r in report.get("not_in_force", []))
    not_in_force = f'<p class="nif">{escape(t["not_in_force"])}</p><ul class="nif">{not_in_force}</ul>' \
        if not_in_force else ""
    note = report.get("verdict_note")
    note = f'<div class="verdict-note">{escape(note)}</div>' if note else ""
    ctx = report["context"]
    inside = [f"{x['name']}" for key in ("industrial_parks", "industrial_clusters", "mineral_areas")
              for x in ctx[key]]
    commune = (ctx["commune"] or {}).get("name") or "—"
    district = (ctx["district_pre2025"] or {}).get("name") or "—"
    name = report["proposal"]["properties"].get("name") or ""
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>{escape(t['title'])}</title><style>
body{{font-family:"DejaVu Sans",system-ui,Arial,sans-serif;margin:1.5cm;color:#1f2933;font-size:10.5pt}}
h1{{font-size:15pt;margin:0 0 .4em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #bbb;padding:4px 6px;vertical-align:top;text-align:left}}th{{background:#eef2f5}}
.status{{color:#fff;border-radius:3px;padding:1px 6px;white-space:nowrap}}.verdict{{font-size:13pt;padding:3px 10px}}
.caveat{{color:#8a5300;font-size:9pt;margin-top:3px}}.legend{{list-style:none;padding:0;font-size:9pt}}
.legend span{{display:inline-block;width:12px;height:10px;margin-right:6px}}.facts td:first-child{{width:30%}}
.evidence{{float:right;margin:0 0 1em 1em}}.disclaimer{{font-size:8.5pt;color:#555;margin-top:1em}}
.verdict-note{{background:#fff3bf;border:1px solid #b26a00;color:#5a3000;padding:2px 6px;margin-top:4px}}
.quality{{font-size:9pt;color:#333;margin-top:3px}}.q-schematic,.q-synthetic{{color:#8a5300;font-weight:bold}}
.nif{{font-size:9pt;color:#555}}
@media print{{body{{margin:1cm}}}}
</style></head><body>
<h1>{escape(t['title'])}</h1>
{_svg_map(report, lang)}
<table class="facts" style="width:auto">
<tr><td>{escape(t['kind'])}</td><td>{escape(report['kind_label'])} {escape(name)}</td></tr>
<tr><td>{escape(t['verdict'])}</td><td><span class="status verdict" style="background:{STATUS_COLOURS[verdict]}">
{escape(STATUS_LABELS[verdict][lang])}</span>{note}</td></tr>
<tr><td>{escape(t['commune'])}</td><td>{escape(commune)}</td></tr>
<tr><td>{escape(t['district'])}</td><td>{escape(district)}</td></tr>
<tr><td>{escape(t['inside'])}</td><td>{escape(', '.join(inside) or '—')}</td></tr>
<tr class="terrain"><td>{escape(t['terrain'])}</td><td>{escape(terrain_text(report, lang))}</td></tr>
<tr><td>{escape(t['as_of'])}</td><td>{escape(report['as_of'])}</td></tr>
</table><div style="clear:both"></div>
<table><thead><tr><th>{escape(t['rule'])}</th><th>{escape(t['status'])}</th><th>{escape(t['detail'])}</th>
<th>{escape(t['basis'])}</th><th>{escape(t['confidence'])}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>
{not_in_force}
<p class="disclaimer">{escape(t['disclaimer'])}</p></body></html>"""


def report_pdf(report: dict, lang: str = "vi") -> bytes:
    """An A4 PDF: header facts, the evidence map and the rule table, rendered with matplotlib's PDF backend."""
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    from matplotlib import pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    t = {k: v[lang] for k, v in TEXT.items()}
    fig = plt.figure(figsize=(8.27, 11.69))
    fig.text(0.06, 0.965, t["title"], fontsize=13, weight="bold")
    verdict = report["verdict"]
    ctx = report["context"]
    facts = [
        (t["kind"], f"{report['kind_label']} {report['proposal']['properties'].get('name') or ''}"),
        (t["verdict"], STATUS_LABELS[verdict][lang]),
        *([("", line) for line in textwrap.wrap(report["verdict_note"], 44)] if report.get("verdict_note") else []),
        (t["commune"], (ctx["commune"] or {}).get("name") or "—"),
        (t["district"], (ctx["district_pre2025"] or {}).get("name") or "—"),
        *[(t["terrain"] if i == 0 else None, line)  # None: the terrain's next line, under no label
          for i, line in enumerate(textwrap.wrap(terrain_text(report, lang), 44))],
        (t["as_of"], report["as_of"]),
    ]
    for i, (k, v) in enumerate(facts):
        if k:
            fig.text(0.06, 0.935 - i * 0.018, f"{k}:", fontsize=8.5)
        note = k == ""  # the verdict's note: what it rests on
        fig.text(0.30, 0.935 - i * 0.018, v, fontsize=8.5 if not note else 7.8,
                 color=STATUS_COLOURS[verdict] if k == t["verdict"] else ("#8a5300" if note else "black"),
                 weight="bold" if k == t["verdict"] or note else "normal")
    ax = fig.add_axes((0.62, 0.80, 0.32, 0.15))
    items = [*_evidence_geoms(report), ("site", shape(report["proposal"]["geometry"]))]
    for role, geom in items:
        stroke, fill, *_ = ROLE_STYLE.get(role, ("#333", "none", role, role))
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type == "Point":
                ax.plot(part.x, part.y, "o", color=stroke, ms=5)
            elif part.geom_type == "LineString":
                x, y = part.xy
                ax.plot(x, y, color=stroke, lw=1.5)
            elif part.geom_type == "Polygon":
                x, y = part.exterior.xy
                ax.fill(x, y, facecolor=fill if fill != "none" else "none", edgecolor=stroke, alpha=0.6, lw=1)
    ax.set_aspect(1 / np.cos(np.radians(np.mean(ax.get_ylim()))))
    ax.set_xticks([])
    ax.set_yticks([])
    x0, x1 = ax.get_xlim()
    y0, _ = ax.get_ylim()
    width_km = (x1 - x0) * 111.32 * np.cos(np.radians(y0))
    ax.set_xlabel(f"← {width_km:.2f} km →  (WGS84)", fontsize=6)
    pages = [fig]
    y = 0.76
    for r in report["results"]:
        if r["status"] == "not_applicable":
            continue
        lines = textwrap.wrap(r["message"], 110) + textwrap.wrap(
            f"{t['basis']}: {_basis_text(r)} · {t['confidence']}: {CONFIDENCE[r['confidence']][lang]}", 115)
        if evidence_text(r, lang):
            lines += textwrap.wrap(evidence_text(r, lang), 115)
        if r.get("caveats") and (r["status"] != "pass" or r["confidence"] != "verified"):
            lines += textwrap.wrap("⚠ " + r["caveats"], 115)
        needed = 0.0135 * (len(lines) + 1) + 0.008
        if y - needed < 0.06:  # continue on a new page rather than drop a rule
            fig = plt.figure(figsize=(8.27, 11.69))
            pages.append(fig)
            y = 0.95
        fig.text(0.06, y, STATUS_LABELS[r["status"]][lang], fontsize=7.5, color="white", weight="bold",
                 bbox={"facecolor": STATUS_COLOURS[r["status"]], "edgecolor": "none", "pad": 1.5})
        fig.text(0.20, y, f"{r['title']}  [{r['rule']}]", fontsize=8.5, weight="bold")
        for j, line in enumerate(lines):
            fig.text(0.20, y - 0.0135 * (j + 1), line, fontsize=7.0)
        y -= needed
    for number, page in enumerate(pages, start=1):
        page.text(0.06, 0.03, "\n".join(textwrap.wrap(t["disclaimer"], 130)), fontsize=6.5, color="#555")
        page.text(0.94, 0.015, f"{number}/{len(pages)}", fontsize=6.5, ha="right")
    buf = io.BytesIO()
    try:
        with PdfPages(buf, metadata={"Title": t["title"], "Creator": "planmap"}) as pdf:
            for page in pages:
                checkpoint()  # between pages: stop if whoever asked has gone
                pdf.savefig(page)
    finally:
        for page in pages:
            plt.close(page)  # pyplot keeps every open figure: close them on every way out
    return buf.getvalue()

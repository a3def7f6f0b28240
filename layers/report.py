"""Compliance reports: the engine's outcomes as the document a department files (JSON-ready dicts, tables)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from geo.crs import CRS84, SupportedCrs, parse_crs, transform_geometries
from layers.checks import CheckEngine, RuleOutcome, verdict
from layers.proposals import Proposals
from layers.rules import PROPOSAL_KIND_LABELS, Rule

METRIC = parse_crs("EPSG:9213")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:,.{digits}f}"


def message(rule: Rule, status: str, measured: float, threshold: object, related: list[dict], note: str | None,
            lang: str) -> str:
    """One sentence saying what was measured against what."""
    vi = lang == "vi"
    if status == "not_applicable":
        return "Không áp dụng cho loại đề xuất này" if vi else "Does not apply to this kind of proposal"
    if status == "unknown":
        reasons = {"the legal value is not known": ("chưa xác định được giá trị pháp lý",
                                                    "the legal value is not known"),
                   "needs data or judgement not yet in planmap": ("cần dữ liệu hoặc thẩm định chưa có trong planmap",
                                                                  "needs data or judgement not yet in planmap")}
        vi_text, en_text = reasons.get(note or "", (note or "", note or ""))
        if note and note.startswith("layer "):
            vi_text = f"thiếu lớp dữ liệu {note.split()[1]}"
        return ("Chưa xác định: " + vi_text) if vi else ("Unknown: " + en_text)
    first = related[0] if related else {}
    name = first.get("name") or f"#{first.get('id', '')}"
    m = rule.measure
    if m == "min_distance":
        if not related:
            return "Không có đối tượng liên quan" if vi else "No such feature in the layer"
        return (f"Gần nhất: {name}, cách {_fmt(measured)} m; yêu cầu ≥ {threshold:g} m" if vi
                else f"Nearest: {name}, {_fmt(measured)} m away; required ≥ {threshold:g} m")
    if m == "outside_corridor":
        if not related:
            return "Không có đường dây" if vi else "No power line in the layer"
        kv = first.get("voltage_kv")
        kv_text = f" {kv:g} kV" if kv else ""
        return (f"Đường dây{kv_text} {name}: cách tim tuyến {_fmt(measured)} m; hành lang {threshold:g} m mỗi bên"
                if vi
                else f"Line{kv_text} {name}: {_fmt(measured)} m from its centreline; "
                     f"corridor {threshold:g} m each side")
    if m == "no_overlap":
        if not related:
            return "Không chồng lấn" if vi else "No overlap"
        kinds = ", ".join(sorted({str(r.get("area_type")) for r in related if r.get("area_type")}))
        return (f"Chồng lấn {len(related)} khu vực ({kinds}), {_fmt(measured, 2)} ha" if vi
                else f"Overlaps {len(related)} area(s) ({kinds}), {_fmt(measured, 2)} ha")
    if m == "area_range":
        low, high = threshold
        extra = f" ({note})" if note else ""
        return (f"Diện tích {_fmt(measured, 2)} ha; cho phép {low:g}–{high:g} ha{extra}" if vi
                else f"Area {_fmt(measured, 2)} ha; allowed {low:g}–{high:g} ha{extra}")
    if m == "within_plan":
        if any(r.get("matched_by") == "name" for r in related):
            return f"Có tên trong phương án: {name}" if vi else f"Named in the plan: {name}"
        if related:
            return (f"{measured:.0%} diện tích nằm trong {name}; yêu cầu ≥ {threshold:.0%}" if vi
                    else f"{measured:.0%} lies within {name}; required ≥ {threshold:.0%}")
        return "Không thuộc cụm công nghiệp nào trong phương án" if vi else "Not within any cluster of the plan"
    if m == "inside":
        return (f"{measured:.0%} nằm trong địa giới tỉnh" if vi else f"{measured:.0%} inside the province")
    return ""


def _evidence(items: list[tuple[str, shapely.Geometry]], rule_id: str, crs: SupportedCrs) -> dict:
    if not items:
        return {"type": "FeatureCollection", "features": []}
    geoms = transform_geometries(np.array([g for _, g in items], dtype=object), METRIC, crs)
    feats = [{"type": "Feature", "properties": {"rule": rule_id, "role": role},
              "geometry": shapely.geometry.mapping(g) if g is not None and not g.is_empty else None}
             for (role, _), g in zip(items, geoms, strict=True)]
    return {"type": "FeatureCollection", "features": feats}


def _plain(value: object) -> object:
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else round(float(value), 4)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def build_reports(engine: CheckEngine, proposals: Proposals, day: dt.date | None = None, lang: str = "vi",
                  crs: SupportedCrs = CRS84, evidence: bool = True) -> list[dict]:
    """A full report per proposal: verdict, one result per rule in force, and where the site lies."""
    day = day or dt.date.today()
    rules, outcomes, geoms = engine.evaluate(proposals, day, evidence=evidence)
    context = engine.context(geoms, day)
    reports = []
    for p in range(len(proposals)):
        kind = str(proposals.kinds[p])
        results = []
        for rule, out in zip(rules, outcomes, strict=True):
            results.append(_result(rule, out, p, lang, crs, evidence))
        applicable = [r["status"] for r in results if r["status"] != "not_applicable"]
        reports.append({
            "verdict": verdict(applicable),
            "kind": kind,
            "kind_label": PROPOSAL_KIND_LABELS[kind][lang],
            "as_of": day.isoformat(),
            "crs": crs.uri,
            "results": results,
            "summary": {s: applicable.count(s) for s in ("fail", "warn", "unknown", "pass")},
            "context": context[p],
            "proposal": {"properties": proposals.properties[p] if proposals.properties else {},
                         "geometry": shapely.geometry.mapping(
                             transform_geometries(np.array([proposals.geoms[p]]), CRS84, crs)[0])},
        })
    return reports


def _result(rule: Rule, out: RuleOutcome, p: int, lang: str, crs: SupportedCrs, evidence: bool) -> dict:
    pos = np.flatnonzero(out.idx == p)
    base = {
        "rule": rule.id,
        "title": getattr(rule.title, lang),
        "severity": rule.severity,
        "unit": rule.unit,
        "legal_basis": [b.model_dump() for b in rule.legal_basis],
        "confidence": rule.confidence,
        "superseded_by": rule.superseded_by,
        "caveats": getattr(rule.caveats, lang) if rule.caveats else None,
    }
    if len(pos) == 0:
        return {**base, "status": "not_applicable", "measured": None, "threshold": rule.threshold, "features": [],
                "evidence": _evidence([], rule.id, crs), "note": None,
                "message": message(rule, "not_applicable", np.nan, None, [], None, lang)}
    j = int(pos[0])
    status, measured, threshold = str(out.status[j]), float(out.measured[j]), out.threshold[j]
    related, note = out.related[j], out.note[j]
    return {**base, "status": status, "measured": _plain(measured), "threshold": _plain(threshold),
            "features": related, "evidence": _evidence(out.evidence[j] if evidence else [], rule.id, crs),
            "note": note, "message": message(rule, status, measured, threshold, related, note, lang)}


def results_table(engine: CheckEngine, proposals: Proposals, day: dt.date | None = None) -> pd.DataFrame:
    """One row per proposal: verdict, and per rule its status and measured value (for batch files)."""
    day = day or dt.date.today()
    rules, outcomes, _ = engine.evaluate(proposals, day, evidence=False)
    n = len(proposals)
    table: dict[str, object] = {"kind": proposals.kinds}
    ranks = np.zeros(n, dtype=int)
    rank = {"not_applicable": 0, "pass": 1, "unknown": 2, "warn": 3, "fail": 4}
    for rule, out in zip(rules, outcomes, strict=True):
        status = np.full(n, "not_applicable", dtype=object)
        measured = np.full(n, np.nan)
        nearest = np.full(n, None, dtype=object)
        status[out.idx] = out.status
        measured[out.idx] = out.measured
        for j, i in enumerate(out.idx):
            if out.related[j]:
                first = out.related[j][0]
                nearest[i] = f"{first['layer']}:{first['id']} {first.get('name') or ''}".strip()
        ranks = np.maximum(ranks, np.vectorize(rank.get, otypes=[int])(status))
        table[f"{rule.id}.status"] = status
        table[f"{rule.id}.measured"] = measured
        table[f"{rule.id}.feature"] = nearest
    names = {v: k for k, v in rank.items()}
    table["verdict"] = np.array([names[max(r, 1)] for r in ranks], dtype=object)
    frame = pd.DataFrame(table)
    return frame[["verdict", *[c for c in frame.columns if c != "verdict"]]]

"""Compliance reports: the engine's outcomes as the document a department files (JSON-ready dicts, tables).

Every result says what it rests on (`evidence_accuracy`: the weakest accuracy among the features that decided it,
and those features with their sources); a report resting on schematic or synthetic features is `indicative` and
says so in its verdict line; a proposal no rule specific to its kind assessed is `unknown` ("not assessed").
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from geo.crs import CRS84, SupportedCrs, parse_crs, transform_geometries
from layers.checks import CheckEngine, overall
from layers.measures import STATUS_RANK, Measure, RuleOutcome
from layers.proposals import Proposals
from layers.provenance import weakest
from layers.rules import PROPOSAL_KIND_LABELS

METRIC = parse_crs("EPSG:9213")
ILLUSTRATIVE = ("schematic", "synthetic")
VERDICT_NOTES = {
    "indicative": {"vi": "Kết luận mang tính tham khảo: dựa trên dữ liệu minh họa",
                   "en": "Indicative verdict: based on illustrative data"},
    "not_assessed": {"vi": "Chưa đánh giá: không quy tắc nào đang có hiệu lực đánh giá được loại đề xuất này",
                     "en": "Not assessed: no rule in force could assess this kind of proposal"},
}
DISCLAIMER = {
    "vi": "Báo cáo tự động dựa trên dữ liệu của planmap; các lớp không chính xác tuyệt đối (gần đúng, sơ đồ, minh họa) "
          "không phải số liệu chính thức. Quy tắc có độ tin cậy thấp hoặc văn bản đã bị thay thế cần được thẩm định.",
    "en": "Automatic report from planmap's data; non-exact layers (approximate, schematic, synthetic) are not "
          "official. Rules of low confidence or from superseded documents need legal review.",
}


def verdict_line(verdict_status: str, indicative: bool, assessed: bool) -> dict[str, str | None]:
    """The notes that go with a verdict, in both languages (None when there is nothing to add)."""
    notes = [VERDICT_NOTES[k] for k, on in (("not_assessed", not assessed and verdict_status == "unknown"),
                                            ("indicative", indicative)) if on]
    return {lang: "; ".join(n[lang] for n in notes) or None for lang in ("vi", "en")}


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
    """A full report per proposal: verdict, one result per rule in force, where the site lies, what the verdict
    rests on, and the rules of its kind that are not in force on the day (each `unknown`, with the reason)."""
    day = day or dt.date.today()
    measures, outcomes, geoms = engine.evaluate(proposals, day, evidence=evidence)
    context = engine.context(geoms, day)
    terrain = engine.terrain_stats(geoms)
    reports = []
    for p in range(len(proposals)):
        context[p]["terrain"] = terrain_context(engine, terrain[p], lang)
        kind = str(proposals.kinds[p])
        results = [_result(m, out, p, lang, crs, evidence) for m, out in zip(measures, outcomes, strict=True)]
        status, assessed = overall([(r["status"], m.rule.general) for r, m in zip(results, measures, strict=True)])
        applicable = [r["status"] for r in results if r["status"] != "not_applicable"]
        accuracies = [r["evidence_accuracy"] for r in results if r["evidence_accuracy"]]
        indicative = any(a in ILLUSTRATIVE for a in accuracies)
        reports.append({
            "verdict": status,
            "assessed": assessed,
            "indicative": indicative,
            "evidence_accuracy": weakest(accuracies) if accuracies else None,
            "verdict_note": verdict_line(status, indicative, assessed)[lang],
            "kind": kind,
            "kind_label": PROPOSAL_KIND_LABELS[kind][lang],
            "as_of": day.isoformat(),
            "crs": crs.uri,
            "results": results,
            "not_in_force": [_not_in_force(rule, day, lang) for rule in engine.rules.not_in_force(day, kind)],
            "summary": {s: applicable.count(s) for s in ("fail", "warn", "unknown", "pass")},
            "context": context[p],
            "disclaimer": DISCLAIMER[lang],
            "proposal": {"properties": proposals.properties[p] if proposals.properties else {},
                         "geometry": shapely.geometry.mapping(
                             transform_geometries(np.array([proposals.geoms[p]]), CRS84, crs)[0])},
        })
    return reports


def terrain_context(engine: CheckEngine, stats: dict, lang: str) -> dict:
    """A site's terrain for its report: elevation range and slope from the service's elevation model, what model
    and how fine; every value None with the reason where the site is not wholly inside its coverage."""
    dem = engine.terrain
    out = {k: stats[k] for k in ("elevation_min_m", "elevation_max_m", "elevation_range_m", "slope_mean_deg",
                                  "slope_max_deg", "slope_mean_pct", "slope_max_pct", "coverage", "resolution_m")}
    out["source"] = dem.source if dem is not None else None
    out["dem"] = dem.path.name if dem is not None else None
    out["note"] = stats["note"][lang] if stats.get("note") else None
    return out


def _rule_facts(rule, lang: str) -> dict:
    return {
        "rule": rule.id,
        "title": getattr(rule.title, lang),
        "severity": rule.severity,
        "unit": rule.unit,
        "legal_basis": [b.model_dump() for b in rule.legal_basis],
        "confidence": rule.confidence,
        "in_force_from": rule.in_force.from_.isoformat() if rule.in_force.from_ else None,
        "in_force_to": rule.in_force.to.isoformat() if rule.in_force.to else None,
        "superseded_by": rule.superseded_by,
        "caveats": getattr(rule.caveats, lang) if rule.caveats else None,
    }


_NOTHING_DECIDED = {"evidence_accuracy": None, "evidence_features": [], "evidence_searched": None}


def _result(measure: Measure, out: RuleOutcome, p: int, lang: str, crs: SupportedCrs, evidence: bool) -> dict:
    """One rule's row of a proposal's report."""
    rule = measure.rule
    pos = np.flatnonzero(out.idx == p)
    base = {**_rule_facts(rule, lang), "in_force": True}
    if len(pos) == 0:
        return {**base, "status": "not_applicable", "measured": None, "threshold": rule.threshold, "features": [],
                "evidence": _evidence([], rule.id, crs), "note": None, **_NOTHING_DECIDED,
                "message": measure.message("not_applicable", np.nan, None, [], None, lang)}
    j = int(pos[0])
    status, measured, threshold = str(out.status[j]), float(out.measured[j]), out.threshold[j]
    related, note = out.related[j], out.note[j]
    return {**base, "status": status, "measured": _plain(measured), "threshold": _plain(threshold),
            "features": related, "evidence": _evidence(out.evidence[j] if evidence else [], rule.id, crs),
            "note": note[lang] if note else None, **out.quality(j),
            "message": measure.message(status, measured, threshold, related, note, lang)}


def _not_in_force(rule, day: dt.date, lang: str) -> dict:
    """A rule of the kind that does not apply on the check's date: `unknown` with the reason, never a pass; the
    rules in force decide the verdict."""
    span = f"{rule.in_force.from_ or '…'} → {rule.in_force.to or '…'}"
    note = {"vi": f"không có hiệu lực ngày {day} (hiệu lực {span})", "en": f"not in force on {day} (in force {span})"}
    return {**_rule_facts(rule, lang), "in_force": False, "status": "unknown", "note": note[lang],
            "message": ("Chưa xác định: " if lang == "vi" else "Unknown: ") + note[lang]}


def results_table(engine: CheckEngine, proposals: Proposals, day: dt.date | None = None) -> pd.DataFrame:
    """One row per proposal: verdict, whether it was assessed, whether it is indicative, and per rule its
    measure's columns (status, measured value, feature, evidence accuracy) — vectorized over the batch."""
    day = day or dt.date.today()
    measures, outcomes, _ = engine.evaluate(proposals, day, evidence=False)
    n = len(proposals)
    table: dict[str, object] = {"kind": proposals.kinds}
    ranks = np.zeros(n, dtype=int)
    assessed = np.zeros(n, dtype=bool)
    indicative = np.zeros(n, dtype=bool)
    for measure, out in zip(measures, outcomes, strict=True):
        rid = measure.rule.id
        columns = measure.columns(out, n)
        status = columns[f"{rid}.status"]
        ranks = np.maximum(ranks, np.vectorize(STATUS_RANK.get, otypes=[int])(status))
        if not measure.rule.general:
            assessed |= np.isin(status, ("pass", "fail", "warn"))
        indicative |= np.isin(columns[f"{rid}.evidence_accuracy"], ILLUSTRATIVE)
        table.update(columns)
    names = {v: k for k, v in STATUS_RANK.items()}
    verdicts = np.array([names[max(r, 1)] for r in ranks], dtype=object)
    verdicts[(verdicts == "pass") & ~assessed] = "unknown"
    table.update(verdict=verdicts, assessed=assessed, indicative=indicative)
    frame = pd.DataFrame(table)
    head = ["verdict", "assessed", "indicative"]
    return frame[[*head, *[c for c in frame.columns if c not in head]]]

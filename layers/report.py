"""Compliance reports: the engine's outcomes as the document a department files (JSON-ready dicts, tables)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from geo.crs import CRS84, SupportedCrs, parse_crs, transform_geometries
from layers.checks import CheckEngine, verdict
from layers.measures import STATUS_RANK, Measure, RuleOutcome
from layers.proposals import Proposals
from layers.rules import PROPOSAL_KIND_LABELS

METRIC = parse_crs("EPSG:9213")


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
    measures, outcomes, geoms = engine.evaluate(proposals, day, evidence=evidence)
    context = engine.context(geoms, day)
    reports = []
    for p in range(len(proposals)):
        kind = str(proposals.kinds[p])
        results = []
        for measure, out in zip(measures, outcomes, strict=True):
            results.append(_result(measure, out, p, lang, crs, evidence))
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


def _result(measure: Measure, out: RuleOutcome, p: int, lang: str, crs: SupportedCrs, evidence: bool) -> dict:
    """One rule's row of a proposal's report."""
    rule = measure.rule
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
                "message": measure.message("not_applicable", np.nan, None, [], None, lang)}
    j = int(pos[0])
    status, measured, threshold = str(out.status[j]), float(out.measured[j]), out.threshold[j]
    related, note = out.related[j], out.note[j]
    return {**base, "status": status, "measured": _plain(measured), "threshold": _plain(threshold),
            "features": related, "evidence": _evidence(out.evidence[j] if evidence else [], rule.id, crs),
            "note": note[lang] if note else None,
            "message": measure.message(status, measured, threshold, related, note, lang)}


def results_table(engine: CheckEngine, proposals: Proposals, day: dt.date | None = None) -> pd.DataFrame:
    """One row per proposal: verdict, and per rule its measure's columns (status, measured value, feature)."""
    day = day or dt.date.today()
    measures, outcomes, _ = engine.evaluate(proposals, day, evidence=False)
    n = len(proposals)
    table: dict[str, object] = {"kind": proposals.kinds}
    ranks = np.zeros(n, dtype=int)
    for measure, out in zip(measures, outcomes, strict=True):
        columns = measure.columns(out, n)
        ranks = np.maximum(ranks, np.vectorize(STATUS_RANK.get, otypes=[int])(columns[f"{measure.rule.id}.status"]))
        table.update(columns)
    names = {v: k for k, v in STATUS_RANK.items()}
    table["verdict"] = np.array([names[max(r, 1)] for r in ranks], dtype=object)
    frame = pd.DataFrame(table)
    return frame[["verdict", *[c for c in frame.columns if c != "verdict"]]]

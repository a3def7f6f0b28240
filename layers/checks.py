"""The compliance engine: the rules in force, evaluated for a whole batch of proposals at once, in metres.

Each rule is one vectorized pass over all proposals it applies to (STRtree queries, shapely array operations),
so one proposal and ten thousand cost the same code path.  Geometry is measured in VN-2000 / TM-3 106°30′.  What
a rule measures is its rule type's business (layers/measures/); the engine prepares the layers in metres, runs
each rule in force through its measure and says where a site lies.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from geo.cancel import checkpoint
from geo.crs import to_metres
from geo.terrain import Terrain
from layers import admin
from layers.dataset import Dataset, Layer
from layers.measures import STATUS_RANK, Batch, Measure, RuleOutcome, Subset
from layers.proposals import Proposals
from layers.rules import RuleBook

NO_DEM_NOTE = {"vi": "máy chủ không có mô hình độ cao (DEM): địa hình chưa xác định",
               "en": "no elevation model (DEM) is loaded: terrain is unknown"}
UNKNOWN_TERRAIN = {"elevation_min_m": None, "elevation_max_m": None, "elevation_range_m": None,
                   "slope_mean_deg": None, "slope_max_deg": None, "slope_mean_pct": None, "slope_max_pct": None,
                   "coverage": 0.0, "cells": 0, "resolution_m": None}
MAX_CACHED_SUBSETS = 256  # per layer: distinct (filters, day) selections kept for later checks


class CheckEngine:
    """Checks proposals against a dataset with a rule book; caches metric geometries and indexes per filter."""

    def __init__(self, dataset: Dataset, rules: RuleBook, terrain: Terrain | None = None) -> None:
        self.dataset = dataset
        self.rules = rules
        self.terrain = terrain  # the elevation model sites are measured on (None: terrain is unknown everywhere)
        self._terrain_seen: tuple[bytes, list[dict]] | None = None

    def terrain_stats(self, geoms: np.ndarray) -> list[dict]:
        """Each metric site's terrain (geo/terrain.py `site_stats`; the slope rule and the report's context ask
        for the same sites in one check: measured once).  Without an elevation model: unknown, with the reason."""
        if self.terrain is None:
            return [{**UNKNOWN_TERRAIN, "note": dict(NO_DEM_NOTE)} for _ in range(len(geoms))]
        key = hashlib.blake2b(b"".join(shapely.to_wkb(np.asarray(geoms, dtype=object)).tolist()),
                              digest_size=16).digest() if len(geoms) else b""
        seen = self._terrain_seen
        if seen is not None and seen[0] == key:
            return seen[1]
        stats = self.terrain.site_stats(geoms)
        self._terrain_seen = (key, stats)
        return stats

    # -- layers in metres -------------------------------------------------------------------------------------
    # What is derived from one layer is cached on that (immutable) layer, not on the engine: an edit of one layer
    # makes a new Dataset and engine, and the other layers keep what they had computed.
    def metric_geoms(self, layer: Layer) -> np.ndarray:
        if "metric" not in layer.cache:
            layer.cache["metric"] = to_metres(layer.frame.geometry.to_numpy())
        return layer.cache["metric"]

    def subset(self, layer_id: str, filters: dict, day: dt.date) -> Subset | None:
        """Features of `layer_id` matching `filters` and valid on `day`; None when the layer is not loaded."""
        layer = self.dataset.get(layer_id)
        if layer is None:
            return None
        key = ("subset", tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in filters.items())), day)
        subsets = layer.cache
        if key not in subsets:
            if len(subsets) > MAX_CACHED_SUBSETS:  # many distinct as_of dates: start afresh, not grow without bound
                subsets.clear()
            mask = layer.valid_on(day)
            valid = int(mask.sum())
            # a filter column that is absent, or empty in every feature in force, cannot select anything honestly
            missing = tuple(name for name in filters if name not in layer.frame.columns
                            or (valid and layer.frame[name][mask].isna().all()))
            for name, wanted in filters.items():
                values = wanted if isinstance(wanted, list) else [wanted]
                if name in missing:
                    mask &= False
                    continue
                mask &= layer.frame[name].astype(str).isin([str(v) for v in values]).to_numpy()
            rows = np.flatnonzero(mask)
            geoms = self.metric_geoms(layer)[rows]
            subsets[key] = Subset(layer, rows, geoms, STRtree(geoms), valid_count=valid, missing=missing)
        return subsets[key]

    # -- the batch ---------------------------------------------------------------------------------------------
    def evaluate(self, proposals: Proposals, day: dt.date | None = None, evidence: bool = True
                 ) -> tuple[list[Measure], list[RuleOutcome], np.ndarray]:
        """Every rule in force on `day` over the batch: each rule's measure, its outcome, and the metric geometries."""
        day = day or dt.date.today()
        geoms = to_metres(proposals.geoms)
        measures = [rule.evaluator() for rule in self.rules.in_force(day)]
        outcomes = []
        for measure in measures:
            checkpoint()  # between rules: stop if whoever asked has gone
            idx = np.flatnonzero(np.isin(proposals.kinds, measure.rule.applies_to))
            outcomes.append(measure.evaluate(Batch(self, proposals, idx, geoms[idx], day, evidence)))
        return measures, outcomes, geoms

    # -- where a proposal lies ---------------------------------------------------------------------------------
    def units_of(self, geoms: np.ndarray, layer_id: str, day: dt.date, fields: tuple[str, ...] = ()
                 ) -> list[dict | None]:
        """The administrative unit of `layer_id` (communes, districts) holding each site's representative point,
        in force on `day`, as a report reference with its `code` and the asked `fields` (None outside them all)."""
        out: list[dict | None] = [None] * len(geoms)
        sub = self.subset(layer_id, {}, day)
        if sub is None or len(geoms) == 0:
            return out
        inp, k = sub.tree.query(shapely.point_on_surface(geoms), predicate="intersects")
        columns = {f: sub.column(f) for f in ("code", *fields) if f in sub.layer.frame.columns}
        for i, kk in zip(inp, k, strict=True):
            ref = sub.ref(kk)
            ref.update({f: _plain(col[kk]) for f, col in columns.items()})
            out[i] = ref
        return out

    def district_names(self, geoms: np.ndarray, day: dt.date) -> list[str | None]:
        """The pre-2025 district of each site's representative point."""
        return [u["name"] if u else None for u in self.units_of(geoms, admin.DISTRICTS, admin.district_day(day))]

    def context(self, geoms: np.ndarray, day: dt.date) -> list[dict]:
        """For each site: its 2025 commune, pre-2025 district, and the parks, clusters, mineral areas it touches."""
        communes = self.units_of(geoms, admin.COMMUNES, admin.commune_day(day))
        districts = self.units_of(geoms, admin.DISTRICTS, admin.district_day(day), ("former_province",))
        out = [{"commune": c, "district_pre2025": d, "industrial_parks": [], "industrial_clusters": [],
                "mineral_areas": []} for c, d in zip(communes, districts, strict=True)]
        for layer_id in ("industrial_parks", "industrial_clusters", "mineral_areas"):
            sub = self.subset(layer_id, {}, day)
            if sub is None:
                continue
            inp, k = sub.tree.query(geoms, predicate="intersects")
            for i, kk in zip(inp, k, strict=True):
                out[i][layer_id].append(sub.ref(kk))
        return out


def _plain(value: object) -> object:
    """A column value as plain JSON (numpy scalars unwrapped, NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return None if value is pd.NA else value


def verdict(statuses: list[str]) -> str:
    """The worst status decides: fail > warn > unknown > pass."""
    worst = max(statuses, key=lambda s: STATUS_RANK[s], default="pass")
    return "pass" if worst == "not_applicable" else worst


def overall(results: list[tuple[str, bool]]) -> tuple[str, bool]:
    """The verdict of a proposal from its rules in force, as (status, general) pairs, and whether any rule
    specific to its kind assessed it.  A pass that rests only on general rules (or on nothing) is `unknown`:
    not assessed, never a pass."""
    statuses = [s for s, _ in results if s != "not_applicable"]
    assessed = any(s in ("pass", "fail", "warn") for s, general in results if not general)
    worst = verdict(statuses)
    return ("unknown" if worst == "pass" and not assessed else worst), assessed

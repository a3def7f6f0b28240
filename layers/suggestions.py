"""Site suggestions: where could a fuel station, an LPG shop or an industrial cluster go?

The compliance engine turned around: instead of checking one site, every rule in force for the kind is screened
over a grid of the search area at once (`Measure.screen`, numpy over whole arrays), the planner's preferences
score the cells that pass them all, the best cells are chosen spaced apart, and each chosen site is then checked
exactly — with the same engine and the same report as POST /checks — before it is suggested.  A rule that cannot
be assessed anywhere (its layer does not exist, its legal value is not known, a `manual` rule) is listed, not
silently passed or dropped.  Suggestions are indicative: they rest on the layers named in the answer, some of
them approximate or synthetic.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import time
from typing import Annotated, Literal

import geopandas as gpd
import numpy as np
import shapely
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from geo.cancel import checkpoint
from geo.crs import CRS84, METRIC_CRS, SupportedCrs, parse_crs, to_metres, transform_geometries
from geo.errors import Unprocessable
from geo.geojson import vertex_count
from geo.grid import Grid, colour_classes
from layers import admin
from layers.catalog import CollectionMeta
from layers.checks import CheckEngine
from layers.dataset import Dataset, layer_from_frame
from layers.exports import Export, export_data
from layers.inputs import inputs_record
from layers.limits import MAX_CHECK_VERTICES_ANONYMOUS, MAX_GRID_CELLS, check_vertices
from layers.measures import STATUS_RANK, GridBatch
from layers.measures.base import HA, TOLERANCE_M, inside_on_grid
from layers.measures.within_plan import unit_key
from layers.proposals import Proposals, check_lonlat, read_geometry
from layers.provenance import DEFAULT_ACCURACY
from layers.query import parse_date
from layers.report import build_reports
from layers.rules import PROPOSAL_KIND_LABELS, ProposalKind, Rule
from layers.text import fold

METRIC = parse_crs(METRIC_CRS)

# -- bounds of one request (every one is enforced before the work starts) ------------------------------------------
MAX_K = 20  # candidates per request: each is checked exactly with a full evidence report
DEFAULT_K = 5
DEFAULT_CELL_M = 100.0  # the whole province at 100 m is ≈ 2.2 M cells (MAX_GRID_CELLS allows 4 M)
MIN_CELL_M = 10.0  # finer than the data (schematic roads, approximate outlines) would be false precision
MAX_CELL_M = 5_000.0
MAX_AREA_HA = 1_000.0  # a requested site; the largest planned industrial park of the province is ≈ 600 ha
MIN_AREA_HA = 0.1  # 1,000 m²: a small factory plot; below it a site is a point, not an area
MAX_CORRIDOR_M = 10_000.0  # each side of a road
DEFAULT_CORRIDOR_M = 500.0
MAX_SPACING_M = 50_000.0
MAX_WEIGHT = 10.0
MAX_VERIFY_ROUNDS = 4  # rounds of exact checks: a candidate the exact check refuses is replaced by the next best
# A polygon candidate when the planner gives no area: the middle of the legal range for a cluster (10–75 ha,
# Decree 32/2024), a mid-size park, a factory plot.  The answer records the area used.
DEFAULT_AREA_HA = {"industrial_cluster": 50.0, "industrial_park": 200.0, "factory": 5.0}
POLYGON_KINDS = tuple(DEFAULT_AREA_HA)
# The network of a kind of station: the layer its "far from stations" preference and its spacing rule look at.
NETWORK = {"fuel_station": "fuel_stations", "lpg_station": "lpg_stations"}

# -- preferences: each scores a cell 0..1; the decays are the distances at which a score has moved by 63 % ---------
NEAR_ROAD_DECAY_M = 2_000.0  # exp(−d/2 km): 1 on a road, 0.61 at 1 km, 0.08 at 5 km from it
FAR_FROM_STATIONS_DECAY_M = 3_000.0  # 1 − exp(−d/3 km): 0 at a station, 0.28 at 1 km, 0.81 at 5 km
DISTANCE_PAD_DECAYS = 3.0  # roads/stations beyond 3 decays of the area barely move a score (< 5 %)
FLAT_ZERO_SLOPE_DEG = 15.0  # 1 − slope/15°: 1 on flat land, 0 from 15° (steep for a platform without terracing)

# -- the suitability overlay ---------------------------------------------------------------------------------------
SCORE_BREAKS = [0.0, 0.2, 0.4, 0.6, 0.8]
INFEASIBLE_COLOUR = "#969696"
SCORE_COLOURS = ["#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837"]
OVERLAY_ALPHA = 150

PREFERENCE_LABELS = {
    "near_road": {"vi": "Gần quốc lộ/đường chính", "en": "Near a main road"},
    "far_from_stations": {"vi": "Xa cửa hàng hiện có", "en": "Far from existing stations"},
    "flat": {"vi": "Đất bằng phẳng", "en": "Flat land"},
    "in_cluster_plan": {"vi": "Trong cụm công nghiệp quy hoạch", "en": "Inside a planned cluster"},
}
INDICATIVE = {"vi": "Gợi ý mang tính tham khảo: cần khảo sát thực địa và thẩm định hồ sơ trước khi quyết định.",
              "en": "Indicative suggestion: survey the site and review it before any decision."}


class SuggestionError(Unprocessable):
    """A suggestion request that cannot be answered as asked, with the reason in English and Vietnamese."""

    code = "InvalidSuggestionRequest"


IsoDate = Annotated[dt.date, BeforeValidator(parse_date), WithJsonSchema({"type": "string", "format": "date"})]
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT)]


class Preferences(BaseModel):
    """How much each preference weighs (0: not at all); the total score is their weighted mean."""

    model_config = ConfigDict(extra="forbid", strict=True)
    near_road: Weight = Field(1.0, description="Gần đường (lớp roads) / near a road")
    far_from_stations: Weight = Field(0.0, description="Xa cửa hàng cùng loại / far from the same network")
    flat: Weight = Field(0.0, description="Độ dốc nhỏ (theo DEM) / low slope (from the DEM)")
    in_cluster_plan: Weight = Field(0.0, description="Trong cụm công nghiệp quy hoạch / inside a planned cluster")


class SearchArea(BaseModel):
    """Where to search: one of a 2025 commune, a pre-2025 district, a drawn polygon, or a corridor along a named
    road; always within the province in force."""

    model_config = ConfigDict(extra="forbid", strict=True)
    commune: str | None = Field(None, min_length=1, max_length=100,
                                description="Xã/phường 2025 (mã hoặc tên) / 2025 commune (code or name)")
    district: str | None = Field(None, min_length=1, max_length=100,
                                 description="Huyện trước 2025 (tên hoặc mã) / pre-2025 district (name or code)")
    polygon: dict | None = Field(None, description="GeoJSON Polygon/MultiPolygon (CRS84)")
    road: str | None = Field(None, min_length=1, max_length=100,
                             description="Số hiệu hoặc tên đường, vd. QL3 / road ref or name, e.g. QL3")
    corridor_m: float | None = Field(None, gt=0, le=MAX_CORRIDOR_M,
                                     description=f"Bề rộng mỗi bên đường (mét, mặc định {DEFAULT_CORRIDOR_M:g}) / "
                                                 f"metres each side of the road (default {DEFAULT_CORRIDOR_M:g})")

    @model_validator(mode="after")
    def _one(self) -> SearchArea:
        given = [n for n in ("commune", "district", "polygon", "road") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of commune, district, polygon or road")
        if self.corridor_m is not None and self.road is None:
            raise ValueError("corridor_m goes with road")
        return self


class SuggestionRequest(BaseModel):
    """A request for site suggestions (POST /suggestions, `planmap suggest`)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    kind: ProposalKind = Field(description="Loại đề xuất / proposal kind")
    as_of: IsoDate | None = Field(None, description="Quy tắc và dữ liệu có hiệu lực ngày này / as of this day")
    k: int = Field(DEFAULT_K, ge=1, le=MAX_K, description="Số vị trí tối đa / candidates wanted")
    cell_m: float = Field(DEFAULT_CELL_M, ge=MIN_CELL_M, le=MAX_CELL_M, description="Ô lưới (mét) / grid cell (m)")
    area: SearchArea | None = Field(None, description="Vùng tìm (mặc định cả tỉnh) / search area (default: the "
                                                      "whole province)")
    preferences: Preferences = Field(default_factory=Preferences)
    area_ha: float | None = Field(None, ge=MIN_AREA_HA, le=MAX_AREA_HA, description=(
        "Diện tích mỗi vị trí (ha) cho cụm/khu công nghiệp, nhà máy / site area for clusters, parks, factories"))
    min_spacing_m: float | None = Field(None, ge=0, le=MAX_SPACING_M, description=(
        "Khoảng cách tối thiểu giữa các vị trí (ngoài quy tắc) / spacing between candidates beyond the rules'"))
    strict: bool = Field(False, description=(
        "true: không gợi ý khi có quy tắc không đánh giá được / no candidates while a rule cannot be assessed"))
    lang: Literal["vi", "en"] = "vi"


# ------------------------------------------------------------------------------------------------- the area
def search_area(engine: CheckEngine, area: SearchArea | None, day: dt.date) -> tuple[shapely.Geometry, dict]:
    """The search area in metres (within the province in force on `day`) and how the answer describes it."""
    province = engine.subset(admin.PROVINCE, {}, day)
    outline = province.union if province is not None and len(province.rows) else None
    if area is None:
        if outline is None:
            raise SuggestionError("no province outline is loaded: name a search area",
                                  "Chưa có ranh giới tỉnh: hãy chọn vùng tìm")
        shape, described = outline, {"type": "province", "name": "Tỉnh / province"}
    elif area.commune is not None:
        shape, described = _unit(engine, admin.COMMUNES, admin.commune_day(day), area.commune, "commune")
    elif area.district is not None:
        shape, described = _unit(engine, admin.DISTRICTS, admin.district_day(day), area.district, "district")
    elif area.polygon is not None:
        shape, described = _polygon(area.polygon), {"type": "polygon"}
    else:
        shape, described = _corridor(engine, area.road, area.corridor_m or DEFAULT_CORRIDOR_M, day)
    if outline is not None:
        shape = shapely.intersection(shape, outline)
    if shape.is_empty or shape.area <= 0:
        raise SuggestionError("the search area lies outside the province in force", "Vùng tìm nằm ngoài địa giới tỉnh")
    described["area_km2"] = round(shape.area / 1e6, 3)
    return shape, described


def _unit(engine: CheckEngine, layer_id: str, day: dt.date, wanted: str, what: str) -> tuple[shapely.Geometry, dict]:
    sub = engine.subset(layer_id, {}, day)
    if sub is None:
        raise SuggestionError(f"layer {layer_id} is not loaded", f"Chưa có lớp {layer_id}")
    key = unit_key(wanted)
    names, codes = sub.column("name"), sub.column("code")
    found = [k for k in range(len(sub.rows))
             if (codes[k] is not None and str(codes[k]) == wanted.strip()) or unit_key(names[k]) == key
             or fold(names[k]) == fold(wanted)]
    if not found:
        raise SuggestionError(f"no {what} named {wanted!r} in force on {day}",
                              f"Không có {'xã/phường' if what == 'commune' else 'huyện'} {wanted!r} ngày {day}")
    k = found[0]
    return sub.geoms[k], {"type": what, "name": str(names[k]), "code": None if codes[k] is None else str(codes[k])}


def _polygon(value: dict) -> shapely.Geometry:
    check_vertices(vertex_count(value), MAX_CHECK_VERTICES_ANONYMOUS, "the search polygon", "Vùng tìm")
    geom = read_geometry(value, SuggestionError)
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise SuggestionError("the search area must be a GeoJSON Polygon or MultiPolygon",
                              "Vùng tìm phải là GeoJSON Polygon hoặc MultiPolygon")
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        raise SuggestionError(f"invalid search polygon: {reason}", f"Vùng tìm không hợp lệ: {reason}")
    try:
        check_lonlat(np.array([geom], dtype=object))
    except Unprocessable as exc:
        raise SuggestionError(exc.en, exc.vi) from None
    return to_metres(np.array([geom], dtype=object))[0]


def road_key(text: object) -> str:
    """A road's ref or name for comparison: "QL.3", "ql 3" and "QL3" are the same road."""
    return "".join(ch for ch in fold(text if isinstance(text, str) else "") if ch.isalnum())


def _corridor(engine: CheckEngine, road: str, width: float, day: dt.date) -> tuple[shapely.Geometry, dict]:
    sub = engine.subset("roads", {}, day)
    if sub is None:
        raise SuggestionError("layer roads is not loaded", "Chưa có lớp đường giao thông (roads)")
    key = road_key(road)
    refs, names = sub.column("ref"), sub.column("name")
    found = np.array([key in (road_key(r), road_key(n)) for r, n in zip(refs, names, strict=True)], dtype=bool)
    if not found.any():
        raise SuggestionError(f"no road {road!r} in layer roads", f"Không có đường {road!r} trong lớp roads")
    k = np.flatnonzero(found)
    shape = shapely.union_all(shapely.buffer(sub.geoms[k], width, quad_segs=8))
    return shape, {"type": "road_corridor", "name": str(names[k[0]]), "ref": str(refs[k[0]]), "corridor_m": width,
                   "features": [sub.ref(int(i)) for i in k]}


# ---------------------------------------------------------------------------------------------- the answer
def suggest(engine: CheckEngine, request: SuggestionRequest) -> dict:
    """Up to `k` sites for `request.kind` that pass every rule that can be assessed, best preferences first,
    spaced apart, each with its exact check report; the suitability surface; what the answer rests on."""
    started = last = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        """Seconds since the previous step, recorded under `name`."""
        nonlocal last
        now = time.perf_counter()
        timings[name] = round(now - last, 3)
        last = now

    day = request.as_of or dt.date.today()
    kind, lang = request.kind, request.lang
    polygonal = kind in POLYGON_KINDS
    if request.area_ha is not None and not polygonal:
        raise SuggestionError(f"area_ha applies to {', '.join(POLYGON_KINDS)}, not to {kind}",
                              f"area_ha chỉ dùng cho {', '.join(POLYGON_KINDS)}")
    area_ha = (request.area_ha or DEFAULT_AREA_HA[kind]) if polygonal else None
    half = math.sqrt(area_ha * HA) / 2 if polygonal else 0.0
    reach = half * math.sqrt(2)  # a square site's half-diagonal: all of it lies within this of its centre
    area, described = search_area(engine, request.area, day)
    grid = Grid.covering(area.bounds, request.cell_m, MAX_GRID_CELLS)  # 413 before anything is allocated
    in_area = inside_on_grid(grid, np.array([area], dtype=object), reach)
    if not in_area.any():
        raise SuggestionError(f"no {request.cell_m:g} m cell of the search area can hold the site: choose smaller "
                              "cells, a smaller site or a larger area",
                              f"Không ô lưới {request.cell_m:g} m nào của vùng tìm chứa được địa điểm: hãy chọn ô "
                              "nhỏ hơn, diện tích nhỏ hơn hoặc vùng lớn hơn")
    lap("area")

    rules = engine.rules.in_force(day, kind)
    feasible, excluded, unassessed, verified_only = _screen(engine, grid, kind, day, reach, area_ha, rules, in_area,
                                                            lang)
    lap("screen")
    total, components, scoring_notes, rasters = _score(engine, grid, kind, day, reach, request.preferences, lang)
    lap("preferences")

    spacing, spacing_basis = _spacing(rules, kind, request.min_spacing_m, reach)
    blocked = bool(unassessed) and request.strict
    candidates, rejected = ([], []) if blocked else _choose(
        engine, grid, kind, day, lang, request.k, feasible, total, components, spacing, half,
        {u["rule"] for u in unassessed}, area_ha)
    lap("choose_and_verify")
    surface = _surface(grid, in_area, feasible, total, lang)
    lap("overlay")

    layer_ids = sorted({r.layer for r in rules if r.layer} | {admin.PROVINCE, admin.COMMUNES, admin.DISTRICTS}
                       | ({"roads"} if request.preferences.near_road else set())
                       | ({NETWORK[kind]} if request.preferences.far_from_stations and kind in NETWORK else set())
                       | ({"industrial_clusters"} if request.preferences.in_cluster_plan else set()))
    parameters = request.model_dump(mode="json")
    parameters.update(as_of=day.isoformat(), area_ha=area_ha, spacing_m=spacing, site_reach_m=round(reach, 2))
    inputs = inputs_record(engine.dataset, layer_ids, day, parameters, rules=rules, rasters=rasters)
    rests_on = [{"layer": entry["id"], "accuracy": entry.get("accuracy", {})}
                for entry in inputs["layers"] if not entry.get("missing")]
    timings["total"] = round(time.perf_counter() - started, 3)
    return {
        "kind": kind, "kind_label": PROPOSAL_KIND_LABELS[kind][lang], "as_of": day.isoformat(),
        "area": described, "site": {"geometry": "polygon" if polygonal else "point", "area_ha": area_ha,
                                    "reach_m": round(reach, 2)},
        "k": request.k, "strict": request.strict, "spacing_m": spacing, "spacing_basis": spacing_basis,
        "candidates": candidates,
        "rejected": rejected,
        "unassessed_rules": unassessed,
        "verified_only_rules": verified_only,
        "cells": {"cell_m": grid.cell, "total": grid.size, "in_area": int(in_area.sum()),
                  "feasible": int(feasible.sum())},
        "excluded_by_rule": excluded,
        "preferences": {name: {"weight": c["weight"], "available": c["available"], "label": c["label"],
                               "note": c.get("note")} for name, c in components.items()},
        "scoring_notes": scoring_notes,
        "surface": surface,
        "note": _summary_note(candidates, unassessed, request.strict, lang),
        "indicative": INDICATIVE[lang],
        "rests_on": rests_on,
        "inputs": inputs,
        "timings": timings,
    }


def _screen(engine: CheckEngine, grid: Grid, kind: str, day: dt.date, reach: float, area_ha: float | None,
            rules: list[Rule], in_area: np.ndarray, lang: str) -> tuple[np.ndarray, dict, list, list]:
    """Every rule over the grid: the cells where all pass, how many cells each rule excluded, the rules that
    cannot be assessed anywhere, and the rules that cannot be screened (only checked on the candidates)."""
    batch = GridBatch(engine, grid, kind, day, reach, area_ha)
    feasible = in_area.copy()
    excluded: dict[str, int] = {}
    unassessed: list[dict] = []
    verified_only: list[str] = []
    for rule in rules:
        checkpoint()  # between rules: stop if whoever asked has gone
        outcome = rule.evaluator().screen(batch)
        if outcome is None:
            verified_only.append(rule.id)
            continue
        if outcome.unassessable:
            unassessed.append(_unassessed(rule, outcome.note, lang))
            continue
        ok = outcome.status <= STATUS_RANK["pass"]
        excluded[rule.id] = int((in_area & ~ok).sum())
        feasible &= ok
    return feasible, excluded, unassessed, verified_only


def _unassessed(rule: Rule, note: dict | None, lang: str) -> dict:
    """A rule no cell could be assessed against, and what the planner must verify on site instead."""
    limit = f" ({rule.threshold:g} {rule.unit})" if rule.threshold is not None else ""
    verify = {"vi": f"Cần tự kiểm tra tại hiện trường/hồ sơ: {rule.title.vi}{limit}",
              "en": f"Verify on site / in the file: {rule.title.en}{limit}"}
    return {"rule": rule.id, "title": getattr(rule.title, lang), "reason": (note or {}).get(lang),
            "verify": verify[lang], "severity": rule.severity, "caveats": getattr(rule.caveats, lang)
            if rule.caveats else None}


def _distance(engine: CheckEngine, grid: Grid, layer_id: str, day: dt.date, decay: float) -> np.ndarray | None:
    """Metres from each cell to the nearest feature of `layer_id` in force (None when there is none)."""
    sub = engine.subset(layer_id, {}, day)
    if sub is None or len(sub.rows) == 0:
        return None
    return grid.distance_to(sub.geoms, reach=DISTANCE_PAD_DECAYS * decay)


def _score(engine: CheckEngine, grid: Grid, kind: str, day: dt.date, reach: float, prefs: Preferences, lang: str
           ) -> tuple[np.ndarray, dict, list, list]:
    """Each preference's score (0..1, NaN where it cannot score) and the weighted mean of those that can."""
    components: dict[str, dict] = {}
    notes: list[str] = []
    rasters: list[dict] = []

    def unavailable(name: str, vi: str, en: str) -> None:
        components[name]["available"] = False
        components[name]["note"] = vi if lang == "vi" else en
        notes.append(f"{PREFERENCE_LABELS[name][lang]}: {components[name]['note']}")

    for name in ("near_road", "far_from_stations", "flat", "in_cluster_plan"):
        weight = float(getattr(prefs, name))
        if weight > 0:
            components[name] = {"weight": weight, "available": True, "label": PREFERENCE_LABELS[name][lang],
                                "score": None, "value": None, "unit": None}
    if "near_road" in components:
        distance = _distance(engine, grid, "roads", day, NEAR_ROAD_DECAY_M)
        if distance is None:
            unavailable("near_road", "không có lớp đường giao thông", "no road layer")
        else:
            components["near_road"].update(score=np.exp(-distance / NEAR_ROAD_DECAY_M), value=distance, unit="m")
    if "far_from_stations" in components:
        if kind not in NETWORK:
            unavailable("far_from_stations", "chỉ dùng cho cửa hàng xăng dầu/LPG", "only for fuel and LPG stations")
        else:
            distance = _distance(engine, grid, NETWORK[kind], day, FAR_FROM_STATIONS_DECAY_M)
            if distance is None:
                unavailable("far_from_stations", f"không có lớp {NETWORK[kind]}", f"no layer {NETWORK[kind]}")
            else:
                components["far_from_stations"].update(score=1.0 - np.exp(-distance / FAR_FROM_STATIONS_DECAY_M),
                                                       value=distance, unit="m")
    if "flat" in components:
        terrain = engine.terrain
        if terrain is None:
            unavailable("flat", "máy chủ chưa có mô hình độ cao (DEM): độ dốc chưa biết, không cho điểm",
                        "no elevation model (DEM) on this server: the slope is unknown and is not scored")
        else:
            _, slope = terrain.on_grid(grid)
            components["flat"].update(score=np.clip(1.0 - slope / FLAT_ZERO_SLOPE_DEG, 0.0, 1.0), value=slope,
                                      unit="°")
            rasters.append({"role": "slope", "path": terrain.path.name, "crs": terrain.crs})
            if np.isnan(slope).any():
                notes.append(PREFERENCE_LABELS["flat"][lang] + (
                    ": ngoài vùng phủ của DEM độ dốc chưa biết — không cho điểm (không coi là bằng phẳng)"
                    if lang == "vi" else ": outside the DEM's coverage the slope is unknown — not scored "
                                         "(never taken as flat)"))
    if "in_cluster_plan" in components:
        sub = engine.subset("industrial_clusters", {}, day)
        if sub is None or len(sub.rows) == 0:
            unavailable("in_cluster_plan", "không có lớp cụm công nghiệp", "no industrial cluster layer")
        else:
            inside = inside_on_grid(grid, sub.geoms, reach).astype("float32")
            components["in_cluster_plan"].update(score=inside, value=inside, unit="")
    total = _weighted_mean(grid, components)
    return total, components, notes, rasters


def _weighted_mean(grid: Grid, components: dict) -> np.ndarray:
    """The weighted mean of the scores that exist in each cell (NaN where none does); 1 everywhere when the
    planner set no preference at all (every feasible cell is as good)."""
    usable = [c for c in components.values() if c["available"]]
    if not usable:
        return np.ones(grid.shape, dtype="float32")
    num = np.zeros(grid.shape, dtype="float32")
    den = np.zeros(grid.shape, dtype="float32")
    for c in usable:
        score = np.asarray(c["score"], dtype="float32")
        known = np.isfinite(score)
        num += np.where(known, score * c["weight"], 0.0)
        den += np.where(known, c["weight"], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan).astype("float32")


def _spacing(rules: list[Rule], kind: str, asked: float | None, reach: float) -> tuple[float, list[str]]:
    """How far apart candidates must be: the kind's own spacing rule (a min_distance rule to its network, read
    from the rules), the planner's `min_spacing_m`, and for sites with an extent, never overlapping."""
    values, basis = [0.0], []
    network = NETWORK.get(kind)
    for rule in rules:
        if rule.measure == "min_distance" and network and rule.layer == network and rule.threshold is not None:
            values.append(float(rule.threshold))
            basis.append(rule.id)
    if asked:
        values.append(float(asked))
        basis.append("min_spacing_m")
    if reach:
        values.append(2 * reach)
        basis.append("site_extent")
    return max(values), basis


def _choose(engine: CheckEngine, grid: Grid, kind: str, day: dt.date, lang: str, k: int, feasible: np.ndarray,
            total: np.ndarray, components: dict, spacing: float, half: float, unassessed: set[str],
            area_ha: float | None) -> tuple[list[dict], list[dict]]:
    """Greedy: the best feasible cell, then the best at least `spacing` from those taken…; each round's picks are
    checked exactly together, the refused ones replaced by the next best (at most MAX_VERIFY_ROUNDS rounds)."""
    base = np.where(feasible, np.nan_to_num(total, nan=0.0), -1.0).astype("float32")
    accepted: list[tuple[int, dict]] = []
    rejected: list[dict] = []
    number = 0
    for _ in range(MAX_VERIFY_ROUNDS):
        need = k - len(accepted)
        if need <= 0:
            break
        avail = base.copy()
        for cell, _c in accepted:
            _suppress(avail, grid, cell, spacing)
        picks: list[int] = []
        while len(picks) < need:
            cell = int(np.argmax(avail))
            if avail.flat[cell] < 0:
                break
            picks.append(cell)
            _suppress(avail, grid, cell, spacing)
        if not picks:
            break
        checkpoint()
        rows, cols = np.divmod(np.asarray(picks), grid.width)
        xs, ys = grid.centres(rows, cols)
        geoms_m = shapely.box(xs - half, ys - half, xs + half, ys + half) if half else shapely.points(xs, ys)
        names = [f"Gợi ý {number + i + 1}" if lang == "vi" else f"Suggestion {number + i + 1}"
                 for i in range(len(picks))]
        number += len(picks)
        props = [{"kind": kind, "name": n, **({"area_ha": area_ha} if area_ha else {})} for n in names]
        geoms = transform_geometries(np.asarray(geoms_m, dtype=object), METRIC, CRS84)
        reports = build_reports(engine, Proposals(np.full(len(picks), kind, dtype=object), geoms, props), day, lang,
                                CRS84, evidence=True)
        for i, (cell, report) in enumerate(zip(picks, reports, strict=True)):
            refusing = [r["rule"] for r in report["results"] if r["status"] in ("fail", "warn")
                        or (r["status"] == "unknown" and r["rule"] not in unassessed)]
            if refusing:
                base.flat[cell] = -1.0
                rejected.append({"name": names[i], "rules": refusing,
                                 "geometry": shapely.geometry.mapping(geoms[i])})
                continue
            accepted.append((cell, _candidate(grid, cell, geoms[i], report, total, components, area_ha, lang)))
    ordered = sorted((c for _, c in accepted), key=lambda c: -c["score"])
    for rank, candidate in enumerate(ordered, start=1):
        candidate["rank"] = rank
    return ordered, rejected


def _suppress(avail: np.ndarray, grid: Grid, cell: int, spacing: float) -> None:
    """No other candidate closer than `spacing` to the cell (centre to centre; exactly at it is allowed)."""
    row, col = divmod(cell, grid.width)
    radius = int(math.ceil(spacing / grid.cell))
    r0, r1 = max(0, row - radius), min(grid.height, row + radius + 1)
    c0, c1 = max(0, col - radius), min(grid.width, col + radius + 1)
    dr = (np.arange(r0, r1) - row)[:, None] * grid.cell
    dc = (np.arange(c0, c1) - col)[None, :] * grid.cell
    window = avail[r0:r1, c0:c1]
    window[np.hypot(dr, dc) < spacing - TOLERANCE_M] = -1.0
    avail.flat[cell] = -1.0


def _candidate(grid: Grid, cell: int, geom: shapely.Geometry, report: dict, total: np.ndarray, components: dict,
               area_ha: float | None, lang: str) -> dict:
    """One suggested site: its score and each preference's part, its geometry and its exact check report."""
    row, col = divmod(cell, grid.width)
    parts = {}
    for name, c in components.items():
        score = None if not c["available"] else _number(np.asarray(c["score"])[row, col])
        value = None if not c["available"] else _number(np.asarray(c["value"])[row, col])
        parts[name] = {"weight": c["weight"], "score": score, "value": value, "unit": c["unit"],
                       "label": c["label"], **({"note": c["note"]} if c.get("note") else {})}
    centre = shapely.centroid(geom)
    return {"rank": 0, "score": _number(total[row, col]) or 0.0, "components": parts,
            "geometry": shapely.geometry.mapping(geom), "centre": [round(centre.x, 7), round(centre.y, 7)],
            "area_ha": area_ha, "verdict": report["verdict"], "report": report, "note": INDICATIVE[lang]}


def _number(value: object) -> float | None:
    value = float(value)
    return round(value, 4) if math.isfinite(value) else None


def _surface(grid: Grid, in_area: np.ndarray, feasible: np.ndarray, total: np.ndarray, lang: str) -> dict:
    """The suitability surface as a map overlay: cells that fail a rule in one colour, feasible cells by score."""
    values = np.where(in_area, np.where(feasible, np.nan_to_num(total, nan=0.0), -1.0), np.nan).astype("float32")
    rgba = colour_classes(values, SCORE_BREAKS, [INFEASIBLE_COLOUR, *SCORE_COLOURS], alpha=OVERLAY_ALPHA)
    png, bounds = grid.overlay_png(rgba)
    classes = [{"colour": INFEASIBLE_COLOUR, "vi": "Không đạt quy tắc", "en": "Fails a rule"}]
    edges = [*SCORE_BREAKS, 1.0]
    for i, colour in enumerate(SCORE_COLOURS):
        label = f"{edges[i]:.1f}–{edges[i + 1]:.1f}"
        classes.append({"colour": colour, "vi": f"Đạt, điểm {label}", "en": f"Feasible, score {label}"})
    return {"png": base64.b64encode(png).decode("ascii"), "media_type": "image/png", "bounds": list(bounds),
            "crs": "OGC:CRS84", "legend": {"title": {"vi": "Mức phù hợp", "en": "Suitability"}, "classes": classes},
            "lang": lang}


def _summary_note(candidates: list[dict], unassessed: list[dict], strict: bool, lang: str) -> str:
    vi = lang == "vi"
    parts = [INDICATIVE[lang]]
    if unassessed:
        ids = ", ".join(u["rule"] for u in unassessed)
        if strict:
            parts.append(f"Không gợi ý vị trí nào (strict): các quy tắc sau không đánh giá được: {ids}." if vi else
                         f"No candidates (strict): these rules cannot be assessed: {ids}.")
        else:
            parts.append(f"Các quy tắc sau không đánh giá được từ dữ liệu và vẫn là 'chưa xác định' trong báo cáo "
                         f"từng vị trí — cần kiểm tra tại hiện trường: {ids}." if vi else
                         f"These rules cannot be assessed from the data and stay 'unknown' in each candidate's "
                         f"report — verify them on site: {ids}.")
    if not candidates and not (unassessed and strict):
        parts.append("Không tìm được vị trí nào đạt mọi quy tắc trong vùng tìm." if vi else
                     "No site in the search area passes every rule.")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------- candidates out
SUGGESTIONS_LAYER = "suggestions"
SUGGESTIONS_META = CollectionMeta(
    id=SUGGESTIONS_LAYER, title={"vi": "Gợi ý vị trí (tham khảo)", "en": "Site suggestions (indicative)"},
    description={"vi": "Vị trí gợi ý của planmap, mang tính tham khảo", "en": "planmap's indicative site suggestions"},
    license="planmap", attribution="planmap — gợi ý tham khảo / indicative suggestions")


def candidates_frame(answer: dict) -> gpd.GeoDataFrame:
    """The candidates as a layer (CRS84): rank, score, each preference's score, verdict, the rules to verify on
    site, the note, and `source`/`accuracy` like every feature (accuracy: the weakest of the evidence)."""
    verify = "; ".join(u["rule"] for u in answer["unassessed_rules"])
    rows = []
    for c in answer["candidates"]:
        report = c["report"]
        row = {"rank": c["rank"], "name": report["proposal"]["properties"].get("name"), "kind": answer["kind"],
               "score": c["score"], "verdict": c["verdict"], "area_ha": c["area_ha"], "as_of": answer["as_of"],
               **{f"score_{name}": np.nan if part["score"] is None else part["score"]
                  for name, part in c["components"].items()},
               "unassessed_rules": verify, "commune": (report["context"].get("commune") or {}).get("name"),
               "note": c["note"], "source": "planmap suggest " + answer["inputs"]["computed_at"],
               "accuracy": report["evidence_accuracy"] or DEFAULT_ACCURACY,
               "geometry": shapely.geometry.shape(c["geometry"])}
        rows.append(row)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="OGC:CRS84") if rows else gpd.GeoDataFrame(
        {"rank": [], "geometry": []}, geometry="geometry", crs="OGC:CRS84")
    frame.index = range(1, len(frame) + 1)
    return frame


def candidates_geojson(answer: dict) -> dict:
    """The candidates as a GeoJSON FeatureCollection (what `f=geojson` answers), with the answer's notes."""
    frame = candidates_frame(answer)
    features = [{"type": "Feature", "id": int(i), "geometry": c["geometry"],
                 "properties": {k: _plain_value(v) for k, v in row.items() if k != "geometry"}}
                for (i, row), c in zip(frame.iterrows(), answer["candidates"], strict=True)]
    return {"type": "FeatureCollection", "features": features, "note": answer["note"],
            "unassessed_rules": answer["unassessed_rules"], "inputs": answer["inputs"]}


def _plain_value(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def export_candidates(answer: dict, fmt: str, crs: SupportedCrs = CRS84) -> Export:
    """The candidates in an export format of the service (GeoPackage, Shapefile, KML, DXF, CSV …), written by
    the same writer as any layer's export."""
    if not answer["candidates"]:
        raise SuggestionError("no candidate to export", "Không có vị trí gợi ý nào để xuất")
    layer = layer_from_frame(SUGGESTIONS_META, candidates_frame(answer))
    dataset = Dataset({SUGGESTIONS_LAYER: layer}, catalog={SUGGESTIONS_LAYER: SUGGESTIONS_META})
    return export_data(dataset, [SUGGESTIONS_LAYER], fmt, crs)

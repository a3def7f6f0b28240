"""Reproducible build of the shipped default dataset ``data/planmap.gpkg``.

Reads the raw open inputs in ``data/sources/`` (see ``data/sources/SOURCES.md``) and the facts in
``data/sources/plan_facts.yaml`` / ``roads_schematic.yaml`` / ``mountainous_districts.yaml`` and writes ONE
GeoPackage (EPSG:4326) with one layer per collection id. Everything that is not ``accuracy == "exact"`` is
demonstration data, and no schematic or synthetic feature carries a legal basis of its own (``plan_reference``
says which plan fact it stands for).

Deterministic: all pseudo-random choices come from ``numpy.random.default_rng`` with fixed seeds (one
stream per layer), inputs are processed in a fixed order, and GDAL's timestamp is pinned, so the same
inputs give the same attribute tables and geometries.

Usage: ``python -m layers.build_dataset [sources_dir] [out_path]``.
"""

from __future__ import annotations

import math
import os
import sys
import unicodedata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import yaml
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = ROOT / "data" / "sources"
DEFAULT_OUT = ROOT / "data" / "planmap.gpkg"

SEED = 20250701
WGS84 = "EPSG:4326"
METRIC = "EPSG:9213"  # VN-2000 / TM-3 106-30, the working CRS of Thái Nguyên and Bắc Kạn
FIXED_DATE = "2025-07-01T00:00:00Z"  # pinned GeoPackage timestamp (gpkg_contents.last_change)
ACCURACY = ("exact", "approximate", "schematic", "synthetic")
PUBLIC_FACILITY_KINDS = (
    "school", "kindergarten", "college", "university", "hospital", "clinic", "market", "supermarket",
    "shopping_centre", "stadium", "bus_station", "train_station", "office",
)
# OSM tag (key=value) -> public facility kind; tags not listed are not public facilities
OSM_FACILITY_TAGS = {
    "amenity=school": "school", "amenity=kindergarten": "kindergarten", "amenity=college": "college",
    "amenity=university": "university", "amenity=hospital": "hospital", "amenity=clinic": "clinic",
    "amenity=doctors": "clinic", "amenity=marketplace": "market", "shop=supermarket": "supermarket",
    "shop=department_store": "shopping_centre", "shop=mall": "shopping_centre", "leisure=stadium": "stadium",
    "amenity=bus_station": "bus_station", "railway=station": "train_station", "amenity=townhall": "office",
}
OSM_FUEL_TAGS = ("amenity=fuel", "shop=fuel", "shop=gas")
SYNTHETIC_LEVELS = ("schematic", "synthetic")  # their geometry stands for a plan fact; no legal basis of their own
LAYER_ORDER = (
    "province", "districts", "communes", "places", "roads",
    "public_facilities", "industrial_parks", "industrial_clusters",
    "fuel_stations", "lpg_stations",
    "power_plants", "substations", "power_lines",
    "mines", "mineral_areas",
)

SRC_OSM = "OpenStreetMap 2018-01-03 via Geofabrik free shapefiles (ODbL 1.0, © OpenStreetMap contributors)"
SRC_HOT = ("OpenStreetMap via HOT OSM Export hotosm_vnm_points_of_interest, exported 2025 or later "
           "(ODbL 1.0, © OpenStreetMap contributors)")
SRC_LEGO = ("CTU-SematX LegoCity opendata at commit a1aabc7 (2025-12-08), treated as CC BY-SA 4.0; "
            "original source not stated")
SRC_DVHCVN = ("dvhcvn (daohoangson), crawled from the government GIS portal 2019 (GPL-3.0); "
              "not an official boundary file")
SRC_2025 = ("thanglequoc/vietnamese-provinces-database export 2026-07-25, geometry from Bando.com.vn "
            "(repository MIT; Bando.com.vn terms apply), coverage-simplified; not an official boundary file")
SRC_GEM_COAL = "Global Energy Monitor, Global Coal Plant Tracker 2024-07 (CC BY 4.0)"
SRC_GEM_IRON = "Global Energy Monitor, Global Iron Ore Mines Tracker 2024-11 (CC BY 4.0)"
SRC_PYPSA = ("pypsa-meets-earth/pypsa-asean 0.1.1 buses (CC BY 4.0; derived from OpenStreetMap, ODbL), "
             "network-simplified positions")
SRC_SYN = "planmap synthetic demo data"
SRC_SCHEMATIC = "planmap schematic drawing (not surveyed)"
ILLUSTRATIVE = "the geometry is illustrative, not taken from the document"

_TONE_FIX = {  # old-style tone placement -> new style, for name matching only
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------
def nfc(s: Any) -> Any:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return None
    return unicodedata.normalize("NFC", str(s)).strip()


def key(s: str) -> str:
    """Normalised name for matching (NFC, lower case, new-style tone marks)."""
    k = (nfc(s) or "").lower()
    for old, new in _TONE_FIX.items():
        k = k.replace(old, new)
    return k


def unit_name(s: str) -> str:
    """District/province name as the plans write it ("Thành Phố Bắc Kạn" in dvhcvn -> "Thành phố Bắc Kạn")."""
    return nfc(s).replace("Thành Phố ", "Thành phố ")


def osm_tag(row: Any) -> str | None:
    """The first `key=value` tag of an OSM export row that can make it a facility or a fuel point."""
    for k in ("amenity", "shop", "leisure", "railway"):
        v = getattr(row, k, None)
        if isinstance(v, str) and v:
            return f"{k}={v}"
    return None


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, sum(ord(c) * (i + 1) for i, c in enumerate(name))])


_TO_M = Transformer.from_crs(WGS84, METRIC, always_xy=True)
_TO_LL = Transformer.from_crs(METRIC, WGS84, always_xy=True)


def _tf(transformer: Transformer):
    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])
    return fn


def to_m(geom):
    return shapely.transform(geom, _tf(_TO_M))


def to_ll(geom):
    return shapely.transform(geom, _tf(_TO_LL))


def as_multipolygon(geom) -> MultiPolygon:
    if geom.is_empty:
        return MultiPolygon()
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    parts: list[Polygon] = []
    for p in polys:
        parts.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    return MultiPolygon(parts)


def line_parts(geom) -> list[LineString]:
    if geom.is_empty:
        return []
    if isinstance(geom, LineString):
        return [geom]
    if isinstance(geom, MultiLineString):
        return list(geom.geoms)
    out: list[LineString] = []
    for g in getattr(geom, "geoms", []):
        out.extend(line_parts(g))
    return out


def ellipse(center: Point, area_m2: float, aspect: float = 1.3, angle: float = 0.0) -> Polygon:
    a = math.sqrt(area_m2 * aspect / math.pi)
    b = area_m2 / (math.pi * a)
    shape = affinity.scale(Point(0, 0).buffer(1.0, quad_segs=12), a, b)
    shape = affinity.rotate(shape, angle, origin=(0, 0))
    shape = affinity.translate(shape, center.x, center.y)
    return affinity.scale(shape, *(2 * [math.sqrt(area_m2 / shape.area)]), origin=center)


def rounded_rect(center: Point, area_m2: float, aspect: float, angle: float) -> Polygon:
    w = math.sqrt(area_m2 * aspect)
    h = area_m2 / w
    r = 0.12 * min(w, h)
    box = shapely.box(-w / 2 + r, -h / 2 + r, w / 2 - r, h / 2 - r).buffer(r, quad_segs=4)
    box = affinity.rotate(box, angle, origin=(0, 0))
    box = affinity.translate(box, center.x, center.y)
    return affinity.scale(box, *(2 * [math.sqrt(area_m2 / box.area)]), origin=center)


def blob(center: Point, area_m2: float, rng: np.random.Generator, n: int = 14) -> Polygon:
    """Irregular star-shaped polygon of the given area (for synthetic mineral areas)."""
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    rad = 1.0 + rng.uniform(-0.3, 0.3, n)
    aspect = rng.uniform(1.0, 1.8)
    pts = [(math.cos(t) * r * aspect, math.sin(t) * r) for t, r in zip(ang, rad, strict=True)]
    poly = affinity.rotate(Polygon(pts), float(rng.uniform(0, 180)), origin=(0, 0))
    poly = shapely.make_valid(poly).convex_hull if not poly.is_valid else poly
    poly = affinity.translate(poly, center.x, center.y)
    return affinity.scale(poly, *(2 * [math.sqrt(area_m2 / poly.area)]), origin=center)


def offset(p: Point, dist: float, bearing_deg: float) -> Point:
    t = math.radians(bearing_deg)
    return Point(p.x + dist * math.sin(t), p.y + dist * math.cos(t))


def mst_edges(points: list[Point]) -> list[tuple[int, int]]:
    """Euclidean minimum spanning tree (Prim), deterministic tie-breaking by index."""
    n = len(points)
    if n < 2:
        return []
    in_tree = [False] * n
    best = [math.inf] * n
    parent = [-1] * n
    best[0] = 0.0
    edges = []
    for _ in range(n):
        u = min((i for i in range(n) if not in_tree[i]), key=lambda i: (best[i], i))
        in_tree[u] = True
        if parent[u] >= 0:
            edges.append((parent[u], u))
        for v in range(n):
            if not in_tree[v]:
                d = points[u].distance(points[v])
                if d < best[v]:
                    best[v], parent[v] = d, u
    return edges


def read(sources: Path, rel: str) -> gpd.GeoDataFrame:
    df = pyogrio.read_dataframe(sources / rel)
    return df.to_crs(WGS84) if df.crs is not None and df.crs != WGS84 else df


def int_or_none(v: Any) -> int | None:
    if v is None:
        return None
    s = str(v).strip().replace(".", "").replace(",", "")
    if s in {"", "nan", "None"}:
        return None
    try:
        n = int(float(s))
    except ValueError:
        return None
    return n if n > 0 else None


def float_or_none(v: Any) -> float | None:
    if v is None:
        return None
    s = str(v).strip()
    if s in {"", "nan", "None"}:
        return None
    try:
        return float(s)
    except ValueError:
        return float(s.replace(".", "").replace(",", "."))


# --------------------------------------------------------------------------------------------------
# context: admin geometry shared by all layers (metric copies for generation)
# --------------------------------------------------------------------------------------------------
class Ctx:
    def __init__(self, sources: Path):
        self.sources = sources
        self.facts = yaml.safe_load((sources / "plan_facts.yaml").read_text(encoding="utf-8"))
        self.roads_cfg = yaml.safe_load((sources / "roads_schematic.yaml").read_text(encoding="utf-8"))

        com = read(sources, "admin/tn2025_communes_simplified.geojson")
        com = com.sort_values("code", kind="stable").reset_index(drop=True)
        com["geometry"] = [as_multipolygon(g) for g in com.geometry]
        self.communes_raw = com
        self.prov_ll = shapely.union_all(com.geometry.values)
        self.prov_m = to_m(self.prov_ll)
        shapely.prepare(self.prov_m)
        self.com_names = [nfc(n) for n in com["name"]]
        self.com_kind = [nfc(f).split(" ")[0] for f in com["fullName"]]  # Phường / Xã
        self.com_m = [to_m(g) for g in com.geometry]
        self.com_tree = shapely.STRtree(self.com_m)

        old = read(sources, "admin/tn2025_area_pre2025_districts.geojson")
        old = old.sort_values("ma_huyen", kind="stable").reset_index(drop=True)
        self.olddist = old
        old_m = [to_m(g) for g in old.geometry]
        self.former_districts: list[str] = []
        self.former_province: list[str] = []
        for cg in self.com_m:
            shares = []
            for j, dg in enumerate(old_m):
                if cg.intersects(dg):
                    shares.append((cg.intersection(dg).area / cg.area, j))
            shares.sort(key=lambda t: (-t[0], t[1]))
            keep = [j for s, j in shares if s >= 0.2] or [shares[0][1]]
            self.former_districts.append("; ".join(unit_name(old.loc[j, "ten"]) for j in keep))
            provs = []
            for j in keep:
                p = nfc(old.loc[j, "ten_tinh_cu"]).replace("Tỉnh ", "")
                if p not in provs:
                    provs.append(p)
            self.former_province.append("; ".join(provs))

        self.hot = read(sources, "hotosm2025/hotosm_poi_facilities_fuel_thainguyen.geojson")
        self.hot = self.hot.rename(columns=lambda c: c.replace(":", "_"))  # name:vi -> name_vi
        self.hot = self.hot.sort_values("osm_id", kind="stable").reset_index(drop=True)

        places = read(sources, "osm2018/osm2018_places.geojson")
        places = places.sort_values("osm_id", kind="stable").reset_index(drop=True)
        places["geometry_m"] = [to_m(g) for g in places.geometry]
        inside = [self.prov_m.covers(g) for g in places["geometry_m"]]
        self.places = places[inside].reset_index(drop=True)

    # commune lookups --------------------------------------------------------------------------------
    def commune_index(self, name: str) -> int:
        k = key(name)
        for i, n in enumerate(self.com_names):
            if key(n) == k:
                return i
        raise KeyError(f"2025 commune not found: {name}")

    def commune_of(self, pt_m: Point) -> str | None:
        hits = self.com_tree.query(pt_m, predicate="within")
        if len(hits) == 0:
            hits = self.com_tree.query(pt_m, predicate="dwithin", distance=50.0)
        return self.com_names[int(min(hits))] if len(hits) else None

    def commune_by_formed_from(self, pre_name: str) -> int:
        k = key(pre_name)
        for i, text in enumerate(self.communes_raw["truoc_sap_nhap"]):
            parts = [key(p.split("(")[0]) for p in nfc(text).split(",")]
            if k in parts:
                return i
        # a commune that kept its name
        short = key(pre_name.split(" ", 1)[1]) if " " in pre_name else k
        for i, n in enumerate(self.com_names):
            if key(n) == short:
                return i
        raise KeyError(f"pre-merger unit not found in formed_from: {pre_name}")

    def centre(self, i: int) -> Point:
        """Commune centre: the OSM town/city inside it nearest its representative point, else that point."""
        rep = self.com_m[i].representative_point()
        cand = [g for g, c in zip(self.places["geometry_m"], self.places["fclass"], strict=True)
                if c in ("city", "town") and self.com_m[i].contains(g)]
        if cand:
            return min(cand, key=lambda g: (g.distance(rep), g.x))
        return rep

    def is_old_tn(self, i: int) -> bool:
        return "Thái Nguyên" in self.former_province[i]

    def main_district(self, i: int) -> str:
        return self.former_districts[i].split("; ")[0]

    def inside(self, geom) -> bool:
        return self.prov_m.covers(geom)


def frame(rows: list[dict], geoms_m: list, columns: list[str]) -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows, columns=columns)
    return gpd.GeoDataFrame(df, geometry=[to_ll(g) for g in geoms_m], crs=WGS84)


# --------------------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------------------
def build_province(ctx: Ctx) -> gpd.GeoDataFrame:
    f = ctx.facts["province"]
    a, b = f["after_2025"], f["pre_2025"]
    pre = read(ctx.sources, "admin/tn_pre2025_province.geojson")
    rows = [
        dict(name=a["name"], name_en=a["name_en"], code=a["code"], version="2025", valid_from=a["valid_from"],
             valid_to=None, area_km2=a["area_km2"], population=a["population"], legal_basis=a["legal_basis"],
             note=a.get("note"),
             source=f"Dissolved from the 92 communes/wards of {SRC_2025}; area and population: official "
                    "figures (Resolution 202/2025/QH15)",
             accuracy="approximate"),
        dict(name=b["name"], name_en=b["name_en"], code=b["code"], version="pre2025", valid_from=None,
             valid_to=b["valid_to"], area_km2=b["area_km2"], population=b["population"],
             legal_basis=b["legal_basis"], note=b.get("note"), source=SRC_DVHCVN, accuracy="approximate"),
    ]
    geoms = [as_multipolygon(ctx.prov_ll), as_multipolygon(pre.geometry.iloc[0])]
    df = pd.DataFrame(rows)
    df["population"] = df["population"].astype("Int64")
    return gpd.GeoDataFrame(df, geometry=geoms, crs=WGS84)


def build_districts(ctx: Ctx) -> gpd.GeoDataFrame:
    """The 17 pre-2025 district-level units of today's province, with whether each is mountainous and why."""
    d = ctx.olddist
    listed = {unit_name(e["name"]): e for e in
              yaml.safe_load((ctx.sources / "mountainous_districts.yaml").read_text(encoding="utf-8"))["districts"]}
    rows = []
    for r in d.itertuples():
        name = unit_name(r.ten)
        m = listed.get(name)
        if m is None or not isinstance(m.get("mountainous"), bool):
            raise KeyError(f"mountainous_districts.yaml has no true/false entry for {name}")
        rows.append(dict(code=str(r.ma_huyen), name=name, kind=nfc(r.loai), area_km2=float(r.dien_tich_km2),
                         former_province=nfc(r.ten_tinh_cu).replace("Tỉnh ", ""), mountainous=m["mountainous"],
                         mountainous_basis=nfc(m["basis"]), mountainous_confidence=m["confidence"],
                         valid_from=None, valid_to="2025-06-30", source=SRC_DVHCVN, accuracy="approximate"))
    if set(listed) - {r["name"] for r in rows}:
        raise KeyError(f"mountainous_districts.yaml names unknown districts: {set(listed) - {r['name'] for r in rows}}")
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[as_multipolygon(g) for g in d.geometry], crs=WGS84)


POPULATION_NOTE = ("published figure as carried by vietnamese-provinces-database; not checked against Resolution "
                   "1683/NQ-UBTVQH15 (not available offline)")


def population_check(pop: int | None, area_km2: float | None, formed_from: str, province_density: float) -> str | None:
    """Why a commune's published population is implausible, or None.

    Two tests: a density below a tenth of the province's own (official population / official area), or fewer
    than 5,000 people in a unit that absorbed a former town (thị trấn) or ward — each such town alone had more."""
    if pop is None or not area_km2:
        return None
    if pop / area_km2 < province_density / 10:
        return (f"implausible: {pop:,} people on {area_km2:g} km² is {pop / area_km2:.1f}/km², below a tenth of the "
                f"province's {province_density:.0f}/km²")
    if pop < 5000 and ("Thị trấn" in formed_from or "Phường" in formed_from):
        return f"implausible: {pop:,} people in a unit formed from a former town or ward"
    return None


def build_communes(ctx: Ctx) -> gpd.GeoDataFrame:
    c = ctx.communes_raw
    prov = ctx.facts["province"]["after_2025"]
    density = prov["population"] / prov["area_km2"]
    rows = []
    for i, r in enumerate(c.itertuples()):
        area = float_or_none(r.dien_tich_km2_cong_bo) or float_or_none(r.areaKm2)
        pop = int_or_none(r.dan_so_cong_bo)
        formed = nfc(r.truoc_sap_nhap) or ""
        flaw = population_check(pop, area, formed, density)
        note = POPULATION_NOTE if flaw is None else \
            f"population withheld: the source gives {pop:,}, {flaw}; {POPULATION_NOTE}"
        rows.append(dict(
            code=str(r.code), name=ctx.com_names[i], name_en=nfc(r.nameEn), full_name=nfc(r.fullName),
            kind=ctx.com_kind[i], area_km2=area, population=None if flaw else pop, population_note=note,
            formed_from=nfc(r.truoc_sap_nhap), former_districts=ctx.former_districts[i],
            former_province=ctx.former_province[i], admin_centre=nfc(r.trung_tam_hc),
            valid_from="2025-07-01", valid_to=None,
            source=SRC_2025 + "; area/population: figures carried by that database, not checked against "
                   "Resolution 1683/NQ-UBTVQH15; former_districts computed by overlay with dvhcvn pre-2025 "
                   "districts (GPL-3.0)",
            accuracy="approximate"))
    df = pd.DataFrame(rows)
    df["population"] = df["population"].astype("Int64")
    return gpd.GeoDataFrame(df, geometry=list(c.geometry), crs=WGS84)


def build_places(ctx: Ctx) -> gpd.GeoDataFrame:
    p = ctx.places
    rows = [dict(name=nfc(r.name), kind=r.fclass, population=int_or_none(r.population),
                 osm_id=str(r.osm_id), commune=ctx.commune_of(r.geometry_m), source=SRC_OSM, accuracy="exact")
            for r in p.itertuples()]
    df = pd.DataFrame(rows)
    df["population"] = df["population"].astype("Int64")
    return gpd.GeoDataFrame(df, geometry=list(p.geometry), crs=WGS84)


def _road_ref(name: str) -> str:
    """'Quốc lộ 1B' -> 'QL1B' (the ref the schematic road list uses)."""
    return "QL" + name.split("Quốc lộ", 1)[1].strip() if name.startswith("Quốc lộ") else name


def build_roads(ctx: Ctx) -> tuple[gpd.GeoDataFrame, list[LineString]]:
    """LegoCity's generalised national roads where they cross the province; the schematic drawing for the rest."""
    rows, geoms = [], []
    lego = read(ctx.sources, "legocity2025/legocity_giaothong_national_roads_thainguyen.geojson")
    lego = lego[lego["cap_duong"] == "Quốc Gia"].sort_values("gid", kind="stable")
    covered: set[str] = set()
    for name, grp in lego.groupby("ten", sort=True):
        merged = shapely.line_merge(shapely.union_all([to_m(g) for g in grp.geometry]))
        parts = [q for q in line_parts(merged.intersection(ctx.prov_m)) if q.length >= 200]
        ref = _road_ref(nfc(name))
        for k, part in enumerate(sorted(parts, key=lambda q: (-q.length, q.coords[0]))):
            rows.append(dict(ref=ref, name=nfc(name), road_class="national", part=k + 1,
                             note="generalised line (≈1 km between vertices); LegoCity gid "
                                  + ", ".join(str(g) for g in grp["gid"]),
                             source=SRC_LEGO, accuracy="approximate"))
            geoms.append(part)
        if parts:
            covered.add(ref)
    for road in ctx.roads_cfg["roads"]:
        if road["ref"] in covered:
            continue
        line = LineString([(q.x, q.y) for q in _waypoints(ctx, road["waypoints"])])
        for k, part in enumerate(line_parts(line.intersection(ctx.prov_m))):
            if part.length < 200:
                continue
            rows.append(dict(ref=road["ref"], name=nfc(road["name"]), road_class=road["road_class"],
                             part=k + 1, note=nfc(road.get("note")),
                             source=SRC_SCHEMATIC + " through OSM 2018 place points (ODbL)",
                             accuracy="schematic"))
            geoms.append(part)
    cols = ["ref", "name", "road_class", "part", "note", "source", "accuracy"]
    return frame(rows, geoms, cols), geoms


def _waypoints(ctx: Ctx, waypoints: list) -> list[Point]:
    """Schematic road waypoints: OSM 2018 place names (nearest match to the previous point) or [lon, lat]."""
    places = ctx.places
    pts: list[Point] = []
    for wp in waypoints:
        if isinstance(wp, str):
            cand = [(g, c) for g, n, c in zip(places["geometry_m"], places["name"], places["fclass"],
                                               strict=True) if key(n) == key(wp)]
            if not cand:
                raise KeyError(f"road waypoint not among OSM places: {wp}")
            prev = pts[-1] if pts else cand[0][0]
            cand.sort(key=lambda t: (t[1] == "village", t[0].distance(prev), t[0].x))
            pts.append(cand[0][0])
        else:
            pts.append(to_m(Point(float(wp[0]), float(wp[1]))))
    return pts


def _jitter_inside(ctx: Ctx, container, base: Point, dist: float, bearing: float) -> Point:
    for f in (1.0, 0.6, 0.3, 0.1, 0.0):
        p = offset(base, dist * f, bearing)
        if container.covers(p) and ctx.inside(p):
            return p
    return base


def _osm_points(ctx: Ctx, tags: dict[str, str] | tuple[str, ...]) -> list[tuple[Any, str, Point]]:
    """Rows of the 2025+ OSM export with one of `tags`, inside the 2025 province: (row, tag, metric point)."""
    out = []
    for r in ctx.hot.itertuples():
        tag = osm_tag(r)
        g = to_m(r.geometry)
        if tag in tags and ctx.inside(g):
            out.append((r, tag, g))
    return out


def _osm_name(r: Any) -> str | None:
    return nfc(getattr(r, "name_vi", None)) or nfc(r.name)


def build_public_facilities(ctx: Ctx, railways_m: list) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """Real facilities only: the 2025+ OSM export, kinds it lacks from OSM 2018, railway stations snapped to OSM."""
    rows: list[dict] = []
    geoms: list[Point] = []
    for r, tag, g in _osm_points(ctx, OSM_FACILITY_TAGS):
        rows.append(dict(name=_osm_name(r), kind=OSM_FACILITY_TAGS[tag], commune=ctx.commune_of(g),
                         osm_id=f"{r.osm_type.rstrip('s')}/{r.osm_id}", osm_tag=tag,
                         note="kind from the OSM tag as mapped (some tags are dubious, e.g. a shop tagged "
                              "supermarket)" if tag == "shop=supermarket" else None,
                         source=SRC_HOT, accuracy="exact"))
        geoms.append(g)
    have = {r["kind"] for r in rows}
    rail = shapely.union_all(railways_m) if railways_m else None
    tr = read(ctx.sources, "osm2018/osm2018_transport.geojson").sort_values("osm_id", kind="stable")
    for r in tr.itertuples():  # OSM 2018 only for kinds the 2025 export lacks (railway stations)
        g = to_m(r.geometry)
        name = nfc(r.name)
        if r.fclass != "bus_station" or not ctx.inside(g) or not name or not key(name).startswith("ga ") \
                or rail is None or rail.distance(g) >= 150 or "train_station" in have:
            continue
        rows.append(dict(name="Ga Thái Nguyên" if key(name) == "ga thai nguyen" else name, kind="train_station",
                         commune=ctx.commune_of(g), osm_id=f"node/{r.osm_id}", osm_tag="amenity=bus_station",
                         note="OSM 2018: tagged bus_station, named 'Ga …' and next to the railway: a railway station",
                         source=SRC_OSM, accuracy="exact"))
        geoms.append(g)
    if rail is not None and "train_station" not in have:  # known station names snapped onto the OSM railway
        for name, lon, lat in (("Ga Quán Triều", 105.804, 21.622), ("Ga Lưu Xá", 105.858, 21.553),
                               ("Ga Lương Sơn", 105.853, 21.500), ("Ga Phổ Yên", 105.866, 21.421),
                               ("Ga Trại Cau", 105.948, 21.596)):
            p0 = to_m(Point(lon, lat))
            if rail.distance(p0) > 3000:
                continue
            g = Point(shapely.shortest_line(rail, p0).coords[0])
            if not ctx.inside(g):
                continue
            rows.append(dict(name=name, kind="train_station", commune=ctx.commune_of(g), osm_id=None,
                             osm_tag=None, note="station name from public knowledge, position snapped to the "
                                                "OSM 2018 railway line",
                             source="planmap placement on OpenStreetMap 2018 railway (ODbL)",
                             accuracy="approximate"))
            geoms.append(g)
    cols = ["name", "kind", "commune", "osm_id", "osm_tag", "note", "source", "accuracy"]
    return frame(rows, geoms, cols), [dict(r, geometry_m=g) for r, g in zip(rows, geoms, strict=True)]


def plan_reference(document: str, feature: str, size: str, place: str, illustrative: bool) -> str:
    """The plan fact a drawn feature stands for ("<document>: <feature>, <size>, <place>") and whether it is drawn."""
    return f"{document}: {feature}, {size}, {place}" + (f"; {ILLUSTRATIVE}" if illustrative else "")


def _place_polygon(ctx: Ctx, anchor: Point, make, container, avoid: list, gap: float,
                   step: float = 250.0, rings: int = 40):
    """Try the anchor, then a deterministic spiral of offsets, until the shape fits inside `container`
    (and the province) and keeps `gap` metres from every polygon in `avoid`."""
    avoid_u = shapely.union_all(avoid).buffer(gap) if avoid else None
    for ring in range(rings + 1):
        n = 1 if ring == 0 else 8 * ring
        for k in range(n):
            ang = 2 * math.pi * k / n
            c = Point(anchor.x + ring * step * math.cos(ang), anchor.y + ring * step * math.sin(ang))
            poly = make(c)
            if container.covers(poly) and ctx.inside(poly) and (avoid_u is None or not poly.intersects(avoid_u)):
                return poly
    return None


def _grow_to_area(base, target_m2: float):
    hull = base.convex_hull
    if hull.area >= target_m2:
        return hull
    lo, hi = 0.0, math.sqrt(target_m2)
    for _ in range(40):
        mid = (lo + hi) / 2
        if hull.buffer(mid, quad_segs=8).area < target_m2:
            lo = mid
        else:
            hi = mid
    return hull.buffer(hi, quad_segs=8)


def build_parks(ctx: Ctx) -> tuple[gpd.GeoDataFrame, list]:
    facts = ctx.facts
    plan = facts["citations"]["province_plan"]
    landuse = read(ctx.sources, "osm2018/osm2018_landuse_industrial_quarry.geojson")
    osm_geom = {int(r.osm_id): to_m(r.geometry) for r in landuse.itertuples()}
    rng = rng_for("industrial_parks")
    rows, geoms = [], []
    for p in facts["industrial_parks"]:
        area_ha = p.get("area_ha")
        target = (area_ha or p["nominal_area_ha"]) * 1e4
        ci = ctx.commune_index(p["commune_2025"])
        container = ctx.com_m[ci]
        anchor = to_m(Point(*p["anchor"])) if p.get("anchor") else None
        if anchor is not None and container.covers(anchor):
            how = "compact polygon of the stated area placed near the approximately known location"
        else:
            anchor = ctx.centre(ci)
            how = f"compact polygon of the stated area placed near the centre of the 2025 commune {p['commune_2025']}"
        poly = None
        if p.get("osm_ids"):
            base = shapely.union_all([osm_geom[int(o)] for o in p["osm_ids"]])
            cand = _grow_to_area(base, target)
            if ctx.inside(cand) and not any(cand.buffer(100).intersects(g) for g in geoms):
                poly = cand
                how = ("OSM 2018 industrial landuse polygons " + ", ".join(map(str, p["osm_ids"]))
                       + " grown to the stated area")
        if poly is None:
            aspect, angle = float(rng.uniform(1.1, 1.6)), float(rng.uniform(0, 180))
            poly = _place_polygon(ctx, anchor, lambda c, a=aspect, t=angle, m2=target: ellipse(c, m2, a, t),
                                  container, geoms, 100.0)
            if poly is None:  # does not fit inside the commune: allow neighbours
                poly = _place_polygon(ctx, anchor, lambda c, a=aspect, t=angle, m2=target: ellipse(c, m2, a, t),
                                      ctx.prov_m, geoms, 100.0)
                how += " (extends beyond the commune)"
        note_parts = [nfc(p.get("note"))] if p.get("note") else []
        if area_ha is None:
            note_parts.append(f"official area unknown: polygon drawn with a nominal {p['nominal_area_ha']} ha")
        note_parts.append(how)
        basis = nfc(p.get("legal_basis")) or plan
        acc = "schematic" if "centre of the 2025 commune" in how else "approximate"  # no known site: commune centre
        name = f"KCN {nfc(p['name'])}"
        rows.append(dict(
            name=name, status=p["status"], area_ha=area_ha, legal_basis=None if acc in SYNTHETIC_LEVELS else basis,
            plan_reference=plan_reference(basis, name, f"{area_ha:g} ha" if area_ha else "area not published",
                                          f"{nfc(p['district'])}, 2025 commune {p['commune_2025']}",
                                          acc in SYNTHETIC_LEVELS),
            commune=ctx.commune_of(poly.representative_point()), district=nfc(p["district"]),
            note="; ".join(note_parts),
            source=facts["citations"]["parks_source"] + "; geometry: " + SRC_SCHEMATIC
                   + (" based on OpenStreetMap 2018 (ODbL)" if "OSM" in how else ""),
            accuracy=acc))
        geoms.append(poly)
    cols = ["name", "status", "area_ha", "legal_basis", "plan_reference", "commune", "district", "note", "source",
            "accuracy"]
    return frame(rows, [as_multipolygon(g) for g in geoms], cols), geoms


def _fit_areas(rng: np.random.Generator, n: int, total: float, lo: float, hi: float) -> list[float]:
    a = rng.uniform(lo, hi, n)
    for _ in range(50):
        a = np.clip(a * total / a.sum(), lo, hi)
    a = np.round(a, 1)
    a[int(np.argmax(hi - a))] += round(total - a.sum(), 1)
    return [float(round(v, 1)) for v in a]


def build_clusters(ctx: Ctx, parks: list) -> tuple[gpd.GeoDataFrame, list, list[dict]]:
    facts = ctx.facts
    plan = facts["citations"]["province_plan"]
    tgt = facts["plan_targets"]
    rng = rng_for("industrial_clusters")
    specs: list[dict] = []
    for c in facts["industrial_clusters"]:
        ci = ctx.commune_index(c["commune_2025"]) if c.get("commune_2025") else \
            ctx.commune_by_formed_from(c["pre_merger"])
        st = c["status"]
        if st == "dropped":
            note = (f"dropped in the 2021–2030 plan revision (5 clusters, {c['group_total_ha']} ha in total); "
                    f"area {c['area_ha']} ha is a planmap estimate")
        elif st == "reduced":
            note = (f"reduced in the plan revision (3 clusters, ≈{c['group_reduction_ha']} ha in total); "
                    f"area {c['area_ha']} ha and reduction ≈{c['reduction_ha']} ha are planmap estimates")
        else:
            note = (f"added in the plan revision (5 clusters, {c['group_total_ha']} ha in total); "
                    f"area {c['area_ha']} ha is a planmap estimate")
        if c.get("note"):
            note += "; " + nfc(c["note"])
        phase = "2026-2030" if st == "planned" else "2021-2025"
        name = f"CCN {nfc(c['name'])}"
        change = {"dropped": "dropped in", "reduced": "reduced in"}.get(st, "added in")
        ref = (plan, f"{name} {change} the 2021–2030 cluster plan revision",
               f"~{c['area_ha']} ha (planmap estimate)", f"{nfc(c['district'])}, 2025 commune {ctx.com_names[ci]}")
        specs.append(dict(name=name, status=st, plan_phase=phase, area_ha=float(c["area_ha"]),
                          area_estimated=True, ci=ci, district=nfc(c["district"]), ref=ref, note=note,
                          source=facts["citations"]["clusters_source"] + "; geometry: planmap synthetic shape",
                          accuracy="synthetic"))
    named_live = [s for s in specs if s["status"] != "dropped"]
    n_old_total = tgt["industrial_clusters_old_thai_nguyen"]["count"]
    n_syn = n_old_total - len(named_live)
    existing_named = [s for s in named_live if s["status"] in ("existing", "reduced", "expanded")]
    n_syn_exist = tgt["end_2024_existing_clusters_old_thai_nguyen"]["count"] - len(existing_named)
    n_syn_plan = n_syn - n_syn_exist
    area_exist = tgt["end_2024_existing_clusters_old_thai_nguyen"]["area_ha"] - sum(
        s["area_ha"] for s in existing_named)
    area_all = tgt["industrial_clusters_old_thai_nguyen"]["area_ha"] - sum(s["area_ha"] for s in named_live)
    area_plan = area_all - area_exist

    # synthetic clusters go to communes without a named cluster and outside dense urban cores
    named_ci = {s["ci"] for s in specs}

    def eligible(i: int) -> bool:
        pop = int_or_none(ctx.communes_raw["dan_so_cong_bo"].iloc[i]) or 0
        area = float_or_none(ctx.communes_raw["dien_tich_km2_cong_bo"].iloc[i]) or 1.0
        return i not in named_ci and pop / area < 2500

    old_idx = [i for i in range(len(ctx.com_names)) if ctx.is_old_tn(i) and eligible(i)]
    bk_idx = [i for i in range(len(ctx.com_names)) if not ctx.is_old_tn(i) and eligible(i)]
    chosen = sorted(rng.choice(old_idx, size=n_syn, replace=False).tolist())
    chosen = [int(i) for i in rng.permutation(chosen)]
    ex_areas = _fit_areas(rng, n_syn_exist, area_exist, 10.0, 75.0)
    pl_areas = _fit_areas(rng, n_syn_plan, area_plan, 10.0, 75.0)
    bk_n = tgt["end_2024_existing_clusters_former_bac_kan"]["count"]
    bk_areas = _fit_areas(rng, bk_n, tgt["end_2024_existing_clusters_former_bac_kan"]["area_ha"], 5.0, 75.0)
    bk_chosen = sorted(int(i) for i in rng.choice(bk_idx, size=bk_n, replace=False))
    syn_note = ("SYNTHETIC demonstration cluster: name, position and area invented to fill the plan target "
                "({} clusters / {} ha); not an official cluster")
    syn_src = SRC_SYN + " (counts/area totals from the plan facts, ◐ unverified)"

    old_total = tgt["industrial_clusters_old_thai_nguyen"]

    def syn_spec(i: int, status: str, phase: str, area: float, note: str,
                 stands_for: tuple[str, str] = (plan, f"one of the {old_total['count']} clusters / "
                                                      f"{old_total['area_ha']} ha of former Thái Nguyên")) -> dict:
        ref = (stands_for[0], stands_for[1] + " (name invented)", f"{area} ha (invented)",
               f"{ctx.main_district(i)} (position invented)")
        return dict(name=None, status=status, plan_phase=phase, area_ha=area, area_estimated=True, ci=i,
                    district=ctx.main_district(i), ref=ref, note=note, source=syn_src, accuracy="synthetic")

    for k, i in enumerate(chosen):
        if k < n_syn_exist:
            st = "expanded" if k in (3, 11) else "existing"
            specs.append(syn_spec(i, st, "2021-2025", ex_areas[k],
                                  syn_note.format(n_old_total, tgt["industrial_clusters_old_thai_nguyen"]["area_ha"])))
        else:
            j = k - n_syn_exist
            specs.append(syn_spec(i, "planned", "2021-2025" if j % 3 == 0 else "2026-2030", pl_areas[j],
                                  syn_note.format(n_old_total, tgt["industrial_clusters_old_thai_nguyen"]["area_ha"])))
    bk_total = f"{bk_n} existing clusters, {tgt['end_2024_existing_clusters_former_bac_kan']['area_ha']} ha"
    for k, i in enumerate(bk_chosen):
        specs.append(syn_spec(i, "existing", "2021-2025", bk_areas[k],
                              f"SYNTHETIC demonstration cluster in former Bắc Kạn ({bk_total} at end 2024); "
                              "name, position and area invented",
                              ("Quy hoạch tỉnh Bắc Kạn thời kỳ 2021–2030 (số hiệu quyết định chưa xác minh)",
                               f"one of the {bk_total} of former Bắc Kạn at end 2024")))

    used: dict[str, int] = {}
    for s in specs:
        if s["name"] is None:
            base = f"CCN {ctx.com_names[s['ci']]}"
            used[base] = used.get(base, 0) + 1
            s["name"] = base if used[base] == 1 else f"{base} {used[base]}"
    rows, geoms, placed = [], [], []
    for s in specs:
        ci = s["ci"]
        container = ctx.com_m[ci]
        c0 = ctx.centre(ci)
        anchor = offset(c0, float(rng.uniform(1200, 2500)), float(rng.uniform(0, 360)))
        if not container.covers(anchor):
            anchor = c0
        area_m2 = s["area_ha"] * 1e4
        aspect, angle = float(rng.uniform(1.0, 1.8)), float(rng.uniform(0, 90))
        make = lambda c, a=area_m2, asp=aspect, t=angle: rounded_rect(c, a, asp, t)  # noqa: E731
        poly = _place_polygon(ctx, anchor, make, container, parks + geoms, 100.0, step=200.0)
        if poly is None:
            poly = _place_polygon(ctx, anchor, make, ctx.prov_m, parks + geoms, 100.0, step=200.0, rings=80)
        geoms.append(poly)
        rows.append(dict(name=s["name"], status=s["status"], plan_phase=s["plan_phase"], area_ha=s["area_ha"],
                         area_estimated=s["area_estimated"], district=s["district"],
                         commune=ctx.commune_of(poly.representative_point()), legal_basis=None,
                         plan_reference=plan_reference(*s["ref"], True), note=s["note"], source=s["source"],
                         accuracy=s["accuracy"]))
        placed.append(dict(rows[-1], geometry_m=poly))
    cols = ["name", "status", "plan_phase", "area_ha", "area_estimated", "district", "commune", "legal_basis",
            "plan_reference", "note", "source", "accuracy"]
    return frame(rows, [as_multipolygon(g) for g in geoms], cols), geoms, placed


FUEL_BRANDS = {"petrolimex": "Petrolimex", "pvoil": "PVOIL", "pv oil": "PVOIL", "mipec": "Mipec",
               "agrexim": "Agrexim", "comeco": "Comeco", "saigon petro": "Saigon Petro"}


def _brand_in(name: str | None) -> str | None:
    """A retail brand named in an OSM `name` (the export has no brand/operator tags)."""
    k = key(name or "")
    return next((b for alias, b in FUEL_BRANDS.items() if alias in k), None)


def build_fuel(ctx: Ctx, roads_m: list, facilities: list[dict]) -> gpd.GeoDataFrame:
    """Existing stations: the 2025+ OSM fuel points (exact); planned ones: a synthetic network (and test cases)."""
    rng = rng_for("fuel_stations")
    rows, geoms = [], []
    for r, tag, g in _osm_points(ctx, OSM_FUEL_TAGS):
        nm = _osm_name(r)
        note = None if tag == "amenity=fuel" else \
            f"OSM {tag}: a fuel point, possibly a roadside seller rather than a licensed station"
        brand = _brand_in(nm)
        if brand:
            note = "; ".join(filter(None, (note, "operator read from the OSM name (no brand/operator tag)")))
        rows.append(dict(name=nm, status="existing", grade=None, operator=brand, commune=ctx.commune_of(g),
                         osm_id=f"{r.osm_type.rstrip('s')}/{r.osm_id}", osm_tag=tag, note=note, source=SRC_HOT,
                         accuracy="exact"))
        geoms.append(g)
    cands: list[Point] = []
    for line in roads_m:  # along the national roads
        d = float(rng.uniform(500, 3000))
        while d < line.length:
            p = line.interpolate(d)
            q = line.interpolate(min(d + 10, line.length))
            ang = math.degrees(math.atan2(q.x - p.x, q.y - p.y)) + (90 if rng.random() < 0.5 else -90)
            cands.append(offset(p, float(rng.uniform(25, 60)), ang))
            d += float(rng.uniform(2500, 6000))
    for i in range(len(ctx.com_names)):  # in towns and commune centres
        c = ctx.centre(i)
        n = 3 if ctx.com_kind[i] == "Phường" else 1
        for _ in range(n):
            p = offset(c, float(rng.uniform(350, 1500)), float(rng.uniform(0, 360)))
            if ctx.com_m[i].covers(p):
                cands.append(p)
    # planned sites >= 300 m from any station (QCVN 01:2021/BXD §2.6.11) and >= 60 m from crowded places
    crowded = [f["geometry_m"] for f in facilities if f["kind"] != "office"]
    crowd_tree = shapely.STRtree(crowded)
    kept: list[Point] = list(geoms)
    per_commune: dict[str, int] = {}
    operators, op_p = ["Petrolimex", "PVOIL", "Mipec", "Doanh nghiệp tư nhân"], [0.45, 0.2, 0.07, 0.28]

    def planned(p: Point, grade: int | None, op: str, note: str | None) -> None:
        com = ctx.commune_of(p)
        per_commune[com] = per_commune.get(com, 0) + 1
        rows.append(dict(name=f"Cửa hàng xăng dầu quy hoạch {com} {per_commune[com]}", status="planned",
                         grade=grade, operator=op, commune=com, osm_id=None, osm_tag=None, note=note,
                         source=SRC_SYN, accuracy="synthetic"))
        geoms.append(p)

    for p in cands:
        if not ctx.inside(p) or any(p.distance(k) < 300 for k in kept) or \
                len(crowd_tree.query(p, predicate="dwithin", distance=60.0)):
            continue
        op = str(rng.choice(operators, p=op_p))
        grade = int(rng.choice([1, 2, 3, 0], p=[0.15, 0.45, 0.3, 0.1])) or None
        if rng.random() < 0.85:  # the share that used to be synthetic "existing" stations: real ones replace it
            continue
        kept.append(p)
        planned(p, grade, op, None)
    # deliberate conflicts so that the planning checks have something to find (planned sites only)
    schools = [f for f in facilities if f["kind"] == "school" and f["accuracy"] == "exact"]
    markets = [f for f in facilities if f["kind"] == "market" and f["accuracy"] == "exact"]
    conflicts = [(schools[len(schools) // 7], 35.0, "school"), (schools[len(schools) // 2], 42.0, "school"),
                 (schools[5 * len(schools) // 6], 28.0, "school"), (markets[len(markets) // 2], 40.0, "market")]
    for j, (f, dist, what) in enumerate(conflicts):
        planned(offset(f["geometry_m"], dist, 45.0 + 90 * j), 3, "Doanh nghiệp tư nhân",
                f"synthetic test case: within 50 m of a {what} ({f['name'] or f['osm_id']})")
    base_idx = [i for i, r in enumerate(rows) if r["accuracy"] == "exact"]
    for j, dist in enumerate((180.0, 220.0, 120.0)):
        p = offset(geoms[base_idx[(5 + 13 * j) % len(base_idx)]], dist, 120.0 + 50 * j)
        if ctx.inside(p):
            planned(p, 2, "PVOIL", f"synthetic test case: {dist:.0f} m from an existing station (< 300 m)")
    cols = ["name", "status", "grade", "operator", "commune", "osm_id", "osm_tag", "note", "source", "accuracy"]
    df = frame(rows, geoms, cols)
    df["grade"] = df["grade"].astype("Int64")
    return df


def build_lpg(ctx: Ctx) -> gpd.GeoDataFrame:
    rng = rng_for("lpg_stations")
    rows, geoms = [], []
    for i, name in enumerate(ctx.com_names):
        c = ctx.centre(i)
        n = 3 if ctx.com_kind[i] == "Phường" else (1 if rng.random() < 0.7 else 2)
        for k in range(n):
            p = _jitter_inside(ctx, ctx.com_m[i], c, float(rng.uniform(250, 1200)), float(rng.uniform(0, 360)))
            rows.append(dict(name=f"Cửa hàng gas {name} {k + 1}",
                             status="existing" if rng.random() < 0.9 else "planned",
                             capacity_kg=int(rng.choice([48, 72, 96, 120, 144, 216, 288, 360])),
                             commune=name, source=SRC_SYN, accuracy="synthetic"))
            geoms.append(p)
    df = frame(rows, geoms, ["name", "status", "capacity_kg", "commune", "source", "accuracy"])
    df["capacity_kg"] = df["capacity_kg"].astype("Int64")
    return df


HYDRO_STATUS = {"Đang vận hành": "operating", "Đang xây dựng": "construction"}


def build_power_plants(ctx: Ctx) -> tuple[gpd.GeoDataFrame, list[dict]]:
    units = read(ctx.sources, "gem/gem_coal_plant_units_thainguyen.geojson")
    vi = ctx.facts["energy"]["coal_plants_vi_names"]
    rows, geoms, nodes = [], [], []
    groups: dict[tuple[str, str], list] = {}
    for r in units.sort_values("gem_unit_phase_id", kind="stable").itertuples():
        st = "cancelled" if r.status in ("cancelled", "shelved") else r.status
        groups.setdefault((r.plant_name, st), []).append(r)
    for (plant, st), us in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "operating")):
        g = to_m(us[0].geometry)
        cap = float(sum(u.capacity_mw for u in us))
        years = [int(u.start_year) for u in us if u.start_year == u.start_year and u.start_year]
        name = nfc(vi.get(plant, plant))
        if st != "operating":
            name += " (giai đoạn 2)" if "An Khanh" in plant else f" ({st})"
        rows.append(dict(name=name, name_en=plant, status=st, fuel="coal", capacity_mw=cap,
                         units="; ".join(f"{u.unit_name}: {u.capacity_mw:g} MW" for u in us),
                         start_year=min(years) if years else None, owner=nfc(us[0].owner),
                         commune=ctx.commune_of(g), source=SRC_GEM_COAL, accuracy="exact"))
        geoms.append(g)
        if st == "operating":
            nodes.append(dict(id=f"plant:{plant}", name=name, point=g, kv=110, synthetic=False))
    hydro = read(ctx.sources, "legocity2025/legocity_thuydien_hydropower_bbox.geojson").sort_values("map_id")
    for r in hydro.itertuples():  # small hydropower: connected at medium voltage, so not nodes of the 110 kV tree
        g = to_m(r.geometry)
        if not ctx.inside(g):
            continue
        cited = " ".join(nfc(r.Nguon).split()) if nfc(r.Nguon) else None
        rows.append(dict(name=f"Thủy điện {nfc(r.Name)}", name_en=None, status=HYDRO_STATUS[nfc(r.Status)],
                         fuel="hydro", capacity_mw=float(r.CSuat_MW), units=None,
                         start_year=int_or_none(r.Van_hanh), owner=nfc(r.Chu_DT), commune=ctx.commune_of(g),
                         note=f"LegoCity cites: {cited}" if cited else "LegoCity cites no source for this plant",
                         source=SRC_LEGO, accuracy="exact"))
        geoms.append(g)
    df = frame(rows, geoms, ["name", "name_en", "status", "fuel", "capacity_mw", "units", "start_year", "owner",
                             "commune", "note", "source", "accuracy"])
    df["start_year"] = df["start_year"].astype("Int64")
    return df, nodes


def _nearest_place(ctx: Ctx, p: Point) -> str:
    towns = [(g, n) for g, n, c in zip(ctx.places["geometry_m"], ctx.places["name"], ctx.places["fclass"],
                                        strict=True) if c in ("city", "town")]
    g, n = min(towns, key=lambda t: (t[0].distance(p), t[1]))
    if g.distance(p) > 8000:
        return ctx.commune_of(p) or nfc(n)
    return nfc(n)


def build_substations(ctx: Ctx, parks_rows: list[tuple[str, Any]]) -> tuple[gpd.GeoDataFrame, list[dict]]:
    buses = read(ctx.sources, "grid/pypsa_asean_buses_thainguyen.geojson")
    rows, geoms, nodes = [], [], []
    names_used: set[str] = set()
    for sid, grp in sorted(buses.groupby("station_id"), key=lambda kv: int(kv[0])):
        pts = [to_m(g) for g in grp.geometry]
        p = Point(float(np.mean([q.x for q in pts])), float(np.mean([q.y for q in pts])))
        if not ctx.inside(p):
            continue
        kvs = sorted({int(v) // 1000 for v in grp["voltage"]})
        name = f"TBA {max(kvs)}kV {_nearest_place(ctx, p)}"
        while name in names_used:
            name += " 2"
        names_used.add(name)
        rows.append(dict(name=name, station_id=f"pypsa:{int(sid)}", voltage_kv=max(kvs),
                         voltages="/".join(map(str, kvs)), status="existing", commune=ctx.commune_of(p),
                         source=SRC_PYPSA, accuracy="approximate"))
        geoms.append(p)
        nodes.append(dict(id=f"pypsa:{int(sid)}", name=name, point=p, kv=max(kvs), synthetic=False))
    for k, (pname, poly) in enumerate(parks_rows):
        ring = poly.buffer(250).exterior
        p = ring.interpolate(ring.project(poly.centroid.buffer(1).exterior.interpolate(0)))
        if not ctx.inside(p):
            continue
        name = f"TBA 110kV {pname}"
        rows.append(dict(name=name, station_id=f"syn:{k + 1}", voltage_kv=110, voltages="110/22",
                         status="assumed", commune=ctx.commune_of(p),
                         source=SRC_SYN + " (substation serving an industrial park)", accuracy="synthetic"))
        geoms.append(p)
        nodes.append(dict(id=f"syn:{k + 1}", name=name, point=p, kv=110, synthetic=True))
    cols = ["name", "station_id", "voltage_kv", "voltages", "status", "commune", "source", "accuracy"]
    return frame(rows, geoms, cols), nodes


def build_power_lines(ctx: Ctx, nodes: list[dict], clusters: list[dict], parks: list[tuple[str, Any]]):
    rows, geoms = [], []

    def add(a: dict, b_name: str, b_pt: Point, kv: int, synthetic: bool):
        """A straight line: no route of it is known, so it is synthetic and its status only assumed."""
        line = LineString([(a["point"].x, a["point"].y), (b_pt.x, b_pt.y)])
        how = ("invented feeder to an industrial park/cluster" if kv < 110 else
               "edge of a minimum spanning tree of the " + ("220 kV stations" if kv >= 220 else
                                                            "substations and operating plants")
               + ("" if synthetic else " (end points: pypsa-asean substations, CC BY 4.0; GEM plants, CC BY 4.0)"))
        for part in line_parts(line.intersection(ctx.prov_m)):
            if part.length < 20:
                continue
            rows.append(dict(name=f"Đường dây {kv}kV {a['name']} – {b_name}", voltage_kv=kv,
                             from_station=a["name"], to_station=b_name, status="assumed",
                             note="straight line, not a real route: whether and where such a line exists is "
                                  "unknown", source=f"{SRC_SYN}: {how}", accuracy="synthetic"))
            geoms.append(part)

    hv = [n for n in nodes if n["kv"] >= 220]
    done: set[frozenset] = set()
    for i, j in mst_edges([n["point"] for n in hv]):
        add(hv[i], hv[j]["name"], hv[j]["point"], 220, hv[i]["synthetic"] or hv[j]["synthetic"])
        done.add(frozenset((hv[i]["id"], hv[j]["id"])))
    for i, j in mst_edges([n["point"] for n in nodes]):
        if frozenset((nodes[i]["id"], nodes[j]["id"])) in done:
            continue
        add(nodes[i], nodes[j]["name"], nodes[j]["point"], 110, nodes[i]["synthetic"] or nodes[j]["synthetic"])
    targets = [(name, poly) for name, poly in parks] + \
              [(c["name"], c["geometry_m"]) for c in clusters if c["status"] != "dropped"]
    for name, poly in targets:
        tp = poly.representative_point()
        src = min(nodes, key=lambda n: (n["point"].distance(tp), n["id"]))
        kv = 35 if src["point"].distance(tp) > 6000 else 22
        add(src, name, tp, kv, True)
    cols = ["name", "voltage_kv", "from_station", "to_station", "status", "note", "source", "accuracy"]
    df = frame(rows, geoms, cols)
    df["voltage_kv"] = df["voltage_kv"].astype("Int64")
    return df


def build_mines(ctx: Ctx) -> tuple[gpd.GeoDataFrame, list[dict]]:
    rows, geoms, out = [], [], []
    iron = read(ctx.sources, "gem/gem_iron_ore_mines_thainguyen.geojson")
    vi = ctx.facts["energy"]["iron_mines_vi_names"]
    for r in iron.sort_values("name-(english)", kind="stable").itertuples():
        g = to_m(r.geometry)
        if not ctx.inside(g):
            continue
        rows.append(dict(name=nfc(vi.get(r[1], r[1])), mineral="iron", status=r.status, owner=nfc(r.owner),
                         commune=ctx.commune_of(g), source=SRC_GEM_IRON, accuracy="exact"))
        geoms.append(g)
    for m in ctx.facts["mines_extra"]:
        g = to_m(Point(*m["anchor"]))
        rows.append(dict(name=nfc(m["name"]), mineral=m["mineral"], status=m["status"], owner=nfc(m["owner"]),
                         commune=ctx.commune_of(g), source=nfc(m["source"]), accuracy="approximate"))
        geoms.append(g)
    lu = read(ctx.sources, "osm2018/osm2018_landuse_industrial_quarry.geojson").sort_values("osm_id")
    for r in lu.itertuples():
        if r.fclass != "quarry":
            continue
        g = to_m(r.geometry).representative_point()
        if not ctx.inside(g):
            continue
        rows.append(dict(name=nfc(r.name) or "Khai trường mỏ đá (OSM, chưa có tên)", mineral="construction stone",
                         status="operating", owner=None, commune=ctx.commune_of(g),
                         source=SRC_OSM + "; point inside landuse=quarry polygon " + str(r.osm_id)
                         + "; mineral assumed", accuracy="exact"))
        geoms.append(g)
    for r, g in zip(rows, geoms, strict=True):
        out.append(dict(r, geometry_m=g))
    return frame(rows, geoms, ["name", "mineral", "status", "owner", "commune", "source", "accuracy"]), out


def build_mineral_areas(ctx: Ctx, mines: list[dict], clusters: list[dict]) -> gpd.GeoDataFrame:
    rng = rng_for("mineral_areas")
    cit = ctx.facts["citations"]
    plan866, res1277 = cit["mineral_plan"], cit["mineral_reserve"]
    prohibited_basis = "Luật Địa chất và Khoáng sản 54/2024/QH15 (khu vực cấm/tạm cấm hoạt động khoáng sản)"
    specs: list[tuple] = []  # (name, area_type, mineral, area_ha, anchor point, document)
    for m in mines:
        if m["mineral"] == "iron":
            specs.append((f"Khu khai thác quặng sắt {m['name'].replace('Mỏ sắt ', '')}", "mining", "iron",
                          float(rng.uniform(150, 300)), m["geometry_m"], plan866))
        elif m["mineral"] == "tungsten":
            specs.append(("Khu khai thác đa kim Núi Pháo", "mining", "tungsten", 900.0, m["geometry_m"], plan866))
            specs.append(("Khu thăm dò mở rộng đa kim Núi Pháo", "exploration", "tungsten", 1200.0,
                          offset(m["geometry_m"], 3200, 300), plan866))
        elif m["mineral"] == "construction stone":
            specs.append((f"Khu khai thác đá xây dựng {m['commune']}", "mining", "construction stone",
                          float(rng.uniform(20, 60)), m["geometry_m"], plan866))

    def at(commune: str, dist: float = 1500.0) -> Point:
        i = ctx.commune_index(commune)
        return _jitter_inside(ctx, ctx.com_m[i], ctx.centre(i), dist, float(rng.uniform(0, 360)))

    more = [
        ("Khu thăm dò titan Phú Lương", "exploration", "titanium", 650.0, at("Phú Lương", 3000), plan866),
        ("Khu thăm dò titan Hợp Thành", "exploration", "titanium", 420.0, at("Hợp Thành", 2000), plan866),
        ("Khu thăm dò titan Phú Xuyên", "exploration", "titanium", 380.0, at("Phú Xuyên", 2500), plan866),
        ("Khu khai thác than Phú Lương", "mining", "coal", 260.0, at("Vô Tranh", 2500), plan866),
        ("Khu khai thác than Phú Xuyên", "mining", "coal", 180.0, at("Phú Xuyên", 4000), plan866),
        ("Khu khai thác than Phú Lạc", "mining", "coal", 150.0, at("Phú Lạc", 2500), plan866),
        ("Khu khai thác đá vôi La Hiên", "mining", "construction stone", 70.0, at("La Hiên", 2500), plan866),
        ("Khu khai thác đá vôi Võ Nhai", "mining", "construction stone", 55.0, at("Võ Nhai", 3000), plan866),
        ("Khu khai thác đá Văn Hán", "mining", "construction stone", 45.0, at("Văn Hán", 2500), plan866),
        ("Khu khai thác sét gạch ngói Tân Khánh", "mining", "clay", 35.0, at("Tân Khánh", 2000), plan866),
        ("Khu khai thác sét Kha Sơn", "mining", "clay", 30.0, at("Kha Sơn", 2500), plan866),
        ("Khu khai thác chì kẽm Chợ Đồn", "mining", "lead-zinc", 320.0, at("Chợ Đồn", 5000), plan866),
        ("Khu thăm dò vàng Na Rì", "exploration", "gold", 500.0, at("Na Rì", 4000), plan866),
        ("Khu dự trữ khoáng sản chì kẽm Chợ Đồn", "reserve", "lead-zinc", 900.0, at("Nam Cường", 4000), res1277),
        ("Khu dự trữ khoáng sản đá vôi xi măng Võ Nhai", "reserve", "limestone (cement)", 700.0,
         at("Thần Sa", 4000), res1277),
        ("Khu dự trữ khoáng sản sắt Bạch Thông", "reserve", "iron", 450.0, at("Bạch Thông", 3000), res1277),
        ("Khu vực cấm hoạt động khoáng sản Vườn quốc gia Ba Bể", "prohibited", None, 2500.0,
         at("Ba Bể", 3000), prohibited_basis),
        ("Khu vực cấm hoạt động khoáng sản hồ Núi Cốc", "prohibited", None, 1500.0, at("Đại Phúc", 3000),
         prohibited_basis),
        ("Khu vực cấm hoạt động khoáng sản ATK Định Hóa", "prohibited", None, 800.0, at("Phú Đình", 1500),
         prohibited_basis),
        ("Khu vực cấm hoạt động khoáng sản nội thị Thái Nguyên", "prohibited", None, 600.0,
         ctx.centre(ctx.commune_index("Phan Đình Phùng")), prohibited_basis),
    ]
    specs.extend(more)
    # a couple of areas deliberately overlapping planned clusters (so an overlap check can fire)
    n_fixed = len(specs)
    planned = [c for c in clusters if c["status"] == "planned"]
    for c in (planned[:1] + planned[-1:]):
        mineral = "clay" if "Tân Phú" in c["name"] or "Phổ Yên" in (c["district"] or "") else "construction stone"
        specs.append((f"Khu khai thác {'sét' if mineral == 'clay' else 'đá'} {c['commune']}", "mining", mineral,
                      40.0, offset(c["geometry_m"].centroid, 450, 70), plan866))
    assert len(specs) == n_fixed + 2
    n_regular = len(specs) - 2
    live = [c["geometry_m"] for c in clusters if c["status"] != "dropped"]
    keep_out = shapely.union_all(live).buffer(100.0) if live else None
    rows, geoms = [], []
    for k, (name, atype, mineral, area_ha, anchor, basis) in enumerate(specs):
        poly = blob(anchor, area_ha * 1e4, rng).intersection(ctx.prov_m)
        if k < n_regular and keep_out is not None:  # only the last two overlap clusters on purpose
            poly = poly.difference(keep_out)
        poly = as_multipolygon(poly)
        if poly.is_empty:
            continue
        commune, area = ctx.commune_of(poly.representative_point()), round(poly.area / 1e4, 1)
        what = f"the kind of document that delineates {atype} areas" + (f" ({mineral})" if mineral else "")
        rows.append(dict(name=name, area_type=atype, mineral=mineral, area_ha=area, legal_basis=None,
                         plan_reference=plan_reference(basis, what + "; this one is invented", f"{area} ha drawn",
                                                       f"commune {commune}", True),
                         commune=commune,
                         note="SYNTHETIC polygon for demonstration; plan_reference names the kind of document "
                              "such areas come from, not a real delineation",
                         source=SRC_SYN, accuracy="synthetic"))
        geoms.append(poly)
    cols = ["name", "area_type", "mineral", "area_ha", "legal_basis", "plan_reference", "commune", "note", "source",
            "accuracy"]
    return frame(rows, geoms, cols)


# --------------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------------
def _finalise(df: gpd.GeoDataFrame, lid: str) -> gpd.GeoDataFrame:
    df = df.reset_index(drop=True)
    for col in df.columns:
        if col != "geometry" and df[col].dtype == object:
            df[col] = [nfc(v) if isinstance(v, str) else v for v in df[col]]
    geoms = shapely.set_precision(np.asarray(df.geometry.values), 1e-7, mode="valid_output")
    if df.geom_type.isin(["Polygon", "MultiPolygon"]).any():
        geoms = np.array([as_multipolygon(g) for g in geoms], dtype=object)
    df = df.set_geometry(gpd.GeoSeries(geoms, crs=WGS84))
    if "name" not in df.columns:
        raise AssertionError(f"{lid}: missing name")
    bad = set(df["accuracy"]) - set(ACCURACY)
    if bad or df["source"].isna().any():
        raise AssertionError(f"{lid}: bad accuracy/source {bad}")
    if "legal_basis" in df.columns and (df["legal_basis"].notna() & df["accuracy"].isin(SYNTHETIC_LEVELS)).any():
        raise AssertionError(f"{lid}: a schematic/synthetic feature carries a legal_basis (use plan_reference)")
    return df


def build(sources_dir: Path, out_path: Path) -> dict[str, int]:
    """Build the GeoPackage at ``out_path`` from ``sources_dir``; returns feature counts per layer."""
    sources_dir, out_path = Path(sources_dir), Path(out_path)
    ctx = Ctx(sources_dir)
    layers: dict[str, gpd.GeoDataFrame] = {}
    layers["province"] = build_province(ctx)
    layers["districts"] = build_districts(ctx)
    layers["communes"] = build_communes(ctx)
    layers["places"] = build_places(ctx)
    layers["roads"], roads_m = build_roads(ctx)
    rail = read(sources_dir, "osm2018/osm2018_railways.geojson")
    rail_m = [to_m(g) for g in rail.sort_values("osm_id").geometry]
    layers["public_facilities"], facilities = build_public_facilities(ctx, rail_m)
    layers["industrial_parks"], parks_m = build_parks(ctx)
    layers["industrial_clusters"], clusters_m, clusters = build_clusters(ctx, parks_m)
    layers["fuel_stations"] = build_fuel(ctx, roads_m, facilities)
    layers["lpg_stations"] = build_lpg(ctx)
    layers["power_plants"], plant_nodes = build_power_plants(ctx)
    park_named = list(zip(layers["industrial_parks"]["name"], parks_m, strict=True))
    layers["substations"], sub_nodes = build_substations(ctx, park_named)
    layers["power_lines"] = build_power_lines(ctx, sub_nodes + plant_nodes, clusters, park_named)
    layers["mines"], mines = build_mines(ctx)
    layers["mineral_areas"] = build_mineral_areas(ctx, mines, clusters)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f"{out_path.name}-tmp{os.getpid()}.gpkg")
    for p in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    old_cfg = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        for lid in LAYER_ORDER:
            df = _finalise(layers[lid], lid)
            gtype = {"Point": "Point", "LineString": "LineString"}.get(df.geom_type.iloc[0], "MultiPolygon")
            pyogrio.write_dataframe(df, tmp, layer=lid, driver="GPKG", geometry_type=gtype,
                                    layer_options={"FID": "fid", "SPATIAL_INDEX": "YES"})
            counts[lid] = len(df)
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old_cfg})
    return counts


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sources = Path(argv[0]) if len(argv) > 0 else DEFAULT_SOURCES
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    counts = build(sources, out)
    width = max(map(len, counts))
    for lid, n in counts.items():
        print(f"{lid:<{width}}  {n:>5}")
    print(f"wrote {out} ({sum(counts.values())} features)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

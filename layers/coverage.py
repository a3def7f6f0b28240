"""Network coverage: how far every place in the province is from the nearest fuel or LPG station, and who is
beyond a planner-chosen distance, before and after the planned stations.

Everything is computed over a `geo.grid.Grid` in VN-2000 metres: one Euclidean distance transform per state
(existing stations; existing + planned), then per-unit sums by burning the units in with their index and counting
with `np.bincount` — never a loop over cells.  The distance is straight-line: the roads layer holds generalised
national roads only, not a network one can route on, and the output says so.  Population beyond the distance is
an estimate that assumes people are spread evenly over each commune; a commune whose population is unknown or
withheld stays None, never zero.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import shapely
from rasterio import features

from geo.cancel import checkpoint
from geo.crs import CRS84, parse_crs, to_metres, transform_geometries
from geo.errors import BadRequest, NotFound, PayloadTooLarge
from geo.grid import Grid, colour_classes
from layers.admin import (
    COMMUNES,
    DISTRICTS,
    PROVINCE,
    commune_day,
    district_day,
    outline_day,
    province_outline,
)
from layers.dataset import Dataset, Layer, accuracy_counts
from layers.inputs import inputs_record
from layers.limits import MAX_DISTANCE_GRID_CELLS, MAX_GRID_CELLS


@dataclass(frozen=True)
class Network:
    """A network of stations: the layer holding them and its name for people."""

    key: str
    layer: str
    label: dict[str, str]


NETWORKS = {n.key: n for n in (
    Network("fuel", "fuel_stations", {"vi": "Cửa hàng xăng dầu", "en": "Fuel stations"}),
    Network("lpg", "lpg_stations", {"vi": "Cửa hàng kinh doanh LPG", "en": "LPG shops"}),
)}
EXISTING, PLANNED = "existing", "planned"
STATES = ("before", "after")  # before: existing stations; after: existing + planned

DEFAULT_CELL_M = 100.0  # the whole merged province at 100 m is ≈ 2.2 M cells: about a second of work
MIN_CELL_M, MAX_CELL_M = 10.0, 2_000.0  # finer than 10 m is finer than any station's position is known
# A planner's distance: below 500 m is walking distance inside one hamlet (finer than the 100 m cells and the
# stations' positions say much about); beyond 50 km no commune of the province is that far from every station.
MIN_DISTANCE_M, MAX_DISTANCE_M = 500.0, 50_000.0
DEFAULT_DISTANCE_M = 3_000.0
# Stations off the grid count when they are this close to it, or within the chosen distance if that is larger:
# a station farther than both from every cell can neither bring a cell within the distance nor change the
# legend's classes (whose last break is 10 km).
MIN_REACH_M = 10_000.0
# A commune is "entirely" beyond the distance when (practically) all its cells are, "mostly" when more than half.
ENTIRELY_SHARE = 0.999
MOSTLY_SHARE = 0.5
# Distance classes of the map overlay and its legend, in metres (≤1, 1–3, 3–5, 5–10, >10 km).
CLASS_BREAKS_M = [1_000.0, 3_000.0, 5_000.0, 10_000.0]
CLASS_COLOURS = ["#1a9641", "#a6d96a", "#ffffbf", "#fdae61", "#d7191c"]
OVERLAY_MAX_PX = 1_200  # the overlay is a picture of the classes: finer than the screen shows is wasted bytes
SIMPLIFY_M = 50.0  # outlines of the communes beyond the distance, drawn on the map: 50 m is below a screen pixel
CACHED_RESULTS = 3  # per dataset snapshot: each holds two float32 rasters of the grid (≈ 9 MB each at 100 m)

DISTANCE_KIND = {
    "key": "straight_line",
    "vi": "đường chim bay",
    "en": "straight-line",
    "why": {"vi": "Lớp đường giao thông chỉ có các quốc lộ đã khái quát hoá, không phải mạng lưới đường tìm được "
                  "lộ trình, nên khoảng cách đo theo đường chim bay (khoảng cách thực tế theo đường thường dài hơn).",
            "en": "The roads layer holds generalised national roads only, not a network one can route on, so the "
                  "distance is measured in a straight line (the distance along roads is usually longer)."},
}
POPULATION_ESTIMATE = {
    "vi": "Dân số ngoài khoảng cách là ước tính: dân số xã × tỷ lệ diện tích xã nằm ngoài khoảng cách, giả định "
          "dân cư phân bố đều trong xã.",
    "en": "Population beyond the distance is an estimate: the commune's population × the share of its area beyond "
          "the distance, assuming people are spread evenly over the commune.",
}


@dataclass
class Coverage:
    """One coverage analysis: the grid, the distance rasters and the tables (language-independent)."""

    network: Network
    day: dt.date
    distance_m: float
    grid: Grid
    inside: np.ndarray  # cells of the province outline
    distances: dict[str, np.ndarray]  # "before" / "after" → metres, float32 over the whole grid
    summary: dict
    communes: list[dict]
    districts: list[dict]
    stations: dict
    inputs: dict
    notes: dict
    _overlays: dict = field(default_factory=dict, repr=False)
    _beyond_geojson: dict | None = field(default=None, repr=False)

    # -- outputs ------------------------------------------------------------------------------------------------
    def raster(self, state: str) -> np.ndarray:
        """The distance raster of `state`, NaN outside the province (the GeoTIFF's nodata)."""
        return np.where(self.inside, self.distances[state], np.nan).astype("float32")

    def geotiff(self, state: str) -> bytes:
        what = "existing stations" if state == "before" else "existing and planned stations"
        return self.grid.geotiff(self.raster(state), nodata=float("nan"),
                                 description=f"straight-line distance in metres to the nearest of the "
                                             f"{self.network.label['en'].lower()}: {what}")

    def overlay(self, state: str) -> dict:
        """The distance classes as a PNG for a web map's image overlay (computed once per state)."""
        if state not in self._overlays:
            checkpoint()
            rgba = colour_classes(self.raster(state), CLASS_BREAKS_M, CLASS_COLOURS)
            png, bounds = self.grid.overlay_png(rgba, max_size=OVERLAY_MAX_PX)
            self._overlays[state] = {"png": base64.b64encode(png).decode("ascii"), "bounds": list(bounds)}
        return self._overlays[state]

    def legend(self) -> list[dict]:
        """The overlay's classes, each with its bounds, colour, vi/en label and whether it holds the distance."""
        edges = [0.0, *CLASS_BREAKS_M, math.inf]
        out = []
        for i, colour in enumerate(CLASS_COLOURS):
            low, high = edges[i], edges[i + 1]
            if i == 0:
                vi, en = f"≤ {_km(high)} km", f"≤ {_km(high)} km"
            elif math.isinf(high):
                vi, en = f"> {_km(low)} km", f"> {_km(low)} km"
            else:
                vi = en = f"{_km(low)}–{_km(high)} km"
            out.append({"min_m": low, "max_m": None if math.isinf(high) else high, "colour": colour,
                        "label": {"vi": vi.replace(".", ","), "en": en},
                        "holds_distance": bool(low < self.distance_m <= high)})
        return out

    def beyond_geojson(self) -> dict:
        """The communes mostly beyond the distance before the planned stations (CRS84), for the map to
        highlight; each says how much of it is beyond, before and after."""
        if self._beyond_geojson is None:
            self._beyond_geojson = {"type": "FeatureCollection", "features": self._beyond_features()}
        return self._beyond_geojson

    def _beyond_features(self) -> list[dict]:
        rows = [c for c in self.communes if c["before"]["share_beyond"] is not None
                and c["before"]["share_beyond"] > MOSTLY_SHARE]
        if not rows:
            return []
        geoms = shapely.simplify(np.array([c["_geometry_m"] for c in rows], dtype=object), SIMPLIFY_M)
        geoms = transform_geometries(geoms, parse_crs("EPSG:9213"), CRS84)
        return [{"type": "Feature", "id": c["id"], "geometry": shapely.geometry.mapping(g),
                 "properties": {"name": c["name"], "code": c["code"],
                                "share_beyond_before": c["before"]["share_beyond"],
                                "share_beyond_after": c["after"]["share_beyond"]}}
                for c, g in zip(rows, geoms, strict=True)]

    def document(self, lang: str = "vi", overlays: bool = True) -> dict:
        """The whole result as JSON: summary, tables, inputs, legend and (optionally) the map overlays."""
        doc = {"network": self.network.key, "network_label": self.network.label, "as_of": self.day.isoformat(),
               "distance_m": self.distance_m, "cell_m": self.grid.cell, "distance_kind": DISTANCE_KIND,
               "indicative": self.notes["indicative"], "notes": self.notes, "summary": self.summary,
               "stations": self.stations, "communes": [_public(c) for c in self.communes],
               "districts": self.districts, "inputs": self.inputs, "legend": self.legend(), "lang": lang}
        if overlays:
            doc["overlay"] = {state: {**self.overlay(state), "crs": "OGC:CRS84"} for state in STATES}
            doc["beyond"] = self.beyond_geojson()
        return doc

    def table_rows(self) -> tuple[list[str], list[list]]:
        """The per-commune and per-district table (header, rows) as the CSV export and the print show it."""
        header = ["level", "code", "name", "area_km2", "population",
                  "area_beyond_km2_before", "share_beyond_before", "population_beyond_before",
                  "area_beyond_km2_after", "share_beyond_after", "population_beyond_after"]
        rows = []
        for level, units in (("commune", self.communes), ("district", self.districts)):
            for u in units:
                rows.append([level, u["code"], u["name"], u["area_km2"], u.get("population"),
                             u["before"]["area_beyond_km2"], u["before"]["share_beyond"],
                             u["before"]["population_beyond"], u["after"]["area_beyond_km2"],
                             u["after"]["share_beyond"], u["after"]["population_beyond"]])
        s = self.summary
        rows.append(["province", None, "Tỉnh / province", s["area_km2"], s["population"],
                     s["before"]["area_beyond_km2"], s["before"]["share_beyond"], s["before"]["population_beyond"],
                     s["after"]["area_beyond_km2"], s["after"]["share_beyond"], s["after"]["population_beyond"]])
        return header, rows

    def csv(self) -> bytes:
        """The table as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Vietnamese names),
        preceded by comment lines, in both languages, saying what it is and what it rests on."""
        header, rows = self.table_rows()
        out = io.StringIO()
        for line in self.csv_preamble():
            out.write(f"# {line}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    def csv_preamble(self) -> list[str]:
        return [f"{self.network.label['vi']} / {self.network.label['en']}: độ phủ / coverage, "
                f"D = {self.distance_m:g} m, ô / cell {self.grid.cell:g} m, ngày / as of {self.day.isoformat()}",
                f"Khoảng cách / distance: {DISTANCE_KIND['vi']} / {DISTANCE_KIND['en']}",
                f"{self.notes['indicative']['vi']} / {self.notes['indicative']['en']}",
                f"{POPULATION_ESTIMATE['vi']} / {POPULATION_ESTIMATE['en']}"]


def _public(unit: dict) -> dict:
    return {k: v for k, v in unit.items() if not k.startswith("_")}


def _km(metres: float) -> str:
    return f"{metres / 1000:g}"


# ---------------------------------------------------------------------------------------------------- the work
def network_of(key: str) -> Network:
    if key not in NETWORKS:
        raise BadRequest(f"unknown network {key!r}; use one of: {', '.join(NETWORKS)}",
                         f"Không có mạng lưới {key!r}; dùng một trong: {', '.join(NETWORKS)}")
    return NETWORKS[key]


def check_distance(distance_m: float) -> float:
    if not (math.isfinite(distance_m) and MIN_DISTANCE_M <= distance_m <= MAX_DISTANCE_M):
        raise BadRequest(f"the distance must be between {MIN_DISTANCE_M:g} and {MAX_DISTANCE_M:g} m, not "
                         f"{distance_m:g}",
                         f"Khoảng cách phải từ {MIN_DISTANCE_M:g} đến {MAX_DISTANCE_M:g} m, không phải {distance_m:g}")
    return float(distance_m)


def check_cell(cell_m: float) -> float:
    if not (math.isfinite(cell_m) and MIN_CELL_M <= cell_m <= MAX_CELL_M):
        raise BadRequest(f"the cell size must be between {MIN_CELL_M:g} and {MAX_CELL_M:g} m, not {cell_m:g}",
                         f"Kích thước ô lưới phải từ {MIN_CELL_M:g} đến {MAX_CELL_M:g} m, không phải {cell_m:g}")
    return float(cell_m)


_cache_lock = threading.Lock()


def coverage(dataset: Dataset, network: str, distance_m: float = DEFAULT_DISTANCE_M,
             cell_m: float = DEFAULT_CELL_M, day: dt.date | None = None) -> Coverage:
    """The coverage of `network` on `day` (default today) for the distance `distance_m`, on `cell_m` cells;
    the last few results of a dataset snapshot are kept (a map asks for the same one as JSON and as GeoTIFF)."""
    net, distance_m, cell_m, day = network_of(network), check_distance(distance_m), check_cell(cell_m), \
        outline_day(day)
    key = (net.key, distance_m, cell_m, day)
    with _cache_lock:
        cache: OrderedDict = dataset.cache.setdefault("coverage", OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    result = compute_coverage(dataset, net, distance_m, cell_m, day)
    with _cache_lock:
        cache[key] = result
        while len(cache) > CACHED_RESULTS:
            cache.popitem(last=False)
    return result


def compute_coverage(dataset: Dataset, net: Network, distance_m: float, cell_m: float, day: dt.date) -> Coverage:
    stations = dataset.get(net.layer)
    if stations is None:
        raise NotFound(f"the dataset has no {net.layer} layer", f"Dữ liệu không có lớp {net.layer}")
    outline = province_outline(dataset, day)
    if outline is None:
        raise NotFound("the dataset has no province outline to analyse", "Dữ liệu không có ranh giới tỉnh")
    outline_m = to_metres(np.array([outline], dtype=object))[0]
    grid = Grid.covering(tuple(outline_m.bounds), cell_m, MAX_GRID_CELLS)
    reach = max(distance_m, MIN_REACH_M)
    _check_padded(grid, reach)
    inside = grid.rasterize(np.array([outline_m], dtype=object))

    in_force = stations.valid_on(day)
    status = _text_column(stations, "status")
    points = _metric(stations)
    rows = {"before": np.flatnonzero(in_force & (status == EXISTING)),
            "after": np.flatnonzero(in_force & np.isin(status, [EXISTING, PLANNED]))}
    distances = {}
    for state, r in rows.items():
        checkpoint()  # the client may have gone: stop before each distance transform
        distances[state] = grid.distance_to(points[r], reach=reach)
    beyond = {state: inside & (d > distance_m) for state, d in distances.items()}

    communes, density, density_known = _communes(dataset, grid, inside, beyond, day)
    districts = _districts(dataset, grid, inside, beyond, day, density, density_known)
    summary = _summary(grid, inside, beyond, communes, dataset, day)
    accuracy = _accuracy(stations, rows)
    station_info = {state: {"count": int(len(r)), "accuracy": accuracy[state]} for state, r in rows.items()}
    station_info["planned"] = {"count": int(len(rows["after"]) - len(rows["before"])),
                               "accuracy": accuracy["planned"]}
    sources = _text_column(stations, "source")
    station_info["sources"] = sorted({str(v) for v in sources[rows["after"]] if _text(v)})
    notes = _notes(net, station_info, communes, dataset)
    notes["tolerance_m"] = round(cell_m * math.sqrt(2) / 2, 1)  # the distance transform's bound (geo/grid.py)
    inputs = inputs_record(dataset, [net.layer, PROVINCE, COMMUNES, DISTRICTS], day, {
        "network": net.key, "distance_m": distance_m, "cell_m": cell_m, "reach_m": reach,
        "distance_kind": DISTANCE_KIND["key"], "grid": {"crs": grid.crs, "bounds": list(grid.bounds),
                                                        "width": grid.width, "height": grid.height},
        "communes_as_of": commune_day(day).isoformat(), "districts_as_of": district_day(day).isoformat()})
    return Coverage(net, day, distance_m, grid, inside, distances, summary, communes, districts, station_info,
                    inputs, notes)


def _check_padded(grid: Grid, reach: float) -> None:
    """The distance transform runs on the grid padded by the reach: refuse (413) before it when too large."""
    pad = int(math.ceil(reach / grid.cell))
    cells = (grid.width + 2 * pad) * (grid.height + 2 * pad)
    if cells > MAX_DISTANCE_GRID_CELLS:
        raise PayloadTooLarge(
            f"measuring distances of up to {reach:g} m on {grid.cell:g} m cells takes {cells:,} cells, more than "
            f"the {MAX_DISTANCE_GRID_CELLS:,} allowed: choose larger cells or a shorter distance",
            f"Đo khoảng cách tới {reach:g} m trên ô {grid.cell:g} m cần {cells:,} ô, vượt quá giới hạn "
            f"{MAX_DISTANCE_GRID_CELLS:,} ô: hãy chọn ô lớn hơn hoặc khoảng cách ngắn hơn")


def _metric(layer: Layer) -> np.ndarray:
    """The layer's geometries in metres (shared with the check engine's cache of the same layer)."""
    if "metric" not in layer.cache:
        layer.cache["metric"] = to_metres(layer.frame.geometry.to_numpy())
    return layer.cache["metric"]


def _text_column(layer: Layer, name: str) -> np.ndarray:
    if name not in layer.frame.columns:
        return np.full(len(layer), None, dtype=object)
    return layer.frame[name].to_numpy(dtype=object)


def _unit_index(grid: Grid, geoms: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Each cell's unit (1-based row among `geoms`, by the cell's centre; 0: none or outside the province)."""
    shapes = [(g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(grid.shape, dtype="int32")
    index = features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32")
    index[~inside] = 0
    return index


def _counts(index: np.ndarray, n: int, mask: np.ndarray | None = None, weights: np.ndarray | None = None
            ) -> np.ndarray:
    """Per-unit cell counts (or sums of `weights`) of the cells in `mask`, units 1..n."""
    flat = index.ravel() if mask is None else index[mask]
    w = None if weights is None else (weights.ravel() if mask is None else weights[mask])
    return np.bincount(flat, weights=w, minlength=n + 1)[1:]


def _number(value: object) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _state_block(area_cells: float, beyond_cells: float, cell_area: float, population: float | None) -> dict:
    share = None if area_cells <= 0 else beyond_cells / area_cells
    return {"area_beyond_km2": round(float(beyond_cells) * cell_area / 1e6, 3),
            "share_beyond": None if share is None else round(float(share), 4),
            "population_beyond": None if population is None or share is None else round(population * share)}


def _communes(dataset: Dataset, grid: Grid, inside: np.ndarray, beyond: dict, day: dt.date):
    """Per commune in force: area, share and estimated population beyond the distance, before and after; and a
    raster of people per cell (even density in each commune; NaN where the population is unknown)."""
    layer = dataset.get(COMMUNES)
    density = np.zeros(grid.shape, dtype="float64")
    known = np.zeros(grid.shape, dtype=bool)
    if layer is None:
        return [], density, known
    rows = np.flatnonzero(layer.valid_on(commune_day(day)))
    geoms = _metric(layer)[rows]
    index = _unit_index(grid, geoms, inside)
    n = len(rows)
    cells = _counts(index, n)
    beyond_cells = {state: _counts(index, n, b) for state, b in beyond.items()}
    frame = layer.frame
    population = np.array([_number(v) for v in _column(frame, "population", rows)], dtype=object)
    per_cell = np.array([p / c if p is not None and c > 0 else np.nan for p, c in zip(population, cells, strict=True)],
                        dtype="float64")
    lookup = np.concatenate([[np.nan], per_cell])
    density = lookup[index]
    known = np.isfinite(density)
    density = np.where(known, density, 0.0)
    names, codes, notes = (_column(frame, c, rows) for c in ("name", "code", "population_note"))
    fids = layer.fids[rows]
    cell_area = grid.cell_area_m2
    out = []
    for i in range(n):
        pop = population[i]
        unit = {"id": int(fids[i]), "code": _text(codes[i]), "name": _text(names[i]),
                "area_km2": round(float(cells[i]) * cell_area / 1e6, 3), "cells": int(cells[i]),
                "population": None if pop is None else int(pop),
                "before": _state_block(cells[i], beyond_cells["before"][i], cell_area, pop),
                "after": _state_block(cells[i], beyond_cells["after"][i], cell_area, pop),
                "_geometry_m": geoms[i]}
        if pop is None:
            unit["population_note"] = _text(notes[i]) or "population unknown / chưa có số dân"
        share = unit["before"]["share_beyond"]
        unit["beyond"] = None if share is None else (
            "entirely" if share >= ENTIRELY_SHARE else "mostly" if share > MOSTLY_SHARE else "partly"
            if share > 0 else "none")
        out.append(unit)
    return out, density, known


def _districts(dataset: Dataset, grid: Grid, inside: np.ndarray, beyond: dict, day: dt.date,
               density: np.ndarray, known: np.ndarray) -> list[dict]:
    """Per pre-2025 district (the plans' unit): area and share beyond; population beyond summed from the
    communes' even densities over the district's cells (None when part of it lies in a commune of unknown
    population, or in no commune)."""
    layer = dataset.get(DISTRICTS)
    if layer is None:
        return []
    rows = np.flatnonzero(layer.valid_on(district_day(day)))
    index = _unit_index(grid, _metric(layer)[rows], inside)
    n = len(rows)
    cells = _counts(index, n)
    unknown = _counts(index, n, inside & ~known)
    population = _counts(index, n, weights=density)
    beyond_cells = {state: _counts(index, n, b) for state, b in beyond.items()}
    beyond_people = {state: _counts(index, n, b, density) for state, b in beyond.items()}
    names, codes = (_column(layer.frame, c, rows) for c in ("name", "code"))
    cell_area = grid.cell_area_m2
    out = []
    for i in range(n):
        complete = unknown[i] == 0 and cells[i] > 0
        unit = {"id": int(layer.fids[rows[i]]), "code": _text(codes[i]), "name": _text(names[i]),
                "area_km2": round(float(cells[i]) * cell_area / 1e6, 3), "cells": int(cells[i]),
                "population": round(float(population[i])) if complete else None}
        for state in STATES:
            block = _state_block(cells[i], beyond_cells[state][i], cell_area, None)
            block["population_beyond"] = round(float(beyond_people[state][i])) if complete else None
            unit[state] = block
        out.append(unit)
    return out


def _summary(grid: Grid, inside: np.ndarray, beyond: dict, communes: list[dict], dataset: Dataset,
             day: dt.date) -> dict:
    """Province totals; the population beyond is the sum over communes of known population (how many are not
    counted is said, so a partial total is never mistaken for the whole)."""
    cells = int(inside.sum())
    cell_area = grid.cell_area_m2
    unknown = [c for c in communes if c["population"] is None]
    known = [c for c in communes if c["population"] is not None]
    out = {"area_km2": round(cells * cell_area / 1e6, 3), "cells": cells,
           "population": sum(c["population"] for c in known) if known else None, "communes": len(communes),
           "communes_population_unknown": [c["name"] for c in unknown],
           "population_complete": bool(communes) and not unknown}
    for state in STATES:
        block = _state_block(cells, int(beyond[state].sum()), cell_area, None)
        pops = [c[state]["population_beyond"] for c in communes if c[state]["population_beyond"] is not None]
        block["population_beyond"] = int(sum(pops)) if known else None
        block["communes_entirely_beyond"] = [c["name"] for c in communes if c[state]["share_beyond"] is not None
                                             and c[state]["share_beyond"] >= ENTIRELY_SHARE]
        block["communes_mostly_beyond"] = [c["name"] for c in communes if c[state]["share_beyond"] is not None
                                           and MOSTLY_SHARE < c[state]["share_beyond"] < ENTIRELY_SHARE]
        out[state] = block
    return out


def _accuracy(stations: Layer, rows: dict) -> dict:
    values = _text_column(stations, "accuracy")
    planned = np.setdiff1d(rows["after"], rows["before"])
    return {"before": accuracy_counts(values[rows["before"]]), "after": accuracy_counts(values[rows["after"]]),
            "planned": accuracy_counts(values[planned])}


WEAK_ACCURACY_VI = {"synthetic": "minh họa", "schematic": "sơ đồ"}  # as web/labels.json names them


def _notes(net: Network, stations: dict, communes: list[dict], dataset: Dataset) -> dict:
    """What the numbers rest on, in words: the stations' accuracy, the planned stations, the population."""
    planned_acc = stations["planned"]["accuracy"]
    weak = {k: v for k, v in planned_acc.items() if k in ("synthetic", "schematic")}
    if stations["planned"]["count"] == 0:
        after = {"vi": "Không có cửa hàng quy hoạch nào có hiệu lực: 'sau' giống 'trước'.",
                 "en": "No planned station is in force: 'after' is the same as 'before'."}
    elif weak:
        after = {"vi": f"Kết quả 'sau quy hoạch' chỉ mang tính tham khảo: {sum(weak.values())} trong "
                       f"{stations['planned']['count']} cửa hàng quy hoạch có vị trí "
                       f"{', '.join(WEAK_ACCURACY_VI[a] for a in weak)} (không phải vị trí thật).",
                 "en": f"The 'after' result is indicative: {sum(weak.values())} of the "
                       f"{stations['planned']['count']} planned stations have {', '.join(weak)} positions (not real "
                       "sites)."}
    else:
        after = {"vi": "Vị trí các cửa hàng quy hoạch theo dữ liệu quy hoạch.",
                 "en": "The planned stations are placed as the plan data places them."}
    layer = dataset.get(COMMUNES)
    sources = sorted(set(_text_column(layer, "source")) - {None}) if layer is not None else []
    unknown = sum(1 for c in communes if c["population"] is None)
    return {
        "indicative": {"vi": "Kết quả mang tính tham khảo, không thay thế khảo sát thực địa: khoảng cách đo theo "
                             "đường chim bay trên lưới ô, dân số ước tính theo diện tích.",
                       "en": "Indicative, not a substitute for a site survey: straight-line distances on a grid of "
                             "cells, population estimated by area."},
        "after": after,
        "population": {**POPULATION_ESTIMATE, "sources": sources, "communes_unknown": unknown},
    }


def _column(frame, name: str, rows: np.ndarray) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(rows), None, dtype=object)
    return frame[name].to_numpy(dtype=object)[rows]


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)

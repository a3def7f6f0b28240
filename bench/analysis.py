"""Site suggestions and network coverage against the naive way: every grid cell checked through POST /checks.

Run from the repository root (`make bench-analysis` installs what it needs first):

    .venv/bin/python bench/analysis.py            # both datasets, about 5 minutes
    .venv/bin/python bench/analysis.py --quick    # fewer repetitions and naive samples

For two datasets — the shipped data/planmap.gpkg, and a copy whose fuel and LPG networks are 10× denser (synthetic
stations added at seeded random places inside the 2025 province, `accuracy: synthetic`) — it starts
`planmap serve` on a free loopback port and measures over HTTP with one keep-alive client:

1. **Suggestions.**  `POST /suggestions` for a fuel station over the whole province at 100 m (k = 10, preferences
   near a national road and far from existing stations), and over one commune; the first (cold) request and the
   median of the next ones.
2. **Coverage.**  `GET /analysis/coverage` of the fuel network, D = 3 km, whole province at 100 m (distance
   rasters before and after the planned stations, per-commune tables).
3. **The naive way.**  What a planner's script could do with the check service alone: one `POST /checks` per grid
   cell centre (a fuel-station point), reading each report's verdict (suggestions) or the measured distance of
   `fuel_station.station_spacing` (coverage).  A seeded sample of cells inside the province is timed and the rate
   extrapolated linearly to every cell of the same 100 m grid — labelled as extrapolated.

Prints a Markdown table and writes bench/out/analysis-results.md (+ analysis-results.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import orjson
import pyogrio
import shapely

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from checks import log, machine, province_2025, random_points  # noqa: E402
from planmap_server import PlanmapServer  # noqa: E402

from geo.crs import CRS84, METRIC_CRS, parse_crs, transform_geometries  # noqa: E402
from layers.dataset import load_dataset  # noqa: E402

SEED = 20261201
DENSER = 10  # the synthetic network has this many times the stations of the shipped one
CELL_M = 100.0
K = 10
DISTANCE_M = 3000
NETWORKS = ("fuel_stations", "lpg_stations")
METRIC = parse_crs(METRIC_CRS)


def dense_copy(source: Path, target: Path, rng: np.random.Generator) -> dict[str, int]:
    """`source` with (DENSER − 1) × as many synthetic stations added to each network; the counts after."""
    shutil.copyfile(source, target)
    dataset = load_dataset(source, ROOT / "data/catalog.yaml")
    outline = province_2025(dataset)
    counts = {}
    for layer_id in NETWORKS:
        frame = pyogrio.read_dataframe(source, layer=layer_id)
        extra = len(frame) * (DENSER - 1)
        xy = random_points(rng, outline, extra)
        points = transform_geometries(shapely.points(xy), METRIC, CRS84)
        statuses = frame["status"].to_numpy()
        added = frame.iloc[rng.integers(0, len(frame), extra)].copy()
        added = added.set_geometry(points.tolist(), crs=frame.crs)
        added["status"] = statuses[rng.integers(0, len(statuses), extra)]
        added["name"] = [f"Trạm tổng hợp {i + 1}" for i in range(extra)]
        added["source"] = "planmap benchmark synthetic"
        added["accuracy"] = "synthetic"
        pyogrio.write_dataframe(added, target, layer=layer_id, append=True)
        counts[layer_id] = len(frame) + extra
    return counts


def timed(client: httpx.Client, method: str, url: str, **kwargs) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = client.request(method, url, **kwargs)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:500]}")
    return elapsed, response


def series(client: httpx.Client, method: str, url: str, repeats: int, **kwargs) -> dict:
    """The cold first request, then the median and spread of `repeats` more; the last response's JSON."""
    cold, response = timed(client, method, url, **kwargs)
    warm = [timed(client, method, url, **kwargs)[0] for _ in range(repeats)]
    return {"cold_s": cold, "median_s": statistics.median(warm), "min_s": min(warm), "max_s": max(warm),
            "runs": repeats, "doc": response.json()}


def coverage_series(client: httpx.Client, url: str, repeats: int) -> dict:
    """Coverage keeps its last few results: each timed request asks a distance 1 m apart (a new computation of
    both rasters and the tables), and one more repeats the first (a kept result)."""
    def ask(distance: float) -> tuple[float, httpx.Response]:
        return timed(client, "GET", f"{url}/analysis/coverage",
                     params={"network": "fuel", "distance_m": distance, "cell_m": CELL_M})

    cold, response = ask(DISTANCE_M)
    warm = [ask(DISTANCE_M + 1 + i)[0] for i in range(repeats)]
    kept = ask(DISTANCE_M + repeats)[0]
    return {"cold_s": cold, "median_s": statistics.median(warm), "min_s": min(warm), "max_s": max(warm),
            "kept_s": kept, "runs": repeats, "doc": response.json()}


def naive_rate(client: httpx.Client, url: str, points84: np.ndarray) -> dict:
    """POST /checks for each point; the rate, and per point the verdict and the measured station distance."""
    verdicts, distances = [], []
    start = time.perf_counter()
    for x, y in points84:
        body = orjson.dumps({"type": "Feature", "properties": {"kind": "fuel_station"},
                             "geometry": {"type": "Point", "coordinates": [float(x), float(y)]}})
        response = client.post(f"{url}/checks", content=body, headers={"Content-Type": "application/geo+json"})
        response.raise_for_status()
        report = response.json()
        verdicts.append(report["verdict"])
        spacing = [r for r in report["results"] if r["rule"] == "fuel_station.station_spacing"]
        distances.append(spacing[0]["measured"] if spacing else None)
    elapsed = time.perf_counter() - start
    return {"checks": len(points84), "seconds": elapsed, "per_s": len(points84) / elapsed,
            "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))}}


def province_cells(outline: shapely.Geometry) -> int:
    """How many 100 m cells have their centre in the province (the naive way checks each of them)."""
    from geo.grid import Grid
    from layers.limits import MAX_GRID_CELLS

    grid = Grid.covering(outline.bounds, CELL_M, MAX_GRID_CELLS)
    return int(grid.rasterize(np.array([outline])).sum())


def suggestion_body(area: dict) -> dict:
    return {"kind": "fuel_station", "k": K, "cell_m": CELL_M, **({"area": area} if area else {}),
            "preferences": {"near_road": 2.0, "far_from_stations": 1.0}}


def run_dataset(name: str, data: Path, args, outline: shapely.Geometry, commune: str) -> dict:
    rng = np.random.default_rng(SEED)
    sample = transform_geometries(shapely.points(random_points(rng, outline, args.naive)), METRIC, CRS84)
    sample84 = shapely.get_coordinates(sample)
    out: dict = {"dataset": name}
    with PlanmapServer(ROOT, data, {}) as server, httpx.Client(timeout=300) as client:
        url = server.url
        log(f"{name}: suggestions, whole province")
        province = series(client, "POST", f"{url}/suggestions", args.repeats,
                          content=orjson.dumps(suggestion_body({})), headers={"Content-Type": "application/json"})
        log(f"{name}: suggestions, commune {commune}")
        one = series(client, "POST", f"{url}/suggestions", args.repeats,
                     content=orjson.dumps(suggestion_body({"commune": commune})),
                     headers={"Content-Type": "application/json"})
        log(f"{name}: coverage")
        coverage = coverage_series(client, url, args.repeats)
        log(f"{name}: naive, {args.naive} checks")
        naive = naive_rate(client, url, sample84)
    for key, res in (("suggest_province", province), ("suggest_commune", one), ("coverage", coverage)):
        doc = res.pop("doc")
        res["summary"] = summarise(key, doc)
        out[key] = res
    out["naive"] = naive
    return out


def summarise(key: str, doc: dict) -> dict:
    """The few facts of a response the table shows (how many candidates, cells, communes beyond D)."""
    if key.startswith("suggest"):
        return {"candidates": len(doc["candidates"]), "cells": doc["cells"], "timings": doc["timings"]}
    return {"summary": doc.get("summary"), "timings": doc.get("timings")}


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [f"Run of {res['started']} UTC at git {res['git']} on {m['cpu']} ({m['cores']} cores, "
             f"{m['ram_gib']:.1f} GiB), Python {m['python']}, load average at start {m['loadavg_start'][0]:.2f}.",
             f"Whole-province grid: {res['province_cells']:,} cells of {CELL_M:g} m inside the 2025 province.", "",
             "| dataset | stations (fuel / LPG) | suggestions, province (cold / median) | suggestions, one commune "
             "| coverage, province D = 3 km | naive: POST /checks per cell | naive, whole grid (extrapolated) |",
             "|---|---|---|---|---|---|---|"]
    for run in res["runs"]:
        naive = run["naive"]
        whole = res["province_cells"] / naive["per_s"]
        stations = " / ".join(f"{res['stations'][run['dataset']][n]:,}" for n in NETWORKS)
        lines.append(
            f"| {run['dataset']} | {stations} | {run['suggest_province']['cold_s']:.2f} s / "
            f"{run['suggest_province']['median_s']:.2f} s | {run['suggest_commune']['median_s']:.2f} s | "
            f"{run['coverage']['cold_s']:.2f} s / {run['coverage']['median_s']:.2f} s | "
            f"{naive['per_s']:.0f} checks/s ({naive['checks']} timed) | {whole / 3600:.1f} h |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 repetitions, 100 naive checks")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--naive", type=int, default=400, help="cells checked through POST /checks")
    parser.add_argument("--commune", default="Phổ Yên", help="the commune of the small-area suggestion")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.naive = 2, 100
    OUT.mkdir(exist_ok=True)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    shipped = ROOT / "data/planmap.gpkg"
    dense = OUT / "analysis-dense.gpkg"
    log(f"writing the {DENSER}× denser network to {dense}")
    dataset = load_dataset(shipped, ROOT / "data/catalog.yaml")
    outline = province_2025(dataset)
    stations = {"shipped": {n: len(dataset.get(n)) for n in NETWORKS},
                f"{DENSER}× denser": dense_copy(shipped, dense, np.random.default_rng(SEED))}
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()
    res = {"started": started, "git": git, "machine": machine(), "province_cells": province_cells(outline),
           "stations": stations, "runs": []}
    for name, data in (("shipped", shipped), (f"{DENSER}× denser", dense)):
        res["runs"].append(run_dataset(name, data, args, outline, args.commune))
    table = markdown(res)
    (OUT / "analysis-results.json").write_text(json.dumps(res, indent=1, ensure_ascii=False, default=str))
    (OUT / "analysis-results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Compliance-check benchmark: one check over HTTP, and 10,000 proposals in a batch beside a naive geopandas loop.

Run from the repository root:

    .venv/bin/python bench/checks.py            # all three parts, about 1 minute
    .venv/bin/python bench/checks.py --help     # sizes, seed, port, skipping parts

1. **One check over HTTP.**  Starts ``.venv/bin/planmap serve`` (data/planmap.gpkg, data/rules.yaml) on a free
   127.0.0.1 port, then POSTs GeoJSON Features to ``/checks`` with one keep-alive httpx client: for each proposal
   kind measured (a fuel_station point, a ~30 ha industrial_cluster square) 50 warm-up and 500 timed requests, each
   at a different seeded random location inside the 2025 province.  Reports p50 / p99 / mean latency and req/s.
   A second opinion from ``wrk -t1 -c1 -d10s --latency`` with a Lua script POSTing one fixed body per kind.
   The server is stopped at the end whatever happens.
2. **Batch.**  10,000 seeded random proposals inside the 2025 province (fuel_station, lpg_station and factory
   points, some ~30 ha industrial_cluster polygons) through ``layers.batch.check_all`` — a cold first run on a fresh
   engine (metric layers and STRtrees built on demand), then best of 3 on the warm engine.
3. **Naive comparison, same run.**  A straightforward per-proposal geopandas implementation of the same distance /
   overlap rules for point proposals: for each proposal a one-point GeoSeries in EPSG:9213, ``.buffer(threshold)``,
   ``gpd.sjoin`` against the (pre-filtered, pre-projected) layer, then exact distances for the matches.  Run on a
   subset (500 point proposals by default) and extrapolated linearly to 10,000; the pass/fail agreement with
   planmap on that subset is checked rule by rule.

Prints a Markdown table and writes it to bench/out/checks-results.md (+ checks-results.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402

from geo.crs import CRS84, parse_crs, transform_geometries  # noqa: E402
from layers.batch import check_all  # noqa: E402
from layers.checks import CheckEngine  # noqa: E402
from layers.dataset import load_dataset  # noqa: E402
from layers.measures.base import TOLERANCE_M  # noqa: E402
from layers.proposals import Proposals  # noqa: E402
from layers.rules import load_rules  # noqa: E402

GPKG = ROOT / "data" / "planmap.gpkg"
CATALOG = ROOT / "data" / "catalog.yaml"
RULES = ROOT / "data" / "rules.yaml"
PLANMAP = ROOT / ".venv" / "bin" / "planmap"
HOST = "127.0.0.1"
METRIC = parse_crs("EPSG:9213")
DAY = dt.date(2026, 1, 15)  # after 1 July 2025: the merged (2025) province and all rules are in force
CLUSTER_HA = 30.0
NEAR_SHARE, NEAR_RADIUS = 0.3, 400.0  # share of batch sites placed near an existing feature, and how near (m)
# The batch mix: point kinds and the share of ~30 ha cluster polygons.
MIX = {"fuel_station": 0.40, "lpg_station": 0.20, "factory": 0.30, "industrial_cluster": 0.10}
# Rules the naive implementation re-implements (point proposals only).
NAIVE_RULES = ("fuel_station.crowded_places", "fuel_station.station_spacing", "site.power_line_corridor",
               "site.mineral_areas", "site.province")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# proposals


def province_2025(dataset) -> shapely.Geometry:
    """The merged province (valid from 1 July 2025), in EPSG:9213 metres."""
    layer = dataset.get("province")
    frame = layer.frame
    row = int(np.flatnonzero(frame["version"].astype(str).to_numpy() == "2025")[0])
    return transform_geometries(np.array([frame.geometry.iloc[row]]), CRS84, METRIC)[0]


def random_points(rng: np.random.Generator, outline: shapely.Geometry, n: int) -> np.ndarray:
    """`n` uniform random (x, y) in metres inside `outline` (rejection sampling)."""
    shapely.prepare(outline)
    minx, miny, maxx, maxy = outline.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(2 * n, 1000), 2))
        out = np.vstack([out, xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]])
    return out[:n]


def squares(rng: np.random.Generator, centres: np.ndarray, area_ha: float) -> np.ndarray:
    """Squares of `area_ha` around `centres` (metres), each rotated at random."""
    half = np.sqrt(area_ha * 10_000.0) / 2
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half], [-half, -half]])
    angle = rng.uniform(0, np.pi / 2, size=len(centres))
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    xs = centres[:, :1] + corners[:, 0] * cos - corners[:, 1] * sin
    ys = centres[:, 1:] + corners[:, 0] * sin + corners[:, 1] * cos
    return shapely.polygons(np.stack([xs, ys], axis=-1))


def anchors(dataset) -> np.ndarray:
    """Existing features a planner's proposal often lands next to, as points in metres: crowded places, fuel
    stations, vertices of power lines, and mineral-area boundary vertices."""
    parts = []
    for layer_id in ("public_facilities", "fuel_stations", "power_lines", "mineral_areas"):
        layer = dataset.get(layer_id)
        geoms = transform_geometries(layer.frame.geometry.to_numpy(), CRS84, METRIC)
        if layer_id in ("power_lines", "mineral_areas"):
            geoms = shapely.segmentize(shapely.boundary(geoms) if layer_id == "mineral_areas" else geoms, 50.0)
        parts.append(shapely.get_coordinates(geoms))
    return np.vstack(parts)


def near_points(rng: np.random.Generator, outline: shapely.Geometry, near: np.ndarray, n: int,
                radius: float) -> np.ndarray:
    """`n` points inside `outline`, each within `radius` m of a random anchor (denser close to it)."""
    out = np.empty((0, 2))
    while len(out) < n:
        pick = near[rng.integers(0, len(near), size=2 * n)]
        r = radius * rng.uniform(0, 1, size=2 * n) ** 2
        a = rng.uniform(0, 2 * np.pi, size=2 * n)
        xy = pick + np.column_stack([r * np.cos(a), r * np.sin(a)])
        out = np.vstack([out, xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]])
    return out[:n]


def make_proposals(rng: np.random.Generator, outline: shapely.Geometry, n: int, mix: dict[str, float],
                   near: np.ndarray | None = None) -> Proposals:
    """`n` proposals of the kinds in `mix` (shares), shuffled; clusters are ~30 ha squares; CRS84 output.

    A share NEAR_SHARE of the sites is placed within NEAR_RADIUS m of an existing feature (`near`), the rest
    uniformly over the province, so that the failing paths of the distance rules are exercised too.
    """
    counts = {k: int(round(share * n)) for k, share in mix.items()}
    counts[next(iter(counts))] += n - sum(counts.values())
    kinds = np.concatenate([np.full(c, k, dtype=object) for k, c in counts.items()])
    rng.shuffle(kinds)
    xy = random_points(rng, outline, n)
    if near is not None:
        close = rng.uniform(size=n) < NEAR_SHARE
        xy[close] = near_points(rng, outline, near, int(close.sum()), NEAR_RADIUS)
    geoms = shapely.points(xy)
    poly = kinds == "industrial_cluster"
    if poly.any():
        geoms[poly] = squares(rng, xy[poly], CLUSTER_HA)
    lonlat = transform_geometries(geoms, METRIC, CRS84)
    props = [{"kind": str(k)} for k in kinds]
    return Proposals(kinds=kinds, geoms=lonlat, properties=props)


def feature(kind: str, geom: shapely.Geometry) -> dict:
    return {"type": "Feature", "properties": {"kind": kind}, "geometry": shapely.geometry.mapping(geom)}


def rounded(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.set_precision(geom, 1e-7)  # ~1 cm: a realistic coordinate precision for a request body


# ---------------------------------------------------------------------------------------------------------------
# part 1: one check over HTTP


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, log_path: Path) -> subprocess.Popen:
    logf = open(log_path, "w")  # noqa: SIM115 - kept open for the server's lifetime
    proc = subprocess.Popen([str(PLANMAP), "serve", "--host", HOST, "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"planmap serve exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://{HOST}:{port}/rules?f=json", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"planmap serve did not answer within 120 s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def http_series(client, url: str, bodies: list[bytes], warmup: int) -> dict:
    """POST each body in turn; the first `warmup` are not timed.  Latencies in ms."""
    headers = {"Content-Type": "application/json"}
    verdicts: dict[str, int] = {}
    for body in bodies[:warmup]:
        r = client.post(url, content=body, headers=headers)
        r.raise_for_status()
    lat = []
    sizes = []
    t_start = time.perf_counter()
    for body in bodies[warmup:]:
        t0 = time.perf_counter()
        r = client.post(url, content=body, headers=headers)
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"POST /checks → {r.status_code}: {r.text[:300]}")
        sizes.append(len(r.content))
        v = r.json()["verdict"]
        verdicts[v] = verdicts.get(v, 0) + 1
    elapsed = time.perf_counter() - t_start
    return {"n": len(lat), "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99),
            "mean_ms": statistics.fmean(lat), "max_ms": max(lat), "req_s": len(lat) / elapsed,
            "mean_response_bytes": statistics.fmean(sizes), "verdicts": verdicts}


WRK_LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(url: str, body: bytes, seconds: int) -> dict | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        log("wrk not found (apt-get install -y wrk): skipping the wrk second opinion")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, dir=OUT) as f:
        f.write(WRK_LUA.format(body=json.dumps(body.decode())))
        script = f.name
    try:
        res = subprocess.run([wrk, "-t1", "-c1", f"-d{seconds}s", "--latency", "-s", script, url],
                             capture_output=True, text=True, timeout=seconds + 60, check=True)
    finally:
        os.unlink(script)
    text = res.stdout
    out: dict = {"raw": text}
    for label, key in (("50%", "p50_ms"), ("75%", "p75_ms"), ("90%", "p90_ms"), ("99%", "p99_ms")):
        m = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", text, re.M)
        out[key] = _ms(m.group(1)) if m else None
    m = re.search(r"^\s+Latency\s+(\S+)", text, re.M)
    out["mean_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["req_s"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    return out


def bench_http(args, rng: np.random.Generator, outline: shapely.Geometry) -> dict:
    import httpx

    OUT.mkdir(exist_ok=True)
    port = args.port or free_port()
    log(f"starting planmap serve on {HOST}:{port}")
    t0 = time.perf_counter()
    proc = start_server(port, OUT / "checks-server.log")
    startup = time.perf_counter() - t0
    url = f"http://{HOST}:{port}/checks?as_of={DAY.isoformat()}"
    results: dict = {"port": port, "startup_s": startup, "series": {}, "wrk": {}}
    try:
        n = args.warmup + args.requests
        kinds = {"fuel_station": "point", "industrial_cluster": f"polygon ~{CLUSTER_HA:g} ha"}
        with httpx.Client(timeout=30) as client:
            # the very first check on a fresh server (engine builds its metric layers and indexes on demand)
            xy = random_points(rng, outline, 1)
            first = orjson_dumps(feature("fuel_station", rounded(transform_geometries(
                shapely.points(xy), METRIC, CRS84)[0])))
            t = time.perf_counter()
            client.post(url, content=first, headers={"Content-Type": "application/json"}).raise_for_status()
            results["first_request_ms"] = (time.perf_counter() - t) * 1000
            for kind, shape in kinds.items():
                xy = random_points(rng, outline, n)
                geoms = shapely.points(xy) if kind != "industrial_cluster" else squares(rng, xy, CLUSTER_HA)
                lonlat = transform_geometries(geoms, METRIC, CRS84)
                bodies = [orjson_dumps(feature(kind, rounded(g))) for g in lonlat]
                log(f"HTTP {kind}: {args.warmup} warm-up + {args.requests} timed requests")
                res = http_series(client, url, bodies, args.warmup)
                res["shape"] = shape
                res["body_bytes"] = statistics.fmean(len(b) for b in bodies)
                results["series"][kind] = res
                log(f"  p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  {res['req_s']:.0f} req/s")
        if args.wrk_seconds > 0:
            for kind in kinds:
                xy = random_points(rng, outline, 1)
                geom = shapely.points(xy) if kind != "industrial_cluster" else squares(rng, xy, CLUSTER_HA)
                body = orjson_dumps(feature(kind, rounded(transform_geometries(geom, METRIC, CRS84)[0])))
                log(f"wrk -t1 -c1 -d{args.wrk_seconds}s {kind}")
                res = run_wrk(url, body, args.wrk_seconds)
                if res is not None:
                    results["wrk"][kind] = res
                    log(f"  p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  {res['req_s']:.0f} req/s")
    finally:
        stop_server(proc)
        log("server stopped")
    return results


def orjson_dumps(obj) -> bytes:
    import orjson

    return orjson.dumps(obj)


# ---------------------------------------------------------------------------------------------------------------
# part 2: the batch


def bench_batch(args, dataset, rules, proposals: Proposals) -> dict:
    log(f"batch: {len(proposals)} proposals, cold run on a fresh engine")
    engine = CheckEngine(dataset, rules)
    t = time.perf_counter()
    table = check_all(engine, proposals, DAY)
    cold = time.perf_counter() - t
    warm = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        table = check_all(engine, proposals, DAY)
        warm.append(time.perf_counter() - t)
    log(f"  cold {cold:.3f} s, warm {', '.join(f'{w:.3f}' for w in warm)} s")
    # per-rule time on the warm engine: evaluate() one rule at a time over the whole batch (chunked like check_all)
    per_rule = {}
    book = rules.in_force(DAY)
    for rule in book:
        sub = type(rules)(rules=[rule])
        e = CheckEngine(dataset, sub)
        e._subsets, e._metric = engine._subsets, engine._metric  # share the warm caches
        t = time.perf_counter()
        check_all(e, proposals, DAY)
        per_rule[rule.id] = time.perf_counter() - t
    verdicts = table["verdict"].value_counts().to_dict()
    return {"n": len(proposals), "cold_s": cold, "warm_s": warm, "best_s": min(warm),
            "kinds": pd.Series(proposals.kinds).value_counts().to_dict(), "verdicts": verdicts,
            "per_rule_s": per_rule}, table, engine


# ---------------------------------------------------------------------------------------------------------------
# part 3: the naive per-proposal geopandas implementation


class Naive:
    """The same distance / overlap / inside rules as data/rules.yaml, one proposal at a time with geopandas.

    Layers are read from the same in-memory dataset, projected to EPSG:9213 and filtered once (set-up, timed
    separately); each proposal then does what a straightforward script would: buffer, sjoin, distances.
    """

    def __init__(self, dataset, rules, day: dt.date) -> None:
        by_id = {r.id: r for r in rules.in_force(day)}
        self.rules = by_id

        def metric(layer_id: str) -> gpd.GeoDataFrame:
            frame = dataset.get(layer_id).frame
            return gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=frame.geometry.to_crs(
                "EPSG:9213").to_numpy(), crs="EPSG:9213")

        crowded = by_id["fuel_station.crowded_places"]
        facilities = metric(crowded.layer)
        self.crowded = facilities[facilities["kind"].isin(crowded.filter["kind"])][["kind", "geometry"]]
        self.crowded_m = float(crowded.threshold)
        spacing = by_id["fuel_station.station_spacing"]
        self.stations = metric(spacing.layer)[["geometry"]]
        self.spacing_m = float(spacing.threshold)
        corridor = by_id["site.power_line_corridor"]
        lines = metric(corridor.layer)[[corridor.params.corridor.by, "geometry"]]
        table = sorted(corridor.params.corridor.widths, key=lambda w: w.max_kv)

        def width(kv: float) -> float:
            if kv is None or pd.isna(kv):
                return table[-1].width_m
            for w in table:
                if float(kv) <= w.max_kv:
                    return w.width_m
            return table[-1].width_m

        conductor = sorted(corridor.params.corridor.conductor.by_voltage, key=lambda c: c.max_kv)

        def offset(kv: float) -> tuple[float, float]:
            """Centreline → outermost conductor (assumed by voltage) and its uncertainty, as the rules file says."""
            for c in conductor:
                if kv is not None and not pd.isna(kv) and float(kv) <= c.max_kv:
                    return c.half_width_m, c.uncertainty_m
            return conductor[-1].half_width_m, conductor[-1].uncertainty_m

        voltages = pd.to_numeric(lines[corridor.params.corridor.by], errors="coerce")
        lines["width_m"] = [width(v) + offset(v)[0] for v in voltages]  # the corridor's reach from the centreline
        lines["band_m"] = [offset(v)[1] for v in voltages]
        self.lines = lines[["width_m", "band_m", "geometry"]]
        self.max_width = float((self.lines["width_m"] + self.lines["band_m"]).max())
        mineral = by_id["site.mineral_areas"]
        self.mineral = metric(mineral.layer)[[mineral.params.severity_by.field, "geometry"]]
        self.mineral_by = mineral.params.severity_by
        province = metric(by_id["site.province"].layer)
        start = pd.to_datetime(province["valid_from"], errors="coerce")
        end = pd.to_datetime(province["valid_to"], errors="coerce")
        when = pd.Timestamp(day)
        self.province = province[(start.isna() | (start <= when)) & (end.isna() | (end >= when))][["geometry"]]
        for frame in (self.crowded, self.stations, self.lines, self.mineral, self.province):
            frame.sindex  # noqa: B018 - build each layer's index once, as a script holding the layers would

    def _min_distance(self, pt: gpd.GeoSeries, layer: gpd.GeoDataFrame, threshold: float) -> str:
        zone = gpd.GeoDataFrame(geometry=pt.buffer(threshold), crs=pt.crs)
        hits = gpd.sjoin(zone, layer, how="inner", predicate="intersects")
        if hits.empty:
            return "pass"
        d = layer.geometry.loc[hits["index_right"]].distance(pt.iloc[0])
        return "fail" if (d < threshold - TOLERANCE_M).any() else "pass"

    def check(self, kind: str, x: float, y: float) -> dict[str, str]:
        pt = gpd.GeoSeries([shapely.Point(x, y)], crs="EPSG:9213")
        out = {}
        if kind == "fuel_station":
            out["fuel_station.crowded_places"] = self._min_distance(pt, self.crowded, self.crowded_m)
            out["fuel_station.station_spacing"] = self._min_distance(pt, self.stations, self.spacing_m)
        # power-line corridors: candidates within the widest reach, then each line's own reach and uncertainty
        zone = gpd.GeoDataFrame(geometry=pt.buffer(self.max_width), crs=pt.crs)
        hits = gpd.sjoin(zone, self.lines, how="inner", predicate="intersects")
        status = "pass"
        if not hits.empty:
            d = self.lines.geometry.loc[hits["index_right"]].distance(pt.iloc[0]).to_numpy()
            reach, band = hits["width_m"].to_numpy(), hits["band_m"].to_numpy()
            if (d < reach - band - TOLERANCE_M).any():
                status = "fail"
            elif (d < reach + band - TOLERANCE_M).any():
                status = "unknown"
        out["site.power_line_corridor"] = status
        # mineral areas: the worst severity among the areas the site touches
        site = gpd.GeoDataFrame(geometry=pt, crs=pt.crs)
        hits = gpd.sjoin(site, self.mineral, how="inner", predicate="intersects")
        status = "pass"
        for value in hits[self.mineral_by.field]:
            sev = self.mineral_by.values.get(str(value), self.mineral_by.default)
            if sev == "fail" or status == "pass":
                status = sev
        out["site.mineral_areas"] = status
        # inside the province valid on the day
        hits = gpd.sjoin(site, self.province, how="inner", predicate="intersects")
        out["site.province"] = "pass" if len(hits) else "fail"
        return out


def bench_naive(args, dataset, rules, proposals: Proposals, planmap_table: pd.DataFrame) -> dict:
    points = np.flatnonzero(shapely.get_type_id(proposals.geoms) == 0)[: args.naive_n]
    log(f"naive: {len(points)} point proposals, one at a time with geopandas")
    t = time.perf_counter()
    naive = Naive(dataset, rules, DAY)
    setup = time.perf_counter() - t
    metric_xy = shapely.get_coordinates(transform_geometries(proposals.geoms[points], CRS84, METRIC))
    kinds = proposals.kinds[points]
    t = time.perf_counter()
    statuses = [naive.check(str(k), x, y) for k, (x, y) in zip(kinds, metric_xy, strict=True)]
    loop = time.perf_counter() - t
    per = loop / len(points)
    log(f"  set-up {setup:.3f} s, loop {loop:.2f} s = {per * 1000:.2f} ms/proposal")

    # planmap on the very same subset (its own batch), for like-for-like timing and the agreement check
    engine = CheckEngine(dataset, rules)
    sub = Proposals(proposals.kinds[points], proposals.geoms[points], [proposals.properties[i] for i in points])
    check_all(engine, sub, DAY)
    t = time.perf_counter()
    sub_table = check_all(engine, sub, DAY)
    planmap_subset = time.perf_counter() - t
    # the agreement, rule by rule, where the rule applies to the proposal's kind
    agreement = {}
    for rule_id in NAIVE_RULES:
        col = sub_table[f"{rule_id}.status"].to_numpy()
        big = planmap_table[f"{rule_id}.status"].to_numpy()[points]  # the 10,000-batch run, same proposals
        compared = mismatched = differs_in_batch = 0
        examples = []
        for j, s in enumerate(statuses):
            if rule_id not in s:
                continue
            compared += 1
            differs_in_batch += int(col[j] != big[j])
            if s[rule_id] != col[j]:
                mismatched += 1
                if len(examples) < 5:
                    examples.append({"i": int(points[j]), "kind": str(kinds[j]), "naive": s[rule_id],
                                     "planmap": str(col[j]),
                                     "measured": float(sub_table[f"{rule_id}.measured"].iloc[j])})
        counts = pd.Series([s[rule_id] for s in statuses if rule_id in s]).value_counts().to_dict()
        agreement[rule_id] = {"compared": compared, "mismatches": mismatched, "examples": examples,
                              "naive_statuses": counts, "subset_vs_batch_differences": differs_in_batch}
        log(f"  {rule_id}: {compared} compared, {mismatched} mismatches {counts}")
    return {"n": len(points), "kinds": pd.Series(kinds).value_counts().to_dict(), "setup_s": setup,
            "loop_s": loop, "per_proposal_ms": per * 1000, "extrapolated_10k_s": per * 10_000 + setup,
            "planmap_subset_s": planmap_subset, "agreement": agreement}


# ---------------------------------------------------------------------------------------------------------------
# report


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        mem = int(m.group(1)) / 1024 / 1024 if m else None
    except OSError:
        pass
    import fastapi
    import httpx
    import numpy
    import pyproj
    import uvicorn

    wrk = shutil.which("wrk")
    wrk_version = None
    if wrk:
        res = subprocess.run([wrk, "-v"], capture_output=True, text=True)
        wrk_version = (res.stdout or res.stderr).split("\n")[0].strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": mem, "kernel": platform.release(),
            "python": platform.python_version(), "shapely": shapely.__version__, "geos": shapely.geos_version_string,
            "geopandas": gpd.__version__, "numpy": numpy.__version__, "pandas": pd.__version__,
            "pyproj": pyproj.__version__, "fastapi": fastapi.__version__, "uvicorn": uvicorn.__version__,
            "httpx": httpx.__version__, "wrk": wrk_version, "loadavg_start": os.getloadavg()}


def ok(flag: bool) -> str:
    return "**met**" if flag else "**missed**"


def markdown(res: dict, args) -> str:
    m = res["machine"]
    lines = [f"Compliance-check benchmark — {res['date']}, `{res['command']}`", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']:.0f} GiB RAM; Python {m['python']}, "
             f"shapely {m['shapely']} (GEOS {m['geos']}), geopandas {m['geopandas']}, numpy {m['numpy']}, "
             f"pyproj {m['pyproj']}, FastAPI {m['fastapi']}, uvicorn {m['uvicorn']}, {m['wrk'] or 'no wrk'}. "
             f"Load average (1 min) {m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end. "
             f"Rules as of {DAY.isoformat()}, seed {args.seed}.",
             ""]
    targets = []
    http = res.get("http")
    if http:
        lines += ["**One check over HTTP** (`POST /checks`, JSON report, one keep-alive connection, "
                  f"{args.warmup} warm-up + {args.requests} timed requests per kind, each at a different random "
                  "location inside the province; server: `planmap serve`, one uvicorn worker)", "",
                  "| proposal | client | requests | p50 ms | p90 ms | p99 ms | mean ms | req/s | verdicts |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for kind, s in http["series"].items():
            v = ", ".join(f"{k} {n}" for k, n in sorted(s["verdicts"].items()))
            lines.append(f"| {kind} ({s['shape']}) | httpx, random sites | {s['n']} | {s['p50_ms']:.2f} | "
                         f"{s['p90_ms']:.2f} | {s['p99_ms']:.2f} | {s['mean_ms']:.2f} | {s['req_s']:.0f} | {v} |")
        for kind, w in http["wrk"].items():
            lines.append(f"| {kind} (fixed body) | wrk -t1 -c1 {args.wrk_seconds} s | {w['requests']} | "
                         f"{w['p50_ms']:.2f} | {w['p90_ms']:.2f} | {w['p99_ms']:.2f} | {w['mean_ms']:.2f} | "
                         f"{w['req_s']:.0f} | non-2xx {w['non_2xx']} |")
        lines += ["", f"Server start-up (load dataset, answer `/rules`) {http['startup_s']:.1f} s; the very first "
                  f"check on a fresh server {http['first_request_ms']:.0f} ms (metric layers and indexes built on "
                  "demand).", ""]
        for kind, s in http["series"].items():
            targets.append((f"one check p50 < 10 ms over HTTP ({kind}, httpx)", f"{s['p50_ms']:.2f} ms",
                            s["p50_ms"] < 10))
        for kind, w in http["wrk"].items():
            targets.append((f"one check p50 < 10 ms over HTTP ({kind}, wrk)", f"{w['p50_ms']:.2f} ms",
                            w["p50_ms"] < 10))
    batch, naive = res.get("batch"), res.get("naive")
    if batch:
        kinds = ", ".join(f"{k} {n}" for k, n in batch["kinds"].items())
        verdicts = ", ".join(f"{k} {n}" for k, n in sorted(batch["verdicts"].items()))
        lines += [f"**Batch** — {batch['n']:,} proposals ({kinds}; clusters are ~{CLUSTER_HA:g} ha squares), "
                  f"`layers.batch.check_all` (all {len(batch['per_rule_s'])} rules in force, results table), "
                  f"verdicts: {verdicts}", "",
                  "| implementation | proposals run | time | per proposal | time for 10,000 |",
                  "|---|---:|---:|---:|---:|",
                  f"| planmap `check_all`, cold (fresh engine) | {batch['n']:,} | {batch['cold_s']:.3f} s | "
                  f"{batch['cold_s'] / batch['n'] * 1e6:.0f} µs | {batch['cold_s'] * 10_000 / batch['n']:.3f} s |",
                  f"| planmap `check_all`, warm, best of {len(batch['warm_s'])} | {batch['n']:,} | "
                  f"{batch['best_s']:.3f} s | {batch['best_s'] / batch['n'] * 1e6:.0f} µs | "
                  f"{batch['best_s'] * 10_000 / batch['n']:.3f} s |"]
        if naive:
            lines += [
                f"| planmap `check_all`, warm, on the naive subset | {naive['n']:,} | "
                f"{naive['planmap_subset_s']:.3f} s | {naive['planmap_subset_s'] / naive['n'] * 1e6:.0f} µs | — |",
                f"| naive geopandas, per proposal (buffer + sjoin), point proposals only | {naive['n']:,} | "
                f"{naive['loop_s']:.2f} s (+ {naive['setup_s']:.2f} s set-up) | {naive['per_proposal_ms']:.2f} ms | "
                f"**{naive['extrapolated_10k_s']:.1f} s (extrapolated)** |"]
        lines.append("")
        per_rule = ", ".join(f"`{k}` {v * 1000:.0f} ms" for k, v in batch["per_rule_s"].items())
        lines += [f"Warm runs: {', '.join(f'{w:.3f}' for w in batch['warm_s'])} s. Each rule alone over the "
                  f"{batch['n']:,} (warm caches, chunked as `check_all`): {per_rule}.", ""]
        targets.append((f"{batch['n']:,} proposals in < 2 s (warm, best of {len(batch['warm_s'])})",
                        f"{batch['best_s']:.3f} s", batch["best_s"] < 2))
        targets.append((f"{batch['n']:,} proposals in < 2 s (cold first run)", f"{batch['cold_s']:.3f} s",
                        batch["cold_s"] < 2))
    if naive and batch:
        speedup = naive["extrapolated_10k_s"] / (batch["best_s"] * 10_000 / batch["n"])
        speedup_cold = naive["extrapolated_10k_s"] / (batch["cold_s"] * 10_000 / batch["n"])
        per_pt = naive["per_proposal_ms"] / 1000 / (naive["planmap_subset_s"] / naive["n"])
        res["speedup"] = speedup
        lines += [f"Speed-up over the naive implementation: **{speedup:.0f}×** (naive {naive['n']} point proposals "
                  f"extrapolated to 10,000 = {naive['extrapolated_10k_s']:.1f} s, vs planmap's warm "
                  f"{batch['best_s'] * 10_000 / batch['n']:.3f} s for 10,000 mixed proposals, which also evaluates "
                  f"the polygon and non-distance rules and builds the results table); {speedup_cold:.0f}× against "
                  f"planmap's cold run; {per_pt:.0f}× per proposal on the same {naive['n']} points checked by planmap "
                  "as a batch of their own.", ""]
        targets.append(("≥ 50× the naive implementation", f"{speedup:.0f}×", speedup >= 50))
        lines += ["Agreement of the naive implementation with planmap on the subset (pass/fail/warn per rule, "
                  "where the rule applies):", "", "| rule | compared | mismatches | naive statuses |",
                  "|---|---:|---:|---|"]
        for rule_id, a in naive["agreement"].items():
            st = ", ".join(f"{k} {v}" for k, v in sorted(a["naive_statuses"].items()))
            lines.append(f"| `{rule_id}` | {a['compared']} | {a['mismatches']} | {st} |")
        lines.append("")
    if targets:
        lines += ["| target | measured | |", "|---|---:|---|"]
        lines += [f"| {t} | {v} | {ok(f)} |" for t, v, f in targets]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="proposals in the batch")
    parser.add_argument("--naive-n", type=int, default=500, help="point proposals run through the naive loop")
    parser.add_argument("--repeat", type=int, default=3, help="warm batch runs (best is reported)")
    parser.add_argument("--requests", type=int, default=500, help="timed HTTP requests per proposal kind")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up HTTP requests per proposal kind")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="wrk duration per kind (0: skip wrk)")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--seed", type=int, default=20250701)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    res: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"),
                 "command": " ".join([".venv/bin/python", "bench/checks.py", *sys.argv[1:]]), "machine": machine()}
    rng = np.random.default_rng(args.seed)
    log("loading data/planmap.gpkg and data/rules.yaml")
    t = time.perf_counter()
    dataset = load_dataset(GPKG, CATALOG)
    rules = load_rules(RULES)
    res["load_s"] = time.perf_counter() - t
    outline = province_2025(dataset)
    if not args.skip_http:
        res["http"] = bench_http(args, np.random.default_rng(args.seed + 1), outline)
    if not args.skip_batch:
        proposals = make_proposals(rng, outline, args.n, MIX, anchors(dataset))
        res["batch"], table, _ = bench_batch(args, dataset, rules, proposals)
        if args.naive_n > 0:
            res["naive"] = bench_naive(args, dataset, rules, proposals, table)
    res["machine"]["loadavg_end"] = os.getloadavg()
    md = markdown(res, args)
    print(md)
    (OUT / "checks-results.md").write_text(md + "\n", encoding="utf-8")
    for w in (res.get("http") or {}).get("wrk", {}).values():
        w.pop("raw", None)
    (OUT / "checks-results.json").write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    log(f"→ {OUT / 'checks-results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

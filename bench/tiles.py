"""Vector tiles side by side: planmap against tipg (ST_AsMVT over PostGIS), on the data of bench/serving.py.

Usage (needs the set-up of bench/serving.sh: bench/out/bench.gpkg, wrk, Debian's python3-gdal, PostgreSQL +
PostGIS and bench/out/tipg-venv — ``make bench-tiles`` makes them first, with ``PREPARE_ONLY=1 bash bench/serving.sh``):

    make bench-tiles                                   # set-up, then /usr/bin/python3 bench/tiles.py
    /usr/bin/python3 bench/tiles.py --quick            # one short round: checks the pipeline in about a minute
    /usr/bin/python3 bench/tiles.py --duration 10 --rounds 3 --conns 1,8
    /usr/bin/python3 bench/tiles.py --planmap-python .venv/bin/python --tipg-venv bench/out/tipg-venv

Run it with /usr/bin/python3 (Debian's GDAL bindings load the PostGIS cluster and decode the tiles).

* Servers: ``planmap serve --workers 2`` on bench/out/bench.gpkg, and tipg (``uvicorn tipg.main:app``, one
  worker, its default settings but ``TIPG_MAX_FEATURES_PER_TILE`` raised to planmap's cap so both tiles are
  whole) over the private PostGIS cluster of bench/postgis_cluster.py loaded from the same GeoPackage.
* Tiles: for each layer (100,000 points, 200,000 parcels), the WebMercatorQuad z12 tile holding the centre of
  the layer's densest 1 km cell (the centre of bench/serving.py's bbox) and the z15 tile holding the same point.
* Same features: both tiles of every case are decoded with GDAL's MVT driver; the features that reach into the
  tile itself (more than EDGE_UNITS in) must be the same (the servers' buffers beyond the edge differ: reported,
  not compared), compared by
  their ``name`` — unique in bench/make_data.py's layers, and written by both (tipg writes no MVT feature ids).
  The run stops if they differ.
* Timing: the first request of each tile (planmap builds and caches it; tipg queries PostGIS every time), then
  wrk at 1 connection (-t1 -c1) and 8 (-t2 -c8), servers interleaved, ``--rounds`` rounds, medians.

Writes bench/out/tiles-results.json and .md (machine, git commit, versions, counts, bytes, req/s, latencies).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

sys.path.insert(1, str(HERE.parent))

import serving  # noqa: E402 - the benchmark's shared machinery (servers, wrk, the PostGIS cluster)
from postgis_cluster import Cluster  # noqa: E402

from layers.limits import MAX_TILE_FEATURES  # noqa: E402 - plain constants, no dependency beyond the stdlib

HOST = serving.HOST
SERVERS = ("planmap", "tipg1")
ZOOMS = (12, 15)
QUICK = {"duration": 3, "rounds": 1}
EXTENT = 4096  # MVT units across a tile (both servers' default)
# Features are compared if they reach more than this many units into the tile: nearer the edge, which server keeps
# a feature depends on rounding (a point 0.3 units outside becomes a point on the edge) and on planmap's
# simplification (it moves a vertex by at most 8 units), not on which features the tile holds.
EDGE_UNITS = 9


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def build_cases() -> list[dict]:
    cases = []
    for layer in serving.LAYERS:
        x0, y0, x1, y1 = serving.pick_bbox(layer)
        lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
        for z in ZOOMS:
            x, y = tile_of(lon, lat, z)
            cases.append({"name": f"{layer} z{z}", "layer": layer, "z": z, "x": x, "y": y, "at": [lon, lat]})
    return cases


def url_for(server: str, case: dict) -> str:
    coll = f"public.{case['layer']}" if server.startswith("tipg") else case["layer"]
    return (f"http://{HOST}:{serving.PORTS[server]}/collections/{coll}/tiles/WebMercatorQuad/"
            f"{case['z']}/{case['x']}/{case['y']}")


def fetch(url: str) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.mapbox-vector-tile"})
    with urllib.request.urlopen(req, timeout=600) as r:
        body = r.read()
        return r.status, body, (time.perf_counter() - started) * 1000


def decode(data: bytes, case: dict) -> dict[str, object]:
    """Ids and counts of a tile read by GDAL: all features, and those reaching into the tile itself."""
    from osgeo import gdal, ogr

    gdal.UseExceptions()
    folder = Path(tempfile.mkdtemp(prefix="tile-"))
    path = folder / str(case["z"]) / str(case["x"]) / f"{case['y']}.pbf"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    ds = gdal.OpenEx(str(path), gdal.OF_VECTOR, open_options=["CLIP=NO"])
    half = 20037508.342789244
    size = 2 * half / 2 ** case["z"]
    edge = size * EDGE_UNITS / EXTENT
    minx, maxy = -half + case["x"] * size + edge, half - case["y"] * size - edge
    inner = size - 2 * edge
    tile = ogr.CreateGeometryFromWkt(f"POLYGON(({minx} {maxy - inner},{minx + inner} {maxy - inner},"
                                     f"{minx + inner} {maxy},{minx} {maxy},{minx} {maxy - inner}))")
    names, inside = [], []
    if ds is not None and ds.GetLayerCount():
        for f in ds.GetLayer(0):
            names.append(f.GetField("name"))
            geom = f.GetGeometryRef()
            if geom is not None and geom.Intersects(tile):
                inside.append(f.GetField("name"))
    ds = None
    shutil.rmtree(folder)
    return {"count": len(names), "inside": len(inside), "ids": sorted(inside)}


def check(cases: list[dict]) -> None:
    problems = []
    for c in cases:
        c["check"] = {}
        seen = {}
        for s in SERVERS:
            status, body, ms = fetch(url_for(s, c))
            again = fetch(url_for(s, c))[2]
            got = decode(body, c) if status == 200 else {}
            c["check"][s] = {"status": status, "bytes": len(body), "first_ms": round(ms, 1),
                             "second_ms": round(again, 1), **{k: v for k, v in got.items() if k != "ids"}}
            seen[s] = got.get("ids")
            serving.log(f"{s:8s} {c['name']:20s} status {status} features {got.get('count')} (in the tile "
                        f"{got.get('inside')}) {len(body):,} B  first {ms:.0f} ms, again {again:.0f} ms")
        ref = seen["planmap"]
        for s, ids in seen.items():
            if ids != ref:
                only, missing = set(ids or []) - set(ref or []), set(ref or []) - set(ids or [])
                problems.append(f"{c['name']}: {s} has {len(ids or [])} features in the tile, planmap "
                                f"{len(ref or [])}; only in {s}: {sorted(only)[:5]}, missing: {sorted(missing)[:5]}")
        c["features_in_tile"] = len(ref or [])
    if problems:
        for p in problems:
            serving.log("!! " + p)
        raise SystemExit("the servers' tiles hold different features (see above): no figures were taken")


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=serving.ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def report(meta: dict, cases: list[dict], results: dict) -> str:
    m = meta["machine"]
    lines = [f"# Vector tiles: planmap and tipg ({meta['started']})", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB, Debian {m['debian']}; git "
             f"{meta['commit']}; {meta['rounds']} round(s) of {meta['duration']:g} s per cell, medians.", "",
             *(f"- {s}: {d}" for s, d in meta["desc"].items()), "",
             "| tile | features in the tile | bytes planmap / tipg | first request planmap / tipg (ms) | "
             + " | ".join(f"req/s c={n} planmap / tipg" for n in meta["conns"]) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(meta["conns"])]
    for c in cases:
        chk = c["check"]
        cells = []
        for n in meta["conns"]:
            med = {s: statistics.median(r["rps"] for r in results[c["name"]][str(n)][s]) for s in SERVERS}
            cells.append(" / ".join(f"{med[s]:,.1f}" for s in SERVERS))
        lines.append(f"| {c['name']} ({c['z']}/{c['x']}/{c['y']}) | {c['features_in_tile']:,} | "
                     f"{chk['planmap']['bytes']:,} / {chk['tipg1']['bytes']:,} | "
                     f"{chk['planmap']['first_ms']:,.0f} / {chk['tipg1']['first_ms']:,.0f} | " + " | ".join(cells)
                     + " |")
    lines += ["", "planmap answers a repeated tile from its cache (per layer revision); tipg builds every answer "
              "in PostGIS. The first-request column is an uncached build on both."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="planmap vs tipg vector tiles (see the module docstring)")
    ap.add_argument("--planmap-python", default=str(serving.ROOT / ".venv/bin/python"))
    ap.add_argument("--tipg-venv", type=Path, default=serving.TIPG_VENV)
    ap.add_argument("--duration", type=float, default=10, help="seconds per wrk cell")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", default="1,8")
    ap.add_argument("--quick", action="store_true", help="one short round: " + ", ".join(
        f"{k}={v}" for k, v in QUICK.items()))
    ap.add_argument("--out", type=Path, default=serving.OUT / "tiles-results.json")
    args = ap.parse_args(argv)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    conns = [int(c) for c in args.conns.split(",")]
    serving.TIPG_VENV = args.tipg_venv
    if not serving.GPKG.exists():
        raise SystemExit(f"{serving.GPKG} missing: run bash bench/serving.sh --quick first (it makes the data)")
    for s in SERVERS:
        if not serving.port_free(serving.PORTS[s]):
            raise SystemExit(f"port {serving.PORTS[s]} for {s} is already in use")

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    meta = {"started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit(),
            "machine": serving.machine(), "duration": args.duration, "rounds": args.rounds, "conns": conns,
            "desc": {}}
    store = Path(tempfile.mkdtemp(prefix="planmap-tiles-store-"))
    cluster = Cluster(serving.OUT / "pg")
    procs = {}
    try:
        cluster.__enter__()
        cluster.load(serving.GPKG, serving.LAYERS)
        os.environ["TIPG_MAX_FEATURES_PER_TILE"] = str(MAX_TILE_FEATURES)
        p, secs, desc = serving._start_planmap(args.planmap_python, store, "bench-tiles-admin-token")
        procs["planmap"], meta["desc"]["planmap"] = p, desc
        p, secs, desc = serving.start_tipg("tipg1", 1, cluster.dsn(application_name="tipg1"))
        procs["tipg1"] = p
        meta["desc"]["tipg1"] = desc + f", TIPG_MAX_FEATURES_PER_TILE={MAX_TILE_FEATURES}"
        roots = [p.pid for p in procs.values()] + [cluster.postmaster_pid()]
        cases = build_cases()
        check(cases)
        serving.drain(roots)
        results = {c["name"]: {str(n): {s: [] for s in SERVERS} for n in conns} for c in cases}
        k = 0
        for rnd in range(args.rounds):
            for c in cases:
                for n in conns:
                    order = SERVERS[k % 2:] + SERVERS[:k % 2]
                    k += 1
                    for s in order:
                        r = serving.run_wrk(url_for(s, c), n, args.duration)
                        r["drain_s"] = serving.drain(roots)
                        results[c["name"]][str(n)][s].append({k2: v for k2, v in r.items() if k2 != "raw"})
                        serving.log(f"round {rnd + 1} {s:8s} {c['name']:20s} c={n}: {r['rps']:9.1f} req/s  p50 "
                                    f"{r['p50']:.2f} ms  p99 {r['p99']:.2f} ms"
                                    f"{'  non-2xx ' + str(r['non2xx']) if r['non2xx'] else ''}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "cases": cases, "results": results}, indent=1))
        text = report(meta, cases, results)
        args.out.with_suffix(".md").write_text(text)
        print(text)
    finally:
        serving.stop_all()
        cluster.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

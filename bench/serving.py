"""Side-by-side serving benchmark: planmap, tipg over PostGIS (1 and 2 workers) and pygeoapi, on the same data.

Normally started by ``bench/serving.sh`` (which installs wrk, python3-gdal, PostgreSQL + PostGIS and the peers'
venvs); run this directly (with /usr/bin/python3, which has Debian's GDAL bindings) only when that set-up exists.

* planmap: ``python -m api.cli serve --data bench/out/bench.gpkg --workers 2`` (``--workers`` only if ``serve
  --help`` lists it, else one process, said so in the output), with a fresh store in a temp folder and an admin
  token, so the edit benchmark can make a planner.
* tipg: ``uvicorn tipg.main:app`` over a private PostGIS cluster in bench/out/pg (bench/postgis_cluster.py), once in
  its default single worker (``tipg1``) and once with ``--workers 2`` (``tipg2``; uvicorn's multi-worker sockets
  lack TCP_NODELAY, see docs/benchmarks.md: the table shows what that costs rather than fixing it).
* pygeoapi: OGR provider over the GeoPackage, ``gunicorn --workers 2`` (gevent + flask_app by default).
* Queries (``build_cases``), wrk at 1 connection (-t1 -c1) and 8 (-t2 -c8), servers interleaved (the order rotates
  per cell), ``--rounds`` rounds, medians. Before any timing every server must return the same feature ids for
  every query it supports, else the run stops.
* Per server: start-up (process start to the first 200 on a collection's items), memory as PSS summed over the
  server's processes after warm-up (tipg's PostgreSQL backends reported separately), wrk errors.
* Edits (planmap): PUT of existing features and POST of new ones as a planner, alone and under 8 wrk readers.

Writes bench/out/serving-results.json (every round) and .md (bench/serving_report.py renders it; the same module
renders the table for docs/benchmarks.md from the JSON: ``python3 bench/serving_report.py --docs``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
GPKG = OUT / "bench.gpkg"
PYG_VENV = OUT / "pygeoapi-venv"
TIPG_VENV = OUT / "tipg-venv"
HOST = "127.0.0.1"
PORTS = {"pygeoapi": 5001, "planmap": 5002, "tipg1": 5003, "tipg2": 5004}
SERVERS = ("planmap", "tipg1", "tipg2", "pygeoapi")  # table order
LAYERS = ("bench_points", "bench_parcels")
TARGET_BBOX_COUNT = 550  # the "~550 features" per bbox answer
BBOX_LIMIT = 1000  # > any bbox answer, so the bbox answer is complete on every server
BY_ID_FID = 123457
FILTER = ("kind_code", "3")  # a queryable integer of bench_points; ~1/8 of the points match
VN2000 = "http://www.opengis.net/def/crs/EPSG/0/9213"
VN2000_MIN_EASTING = 1000  # a server that answers VN-2000 gives eastings in metres (~400,000), never degrees
LIMIT_CELL_S = 30  # limit=10000 runs longer: the slowest peer answers about once a second
QUICK = {"duration": 3, "limit_duration": 5, "rounds": 1, "edit_seconds": 3}
START_TIMEOUT_S = 600  # planmap encodes every feature at start-up: minutes on a slow machine
POLL_S = 0.05  # start-up is timed to this resolution
WRK_TIMEOUT = "60s"  # a slow peer's limit=10000 must count as slow, not as a socket error
# Where the edits happen: around Bắc Kạn, far from the readers' bbox (Thái Nguyên city), so the readers' answer
# stays the same size while features are written
EDIT_AREA = (105.824, 22.137, 105.844, 22.157)
READERS = 8  # wrk connections that read while the edits run
PROCS: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ processes
def start(cmd: list[str], env: dict, logfile: Path, cwd: Path = ROOT) -> subprocess.Popen:
    log("start: " + " ".join(cmd))
    fh = open(logfile, "wb")
    p = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    PROCS.append(p)
    return p


def stop_all() -> None:
    for p in PROCS:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 10
    for p in PROCS:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    PROCS.clear()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


def wait_http(url: str, proc: subprocess.Popen, started: float, timeout: float) -> float:
    """Seconds from `started` (the process's launch) to the first 200 answer on `url`."""
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    r.read()
                    return time.monotonic() - started
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(POLL_S)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s")


def tree_pids(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        todo.extend(int(k) for k in kids)
    return out


def pss_mb(pids: list[int]) -> float:
    """Proportional set size summed over `pids`: shared pages count once in total, not once per process."""
    total_kb = 0
    for p in pids:
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        total_kb += int(m.group(1)) if m else 0
    return total_kb / 1024


def cpu_seconds(pids: list[int]) -> float:
    tck = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(f[11]) + int(f[12])) / tck  # utime + stime
    return total


IDLE_CPU_S = 0.025  # < 5 % of a core over DRAIN_STEP_S counts as idle
DRAIN_STEP_S = 0.5


def drain(roots: list[int], max_wait: float = 180.0) -> float:
    """Wait until every server (and PostgreSQL) is idle.

    wrk stops at its deadline but a slow server keeps working through the requests already queued (pygeoapi's
    limit=10000: many seconds); timing the next cell before it finishes would charge that backlog to another.
    """
    t0 = time.time()
    while time.time() - t0 < max_wait:
        pids = [p for r in roots for p in tree_pids(r)]
        before = cpu_seconds(pids)
        time.sleep(DRAIN_STEP_S)
        if cpu_seconds(pids) - before < IDLE_CPU_S:
            return time.time() - t0
    log(f"drain: servers still busy after {max_wait:.0f} s")
    return time.time() - t0


# ------------------------------------------------------------------------------------------------ servers
def write_pygeoapi_config(path: Path) -> None:
    con = sqlite3.connect(f"file:{GPKG}?mode=ro", uri=True)
    res = []
    for layer in LAYERS:
        minx, miny, maxx, maxy = con.execute(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?", (layer,)
        ).fetchone()
        res.append(f"""
    {layer}:
        type: collection
        title: {layer}
        description: planmap benchmark synthetic layer {layer}
        keywords: [benchmark]
        extents:
            spatial:
                bbox: [{minx}, {miny}, {maxx}, {maxy}]
                crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
        providers:
            - type: feature
              name: OGR
              data:
                  source_type: GPKG
                  source: {GPKG}
                  source_capabilities:
                      paging: True
                  gdal_ogr_options:
                      EMPTY_AS_NULL: NO
                      CPL_DEBUG: NO
              id_field: fid
              layer: {layer}
""")
    con.close()
    port = PORTS["pygeoapi"]
    path.write_text(f"""# generated by bench/serving.py — pygeoapi over bench/out/bench.gpkg with the OGR provider
server:
    bind:
        host: {HOST}
        port: {port}
    url: http://{HOST}:{port}
    mimetype: application/json; charset=UTF-8
    encoding: utf-8
    gzip: false
    languages: [en-US]
    cors: false
    pretty_print: false
    limits:
        default_items: 10
        max_items: 10000
    map:
        url: https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png
        attribution: OpenStreetMap
    admin: false

logging:
    level: WARNING
    logfile: {OUT / "pygeoapi.log"}

metadata:
    identification:
        title: planmap benchmark (pygeoapi side)
        description: pygeoapi serving the planmap benchmark GeoPackage
        keywords: [benchmark]
        keywords_type: theme
        terms_of_service: https://creativecommons.org/licenses/by/4.0/
        url: http://{HOST}:{port}
    license:
        name: CC-BY 4.0 license
        url: https://creativecommons.org/licenses/by/4.0/
    provider:
        name: planmap benchmark
        url: http://{HOST}:{port}
    contact:
        name: Benchmark
        email: bench@example.invalid

resources:{"".join(res)}""", encoding="utf-8")


PYG_WORKERS = {"gevent": (["--worker-class", "gevent"], "pygeoapi.flask_app:APP"),
               "uvicorn": (["--worker-class", "uvicorn.workers.UvicornWorker"], "pygeoapi.starlette_app:APP"),
               "sync": (["--worker-class", "sync"], "pygeoapi.flask_app:APP")}


def start_pygeoapi(worker: str) -> tuple[subprocess.Popen, float, str]:
    cfg, oapi = OUT / "pygeoapi-config.yml", OUT / "pygeoapi-openapi.yml"
    write_pygeoapi_config(cfg)
    env = dict(os.environ, PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(oapi))
    env.pop("VIRTUAL_ENV", None)
    # the OpenAPI document is a prerequisite pygeoapi's docs run once per configuration, not part of start-up
    subprocess.run([str(PYG_VENV / "bin/pygeoapi"), "openapi", "generate", str(cfg), "--output-file", str(oapi)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    wargs, app = PYG_WORKERS[worker]
    cmd = [str(PYG_VENV / "bin/gunicorn"), "--workers", "2", *wargs, "--timeout", "600",
           "--bind", f"{HOST}:{PORTS['pygeoapi']}", app]
    t0 = time.monotonic()
    p = start(cmd, env, OUT / "pygeoapi-server.log")
    secs = wait_http(f"http://{HOST}:{PORTS['pygeoapi']}/collections/bench_points/items?limit=1&f=json", p, t0, 120)
    return p, secs, f"pygeoapi {pkg_version(PYG_VENV, 'pygeoapi')}, OGR provider on the GeoPackage, " \
                    f"`gunicorn --workers 2 {' '.join(wargs)} {app}`"


def start_tipg(name: str, workers: int, dsn: str) -> tuple[subprocess.Popen, float, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(DATABASE_URL=dsn, TIPG_DB_SCHEMAS='["public"]', TIPG_MAX_FEATURES_PER_QUERY="10000")
    cmd = [str(TIPG_VENV / "bin/uvicorn"), "tipg.main:app", "--host", HOST, "--port", str(PORTS[name]),
           "--log-level", "warning"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    t0 = time.monotonic()
    p = start(cmd, env, OUT / f"{name}-server.log")
    secs = wait_http(f"http://{HOST}:{PORTS[name]}/collections/public.bench_points/items?limit=1", p, t0, 120)
    return p, secs, f"tipg {pkg_version(TIPG_VENV, 'tipg')} over PostGIS, `uvicorn tipg.main:app" \
                    f"{' --workers ' + str(workers) if workers > 1 else ''}` (default settings)"


def planmap_has_workers(python: str) -> bool:
    out = subprocess.run([python, "-m", "api.cli", "serve", "--help"], cwd=ROOT, capture_output=True, text=True)
    return "--workers" in out.stdout


PLANMAP_CACHE = OUT / "planmap-cache"  # its prepared layers: emptied before the cold start, kept for the restart


def start_planmap(python: str, store: Path, admin: str) -> tuple[subprocess.Popen, float, str]:
    """planmap started cold (no prepared layers: every feature encoded), stopped, and started again on what the
    first start prepared; the restart is the one benchmarked (the cold start is logged and kept in the JSON)."""
    shutil.rmtree(PLANMAP_CACHE, ignore_errors=True)
    p, cold, _ = _start_planmap(python, store, admin)
    p.send_signal(signal.SIGTERM)
    p.wait(60)
    p, warm, desc = _start_planmap(python, store, admin)
    COLD_STARTS["planmap"] = cold
    return p, warm, desc + f"; start-up measured on a restart (the first start, preparing every layer: {cold:.1f} s)"


COLD_STARTS: dict[str, float] = {}


def _start_planmap(python: str, store: Path, admin: str) -> tuple[subprocess.Popen, float, str]:
    workers = planmap_has_workers(python)
    cmd = [python, "-m", "api.cli", "serve", "--data", str(GPKG), "--host", HOST, "--port", str(PORTS["planmap"])]
    if workers:
        cmd += ["--workers", "2"]
    env = dict(os.environ, PLANMAP_STORE=str(store), PLANMAP_ADMIN_TOKEN=admin, PLANMAP_CACHE=str(PLANMAP_CACHE))
    t0 = time.monotonic()
    p = start(cmd, env, OUT / "planmap-server.log")
    secs = wait_http(f"http://{HOST}:{PORTS['planmap']}/collections/bench_points/items?limit=1", p, t0,
                     START_TIMEOUT_S)
    desc = ("`planmap serve --workers 2`" if workers else
            "`planmap serve`, ONE process (this checkout's `serve --help` has no `--workers`)")
    return p, secs, f"{desc} on the GeoPackage, fresh store in a temp folder"


# ------------------------------------------------------------------------------------------------ queries
def http_get(url: str, timeout: float = 300) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Accept": "application/geo+json, application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def pick_bbox(layer: str, target: int = TARGET_BBOX_COUNT) -> list[float]:
    """A square bbox around the densest ~1 km cell of `layer` holding about `target` features' envelopes.

    Reads the features' envelopes from the GeoPackage R-tree (stdlib sqlite3 only) and bisects the half-size.
    """
    con = sqlite3.connect(f"file:{GPKG}?mode=ro", uri=True)
    rows = con.execute(f"SELECT minx, maxx, miny, maxy FROM rtree_{layer}_geom").fetchall()
    con.close()
    cell = 0.01
    counts: dict[tuple[int, int], int] = {}
    for minx, maxx, miny, maxy in rows:
        k = (int((minx + maxx) / 2 / cell), int((miny + maxy) / 2 / cell))
        counts[k] = counts.get(k, 0) + 1
    (ix, iy), _ = max(counts.items(), key=lambda kv: kv[1])
    cx, cy = (ix + 0.5) * cell, (iy + 0.5) * cell
    rows = [r for r in rows if abs(r[0] - cx) < 0.25 and abs(r[2] - cy) < 0.25]

    def count(h: float) -> int:
        x0, y0, x1, y1 = cx - h, cy - h, cx + h, cy + h
        return sum(1 for a, b, c, d in rows if a <= x1 and b >= x0 and c <= y1 and d >= y0)

    lo, hi = 0.0005, 0.2
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if count(mid) < target else (lo, mid)
    h = round(hi, 5)
    return [round(cx - h, 5), round(cy - h, 5), round(cx + h, 5), round(cy + h, 5)]


def build_cases() -> list[dict]:
    """The queries, each as a layer plus OGC API query parameters, the same for every server."""
    pts = ",".join(f"{v:.5f}" for v in pick_bbox("bench_points"))
    par = ",".join(f"{v:.5f}" for v in pick_bbox("bench_parcels"))
    return [
        {"name": "points bbox", "layer": "bench_points", "params": {"bbox": pts, "limit": BBOX_LIMIT}},
        {"name": "parcels bbox", "layer": "bench_parcels", "params": {"bbox": par, "limit": BBOX_LIMIT}},
        {"name": "parcels limit=10000", "layer": "bench_parcels", "params": {"limit": 10000}, "long": True},
        {"name": "parcel by id", "layer": "bench_parcels", "fid": BY_ID_FID, "params": {}},
        {"name": "points bbox VN-2000", "layer": "bench_points", "crs": True,
         "params": {"bbox": pts, "limit": BBOX_LIMIT, "crs": VN2000}},
        {"name": "points bbox + filter", "layer": "bench_points", "filter": True,
         "params": {"bbox": pts, "limit": BBOX_LIMIT, FILTER[0]: FILTER[1]}},
    ]


def url_for(server: str, case: dict) -> str:
    coll = f"public.{case['layer']}" if server.startswith("tipg") else case["layer"]
    path = f"/collections/{coll}/items" + (f"/{case['fid']}" if "fid" in case else "")
    params = dict(case["params"])
    if server == "pygeoapi":
        params["f"] = "json"
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"http://{HOST}:{PORTS[server]}{path}" + (f"?{query}" if query else "")


def first_x(feature: dict) -> float:
    c = feature["geometry"]["coordinates"]
    while isinstance(c[0], list):
        c = c[0]
    return float(c[0])


def answer(server: str, case: dict) -> dict:
    """What one server answers to one query: status, bytes, feature ids, first x coordinate."""
    status, body = http_get(url_for(server, case))
    out = {"status": status, "bytes": len(body)}
    if status == 200:
        d = json.loads(body)
        feats = d["features"] if d.get("type") == "FeatureCollection" else [d]
        out["ids"] = sorted(str(f.get("id")) for f in feats)
        out["count"] = len(feats)
        out["x0"] = first_x(feats[0]) if feats else None
    return out


def check_cases(cases: list[dict], servers: list[str]) -> None:
    """Every server must return the same ids for every query it supports; stop the run loudly otherwise.

    A server "does not support" VN-2000 output when it refuses the parameter or answers in degrees, and the filter
    when it refuses it or returns exactly the unfiltered answer; those cells are n/a, not failures.
    """
    plain = {}
    problems = []
    for c in cases:
        c["check"], c["servers"], c["na"] = {}, [], {}
        for s in servers:
            a = answer(s, c)
            c["check"][s] = {k: v for k, v in a.items() if k != "ids"}
            log(f"{s:8s} {c['name']:22s} status {a['status']} count {a.get('count')} bytes {a['bytes']:,}")
            if c["name"] == "points bbox":
                plain[s] = a.get("ids")
            if a["status"] != 200:
                if c.get("crs") or c.get("filter"):
                    c["na"][s] = f"answers {a['status']}"
                    continue
                problems.append(f"{s} answered {a['status']} to {c['name']}: {url_for(s, c)}")
                continue
            if c.get("crs") and (a["x0"] is None or abs(a["x0"]) < VN2000_MIN_EASTING):
                c["na"][s] = "ignores crs (answers in degrees)"
                continue
            if c.get("filter") and a["ids"] == plain.get(s):
                c["na"][s] = "ignores the filter"
                continue
            c["servers"].append(s)
            c.setdefault("_ids", {})[s] = a["ids"]
        ids = c.pop("_ids", {})
        ref = ids.get("planmap") or next(iter(ids.values()), None)
        for s, got in ids.items():
            if got != ref:
                only_s, only_ref = set(got) - set(ref), set(ref) - set(got)
                problems.append(f"{c['name']}: {s} returns {len(got)} features, planmap {len(ref)}; only in {s}: "
                                f"{sorted(only_s)[:5]}…, missing: {sorted(only_ref)[:5]}…")
        if ref is not None:
            c["count"] = len(ref)
        for s, why in c["na"].items():
            log(f"  {c['name']}: {s} n/a — {why}")
    if problems:
        for p in problems:
            log("!! " + p)
        raise SystemExit("servers disagree (see above): no figures were taken")


def keepalive_probe(server: str, case: dict) -> str:
    """Two requests on one TCP connection: does the server keep it open (as wrk assumes)?

    gunicorn's sync workers close every connection; a server that does would pay a TCP handshake per request.
    """
    path = url_for(server, case).split(f":{PORTS[server]}", 1)[1]
    c = http.client.HTTPConnection(HOST, PORTS[server], timeout=60)
    try:
        for _ in range(2):
            c.request("GET", path)
            c.getresponse().read()
        return "kept alive"
    except (OSError, http.client.HTTPException) as e:
        return f"NOT kept alive ({type(e).__name__})"
    finally:
        c.close()


# ------------------------------------------------------------------------------------------------ wrk
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(s: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", s.strip())
    return float(m.group(1)) * UNIT[m.group(2)]


def wrk_cmd(url: str, conns: int, duration: float) -> list[str]:
    threads = 1 if conns == 1 else 2
    return ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration:g}s", "--latency", "--timeout", WRK_TIMEOUT, url]


def parse_wrk(out: str) -> dict:
    res: dict = {"raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}"] = to_ms(m.group(1)) if m else float("nan")
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors:(.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else ""
    return res


def run_wrk(url: str, conns: int, duration: float) -> dict:
    cmd = wrk_cmd(url, conns, duration)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    return {"cmd": " ".join(cmd), **parse_wrk(p.stdout)}


# ------------------------------------------------------------------------------------------------ edits
def planner_token(base: str, admin: str) -> str:
    req = urllib.request.Request(f"{base}/users", method="POST",
                                 data=json.dumps({"name": "bench", "role": "planner"}).encode(),
                                 headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["token"]


def edit_targets() -> list[dict]:
    """The existing points of EDIT_AREA, which the PUTs rewrite in turn (same place, new attributes)."""
    bbox = ",".join(map(str, EDIT_AREA))
    status, body = http_get(f"http://{HOST}:{PORTS['planmap']}/collections/bench_points/items?bbox={bbox}"
                            f"&limit={BBOX_LIMIT}")
    feats = json.loads(body)["features"] if status == 200 else []
    if not feats:
        raise SystemExit(f"edit benchmark: no bench_points feature in {EDIT_AREA} (status {status})")
    return feats


def write_loop(op: str, token: str, seconds: float, rng: random.Random, existing: list[dict]) -> dict:
    """One planner's writes, one at a time on one keep-alive connection, for `seconds`."""
    conn = http.client.HTTPConnection(HOST, PORTS["planmap"], timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/geo+json"}
    ms, bad = [], 0
    x0, y0, x1, y1 = EDIT_AREA
    started = time.perf_counter()
    i = 0
    while time.perf_counter() - started < seconds:
        i += 1
        props = {"name": f"Điểm sửa {op} {i}", "kind_code": 1 + i % 8, "capacity": float(i),
                 "source": "planmap benchmark edit", "accuracy": "synthetic"}
        path = "/collections/bench_points/items"
        if op == "PUT":
            old = existing[i % len(existing)]
            feature = {"type": "Feature", "geometry": old["geometry"], "properties": props}
            path += f"/{old['id']}"
        else:
            xy = [round(x0 + rng.random() * (x1 - x0), 7), round(y0 + rng.random() * (y1 - y0), 7)]
            feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": xy}, "properties": props}
        t0 = time.perf_counter()
        conn.request(op, path, body=json.dumps(feature).encode(), headers=headers)
        r = conn.getresponse()
        r.read()
        ms.append((time.perf_counter() - t0) * 1000)
        bad += r.status not in (200, 201)
    elapsed = time.perf_counter() - started
    conn.close()
    ms.sort()
    return {"writes": len(ms), "errors": bad, "wps": len(ms) / elapsed,
            "p50": ms[len(ms) // 2] if ms else float("nan"),
            "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")}


def edit_bench(token: str, reader_url: str, seconds: float) -> list[dict]:
    """PUT and POST, alone and with READERS wrk connections reading the points bbox the whole time."""
    rng = random.Random(20261201)
    existing = edit_targets()
    rows = []
    for readers in (0, READERS):
        for op in ("PUT", "POST"):
            wrk = None
            if readers:
                cmd = wrk_cmd(reader_url, readers, seconds + 1)
                wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                time.sleep(0.5)  # the readers are connected and loading before the first write
            row = {"op": op, "readers": readers, **write_loop(op, token, seconds, rng, existing)}
            if wrk:
                out, _ = wrk.communicate(timeout=seconds + 120)
                r = parse_wrk(out)
                row["readers_result"] = {k: r[k] for k in ("rps", "p50", "p99", "requests", "non2xx",
                                                           "socket_errors")}
            log(f"edits {op:4s} readers={readers}: {row['wps']:.1f} writes/s p50 {row['p50']:.1f} ms "
                f"p99 {row['p99']:.1f} ms errors {row['errors']}"
                + (f"; readers {row['readers_result']['rps']:.0f} req/s p99 {row['readers_result']['p99']:.1f} ms"
                   if readers else ""))
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------ facts
def run_text(cmd: list[str], cwd: Path = ROOT) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def pkg_version(venv: Path, package: str) -> str:
    return run_text([str(venv / "bin/python"), "-c",
                     f"import importlib.metadata as m; print(m.version('{package}'))"]) or "?"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024 / 1024
    deb = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem, 1), "kernel": platform.release(),
            "debian": deb, "load_at_start": os.getloadavg()[0]}


def versions(planmap_python: str, pg: dict) -> dict:
    from osgeo import gdal

    commit = run_text(["git", "rev-parse", "--short", "HEAD"])
    dirty = run_text(["git", "status", "--porcelain", "--", "api", "geo", "layers", "web"])
    pm = run_text([planmap_python, "-c",
                   "import sys, importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
                   "['fastapi', 'uvicorn', 'shapely', 'pyogrio']) + f', Python {sys.version.split()[0]}')"])
    return {"planmap": f"git {commit}" + (" + uncommitted changes" if dirty else ""), "planmap_stack": pm,
            "tipg": pkg_version(TIPG_VENV, "tipg"), "tipg_uvicorn": pkg_version(TIPG_VENV, "uvicorn"),
            "asyncpg": pkg_version(TIPG_VENV, "asyncpg"), "pygeoapi": pkg_version(PYG_VENV, "pygeoapi"),
            "gunicorn": pkg_version(PYG_VENV, "gunicorn"), "gdal": gdal.__version__, **pg,
            "wrk": run_text(["sh", "-c", "wrk --version 2>&1 | head -1"]).split(" Copyright")[0]}


# ------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="planmap vs tipg (PostGIS) vs pygeoapi serving benchmark")
    ap.add_argument("--servers", default=",".join(SERVERS), help=f"comma list of {','.join(SERVERS)}")
    ap.add_argument("--pygeoapi-worker", default="gevent", choices=sorted(PYG_WORKERS))
    ap.add_argument("--planmap-python", default=str(ROOT / ".venv/bin/python"),
                    help="Python of a venv with planmap's dependencies; the code served is this checkout's")
    ap.add_argument("--duration", type=float, default=10, help="seconds per wrk cell")
    ap.add_argument("--limit-duration", type=float, default=LIMIT_CELL_S, help="seconds per limit=10000 cell")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", default="1,8")
    ap.add_argument("--edit-seconds", type=float, default=10, help="seconds per edit cell (0: no edit benchmark)")
    ap.add_argument("--quick", action="store_true", help="check the whole pipeline in a few minutes: "
                    + ", ".join(f"{k}={v}" for k, v in QUICK.items()))
    ap.add_argument("--out", type=Path, default=OUT / "serving-results.json")
    args = ap.parse_args(argv)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    servers = [s for s in SERVERS if s in args.servers.split(",")]
    conns_list = [int(c) for c in args.conns.split(",")]

    if not GPKG.exists():
        raise SystemExit(f"{GPKG} missing: run bench/make_data.py (bench/serving.sh does)")
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found (apt-get install wrk)")
    for s in servers:
        if not port_free(PORTS[s]):
            raise SystemExit(f"port {PORTS[s]} for {s} is already in use")

    sys.path.insert(0, str(HERE))
    import serving_report
    from postgis_cluster import Cluster

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)  # unwinds through the finally blocks: servers and cluster stopped

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    t_run = time.time()
    meta: dict = {"started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "rounds": args.rounds,
                  "duration": args.duration, "limit_duration": args.limit_duration, "conns": conns_list,
                  "quick": args.quick, "servers": servers, "desc": {}, "startup_s": {}, "pss_mb": {},
                  "processes": {}, "machine": machine()}
    procs: dict[str, subprocess.Popen] = {}
    store = Path(tempfile.mkdtemp(prefix="planmap-bench-store-"))
    admin = secrets.token_urlsafe(24)
    use_pg = any(s.startswith("tipg") for s in servers)
    cluster = Cluster(OUT / "pg") if use_pg else None
    try:
        pg_versions = {}
        if cluster:
            cluster.__enter__()
            secs = cluster.load(GPKG, LAYERS)
            log(f"PostGIS cluster on 127.0.0.1:{cluster.port}" + (f", data loaded in {secs:.0f} s" if secs else ""))
            pg_versions = cluster.versions()
        meta["versions"] = versions(args.planmap_python, pg_versions)
        for s in servers:
            if s == "planmap":
                p, secs, desc = start_planmap(args.planmap_python, store, admin)
            elif s.startswith("tipg"):
                p, secs, desc = start_tipg(s, int(s[-1]), cluster.dsn(application_name=s))
            else:
                p, secs, desc = start_pygeoapi(args.pygeoapi_worker)
            procs[s], meta["startup_s"][s], meta["desc"][s] = p, secs, desc
            meta.setdefault("cold_startup_s", {}).update(COLD_STARTS)
            log(f"{s} answered its first items request {secs:.2f} s after start")
        roots = [p.pid for p in procs.values()] + ([cluster.postmaster_pid()] if cluster else [])

        log("picking the queries and checking that every server returns the same features …")
        cases = build_cases()
        check_cases(cases, servers)
        by_id = next(c for c in cases if "fid" in c)
        meta["keepalive"] = {s: keepalive_probe(s, by_id) for s in servers}
        log("connection reuse: " + ", ".join(f"{s} {v}" for s, v in meta["keepalive"].items()))

        # warm-up: every URL was fetched once by the checks; a short burst of the fast ones, then idle
        for c in cases:
            for s in c["servers"]:
                if not c.get("long"):
                    run_wrk(url_for(s, c), 1, 1)
        drain(roots)
        for s, p in procs.items():
            pids = tree_pids(p.pid)
            meta["pss_mb"][s], meta["processes"][s] = pss_mb(pids), len(pids)
            if s.startswith("tipg"):
                backends = cluster.backend_pids(s)
                meta["pss_mb"][f"{s} PostgreSQL backends"] = pss_mb(backends)
                meta["processes"][f"{s} PostgreSQL backends"] = len(backends)
        if cluster:
            shared = [pid for pid in tree_pids(cluster.postmaster_pid())
                      if pid not in {b for s in servers if s.startswith("tipg") for b in cluster.backend_pids(s)}]
            meta["pss_mb"]["PostgreSQL postmaster + auxiliary"] = pss_mb(shared)
            meta["processes"]["PostgreSQL postmaster + auxiliary"] = len(shared)
        log("PSS after warm-up (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in meta["pss_mb"].items()))

        results = {c["name"]: {str(n): {s: [] for s in c["servers"]} for n in conns_list} for c in cases}
        k = 0
        for rnd in range(args.rounds):
            for c in cases:
                for n in conns_list:
                    order = c["servers"][k % len(c["servers"]):] + c["servers"][:k % len(c["servers"])]
                    k += 1
                    for s in order:
                        secs = args.limit_duration if c.get("long") else args.duration
                        r = run_wrk(url_for(s, c), n, secs)
                        r["drain_s"] = drain(roots)
                        results[c["name"]][str(n)][s].append({k2: v for k2, v in r.items() if k2 != "raw"})
                        log(f"round {rnd + 1} {s:8s} {c['name']:22s} c={n}: {r['rps']:9.1f} req/s  p50 "
                            f"{r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  ({r['requests']} req"
                            f"{', non-2xx ' + str(r['non2xx']) if r['non2xx'] else ''}"
                            f"{', sock ' + r['socket_errors'] if r['socket_errors'] else ''}; "
                            f"drained {r['drain_s']:.1f} s)")

        edits = []
        if "planmap" in procs and args.edit_seconds > 0:
            token = planner_token(f"http://{HOST}:{PORTS['planmap']}", admin)
            edits = edit_bench(token, url_for("planmap", cases[0]), args.edit_seconds)
        meta["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        meta["cases"] = [{k2: v for k2, v in c.items()} for c in cases]
        raw = {"meta": meta, "results": results, "edits": edits}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")
        md = serving_report.render(raw)
        args.out.with_suffix(".md").write_text(md, encoding="utf-8")
        print(md)
        log(f"wrote {args.out} and {args.out.with_suffix('.md')}; total {time.time() - t_run:.0f} s")
        return 0
    finally:
        stop_all()
        if cluster:
            cluster.stop()
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

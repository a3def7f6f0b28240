"""Two planmap hosts on one PostGIS store with a million features under load: the measurement behind docs/scaling.md.

    .venv/bin/python bench/scaling.py            # make bench-scaling (≈ 15 min the first time: data and caches)

What it does, on loopback only:
1. data: bench/out/scale.gpkg, 500,000 points + 500,000 parcels (bench/make_data.py, seeded);
2. a private PostgreSQL + PostGIS cluster in bench/out/pg-scale (bench/postgis_cluster.py) holding planmap's store
   (`PLANMAP_STORE=postgresql://…`);
3. two "hosts" — `planmap serve --workers 2` each, 4 serving processes — with a prepared-layer cache each (hosts do
   not share disks): cold start (every layer prepared), then a restart on the prepared layers;
4. an import of 200,000 parcels through host A (`planmap import` on A's cache), and how long host B, which has to
   build the layer from the store's rows, takes to serve it;
5. load: 8 readers on each host (wrk, a bbox of ~550 points) while one planner edits through host A; then the lag
   until host B serves each edit;
6. memory (PSS) of each host's processes, and the store's size in PostgreSQL.
Writes bench/out/scaling.json and prints a Markdown summary.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from postgis_cluster import Cluster  # noqa: E402
from serving import parse_wrk, pss_mb, tree_pids, wrk_cmd  # noqa: E402

GPKG = OUT / "scale.gpkg"
IMPORT_FILE = OUT / "scale-import.gpkg"
POINTS, PARCELS, IMPORTED = 500_000, 500_000, 200_000
BBOX = "105.82999,21.58999,105.84001,21.60001"  # the serving benchmark's ~550-point bbox (same generator)
EDIT_AREA = (105.95, 22.05, 106.05, 22.15)  # where the planner edits: away from the readers' bbox
READERS = 8  # wrk connections per host
LOAD_SECONDS = 20
LAG_SAMPLES = 20
START_TIMEOUT_S = 900


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def get(url: str, headers: dict | None = None, timeout: float = 600) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Host:
    """`planmap serve --workers 2` on the shared store, with a cache folder of its own."""

    def __init__(self, name: str, port: int, store: str, admin: str) -> None:
        self.name, self.port, self.store, self.admin = name, port, store, admin
        self.cache = OUT / f"scale-cache-{name}"
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict:
        return dict(os.environ, PLANMAP_STORE=self.store, PLANMAP_CACHE=str(self.cache),
                    PLANMAP_ADMIN_TOKEN=self.admin)

    def start(self) -> float:
        cmd = [str(ROOT / ".venv/bin/python"), "-m", "api.cli", "serve", "--data", str(GPKG), "--workers", "2",
               "--host", "127.0.0.1", "--port", str(self.port)]
        started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=subprocess.DEVNULL,
                                     stderr=open(OUT / f"scale-{self.name}.log", "wb"), start_new_session=True)
        while time.monotonic() - started < START_TIMEOUT_S:
            try:
                if get(f"{self.url}/collections/bench_points/items?limit=1", timeout=5)[0] == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"host {self.name} exited; see bench/out/scale-{self.name}.log")
            time.sleep(0.05)
        raise SystemExit(f"host {self.name} did not answer within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)

    def pss(self) -> float:
        return pss_mb(tree_pids(self.proc.pid))


def planner_token(host: Host) -> str:
    req = urllib.request.Request(f"{host.url}/users", method="POST",
                                 data=json.dumps({"name": "scale", "role": "planner"}).encode(),
                                 headers={"Authorization": f"Bearer {host.admin}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["token"]


def edit_targets(host: Host) -> list[dict]:
    bbox = ",".join(map(str, EDIT_AREA))
    status, body = get(f"{host.url}/collections/bench_points/items?bbox={bbox}&limit=200")
    feats = json.loads(body)["features"] if status == 200 else []
    if not feats:
        raise SystemExit(f"no point to edit in {EDIT_AREA}")
    return feats


def put(conn: http.client.HTTPConnection, token: str, feature: dict, name: str) -> tuple[int, float]:
    body = {"type": "Feature", "geometry": feature["geometry"], "properties": {**feature["properties"],
                                                                              "name": name}}
    t0 = time.perf_counter()
    conn.request("PUT", f"/collections/bench_points/items/{feature['id']}", body=json.dumps(body).encode(),
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/geo+json"})
    r = conn.getresponse()
    r.read()
    return r.status, (time.perf_counter() - t0) * 1000


def load_phase(a: Host, b: Host, token: str, targets: list[dict], readers: int = READERS) -> dict:
    """`readers` connections per host for LOAD_SECONDS while a planner edits through host A as fast as answers
    come (readers=0: the edits alone)."""
    url = f"/collections/bench_points/items?bbox={BBOX}&limit=1000"
    wrks = {h.name: subprocess.Popen(wrk_cmd(h.url + url, readers, LOAD_SECONDS), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True) for h in (a, b)} if readers else {}
    time.sleep(0.5)
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
    ms, errors, i = [], 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < LOAD_SECONDS - 1:
        status, took = put(conn, token, targets[i % len(targets)], f"tải {i}")
        ms.append(took)
        errors += status != 200
        i += 1
    elapsed = time.perf_counter() - started
    readers = {name: parse_wrk(p.communicate(timeout=LOAD_SECONDS + 120)[0]) for name, p in wrks.items()}
    ms.sort()
    return {"writes": len(ms), "writes_per_s": len(ms) / elapsed, "write_p50_ms": ms[len(ms) // 2],
            "write_p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))], "write_errors": errors,
            "readers": {k: {f: v[f] for f in ("rps", "p50", "p99", "non2xx", "socket_errors")}
                        for k, v in readers.items()}}


def lag_phase(a: Host, b: Host, token: str, targets: list[dict]) -> dict:
    """Edit through A, then read through B (new connections, so both of B's workers answer) until it shows."""
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
    lags = []
    for i in range(LAG_SAMPLES):
        feature = targets[i % len(targets)]
        name = f"trễ {i} {secrets.token_hex(3)}"
        status, _ = put(conn, token, feature, name)
        if status != 200:
            raise SystemExit(f"edit through host A answered {status}")
        committed = time.perf_counter()
        while True:
            _, body = get(f"{b.url}/collections/bench_points/items/{feature['id']}")
            if json.loads(body)["properties"]["name"] == name:
                lags.append((time.perf_counter() - committed) * 1000)
                break
            if time.perf_counter() - committed > 30:
                raise SystemExit("host B did not serve an edit of host A within 30 s")
            time.sleep(0.005)
    lags.sort()
    return {"samples": len(lags), "p50_ms": lags[len(lags) // 2], "max_ms": lags[-1]}


def import_phase(a: Host, b: Host) -> dict:
    """`planmap import` of IMPORTED parcels into a new layer (on A's cache), then host B serving it."""
    if not IMPORT_FILE.exists():  # one layer only: a file of several layers asks which one to import
        generated = OUT / "scale-import-source.gpkg"
        subprocess.run([str(ROOT / ".venv/bin/python"), str(HERE / "make_data.py"), "--out", str(generated),
                        "--points", "0", "--parcels", str(IMPORTED), "--seed", "7"], check=True, cwd=ROOT)
        import pyogrio

        pyogrio.write_dataframe(pyogrio.read_dataframe(generated, layer="bench_parcels"), IMPORT_FILE,
                                layer="imported_parcels")
    t0 = time.monotonic()
    subprocess.run([str(ROOT / ".venv/bin/planmap"), "import", str(IMPORT_FILE), "--layer", "imported_parcels"],
                   check=True, cwd=ROOT, env=a.env(), stdout=subprocess.DEVNULL)
    imported = time.monotonic() - t0
    waits = {}
    for host in (a, b):
        while True:
            status, body = get(f"{host.url}/collections/imported_parcels/items?limit=1",
                               {"Authorization": f"Bearer {host.admin}"})
            if status == 200 and json.loads(body)["numberMatched"] == IMPORTED:
                waits[host.name] = time.monotonic() - t0 - imported
                break
            if time.monotonic() - t0 > START_TIMEOUT_S:
                raise SystemExit(f"host {host.name} did not serve the import")
            time.sleep(0.2)
    return {"features": IMPORTED, "import_s": imported, "served_after_import_s": waits}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT / "scaling.json")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped: the hosts and the cluster are still stopped
    OUT.mkdir(exist_ok=True)
    if not GPKG.exists():
        log(f"generating {GPKG}")
        subprocess.run([str(ROOT / ".venv/bin/python"), str(HERE / "make_data.py"), "--out", str(GPKG),
                        "--points", str(POINTS), "--parcels", str(PARCELS)], check=True, cwd=ROOT)
    result: dict = {"machine": {"cpu": _cpu(), "cores": os.cpu_count(), "kernel": platform.release(),
                                "host": platform.node()},
                    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                             text=True, cwd=ROOT).stdout.strip(),
                    "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                    "features": {"bench_points": POINTS, "bench_parcels": PARCELS}}
    folder = OUT / "pg-scale"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh store each run
    with Cluster(folder) as pg:
        pg.psql("CREATE DATABASE scale", db="postgres")
        pg.psql("CREATE EXTENSION IF NOT EXISTS postgis", db="scale")
        store = f"postgresql://bench@127.0.0.1:{pg.port}/scale"
        admin = secrets.token_hex(16)
        a, b = Host("a", 5301, store, admin), Host("b", 5302, store, admin)
        try:
            for h in (a, b):
                shutil.rmtree(h.cache, ignore_errors=True)
                result.setdefault("cold_start_s", {})[h.name] = h.start()
                log(f"host {h.name}: cold start (layers prepared) {result['cold_start_s'][h.name]:.1f} s")
            b.stop()
            result["restart_s"] = {"b": b.start()}
            log(f"host b: restart on its prepared layers {result['restart_s']['b']:.1f} s")
            token = planner_token(a)
            targets = edit_targets(a)
            result["edits_alone"] = load_phase(a, b, token, targets, readers=0)
            log(f"edits alone: {json.dumps(result['edits_alone'])}")
            result["load"] = load_phase(a, b, token, targets)
            log(f"load: {json.dumps(result['load'])}")
            result["lag"] = lag_phase(a, b, token, targets)
            log(f"lag A→B: {json.dumps(result['lag'])}")
            result["pss_mb"] = {h.name: h.pss() for h in (a, b)}
            result["import"] = import_phase(a, b)
            log(f"import: {json.dumps(result['import'])}")
            result["pss_after_import_mb"] = {h.name: h.pss() for h in (a, b)}
            result["store_mb"] = float(pg.psql(
                "SELECT sum(pg_total_relation_size(c.oid)) / 1e6 FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'planmap' AND c.relkind = 'r'",
                db="scale") or 0)
            b.stop()
            result["restart_after_import_s"] = {"b": b.start()}
            log(f"host b: restart after the import {result['restart_after_import_s']['b']:.1f} s")
        finally:
            for h in (a, b):
                h.stop()
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())

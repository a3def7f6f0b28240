"""Reliability under load (issue 11): readers stay fast while a planner imports and edits a large layer, anonymous
users run the heaviest checks they may, and hostile clients send what they should not.

    .venv/bin/python bench/reliability.py [--points 200000] [--readers 8]        (or: make bench-reliability)

Starts `planmap serve` on the default dataset with an empty store in a temp folder and an admin token, creates a
planner, writes a GeoPackage of generated points (bench/make_data.py's generator, inside the province outline),
and runs these phases while READERS client processes loop bbox item queries (`/collections/{id}/items?bbox=…`
over a mix of layers, and the imported layer once it is there):

  baseline  readers alone
  import    the planner imports the points file through `POST /collections/bench_points/imports` (as a public
            layer) while two anonymous processes loop the heaviest check they may ask for: the largest polygon
            allowed (layers/limits.py) with a PDF report
  edits     the planner creates, replaces and deletes single features of the imported layer, one at a time; each
            edit is timed and the store folder's growth measured
  hostile   a 60 MB body with a Content-Length and chunked ones to /checks and a feature write, proposals over the
            vertex limits, then 40 print renders (A1 PNG, 200 dpi) at once: the answers are counted
  after     readers alone again: are reads still fast?

Each reader records every request's latency and status by phase; the server's RSS is sampled from /proc (peak =
VmHWM).  The table is printed and written with everything else to bench/out/reliability.json.  Load clients are
processes, so no client's GIL distorts the server's numbers; the whole run takes about five minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
DATA = REPO / "data" / "planmap.gpkg"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from planmap_server import PlanmapServer  # noqa: E402

from layers.limits import MAX_CHECK_VERTICES_ANONYMOUS, MAX_CHECK_VERTICES_PLANNER  # noqa: E402

PHASES = ("baseline", "import", "edits", "quiet", "hostile", "after")
QUIET = PHASES.index("quiet")  # readers pause: the same edits timed on an otherwise idle server
READ_LAYERS = ("fuel_stations", "lpg_stations", "public_facilities", "places", "communes", "industrial_clusters",
               "industrial_parks", "roads", "power_lines", "mineral_areas")
BIG_LAYER = "bench_points"
# Thái Nguyên, Sông Công, Phổ Yên, Định Hóa, Bắc Kạn, Đại Từ, Đồng Hỷ: where readers look
TOWNS = ((105.8442, 21.5928), (105.8500, 21.4800), (105.9700, 21.3200), (105.6400, 21.8300), (105.8600, 22.1500),
         (105.7100, 21.6700), (106.0300, 21.6300))
TARGETS = {"reader_p99_ms": 250, "reader_max_ms": 1000, "edit_ms": 100, "edit_store_growth_kb": 16, "rss_mb": 1536}
HOSTILE_BYTES = 60_000_000
RENDERS_AT_ONCE = 40
RENDER = "/exports/map?preset=cluster-plan-2030&size=A1&f=png&dpi=200"  # the preset's own dpi, PNG
REQUEST_TIMEOUT = 120


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(line.split()[1]) / 1024
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# ------------------------------------------------------------------------------------------- client processes
def reader(url: str, seed: int, phase, stop, big_ready, out: mp.Queue) -> None:
    """Loop bbox item queries over a mix of layers; record (phase, ms, status) for every request."""
    rng = np.random.default_rng(seed)
    records: list[tuple[int, float, int]] = []
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        while not stop.is_set():
            if phase.value == QUIET:
                time.sleep(0.05)
                continue
            layers = READ_LAYERS + ((BIG_LAYER,) * 3 if big_ready.value else ())
            layer = layers[rng.integers(len(layers))]
            lon, lat = TOWNS[rng.integers(len(TOWNS))]
            half = rng.uniform(0.01, 0.06)
            bbox = f"{lon - half:.5f},{lat - half:.5f},{lon + half:.5f},{lat + half:.5f}"
            current = phase.value
            started = time.perf_counter()
            try:
                status = client.get(f"/collections/{layer}/items", params={"bbox": bbox}).status_code
            except httpx.HTTPError:
                status = 0
            records.append((current, (time.perf_counter() - started) * 1000, status))
    out.put(("reader", records))


def checker(url: str, body: bytes, stop, phase, out: mp.Queue) -> None:
    """An anonymous user looping the heaviest check allowed: the largest polygon, with a PDF report."""
    records: list[tuple[int, float, int]] = []
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        while not stop.is_set():
            current = phase.value
            started = time.perf_counter()
            try:
                status = client.post("/checks?f=pdf", content=body,
                                     headers={"Content-Type": "application/json"}).status_code
            except httpx.HTTPError:
                status = 0
            records.append((current, (time.perf_counter() - started) * 1000, status))
    out.put(("checker", records))


# --------------------------------------------------------------------------------------------------- inputs
def largest_allowed_cluster(positions: int) -> bytes:
    """An industrial cluster over Thái Nguyên city with a wavy outline of exactly `positions` positions."""
    t = np.linspace(0, 2 * np.pi, positions - 1, endpoint=False)
    r = 0.03 * (1 + 0.05 * np.sin(40 * t))
    ring = np.column_stack([105.84 + r * np.cos(t) / np.cos(np.radians(21.59)), 21.59 + r * np.sin(t)])
    ring = np.vstack([ring, ring[:1]]).round(6).tolist()
    return json.dumps({"type": "Feature", "properties": {"kind": "industrial_cluster", "name": "CCN rất lớn"},
                       "geometry": {"type": "Polygon", "coordinates": [ring]}}).encode()


def degenerate(positions: int) -> bytes:
    ring = b"[" + b",".join([b"[105.8,21.6]"] * positions) + b"]"
    return b'{"type":"Feature","properties":{"kind":"factory"},"geometry":{"type":"Polygon","coordinates":[' \
        + ring + b"]}}"


def write_points(path: Path, n: int) -> float:
    """`n` generated points inside today's province outline (bench/make_data.py's generator); returns seconds."""
    import make_data
    import pyogrio
    import shapely

    started = time.perf_counter()
    province = pyogrio.read_dataframe(DATA, layer="province")
    outline = province[province["valid_to"].isna()].geometry.union_all()
    shapely.prepare(outline)
    make_data.write_layer(path, BIG_LAYER, make_data.make_points(np.random.default_rng(make_data.SEED), outline, n),
                          "Point")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- the server
class Server(PlanmapServer):
    """`planmap serve` of this checkout on the default dataset, with `store` and an admin token."""

    def __init__(self, store: Path, admin_token: str) -> None:
        super().__init__(REPO, DATA, {"PLANMAP_STORE": str(store), "PLANMAP_ADMIN_TOKEN": admin_token})
        self.store = store

    def store_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.store.rglob("*") if p.is_file())

    def store_data_bytes(self) -> int:
        """The bytes of data the store holds (features' properties and geometries, revisions' records), read
        through SQLite: the files' sizes move by whole pages and WAL segments, not by what a change adds."""
        db = sqlite3.connect(f"file:{self.store / 'planmap-store.sqlite'}?mode=ro", uri=True)
        try:
            features = db.execute("SELECT IFNULL(SUM(LENGTH(properties) + IFNULL(LENGTH(geometry), 0) + 17), 0)"
                                  " FROM features").fetchone()[0]
            revisions = db.execute("SELECT IFNULL(SUM(LENGTH(created) + LENGTH(author) + LENGTH(action) + "
                                   "IFNULL(LENGTH(source_file), 0) + IFNULL(LENGTH(report), 0) + 56), 0) "
                                   "FROM revisions").fetchone()[0]
        finally:
            db.close()
        return int(features + revisions)


class RssSampler(threading.Thread):
    """The server's RSS every 0.2 s, the maximum per phase."""

    def __init__(self, pid: int, phase) -> None:
        super().__init__(daemon=True)
        self.pid, self.phase = pid, phase
        self.peak = dict.fromkeys(PHASES, 0.0)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            name = PHASES[self.phase.value]
            self.peak[name] = max(self.peak[name], proc_status(self.pid)["VmRSS"])


# ------------------------------------------------------------------------------------------- hostile client
def raw_body(server: Server, method: str, path: str, headers: dict[str, str], chunked: bool) -> dict:
    """Send a 60 MB body as a client that does not stop by itself; what came back and how much went out."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()),
            "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HOSTILE_BYTES}"]
    piece = b"0" * 65536
    sent, answer = 0, b""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            while sent < HOSTILE_BYTES:
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
        except OSError:
            pass
        sock.settimeout(5)
        try:
            while data := sock.recv(65536):
                answer += data
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return {"what": f"{method} {path} {'chunked' if chunked else 'Content-Length'} 60 MB", "status": status,
            "sent_mb": round(sent / 1e6, 1), "seconds": round(time.perf_counter() - started, 2)}


def hostile(server: Server, planner: dict[str, str]) -> dict:
    results = [
        raw_body(server, "POST", "/checks", {"Content-Type": "application/json"}, chunked=False),
        raw_body(server, "POST", "/checks", {"Content-Type": "application/json"}, chunked=True),
        raw_body(server, "POST", f"/collections/{BIG_LAYER}/items",
                 {"Content-Type": "application/geo+json", **planner}, chunked=True),
    ]
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT,
                      headers={"Content-Type": "application/json"}) as client:
        for label, body, headers in (
                (f"anonymous check of {MAX_CHECK_VERTICES_ANONYMOUS + 1:,} positions",
                 largest_allowed_cluster(MAX_CHECK_VERTICES_ANONYMOUS + 1), {}),
                (f"planner check of {MAX_CHECK_VERTICES_PLANNER + 1:,} positions",
                 degenerate(MAX_CHECK_VERTICES_PLANNER + 1), planner)):
            started = time.perf_counter()
            resp = client.post("/checks", content=body, headers=headers)
            results.append({"what": label, "status": resp.status_code, "code": resp.json().get("code"),
                            "seconds": round(time.perf_counter() - started, 2)})

    def render(_: int) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            status = httpx.get(server.url + RENDER, timeout=600).status_code
        except httpx.HTTPError:
            status = 0
        return status, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(RENDERS_AT_ONCE) as pool:  # this process only waits; the server does the work
        outcomes = list(pool.map(render, range(RENDERS_AT_ONCE)))
    statuses = [s for s, _ in outcomes]
    refused = [t for s, t in outcomes if s == 503]
    return {"bodies_and_vertices": results,
            "renders": {"asked": RENDERS_AT_ONCE, "url": RENDER, "ok": statuses.count(200),
                        "refused_503": len(refused), "other": len(statuses) - statuses.count(200) - len(refused),
                        "slowest_refusal_s": round(max(refused, default=0), 3),
                        "all_answered_s": round(time.perf_counter() - started, 1)}}


# ---------------------------------------------------------------------------------------------------- edits
def edits(server: Server, planner: dict[str, str], rounds: int, budget_s: float) -> list[dict]:
    """Create, replace, delete single features of the big layer, one at a time; time and store growth each."""
    done: list[dict] = []
    items = f"{server.url}/collections/{BIG_LAYER}/items"
    headers = {**planner, "Content-Type": "application/geo+json"}
    deadline = time.monotonic() + budget_s
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        for i in range(rounds):
            feature = {"type": "Feature", "properties": {"name": f"Điểm sửa {i}", "kind_code": 1},
                       "geometry": {"type": "Point", "coordinates": [105.84 + i / 1000, 21.59]}}
            fid = None
            for op in ("create", "replace", "delete"):
                if time.monotonic() > deadline:
                    return done
                before = server.store_data_bytes()
                started = time.perf_counter()
                if op == "create":
                    resp = client.post(items, json=feature, headers=headers)
                    fid = resp.json().get("id") if resp.status_code == 201 else None
                elif fid is None:
                    continue
                elif op == "replace":
                    feature["properties"]["name"] += " (sửa)"
                    resp = client.put(f"{items}/{fid}", json=feature, headers=headers)
                else:
                    resp = client.delete(f"{items}/{fid}", headers=planner)
                ms = (time.perf_counter() - started) * 1000
                done.append({"op": op, "status": resp.status_code, "ms": round(ms, 1),
                             "store_growth_kb": round((server.store_data_bytes() - before) / 1024, 2)})
    return done


# ------------------------------------------------------------------------------------------------------ main
def summarise(records: list[tuple[int, float, int]]) -> dict[str, dict]:
    out = {}
    for i, name in enumerate(PHASES):
        ms = [r[1] for r in records if r[0] == i]
        errors = sum(1 for r in records if r[0] == i and r[2] != 200)
        out[name] = {"requests": len(ms), "errors": errors, "p50_ms": round(percentile(ms, 50), 1),
                     "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms, default=float("nan")), 1),
                     "over_1s": sum(1 for m in ms if m > 1000)}
    return out


def machine() -> dict:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    return {"commit": run("git", "-C", str(REPO), "rev-parse", "--short", "HEAD"),
            "cpu": next((line.split(":", 1)[1].strip() for line in run("lscpu").splitlines()
                         if line.startswith("Model name")), platform.processor()),
            "cores": os.cpu_count(), "memory": run("free", "-h").splitlines()[1:2], "python": platform.python_version()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=200_000, help="features of the imported layer")
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--baseline", type=float, default=15, help="seconds of the baseline and after phases")
    ap.add_argument("--edit-rounds", type=int, default=5, help="create+replace+delete rounds")
    ap.add_argument("--edit-budget", type=float, default=60, help="seconds after which no new edit starts")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="planmap-reliability-"))
    ctx = mp.get_context("spawn")
    try:
        gpkg = work / "points.gpkg"
        made_s = write_points(gpkg, args.points)
        print(f"{args.points:,} points written in {made_s:.1f} s ({gpkg.stat().st_size / 1e6:.1f} MB)", flush=True)
        admin = secrets.token_urlsafe(24)
        with Server(work / "store", admin) as server:
            resp = httpx.post(f"{server.url}/users", json={"name": "bench", "role": "planner"},
                              headers={"Authorization": f"Bearer {admin}"})
            resp.raise_for_status()
            planner = {"Authorization": f"Bearer {resp.json()['token']}"}
            phase, big_ready = ctx.Value("i", 0), ctx.Value("b", False)
            stop_readers, stop_checkers, results = ctx.Event(), ctx.Event(), ctx.Queue()
            readers = [ctx.Process(target=reader, args=(server.url, i, phase, stop_readers, big_ready, results))
                       for i in range(args.readers)]
            body = largest_allowed_cluster(MAX_CHECK_VERTICES_ANONYMOUS)
            checkers = [ctx.Process(target=checker, args=(server.url, body, stop_checkers, phase, results))
                        for _ in range(2)]
            sampler = RssSampler(server.proc.pid, phase)
            sampler.start()
            for p in readers:
                p.start()
            report: dict = {"points": args.points, "readers": args.readers, "targets": TARGETS}
            phase_seconds = {}

            def enter(name: str) -> float:
                phase.value = PHASES.index(name)
                print(f"phase {name}", flush=True)
                return time.monotonic()

            started = enter("baseline")
            time.sleep(args.baseline)
            phase_seconds["baseline"] = time.monotonic() - started

            started = enter("import")
            for p in checkers:
                p.start()
            time.sleep(2)
            import_started = time.perf_counter()
            with open(gpkg, "rb") as fh:
                resp = httpx.post(f"{server.url}/collections/{BIG_LAYER}/imports", headers=planner,
                                  files={"file": ("points.gpkg", fh, "application/geopackage+sqlite3")},
                                  data={"internal": "false", "accuracy": "synthetic"}, timeout=600)
            report["import"] = {"status": resp.status_code, "seconds": round(time.perf_counter() - import_started, 1),
                                "file_mb": round(gpkg.stat().st_size / 1e6, 1),
                                "store_mb_after": round(server.store_bytes() / 1e6, 1)}
            if resp.status_code != 201:
                report["import"]["answer"] = resp.text[:500]
            big_ready.value = resp.status_code == 201
            time.sleep(2)
            stop_checkers.set()
            for p in checkers:
                p.join(timeout=REQUEST_TIMEOUT)
            phase_seconds["import"] = time.monotonic() - started

            started = enter("edits")
            report["edits"] = edits(server, planner, args.edit_rounds, args.edit_budget) if big_ready.value else []
            phase_seconds["edits"] = time.monotonic() - started

            started = enter("quiet")
            time.sleep(1)  # the readers' last requests finish
            report["edits_quiet"] = edits(server, planner, args.edit_rounds, args.edit_budget) \
                if big_ready.value else []
            phase_seconds["quiet"] = time.monotonic() - started

            started = enter("hostile")
            report["hostile"] = hostile(server, planner)
            phase_seconds["hostile"] = time.monotonic() - started

            started = enter("after")
            time.sleep(args.baseline)
            phase_seconds["after"] = time.monotonic() - started
            stop_readers.set()
            reads, checks = [], []
            for _ in range(len(readers) + len(checkers)):
                kind, records = results.get(timeout=REQUEST_TIMEOUT)
                (reads if kind == "reader" else checks).extend(records)
            for p in readers:
                p.join(timeout=30)
            sampler.done.set()
            sampler.join()
            status = proc_status(server.proc.pid)
            report["readers_by_phase"] = summarise(reads)
            report["checks_by_phase"] = {k: v for k, v in summarise(checks).items() if v["requests"]}
            report["phase_seconds"] = {k: round(v, 1) for k, v in phase_seconds.items()}
            report["server_rss_mb"] = {"peak_VmHWM": round(status["VmHWM"]),
                                       "by_phase_max": {k: round(v) for k, v in sampler.peak.items()}}
        report["machine"] = machine()
        (OUT / "reliability.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print_table(report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_table(report: dict) -> None:
    print(f"\nreaders ({report['readers']} processes), bbox item queries by phase")
    print(f"{'phase':<10}{'seconds':>8}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'>1 s':>6}{'RSS MB':>8}")
    for name, row in report["readers_by_phase"].items():
        if not row["requests"]:
            continue
        print(f"{name:<10}{report['phase_seconds'].get(name, 0):>8}{row['requests']:>10}{row['errors']:>8}"
              f"{row['p50_ms']:>9}{row['p99_ms']:>9}{row['max_ms']:>9}{row['over_1s']:>6}"
              f"{report['server_rss_mb']['by_phase_max'][name]:>8}")
    for name, row in report["checks_by_phase"].items():
        print(f"anonymous PDF checks ({name}): {row['requests']} done, {row['errors']} errors, "
              f"p50 {row['p50_ms']} ms, max {row['max_ms']} ms")
    print(f"import of {report['points']:,} points: {report['import']}")
    for key, title in (("edits", "while 8 readers loop"), ("edits_quiet", "readers paused")):
        if not report.get(key):
            continue
        print(f"edits on the imported layer ({title}):")
        for op in ("create", "replace", "delete"):
            rows = [e for e in report[key] if e["op"] == op]
            if rows:
                print(f"  {op:<8} n={len(rows)} statuses={sorted({e['status'] for e in rows})} "
                      f"median {statistics.median(e['ms'] for e in rows):.0f} ms, max {max(e['ms'] for e in rows):.0f}"
                      f" ms; data added median {statistics.median(e['store_growth_kb'] for e in rows):.2f} KB")
    for row in report["hostile"]["bodies_and_vertices"]:
        print(f"hostile: {row}")
    print(f"hostile: renders {report['hostile']['renders']}")
    print(f"server peak RSS (VmHWM): {report['server_rss_mb']['peak_VmHWM']} MB")
    print(f"written: {OUT / 'reliability.json'}")


if __name__ == "__main__":
    sys.exit(main())

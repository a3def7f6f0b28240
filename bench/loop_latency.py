"""Light reads while other users run heavy checks: this planmap against the one before the work pool, same run.

    .venv/bin/python bench/loop_latency.py [--seconds 20] [--before bc7c3c7]     (or: make bench-loop)

For each version in turn (never both at once — the machine has two cores): start `planmap serve` on the default
dataset with an empty store, then
  1. one client loops a light read (a page of 10 fuel stations) alone, and
  2. the same client loops it while two other clients loop the heaviest anonymous check there is — an industrial
     cluster over Thái Nguyên city with as many vertices as anonymous callers may send (10,000 since issue 11;
     docs/benchmarks.md's figures before that used 40,000) with `f=pdf` (a PDF report out).
The light read's latency (p50, p90, p99, max) and count are recorded, with the heavy checks completed.  The earlier
version is checked out from git into bench/out/before (a worktree; nothing is committed) and run with the same
Python environment.  Results go to bench/out/loop-latency.json and .md; docs/benchmarks.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planmap_server import PlanmapServer  # noqa: E402

from layers.limits import MAX_CHECK_VERTICES_ANONYMOUS  # noqa: E402

OUT = REPO / "bench" / "out"
DATA = REPO / "data" / "planmap.gpkg"
BEFORE = "bc7c3c7"  # the last commit before issue 9: checks ran as `async def` on the event loop
LIGHT = "/collections/fuel_stations/items?limit=10"


def large_cluster(vertices: int = MAX_CHECK_VERTICES_ANONYMOUS - 1) -> bytes:  # + the closing position
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = 0.03 * (1 + 0.05 * np.sin(40 * t))
    ring = np.column_stack([105.84 + r * np.cos(t) / np.cos(np.radians(21.59)), 21.59 + r * np.sin(t)])
    ring = np.vstack([ring, ring[:1]]).round(6).tolist()
    return json.dumps({"type": "Feature", "properties": {"kind": "industrial_cluster", "name": "CCN rất lớn"},
                       "geometry": {"type": "Polygon", "coordinates": [ring]}}).encode()


class Server(PlanmapServer):
    """`planmap serve` of the code in `root`, on the default dataset, with a fresh store."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, DATA, {"PLANMAP_STORE": tempfile.mkdtemp(prefix="planmap-bench-store-")})


def light_loop(url: str, seconds: float, stop: threading.Event) -> list[float]:
    """Latencies (ms) of light reads, one after another, for `seconds`."""
    out = []
    with httpx.Client(base_url=url, timeout=120) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not stop.is_set():
            t0 = time.perf_counter()
            resp = client.get(LIGHT)
            out.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, resp.text
    return out


def heavy_loop(url: str, body: bytes, stop: threading.Event, done: list[int]) -> None:
    with httpx.Client(base_url=url, timeout=300) as client:
        while not stop.is_set():
            resp = client.post("/checks?f=pdf", content=body, headers={"Content-Type": "application/json"})
            done.append(resp.status_code)


def summary(latencies: list[float]) -> dict:
    q = np.percentile(latencies, [50, 90, 99]) if latencies else [float("nan")] * 3
    return {"count": len(latencies), "p50_ms": round(float(q[0]), 1), "p90_ms": round(float(q[1]), 1),
            "p99_ms": round(float(q[2]), 1), "max_ms": round(max(latencies), 1) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None}


def measure(root: Path, seconds: float, body: bytes) -> dict:
    with Server(root) as server:
        light_loop(server.url, 3, threading.Event())  # warm-up: layers, caches
        alone = summary(light_loop(server.url, seconds, threading.Event()))
        stop, done = threading.Event(), []
        heavy = [threading.Thread(target=heavy_loop, args=(server.url, body, stop, done)) for _ in range(2)]
        for t in heavy:
            t.start()
        time.sleep(1.0)  # both heavy clients are in flight
        loaded = summary(light_loop(server.url, seconds, stop))
        stop.set()
        for t in heavy:
            t.join(timeout=600)
        loaded["heavy_checks_done"] = len(done)
        loaded["heavy_statuses"] = sorted(set(done))
    return {"alone": alone, "with_two_heavy_clients": loaded}


def before_tree(commit: str) -> Path:
    tree = OUT / "before"
    if not (tree / "api").exists():
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=REPO, check=True,
                       capture_output=True)
    subprocess.run(["git", "checkout", "--detach", commit], cwd=tree, check=True, capture_output=True)
    return tree


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {system}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument("--before", default=BEFORE, help="the commit to compare with")
    args = parser.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    body = large_cluster()
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"), "seconds": args.seconds,
               "light_read": LIGHT,
               "heavy": f"POST /checks?f=pdf, {len(body):,} bytes, {MAX_CHECK_VERTICES_ANONYMOUS:,} vertices",
               "versions": {}}
    for label, root in ((f"before ({args.before}, checks on the event loop)", before_tree(args.before)),
                        (f"now ({head.strip()}, work pool)", REPO)):
        print(f"measuring {label} …", file=sys.stderr)
        results["versions"][label] = measure(root, args.seconds, body)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "loop-latency.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = [f"Machine: {results['machine']}; run {results['date']}; {args.seconds:g} s per phase.", "",
             "| version | light reads alone: p50 / p99 / max (n) | with 2 heavy PDF checks looping: p50 / p99 / max "
             "(n) | heavy checks done |", "|---|---|---|---:|"]
    for label, r in results["versions"].items():
        a, w = r["alone"], r["with_two_heavy_clients"]
        lines.append(f"| {label} | {a['p50_ms']} / {a['p99_ms']} / {a['max_ms']} ms ({a['count']}) | "
                     f"{w['p50_ms']} / {w['p99_ms']} / {w['max_ms']} ms ({w['count']}) | {w['heavy_checks_done']} |")
    (OUT / "loop-latency.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Memory of `planmap serve --workers N` as the machine accounts it: PSS of the parent and its workers.

PSS (proportional set size, /proc/<pid>/smaps_rollup) counts a page shared by k processes as 1/k in each, so the
sum over the process tree is what the tree really costs — RSS would count the layers the workers share N + 1
times.  For each worker count the same server is started on the same data with an empty store, given the same
warm-up (every collection read whole in pages, bbox pages, by-id, VN-2000 output; over fresh connections from
several threads, so that every worker serves some), and measured.  The ratio to one worker is the issue's target
(2 workers < 1.3× one).

    .venv/bin/python bench/memory.py [--data bench/out/bench.gpkg] [--workers 1,2,4]

Prints a table; writes bench/out/memory.json (with the machine and the git commit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from planmap_server import PlanmapServer  # noqa: E402
from serving import tree_pids  # noqa: E402

OUT = HERE / "out"
DEFAULT_DATA = ROOT / "data" / "planmap.gpkg"
# Warm-up: threads of clients, and how often each warm-up request is sent (fresh connections: the kernel spreads
# them over the workers; a few rounds make each worker build what the requests touch).
WARMUP_THREADS = 4
WARMUP_ROUNDS = 3
# Items per page when every collection is read whole (the service's largest page).
PAGE_LIMIT = 10_000
# How long the workers may take to be all up after the first answer.
WORKERS_UP_S = 60
# After the warm-up: let the workers' lazily started threads and freed memory settle before reading /proc.
SETTLE_S = 1.0
VN2000 = "http://www.opengis.net/def/crs/EPSG/0/9213"


def rollup(pid: int) -> dict[str, int]:
    """Pss, Rss, Shared_* and Private_* of a process, in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0])
    return values


def warm_up(url: str) -> int:
    """The same reads for every run; returns how many were sent."""
    collections = [c["id"] for c in httpx.get(f"{url}/collections").json()["collections"]]
    paths = []
    for cid in collections:
        items = f"/collections/{cid}/items"
        paths += [f"{items}?limit={PAGE_LIMIT}", f"{items}?limit=100&bbox=105.7,21.5,105.9,21.7", f"{items}/1",
                  f"{items}?limit=100&crs={VN2000}", f"/collections/{cid}"]
    paths += ["/", "/conformance", "/collections", "/api", "/map"]
    jobs = paths * WARMUP_ROUNDS

    def get(path: str) -> None:
        resp = httpx.get(url + path, timeout=120)  # a fresh connection each
        if resp.status_code >= 500:
            raise RuntimeError(f"{path}: HTTP {resp.status_code}")

    with ThreadPoolExecutor(WARMUP_THREADS) as pool:
        list(pool.map(get, jobs))
    return len(jobs)


def measure(data: Path, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as store:
        started = time.monotonic()
        with PlanmapServer(ROOT, data, {"PLANMAP_STORE": store, "WORKERS": str(workers)}) as server:
            first_answer_s = time.monotonic() - started
            deadline = time.monotonic() + WORKERS_UP_S
            while workers > 1 and len(tree_pids(server.proc.pid)) - 1 < workers:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{workers} workers did not start")
                time.sleep(0.1)
            requests = warm_up(server.url)
            time.sleep(SETTLE_S)
            pids = tree_pids(server.proc.pid)
            per_process = {pid: rollup(pid) for pid in pids}
    total = {key: sum(p.get(key, 0) for p in per_process.values())
             for key in ("Pss", "Rss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")}
    return {"workers": workers, "processes": len(pids), "first_answer_s": round(first_answer_s, 2),
            "warmup_requests": requests, "total_kB": total,
            "per_process_kB": [{"pid": pid, "role": "parent" if i == 0 or workers == 1 else "worker",
                                "Pss": v["Pss"], "Rss": v["Rss"], "Private_Dirty": v.get("Private_Dirty", 0)}
                               for i, (pid, v) in enumerate(per_process.items())]}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "memory_GiB": round(mem_kb / 2**20, 1),
            "python": platform.python_version()}


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return done.stdout.strip() + ("+changes" if dirty else "") if done.returncode == 0 else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    runs = [measure(args.data, n) for n in counts]
    base = runs[0]["total_kB"]["Pss"]
    for run in runs:
        run["pss_ratio"] = round(run["total_kB"]["Pss"] / base, 3)
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "commit": commit(),
              "machine": machine(), "data": str(args.data), "runs": runs}
    OUT.mkdir(exist_ok=True)
    (OUT / "memory.json").write_text(json.dumps(result, indent=2))
    m = result["machine"]
    print(f"planmap serve memory (PSS of parent + workers) — {args.data.name}, commit {result['commit']}, "
          f"{m['host']} ({m['cpu']}, {m['cores']} cores)")
    print(f"{'workers':>7} {'processes':>9} {'PSS MB':>8} {'ratio':>6} {'RSS MB':>8} {'private dirty MB':>16} "
          f"{'first answer s':>14}")
    for run in runs:
        t = run["total_kB"]
        print(f"{run['workers']:>7} {run['processes']:>9} {t['Pss'] / 1024:>8.0f} {run['pss_ratio']:>6.2f} "
              f"{t['Rss'] / 1024:>8.0f} {t['Private_Dirty'] / 1024:>16.0f} {run['first_answer_s']:>14.1f}")
    print(f"written: {OUT / 'memory.json'}")


if __name__ == "__main__":
    main()

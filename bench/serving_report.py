"""The Markdown of a serving benchmark run (bench/serving.py's JSON): the table for docs/benchmarks.md and the rest.

    python3 bench/serving_report.py                        # bench/out/serving-results.json → stdout
    python3 bench/serving_report.py RUN.json --docs        # only what docs/benchmarks.md shows (no per-round rows)

It writes nothing in docs/ by itself: the figures there come from a full run on a quiet machine, pasted by hand.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIPGS = ("tipg1", "tipg2")
LABEL = {"planmap": "planmap", "tipg1": "tipg 1 worker", "tipg2": "tipg 2 workers", "pygeoapi": "pygeoapi"}
# The targets (issue 12, "Speed toward the floor"): (query, connections) → absolute req/s floors
MIN_RPS = {("points bbox", "1"): 1000, ("points bbox", "8"): 1500, ("parcels limit=10000", "1"): 300,
           ("parcel by id", "8"): 3000}
VS_TIPG = 20  # planmap ≥ 20× tipg's best configuration on every bbox, page and filter query
VS_TIPG_QUERIES = ("points bbox", "parcels bbox", "parcels limit=10000", "points bbox + filter")
VN2000_SHARE = 0.9  # VN-2000 output within 10 % of the WGS84 answer to the same bbox


def fmt_ms(v: float) -> str:
    if v != v:
        return "–"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def fmt_rps(v: float) -> str:
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def median_cell(runs: list[dict]) -> dict:
    """Median over the rounds of req/s, p50 and p99, each taken separately; requests and errors summed."""
    out = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
    out["requests"] = sum(r["requests"] for r in runs)
    out["errors"] = sum(r["non2xx"] for r in runs) + sum(1 for r in runs if r["socket_errors"])
    return out


def targets(name: str, conns: str, cells: dict, results: dict) -> tuple[str, str]:
    """The issue's targets for one row and whether planmap meets them."""
    pm = cells.get("planmap")
    if pm is None:
        return "", ""
    goals, met = [], []
    if (name, conns) in MIN_RPS:
        goals.append(f"≥{MIN_RPS[(name, conns)]:,} req/s")
        met.append(pm["rps"] >= MIN_RPS[(name, conns)])
    if name in VS_TIPG_QUERIES:
        best = max((cells[t]["rps"] for t in TIPGS if t in cells), default=None)
        goals.append(f"≥{VS_TIPG}× tipg" + ("" if best else " (no tipg answer in this run: not assessed)"))
        if best:
            met.append(pm["rps"] >= VS_TIPG * best)
    if name == "points bbox VN-2000":
        wgs = results.get("points bbox", {}).get(conns, {}).get("planmap")
        if wgs:
            goals.append("≥90 % of WGS84")
            met.append(pm["rps"] >= VN2000_SHARE * median_cell(wgs)["rps"])
    if not goals:
        return "–", ""
    return ", ".join(goals), ("yes" if all(met) else "**no**") if met else "–"


def render(raw: dict, docs: bool = False) -> str:
    meta, results, edits = raw["meta"], raw["results"], raw.get("edits", [])
    servers, m, v = meta["servers"], meta["machine"], meta["versions"]
    lines = [
        f"Run {meta['started']} → {meta.get('finished', '?')}"
        + (" — **QUICK CHECK RUN (short cells, one round): not figures to publish**" if meta.get("quick") else ""),
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, kernel {m['kernel']}, Debian {m['debian']}"
        f" (load average {m['load_at_start']:.2f} at the start).",
        f"Versions: planmap {v['planmap']} ({v['planmap_stack']}); tipg {v['tipg']} (uvicorn {v['tipg_uvicorn']}, "
        f"asyncpg {v['asyncpg']}); PostgreSQL {v.get('postgresql', '–')}, PostGIS {v.get('postgis', '–')}; "
        f"pygeoapi {v['pygeoapi']} (gunicorn {v['gunicorn']}); GDAL {v['gdal']}; {v['wrk']}.",
        f"wrk: {meta['duration']:g} s per cell ({meta['limit_duration']:g} s for limit=10000), connections "
        f"{' and '.join(str(c) for c in meta['conns'])} (-t1 -c1, -t2 -c8), {meta['rounds']} interleaved round(s); "
        f"each value is the median over the rounds. Latencies in ms.",
        "",
        "| query | c | " + " | ".join(f"{LABEL[s]} req/s (p50 / p99)" for s in servers)
        + (" | planmap ÷ best tipg | target | met |" if "planmap" in servers else " |"),
        "|---|---:|" + "---:|" * len(servers) + ("---:|---|:-:|" if "planmap" in servers else ""),
    ]
    for case in meta["cases"]:
        name = case["name"]
        for conns in map(str, meta["conns"]):
            cells = {s: median_cell(r) for s, r in results[name][conns].items() if r}
            row = [f"{name} ({case.get('count', '?')})", conns]
            for s in servers:
                if s in cells and not cells[s]["requests"]:
                    row.append("no answer within the cell")
                elif s in cells:
                    c = cells[s]
                    row.append(f"{fmt_rps(c['rps'])} ({fmt_ms(c['p50'])} / {fmt_ms(c['p99'])})"
                               + (f" ⚠{c['errors']} err" if c["errors"] else ""))
                else:
                    row.append("n/a")
            if "planmap" in servers:
                best = max((cells[t]["rps"] for t in TIPGS if t in cells), default=None)
                row.append(f"{cells['planmap']['rps'] / best:,.1f}×" if best and "planmap" in cells else "–")
                row.extend(targets(name, conns, cells, results))
            lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for case in meta["cases"]:
        for s, why in case.get("na", {}).items():
            lines.append(f"- n/a: {LABEL[s]} for {case['name']}: {why}.")
    lines.append("")
    lines += ["| server | how it runs | start-up to first items answer | memory (PSS, after warm-up) | processes "
              "| connections |", "|---|---|---:|---:|---:|---|"]
    for s in servers:
        lines.append(f"| {LABEL[s]} | {meta['desc'][s]} | {meta['startup_s'][s]:.2f} s | "
                     f"{meta['pss_mb'][s]:,.0f} MB | {meta['processes'][s]} | "
                     f"{meta.get('keepalive', {}).get(s, '?')} |")
        key = f"{s} PostgreSQL backends"
        if key in meta["pss_mb"]:
            lines.append(f"| ↳ its PostgreSQL backends | application_name={s} | | {meta['pss_mb'][key]:,.0f} MB | "
                         f"{meta['processes'][key]} | |")
    key = "PostgreSQL postmaster + auxiliary"
    if key in meta["pss_mb"]:
        lines.append(f"| PostgreSQL, shared by both tipg | postmaster, checkpointer, walwriter … | | "
                     f"{meta['pss_mb'][key]:,.0f} MB | {meta['processes'][key]} | |")
    by_id = results.get("parcel by id", {}).get("1", {})
    if by_id.get("tipg1") and by_id.get("tipg2"):
        one, two = median_cell(by_id["tipg1"]), median_cell(by_id["tipg2"])
        lines += ["", f"- uvicorn `--workers 2` and TCP_NODELAY, as measured here: tipg by id at c=1, p50 "
                      f"{fmt_ms(one['p50'])} ms with one worker, {fmt_ms(two['p50'])} ms with two (uvicorn's "
                      f"multi-worker sockets lack TCP_NODELAY; a gap of ~40 ms is that pitfall)."]
    if edits:
        lines += ["", "Edits (planmap, one feature per request, one planner on one keep-alive connection; "
                      "readers: wrk -t2 -c8 on the points bbox at the same time):", "",
                  "| write | readers | writes/s | write p50 | write p99 | errors | readers req/s | readers p99 |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for e in edits:
            rr = e.get("readers_result")
            lines.append(f"| {e['op']} | {e['readers']} | {e['wps']:,.1f} | {fmt_ms(e['p50'])} | {fmt_ms(e['p99'])} | "
                         f"{e['errors']} | {fmt_rps(rr['rps']) if rr else '–'} | {fmt_ms(rr['p99']) if rr else '–'} |")
    lines += ["", "Queries (the same for every server; ids checked equal before timing):", ""]
    for case in meta["cases"]:
        params = "&".join(f"{k}={val}" for k, val in case["params"].items())
        path = f"/collections/{case['layer']}/items" + (f"/{case['fid']}" if "fid" in case else "")
        sizes = ", ".join(f"{LABEL[s]} {case['check'][s]['bytes']:,} B" for s in case.get("servers", []))
        lines.append(f"- **{case['name']}** `{path}{'?' + params if params else ''}` — {case.get('count', '?')} "
                     f"features; {sizes}")
    lines.append("- tipg's collections are `public.<layer>`; pygeoapi gets `f=json` added.")
    errs = [f"{s} {name} c={conns}: non-2xx {r['non2xx']}, socket errors {r['socket_errors'] or '-'}"
            for name, by_c in results.items() for conns, by_s in by_c.items() for s, runs in by_s.items()
            for r in runs if r["non2xx"] or r["socket_errors"]]
    lines += ["", "- wrk errors: " + ("; ".join(errs) if errs else "none (no non-2xx responses, no socket errors)")]
    if not docs:
        lines += ["", "<details><summary>every round</summary>", "",
                  "| query | c | server | round | req/s | p50 | p99 | requests | drained after | wrk command |",
                  "|---|---:|---|---:|---:|---:|---:|---:|---:|---|"]
        for name, by_c in results.items():
            for conns, by_s in by_c.items():
                for s, runs in by_s.items():
                    for i, r in enumerate(runs, 1):
                        lines.append(f"| {name} | {conns} | {s} | {i} | {fmt_rps(r['rps'])} | {fmt_ms(r['p50'])} | "
                                     f"{fmt_ms(r['p99'])} | {r['requests']} | {r.get('drain_s', 0):.1f} s | "
                                     f"`{r['cmd']}` |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", nargs="?", type=Path, default=HERE / "out" / "serving-results.json")
    ap.add_argument("--docs", action="store_true", help="only the tables docs/benchmarks.md shows")
    args = ap.parse_args(argv)
    print(render(json.loads(args.json.read_text(encoding="utf-8")), docs=args.docs), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

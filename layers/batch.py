"""Checking a whole file of proposals: vectorized in chunks, written atomically as GeoPackage and CSV."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.cancel import checkpoint
from geo.terrain import Terrain
from layers.checks import CheckEngine
from layers.dataset import Dataset
from layers.proposals import Proposals, read_proposals
from layers.report import DISCLAIMER, results_table, verdict_line
from layers.rules import RuleBook

CHUNK = 2_000  # proposals per vectorized pass: big enough to be fast, small enough for a live progress bar


def check_all(engine: CheckEngine, proposals: Proposals, day: dt.date,
              progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """The results table for all proposals, evaluated CHUNK at a time."""
    parts = []
    total = len(proposals)
    for start in range(0, total, CHUNK):
        checkpoint()  # between chunks: stop if whoever asked has gone
        stop = min(start + CHUNK, total)
        chunk = Proposals(proposals.kinds[start:stop], proposals.geoms[start:stop],
                          proposals.properties[start:stop] if proposals.properties else [])
        parts.append(results_table(engine, chunk, day))
        if progress:
            progress(stop, total)
    table = pd.concat(parts, ignore_index=True)
    return table.reindex(columns=list(dict.fromkeys(c for p in parts for c in p.columns)))


def check_file(path: Path, out: Path, dataset: Dataset, rules: RuleBook, crs: str | None = None,
               as_of: dt.date | None = None, progress: Callable[[int, int], None] | None = None,
               terrain: Terrain | None = None) -> dict:
    """Check every proposal in `path`; write `out`.gpkg and `out`.csv (temp files, then renamed).

    Each row carries its verdict, whether a rule of its kind assessed it and whether it rests on illustrative
    data (with the verdict note saying so), per rule the status, measured value, deciding feature and the accuracy
    of that evidence, and the data disclaimer."""
    day = as_of or dt.date.today()
    proposals, frame = read_proposals(path, crs)
    table = check_all(CheckEngine(dataset, rules, terrain), proposals, day, progress)
    attrs = frame.drop(columns=frame.geometry.name).reset_index(drop=True)
    attrs = attrs.drop(columns=[c for c in attrs.columns if c in table.columns])
    result = pd.concat([attrs, table], axis=1)
    result.insert(0, "as_of", day.isoformat())
    notes = [verdict_line(v, bool(i), bool(a)) for v, i, a in zip(table["verdict"], table["indicative"],
                                                                   table["assessed"], strict=True)]
    result["verdict_note"] = [f"{n['vi']} / {n['en']}" if n["vi"] else None for n in notes]
    result["disclaimer"] = f"{DISCLAIMER['vi']} / {DISCLAIMER['en']}"  # the file travels without the report
    gdf = gpd.GeoDataFrame(result, geometry=np.asarray(proposals.geoms), crs="OGC:CRS84")
    gpkg, csv = out.with_suffix(".gpkg"), out.with_suffix(".csv")
    tmp_gpkg = gpkg.with_name(f".{gpkg.stem}.tmp{os.getpid()}.gpkg")
    tmp_csv = csv.with_name(f".{csv.stem}.tmp{os.getpid()}.csv")
    try:
        gdf.to_file(tmp_gpkg, layer="checked_proposals", driver="GPKG", engine="pyogrio")
        flat = pd.DataFrame(result)
        flat["wkt"] = shapely.to_wkt(np.asarray(proposals.geoms), rounding_precision=7)
        flat.to_csv(tmp_csv, index=False, encoding="utf-8-sig")
        os.replace(tmp_gpkg, gpkg)
        os.replace(tmp_csv, csv)
    finally:
        for tmp in (tmp_gpkg, tmp_csv):
            tmp.unlink(missing_ok=True)
    counts = table["verdict"].value_counts().to_dict()
    return {"verdicts": {k: int(counts.get(k, 0)) for k in ("fail", "warn", "unknown", "pass")}, "gpkg": gpkg,
            "csv": csv, "count": len(table)}

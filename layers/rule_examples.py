"""Rules test themselves: each rule's worked examples (data/rules.yaml) evaluated by the real engine.

An example is a tiny world — the features `given` around a site, in metres east/north of a point near Thái Nguyên
city — and what the rule must answer there.  A planner who edits a threshold runs `planmap rules examples` and sees
which answers changed; the test suite fails on any that differ, and on a rule without examples.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine

from geo.terrain import Terrain
from layers.catalog import CollectionMeta
from layers.checks import CheckEngine
from layers.dataset import Dataset, layer_from_frame
from layers.proposals import Proposals
from layers.report import build_reports
from layers.rules import Example, ExampleShape, ExampleTerrain, Rule, RuleBook

ORIGIN = (430_000.0, 2_390_000.0)  # VN-2000 / TM-3 106°30′, near Thái Nguyên city
METRIC = "EPSG:9213"
DEFAULT_DAY = dt.date(2026, 1, 1)
PROVINCE_HALF = 20_000.0  # the default province outline: ±20 km around the origin
TEMPORAL = ("valid_from", "valid_to")
NODATA = -9999.0  # the synthetic elevation models' "no data" value (outside their box)


@dataclass(frozen=True)
class ExampleResult:
    rule: str
    example: str
    expected: str
    status: str | None
    expected_measured: float | None
    measured: float | None
    ok: bool
    message: str


def shape(place: ExampleShape) -> shapely.Geometry:
    """The example's geometry in VN-2000 metres."""
    x0, y0 = ORIGIN
    if place.at is not None:
        return shapely.Point(x0 + place.at[0], y0 + place.at[1])
    if place.box is not None:
        a, b, c, d = place.box
        return shapely.box(x0 + a, y0 + b, x0 + c, y0 + d)
    return shapely.LineString([(x0 + x, y0 + y) for x, y in place.line])


def _frame(features: list[ExampleShape]) -> gpd.GeoDataFrame:
    rows = [{"name": None, **(f.model_extra or {}), "source": "worked example", "accuracy": "exact"} for f in features]
    frame = gpd.GeoDataFrame(rows, geometry=[shape(f) for f in features], crs=METRIC)
    frame.index = range(1, len(frame) + 1)
    return frame.to_crs("OGC:CRS84")


def world(example: Example) -> Dataset:
    """The example's layers (plus a province ±20 km around the origin unless it gives one)."""
    given = dict(example.given)
    given.setdefault("province", [ExampleShape(box=(-PROVINCE_HALF, -PROVINCE_HALF, PROVINCE_HALF, PROVINCE_HALF),
                                               name="Tỉnh (ví dụ)")])
    layers = {}
    for layer_id, features in given.items():
        frame = _frame(features) if features else gpd.GeoDataFrame({"name": [], "source": [], "accuracy": []},
                                                                    geometry=[], crs="OGC:CRS84")
        meta = CollectionMeta(id=layer_id, title={"vi": layer_id, "en": layer_id}, description={},
                              temporal_fields=tuple(f for f in TEMPORAL if f in frame.columns))
        layers[layer_id] = layer_from_frame(meta, frame, None if len(frame) else "Unknown")
    return Dataset(layers)


def example_day(rule: Rule, example: Example) -> dt.date:
    """The example's date: its own, else a day the rule is in force."""
    if example.as_of is not None:
        return example.as_of
    span = rule.in_force
    if span.covers(DEFAULT_DAY):
        return DEFAULT_DAY
    return span.to or span.from_ or DEFAULT_DAY


def write_dem(terrain: ExampleTerrain, folder: Path) -> Path:
    """The example's elevation model as a GeoTIFF in VN-2000 metres (float32; nothing outside its box)."""
    x0, y0 = ORIGIN
    a, b, c, d = terrain.box
    if terrain.heights is not None:
        heights = np.asarray(terrain.heights, dtype="float32")
    else:
        width, height = max(1, round((c - a) / terrain.cell)), max(1, round((d - b) / terrain.cell))
        east = (np.arange(width) + 0.5) * (c - a) / width  # metres from the west edge, at cell centres
        heights = np.tile(terrain.base_m + east * terrain.plane_slope_percent / 100.0, (height, 1)).astype("float32")
    path = folder / "example-dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=heights.shape[1], height=heights.shape[0], count=1,
                       dtype="float32", crs=METRIC, nodata=NODATA,
                       transform=Affine((c - a) / heights.shape[1], 0.0, x0 + a, 0.0, -(d - b) / heights.shape[0],
                                        y0 + d)) as dst:
        dst.write(heights, 1)
    return path


def run_example(rule: Rule, example: Example) -> ExampleResult:
    """Evaluate one worked example with the real engine and compare with what it expects (a rule switched off in
    the rules file is switched on for its examples)."""
    if example.terrain is None:
        return _run_example(rule, example, None)
    with tempfile.TemporaryDirectory(prefix="planmap-example-") as folder:
        dem = write_dem(example.terrain, Path(folder))
        return _run_example(rule, example, Terrain.open(dem, source="worked example"))


def _run_example(rule: Rule, example: Example, terrain: Terrain | None) -> ExampleResult:
    site = gpd.GeoSeries([shape(example.site)], crs=METRIC).to_crs("OGC:CRS84").to_numpy()
    props = {k: v for k, v in (example.site.model_extra or {}).items()}
    proposals = Proposals(kinds=np.array([example.site.kind], dtype=object), geoms=site, properties=[props])
    applied = rule if rule.enabled else rule.model_copy(update={"enabled": True})
    engine = CheckEngine(world(example), RuleBook(rules=[applied]), terrain=terrain)
    day = example_day(rule, example)
    report = build_reports(engine, proposals, day, "en", evidence=False)[0]
    found = next((r for r in report["results"] if r["rule"] == rule.id), None)
    status = found["status"] if found else None
    measured = found.get("measured") if found else None
    want = example.expect
    ok = status == want.status and (want.measured is None or (
        measured is not None and abs(measured - want.measured) <= want.tolerance))
    return ExampleResult(rule.id, example.name, want.status, status, want.measured, measured, ok,
                         found["message"] if found else f"the rule is not in force on {day}")


def run_all(rules: RuleBook) -> list[ExampleResult]:
    """Every worked example of every rule; a rule without examples is itself a failed result."""
    out = []
    for rule in rules.rules:
        if not rule.examples:
            out.append(ExampleResult(rule.id, "(no example)", "-", None, None, None, False,
                                     "every rule needs worked examples in data/rules.yaml"))
        out.extend(run_example(rule, example) for example in rule.examples)
    return out

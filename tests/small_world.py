"""A small, hand-made dataset whose answers are known, for fast in-process tests of the API and the engine.

Everything is placed in VN-2000 / TM-3 106°30′ metres around (X0, Y0) and stored in CRS84, as the shipped data is:
a province in both administrative versions, two pre-2025 districts, two communes, a school, a fuel station, a
110 kV line, a mining area, a planned cluster and an internal draft layer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, Point, box

from layers.catalog import CollectionMeta
from layers.dataset import Dataset, layer_from_frame
from layers.rules import load_rules

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "data" / "rules.yaml")
X0, Y0 = 430_000.0, 2_390_000.0  # VN-2000 / TM-3 106°30′ metres, near Thái Nguyên city
TODAY = dt.date(2026, 11, 28)
TEMPORAL = ("valid_from", "valid_to")


def frame(rows: list[dict], accuracy: str = "synthetic") -> gpd.GeoDataFrame:
    data = [{**r, "source": "test", "accuracy": accuracy} for r in rows]
    out = gpd.GeoDataFrame(data, geometry="geometry", crs="EPSG:9213")
    out.index = range(1, len(out) + 1)
    return out


def meta(layer_id: str, temporal: tuple[str, ...] = ()) -> CollectionMeta:
    return CollectionMeta(id=layer_id, title={"vi": f"Lớp {layer_id}", "en": f"Layer {layer_id}"},
                          description={"vi": "thử", "en": "test"}, temporal_fields=temporal, license="test",
                          attribution="test")


def layers() -> dict[str, gpd.GeoDataFrame]:
    return {
        "province": frame([
            {"name": "Tỉnh 2025", "version": "2025", "valid_from": "2025-07-01", "valid_to": None,
             "geometry": box(X0 - 20_000, Y0 - 20_000, X0 + 20_000, Y0 + 20_000)},
            {"name": "Tỉnh cũ", "version": "pre2025", "valid_from": None, "valid_to": "2025-06-30",
             "geometry": box(X0 - 20_000, Y0 - 20_000, X0 + 5_000, Y0 + 20_000)}], "approximate"),
        "districts": frame([
            {"name": "Thành phố Thái Nguyên", "code": "164", "valid_from": None, "valid_to": "2025-06-30",
             "geometry": box(X0 - 20_000, Y0 - 20_000, X0, Y0 + 20_000)},
            {"name": "Huyện Võ Nhai", "code": "169", "valid_from": None, "valid_to": "2025-06-30",
             "geometry": box(X0, Y0 - 20_000, X0 + 5_000, Y0 + 20_000)}], "approximate"),
        "communes": frame([
            {"name": "Phường Một", "code": "05500", "valid_from": "2025-07-01", "valid_to": None,
             "geometry": box(X0 - 20_000, Y0 - 20_000, X0, Y0 + 20_000)},
            {"name": "Xã Hai", "code": "05600", "valid_from": "2025-07-01", "valid_to": None,
             "geometry": box(X0, Y0 - 20_000, X0 + 20_000, Y0 + 20_000)}], "approximate"),
        "public_facilities": frame([{"name": "Trường THCS Kiểm Tra", "kind": "school", "geometry": Point(X0, Y0)},
                                    {"name": "UBND xã", "kind": "office", "geometry": Point(X0 + 5, Y0 + 300)}]),
        "fuel_stations": frame([{"name": "CHXD Số 1", "status": "existing", "geometry": Point(X0 + 2_000, Y0)}]),
        "power_lines": frame([{"name": "ĐZ 110 kV Thử", "voltage_kv": 110.0, "status": "existing",
                               "geometry": LineString([(X0 - 5_000, Y0 - 10_000), (X0 - 5_000, Y0 + 10_000)])}]),
        "mineral_areas": frame([{"name": "Mỏ thử", "area_type": "mining",
                                 "geometry": box(X0 + 8_000, Y0, X0 + 9_000, Y0 + 1_000)}]),
        "industrial_clusters": frame([{"name": "CCN Thử Nghiệm", "status": "planned", "plan_phase": "2021-2025",
                                       "area_ha": 20.0,
                                       "geometry": box(X0 + 10_000, Y0 + 5_000, X0 + 10_500, Y0 + 5_400)}]),
        "draft_plan": frame([{"name": "Dự thảo nội bộ", "status": "planned",
                              "geometry": box(X0 + 1_000, Y0 + 1_000, X0 + 1_200, Y0 + 1_200)}]),
    }


def dataset() -> Dataset:
    """The small world as the service holds it (CRS84), `draft_plan` internal."""
    temporal = {"province": TEMPORAL, "districts": TEMPORAL, "communes": TEMPORAL}
    built = {k: layer_from_frame(meta(k, temporal.get(k, ())), v) for k, v in layers().items()}
    return Dataset(built, internal=frozenset({"draft_plan"}), catalog={k: v.meta for k, v in built.items()})


def lonlat(x: float, y: float) -> list[float]:
    """VN-2000 metres → [lon, lat] as a client sends them."""
    p = gpd.GeoSeries([Point(x, y)], crs="EPSG:9213").to_crs("OGC:CRS84").iloc[0]
    return [p.x, p.y]


def site(kind: str, x: float, y: float, **props) -> dict:
    """A proposal Feature at VN-2000 (x, y), in CRS84."""
    return {"type": "Feature", "properties": {"kind": kind, **props},
            "geometry": {"type": "Point", "coordinates": lonlat(x, y)}}

"""Deterministic synthetic benchmark data inside the Thái Nguyên province outline.

Writes ``bench/out/bench.gpkg`` (EPSG:4326) with two layers:

* ``bench_points``  — 100,000 points
* ``bench_parcels`` — 200,000 small quadrilaterals (~40–80 m sides, slightly rotated)

Both are a mixture of a uniform background over the province and Gaussian clusters around the main
towns, so the benchmark has dense areas (where a small bbox returns a few hundred features) as real
planning layers do. Everything is vectorized (numpy + shapely 2); nothing loops per feature in Python.
The same seed gives the same features, attributes and fids (1..N, in the order written).

Usage:  python bench/make_data.py [--out bench/out/bench.gpkg] [--points 100000] [--parcels 200000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROVINCE_CANDIDATES = [
    ROOT / "data/sources/admin/tn2025_province.geojson",
    Path("/work/shared/sources/admin/tn2025_province.geojson"),
]
SEED = 20261128
SOURCE = "planmap benchmark synthetic"
ACCURACY = "synthetic"

# (lon, lat, weight, sigma_km): town centres of the province, used as density clusters.
TOWNS = [
    (105.8442, 21.5928, 0.30, 2.5),  # Thái Nguyên (phường Phan Đình Phùng …)
    (105.8500, 21.4800, 0.12, 2.0),  # Sông Công
    (105.8700, 21.4200, 0.14, 2.5),  # Phổ Yên
    (105.8340, 22.1470, 0.12, 2.0),  # Bắc Kạn
    (105.6500, 21.8200, 0.06, 2.0),  # Đại Từ
    (105.7100, 21.6600, 0.06, 2.0),  # Đại Từ — Hùng Sơn
    (106.0800, 21.6500, 0.06, 2.0),  # Đồng Hỷ / Trại Cau
    (105.6500, 21.9000, 0.04, 2.0),  # Định Hóa
    (106.1200, 21.6700, 0.05, 2.0),  # Phú Bình side
    (105.9800, 22.3600, 0.05, 2.0),  # Chợ Đồn / Ba Bể side
]
CLUSTER_SHARE = 0.55  # the rest is uniform over the province

KM_PER_DEG_LAT = 110.7
KM_PER_DEG_LON = 111.32 * np.cos(np.radians(21.7))

LAND_USE = np.array(
    [
        "Đất ở tại đô thị",
        "Đất ở tại nông thôn",
        "Đất trồng lúa",
        "Đất trồng cây lâu năm",
        "Đất rừng sản xuất",
        "Đất cụm công nghiệp",
        "Đất thương mại, dịch vụ",
        "Đất xây dựng trụ sở cơ quan",
        "Đất giao thông",
        "Đất thủy lợi",
        "Đất nuôi trồng thủy sản",
        "Đất sinh hoạt cộng đồng",
    ]
)
POINT_KIND = np.array(
    [
        "Cửa hàng xăng dầu",
        "Chợ hạng ba",
        "Siêu thị mini",
        "Trạm biến áp",
        "Điểm thu gom phế liệu",
        "Cửa hàng tiện lợi",
        "Kho hàng hóa",
        "Điểm bán lẻ điện máy",
    ]
)
COMMUNE_NAMES = np.array(
    [
        "Phan Đình Phùng",
        "Quyết Thắng",
        "Gia Sàng",
        "Tích Lương",
        "Sông Công",
        "Bách Quang",
        "Phổ Yên",
        "Vạn Xuân",
        "Đức Xuân",
        "Bắc Kạn",
        "Đại Từ",
        "Đồng Hỷ",
        "Phú Bình",
        "Định Hóa",
        "Võ Nhai",
        "Chợ Đồn",
        "Ba Bể",
        "Ngân Sơn",
    ]
)


def load_province() -> shapely.Geometry:
    for p in PROVINCE_CANDIDATES:
        if p.exists():
            fc = json.loads(p.read_text(encoding="utf-8"))
            geoms = [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
            geom = shapely.union_all(geoms)
            shapely.prepare(geom)
            return geom
    sys.exit(f"province outline not found in {PROVINCE_CANDIDATES}")


def sample_centres(rng: np.random.Generator, province, n: int, margin_deg: float = 0.0) -> np.ndarray:
    """n (lon, lat) pairs inside the province: CLUSTER_SHARE from town clusters, the rest uniform.

    Rejection sampling in vectorized batches; ``margin_deg`` shrinks the accepted area (polygon
    corners must also fall inside, which the caller checks).
    """
    minx, miny, maxx, maxy = province.bounds
    w = np.array([t[2] for t in TOWNS])
    w = w / w.sum()
    out = np.empty((0, 2))
    while len(out) < n:
        m = int((n - len(out)) * 1.6) + 1000
        n_cl = int(m * CLUSTER_SHARE)
        town = rng.choice(len(TOWNS), size=n_cl, p=w)
        t = np.array(TOWNS)[town]
        cl = np.column_stack(
            [
                t[:, 0] + rng.normal(0, 1, n_cl) * t[:, 3] / KM_PER_DEG_LON,
                t[:, 1] + rng.normal(0, 1, n_cl) * t[:, 3] / KM_PER_DEG_LAT,
            ]
        )
        un = np.column_stack(
            [rng.uniform(minx, maxx, m - n_cl), rng.uniform(miny, maxy, m - n_cl)]
        )
        cand = np.concatenate([cl, un])
        cand = cand[rng.permutation(len(cand))]
        ok = shapely.contains_xy(province, cand[:, 0], cand[:, 1])
        out = np.concatenate([out, cand[ok]])
    return out[:n]


def make_points(rng, province, n: int) -> dict:
    xy = np.round(sample_centres(rng, province, n), 7)
    geom = shapely.points(xy)
    kind = rng.integers(0, len(POINT_KIND), n)
    commune = rng.integers(0, len(COMMUNE_NAMES), n)
    seq = np.arange(1, n + 1)
    name = np.char.add(
        np.char.add(np.char.add(POINT_KIND[kind], " số "), seq.astype(str)),
        np.char.add(" – ", COMMUNE_NAMES[commune]),
    )
    return {
        "geometry": geom,
        "name": name.astype(object),
        "kind_code": (kind + 1).astype(np.int32),
        "capacity": np.round(rng.gamma(2.0, 150.0, n), 2),
        "source": np.full(n, SOURCE, dtype=object),
        "accuracy": np.full(n, ACCURACY, dtype=object),
    }


def make_parcels(rng, province, n: int) -> dict:
    chosen = np.empty((0, 5, 2))
    while len(chosen) < n:
        m = int((n - len(chosen)) * 1.1) + 1000
        c = sample_centres(rng, province, m)
        side_m = rng.uniform(40.0, 80.0, (m, 2))  # width, height in metres
        angle = rng.uniform(-np.pi / 12, np.pi / 12, m)
        # unit square corners, closed ring, counter-clockwise
        ux = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
        uy = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
        # small per-corner jitter so they are quads, not perfect rectangles (ring stays closed)
        jit = rng.uniform(-0.06, 0.06, (m, 4, 2))
        jit = np.concatenate([jit, jit[:, :1, :]], axis=1)
        dx_m = (ux[None, :] + jit[:, :, 0]) * side_m[:, :1]
        dy_m = (uy[None, :] + jit[:, :, 1]) * side_m[:, 1:]
        ca, sa = np.cos(angle)[:, None], np.sin(angle)[:, None]
        rx = dx_m * ca - dy_m * sa
        ry = dx_m * sa + dy_m * ca
        x = c[:, :1] + rx / 1000.0 / KM_PER_DEG_LON
        y = c[:, 1:] + ry / 1000.0 / KM_PER_DEG_LAT
        ring = np.round(np.stack([x, y], axis=2), 7)
        inside = shapely.contains_xy(province, ring[:, :4, 0].ravel(), ring[:, :4, 1].ravel())
        ok = inside.reshape(m, 4).all(axis=1)
        chosen = np.concatenate([chosen, ring[ok]])
    chosen = chosen[:n]
    geom = shapely.polygons(chosen)
    use = rng.integers(0, len(LAND_USE), n)
    commune = rng.integers(0, len(COMMUNE_NAMES), n)
    seq = np.arange(1, n + 1)
    name = np.char.add(
        np.char.add(np.char.add(LAND_USE[use], " – thửa "), seq.astype(str)),
        np.char.add(", ", COMMUNE_NAMES[commune]),
    )
    area_m2 = (
        shapely.area(geom) * (KM_PER_DEG_LON * 1000.0) * (KM_PER_DEG_LAT * 1000.0)
    )
    return {
        "geometry": geom,
        "name": name.astype(object),
        "parcel_no": rng.integers(1, 2000, n).astype(np.int32),
        "land_use_code": (use + 1).astype(np.int32),
        "area_m2": np.round(area_m2, 1),
        "source": np.full(n, SOURCE, dtype=object),
        "accuracy": np.full(n, ACCURACY, dtype=object),
    }


def write_layer(path: Path, layer: str, cols: dict, geometry_type: str) -> None:
    from pyogrio.raw import write

    geom = cols.pop("geometry")
    names = list(cols)
    write(
        str(path),
        shapely.to_wkb(geom),
        field_data=[cols[k] for k in names],
        fields=names,
        layer=layer,
        driver="GPKG",
        geometry_type=geometry_type,
        crs="EPSG:4326",
        encoding="UTF-8",
        append=path.exists(),
        layer_options={"SPATIAL_INDEX": "YES", "FID": "fid"},
        # GeoPackage 1.2: readable without warnings by older GDAL (Debian 12's 3.6 used by pygeoapi)
        dataset_options=None if path.exists() else {"VERSION": "1.2"},
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "out" / "bench.gpkg")
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    province = load_province()
    rng = np.random.default_rng(args.seed)
    pts = make_points(rng, province, args.points)
    par = make_parcels(rng, province, args.parcels)
    t1 = time.perf_counter()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    write_layer(tmp, "bench_points", pts, "Point")
    write_layer(tmp, "bench_parcels", par, "Polygon")
    tmp.replace(args.out)
    t2 = time.perf_counter()
    print(
        f"wrote {args.out}: bench_points={args.points:,} bench_parcels={args.parcels:,} "
        f"(generate {t1 - t0:.1f} s, write {t2 - t1:.1f} s, {args.out.stat().st_size / 1e6:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Terrain from a digital elevation model: elevation and slope in metres on an analysis grid.

The DEM may be in any CRS (SRTM comes in degrees); it is warped onto the metric grid first, so slopes are
computed from metres on the ground, not from degrees of longitude.  Where the DEM has no data (or does not reach),
elevation and slope are NaN — unknown, never zero.  A site's statistics (`site_stats`) read only windows around the
sites, and a site that is not wholly inside the DEM's coverage has no values at all, with the reason.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import rasterio
import shapely
from pyproj import Transformer
from rasterio import features
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, transform_bounds

from geo.crs import METRIC_CRS
from geo.errors import BadRequest, Unprocessable
from geo.grid import Grid, read_window

# A DEM's coverage outline is traced on a copy of its mask at most this many pixels wide or high (a province at
# 30 m is ~4,000 px: tracing every pixel would give an outline of 100,000s of vertices for a map line).
COVERAGE_MAX_PIXELS = 1024
# A window read for site statistics holds at most this many cells (≈ 4 MB of float32 per surface); sites farther
# apart are read window by window, and a site too large for one window is read with coarser cells.
MAX_WINDOW_CELLS = 1_000_000
# Sites are grouped into windows by tiles of this size (m) when all of them at once would exceed MAX_WINDOW_CELLS.
WINDOW_TILE_M = 5_000.0
# Cells of margin around a window: the slope of a cell needs its neighbours (np.gradient), so a site at the
# window's edge still gets its slope from real heights.
WINDOW_MARGIN_CELLS = 2
FINGERPRINT_CHUNK_BYTES = 1 << 20  # a DEM is read this much at a time to fingerprint it
# Elevations on Earth's land lie between the Dead Sea shore (−430 m) and Everest (8,849 m): a raster whose values
# fall outside this (with margin) is not an elevation model in metres (a scanned map, a classification, feet …).
ELEVATION_RANGE_M = (-500.0, 9_000.0)
# Bands an elevation model has: one.  Byte-typed rasters are images (scans, classifications), not heights.
IMAGE_DTYPES = ("uint8", "int8", "bool", "complex64", "complex128")
# The sample of a DEM's values checked for elevation-likeness (pixels on the longer side of a decimated read).
VALIDATION_SAMPLE_PIXELS = 512


def percent(slope_deg: np.ndarray | float) -> np.ndarray | float:
    """A slope in degrees as a percentage (rise over run × 100): 45° is 100 %."""
    return np.tan(np.radians(slope_deg)) * 100.0


def degrees(slope_pct: np.ndarray | float) -> np.ndarray | float:
    """A slope in percent as degrees."""
    return np.degrees(np.arctan(np.asarray(slope_pct) / 100.0))


def _text(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}


@dataclass(frozen=True)
class Terrain:
    """An elevation model on disk, opened and checked once."""

    path: Path
    crs: str
    bounds: tuple[float, float, float, float]  # in the DEM's own CRS
    resolution: tuple[float, float]  # in the DEM's own units
    source: str = ""  # who made it (the shipped SRTM, or the planner who uploaded it)

    @classmethod
    def open(cls, path: Path, source: str | None = None) -> Terrain:
        """Check that `path` is a georeferenced single-band raster of elevations (400/422 otherwise)."""
        path = Path(path)
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise Unprocessable(f"{path.name} has no coordinate reference system",
                                        f"{path.name} không có hệ toạ độ", code="NoCrs")
                _check_elevations(src, path.name)
                tags = src.tags()
                found = cls(path, src.crs.to_string(), tuple(src.bounds), tuple(src.res),
                            source or tags.get("SOURCE") or tags.get("source") or path.name)
        except rasterio.errors.RasterioIOError as exc:
            raise BadRequest(f"{path.name} is not a raster GDAL can read: {exc}",
                             f"{path.name} không phải tệp raster đọc được: {exc}", code="NotARaster") from None
        return found

    # -- where it has data ----------------------------------------------------------------------------------------
    @cached_property
    def resolution_m(self) -> float:
        """The DEM's cell size converted to metres on the VN-2000 grid (SRTM3's 3″ ≈ 90 m here)."""
        w, s, e, n = self.bounds
        with rasterio.open(self.path) as src, warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            transform, _, _ = calculate_default_transform(self.crs, METRIC_CRS, src.width, src.height, w, s, e, n)
        return round(float(abs(transform.a)), 1)

    @property
    def cell_m(self) -> float:
        """The cell (whole metres) of the grids sites are measured on: the DEM's resolution."""
        return max(1.0, float(round(self.resolution_m)))

    @cached_property
    def coverage_metric(self) -> shapely.Geometry:
        """Where the DEM has data, as a (multi)polygon in VN-2000 metres."""
        with rasterio.open(self.path) as src:
            scale = max(1.0, max(src.width, src.height) / COVERAGE_MAX_PIXELS)
            shape = (max(1, round(src.height / scale)), max(1, round(src.width / scale)))
            mask = src.dataset_mask(out_shape=shape, resampling=Resampling.nearest) > 0
            transform = src.transform @ src.transform.scale(src.width / shape[1], src.height / shape[0])
        polys = [shapely.geometry.shape(g) for g, v in features.shapes(mask.astype("uint8"), mask=mask,
                                                                       transform=transform) if v]
        if not polys:
            return shapely.Polygon()
        native = shapely.union_all(polys)
        to_metric = Transformer.from_crs(self.crs, METRIC_CRS, always_xy=True)
        native = shapely.segmentize(native, max(abs(transform.a), abs(transform.e)) * 8)
        metric = shapely.transform(native, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])))
        return shapely.make_valid(shapely.simplify(metric, self.resolution_m * scale / 2))

    @cached_property
    def coverage_crs84(self) -> shapely.Geometry:
        """The coverage in longitude/latitude (for the map and GET /terrain)."""
        to_lonlat = Transformer.from_crs(METRIC_CRS, "OGC:CRS84", always_xy=True)
        return shapely.transform(self.coverage_metric,
                                 lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])))

    @cached_property
    def bounds_crs84(self) -> tuple[float, float, float, float]:
        """The DEM's extent (west, south, east, north) in CRS84 degrees."""
        return tuple(float(v) for v in transform_bounds(self.crs, "OGC:CRS84", *self.bounds))

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the file's bytes: which DEM exactly an analysis rested on (read once, in chunks)."""
        digest = hashlib.blake2b(digest_size=16)
        with open(self.path, "rb") as f:
            while chunk := f.read(FINGERPRINT_CHUNK_BYTES):
                digest.update(chunk)
        return digest.hexdigest()

    def record(self) -> dict:
        """What an analysis records of the DEM it used (layers/inputs.py `rasters`)."""
        return {"role": "elevation", "file": self.path.name, "source": self.source, "crs": self.crs,
                "resolution_m": self.resolution_m, "bounds_crs84": list(self.bounds_crs84),
                "fingerprint": self.fingerprint}

    def statement(self) -> dict[str, str]:
        """What the DEM covers, computed from its bounds (the shipped SRTM3 tile covers only the south-west of the
        province), in both languages."""
        cw, cs, ce, cn = self.coverage_crs84.bounds if not self.coverage_crs84.is_empty else self.bounds_crs84
        span = f"{cw:.2f}–{ce:.2f}°E, {cs:.2f}–{cn:.2f}°N"
        return _text(f"Mô hình độ cao {self.path.name} ({self.resolution_m:g} m) chỉ phủ {span}; ngoài vùng này "
                     "độ cao và độ dốc là chưa xác định (không phải bằng 0).",
                     f"The elevation model {self.path.name} ({self.resolution_m:g} m) covers only {span}; outside "
                     "it elevation and slope are unknown (never zero).")

    def native_grid(self, max_cells: int, bounds_m: tuple[float, float, float, float] | None = None) -> Grid:
        """The metric grid at the DEM's own resolution (whole metres) over its coverage, or over `bounds_m` (413
        above `max_cells`)."""
        cover = self.coverage_metric
        bounds = bounds_m or (cover.bounds if not cover.is_empty else
                              transform_bounds(self.crs, METRIC_CRS, *self.bounds))
        return Grid.covering(tuple(bounds), self.cell_m, max_cells)

    # -- surfaces ------------------------------------------------------------------------------------------------
    def on_grid(self, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
        """Elevation (m) and slope (degrees) of every cell of `grid`, float32, NaN where the DEM has no data."""
        elevation = read_window(str(self.path), grid)
        dz_dy, dz_dx = np.gradient(elevation, grid.cell, grid.cell)
        slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy))).astype("float32")
        return elevation, slope  # np.gradient spreads NaN to the neighbours: the slope at a DEM's edge is unknown

    # -- sites ---------------------------------------------------------------------------------------------------
    def site_stats(self, geoms: np.ndarray) -> list[dict]:
        """Per site (shapely geometries in VN-2000 metres: points, lines, polygons): elevation min/max/range (m),
        mean and max slope (degrees and %), the share of the site the DEM covers and the cell size used.

        Only windows around the sites are read (all at once when they fit in MAX_WINDOW_CELLS, else tile by
        tile).  A site not wholly inside the coverage has every value None and a `note` saying why: unknown,
        never zero."""
        geoms = np.asarray(geoms, dtype=object)
        out: list[dict] = [_unknown(0.0, self.cell_m, _text(
            "không có hình địa điểm", "the site has no geometry")) for _ in range(len(geoms))]
        present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
        if not present.any():
            return out
        extent = self.coverage_metric
        if extent.is_empty:
            return [_unknown(0.0, self.cell_m, _outside(self)) for _ in geoms]
        bounds = np.full((len(geoms), 4), np.nan)
        bounds[present] = shapely.bounds(geoms[present])
        ex = extent.bounds
        touching = present & (bounds[:, 2] >= ex[0]) & (bounds[:, 0] <= ex[2]) & (bounds[:, 3] >= ex[1]) \
            & (bounds[:, 1] <= ex[3])
        for i in np.flatnonzero(present & ~touching):
            out[i] = _unknown(0.0, self.cell_m, _outside(self))
        for group in self._windows(bounds, np.flatnonzero(touching)):
            self._stats_in_window(geoms, bounds, group, out)
        return out

    def _windows(self, bounds: np.ndarray, idx: np.ndarray) -> list[np.ndarray]:
        """The sites `idx` in groups read together: one group when their window fits, else one per tile."""
        if len(idx) == 0:
            return []
        cell = self.cell_m
        b = bounds[idx]
        whole = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
        if _cells(whole, cell) <= MAX_WINDOW_CELLS:
            return [idx]
        cx = np.floor((b[:, 0] + b[:, 2]) / 2 / WINDOW_TILE_M).astype(np.int64)
        cy = np.floor((b[:, 1] + b[:, 3]) / 2 / WINDOW_TILE_M).astype(np.int64)
        keys = cx * 1_000_003 + cy
        order = np.argsort(keys, kind="stable")
        cuts = np.flatnonzero(np.diff(keys[order])) + 1
        return [idx[part] for part in np.split(order, cuts)]

    def _stats_in_window(self, geoms: np.ndarray, bounds: np.ndarray, group: np.ndarray, out: list[dict]) -> None:
        """Read one window around the sites `group` and fill their statistics."""
        b = bounds[group]
        cell = self.cell_m
        # the whole of the sites, not only the part the DEM covers: the share covered is counted over the site
        window = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
        cells = _cells(window, cell)
        if cells > MAX_WINDOW_CELLS:  # one large site: coarser cells, said in the result
            cell *= math.ceil(math.sqrt(cells / MAX_WINDOW_CELLS))
        margin = WINDOW_MARGIN_CELLS * cell
        grid = Grid.covering((window[0] - margin, window[1] - margin, window[2] + margin, window[3] + margin), cell,
                             MAX_WINDOW_CELLS * 2)
        elevation, slope = self.on_grid(grid)
        known = np.isfinite(elevation) & np.isfinite(slope)
        for i in group:
            geom = geoms[i]
            if shapely.get_type_id(geom) == 0:  # a point: the cell under it
                rows, cols, inside = grid.cell_of(np.array([geom.x]), np.array([geom.y]))
                if not inside[0]:
                    out[i] = _unknown(0.0, cell, _outside(self))
                    continue
                sel = (rows, cols)
            else:
                sel = _cells_of(grid, geom)
            values_ok = known[sel]
            if values_ok.size == 0:
                out[i] = _unknown(0.0, cell, _outside(self))
                continue
            share = float(values_ok.mean())
            if share < 1.0:
                out[i] = _unknown(share, cell, _outside(self) if share == 0 else _text(
                    f"chỉ {share:.0%} địa điểm nằm trong vùng phủ của mô hình độ cao",
                    f"only {share:.0%} of the site lies within the elevation model's coverage"))
                continue
            z, s = elevation[sel].astype(float), slope[sel].astype(float)
            out[i] = {"elevation_min_m": round(float(z.min()), 1), "elevation_max_m": round(float(z.max()), 1),
                      "elevation_range_m": round(float(z.max() - z.min()), 1),
                      "slope_mean_deg": round(float(s.mean()), 2), "slope_max_deg": round(float(s.max()), 2),
                      "slope_mean_pct": round(float(percent(s.mean())), 2),
                      "slope_max_pct": round(float(percent(s.max())), 2),
                      "coverage": 1.0, "cells": int(z.size), "resolution_m": cell, "note": None}


def _unknown(coverage: float, resolution: float, note: dict[str, str]) -> dict:
    """A site's terrain that cannot be given: every value None, with the reason (never zero)."""
    return {"elevation_min_m": None, "elevation_max_m": None, "elevation_range_m": None, "slope_mean_deg": None,
            "slope_max_deg": None, "slope_mean_pct": None, "slope_max_pct": None, "coverage": round(coverage, 3),
            "cells": 0, "resolution_m": resolution, "note": note}


def _outside(terrain: Terrain) -> dict[str, str]:
    said = terrain.statement()
    return _text("địa điểm nằm ngoài vùng phủ của mô hình độ cao. " + said["vi"],
                 "the site lies outside the elevation model's coverage. " + said["en"])


def _cells(box: tuple, cell: float) -> float:
    return max(1.0, (box[2] - box[0]) / cell + 1) * max(1.0, (box[3] - box[1]) / cell + 1)


def _cells_of(grid: Grid, geom: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The (rows, cols) of the cells a line or polygon covers: cells whose centre it holds, or, for a site smaller
    than a cell (or a line), every cell it touches."""
    minx, miny, maxx, maxy = geom.bounds
    r0 = max(0, int(math.floor((grid.north - maxy) / grid.cell)))
    r1 = min(grid.height, int(math.floor((grid.north - miny) / grid.cell)) + 1)
    c0 = max(0, int(math.floor((minx - grid.west) / grid.cell)))
    c1 = min(grid.width, int(math.floor((maxx - grid.west) / grid.cell)) + 1)
    if r1 <= r0 or c1 <= c0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sub = Grid(grid.west + c0 * grid.cell, grid.north - r0 * grid.cell, grid.cell, c1 - c0, r1 - r0, grid.crs)
    burnt = sub.rasterize(np.array([geom]), all_touched=shapely.get_dimensions(geom) < 2)
    if not burnt.any():
        burnt = sub.rasterize(np.array([geom]), all_touched=True)
    rows, cols = np.nonzero(burnt)
    return rows + r0, cols + c0


def _check_elevations(src, name: str) -> None:
    """Refuse (422) a raster that is not an elevation model: several bands, an image type, no data at all, or
    values no elevation in metres takes."""
    if src.count != 1:
        raise Unprocessable(f"{name} has {src.count} bands: an elevation model has one (heights in metres)",
                            f"{name} có {src.count} kênh: mô hình độ cao chỉ có một kênh (độ cao, mét)",
                            code="NotElevation")
    if src.dtypes[0] in IMAGE_DTYPES:
        raise Unprocessable(f"{name} is a {src.dtypes[0]} image, not elevations in metres",
                            f"{name} là ảnh kiểu {src.dtypes[0]}, không phải độ cao (mét)", code="NotElevation")
    scale = max(1.0, max(src.width, src.height) / VALIDATION_SAMPLE_PIXELS)
    sample = src.read(1, masked=True, out_shape=(max(1, round(src.height / scale)), max(1, round(src.width / scale))),
                      resampling=Resampling.nearest)
    values = sample.compressed().astype(float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise Unprocessable(f"{name} holds no elevation at all (every cell is nodata)",
                            f"{name} không có giá trị độ cao nào (toàn bộ là nodata)", code="NotElevation")
    low, high = float(values.min()), float(values.max())
    if low < ELEVATION_RANGE_M[0] or high > ELEVATION_RANGE_M[1]:
        raise Unprocessable(f"{name} holds values from {low:g} to {high:g}: not elevations in metres "
                            f"({ELEVATION_RANGE_M[0]:g} to {ELEVATION_RANGE_M[1]:g}); set its nodata value if "
                            "those are gaps", f"{name} có giá trị từ {low:g} đến {high:g}: không phải độ cao "
                            "(mét); hãy khai báo giá trị nodata nếu đó là vùng trống", code="NotElevation")

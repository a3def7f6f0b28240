"""Analysis grids: a north-up raster in metres (VN-2000 / TM-3 by default) that surfaces are computed on.

Suitability surfaces, distance-to-nearest rasters and terrain all share this frame, so they line up cell for cell
and a result can be written as a GeoTIFF a planner opens in QGIS.  Grids are snapped to multiples of their cell
size, so the same area and cell give the same grid every time (reproducible results).  Everything is numpy over
whole arrays: shapes are burnt in with rasterio, distances come from a Euclidean distance transform.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio import features
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.warp import calculate_default_transform, reproject, transform_bounds
from scipy import ndimage

from geo.crs import METRIC_CRS
from geo.errors import BadRequest, PayloadTooLarge

WEB_MERCATOR = "EPSG:3857"


@dataclass(frozen=True)
class Grid:
    """`width` × `height` square cells of `cell` metres whose north-west corner is (`west`, `north`) in `crs`."""

    west: float
    north: float
    cell: float
    width: int
    height: int
    crs: str = METRIC_CRS

    @classmethod
    def covering(cls, bounds: tuple[float, float, float, float], cell: float, max_cells: int,
                 crs: str = METRIC_CRS) -> Grid:
        """The grid of `cell`-metre cells covering `bounds` (minx, miny, maxx, maxy in `crs`), its edges snapped
        to multiples of `cell`; refused (413) before anything is allocated when it would exceed `max_cells`."""
        if not (cell > 0 and math.isfinite(cell)):
            raise BadRequest(f"the cell size must be a positive number of metres, not {cell}",
                             f"Kích thước ô lưới phải là số mét dương, không phải {cell}")
        minx, miny, maxx, maxy = bounds
        if not all(math.isfinite(v) for v in bounds) or maxx < minx or maxy < miny:
            raise BadRequest("the area to analyse is empty", "Vùng phân tích trống")
        west, south = math.floor(minx / cell) * cell, math.floor(miny / cell) * cell
        east, north = math.ceil(maxx / cell) * cell, math.ceil(maxy / cell) * cell
        width, height = max(1, round((east - west) / cell)), max(1, round((north - south) / cell))
        if width * height > max_cells:
            raise PayloadTooLarge(
                f"{width} × {height} cells of {cell:g} m is more than the {max_cells:,} cells allowed: "
                "choose a smaller area or larger cells",
                f"{width} × {height} ô lưới {cell:g} m vượt quá giới hạn {max_cells:,} ô: "
                "hãy chọn vùng nhỏ hơn hoặc ô lớn hơn")
        return cls(west, north, float(cell), int(width), int(height), crs)

    # -- geometry of the grid -----------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def size(self) -> int:
        return self.width * self.height

    @property
    def transform(self) -> Affine:
        return Affine(self.cell, 0.0, self.west, 0.0, -self.cell, self.north)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.west, self.north - self.height * self.cell, self.west + self.width * self.cell, self.north)

    @property
    def cell_area_m2(self) -> float:
        return self.cell * self.cell

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The x, y of the centres of the cells (`rows`, `cols`)."""
        return self.west + (cols + 0.5) * self.cell, self.north - (rows + 0.5) * self.cell

    def cell_of(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The row and column of the cell holding each point, and whether it lies on the grid at all."""
        cols = np.floor((np.asarray(xs, dtype=float) - self.west) / self.cell).astype(np.int64)
        rows = np.floor((self.north - np.asarray(ys, dtype=float)) / self.cell).astype(np.int64)
        inside = (rows >= 0) & (rows < self.height) & (cols >= 0) & (cols < self.width)
        return rows, cols, inside

    def sample(self, array: np.ndarray, xs: np.ndarray, ys: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """The value of the cell under each point (`fill` off the grid)."""
        rows, cols, inside = self.cell_of(xs, ys)
        out = np.full(len(rows), fill, dtype=float)
        out[inside] = array[rows[inside], cols[inside]]
        return out

    def cell_boxes(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The cells as polygons (for exports and evidence)."""
        x0 = self.west + cols * self.cell
        y1 = self.north - rows * self.cell
        return shapely.box(x0, y1 - self.cell, x0 + self.cell, y1)

    # -- burning shapes in, measuring distances -----------------------------------------------------------------
    def rasterize(self, geoms: np.ndarray, all_touched: bool = False) -> np.ndarray:
        """True where a cell's centre lies in one of `geoms` (in the grid's CRS); with `all_touched`, wherever
        the geometry touches the cell (what points and lines need to leave a mark)."""
        geoms = [g for g in np.asarray(geoms, dtype=object).ravel() if g is not None and not g.is_empty]
        if not geoms:
            return np.zeros(self.shape, dtype=bool)
        burnt = features.rasterize(((g, 1) for g in geoms), out_shape=self.shape, transform=self.transform,
                                   fill=0, all_touched=all_touched, dtype="uint8")
        return burnt.astype(bool)

    def distance_to(self, geoms: np.ndarray, reach: float | None = None) -> np.ndarray:
        """Metres from each cell's centre to the nearest of `geoms` (0 in cells they touch), as float32.

        A Euclidean distance transform of the cells the shapes touch: exact to within half a cell diagonal
        (cell·√2/2).  Shapes off the grid still count when they lie within `reach` metres of it (the grid is
        padded by that much while measuring); farther ones are ignored.  No shape at all: every cell is +inf."""
        pad = 0 if not reach else int(math.ceil(reach / self.cell))
        padded = Grid(self.west - pad * self.cell, self.north + pad * self.cell, self.cell, self.width + 2 * pad,
                      self.height + 2 * pad, self.crs)
        touched = padded.rasterize(geoms, all_touched=True)
        if not touched.any():
            return np.full(self.shape, np.inf, dtype="float32")
        distance = ndimage.distance_transform_edt(~touched, sampling=self.cell).astype("float32")
        return distance[pad:pad + self.height, pad:pad + self.width]

    # -- writing it out -----------------------------------------------------------------------------------------
    def geotiff(self, array: np.ndarray, nodata: float | None = None, description: str | None = None) -> bytes:
        """One band as a compressed GeoTIFF in the grid's CRS (what QGIS opens)."""
        with warnings.catch_warnings(), MemoryFile() as mem:
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with mem.open(driver="GTiff", width=self.width, height=self.height, count=1, dtype=array.dtype,
                          crs=self.crs, transform=self.transform, nodata=nodata, compress="deflate") as dst:
                dst.write(array, 1)
                if description:
                    dst.set_band_description(1, description)
            return mem.read()

    def overlay_png(self, rgba: np.ndarray, max_size: int = 2048) -> tuple[bytes, tuple[float, float, float, float]]:
        """An RGBA image on this grid (4 × height × width, uint8) reprojected to Web Mercator for a web map's
        image overlay: the PNG and its bounds in CRS84 (west, south, east, north)."""
        scale = max(1.0, max(self.width, self.height) / max_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)  # rasterio's own use of Affine `*`
            transform, width, height = calculate_default_transform(
                self.crs, WEB_MERCATOR, self.width, self.height, *self.bounds,
                dst_width=max(1, int(self.width / scale)), dst_height=max(1, int(self.height / scale)))
            out = np.zeros((4, height, width), dtype="uint8")
            for band in range(4):
                reproject(rgba[band], out[band], src_transform=self.transform, src_crs=self.crs,
                          dst_transform=transform, dst_crs=WEB_MERCATOR, resampling=Resampling.nearest,
                          src_nodata=None, dst_nodata=0)
        west, north = transform.c, transform.f
        east, south = west + transform.a * width, north + transform.e * height
        bounds = transform_bounds(WEB_MERCATOR, "OGC:CRS84", west, south, east, north)
        with warnings.catch_warnings(), MemoryFile() as mem:
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a plain PNG: its bounds travel separately
            with mem.open(driver="PNG", width=width, height=height, count=4, dtype="uint8") as dst:
                dst.write(out)
            return mem.read(), tuple(float(v) for v in bounds)


def colour_classes(values: np.ndarray, breaks: list[float], colours: list[str], alpha: int = 170) -> np.ndarray:
    """RGBA (4 × h × w) of `values` classed by `breaks` (class i: breaks[i-1] ≤ v < breaks[i]; len(colours) =
    len(breaks) + 1); NaN cells are transparent."""
    if len(colours) != len(breaks) + 1:
        raise ValueError("one colour per class: len(colours) must be len(breaks) + 1")
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype="uint8")
    finite = np.isfinite(values)
    klass = np.digitize(np.where(finite, values, 0), breaks)
    out = np.zeros((4, *values.shape), dtype="uint8")
    out[:3] = np.moveaxis(rgb[klass], -1, 0)
    out[3] = np.where(finite, alpha, 0)
    return out


def read_window(path: str, grid: Grid, resampling: Resampling = Resampling.bilinear) -> np.ndarray:
    """A raster file's first band warped onto `grid` (float32, NaN where the file has no data or no coverage)."""
    out = np.full(grid.shape, np.nan, dtype="float32")
    with rasterio.open(path) as src, warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        nodata = src.nodata if src.nodata is not None else np.nan
        reproject(rasterio.band(src, 1), out, src_nodata=nodata, dst_transform=grid.transform, dst_crs=grid.crs,
                  dst_nodata=np.nan, resampling=resampling)
    return out

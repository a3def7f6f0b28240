"""Terrain from a digital elevation model: elevation and slope in metres on an analysis grid.

The DEM may be in any CRS (SRTM comes in degrees); it is warped onto the metric grid first, so slopes are
computed from metres on the ground, not from degrees of longitude.  Where the DEM has no data (or does not reach),
elevation and slope are NaN — unknown, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio

from geo.errors import BadRequest
from geo.grid import Grid, read_window


@dataclass(frozen=True)
class Terrain:
    """An elevation model on disk, opened and checked once."""

    path: Path
    crs: str
    bounds: tuple[float, float, float, float]  # in the DEM's own CRS
    resolution: tuple[float, float]  # in the DEM's own units

    @classmethod
    def open(cls, path: Path) -> Terrain:
        """Check that `path` is a georeferenced single-band raster (400 otherwise)."""
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise BadRequest(f"{path.name} has no coordinate reference system",
                                     f"{path.name} không có hệ toạ độ")
                return cls(Path(path), src.crs.to_string(), tuple(src.bounds), tuple(src.res))
        except rasterio.errors.RasterioIOError as exc:
            raise BadRequest(f"{path.name} is not a raster GDAL can read: {exc}",
                             f"{path.name} không phải tệp raster đọc được: {exc}") from None

    def on_grid(self, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
        """Elevation (m) and slope (degrees) of every cell of `grid`, float32, NaN where the DEM has no data."""
        elevation = read_window(str(self.path), grid)
        dz_dy, dz_dx = np.gradient(elevation, grid.cell, grid.cell)
        slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy))).astype("float32")
        return elevation, slope  # np.gradient spreads NaN to the neighbours: the slope at a DEM's edge is unknown

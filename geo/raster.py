"""Raster primitives: a shaded-relief (hillshade) PNG from a digital elevation model.

The PNG is in Web Mercator (EPSG:3857) so that a web map can lay it over its bounds without distortion; its
bounds are given in longitude/latitude (CRS84).  Shadows are black with an alpha channel, so the relief
darkens whatever lies below it and flat ground stays transparent.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

WEB_MERCATOR = "EPSG:3857"


@dataclass(frozen=True)
class Hillshade:
    """A hillshade image: PNG bytes and its bounds (west, south, east, north) in CRS84."""

    png: bytes
    bounds: tuple[float, float, float, float]
    width: int
    height: int


def shade(elevation: np.ndarray, xres: float, yres: float, azimuth: float = 315.0, altitude: float = 45.0,
          z_factor: float = 1.0) -> np.ndarray:
    """Illumination 0..1 of each cell of an elevation grid (cell sizes in the elevation's unit); NaN stays NaN."""
    dz_dy, dz_dx = np.gradient(elevation * z_factor, yres, xres)
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    aspect = np.arctan2(-dz_dx, dz_dy)
    az = np.radians(360.0 - azimuth + 90.0)
    alt = np.radians(altitude)
    lit = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(lit, 0.0, 1.0)


def hillshade_png(dem_path: Path, max_size: int = 1600, strength: float = 0.6,
                  exaggeration: float = 2.5) -> Hillshade:
    """Reproject a DEM to Web Mercator, shade it (heights exaggerated), and encode shadows as a black RGBA PNG."""
    with rasterio.open(dem_path) as src, warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # rasterio's own use of Affine `*`
        scale = max(1.0, max(src.width, src.height) / max_size)
        transform, width, height = calculate_default_transform(
            src.crs, WEB_MERCATOR, src.width, src.height, *src.bounds,
            dst_width=int(src.width / scale), dst_height=int(src.height / scale))
        elevation = np.full((height, width), np.nan, dtype="float32")
        source = src.read(1, out_dtype="float32", masked=True).filled(np.nan)
        reproject(source, elevation, src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
                  dst_transform=transform, dst_crs=WEB_MERCATOR, dst_nodata=np.nan, resampling=Resampling.bilinear)
    west, north = transform.c, transform.f
    east, south = west + transform.a * width, north + transform.e * height
    lon_lat = transform_bounds(WEB_MERCATOR, "OGC:CRS84", west, south, east, north)
    # Mercator metres are longer than ground metres by 1/cos(latitude): scale heights to match.
    z_factor = exaggeration / np.cos(np.radians((lon_lat[1] + lon_lat[3]) / 2))
    valid = np.isfinite(elevation)
    filled = np.where(valid, elevation, np.nanmean(elevation) if valid.any() else 0.0)
    lit = shade(filled, transform.a, -transform.e, z_factor=z_factor)
    flat = np.sin(np.radians(45.0))  # illumination of flat ground
    alpha = np.clip((flat - lit) / flat, 0.0, 1.0) * strength * 255
    rgba = np.zeros((4, height, width), dtype="uint8")
    inside = valid & np.roll(valid, 1, 0) & np.roll(valid, -1, 0) & np.roll(valid, 1, 1) & np.roll(valid, -1, 1)
    rgba[3] = np.where(inside, alpha, 0).astype("uint8")
    with warnings.catch_warnings(), MemoryFile() as mem:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a plain PNG: its bounds travel separately
        with mem.open(driver="PNG", width=width, height=height, count=4, dtype="uint8") as dst:
            dst.write(rgba)
        png = mem.read()
    return Hillshade(png=png, bounds=tuple(float(v) for v in lon_lat), width=width, height=height)

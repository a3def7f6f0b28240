"""The elevation model in force and what the service makes of it: the planner's DEM, the slope layer, its legend.

The DEM in force is the one a planner uploaded to the store (`PUT /terrain/dem`: `<store folder>/terrain/dem.tif`)
when there is one, else the one the service was started with (`planmap serve --dem`, by default the shipped SRTM3
clip that covers only the south-west of the province).  An upload is written next to the DEM in force under a
temporary name, checked with rasterio (a raster, a CRS, one band of heights), and only then renamed over it: a bad
file replaces nothing, and a reader never sees half a file.  Every serving process looks at the file's identity
(inode, size, time) when it asks for the DEM, so all workers pick up an upload at their next request.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import BinaryIO

import numpy as np
import rasterio
import shapely

from geo.errors import NotFound, PayloadTooLarge, Unavailable, Unprocessable
from geo.grid import Grid, colour_classes
from geo.terrain import Terrain
from layers.limits import MAX_GRID_CELLS, MAX_UPLOAD_BYTES

log = logging.getLogger("planmap")

DEM_FOLDER = "terrain"
DEM_FILE = "dem.tif"
COPY_CHUNK_BYTES = 1 << 20
# Slope classes of the map overlay, in percent: ≤ 3 % flat, 3–8 % gentle, 8–15 % moderate (the default policy
# limit for clusters is 15 %), 15–25 % steep, 25–45 % very steep, above 45 % (≈ 24°) too steep to build on.
SLOPE_BREAKS_PCT = [3.0, 8.0, 15.0, 25.0, 45.0]
SLOPE_COLOURS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027"]
SLOPE_LABELS = [("bằng phẳng", "flat"), ("thoải", "gentle"), ("dốc vừa", "moderate"), ("dốc", "steep"),
                ("rất dốc", "very steep"), ("quá dốc", "too steep")]
# The overlay image is at most this many pixels on a side (geo.grid overlay_png): its grid is coarsened to match.
OVERLAY_MAX_PIXELS = 2048


# Where the shipped elevation models come from (a planner's upload names itself: file, who, when).
SHIPPED_SOURCES = {"srtm3_N21E105_tn_clip.tif": "SRTM3 (NASA/USGS, public domain), tile N21E105 clipped to the "
                                                "province: covers only its south-west"}


def open_dem(path: Path) -> Terrain:
    """The service's own elevation model, with its source when it is a shipped one."""
    return Terrain.open(path, source=SHIPPED_SOURCES.get(Path(path).name))


def dem_file(store) -> Path | None:
    """Where an uploaded DEM lives in the store's folder (None without a store)."""
    return None if store is None else Path(store.folder) / DEM_FOLDER / DEM_FILE


class TerrainSource:
    """The DEM in force for one serving process: the store's uploaded one if any, else the service's own."""

    def __init__(self, default: Terrain | None, store=None) -> None:
        self.default = default
        self.path = dem_file(store)
        self._seen: tuple[tuple, Terrain] | None = None
        self._lock = threading.Lock()

    def current(self) -> Terrain | None:
        """The DEM in force now (a stat of the uploaded file per call: microseconds)."""
        if self.path is None:
            return self.default
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self.default
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        seen = self._seen
        if seen is not None and seen[0] == key:
            return seen[1]
        with self._lock:
            try:
                terrain = Terrain.open(self.path)
            except Exception as exc:  # noqa: BLE001 - a damaged store file: keep serving with the service's own
                log.warning("cannot use the uploaded elevation model %s: %s", self.path, exc)
                return self.default
            self._seen = (key, terrain)
            return terrain

    def uploaded(self) -> bool:
        return self.path is not None and self.path.exists()

    def install(self, upload: BinaryIO, filename: str | None, author: str) -> Terrain:
        """A planner's DEM replaces the one in force: copied under a temporary name (at most MAX_UPLOAD_BYTES),
        checked, tagged with who gave it, then renamed over the old one.  Refused (4xx) without changing anything."""
        if self.path is None:
            raise Unavailable("this server has no writable store", "Máy chủ không có kho dữ liệu ghi được")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".upload-{uuid.uuid4().hex}.tif")
        try:
            _copy_bounded(upload, temp)
            Terrain.open(temp)  # 400 not a raster, 422 no CRS / not elevations
            name = Path(filename or "dem.tif").name
            source = f"{name} — {author}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
            try:
                with rasterio.open(temp, "r+") as dst:
                    dst.update_tags(SOURCE=source)
            except rasterio.errors.RasterioIOError:
                pass  # a format GDAL cannot update in place: the file name is its source
            os.replace(temp, self.path)
        finally:
            temp.unlink(missing_ok=True)
        return Terrain.open(self.path)


def _copy_bounded(upload: BinaryIO, target: Path) -> None:
    """Copy an upload to `target`, refusing (413) past MAX_UPLOAD_BYTES (the route's body limit says it first)."""
    written = 0
    with open(target, "wb") as out:
        while chunk := upload.read(COPY_CHUNK_BYTES):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise PayloadTooLarge(f"the elevation model is larger than {MAX_UPLOAD_BYTES:,} bytes",
                                      f"Tệp mô hình độ cao lớn hơn {MAX_UPLOAD_BYTES:,} byte")
            out.write(chunk)
    if written == 0:
        raise Unprocessable("the uploaded file is empty", "Tệp tải lên trống", code="NotARaster")


# ------------------------------------------------------------------------------------------------ what is served
def legend() -> list[dict]:
    """The slope overlay's classes: colour, range in percent and degrees, labels."""
    out = []
    bounds = [0.0, *SLOPE_BREAKS_PCT, None]
    for i, colour in enumerate(SLOPE_COLOURS):
        low, high = bounds[i], bounds[i + 1]
        span = f"{low:g}–{high:g} %" if high is not None else f"> {low:g} %"
        out.append({"colour": colour, "min_pct": low, "max_pct": high, "vi": f"{SLOPE_LABELS[i][0]} ({span})",
                    "en": f"{SLOPE_LABELS[i][1]} ({span})"})
    return out


def describe(terrain: Terrain | None, uploaded: bool) -> dict:
    """GET /terrain: which DEM, its CRS, resolution, bounds, coverage (GeoJSON, CRS84) and what it covers."""
    if terrain is None:
        return {"available": False, "statement": {
            "vi": "Máy chủ không có mô hình độ cao: độ cao và độ dốc là chưa xác định ở mọi nơi.",
            "en": "No elevation model is loaded: elevation and slope are unknown everywhere."}}
    cover = terrain.coverage_crs84
    return {
        "available": True, "dem": terrain.path.name, "source": terrain.source, "uploaded": uploaded,
        "crs": terrain.crs, "resolution": list(terrain.resolution), "resolution_m": terrain.resolution_m,
        "grid_crs": "EPSG:9213", "bounds": list(terrain.bounds), "bounds_crs84": list(terrain.bounds_crs84),
        "coverage": {"type": "Feature", "properties": {"name": "DEM coverage"},
                     "geometry": shapely.geometry.mapping(cover) if not cover.is_empty else None},
        "statement": terrain.statement(),
        "inputs": {"rasters": [terrain.record()]},
        "legend": legend(),
        "links": [{"rel": "elevation", "href": "/terrain/elevation.tif", "type": "image/tiff"},
                  {"rel": "slope", "href": "/terrain/slope.tif", "type": "image/tiff"},
                  {"rel": "overlay", "href": "/terrain/slope.png", "type": "image/png"}],
    }


def surface_grid(terrain: Terrain, cell: float | None, bounds_m: tuple[float, float, float, float] | None) -> Grid:
    """The VN-2000 grid a GeoTIFF is written on: the DEM's own resolution (or `cell` m) over its coverage (or the
    part of `bounds_m` it covers); 413 above MAX_GRID_CELLS, before anything is read."""
    cover = terrain.coverage_metric.bounds
    if bounds_m is not None:
        box = (max(bounds_m[0], cover[0]), max(bounds_m[1], cover[1]), min(bounds_m[2], cover[2]),
               min(bounds_m[3], cover[3]))
        if box[0] >= box[2] or box[1] >= box[3]:
            raise NotFound("the bbox lies outside the elevation model's coverage: terrain there is unknown",
                           "Khung nằm ngoài vùng phủ của mô hình độ cao: địa hình ở đó chưa xác định")
        cover = box
    return Grid.covering(cover, cell or terrain.cell_m, MAX_GRID_CELLS)


def geotiff(terrain: Terrain, what: str, cell: float | None, bounds_m) -> bytes:
    """Elevation (m) or slope (degrees) as a float32 GeoTIFF on the VN-2000 grid, NaN where unknown."""
    grid = surface_grid(terrain, cell, bounds_m)
    elevation, slope = terrain.on_grid(grid)
    array = elevation if what == "elevation" else slope
    description = "elevation (m)" if what == "elevation" else "slope (degrees)"
    return grid.geotiff(array.astype("float32"), nodata=float("nan"), description=description)


_overlays: dict[tuple, tuple[bytes, tuple]] = {}
_overlay_lock = threading.Lock()


def slope_overlay(terrain: Terrain) -> tuple[bytes, tuple[float, float, float, float]]:
    """The slope classes as a PNG for the map (Web Mercator) and its CRS84 bounds, made once per DEM file."""
    st = os.stat(terrain.path)
    key = (str(terrain.path), st.st_ino, st.st_size, st.st_mtime_ns)
    with _overlay_lock:
        found = _overlays.get(key)
        if found is not None:
            return found
        cover = terrain.coverage_metric.bounds
        span = max(cover[2] - cover[0], cover[3] - cover[1])
        cell = max(terrain.cell_m, span / OVERLAY_MAX_PIXELS)
        grid = Grid.covering(cover, cell, MAX_GRID_CELLS)
        _, slope = terrain.on_grid(grid)
        pct = np.tan(np.radians(slope)) * 100.0
        found = grid.overlay_png(colour_classes(pct, SLOPE_BREAKS_PCT, SLOPE_COLOURS), OVERLAY_MAX_PIXELS)
        _overlays.clear()  # one DEM in force at a time: the previous one's image is not needed
        _overlays[key] = found
        return found

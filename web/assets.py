"""Browser assets: the npm packages' files planmap serves (a whitelist) and its own files in web/static.

The npm packages are installed from the committed package-lock.json (`npm ci`, run by `make run`/`make test`)
into node_modules/; nothing is vendored into the repository and the page loads nothing from another host.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO / "node_modules"
STATIC = Path(__file__).resolve().parent / "static"
VENDOR_URL = "/static/vendor/"
STATIC_URL = "/static/"

# Every file of node_modules that may be served, by its path below node_modules/.
VENDOR_FILES = frozenset({
    "leaflet/dist/leaflet.js",
    "leaflet/dist/leaflet.css",
    "leaflet/dist/images/layers.png",
    "leaflet/dist/images/layers-2x.png",
    "leaflet/dist/images/marker-icon.png",
    "leaflet/dist/images/marker-icon-2x.png",
    "leaflet/dist/images/marker-shadow.png",
    "leaflet.markercluster/dist/leaflet.markercluster.js",
    "leaflet.markercluster/dist/MarkerCluster.css",
    "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet.fullscreen/dist/Control.FullScreen.umd.js",
    "leaflet.fullscreen/dist/Control.FullScreen.css",
    "proj4/dist/proj4.js",
    # leaflet-draw: the drawing of the "check a site" tool (issue 4); images are those its CSS names.
    "leaflet-draw/dist/leaflet.draw.js",
    "leaflet-draw/dist/leaflet.draw.css",
    "leaflet-draw/dist/images/spritesheet.png",
    "leaflet-draw/dist/images/spritesheet-2x.png",
    "leaflet-draw/dist/images/spritesheet.svg",
    # protomaps-leaflet: vector tiles (MVT) drawn on canvas — the vector base maps of `planmap serve --basemap`,
    # and layers too large for GeoJSON drawn from planmap's own tiles (issue 13); its UMD build bundles its
    # dependencies and sets window.protomapsL.
    "protomaps-leaflet/dist/protomaps-leaflet.js",
})

MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png",
               ".svg": "image/svg+xml", ".json": "application/json"}


def vendor(path: str) -> str:
    """The URL of a whitelisted npm file."""
    assert path in VENDOR_FILES, path
    return VENDOR_URL + path


def vendor_file(path: str) -> Path | None:
    """The file behind /static/vendor/<path>, if whitelisted and installed."""
    if path not in VENDOR_FILES:
        return None
    file = NODE_MODULES / path
    return file if file.is_file() else None


def _own_files() -> frozenset[str]:
    return frozenset(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*")
                     if p.is_file() and p.suffix in MEDIA_TYPES)


OWN_FILES = _own_files()


def static_file(path: str) -> Path | None:
    """The file behind /static/<path>: one of planmap's own files in web/static."""
    return STATIC / path if path in OWN_FILES else None


def media_type(path: str) -> str:
    return MEDIA_TYPES.get(Path(path).suffix, "application/octet-stream")


def missing_vendor_files() -> list[str]:
    """Whitelisted files not installed (node_modules missing or stale): `npm ci` installs them."""
    return sorted(p for p in VENDOR_FILES if not (NODE_MODULES / p).is_file())

"""The web map: the page itself, its static files (planmap's own and whitelisted npm files) and the relief image."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse, Response

from api.errors import not_found
from layers.store import Dataset
from web import assets
from web.page import MapSettings, render_map_page

router = APIRouter(tags=["Map"], include_in_schema=False)
log = logging.getLogger("planmap")

_VENDOR_CACHE = "public, max-age=604800"  # npm files change only with package-lock.json
_OWN_CACHE = "no-cache"  # revalidated (ETag) so a new planmap version is picked up at once


def _home_bounds(ds: Dataset) -> tuple[float, float, float, float]:
    """The initial view: the province outline, else every layer."""
    province = ds.get("province")
    if province is not None and len(province):
        return province.bounds
    boxes = [layer.bounds for layer in ds if len(layer)]
    if not boxes:
        return (105.3, 21.3, 106.3, 22.7)  # Thái Nguyên
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _csp(osm_tiles: str | None) -> str:
    """Only this service may be reached by the page (plus the optional online tile host)."""
    img = "'self' data:"
    if osm_tiles:
        from urllib.parse import urlsplit

        parts = urlsplit(osm_tiles.replace("{s}", "*"))
        img += f" {parts.scheme}://{parts.netloc}"
    return (f"default-src 'self'; img-src {img}; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'")


def prepare(app) -> None:
    """Render the map page once for this app (called by the app factory)."""
    state = app.state
    hillshade = getattr(state, "hillshade", None)
    osm_tiles = getattr(state, "osm_tiles", None)
    settings = MapSettings(home=_home_bounds(state.dataset), hillshade_bounds=hillshade.bounds if hillshade else None,
                           osm_tiles=osm_tiles)
    state.map_html = render_map_page(settings)
    state.map_csp = _csp(osm_tiles)
    missing = assets.missing_vendor_files()
    if missing:
        log.warning("map assets missing (run `npm ci` or `make assets`): %s", ", ".join(missing))


def map_page(request: Request) -> HTMLResponse:
    """The map page."""
    state = request.app.state
    if getattr(state, "map_html", None) is None:
        prepare(request.app)
    return HTMLResponse(state.map_html, headers={"Content-Security-Policy": state.map_csp,
                                                 "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/map", summary="The planning map")
def get_map(request: Request):
    return map_page(request)


@router.get("/static/hillshade.png", summary="Relief shading of the elevation model")
def get_hillshade(request: Request):
    hillshade = getattr(request.app.state, "hillshade", None)
    if hillshade is None:
        raise not_found("no elevation model is configured", "Không có mô hình độ cao")
    return Response(hillshade.png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


def _file(path, name: str, cache: str) -> FileResponse:
    return FileResponse(path, media_type=assets.media_type(name),
                        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


@router.get("/static/vendor/{name:path}", summary="Browser libraries installed from npm")
def get_vendor_file(name: str):
    path = assets.vendor_file(name)
    if path is None:
        raise not_found(f"no such file {name!r}", f"Không có tệp {name!r}")
    return _file(path, name, _VENDOR_CACHE)


@router.get("/static/{name:path}", summary="planmap's own scripts and styles")
def get_static_file(name: str):
    path = assets.static_file(name)
    if path is None:
        raise not_found(f"no such file {name!r}", f"Không có tệp {name!r}")
    return _file(path, name, _OWN_CACHE)

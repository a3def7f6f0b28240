"""The web map: the page itself, its static files (planmap's own and whitelisted npm files), the relief image and
the page's sign-in check.  These are the page's resources, not the API: they are left out of /api."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse, Response

from api.deps import principal_of
from geo.errors import NotFound, Unauthorized
from layers.access import ANONYMOUS
from layers.admin import province_outline
from layers.dataset import Dataset
from web import assets

router = APIRouter(tags=["Map"], include_in_schema=False)
log = logging.getLogger("planmap")

_VENDOR_CACHE = "public, max-age=604800"  # npm files change only with package-lock.json
_OWN_CACHE = "no-cache"  # revalidated (ETag) so a new planmap version is picked up at once
THAI_NGUYEN = (105.3, 21.3, 106.3, 22.7)  # the initial view when there is nothing to frame


def home_bounds(ds: Dataset) -> tuple[float, float, float, float]:
    """The initial view: the province outline in force, else every layer."""
    outline = province_outline(ds)
    if outline is not None and not outline.is_empty:
        return tuple(float(v) for v in outline.bounds)
    boxes = [layer.bounds for layer in ds if len(layer)]
    if not boxes:
        return THAI_NGUYEN
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _csp(osm_tiles: str | None) -> str:
    """Only this service may be reached by the page (plus the optional online tile host)."""
    img = "'self' data:"
    if osm_tiles:
        parts = urlsplit(osm_tiles.replace("{s}", "*"))
        img += f" {parts.scheme}://{parts.netloc}"
    return (f"default-src 'self'; img-src {img}; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'")


def check_assets() -> None:
    """Say at start-up, not at the first visit, when the map's npm files are missing."""
    missing = assets.missing_vendor_files()
    if missing:
        log.warning("map assets missing (run `npm ci` or `make assets`): %s", ", ".join(missing))


def prepare(app) -> None:
    """Render the map page once for this app (at its first visit: folium is not needed to start serving)."""
    from web.page import MapSettings, render_map_page

    state = app.state
    hillshade = getattr(state, "hillshade", None)
    osm_tiles = getattr(state, "osm_tiles", None)
    basemaps = tuple({**b.describe(), "url": f"basemaps/{b.id}/{{z}}/{{x}}/{{y}}"}
                     for b in getattr(state, "basemaps", ()))
    settings = MapSettings(home=home_bounds(state.dataset), hillshade_bounds=hillshade.bounds if hillshade else None,
                           osm_tiles=osm_tiles, basemaps=basemaps)
    state.map_html = render_map_page(settings)
    state.map_csp = _csp(osm_tiles)


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
        raise NotFound("no elevation model is configured", "Không có mô hình độ cao")
    return Response(hillshade.png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


def _whitelisted(path, name: str, cache: str) -> FileResponse:
    """A file the asset whitelist found, or 404 (no listing, no path tricks)."""
    if path is None:
        raise NotFound(f"no such file {name!r}", f"Không có tệp {name!r}")
    return FileResponse(path, media_type=assets.media_type(name),
                        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


@router.get("/static/vendor/{name:path}", summary="Browser libraries installed from npm")
def get_vendor_file(name: str):
    return _whitelisted(assets.vendor_file(name), name, _VENDOR_CACHE)


@router.get("/static/{name:path}", summary="planmap's own scripts and styles")
def get_static_file(name: str):
    return _whitelisted(assets.static_file(name), name, _OWN_CACHE)


@router.get("/map/session", summary="Who the page's token belongs to (the map's sign-in)")
def get_session(request: Request):
    """Always 200, so a mistyped, expired or disabled token is reported in the page (`reason`, in both languages)
    rather than as a failed request."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    try:
        if not header:
            who = ANONYMOUS
        elif scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use an `Authorization: Bearer <token>` header", "Cần tiêu đề Authorization: Bearer")
        else:
            who = principal_of(request, token.strip())
    except Unauthorized as refused:
        body = {"valid": False, "name": None, "role": "anonymous",
                "reason": {"code": refused.code, "vi": refused.vi, "en": refused.en}}
    else:
        anonymous = who.role == "anonymous"
        body = {"valid": not anonymous, "name": None if anonymous else who.name, "role": who.role}
    return Response(orjson.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"})

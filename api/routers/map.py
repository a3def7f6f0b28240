"""The web map: the page itself, its static files (planmap's own and whitelisted npm files) and the relief image."""

from __future__ import annotations

import logging

import numpy as np
import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import FileResponse, HTMLResponse, Response

from api import ogc
from api.deps import principal, workspace
from api.errors import ApiError, bad_request, not_found
from api.params import validate_params
from geo.crs import CRS84
from layers.access import ANONYMOUS
from layers.dataset import Dataset
from layers.query import encode_rows
from web import assets
from web.offline import offline_map_zip
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


def _whitelisted(path, name: str, cache: str) -> FileResponse:
    """A file the asset whitelist found, or 404 (no listing, no path tricks)."""
    if path is None:
        raise not_found(f"no such file {name!r}", f"Không có tệp {name!r}")
    return _file(path, name, cache)


@router.get("/static/vendor/{name:path}", summary="Browser libraries installed from npm")
def get_vendor_file(name: str):
    return _whitelisted(assets.vendor_file(name), name, _VENDOR_CACHE)


@router.get("/static/{name:path}", summary="planmap's own scripts and styles")
def get_static_file(name: str):
    return _whitelisted(assets.static_file(name), name, _OWN_CACHE)


@router.get("/map/session", summary="Who the page's token belongs to (the map's sign-in)")
def get_session(request: Request):
    """Always 200, so a mistyped token is reported in the page rather than as a failed request."""
    try:
        who = principal(request)
    except ApiError:
        return Response(orjson.dumps({"valid": False, "name": None, "role": "anonymous"}),
                        media_type="application/json", headers={"Cache-Control": "no-store"})
    body = {"valid": who.role != "anonymous", "name": who.name if who.role != "anonymous" else None, "role": who.role}
    return Response(orjson.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"})


OFFLINE_META = ("id", "title", "titles", "group", "groupTitle", "geometryType", "numberOfFeatures", "accuracy",
                "attribution", "license")


class OfflineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collections: str
    lang: str = "vi"


@router.get("/exports/offline-map", summary="A standalone offline copy of the web map (zip)")
def get_offline_map(request: Request):
    """index.html + assets + the chosen public layers' data, opening from disk with no server and no internet."""
    params = validate_params(OfflineParams, request)
    wanted = list(dict.fromkeys(c.strip() for c in params.collections.split(",") if c.strip()))
    if not wanted:
        raise bad_request("collections: name at least one collection", "Hãy chọn ít nhất một lớp")
    everything = workspace(request).view(principal(request))
    public = workspace(request).view(ANONYMOUS)  # the copy leaves the building: public layers only
    unknown = [c for c in wanted if everything.get(c) is None]
    if unknown:
        raise not_found(f"no such collection: {', '.join(unknown)}", f"Không có lớp: {', '.join(unknown)}")
    chosen = [c for c in wanted if public.get(c) is not None]
    skipped = [c for c in wanted if c not in chosen]
    if not chosen:
        raise bad_request("only internal layers were chosen; the offline copy holds public layers only",
                          "Chỉ chọn lớp nội bộ; bản ngoại tuyến chỉ gồm các lớp công khai")
    docs, features = [], {}
    for cid in chosen:
        layer = public.get(cid)
        doc = ogc.collection_doc(layer, "", params.lang)
        docs.append({k: doc[k] for k in OFFLINE_META if k in doc})  # what the page uses; no links, no CRS URIs
        body = encode_rows(layer, np.arange(len(layer)), CRS84)
        features[cid] = b'{"type":"FeatureCollection","features":[' + body + b"]}"
    hillshade = getattr(request.app.state, "hillshade", None)
    settings = MapSettings(home=_home_bounds(public), hillshade_bounds=hillshade.bounds if hillshade else None)
    data = offline_map_zip(settings, docs, features, hillshade.png if hillshade else None, skipped)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="planmap-offline.zip"'})

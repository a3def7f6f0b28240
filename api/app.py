"""The application factory: one FastAPI app over one loaded Dataset."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from api.errors import install_handlers
from api.routers import (
    checks,
    collections,
    edits,
    exports,
    imports,
    items,
    landing,
    map,
    openapi,
    proposals,
    search,
    users,
)
from layers.dataset import Dataset
from layers.revisions import Store
from layers.rules import RuleBook
from layers.workspace import Workspace

log = logging.getLogger("planmap")


def create_app(dataset: Dataset, rules: RuleBook | None = None, dem_path: Path | None = None,
               osm_tiles: str | None = None, store: Store | None = None, admin_token: str | None = None) -> FastAPI:
    """A planmap service for `dataset`. FastAPI's own OpenAPI 3.1 is off: /api serves the OGC 3.0 definition.

    `dem_path`: an elevation model whose relief shading is the map's offline background (optional).
    `osm_tiles`: an online tile URL template offered as an optional map background (off by default: offline).
    `store`: the writable store of revisions, users and layer settings (None: a read-only service).
    `admin_token`: a secret that acts as the admin (PLANMAP_ADMIN_TOKEN), to administer a fresh deployment.
    """
    app = FastAPI(title="planmap", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.dataset = dataset
    app.state.extra_openapi_paths = dict(checks.OPENAPI_PATHS) | exports.OPENAPI_PATHS | search.OPENAPI_PATH
    app.state.workspace = Workspace(dataset, store, rules)
    app.state.admin_token = admin_token or None
    app.state.hillshade = _hillshade(dem_path)
    app.state.osm_tiles = osm_tiles
    install_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=4096, compresslevel=5)
    for module in (landing, collections, items, edits, imports, openapi, checks, proposals, exports, users, search,
                   map):
        app.include_router(module.router)
    map.prepare(app)
    return app


def _hillshade(dem_path: Path | None):
    """The relief shading of the elevation model, computed once; None when there is none or it is unreadable."""
    if dem_path is None:
        return None
    from geo.raster import hillshade_png

    try:
        return hillshade_png(dem_path)
    except Exception as exc:  # noqa: BLE001 - the map works without relief; say why it is missing
        log.warning("no relief shading from %s: %s", dem_path, exc)
        return None

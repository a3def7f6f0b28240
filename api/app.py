"""The application factory: one FastAPI app over one loaded Dataset.

The path of a request: uvicorn → the body-size limit of its route (streamed, chunked uploads too) → GZip →
FastAPI resolves the route's dependencies (the caller from the bearer token, the layers they may see, the
collection named in the path, validated query/body models) → the thin route function calls a plain function of
`layers/` (or `web/` for renders), heavy work in a lane of the work pool → bytes back; any PlanmapError on the
way becomes one JSON problem document (api/errors.py).
"""

from __future__ import annotations

import logging
import pickle
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from api.deps import no_repeated_parameters
from api.errors import PlainErrorsAsProblems, install_handlers
from api.fastpath import FastReads
from api.responses import GZIP_MINIMUM_BYTES
from api.routers import (
    analysis,
    basemaps,
    checks,
    collections,
    edits,
    exports,
    imports,
    indicators,
    items,
    landing,
    map,
    openapi,
    proposals,
    reports,
    search,
    styles,
    suggestions,
    supervision,
    terrain,
    tiles,
    users,
)
from api.work import LaneSize, WorkPools
from geo.basemaps import Basemaps
from geo.terrain import Terrain
from layers.dataset import Dataset
from layers.indicators import IndicatorBook
from layers.limits import MAX_BODY_BYTES
from layers.prepared import PreparedCache
from layers.revisions import RevisionStore
from layers.rules import RuleBook
from layers.scratch import clear_stale, scratch_root
from layers.terrain import open_dem
from layers.tiles import TileCache
from layers.workspace import Workspace

log = logging.getLogger("planmap")
ROUTERS = (landing, collections, items, edits, imports, openapi, checks, proposals, exports, users, search, map,
           styles, basemaps, tiles, terrain, analysis, suggestions, indicators, supervision, reports)


def create_app(dataset: Dataset, rules: RuleBook | None = None, dem_path: Path | None = None,
               osm_tiles: str | None = None, store: RevisionStore | None = None, admin_token: str | None = None,
               lanes: dict[str, LaneSize] | None = None, cache: PreparedCache | None = None,
               fast_reads: bool = True, basemaps: Basemaps | None = None,
               indicators: IndicatorBook | None = None) -> FastAPI:
    """A planmap service for `dataset`.  /api serves the generated OGC (OpenAPI 3.0) definition.

    `dem_path`: an elevation model (GeoTIFF, any CRS) whose relief shading is the map's offline background and on
    which checks measure a site's elevation and slope (optional; a planner's upload to the store replaces it).
    `osm_tiles`: an online tile URL template offered as an optional map background (off by default: offline).
    `store`: the writable store of revisions, users and layer settings (None: a read-only service).
    `admin_token`: a secret that acts as the admin (PLANMAP_ADMIN_TOKEN), to administer a fresh deployment.
    `lanes`: sizes of the work pool's lanes (api/work.py), e.g. for tests.
    `cache`: prepared layers on disk (layers/prepared.py), where whole-layer revisions are prepared once.
    `fast_reads`: answer anonymous item reads outside FastAPI's routing (api/fastpath.py; off only to compare).
    `basemaps`: the office's own background files (MBTiles, PMTiles, GeoTIFF) the map can switch to, opened
    with geo.basemaps.open_basemaps.
    `indicators`: the plans' indicators (layers/indicators.py `load_indicators`) GET /indicators computes.
    """
    work = WorkPools(lanes)
    if store is not None:  # what a killed import left behind (layers/scratch.py)
        removed = clear_stale(scratch_root(store.folder))
        if removed:
            log.info("removed %d stale scratch folder(s) of the store: %s", len(removed), ", ".join(removed))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        workspace = app.state.workspace
        workspace.start_watching()  # in each serving process (after fork), never in the parent of the workers
        yield
        workspace.stop_watching()
        work.shutdown()

    app = FastAPI(title="planmap", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan,
                  dependencies=[Depends(no_repeated_parameters)])
    app.state.dataset = dataset
    app.state.workspace = Workspace(dataset, store, rules, cache, terrain=open_terrain(dem_path))
    app.state.work = work
    app.state.admin_token = admin_token or None
    app.state.hillshade = _hillshade(dem_path, cache)
    app.state.osm_tiles = osm_tiles
    app.state.basemaps = basemaps if basemaps is not None else Basemaps()
    app.state.indicators = indicators
    app.state.tiles = TileCache()  # vector tiles built, per layer revision (layers/tiles.py)
    install_handlers(app)
    # the body limit counts while the body streams in (chunked uploads too); a route may set its own limit
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY_BYTES)
    app.add_middleware(PlainErrorsAsProblems)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=5)
    if fast_reads:
        app.add_middleware(FastReads)
    for module in ROUTERS:
        app.include_router(module.router)
    map.check_assets()
    return app


def open_terrain(dem_path: Path | None) -> Terrain | None:
    """The service's elevation model for checks and the terrain layer; None (terrain unknown) when there is none
    or it cannot be used, with the reason logged."""
    if dem_path is None:
        return None
    try:
        return open_dem(dem_path)
    except Exception as exc:  # noqa: BLE001 - the service runs without terrain; say why it is missing
        log.warning("no terrain from %s: %s", dem_path, exc)
        return None


def _hillshade(dem_path: Path | None, cache: PreparedCache | None = None):
    """The relief shading of the elevation model, computed once (and kept in the cache across restarts); None
    when there is none or it is unreadable."""
    if dem_path is None:
        return None
    from geo.raster import hillshade_png

    try:
        if cache is not None:
            stat = dem_path.stat()
            key = cache.key("hillshade", dem_path.resolve(), stat.st_size, stat.st_mtime_ns)
            return pickle.loads(cache.file(f"{key}.hillshade.pickle",  # noqa: S301 - our own cache
                                           lambda: pickle.dumps(hillshade_png(dem_path))))
        return hillshade_png(dem_path)
    except Exception as exc:  # noqa: BLE001 - the map works without relief; say why it is missing
        log.warning("no relief shading from %s: %s", dem_path, exc)
        return None

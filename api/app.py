"""The application factory: one FastAPI app over one loaded Dataset."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from api.errors import install_handlers
from api.routers import collections, items, landing, openapi
from layers.store import Dataset


def create_app(dataset: Dataset) -> FastAPI:
    """A planmap service for `dataset`. FastAPI's own OpenAPI 3.1 is off: /api serves the OGC 3.0 definition."""
    app = FastAPI(title="planmap", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.dataset = dataset
    app.state.extra_openapi_paths = {}
    install_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=4096, compresslevel=5)
    for module in (landing, collections, items, openapi):
        app.include_router(module.router)
    return app

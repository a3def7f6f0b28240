"""The application factory: one FastAPI app over one loaded Dataset."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from api.errors import install_handlers
from api.routers import checks, collections, items, landing, openapi
from layers.checks import CheckEngine
from layers.rules import RuleBook
from layers.store import Dataset


def create_app(dataset: Dataset, rules: RuleBook | None = None) -> FastAPI:
    """A planmap service for `dataset`. FastAPI's own OpenAPI 3.1 is off: /api serves the OGC 3.0 definition."""
    app = FastAPI(title="planmap", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.dataset = dataset
    app.state.extra_openapi_paths = dict(checks.OPENAPI_PATHS)
    app.state.engine = CheckEngine(dataset, rules) if rules is not None else None
    install_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=4096, compresslevel=5)
    for module in (landing, collections, items, openapi, checks):
        app.include_router(module.router)
    return app

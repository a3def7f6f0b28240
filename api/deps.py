"""Shared request helpers: the served dataset and the service's base URL."""

from __future__ import annotations

from fastapi import Request

from layers.store import Dataset


def dataset(request: Request) -> Dataset:
    return request.app.state.dataset


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def json_response(body: bytes, media_type: str = "application/json", headers: dict | None = None):
    from starlette.responses import Response

    return Response(body, media_type=media_type, headers=headers)

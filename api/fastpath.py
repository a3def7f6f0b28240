"""The short way through for the reads GIS clients repeat most: an anonymous GET of a page of items or of one item.

Answering those through FastAPI costs more than the answer itself — route matching, a dozen dependencies, the
middleware stack, a Response object — about 0.5 ms per request, while a page of 500 prepared features is joined
in 0.1 ms.  This ASGI layer sits outside the app and answers such a request with the very functions the routes
call (the same parameter models, `ogc.items_page`, `ogc.feature`, ETags), in one job on a worker thread.
Anything else — a token, a client that accepts gzip, HTML, a request body, a repeated parameter, any error —
takes the full way, which gives the same answer or the problem document.  tests/test_fastpath.py holds the
two ways to the same bytes.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError
from starlette.requests import Request

from api import ogc
from api.params import ItemParams, ItemsParams, crs_param, negotiate
from api.responses import GEOJSON, GZIP_MINIMUM_BYTES
from geo.errors import PlanmapError
from layers import features
from layers.limits import MAX_QUERY_STRING_BYTES

ITEMS_PATH = re.compile(r"^/collections/([^/]+)/items(?:/([^/]+))?$")
PREFIX = "/collections/"
# Threads answering the short way: a read takes well under a millisecond of CPU, so a few threads keep both cores
# busy, and one read waiting on a page of a memory-mapped file from disk does not hold up the others.
READ_THREADS = 8


class FastReads:
    """ASGI middleware: anonymous item reads answered directly; every other request passed to `app`."""

    def __init__(self, app) -> None:
        self.app = app
        # a plain executor, not anyio's thread limiter: the hop there and back costs ~0.1 ms less per request
        # (a trivial ASGI answer: 4,000-4,500 req/s at one connection against 3,400-3,800).  Its threads start
        # at the first read, so in each worker after the fork.
        self.pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="planmap-reads")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        answer = await asyncio.get_running_loop().run_in_executor(self.pool, answer_read, scope)
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def answer_read(scope: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
    """(status, headers, body) of an anonymous item read, or None when the full way must answer it."""
    found = ITEMS_PATH.match(scope["path"])
    if found is None:
        return None
    if len(scope.get("query_string", b"")) > MAX_QUERY_STRING_BYTES:  # the full way refuses it (414)
        return None
    headers = {k.lower(): v for k, v in scope["headers"]}
    if b"authorization" in headers or b"gzip" in headers.get(b"accept-encoding", b"") \
            or b"content-length" in headers or b"transfer-encoding" in headers:
        return None
    request = Request(scope)
    pairs = request.query_params.multi_items()
    query = dict(pairs)
    if len(query) != len(pairs):  # a repeated parameter: refused by the full way
        return None
    workspace = scope["app"].state.workspace
    if workspace.behind():  # another worker of this host committed: catch up first, as api/deps.py does
        workspace.catch_up()
    elif workspace.refresh_due():
        workspace.refresh(wait=False)
    layer = workspace.snapshot(False).get(found.group(1))
    if layer is None:
        return None
    base = str(request.base_url).rstrip("/")
    try:
        if found.group(2) is None:
            params = ItemsParams.model_validate(query)
            if negotiate(request, params.f) == "html":
                return None
            body, crs, _ = ogc.items_page(layer, params, base)
            return 200, _headers(body, crs.header), body
        params = ItemParams.model_validate(query)
        if negotiate(request, params.f) == "html":
            return None
        crs = crs_param(params.crs)
        fid = found.group(2)
        body = ogc.feature(layer, fid, crs, base)
        tag = features.etag(layer, layer.row_of(int(fid)))
        if tag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
            return 304, [(b"etag", tag.encode())], b""
        return 200, _headers(body, crs.header, (b"etag", tag.encode())), body
    except (PlanmapError, ValidationError, ValueError):
        return None


def _headers(body: bytes, content_crs: str, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    """The headers the full way gives the same answer (its GZip middleware marks bodies it could compress)."""
    vary = [(b"vary", b"Accept-Encoding")] if len(body) >= GZIP_MINIMUM_BYTES else []
    return [(b"content-length", str(len(body)).encode()), (b"content-type", GEOJSON.encode()),
            (b"content-crs", content_crs.encode()), *extra, *vary]

"""Every kind of work has a bound, checked through a real server: body sizes while the body streams in, vertices
before a geometry is built, and the batch command's file.

Bodies are sent over raw sockets (with a Content-Length, and chunked without one) the way a hostile or broken
client would: the server must answer 413 with a problem document early, stop reading (close the connection), and
not grow its memory.  The import route's 200 MB limit is lowered for this server through PLANMAP_MAX_UPLOAD_BYTES
(an operator's setting), so a chunked body over it costs a few MB, not 200.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from layers.limits import (
    FORM_OVERHEAD_BYTES,
    MAX_CHECK_VERTICES_ANONYMOUS,
    MAX_CHECK_VERTICES_PLANNER,
    MAX_FEATURE_BYTES,
    MAX_FEATURE_VERTICES,
    MAX_PROPOSAL_BYTES,
)
from tests.conftest import REPO, ServedProcess, new_planner, served_with_store

ADMIN = "bounds-admin-token-0123456789abcdef"
UPLOAD_LIMIT = 3_000_000  # this server's import limit (PLANMAP_MAX_UPLOAD_BYTES)
HOSTILE_BYTES = 60_000_000  # what a hostile client means to send
SOCKET_SLACK = 16_000_000  # what loopback socket buffers may swallow after the server stopped reading
RSS_GROWTH_MAX_MB = 30  # the server's resident memory may not grow by more while a hostile body arrives
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def bounded(tmp_path_factory) -> ServedProcess:
    with served_with_store(tmp_path_factory.mktemp("bounds-store"), ADMIN,
                           PLANMAP_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT)) as served:
        yield served


@pytest.fixture(scope="module")
def planner(bounded) -> dict:
    return {"Authorization": f"Bearer {new_planner(bounded.url, ADMIN, 'bounds')}"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@dataclass
class Outcome:
    status: int
    headers: dict[str, str]
    problem: dict
    sent: int
    closed: bool  # the server closed the connection before the client could send everything
    rss_growth_mb: float


def send_hostile_body(server: ServedProcess, method: str, path: str, headers: dict[str, str], *, chunked: bool,
                      prefix: bytes = b"", total: int = HOSTILE_BYTES) -> Outcome:
    """Send `prefix` and filler up to `total` bytes as a client that does not stop by itself, reading whatever the
    server answers while sending; sample the server's RSS as the body goes out."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()),
            "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"]
    baseline = rss_mb(server.proc.pid)
    peak = baseline
    sent, closed, answer = 0, False, b""
    filler = b"0" * CHUNK
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        while sent < total:
            piece = (prefix if sent == 0 and prefix else filler)[: total - sent]
            try:
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
            except OSError:  # the server closed the connection: it reads no more
                closed = True
                break
            sent += len(piece)
            peak = max(peak, rss_mb(server.proc.pid))
            if select.select([sock], [], [], 0)[0]:
                try:
                    data = sock.recv(1 << 16)
                except OSError:
                    closed = True
                    break
                if not data:
                    closed = True
                    break
                answer += data
        sock.settimeout(5)
        try:
            while data := sock.recv(1 << 16):
                answer += data
        except OSError:
            pass
    peak = max(peak, rss_mb(server.proc.pid))
    head_text, _, body = answer.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return Outcome(int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()},
                   json.loads(body) if body else {}, sent, closed, peak - baseline)


ROUTES = [  # (method, path, content type, this route's body limit, needs a planner)
    ("POST", "/checks", "application/json", MAX_PROPOSAL_BYTES, False),
    ("POST", "/collections/fuel_stations/items", "application/geo+json", MAX_FEATURE_BYTES, True),
    ("PUT", "/collections/fuel_stations/items/1", "application/geo+json", MAX_FEATURE_BYTES, True),
    ("POST", "/collections/uploaded/imports", "multipart/form-data; boundary=planmapbound",
     UPLOAD_LIMIT + FORM_OVERHEAD_BYTES, True),
]
MULTIPART_HEAD = (b'--planmapbound\r\nContent-Disposition: form-data; name="file"; filename="big.geojson"\r\n'
                  b"Content-Type: application/geo+json\r\n\r\n")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("method", "path", "content_type", "limit", "signed_in"), ROUTES,
                         ids=[f"{m} {p}" for m, p, *_ in ROUTES])
def test_a_hostile_body_is_refused_early_and_not_read(bounded, planner, method, path, content_type, limit,
                                                      signed_in, chunked):
    headers = {"Content-Type": content_type, **(planner if signed_in else {})}
    prefix = MULTIPART_HEAD if content_type.startswith("multipart") else b""
    started = time.monotonic()
    out = send_hostile_body(bounded, method, path, headers, chunked=chunked, prefix=prefix)
    assert out.status == 413, out
    assert out.problem["code"] == "PayloadTooLarge" and out.problem["limit_bytes"] == limit
    assert f"{limit:,}" in out.problem["detail"] and f"{limit:,}".replace(",", ".") in out.problem["detail_vi"]
    assert out.headers["connection"] == "close"
    # the server stopped reading: the client could not send the body, beyond what socket buffers hold
    assert out.closed and out.sent <= limit + SOCKET_SLACK, out
    assert out.rss_growth_mb < RSS_GROWTH_MAX_MB, out
    assert time.monotonic() - started < 10
    assert httpx.get(f"{bounded.url}/conformance").status_code == 200  # and it serves on


def test_an_import_under_the_lowered_limit_goes_through(bounded, planner):
    """The override lowers the limit only: a file under it is imported as usual."""
    features = [{"type": "Feature", "properties": {"name": f"Điểm {i}"},
                 "geometry": {"type": "Point", "coordinates": [105.8 + i / 1000, 21.6]}} for i in range(20)]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    resp = httpx.post(f"{bounded.url}/collections/small_upload/imports", headers=planner, timeout=60,
                      files={"file": ("small.geojson", body, "application/geo+json")})
    assert resp.status_code == 201, resp.text
    items = httpx.get(f"{bounded.url}/collections/small_upload/items", params={"limit": 1}, headers=planner)
    assert items.json()["numberMatched"] == 20


# ------------------------------------------------------------------------------------------------- vertices
def wavy_cluster(positions: int) -> dict:
    """An industrial cluster over Thái Nguyên city whose outline has exactly `positions` positions."""
    t = np.linspace(0, 2 * np.pi, positions - 1, endpoint=False)
    r = 0.03 * (1 + 0.05 * np.sin(40 * t))
    ring = np.column_stack([105.84 + r * np.cos(t) / np.cos(np.radians(21.59)), 21.59 + r * np.sin(t)])
    ring = np.vstack([ring, ring[:1]]).round(6).tolist()
    return {"type": "Feature", "properties": {"kind": "industrial_cluster", "name": "CCN nhiều đỉnh"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def degenerate(positions: int, kind: str = "no_such_kind") -> bytes:
    """A compact body with `positions` identical positions: an unknown kind and a ring that is no polygon, so any
    work done on it before the vertex count would be refused differently (422)."""
    ring = b"[" + b",".join([b"[105.8,21.6]"] * positions) + b"]"
    return (b'{"type":"Feature","properties":{"kind":"' + kind.encode() + b'"},'
            b'"geometry":{"type":"Polygon","coordinates":[' + ring + b"]}}")


def assert_too_many_vertices(resp: httpx.Response, count: int, limit: int) -> None:
    assert resp.status_code == 413, resp.text
    problem = resp.json()
    assert resp.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "TooManyVertices" and problem["limit"] == limit and problem["vertices"] == count
    assert f"{limit:,}" in problem["detail"] and f"{limit:,}".replace(",", ".") in problem["detail_vi"]


def test_anonymous_checks_are_bounded_below_planners(bounded, planner):
    at_limit = wavy_cluster(MAX_CHECK_VERTICES_ANONYMOUS)
    over = wavy_cluster(MAX_CHECK_VERTICES_ANONYMOUS + 1)
    with httpx.Client(base_url=bounded.url, timeout=120) as client:
        resp = client.post("/checks", json=at_limit)
        assert resp.status_code == 200, resp.text
        assert resp.json()["kind"] == "industrial_cluster"
        assert_too_many_vertices(client.post("/checks", json=over), MAX_CHECK_VERTICES_ANONYMOUS + 1,
                                 MAX_CHECK_VERTICES_ANONYMOUS)
        resp = client.post("/checks", json=over, headers=planner)  # a planner may check a larger outline
        assert resp.status_code == 200, resp.text


def test_the_vertex_count_comes_before_any_work(bounded, planner):
    n = MAX_CHECK_VERTICES_PLANNER + 1
    with httpx.Client(base_url=bounded.url, timeout=60, headers={"Content-Type": "application/json"}) as client:
        assert_too_many_vertices(client.post("/checks", content=degenerate(n), headers=planner), n,
                                 MAX_CHECK_VERTICES_PLANNER)
        assert_too_many_vertices(client.post("/proposals", content=degenerate(n), headers=planner), n,
                                 MAX_CHECK_VERTICES_PLANNER)
        n = MAX_CHECK_VERTICES_ANONYMOUS + 1
        assert_too_many_vertices(client.post("/checks", content=degenerate(n)), n, MAX_CHECK_VERTICES_ANONYMOUS)
        # under the limit, the same body is read, and refused for what it is
        assert client.post("/checks", content=degenerate(100)).status_code == 422


def test_feature_writes_are_bounded_and_change_nothing(bounded, planner):
    n = MAX_FEATURE_VERTICES + 1
    items = f"{bounded.url}/collections/mineral_areas/items"
    before = httpx.get(items, params={"limit": 1}).json()["numberMatched"]
    body = degenerate(n).replace(b'"kind":"no_such_kind"', '"name":"Vùng khổng lồ"'.encode())
    headers = {**planner, "Content-Type": "application/geo+json"}
    assert_too_many_vertices(httpx.post(items, content=body, headers=headers, timeout=60), n, MAX_FEATURE_VERTICES)
    assert_too_many_vertices(httpx.put(f"{items}/1", content=body, headers=headers, timeout=60), n,
                             MAX_FEATURE_VERTICES)
    assert httpx.get(items, params={"limit": 1}).json()["numberMatched"] == before
    assert httpx.get(f"{bounded.url}/collections/mineral_areas/revisions", headers=planner).json()["revisions"] == []


def test_a_batch_file_with_a_proposal_over_the_limit_is_refused(tmp_path):
    rows = [wavy_cluster(50), wavy_cluster(MAX_CHECK_VERTICES_PLANNER + 1)]
    path = tmp_path / "proposals.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": rows}))
    result = subprocess.run([sys.executable, "-m", "api.cli", "check", str(path), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 1, result.stderr
    assert f"row 2 has {MAX_CHECK_VERTICES_PLANNER + 1:,} vertices" in result.stderr
    assert f"{MAX_CHECK_VERTICES_PLANNER:,}".replace(",", ".") in result.stderr  # the Vietnamese line
    assert not (tmp_path / "out.gpkg").exists()

"""Access control, revisions, Part 4 edits, the proposals register, and nothing lost when a process dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import DATA, REPO, STORE_KINDS, ServedProcess, new_store_spec, store_env

ADMIN = "test-admin-secret-1234567890"


def draft_geojson(path: Path, names: list[str], lon: float = 105.85) -> Path:
    def square(x: float) -> list:
        return [[[x, 21.6], [x + 0.004, 21.6], [x + 0.004, 21.604], [x, 21.604], [x, 21.6]]]

    features = [{"type": "Feature", "properties": {"name": n, "status": "planned", "area_ha": 20 + i},
                 "geometry": {"type": "Polygon", "coordinates": square(lon + i * 0.01)}} for i, n in enumerate(names)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def a_store(request, kind: str, folder: Path) -> tuple[str, Path, dict[str, str]]:
    """A fresh store of `kind`: its spec, the folder of its scratch files, and the settings naming both."""
    spec = new_store_spec(request, kind, folder)
    return spec, folder, store_env(spec, folder)


@pytest.fixture(scope="module", params=STORE_KINDS)
def service(request, tmp_path_factory):
    spec, scratch, env = a_store(request, request.param, tmp_path_factory.mktemp("store"))
    with ServedProcess("--data", str(DATA), env={**env, "PLANMAP_ADMIN_TOKEN": ADMIN}) as s:
        s.store, s.scratch, s.kind = spec, scratch, request.param
        yield s


@pytest.fixture(scope="module")
def tokens(service):
    out = {}
    for name, role in (("lan", "planner"), ("minh", "viewer"), ("hoa", "admin")):
        resp = httpx.post(f"{service.url}/users", json={"name": name, "role": role},
                          headers={"Authorization": f"Bearer {ADMIN}"})
        assert resp.status_code == 201, resp.text
        out[role] = resp.json()["token"]
    return out


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_stored_only_as_hashes(service, tokens):
    if service.kind == "sqlite":
        raw = (service.scratch / "planmap-store.sqlite").read_bytes()
    else:  # every row of every table of the store, as text
        import psycopg

        with psycopg.connect(service.store) as db:
            tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'planmap'")]
            raw = "".join(db.execute(f"SELECT coalesce(string_agg(t::text, ''), '') FROM planmap.{t} t").fetchone()[0]
                          for t in tables).encode()
        assert b"lan" in raw  # the users are there
    for token in tokens.values():
        assert token.encode() not in raw
    listing = httpx.get(f"{service.url}/users", headers=auth(tokens["admin"])).json()["users"]
    assert {u["name"] for u in listing} >= {"lan", "minh", "hoa"} and all("token" not in u for u in listing)


def test_cli_adds_a_user_and_prints_a_working_token(service):
    env = {**os.environ, **store_env(service.store, service.scratch)}
    result = subprocess.run([sys.executable, "-m", "api.cli", "users", "add", "thu", "--role", "planner"],
                            capture_output=True, text=True, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("pm_")
    resp = httpx.put(f"{service.url}/collections/places/settings", json={"internal": False}, headers=auth(token))
    assert resp.status_code == 200


WRITES = [
    ("POST", "/collections/fuel_stations/items",
     {"type": "Feature", "properties": {"name": "X"}, "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}),
    ("PUT", "/collections/fuel_stations/items/1",
     {"type": "Feature", "properties": {"name": "X"}, "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}),
    ("DELETE", "/collections/fuel_stations/items/1", None),
    ("POST", "/collections/fuel_stations/revisions/1/rollback", None),
    ("PUT", "/collections/fuel_stations/settings", {"internal": True}),
    ("POST", "/proposals", {"type": "Feature", "properties": {"kind": "fuel_station"},
                            "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}}),
    ("POST", "/proposals/1/status", {"status": "approved"}),
    ("POST", "/users", {"name": "x", "role": "admin"}),
]


@pytest.mark.parametrize("method, path, body", WRITES)
def test_every_write_refuses_anonymous_and_viewer(service, tokens, method, path, body):
    anonymous = httpx.request(method, service.url + path, json=body)
    assert anonymous.status_code == 401 and anonymous.json()["detail"]
    viewer = httpx.request(method, service.url + path, json=body, headers=auth(tokens["viewer"]))
    assert viewer.status_code == 403 and viewer.json()["detail"]
    upload = httpx.post(f"{service.url}/collections/fuel_stations/imports", files={"file": ("a.geojson", b"{}")},
                        headers=auth(tokens["viewer"]))
    assert upload.status_code == 403
    assert httpx.get(f"{service.url}/users", headers=auth(tokens["planner"])).status_code == 403
    assert httpx.get(f"{service.url}/collections", headers=auth("pm_not-a-token")).status_code == 401


def test_part4_create_replace_delete_each_make_a_revision(service, tokens):
    url = f"{service.url}/collections/lpg_stations"
    before = httpx.get(f"{url}/items?limit=1").json()["numberMatched"]
    feature = {"type": "Feature", "properties": {"name": "Cửa hàng LPG Đồng Hỷ", "status": "planned"},
               "geometry": {"type": "Point", "coordinates": [105.91, 21.64]}}
    created = httpx.post(f"{url}/items", json=feature, headers=auth(tokens["planner"]))
    assert created.status_code == 201
    location = created.headers["location"]
    got = httpx.get(location).json()
    assert got["properties"]["name"] == "Cửa hàng LPG Đồng Hỷ" and got["properties"]["accuracy"] == "approximate"
    assert httpx.get(f"{url}/items?limit=1").json()["numberMatched"] == before + 1
    feature["properties"]["status"] = "existing"
    assert httpx.put(location, json=feature, headers=auth(tokens["planner"])).status_code == 200
    assert httpx.get(location).json()["properties"]["status"] == "existing"
    assert httpx.delete(location, headers=auth(tokens["planner"])).status_code == 204
    assert httpx.get(location).status_code == 404
    history = httpx.get(f"{url}/revisions", headers=auth(tokens["planner"])).json()["revisions"]
    assert [r["action"] for r in history[:3]] == ["delete", "replace", "create"]
    assert {r["author"] for r in history[:3]} == {"lan"}
    bad = dict(feature, properties={"colour": "red"})
    assert httpx.post(f"{url}/items", json=bad, headers=auth(tokens["planner"])).status_code == 400


def test_concurrent_creates_are_not_lost(service, tokens):
    url = f"{service.url}/collections/lpg_stations/items"
    before = httpx.get(f"{url}?limit=1").json()["numberMatched"]
    statuses = []

    def create(i: int) -> None:
        body = {"type": "Feature", "properties": {"name": f"LPG {i}", "status": "planned"},
                "geometry": {"type": "Point", "coordinates": [105.8 + i * 0.001, 21.6]}}
        statuses.append(httpx.post(url, json=body, headers=auth(tokens["planner"]), timeout=60).status_code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 8
    assert httpx.get(f"{url}?limit=1").json()["numberMatched"] == before + 8


def test_an_internal_layer_is_invisible_to_anonymous_users_everywhere(service, tokens):
    url = service.url
    planner = auth(tokens["planner"])
    # mineral areas become an internal draft
    made = httpx.put(f"{url}/collections/mineral_areas/settings", json={"internal": True}, headers=planner)
    assert made.status_code == 200
    try:
        anon_ids = {c["id"] for c in httpx.get(f"{url}/collections").json()["collections"]}
        assert "mineral_areas" not in anon_ids
        def ids(headers: dict) -> set[str]:
            return {c["id"] for c in httpx.get(f"{url}/collections", headers=headers).json()["collections"]}

        assert "mineral_areas" in ids(planner) and "mineral_areas" not in ids(auth(tokens["viewer"]))
        assert httpx.get(f"{url}/collections/mineral_areas").status_code == 404
        assert httpx.get(f"{url}/collections/mineral_areas/items").status_code == 404
        assert httpx.get(f"{url}/collections/mineral_areas/items/1").status_code == 404
        assert "/collections/mineral_areas/items" not in httpx.get(f"{url}/api").json()["paths"]
        export = httpx.get(f"{url}/exports/data", params={"collections": "mineral_areas", "format": "gpkg"})
        assert export.status_code == 404
        name = httpx.get(f"{url}/collections/mineral_areas/items/1", headers=planner).json()["properties"]["name"]
        hits = httpx.get(f"{url}/search", params={"q": name}).json()["results"]
        assert all(h["collection"] != "mineral_areas" for h in hits)
        assert any(h["collection"] == "mineral_areas" for h in httpx.get(f"{url}/search", params={"q": name},
                                                                         headers=planner).json()["results"])
        site = {"type": "Feature", "properties": {"kind": "factory"},
                "geometry": {"type": "Point", "coordinates": [105.84, 21.59]}}
        anon = httpx.post(f"{url}/checks", json=site).json()
        mineral = next(r for r in anon["results"] if r["rule"] == "site.mineral_areas")
        assert mineral["status"] == "unknown" and mineral["features"] == []
        assert anon["context"]["mineral_areas"] == []
        assert '"layer": "mineral_areas"' not in json.dumps(anon)  # no internal feature as evidence
        seen = httpx.post(f"{url}/checks", json=site, headers=planner).json()
        assert next(r for r in seen["results"] if r["rule"] == "site.mineral_areas")["status"] != "unknown"
        page = httpx.get(f"{url}/map").text
        assert "mineral_areas" not in page or "internal" not in page
    finally:
        httpx.put(f"{url}/collections/mineral_areas/settings", json={"internal": False}, headers=planner)
    assert "mineral_areas" in {c["id"] for c in httpx.get(f"{url}/collections").json()["collections"]}


def test_proposals_register_saves_checked_proposals_as_an_internal_layer(service, tokens):
    planner = auth(tokens["planner"])
    site = {"type": "Feature", "properties": {"kind": "fuel_station", "name": "CHXD Hóa Thượng"},
            "geometry": {"type": "Point", "coordinates": [105.84, 21.59]}}
    saved = httpx.post(f"{service.url}/proposals", json=site, headers=planner)
    assert saved.status_code == 201
    pid = saved.json()["id"]
    item = httpx.get(f"{service.url}/collections/proposals/items/{pid}", headers=planner).json()
    assert item["properties"]["status"] == "submitted" and item["properties"]["verdict"] == saved.json()["verdict"]
    assert json.loads(item["properties"]["report"])["results"]
    assert httpx.get(f"{service.url}/collections/proposals").status_code == 404  # internal: not for anonymous
    assert httpx.post(f"{service.url}/proposals/{pid}/status", json={"status": "approved"},
                      headers=planner).status_code == 200
    assert httpx.get(f"{service.url}/collections/proposals/items/{pid}",
                     headers=planner).json()["properties"]["status"] == "approved"


def test_revisions_rollback_and_persistence_across_restart(request, store_kind, tmp_path):
    _, _, env = a_store(request, store_kind, tmp_path / "store")
    env["PLANMAP_ADMIN_TOKEN"] = ADMIN
    first = draft_geojson(tmp_path / "v1.geojson", ["CCN Dự thảo A", "CCN Dự thảo B"])
    second = draft_geojson(tmp_path / "v2.geojson", ["CCN Dự thảo C"])
    with ServedProcess("--data", str(DATA), env=env) as s:
        admin = auth(ADMIN)
        for path in (first, second):
            resp = httpx.post(f"{s.url}/collections/draft_clusters/imports", headers=admin,
                              files={"file": (path.name, path.read_bytes(), "application/geo+json")})
            assert resp.status_code == 201, resp.text
        history = httpx.get(f"{s.url}/collections/draft_clusters/revisions", headers=admin).json()["revisions"]
        assert [r["source_file"] for r in history] == ["v2.geojson", "v1.geojson"]
        assert history[0]["author"] == "admin" and history[0]["feature_count"] == 1
        back = httpx.post(f"{s.url}/collections/draft_clusters/revisions/{history[1]['id']}/rollback", headers=admin)
        assert back.status_code == 200 and back.json()["action"] == "rollback"
        names = [f["properties"]["name"] for f in httpx.get(f"{s.url}/collections/draft_clusters/items",
                                                             headers=admin).json()["features"]]
        assert names == ["CCN Dự thảo A", "CCN Dự thảo B"]
        assert httpx.get(f"{s.url}/collections/draft_clusters").status_code == 404  # a new layer is a draft
    with ServedProcess("--data", str(DATA), env=env) as s:  # restarted: the store is the truth
        doc = httpx.get(f"{s.url}/collections/draft_clusters/items", headers=auth(ADMIN)).json()
        assert [f["properties"]["name"] for f in doc["features"]] == ["CCN Dự thảo A", "CCN Dự thảo B"]
        history = httpx.get(f"{s.url}/collections/draft_clusters/revisions", headers=auth(ADMIN)).json()
        assert len(history["revisions"]) == 3


def test_an_import_killed_before_commit_leaves_no_partial_revision(request, store_kind, tmp_path):
    _, _, store_settings = a_store(request, store_kind, tmp_path / "store")
    env = {**os.environ, **store_settings}
    first = draft_geojson(tmp_path / "first.geojson", ["CCN Một"])
    done = subprocess.run([sys.executable, "-m", "api.cli", "import", str(first), "--layer", "draft_clusters"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    big = draft_geojson(tmp_path / "second.geojson", [f"CCN {i}" for i in range(50)])
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "import", str(big), "--layer", "draft_clusters"],
                            cwd=REPO, env={**env, "PLANMAP_FAULT_PAUSE_BEFORE_COMMIT": "30"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        if "pausing" in line:
            break
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    history = subprocess.run([sys.executable, "-m", "api.cli", "history", "draft_clusters"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120).stdout
    assert len(history.strip().splitlines()) == 1 and "first.geojson" in history
    with ServedProcess("--data", str(DATA), env={**store_settings, "PLANMAP_ADMIN_TOKEN": ADMIN}) as s:
        doc = httpx.get(f"{s.url}/collections/draft_clusters/items", headers=auth(ADMIN)).json()
        assert [f["properties"]["name"] for f in doc["features"]] == ["CCN Một"]


@pytest.mark.parametrize("name, content, code", [
    ("broken.zip", b"PK\x03\x04" + b"\x00" * 40, "truncated_zip"),
    ("empty.geojson", b"", "empty_file"),
    ("nothing.geojson", b'{"type": "FeatureCollection", "features": []}', "no_features"),
])
def test_a_refused_upload_says_why_and_leaves_the_layer_as_it_was(service, tokens, name, content, code):
    url = f"{service.url}/collections/industrial_clusters"
    before = httpx.get(f"{url}/revisions").json()["revisions"]
    count = httpx.get(f"{url}/items?limit=1").json()["numberMatched"]
    resp = httpx.post(f"{url}/imports", files={"file": (name, content)}, headers=auth(tokens["planner"]))
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == code and body["detail"] and body["detail_vi"]
    assert httpx.get(f"{url}/revisions").json()["revisions"] == before
    assert httpx.get(f"{url}/items?limit=1").json()["numberMatched"] == count


def test_a_server_killed_during_an_import_leaves_no_partial_revision(request, store_kind, tmp_path):
    _, store, env = a_store(request, store_kind, tmp_path / "store")  # `store`: where its scratch files go
    env["PLANMAP_ADMIN_TOKEN"] = ADMIN
    first = draft_geojson(tmp_path / "first.geojson", ["CCN Một", "CCN Hai"])
    second = draft_geojson(tmp_path / "second.geojson", [f"CCN {i}" for i in range(40)])
    with ServedProcess("--data", str(DATA), env=env) as s:
        resp = httpx.post(f"{s.url}/collections/industrial_clusters/imports", headers=auth(ADMIN),
                          files={"file": (first.name, first.read_bytes())})
        assert resp.status_code == 201
    # one process, the one doing the import, is killed (with workers, a killed parent makes them stop gracefully)
    with ServedProcess("--data", str(DATA), "--workers", "1",
                       env={**env, "PLANMAP_FAULT_PAUSE_BEFORE_COMMIT": "60"}) as s:
        def upload() -> None:
            try:
                httpx.post(f"{s.url}/collections/industrial_clusters/imports", headers=auth(ADMIN),
                           files={"file": (second.name, second.read_bytes())}, timeout=120)
            except httpx.TransportError:
                pass  # the server is killed under it

        worker = threading.Thread(target=upload)
        worker.start()
        deadline = time.monotonic() + 120
        for line in s.proc.stderr:
            if b"pausing" in line:
                break
            assert time.monotonic() < deadline
        uploads = list((store / "tmp").glob("upload-*/second.geojson"))
        assert len(uploads) == 1, "the upload waits in the store's scratch folder"
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait(timeout=30)
        worker.join(timeout=60)
    assert uploads[0].exists(), "killed: no `finally` ran"
    with ServedProcess("--data", str(DATA), env=env) as s:
        assert list((store / "tmp").iterdir()) == [], "the next start-up removed what the killed import left"
        history = httpx.get(f"{s.url}/collections/industrial_clusters/revisions",
                            headers=auth(ADMIN)).json()["revisions"]
        assert [r["source_file"] for r in history] == ["first.geojson"]
        names = [f["properties"]["name"] for f in
                 httpx.get(f"{s.url}/collections/industrial_clusters/items").json()["features"]]
        assert names == ["CCN Một", "CCN Hai"]

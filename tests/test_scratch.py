"""Work in progress lives in one known place, `<store>/tmp/` (layers/scratch.py): an import's folder is removed
whatever its outcome, and what a killed process left is removed at the next start-up — but never a folder of a
process still running (`planmap serve` and `planmap import` may share a store)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

from api.app import create_app
from layers import scratch
from layers.revisions import Store
from tests import small_world
from tests.conftest import ADMIN_TOKEN
from tests.small_world import X0, Y0, lonlat


def _folder(root, name: str, age: float = 0.0):
    path = root / name
    path.mkdir()
    (path / "upload.zip").write_bytes(b"PK")
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def test_start_up_removes_only_what_no_running_process_owns(tmp_path):
    store = Store(tmp_path / "store")
    root = scratch.scratch_root(store.folder)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a process that is gone: its id names no running process
    ours = scratch._PROCESS_TOKEN
    gone = _folder(root, f"upload-{child.pid}-{ours}-a1")
    earlier_us = _folder(root, f"upload-{os.getpid()}-{'0' * len(ours)}-b2")  # our id, an earlier process's token
    alive = _folder(root, f"import-{os.getppid()}-{ours}-c3")  # the process that started the tests
    mine = _folder(root, f"import-{os.getpid()}-{ours}-d4")  # in progress in this very process
    stale = _folder(root, f"import-{os.getppid()}-{ours}-e5", age=scratch.STALE_AFTER_SECONDS + 60)
    stray = _folder(root, "not-ours")
    create_app(small_world.dataset(), small_world.RULES, store=store)  # start-up
    assert {p.name for p in root.iterdir()} == {alive.name, mine.name}
    assert not any(p.exists() for p in (gone, earlier_us, stale, stray))


def test_an_import_leaves_nothing_in_the_scratch_folder_whatever_its_outcome(tmp_path):
    from fastapi.testclient import TestClient

    store = Store(tmp_path / "store")
    app = create_app(small_world.dataset(), small_world.RULES, store=store, admin_token=ADMIN_TOKEN)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    features = [{"type": "Feature", "properties": {"name": "CCN Nhập"},
                 "geometry": {"type": "Point", "coordinates": lonlat(X0, Y0)}}]
    good = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    with TestClient(app) as client:
        for name, content, status in (("sites.geojson", good, 201), ("sites.gpkg", b"not a geopackage", 422),
                                      ("sites.zip", b"PK\x03\x04" + b"\x00" * 40, 422)):
            resp = client.post("/collections/imported_sites/imports", headers=admin,
                               files={"file": (name, io.BytesIO(content))})
            assert resp.status_code == status, resp.text
            assert str(tmp_path) not in resp.text
            assert list(scratch.scratch_root(store.folder).iterdir()) == [], name


def test_a_refusal_names_the_file_never_the_server_folder(tmp_path):
    root = tmp_path / "store" / "tmp"
    message = f"'{root}/upload-1-ab-x/plan.gpkg' not recognized; see {root.resolve()}/import-1-ab-y/zip/a.shp"
    assert scratch.scrub(message, root, "plan.gpkg") == "'plan.gpkg' not recognized; see plan.gpkg"

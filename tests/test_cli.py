"""The `planmap` command as an operator uses it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import DATA, _free_port
from tests.test_ogc_api import CONTRACT_IDS

PLANMAP = [sys.executable, "-m", "api.cli"]
REPO = Path(__file__).resolve().parent.parent


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*PLANMAP, *args], capture_output=True, text=True, cwd=REPO, timeout=120, **kw)


def test_layers_lists_counts_geometry_and_accuracy(dataset):
    result = run("layers")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    for cid in CONTRACT_IDS:
        layer = dataset.get(cid)
        assert str(len(layer)) in lines[cid].split(), lines[cid]
        assert layer.geometry_type in lines[cid]
        for accuracy, count in layer.accuracy_mix().items():
            assert f"{accuracy} {count}" in lines[cid]


def test_missing_dataset_is_a_clear_error(tmp_path):
    result = run("layers", "--data", str(tmp_path / "none.gpkg"))
    assert result.returncode != 0
    assert "does not exist" in result.stderr


def test_corrupt_dataset_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"not a geopackage")
    result = run("layers", "--data", str(bad))
    assert result.returncode != 0 and "cannot read" in result.stderr


def test_build_data_writes_the_dataset_atomically(tmp_path):
    out = tmp_path / "built.gpkg"
    result = run("build-data", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.exists() and [p.name for p in tmp_path.iterdir()] == ["built.gpkg"]  # no temp files left behind
    for cid in CONTRACT_IDS:
        assert cid in result.stdout


def test_serve_listens_on_host_and_port_from_the_environment(tmp_path):
    port = _free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), PLANMAP_STORE=str(tmp_path))
    proc = subprocess.Popen([*PLANMAP, "serve", "--data", str(DATA)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/collections", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "planmap serve did not answer"
                time.sleep(0.3)
        assert resp.status_code == 200
        assert {c["id"] for c in resp.json()["collections"]} >= set(CONTRACT_IDS)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_refusal_is_printed_in_both_languages_with_a_non_zero_exit(tmp_path):
    """The CLI prints the domain's own error (a PlanmapError) — English and Vietnamese — and writes nothing."""
    result = run("export", "data", "nothing", "--format", "gpkg", "-o", str(tmp_path / "out.gpkg"))
    assert result.returncode == 1
    assert "unknown collection(s): nothing" in result.stderr and "Không có lớp: nothing" in result.stderr
    unknown_crs = run("export", "data", "fuel_stations", "--format", "gpkg", "--crs", "EPSG:1234",
                      "-o", str(tmp_path / "out.gpkg"))
    assert unknown_crs.returncode == 1 and "không được hỗ trợ" in unknown_crs.stderr
    rollback = run("rollback", "fuel_stations", "99", env={**os.environ, "PLANMAP_STORE": str(tmp_path / "store")})
    assert rollback.returncode == 1 and "revision 99 does not exist" in rollback.stderr
    assert "Không có phiên bản 99" in rollback.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_a_date_that_is_not_yyyy_mm_dd_is_refused_before_any_work(tmp_path):
    proposals = tmp_path / "p.csv"
    proposals.write_text("kind,lon,lat\nfactory,105.84,21.59\n", encoding="utf-8")
    for day in ("2025-1-1", "0", "20250101"):
        result = run("check", str(proposals), "--as-of", day, "--out", str(tmp_path / "out"))
        assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr and "không phải ngày" in result.stderr
    assert not list(tmp_path.glob("out*"))


def test_a_vn2000_bbox_beyond_its_area_is_clipped_and_one_outside_refused(tmp_path, dataset):
    """Reprojected whole, -1e300..1e300 in VN-2000 was infinities (a traceback); 0,0,1,1 is nowhere near Vietnam."""
    out = tmp_path / "all.csv"
    everything = run("export", "data", "fuel_stations", "--format", "csv", "--bbox=-1e300,-1e300,1e300,1e300",
                     "--bbox-crs", "EPSG:9213", "-o", str(out))
    assert everything.returncode == 0, everything.stderr
    assert f"fuel_stations: {len(dataset.get('fuel_stations'))}" in everything.stdout
    outside = run("export", "data", "fuel_stations", "--format", "csv", "--bbox", "0,0,1,1", "--bbox-crs",
                  "EPSG:9213", "-o", str(tmp_path / "none.csv"))
    assert outside.returncode == 1 and "outside the area EPSG:9213" in outside.stderr
    assert "nằm ngoài vùng sử dụng" in outside.stderr and not (tmp_path / "none.csv").exists()

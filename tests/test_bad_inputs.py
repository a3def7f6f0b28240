"""The bad-input corpus (tests/bad_inputs.yaml): every hand-made hostile request gets its documented answer — a
4xx problem in both languages that names what is wrong, never a 500, never a server path, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api import models

CORPUS = yaml.safe_load((Path(__file__).with_name("bad_inputs.yaml")).read_text(encoding="utf-8"))
SERVER_PATHS = ("/tmp", "/work", "/root", "planmap-import-", "upload-", "import-")


def test_the_corpus_is_well_formed():
    ids = [case["id"] for case in CORPUS]
    assert len(ids) == len(set(ids)), "ids are unique"
    for case in CORPUS:
        assert {"id", "why", "method", "path", "status"} <= set(case), case["id"]
        assert set(case) <= {"id", "why", "method", "path", "as", "params", "json", "raw", "file", "status", "names",
                             "headers"}, case["id"]
        assert case["status"] < 500, case["id"]


def send(client, case: dict, planner: dict):
    headers = dict(planner) if case.get("as") == "planner" else {}
    kwargs: dict = {"params": case.get("params"), "headers": headers}
    if "json" in case:
        kwargs["json"] = case["json"]
    elif "raw" in case:
        kwargs["content"] = case["raw"].encode()
        headers["Content-Type"] = "application/json"
    elif "file" in case:
        kwargs["files"] = {"file": (case["file"]["name"], case["file"]["content"].encode())}
    return client.request(case["method"], case["path"], **kwargs)


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_a_bad_input_gets_its_documented_answer(small_app, api_client, planner, case):
    store = small_app.state.workspace.store
    before = store.version()
    resp = send(api_client, case, planner)
    assert resp.status_code == case["status"], resp.text
    for name, value in (case.get("headers") or {}).items():
        assert resp.headers.get(name) == value, (name, resp.headers.get(name))
    if resp.status_code < 400:
        return
    assert resp.headers["content-type"] == "application/problem+json"
    body = models.Problem.model_validate(resp.json()).model_dump()
    assert body["status"] == case["status"] and body["detail"] and body["detail_vi"]
    for word in case.get("names") or []:
        assert word in body["detail"], (word, body["detail"])
    assert not any(p in body["detail"] + body["detail_vi"] for p in SERVER_PATHS), body
    assert store.version() == before, "a refused request changed the store"


def test_the_corpus_is_listed_here():
    """docs/reliability.md lists every case of the corpus (and no other), so the document says what is tested."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "reliability.md").read_text(encoding="utf-8")
    section = doc.split("## Bad-input corpus", 1)[1].split("\n## ", 1)[0]
    listed = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
    assert listed == [case["id"] for case in CORPUS]


def test_small_bodies_are_refused_past_their_limit(small_app, api_client, planner):
    """A status change or a layer setting is a few dozen bytes: a larger body is refused (413 problem) at its
    route's limit, not read up to the service-wide 5 MB, and nothing changes."""
    from layers.limits import MAX_SMALL_BODY_BYTES

    store = small_app.state.workspace.store
    before = store.version()
    padding = "x" * MAX_SMALL_BODY_BYTES
    resp = api_client.put("/collections/fuel_stations/settings", headers=planner,
                          json={"internal": True, "note": padding})
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert store.version() == before
    assert api_client.put("/collections/fuel_stations/settings", headers=planner,
                          json={"internal": False}).status_code == 200

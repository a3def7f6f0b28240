"""Accounts (issue 11 item 7): tokens expire, users are disabled and enabled, tokens are replaced — through the API,
the `planmap users` command and a store made by an older planmap; and what anonymous users and viewers never read:
who changed a layer, from which file, or any user's name."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile

import pytest
from fastapi.testclient import TestClient

from api import models
from geo.errors import Unauthorized
from layers.accounts import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, authenticate, list_users
from layers.revisions import Store
from tests.conftest import ADMIN_TOKEN, REPO, STORE_KINDS, new_store, store_env
from tests.small_world import X0, Y0, lonlat, site

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PLANNER_NAME = "nguyenvanhung"  # a name found nowhere else in planmap, so any leak of it is seen
SECRET_FILE = "ban_ve_noi_bo_2026.geojson"


@pytest.fixture(scope="module", params=STORE_KINDS)
def store(request, tmp_path_factory):
    return new_store(request, request.param, tmp_path_factory.mktemp("accounts-store"))


@pytest.fixture(scope="module")
def client(store):
    from api.app import create_app
    from tests import small_world

    app = create_app(small_world.dataset(), small_world.RULES, store=store, admin_token=ADMIN_TOKEN)
    with TestClient(app) as c:
        yield c


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def make_user(client, name: str, role: str = "planner", **extra) -> dict:
    made = client.post("/users", json={"name": name, "role": role, **extra}, headers=ADMIN)
    assert made.status_code == 201, made.text
    return made.json()


def days_from_now(stamp: str) -> float:
    return (dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) - dt.datetime.now(dt.UTC)).total_seconds() / 86400


def refused(resp, code: str, vi_words: str) -> dict:
    assert resp.status_code == 401, resp.text
    body = resp.json()
    assert body["code"] == code and vi_words in body["detail_vi"], body
    return body


def works(client, token: str) -> bool:
    return client.put("/collections/fuel_stations/settings", json={"internal": False},
                      headers=bearer(token)).status_code == 200


def expire(store, name: str) -> None:
    """Time passes: the user's token expired yesterday."""
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(timespec="seconds")
    if isinstance(store, Store):
        with sqlite3.connect(store.path) as db:
            db.execute("UPDATE users SET expires = ? WHERE name = ?", (yesterday, name))
        return
    with store.connect() as db:
        db.execute("UPDATE users SET expires = %s WHERE name = %s", (yesterday, name))


# ---------------------------------------------------------------------------------------------------- expiry
def test_a_token_lasts_the_default_lifetime_or_the_days_the_admin_gives(client):
    default = make_user(client, "an")
    assert abs(days_from_now(default["expires"]) - DEFAULT_TOKEN_DAYS) < 0.01
    longer = make_user(client, "binh", days=400)
    assert abs(days_from_now(longer["expires"]) - 400) < 0.01
    for days in (0, MAX_TOKEN_DAYS + 1, "ninety"):
        bad = client.post("/users", json={"name": "chi", "role": "viewer", "days": days}, headers=ADMIN)
        assert bad.status_code == 400 and bad.json()["detail_vi"], bad.text
    again = client.post("/users", json={"name": "an", "role": "admin"}, headers=ADMIN)
    assert again.status_code == 409 and "users token an" in again.json()["detail"]
    assert works(client, default["token"])  # re-creating an existing name took nothing over
    listing = models.Users.model_validate(client.get("/users", headers=ADMIN).json()).users
    an = next(u for u in listing if u.name == "an")
    assert (an.role, an.disabled, an.expired, an.expires) == ("planner", False, False, default["expires"])


def test_the_deployment_setting_changes_the_default_lifetime(client, monkeypatch):
    monkeypatch.setenv("PLANMAP_TOKEN_DAYS", "30")
    assert abs(days_from_now(make_user(client, "dung")["expires"]) - 30) < 0.01


def test_an_expired_token_is_refused_saying_that_it_expired(client, store):
    made = make_user(client, "giang", days=1)
    assert works(client, made["token"])
    expire(store, "giang")
    body = refused(client.get("/collections", headers=bearer(made["token"])), "TokenExpired", "hết hạn")
    assert "expired on" in body["detail"]
    session = client.get("/map/session", headers=bearer(made["token"])).json()
    assert session["valid"] is False and session["reason"]["code"] == "TokenExpired"
    assert "hết hạn" in session["reason"]["vi"] and "expired" in session["reason"]["en"]
    listing = client.get("/users", headers=ADMIN).json()["users"]
    assert next(u for u in listing if u["name"] == "giang")["expired"] is True
    renewed = client.post("/users/giang/token", json={"days": 7}, headers=ADMIN)
    assert renewed.status_code == 200 and abs(days_from_now(renewed.json()["expires"]) - 7) < 0.01
    assert works(client, renewed.json()["token"])


# ---------------------------------------------------------------------------------------------------- disable
def test_a_disabled_user_is_refused_until_enabled_again(client):
    made = make_user(client, "hoa")
    assert works(client, made["token"])
    planner = bearer(make_user(client, "khanh")["token"])
    assert client.post("/users/hoa/disable", headers=planner).status_code == 403
    assert client.post("/users/hoa/disable").status_code == 401
    disabled = client.post("/users/hoa/disable", headers=ADMIN)
    assert disabled.status_code == 200 and models.User.model_validate(disabled.json()).disabled is True
    body = refused(client.get("/collections", headers=bearer(made["token"])), "AccountDisabled", "bị khóa")
    assert "disabled" in body["detail"]
    assert client.get("/map/session", headers=bearer(made["token"])).json()["reason"]["code"] == "AccountDisabled"
    assert client.post("/users/nobody/disable", headers=ADMIN).status_code == 404
    enabled = client.post("/users/hoa/enable", headers=ADMIN)
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert works(client, made["token"])


def test_a_new_token_replaces_the_old_one(client):
    old = make_user(client, "lam")["token"]
    new = client.post("/users/lam/token", headers=ADMIN)
    assert new.status_code == 200, new.text
    models.TokenIssued.model_validate(new.json())
    assert new.json()["token"] != old and works(client, new.json()["token"])
    refused(client.get("/collections", headers=bearer(old)), "InvalidToken", "không hợp lệ")
    assert client.post("/users/nobody/token", headers=ADMIN).status_code == 404
    bad = client.post("/users/lam/token", json={"days": 0}, headers=ADMIN)
    assert bad.status_code == 400 and works(client, new.json()["token"])  # a refused request changed nothing


def test_the_users_command_adds_renews_disables_and_enables(client, store):
    env = {**os.environ, **store_env(store.spec, store.folder)}

    def planmap(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "api.cli", "users", *args], capture_output=True, text=True,
                              cwd=REPO, env=env)

    added = planmap("add", "minh", "--role", "planner", "--days", "90")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("pm_") and "expires" in added.stderr and works(client, token)
    assert abs(days_from_now(next(u for u in list_users(store) if u["name"] == "minh")["expires"]) - 90) < 0.01
    again = planmap("add", "minh", "--role", "admin")
    assert again.returncode == 1 and "exists" in again.stderr
    renewed = planmap("token", "minh")
    assert renewed.returncode == 0, renewed.stderr
    refused(client.get("/collections", headers=bearer(token)), "InvalidToken", "không hợp lệ")
    token = renewed.stdout.strip()
    assert works(client, token)
    assert planmap("disable", "minh").returncode == 0
    refused(client.get("/collections", headers=bearer(token)), "AccountDisabled", "bị khóa")
    listing = planmap("list")
    assert any(line.split()[:3] == ["minh", "planner", "disabled"] for line in listing.stdout.splitlines())
    assert planmap("enable", "minh").returncode == 0 and works(client, token)
    assert planmap("disable", "nobody").returncode == 1


OLD_USERS_TABLE = """CREATE TABLE users (name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'planner', 'admin')),
    token_hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL, created_by TEXT)"""


def test_a_store_made_by_an_older_planmap_keeps_working(tmp_path):
    """Users created before tokens expired keep their tokens for the default lifetime from when they were made."""
    from layers.access import hash_token

    now = dt.datetime.now(dt.UTC)
    with sqlite3.connect(tmp_path / "planmap-store.sqlite") as db:
        db.execute(OLD_USERS_TABLE)
        db.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?)", [
            ("recent", "planner", hash_token("pm_recent"), (now - dt.timedelta(days=10)).isoformat(), "admin"),
            ("ancient", "planner", hash_token("pm_ancient"), (now - dt.timedelta(days=400)).isoformat(), "admin")])
    store = Store(tmp_path)
    Store(tmp_path)  # opening it again migrates nothing twice
    assert authenticate(store, "pm_recent").name == "recent"
    with pytest.raises(Unauthorized) as expired:
        authenticate(store, "pm_ancient")
    assert expired.value.code == "TokenExpired"
    listing = {u["name"]: u for u in list_users(store)}
    assert abs(days_from_now(listing["recent"]["expires"]) - (DEFAULT_TOKEN_DAYS - 10)) < 0.01
    assert listing["ancient"]["expired"] and not listing["recent"]["disabled"]
    assert store.set_disabled("recent", True)
    with pytest.raises(Unauthorized):
        authenticate(store, "pm_recent")


# ---------------------------------------------------------------------------------------------------- redaction
@pytest.fixture(scope="module")
def history(client) -> dict:
    """A planner whose name is nowhere else imports a file with a telling name, edits a feature and files a
    proposal; a viewer exists.  Returns the tokens and the ids made."""
    planner = bearer(make_user(client, PLANNER_NAME)["token"])
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "CHXD Nhập Mới", "status": "planned"},
         "geometry": {"type": "Point", "coordinates": lonlat(X0 + 3_000, Y0)}}]}
    imported = client.post("/collections/fuel_stations/imports", headers=planner, data={"mode": "append"},
                           files={"file": (SECRET_FILE, json.dumps(collection, ensure_ascii=False).encode())})
    assert imported.status_code == 201, imported.text
    made = client.post("/collections/fuel_stations/items", headers=planner, json={
        "type": "Feature", "properties": {"name": "CHXD Sửa Tay", "status": "planned"},
        "geometry": {"type": "Point", "coordinates": lonlat(X0 + 3_500, Y0)}})
    assert made.status_code == 201, made.text
    saved = client.post("/proposals", json=site("fuel_station", X0 + 30, Y0, name="CHXD Đề Xuất"), headers=planner)
    assert saved.status_code == 201, saved.text
    return {"planner": planner, "viewer": bearer(make_user(client, "viewer-tu", "viewer")["token"]),
            "fid": made.json()["id"], "revision": imported.json()["revision"]["id"]}


def _bodies(client, headers: dict, history: dict) -> dict[str, bytes]:
    """Every answer a reader can get about the edited layer, its history and its data, as bytes (zips opened)."""
    fid, rev = history["fid"], history["revision"]
    gets = ["/collections", "/collections?f=html", "/collections/fuel_stations", "/collections/fuel_stations/items",
            "/collections/fuel_stations/items?f=html", f"/collections/fuel_stations/items/{fid}",
            f"/collections/fuel_stations/items/{fid}?f=html", "/collections/fuel_stations/revisions",
            f"/collections/fuel_stations/revisions/{rev}", "/search?q=chxd", "/api",
            "/exports/data?collections=fuel_stations&format=geojson",
            "/exports/data?collections=fuel_stations&format=csv",
            "/exports/data?collections=fuel_stations&format=gpkg",
            "/exports/data?collections=fuel_stations&format=shp",
            "/exports/offline-map?collections=fuel_stations", "/map/session"]
    out = {}
    for url in gets:
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, (url, resp.text[:200])
        out[url] = resp.content
        if resp.content[:2] == b"PK":
            zf = zipfile.ZipFile(io.BytesIO(resp.content))
            out[url] = b"".join(zf.read(n) for n in zf.namelist())
    check = client.post("/checks", json=site("fuel_station", X0 + 3_100, Y0), headers=headers)
    assert check.status_code == 200, check.text
    out["POST /checks"] = check.content
    return out


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_anonymous_users_and_viewers_read_no_author_file_or_user_name(client, history, who):
    headers = {} if who == "anonymous" else history["viewer"]
    for url, body in _bodies(client, headers, history).items():
        assert PLANNER_NAME.encode() not in body, url
        assert b"ban_ve_noi_bo" not in body, url
    listing = client.get("/collections/fuel_stations/revisions", headers=headers).json()["revisions"]
    assert listing and all(r["author"] is None and r["source_file"] is None for r in listing)
    models.Revisions.model_validate({"collection": "fuel_stations", "revisions": listing})
    one = client.get(f"/collections/fuel_stations/revisions/{history['revision']}", headers=headers).json()
    assert one["report"] is None and one["added"] == 1  # what changed, not who or from which file
    assert client.get("/collections/proposals", headers=headers).status_code == 404


def test_planners_still_read_who_changed_a_layer_and_from_which_file(client, history):
    planner = history["planner"]
    listing = client.get("/collections/fuel_stations/revisions", headers=planner).json()["revisions"]
    assert {r["author"] for r in listing} >= {PLANNER_NAME}
    assert SECRET_FILE in {r["source_file"] for r in listing}
    one = client.get(f"/collections/fuel_stations/revisions/{history['revision']}", headers=planner).json()
    assert one["author"] == PLANNER_NAME and one["report"]["file"] == SECRET_FILE
    proposals = client.get("/collections/proposals/items", headers=planner).json()["features"]
    assert {f["properties"]["checked_by"] for f in proposals} == {PLANNER_NAME}

"""The PostGIS store: what it keeps is real PostGIS data, two hosts on it serve each other's edits within a second,
writers of different processes take turns and a stale one is refused, a killed writer leaves nothing behind, and a
forked worker never shares its parent's connection.  (The store-level tests of the other modules run on both
stores; these are what only a shared database has, plus `wait_changed` on both.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import geopandas as gpd
import httpx
import pandas as pd
import pytest
import shapely

from layers.revisions import StaleHead
from layers.stores import open_store
from tests.conftest import DATA, REPO, ServedProcess, new_planner, new_store, reopen, store_env

ADMIN = "postgis-admin-token-0123456789"
WAKE_SECONDS = 0.5  # a waiter wakes this soon after a commit (a NOTIFY; or SQLite's poll every 0.1 s)
PROMISE_SECONDS = 1.0  # issue 12: an edit committed on one host is served by the others within a second


def sites(fids: list[int], x0: float = 105.8, name: str = "điểm") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({"name": [f"{name} {f}" for f in fids], "capacity": fids},
                             geometry=[shapely.Point(x0 + f * 0.001, 21.6) for f in fids], crs="OGC:CRS84")
    frame.index = pd.Index(fids, dtype="int64")
    return frame


@pytest.fixture
def store(request, tmp_path):
    return new_store(request, "postgis", tmp_path)


def rows(store, sql: str, params: tuple = ()) -> list[tuple]:
    with store.connect() as db:
        return db.execute(sql, params).fetchall()


# ------------------------------------------------------------------------------------ what is stored
def test_features_are_postgis_geometries_with_jsonb_properties(store):
    square = shapely.box(105.8, 21.6, 105.81, 21.61)
    frame = gpd.GeoDataFrame({"name": ["Cụm A", "Cửa hàng B"], "area_ha": [12.5, None]},
                             geometry=[square, shapely.Point(105.9, 21.7)], crs="OGC:CRS84", index=[1, 2])
    first = store.commit_snapshot("draft", frame, author="lan", action="import")
    store.commit_changes("draft", None, [2], feature_count=1, author="lan", action="delete", expected_head=first.id)
    stored = rows(store, "SELECT fid, ST_GeometryType(geometry), ST_SRID(geometry), jsonb_typeof(properties),"
                         " properties->>'name', ST_Equals(geometry, ST_GeomFromText(%s, 4326)), deleted"
                         " FROM planmap.features ORDER BY revision, fid", (square.wkt,))
    assert stored == [(1, "ST_Polygon", 4326, "object", "Cụm A", True, False),
                      (2, "ST_Point", 4326, "object", "Cửa hàng B", False, False),
                      (2, None, None, "object", None, None, True)]
    column = rows(store, "SELECT type, srid FROM geometry_columns WHERE f_table_schema = 'planmap'"
                         " AND f_table_name = 'features'")
    assert column == [("GEOMETRY", 4326)]
    assert rows(store, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'planmap' AND tablename = 'features'"
                       " AND indexdef ILIKE '%%USING gist (geometry)%%'") == [(1,)]
    assert rows(store, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)] or \
        {r[0] for r in rows(store, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")} <= \
        {"spatial_ref_sys"}  # planmap's tables are all in its own schema, apart from a planner's
    back = store.snapshot(first.id)
    assert list(back.columns) == ["name", "area_ha", "geometry"]  # jsonb reorders keys; the store does not
    assert back.geometry.iloc[0].equals(square) and back.loc[2, "name"] == "Cửa hàng B"
    reopen(store)  # opening it again creates nothing twice


def test_users_and_internal_layers_live_in_the_database(store):
    assert store.add_user("lan", "planner", "hash-1", "admin", "2099-01-01T00:00:00Z")
    assert not store.add_user("lan", "admin", "hash-2", "admin", "2099-01-01T00:00:00Z")
    other = reopen(store)  # another host
    assert other.user_by_token_hash("hash-1")["role"] == "planner"
    assert other.set_token("lan", "hash-3", "2099-01-01T00:00:00Z") and store.user_by_token_hash("hash-1") is None
    assert store.set_disabled("lan", True) and other.users()[0]["disabled"] is True
    assert not store.set_disabled("nobody", True)
    other.set_internal("draft", True, "lan")
    assert store.internal_layers() == {"draft"}
    assert rows(store, "SELECT internal, updated_by FROM planmap.layer_settings") == [(True, "lan")]


def test_a_store_url_without_a_scratch_folder_is_refused(postgis, monkeypatch):
    from geo.errors import BadRequest

    monkeypatch.delenv("PLANMAP_SCRATCH", raising=False)
    with pytest.raises(BadRequest, match="PLANMAP_SCRATCH"):
        open_store(postgis.url + "/postgres")


def test_the_cli_says_when_the_database_cannot_be_reached(tmp_path):
    with socket_port() as port:  # nothing listens there
        url = f"postgresql://planner:s3cret-pw@127.0.0.1:{port}/planmap"
        done = subprocess.run([sys.executable, "-m", "api.cli", "users", "list"], cwd=REPO, capture_output=True,
                              text=True, timeout=120, env={**os.environ, **store_env(url, tmp_path)})
    assert done.returncode == 1 and "cannot open the store" in done.stderr and "kho dữ liệu" in done.stderr
    assert "s3cret-pw" not in done.stderr and "127.0.0.1" in done.stderr


class socket_port:
    """A loopback port that is bound (so nothing else takes it) but never listened on: connections are refused."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


# ------------------------------------------------------------------------------------ writers of several processes
COMMIT = textwrap.dedent("""
    import sys, time
    import geopandas as gpd, pandas as pd, shapely
    from layers.stores import open_store
    store = open_store(sys.argv[1], sys.argv[2])
    frame = gpd.GeoDataFrame({"name": ["từ tiến trình khác"]}, geometry=[shapely.Point(105.9, 21.7)],
                             crs="OGC:CRS84", index=pd.Index([int(sys.argv[4])], dtype="int64"))
    head = None if sys.argv[3] == "none" else int(sys.argv[3])
    print("revision", store.commit_changes("sites", frame, feature_count=1, author="minh", action="create",
                                           expected_head=head).id, flush=True)
    print("committed by", time.time(), flush=True)
""")


def commit_in_process(store, head: int | None, fid: int, pause: float = 0) -> subprocess.Popen:
    env = {**os.environ, "PLANMAP_FAULT_PAUSE_BEFORE_COMMIT": str(pause)}
    return subprocess.Popen([sys.executable, "-c", COMMIT, store.spec, str(store.folder),
                             "none" if head is None else str(head), str(fid)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_pause(proc: subprocess.Popen) -> None:
    """Until the process says it is inside its write transaction."""
    for line in proc.stderr:
        if "pausing" in line:
            return
    raise AssertionError(f"the writer never paused: {proc.wait()}")


def test_a_writer_of_another_process_makes_this_ones_stale_head_fail(store):
    first = store.commit_snapshot("sites", sites([1, 2]), author="lan", action="import")
    other = commit_in_process(store, first.id, 3, pause=1.5)  # computed from `first`, holds the write lock
    wait_for_pause(other)
    start = time.monotonic()
    with pytest.raises(StaleHead):  # also computed from `first`: it waits its turn, then finds the head moved
        store.commit_changes("sites", sites([4]), feature_count=3, author="lan", action="create",
                             expected_head=first.id)
    assert time.monotonic() - start > 0.5, "the second writer did not wait for the first"
    assert other.wait(timeout=60) == 0
    theirs = int(other.stdout.read().split()[1])
    assert store.heads() == {"sites": theirs} and [r.id for r in store.history("sites")] == [theirs, first.id]
    assert sorted(store.snapshot(theirs).index) == [1, 2, 3]
    assert rows(store, "SELECT count(*) FROM planmap.features WHERE fid = 4") == [(0,)]


def test_a_writer_killed_inside_its_transaction_leaves_nothing(store):
    first = store.commit_snapshot("sites", sites([1, 2]), author="lan", action="import")
    version = store.version()
    counts = rows(store, "SELECT (SELECT count(*) FROM planmap.revisions), (SELECT count(*) FROM planmap.features)")
    killed = commit_in_process(store, first.id, 3, pause=60)
    wait_for_pause(killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert rows(store, "SELECT (SELECT count(*) FROM planmap.revisions), (SELECT count(*) FROM planmap.features)"
                ) == counts
    assert store.version() == version and store.heads() == {"sites": first.id}
    start = time.monotonic()  # the database let go of the dead writer's lock: the next one commits at once
    after = store.commit_changes("sites", sites([5]), feature_count=3, author="lan", action="create",
                                 expected_head=first.id)
    assert time.monotonic() - start < 5 and store.heads() == {"sites": after.id}


# ------------------------------------------------------------------------------------ change notification
@pytest.mark.parametrize("kind", ["sqlite", "postgis"])
def test_wait_changed_wakes_on_another_process_commit_and_times_out_otherwise(request, kind, tmp_path):
    store = new_store(request, kind, tmp_path)
    version = store.version()
    start = time.monotonic()
    assert store.wait_changed(version, 0.3) == version and time.monotonic() - start >= 0.3
    writer = commit_in_process(store, None, 1, pause=0.5)
    start = time.monotonic()
    changed = store.wait_changed(version, 60)
    woke_at = time.time()
    assert time.monotonic() - start < 60 and writer.wait(timeout=60) == 0
    assert changed == store.version() != version
    committed_by = float(writer.stdout.read().split()[-1])
    assert woke_at - committed_by < WAKE_SECONDS, "wait_changed did not wake on the commit"


def test_notify_is_sent_only_when_the_transaction_commits(store):
    """A failed write (a stale head) notifies nobody: a waiter sleeps on until its timeout."""
    first = store.commit_snapshot("sites", sites([1]), author="lan", action="import")
    version = store.version()
    woke: list[float] = []
    waiter = threading.Thread(target=lambda: woke.append(store.wait_changed(version, 1.0)))
    waiter.start()
    time.sleep(0.2)
    with pytest.raises(StaleHead):
        reopen(store).commit_changes("sites", sites([2]), feature_count=2, author="lan", action="create",
                                     expected_head=first.id + 100)
    waiter.join()
    assert woke == [version]


@pytest.mark.parametrize("kind", ["sqlite", "postgis"])
def test_a_forked_worker_opens_its_own_connections(request, kind, tmp_path):
    """The server forks its workers after opening the store: a child must never use (or close) its parent's
    connection — both go on working, each with its own."""
    store = new_store(request, kind, tmp_path)
    first = store.commit_snapshot("sites", sites([1]), author="lan", action="import")
    with store.connect() as db:
        parents = db
    pid = os.fork()
    if pid == 0:  # the child: write through the inherited store object, then leave without any clean-up
        code = 1
        try:
            with store.connect() as db:
                code = 2 if db is parents else 1  # 2: the child was handed its parent's connection
            if code != 2:
                store.commit_changes("sites", sites([2]), feature_count=2, author="worker", action="create",
                                     expected_head=first.id)
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "2: the child used its parent's connection; 1: it failed"
    assert [r.author for r in store.history("sites")] == ["worker", "lan"]  # the parent's connection still works
    store.commit_changes("sites", sites([3]), feature_count=3, author="lan", action="create",
                         expected_head=store.head("sites"))
    assert sorted(store.snapshot(store.head("sites")).index) == [1, 2, 3]


# ------------------------------------------------------------------------------------ two hosts, one database
def test_two_hosts_on_one_database_serve_each_others_edits_within_a_second(request, tmp_path):
    spec = request.getfixturevalue("postgis").new_database()
    env = {**store_env(spec, tmp_path / "a"), "PLANMAP_ADMIN_TOKEN": ADMIN}
    with ServedProcess("--data", str(DATA), env=env) as a, \
            ServedProcess("--data", str(DATA), env={**env, "PLANMAP_SCRATCH": str(tmp_path / "b")}) as b:
        planner = {"Authorization": f"Bearer {new_planner(a.url, ADMIN, 'lan')}"}  # made on A, signs in on B
        items = "/collections/fuel_stations/items"
        before = httpx.get(b.url + items, params={"limit": 1}).json()["numberMatched"]
        feature = {"type": "Feature", "properties": {"name": "CHXD Hai Máy", "status": "planned"},
                   "geometry": {"type": "Point", "coordinates": [105.83, 21.59]}}
        for _ in range(3):  # every time, not only once
            created = httpx.post(a.url + items, json=feature, headers=planner)
            assert created.status_code == 201, created.text
            location = created.headers["location"].replace(a.url, b.url)
            assert served_within(lambda url=location: httpx.get(url).status_code == 200)
        assert httpx.get(b.url + items, params={"limit": 1}).json()["numberMatched"] == before + 3
        feature["properties"]["name"] = "CHXD Đổi Tên"
        replaced = httpx.put(location, json=feature, headers=planner)  # now through B, read on A
        assert replaced.status_code == 200, replaced.text
        on_a = location.replace(b.url, a.url)
        assert served_within(lambda: httpx.get(on_a).json()["properties"]["name"] == "CHXD Đổi Tên")
        hidden = httpx.put(f"{a.url}/collections/mineral_areas/settings", json={"internal": True}, headers=planner)
        assert hidden.status_code == 200
        assert served_within(lambda: httpx.get(f"{b.url}/collections/mineral_areas").status_code == 404)
        assert httpx.get(f"{b.url}/collections/mineral_areas", headers=planner).status_code == 200


def served_within(check, seconds: float = PROMISE_SECONDS) -> bool:
    """Whether `check()` comes true within `seconds` (asked as often as a client could)."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def test_a_lost_database_connection_is_a_503_and_the_next_call_reconnects(store, postgis):
    """The database restarted (here: its sessions are ended): the call that finds its connection gone is refused as
    unavailable, never a 500, and the next one opens a new connection."""
    from geo.errors import Unavailable

    before = store.version()
    database = store.spec.rsplit("/", 1)[1]
    ended = postgis.sql("postgres", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                    " WHERE datname = %s", (database,))
    assert ended[0][0] >= 1
    with pytest.raises(Unavailable) as refused:
        store.version()
    assert refused.value.status == 503
    assert store.version() == before

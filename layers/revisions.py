"""The embedded store: every layer change is a revision in one SQLite transaction — it lands whole or not at all.

A revision stores what changed: the features it added or replaced (by id) and the ids it deleted (`kind` =
`delta`), so a one-feature edit of a 200,000-feature layer adds one row, not a copy of the layer.  An import that
replaces a layer stores the whole layer (`kind` = `full`).  The layer as of any revision is the last full
revision before it (or the shipped dataset, when there is none) with the deltas since applied in order; history
is linear, a rollback is a new delta back to an old state, and nothing is ever overwritten.
SQLite's journal makes a killed process leave no partial revision; WAL mode lets readers go on while one
writer commits; `BEGIN IMMEDIATE` serialises writers.  `RevisionStore` is what every store offers (the PostGIS
store, layers/store_postgis.py, keeps the same tables in a database that several hosts share).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.geojson import GEOS_BATCH, encode_properties

SCHEMA = """
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    layer TEXT NOT NULL,
    created TEXT NOT NULL,
    author TEXT NOT NULL,
    action TEXT NOT NULL,
    source_file TEXT,
    feature_count INTEGER NOT NULL,
    added INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    parent INTEGER,
    report TEXT,
    kind TEXT NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'delta'))
);
CREATE TABLE IF NOT EXISTS features (
    revision INTEGER NOT NULL REFERENCES revisions(id),
    fid INTEGER NOT NULL,
    properties TEXT NOT NULL,
    geometry BLOB,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (revision, fid)
);
CREATE TABLE IF NOT EXISTS layer_head (layer TEXT PRIMARY KEY, revision INTEGER NOT NULL REFERENCES revisions(id));
CREATE TABLE IF NOT EXISTS layer_settings (layer TEXT PRIMARY KEY, internal INTEGER NOT NULL DEFAULT 0,
    title_vi TEXT, title_en TEXT, updated TEXT, updated_by TEXT);
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'planner', 'admin')),
    token_hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL, created_by TEXT,
    expires TEXT, disabled INTEGER NOT NULL DEFAULT 0, token_issued TEXT);
CREATE TABLE IF NOT EXISTS store_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT OR IGNORE INTO store_version VALUES (1, 0);
"""

# Columns added since the first stores were written: (table, column, definition), added when missing.
MIGRATIONS = (
    ("revisions", "kind", "TEXT NOT NULL DEFAULT 'full'"),  # every revision of an older store is a full snapshot
    ("features", "deleted", "INTEGER NOT NULL DEFAULT 0"),
)


@dataclass(frozen=True)
class Changes:
    """What one revision stored: rows put (added or replaced; CRS84, index = feature ids) and ids deleted."""

    full: bool
    puts: gpd.GeoDataFrame
    deleted: list[int]


class StaleHead(RuntimeError):
    """Someone else committed a revision of the layer since it was read: read again and redo the change."""


@dataclass(frozen=True)
class Revision:
    id: int
    layer: str
    created: str
    author: str
    action: str
    source_file: str | None
    feature_count: int
    added: int
    changed: int
    removed: int
    parent: int | None
    report: dict | None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _rows(frame: gpd.GeoDataFrame | None, properties: list[str] | None = None
          ) -> tuple[list[str], list[bytes], list[int]]:
    """Each feature as (properties JSON, WKB geometry, id) for the features table."""
    if frame is None or len(frame) == 0:
        return [], [], []
    records = properties if properties is not None else \
        [b.decode() for b in encode_properties(frame.drop(columns=frame.geometry.name))]
    geoms = frame.geometry.to_numpy()
    wkb = [w for start in range(0, len(geoms), GEOS_BATCH) for w in shapely.to_wkb(geoms[start:start + GEOS_BATCH])]
    return records, wkb, [int(f) for f in frame.index]


def _frame(rows: list) -> gpd.GeoDataFrame:
    """Rows of the features table (fid, properties, geometry, …) as a GeoDataFrame (CRS84, index = ids)."""
    props = pd.DataFrame([json.loads(r[1]) for r in rows])
    geoms = shapely.from_wkb([r[2] for r in rows]) if rows else []
    frame = gpd.GeoDataFrame(props, geometry=gpd.GeoSeries(geoms), crs="OGC:CRS84")
    frame.index = pd.Index([int(r[0]) for r in rows], dtype="int64")
    return frame


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def fault_pause() -> None:
    """Fault injection for tests: PLANMAP_FAULT_PAUSE_BEFORE_COMMIT seconds of sleep inside a write transaction,
    so that a test can kill the process there and find no partial revision."""
    pause = float(os.environ.get("PLANMAP_FAULT_PAUSE_BEFORE_COMMIT", "0") or 0)
    if pause:
        print(f"planmap: fault injection: pausing {pause:g} s before commit", file=sys.stderr, flush=True)
        time.sleep(pause)


WAIT_POLL_SECONDS = 0.1  # how often `wait_changed` reads the version of a store that cannot notify: 10 reads a second
# cost nothing next to a request, and an edit reaches other processes well within the 1 s they are promised


class RevisionStore:
    """What every store offers the workspace, the accounts and the CLI; the SQLite `Store` and the PostGIS
    `PostgisStore` implement the same methods over the same tables.

    `folder` is a local folder for scratch files (layers/scratch.py); `spec` is what opens the store again
    (a folder path or a postgresql:// URL, see layers/stores.py)."""

    folder: Path
    spec: str

    def version(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Close this thread's connection before a fork (`planmap serve --workers`): nothing by default."""

    def wait_changed(self, version: int, timeout: float) -> int:
        """The store's version as soon as it differs from `version`, or after `timeout` seconds (polling)."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.version()
            left = deadline - time.monotonic()
            if current != version or left <= 0:
                return current
            time.sleep(min(WAIT_POLL_SECONDS, left))

    def commit_changes(self, layer: str, puts: gpd.GeoDataFrame | None, deleted: list[int] | tuple[int, ...] = (),
                       **kwargs) -> Revision:
        raise NotImplementedError

    def revision(self, revision_id: int) -> Revision:
        raise NotImplementedError

    def lineage(self, revision_id: int, since: int | None = None) -> list[tuple[int, bool, int | None]]:
        raise NotImplementedError

    def changes(self, revision_id: int) -> Changes:
        raise NotImplementedError

    def revision_ids(self, layer: str) -> list[int]:
        raise NotImplementedError

    def head(self, layer: str) -> int | None:
        raise NotImplementedError

    def heads(self) -> dict[str, int]:
        raise NotImplementedError

    def layers_with_revisions(self) -> list[str]:
        raise NotImplementedError

    def internal_layers(self) -> set[str]:
        raise NotImplementedError

    def set_internal(self, layer: str, internal: bool, author: str) -> None:
        raise NotImplementedError

    def add_user(self, name: str, role: str, token_hash: str, created_by: str, expires: str) -> bool:
        raise NotImplementedError

    def set_token(self, name: str, token_hash: str, expires: str) -> bool:
        raise NotImplementedError

    def set_disabled(self, name: str, disabled: bool) -> bool:
        raise NotImplementedError

    def user_by_token_hash(self, token_hash: str) -> dict | None:
        raise NotImplementedError

    def users(self) -> list[dict]:
        raise NotImplementedError

    def commit_snapshot(self, layer: str, frame: gpd.GeoDataFrame, *, author: str, action: str,
                        source_file: str | None = None, report: dict | None = None,
                        counts: tuple[int, int, int] = (0, 0, 0), expected_head: int | None | bool = False
                        ) -> Revision:
        """Store `frame` (CRS84, index = feature ids) as the whole layer's new head revision."""
        return self.commit_changes(layer, frame, full=True, feature_count=len(frame), author=author, action=action,
                                   source_file=source_file, report=report, counts=counts,
                                   expected_head=expected_head)

    def history(self, layer: str) -> list[Revision]:
        return [self.revision(i) for i in self.revision_ids(layer)]

    def snapshot(self, revision_id: int, base: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
        """The whole layer as of one revision (CRS84, index = feature ids, in id order): its last full revision,
        or `base` (the shipped layer) when it has none, with the deltas since applied."""
        frame = base
        for revision, _full, _parent in self.lineage(revision_id):
            change = self.changes(revision)
            if change.full or frame is None:
                frame = change.puts
                continue
            touched = set(change.deleted) | set(change.puts.index.tolist())
            kept = frame[~frame.index.isin(list(touched))]
            puts = change.puts
            if len(puts) and puts.geometry.name != kept.geometry.name:
                puts = puts.rename_geometry(kept.geometry.name)
            frame = gpd.GeoDataFrame(pd.concat([kept, puts]) if len(puts) else kept,
                                     geometry=kept.geometry.name, crs="OGC:CRS84").sort_index()
        return frame if frame is not None else _frame([])


class Store(RevisionStore):
    """Layer revisions, layer settings and users in one SQLite file under PLANMAP_STORE."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.spec = str(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "planmap-store.sqlite"
        self._local = threading.local()
        self._pid = os.getpid()
        with self.connect() as db:
            db.executescript(SCHEMA)
            for table, column, definition in MIGRATIONS:
                if column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            self._migrate_users(db)

    @contextmanager
    def connect(self):
        """This thread's connection to the store, opened once: opening and closing one per call made each edit pay
        for a WAL checkpoint (the last connection to close checkpoints).  A forked child (a server worker) opens
        its own: SQLite connections must not cross a fork, so the parent's are left alone, never used or closed."""
        if self._pid != os.getpid():
            self._inherited = self._local  # kept referenced: closing them here could disturb the parent's locks
            self._local, self._pid = threading.local(), os.getpid()
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        yield db

    @contextmanager
    def transaction(self):
        """One writer at a time; everything inside commits together or not at all."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("UPDATE store_version SET version = version + 1 WHERE id = 1")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close this thread's connection (the next call opens a new one): `planmap serve` does so before it forks
        its workers, so that no connection is open across fork."""
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            db.close()

    def version(self) -> int:
        """A number that changes with every commit (of any process): what workers compare to catch up."""
        with self.connect() as db:
            return int(db.execute("SELECT version FROM store_version WHERE id = 1").fetchone()[0])

    def head(self, layer: str) -> int | None:
        with self.connect() as db:
            row = db.execute("SELECT revision FROM layer_head WHERE layer = ?", (layer,)).fetchone()
        return int(row[0]) if row else None

    def layers_with_revisions(self) -> list[str]:
        with self.connect() as db:
            return [r[0] for r in db.execute("SELECT layer FROM layer_head ORDER BY layer")]

    def heads(self) -> dict[str, int]:
        """Every layer with revisions → its head revision, in one read."""
        with self.connect() as db:
            return {r[0]: int(r[1]) for r in db.execute("SELECT layer, revision FROM layer_head")}

    def commit_changes(self, layer: str, puts: gpd.GeoDataFrame | None, deleted: list[int] | tuple[int, ...] = (),
                       *, full: bool = False, feature_count: int, author: str, action: str,
                       source_file: str | None = None, report: dict | None = None,
                       counts: tuple[int, int, int] = (0, 0, 0), expected_head: int | None | bool = False,
                       properties: list[str] | None = None) -> Revision:
        """Store one change of a layer as its new head revision, atomically: `puts` (CRS84, index = feature ids)
        added or replacing features, `deleted` ids removed — or, with `full`, `puts` is the whole layer.

        `expected_head`: the head revision the change was computed from (None: the shipped data); if another
        writer moved the head meanwhile, StaleHead is raised and nothing is written.  `properties`: each put
        row's properties as JSON text when the caller has them already.
        """
        records, wkb, fids = _rows(puts, properties)
        with self.transaction() as db:
            parent = db.execute("SELECT revision FROM layer_head WHERE layer = ?", (layer,)).fetchone()
            if expected_head is not False and (parent[0] if parent else None) != expected_head:
                raise StaleHead(layer)
            cur = db.execute(
                "INSERT INTO revisions (layer, created, author, action, source_file, feature_count, added, changed,"
                " removed, parent, report, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (layer, _now(), author, action, source_file, feature_count, *counts, parent[0] if parent else None,
                 json.dumps(report, ensure_ascii=False, default=str) if report is not None else None,
                 "full" if full else "delta"))
            revision = int(cur.lastrowid)
            db.executemany("INSERT INTO features (revision, fid, properties, geometry) VALUES (?, ?, ?, ?)",
                           zip([revision] * len(fids), fids, records, wkb, strict=True))
            if deleted and not full:
                db.executemany("INSERT INTO features (revision, fid, properties, geometry, deleted) "
                               "VALUES (?, ?, '{}', NULL, 1)", [(revision, int(f)) for f in deleted])
            fault_pause()  # a process killed here must leave no partial revision
            db.execute("INSERT INTO layer_head (layer, revision) VALUES (?, ?) "
                       "ON CONFLICT(layer) DO UPDATE SET revision = excluded.revision", (layer, revision))
        return self.revision(revision)

    def revision(self, revision_id: int) -> Revision:
        if not 0 < revision_id < 2**63:
            raise KeyError(revision_id)
        with self.connect() as db:
            row = db.execute("SELECT id, layer, created, author, action, source_file, feature_count, added, changed,"
                             " removed, parent, report FROM revisions WHERE id = ?", (revision_id,)).fetchone()
        if row is None:
            raise KeyError(revision_id)
        return Revision(*row[:-1], json.loads(row[-1]) if row[-1] else None)

    def revision_ids(self, layer: str) -> list[int]:
        """The layer's revisions, newest first."""
        with self.connect() as db:
            return [r[0] for r in db.execute("SELECT id FROM revisions WHERE layer = ? ORDER BY id DESC", (layer,))]

    def lineage(self, revision_id: int, since: int | None = None) -> list[tuple[int, bool, int | None]]:
        """(revision, full?, parent) from the last full revision at or before `revision_id` — or from the layer's
        first revision, or from just after `since` — up to `revision_id`, oldest first."""
        chain: list[tuple[int, bool, int | None]] = []
        with self.connect() as db:
            current: int | None = revision_id
            while current is not None and current != since:
                row = db.execute("SELECT parent, kind FROM revisions WHERE id = ?", (current,)).fetchone()
                if row is None:
                    raise KeyError(current)
                chain.append((current, row[1] == "full", row[0]))
                if row[1] == "full":
                    break
                current = row[0]
        return chain[::-1]

    def changes(self, revision_id: int) -> Changes:
        """What one revision stored."""
        with self.connect() as db:
            kind = db.execute("SELECT kind FROM revisions WHERE id = ?", (revision_id,)).fetchone()
            if kind is None:
                raise KeyError(revision_id)
            rows = db.execute("SELECT fid, properties, geometry, deleted FROM features WHERE revision = ? "
                              "ORDER BY fid", (revision_id,)).fetchall()
        puts = [r for r in rows if not r[3]]
        return Changes(kind[0] == "full", _frame(puts), [int(r[0]) for r in rows if r[3]])

    # -- settings ---------------------------------------------------------------------------------------------
    def internal_layers(self) -> set[str]:
        with self.connect() as db:
            return {r[0] for r in db.execute("SELECT layer FROM layer_settings WHERE internal = 1")}

    def set_internal(self, layer: str, internal: bool, author: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO layer_settings (layer, internal, updated, updated_by) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(layer) DO UPDATE SET internal = excluded.internal, updated = excluded.updated,"
                       " updated_by = excluded.updated_by", (layer, int(internal), _now(), author))

    # -- users ------------------------------------------------------------------------------------------------
    # Columns added to `users` after the first release: a store made by an older planmap keeps working; its users
    # are enabled, and a token without `expires` lasts the default lifetime from when it was issued
    # (layers/accounts.py).
    _USER_COLUMNS = {"expires": "TEXT", "disabled": "INTEGER NOT NULL DEFAULT 0", "token_issued": "TEXT"}

    def _migrate_users(self, db: sqlite3.Connection) -> None:
        """Add the users columns a store of an older planmap lacks (idempotent: only the missing ones)."""
        have = {row[1] for row in db.execute("PRAGMA table_info(users)")}
        missing = [c for c in self._USER_COLUMNS if c not in have]
        if not missing:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            have = {row[1] for row in db.execute("PRAGMA table_info(users)")}  # another process may have done it
            for column in [c for c in self._USER_COLUMNS if c not in have]:
                db.execute(f"ALTER TABLE users ADD COLUMN {column} {self._USER_COLUMNS[column]}")
            db.execute("UPDATE users SET token_issued = created WHERE token_issued IS NULL")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def add_user(self, name: str, role: str, token_hash: str, created_by: str, expires: str) -> bool:
        """A new user (False, and nothing written, when the name is taken)."""
        now = _now()
        with self.transaction() as db:
            cur = db.execute("INSERT INTO users (name, role, token_hash, created, created_by, expires, disabled,"
                             " token_issued) VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT(name) DO NOTHING",
                             (name, role, token_hash, now, created_by, expires, now))
            return cur.rowcount == 1

    def set_token(self, name: str, token_hash: str, expires: str) -> bool:
        """A user's new token (the old one stops working at once); False when there is no such user."""
        with self.transaction() as db:
            cur = db.execute("UPDATE users SET token_hash = ?, expires = ?, token_issued = ? WHERE name = ?",
                             (token_hash, expires, _now(), name))
            return cur.rowcount == 1

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable or re-enable a user; False when there is no such user."""
        with self.transaction() as db:
            cur = db.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
            return cur.rowcount == 1

    def user_by_token_hash(self, token_hash: str) -> dict | None:
        with self.connect() as db:
            row = db.execute("SELECT name, role, expires, disabled, token_issued FROM users WHERE token_hash = ?",
                             (token_hash,)).fetchone()
        return None if row is None else {"name": row[0], "role": row[1], "expires": row[2], "disabled": bool(row[3]),
                                         "token_issued": row[4]}

    def users(self) -> list[dict]:
        with self.connect() as db:
            return [{"name": r[0], "role": r[1], "created": r[2], "created_by": r[3], "expires": r[4],
                     "disabled": bool(r[5]), "token_issued": r[6]}
                    for r in db.execute("SELECT name, role, created, created_by, expires, disabled, token_issued"
                                        " FROM users ORDER BY name")]

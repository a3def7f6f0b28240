"""The embedded store: every layer change is a revision in one SQLite transaction — it lands whole or not at all.

A revision holds a full snapshot of its layer (the department's layers are thousands of features, not millions),
so history is linear, a rollback is a new revision copying an old one, and nothing is ever overwritten.
SQLite's journal makes a killed process leave no partial revision; WAL mode lets readers go on while one
writer commits; `BEGIN IMMEDIATE` serialises writers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.geojson import json_value

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
    report TEXT
);
CREATE TABLE IF NOT EXISTS features (
    revision INTEGER NOT NULL REFERENCES revisions(id),
    fid INTEGER NOT NULL,
    properties TEXT NOT NULL,
    geometry BLOB,
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


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Store:
    """Layer revisions, layer settings and users in one SQLite file under PLANMAP_STORE."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "planmap-store.sqlite"
        with self.connect() as db:
            db.executescript(SCHEMA)
            self._migrate_users(db)

    @contextmanager
    def connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

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

    def version(self) -> int:
        with self.connect() as db:
            return int(db.execute("SELECT version FROM store_version WHERE id = 1").fetchone()[0])

    # -- revisions --------------------------------------------------------------------------------------------
    def head(self, layer: str) -> int | None:
        with self.connect() as db:
            row = db.execute("SELECT revision FROM layer_head WHERE layer = ?", (layer,)).fetchone()
        return int(row[0]) if row else None

    def layers_with_revisions(self) -> list[str]:
        with self.connect() as db:
            return [r[0] for r in db.execute("SELECT layer FROM layer_head ORDER BY layer")]

    def commit_snapshot(self, layer: str, frame: gpd.GeoDataFrame, *, author: str, action: str,
                        source_file: str | None = None, report: dict | None = None,
                        counts: tuple[int, int, int] = (0, 0, 0), expected_head: int | None | bool = False
                        ) -> Revision:
        """Store `frame` (CRS84, index = feature ids) as the layer's new head revision, atomically.

        `expected_head`: the head revision the change was computed from (None: the shipped data); if another
        writer moved the head meanwhile, StaleHead is raised and nothing is written.
        """
        props = frame.drop(columns=frame.geometry.name)
        columns = list(props.columns)
        records = [json.dumps({c: json_value(v) for c, v in zip(columns, row, strict=True)}, ensure_ascii=False)
                   for row in props.itertuples(index=False, name=None)]
        wkb = shapely.to_wkb(frame.geometry.to_numpy())
        fids = [int(f) for f in frame.index]
        with self.transaction() as db:
            parent = db.execute("SELECT revision FROM layer_head WHERE layer = ?", (layer,)).fetchone()
            if expected_head is not False and (parent[0] if parent else None) != expected_head:
                raise StaleHead(layer)
            cur = db.execute(
                "INSERT INTO revisions (layer, created, author, action, source_file, feature_count, added, changed,"
                " removed, parent, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (layer, _now(), author, action, source_file, len(frame), *counts, parent[0] if parent else None,
                 json.dumps(report, ensure_ascii=False, default=str) if report is not None else None))
            revision = int(cur.lastrowid)
            db.executemany("INSERT INTO features (revision, fid, properties, geometry) VALUES (?, ?, ?, ?)",
                           zip([revision] * len(fids), fids, records, wkb, strict=True))
            pause = float(os.environ.get("PLANMAP_FAULT_PAUSE_BEFORE_COMMIT", "0") or 0)
            if pause:  # fault injection for tests: a process killed here must leave no partial revision
                print(f"planmap: fault injection: pausing {pause:g} s before commit", file=sys.stderr, flush=True)
                time.sleep(pause)
            db.execute("INSERT INTO layer_head (layer, revision) VALUES (?, ?) "
                       "ON CONFLICT(layer) DO UPDATE SET revision = excluded.revision", (layer, revision))
        return self.revision(revision)

    def revision(self, revision_id: int) -> Revision:
        with self.connect() as db:
            row = db.execute("SELECT id, layer, created, author, action, source_file, feature_count, added, changed,"
                             " removed, parent, report FROM revisions WHERE id = ?", (revision_id,)).fetchone()
        if row is None:
            raise KeyError(revision_id)
        return Revision(*row[:-1], json.loads(row[-1]) if row[-1] else None)

    def history(self, layer: str) -> list[Revision]:
        with self.connect() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM revisions WHERE layer = ? ORDER BY id DESC", (layer,))]
        return [self.revision(i) for i in ids]

    def snapshot(self, revision_id: int) -> gpd.GeoDataFrame:
        """The features of one revision (CRS84, index = feature ids)."""
        with self.connect() as db:
            rows = db.execute("SELECT fid, properties, geometry FROM features WHERE revision = ? ORDER BY fid",
                              (revision_id,)).fetchall()
        props = pd.DataFrame([json.loads(r[1]) for r in rows])
        geoms = shapely.from_wkb([r[2] for r in rows]) if rows else []
        frame = gpd.GeoDataFrame(props, geometry=gpd.GeoSeries(geoms), crs="OGC:CRS84")
        frame.index = pd.Index([int(r[0]) for r in rows], dtype="int64")
        return frame

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

"""Which store a deployment uses, from one setting: a folder keeps the embedded SQLite store there (the default of
`make run`); a `postgresql://` URL keeps the same tables in PostgreSQL + PostGIS, shared by several hosts."""

from __future__ import annotations

import os
from pathlib import Path

from geo.errors import BadRequest
from layers.revisions import RevisionStore, Store

DATABASE_SCHEMES = ("postgresql://", "postgres://")  # the two spellings libpq accepts
SCRATCH_SETTING = "PLANMAP_SCRATCH"  # environment variable: the local folder for scratch files of a database store


def is_database(spec: str | Path) -> bool:
    return isinstance(spec, str) and spec.lower().startswith(DATABASE_SCHEMES)


def open_store(spec: str | Path, scratch: str | Path | None = None) -> RevisionStore:
    """The store `spec` names: a folder (SQLite) or a postgresql:// URL (PostGIS).  A database store keeps its
    scratch files (uploads being imported) in `scratch`, else $PLANMAP_SCRATCH — a folder of this host."""
    if not is_database(spec):
        return Store(Path(spec))
    folder = scratch or os.environ.get(SCRATCH_SETTING)
    if not folder:
        raise BadRequest(f"a database store needs a local folder for scratch files: set {SCRATCH_SETTING}",
                         f"Kho cơ sở dữ liệu cần một thư mục tạm trên máy: hãy đặt {SCRATCH_SETTING}")
    from layers.store_postgis import PostgisStore

    return PostgisStore(str(spec), Path(folder))

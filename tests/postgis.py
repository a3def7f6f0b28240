"""A private PostgreSQL + PostGIS cluster for the tests: Debian's binaries, a temporary folder, 127.0.0.1 only.

`initdb` makes the cluster (trust authentication, which initdb limits to the unix socket and loopback), `pg_ctl`
starts it on a free port, and every test store gets a database of its own, copied from a template that has PostGIS
already.  The cluster is stopped and its folder removed at the end of the session.  PostgreSQL refuses to run as
root: as root, the binaries run as the `postgres` user of the Debian package.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PACKAGES = "postgresql postgis (Debian: apt-get install postgresql-15 postgresql-15-postgis-3)"
PG_ROOT = Path("/usr/lib/postgresql")  # where Debian installs each major version's binaries
OS_USER = "postgres"  # the user Debian's postgresql package creates; the server will not run as root
TEMPLATE = "planmap_template"  # a database with PostGIS created once; each test database is a copy of it
START_TIMEOUT_SECONDS = 60  # pg_ctl waits this long for the server to accept connections (2 busy cores)


def binaries() -> tuple[Path | None, str]:
    """The newest installed PostgreSQL's bin folder that has PostGIS next to it, or None and what is missing."""
    versions = sorted((p for p in PG_ROOT.glob("*/bin/initdb")), key=lambda p: int(re.sub(r"\D", "", p.parts[-3])
                                                                                 or 0))
    if not versions:
        return None, f"PostgreSQL is not installed (no {PG_ROOT}/*/bin/initdb)"
    bindir = versions[-1].parent
    share = Path(subprocess.run([bindir / "pg_config", "--sharedir"], capture_output=True, text=True,
                                check=True).stdout.strip())
    if not (share / "extension" / "postgis.control").exists():
        return None, f"PostGIS is not installed for {bindir.parent.name} (no {share}/extension/postgis.control)"
    return bindir, ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One running private cluster; `new_database()` gives the URL of a fresh, empty PostGIS database."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="planmap-pg-"))
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", OS_USER, "--"]
        self.data = self.folder / "data"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--no-locale", "--no-sync")
        # fsync off: a throwaway cluster need not survive a power cut, and the tests' commits then cost no disk flush
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
                  "-t", str(START_TIMEOUT_SECONDS), "-o", options, "start")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"
        self.sql("postgres", f"CREATE DATABASE {TEMPLATE}")
        self.sql(TEMPLATE, "CREATE EXTENSION postgis")

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([*self._as, str(self.bindir / program), *args], capture_output=True, text=True,
                              cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def sql(self, database: str, statement: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"{self.url}/{database}", autocommit=True) as db:
            cur = db.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def new_database(self) -> str:
        name = f"planmap_test_{next(self._names)}"
        self.sql("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return f"{self.url}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

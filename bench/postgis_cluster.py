"""A private PostgreSQL + PostGIS cluster in bench/out for the peers that need one (tipg), loaded from the GeoPackage.

The cluster lives in ``bench/out/pg/`` and listens on 127.0.0.1 only (no Unix socket outside that folder), with
``trust`` authentication for one superuser ``bench``: it is a throw-away benchmark database nobody else can reach.
initdb refuses to run as root, so when the benchmark runs as root the cluster belongs to the ``postgres`` OS user.
Each layer is copied with GDAL (``-preserve_fid``) so the table's primary key ``fid`` equals the GeoPackage fid and
ids match across servers, with a GiST index on ``geom``. The load is kept between runs and redone only when the
GeoPackage changes (its size and mtime are recorded in ``loaded-from.txt``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DB = "bench"
USER = "bench"
START_TIMEOUT_S = 60  # pg_ctl -w waits at most this long for the cluster to accept connections
OS_USER = "postgres"  # Debian's postgresql package creates it; initdb must not run as root


def pg_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql postgis (bench/serving.sh does)")
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """`with Cluster(folder) as pg:` starts (creating it the first time) and stops a loopback-only cluster."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.sock = folder / "sock"
        self.bin = pg_bin()
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    # -- running commands as the cluster's owner
    def _run(self, cmd: list[str], **kw) -> subprocess.CompletedProcess:
        if self.as_postgres:
            kw.update(user=OS_USER, group=OS_USER)
        return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd="/", **kw)

    def dsn(self, **query: str) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DB}" + (f"?{q}" if q else "")

    def psql(self, sql: str, db: str = DB) -> str:
        cmd = [str(self.bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
               "-p", str(self.port), "-U", USER, "-d", db, "-c", sql]
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()

    def __enter__(self) -> Cluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sock.mkdir(exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.folder, OS_USER, OS_USER)
            shutil.chown(self.sock, OS_USER, OS_USER)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
                       "--encoding=UTF8", "--locale=C.UTF-8"])
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.sock}"
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgresql.log"),
                   "-o", opts, "-w", "-t", str(START_TIMEOUT_S), "start"])
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def backend_pids(self, application_name: str) -> list[int]:
        """The server processes that serve one client application (tipg sets it in its DSN)."""
        rows = self.psql(f"SELECT pid FROM pg_stat_activity WHERE application_name = '{application_name}'",
                         db="postgres")
        return [int(r) for r in rows.split()]

    def versions(self) -> dict[str, str]:
        return {"postgresql": self.psql("SHOW server_version", db="postgres"),
                "postgis": self.psql("SELECT postgis_lib_version()")}

    # -- data
    def load(self, gpkg: Path, layers: tuple[str, ...]) -> float:
        """Copy `layers` of `gpkg` into the database unless this exact file is already loaded; seconds spent."""
        stamp = f"{gpkg.resolve()} {gpkg.stat().st_size} {gpkg.stat().st_mtime_ns} {','.join(layers)}"
        marker = self.folder / "loaded-from.txt"
        if marker.exists() and marker.read_text() == stamp:
            return 0.0
        from osgeo import gdal  # Debian's python3-gdal: only the loader needs it

        gdal.UseExceptions()
        started = time.perf_counter()
        marker.unlink(missing_ok=True)
        self.psql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
        self.psql(f"CREATE DATABASE {DB}", db="postgres")
        self.psql("CREATE EXTENSION postgis")
        target = f"PG:host=127.0.0.1 port={self.port} dbname={DB} user={USER}"
        for layer in layers:
            gdal.VectorTranslate(
                target, str(gpkg),
                options=["-f", "PostgreSQL", "-preserve_fid", "-nln", layer, "-lco", "FID=fid",
                         "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", "-lco", "LAUNDER=NO",
                         "-overwrite", layer],
            )
            self.psql(f"VACUUM ANALYZE {layer}")
        marker.write_text(stamp)
        return time.perf_counter() - started

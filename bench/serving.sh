#!/usr/bin/env bash
# Side-by-side serving benchmark: planmap vs tipg over PostGIS (1 and 2 workers) vs pygeoapi (OGR provider), on the
# same generated data.
#
#   bash bench/serving.sh                 # full run (≈ 35 min): data, set-up, every server, wrk, edits, tables
#   bash bench/serving.sh --quick         # the whole pipeline with short cells and one round (≈ 5 min)
#   bash bench/serving.sh --rounds 1      # extra arguments go to bench/serving.py (see --help)
#   PREPARE_ONLY=1 bash bench/serving.sh  # only install and generate what the benchmarks need (make bench-tiles)
#   PLANMAP_PYTHON=/path/.venv/bin/python bash bench/serving.sh   # planmap's dependencies from another venv
#
# Needs root (or sudo-less apt) only the first time, to install wrk, python3-gdal, PostgreSQL and PostGIS from
# Debian. Everything it creates lives in bench/out/ (git-ignored): bench.gpkg, pg/ (the private PostGIS cluster),
# pygeoapi-venv/, tipg-venv/, tools-venv/, pygeoapi-config.yml, server logs, serving-results.md/.json. Every server
# and the cluster are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=bench/out
mkdir -p "$OUT"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- system packages: wrk (load tool), python3-gdal (GDAL bindings for pygeoapi's OGR provider)
need=()
command -v wrk >/dev/null || need+=(wrk)
/usr/bin/python3 -c 'from osgeo import ogr' 2>/dev/null || need+=(python3-gdal)
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
compgen -G '/usr/share/postgresql/*/extension/postgis.control' >/dev/null || need+=(postgis)
if ((${#need[@]})); then
    log "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- a Python with numpy/shapely/pyogrio for the data generator: planmap's own venv if it has them,
#     else a scratch venv in bench/out
PY="${PLANMAP_PYTHON:-$ROOT/.venv/bin/python}"
if ! "$PY" -c 'import numpy, shapely, pyogrio' 2>/dev/null; then
    PY="$ROOT/$OUT/tools-venv/bin/python"
    if ! "$PY" -c 'import numpy, shapely, pyogrio' 2>/dev/null; then
        log "creating $OUT/tools-venv for the data generator"
        python3 -m venv "$OUT/tools-venv"
        "$OUT/tools-venv/bin/pip" install -q numpy shapely pyogrio
    fi
fi

# --- data
if [[ ! -s $OUT/bench.gpkg ]]; then
    log "generating $OUT/bench.gpkg"
    "$PY" bench/make_data.py --out "$OUT/bench.gpkg"
fi

# --- pygeoapi in its own venv on the system Python (so it sees Debian's GDAL bindings)
PYG=$OUT/pygeoapi-venv
if ! "$PYG/bin/python" -c 'import pygeoapi, gunicorn, gevent, uvicorn, starlette, packaging; from osgeo import ogr' \
        2>/dev/null; then
    log "creating $PYG (pygeoapi, gunicorn, gevent, uvicorn, starlette)"
    rm -rf "$PYG"
    /usr/bin/python3 -m venv --system-site-packages "$PYG"
    "$PYG/bin/pip" install -q --upgrade pip
    "$PYG/bin/pip" install -q pygeoapi gunicorn gevent uvicorn starlette packaging
fi

# --- tipg (served by uvicorn) in its own venv
TIPG=$OUT/tipg-venv
if ! "$TIPG/bin/python" -c 'import tipg, uvicorn' 2>/dev/null; then
    log "creating $TIPG (tipg, uvicorn)"
    rm -rf "$TIPG"
    /usr/bin/python3 -m venv "$TIPG"
    "$TIPG/bin/pip" install -q --upgrade pip
    "$TIPG/bin/pip" install -q tipg uvicorn
fi

# --- planmap: this checkout's code, run with the Python of a venv that has its dependencies
PM_PY=${PLANMAP_PYTHON:-$ROOT/.venv/bin/python}
if ! "$PM_PY" -c 'import fastapi, shapely, pyogrio' 2>/dev/null; then
    echo "planmap's dependencies are not installed in $PM_PY — run: make .venv/.installed" >&2
    exit 2
fi

if [ -n "${PREPARE_ONLY:-}" ]; then
    log "prepared: $OUT/bench.gpkg, wrk, PostgreSQL + PostGIS, tipg and pygeoapi venvs"
    exit 0
fi

# bench/serving.py starts the cluster and every server, stops them on exit (also on Ctrl-C / SIGTERM)
exec /usr/bin/python3 bench/serving.py --planmap-python "$PM_PY" "$@"

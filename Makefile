# planmap — two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DATA   := data/planmap.gpkg

.PHONY: run test lint data assets bench bench-loop bench-reliability bench-scaling bench-tiles bench-analysis screenshots system-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The shipped default dataset, rebuilt from data/sources whenever a source or the build changes.
$(DATA): $(VENV)/.installed layers/build_dataset.py $(shell find data/sources -type f 2>/dev/null)
	$(BIN)/planmap build-data --out $(DATA)

data: $(DATA)

# Browser assets of the map (Leaflet and plugins) from the npm registry, exactly as package-lock.json pins them.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

assets: node_modules/.installed

# WORKERS=N: serving processes (default: one per core). BASEMAPS="a.mbtiles b.tif": the office's own backgrounds
# (each becomes a --basemap; file names without spaces).
run: $(VENV)/.installed $(DATA) node_modules/.installed
	$(BIN)/planmap serve --host $(HOST) --port $(PORT) $(if $(WORKERS),--workers $(WORKERS)) \
		$(foreach f,$(BASEMAPS),--basemap '$(f)')

# What the tests need from Debian itself: stop at once, naming the package, rather than skip tests later.
CHROMIUM ?= /usr/bin/chromium
system-check:
	@missing=""; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	[ -x "$(CHROMIUM)" ] || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing="$$missing postgresql-postgis"; \
	[ -d /usr/lib/python3/dist-packages/qgis/core ] || missing="$$missing python3-qgis"; \
	if [ -n "$$missing" ]; then \
		echo "make test needs Debian packages that are not installed:$$missing"; \
		echo "install them with:  sudo apt-get install -y$$missing   (or run .ci/run, which does)"; \
		exit 1; \
	fi

test: system-check $(VENV)/.installed-test $(DATA) node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/pytest

# The README's pictures (docs/screenshots/*.png), written only when asked.
screenshots: system-check $(VENV)/.installed-test $(DATA) node_modules/.installed
	PLANMAP_SCREENSHOTS=1 $(BIN)/pytest -q tests/test_web_map.py tests/test_web_tools.py tests/test_printmap.py \
		tests/test_web_edits.py tests/test_gis_styles.py tests/test_web_coverage.py tests/test_terrain.py \
		tests/test_web_suggest.py tests/test_web_supervision.py \
		-k "default_view_is_offline or fuel_station_next_to_a_school or cluster_plan_screenshot or colleagues_change \
		or draws_the_project or draws_the_overlay_legend or slope_overlay_with_legend or surface_reports_and_export \
		or choropleth_of_the_chosen_indicator"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# planmap, tipg over PostGIS and pygeoapi on the same data (docs/benchmarks.md); BENCH_ARGS=--quick checks the
# pipeline in about 5 minutes.
bench: $(VENV)/.installed
	bash bench/serving.sh $(BENCH_ARGS)

# Light reads while other users run heavy checks with PDF reports: this version against the one before the work
# pool (docs/benchmarks.md).
bench-loop: $(VENV)/.installed $(DATA)
	$(BIN)/python bench/loop_latency.py

# Readers, checks, a 200,000-feature import, single-feature edits and hostile clients at once; figures in
# docs/reliability-load.md (results: bench/out/reliability.json).
bench-reliability: $(VENV)/.installed-test $(DATA)
	$(BIN)/python bench/reliability.py

# Two hosts x 2 workers on one PostGIS store with a million features (docs/scaling.md; bench/out/scaling.json).
# Needs Debian's postgresql + postgis and wrk (bench/serving.sh installs them).
bench-scaling: $(VENV)/.installed node_modules/.installed
	$(BIN)/python bench/scaling.py

# Vector tiles: planmap against tipg over PostGIS, a z12 and a z15 tile of each layer (bench/tiles.py; results in
# bench/out/tiles-results.md). Needs the set-up of bench/serving.sh (`make bench BENCH_ARGS=--quick` makes it).
bench-tiles: $(VENV)/.installed
	PREPARE_ONLY=1 bash bench/serving.sh
	/usr/bin/python3 bench/tiles.py --planmap-python $(BIN)/python $(BENCH_ARGS)

# Site suggestions and network coverage over HTTP, on the shipped data and on a 10x denser synthetic network,
# against checking every grid cell through POST /checks (bench/analysis.py; results in bench/out/analysis-results.md).
bench-analysis: $(VENV)/.installed $(DATA)
	$(BIN)/python bench/analysis.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DATA) node_modules

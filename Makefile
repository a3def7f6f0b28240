# planmap — two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DATA   := data/planmap.gpkg

.PHONY: run test lint data assets bench clean

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

run: $(VENV)/.installed $(DATA) node_modules/.installed
	$(BIN)/planmap serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test $(DATA) node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

bench: $(VENV)/.installed
	bash bench/serving.sh

clean:
	rm -rf $(VENV) $(DATA) node_modules

# One task runner, the same targets everywhere (README: `make run`, `make test`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
DB := data/observatoire.duckdb

.PHONY: setup run build test test-unit test-browser bench lint browser-deps postgres-deps clean

# Runtime environment: venv with the exact pins, offline Leaflet assets, analytical database.
setup: $(VENV)/.runtime-installed static/leaflet/leaflet.js $(DB)

$(VENV)/.runtime-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

static/leaflet/leaflet.js: $(VENV)/.runtime-installed
	$(PY) -m ui.static_assets

# The database is rebuilt only when missing; `make build` forces it.
$(DB): | $(VENV)/.runtime-installed
	$(PY) -m observatory build

build: $(VENV)/.runtime-installed
	$(PY) -m observatory build

run: setup
	@echo "L'Observatoire des CPTS est servi sur http://localhost:$(PORT)"
	$(VENV)/bin/streamlit run serve.py --server.port $(PORT)

# Debian's Chromium for the real-browser tests (never `playwright install`: it downloads a browser).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core; \
	fi
	@/usr/bin/chromium --version

# Debian's PostgreSQL for the tests of the shared user-data store (a real server on loopback, never a mock).
postgres-deps:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; \
	fi
	@ls -d /usr/lib/postgresql/*/bin | tail -n 1

test: $(VENV)/.dev-installed static/leaflet/leaflet.js browser-deps postgres-deps
	$(PY) -m pytest -q

test-unit: $(VENV)/.dev-installed
	$(PY) -m pytest -q -m "not browser"

bench: setup
	$(PY) scripts/bench_all.py

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check observatory geo ui pages app.py tests scripts

clean:
	rm -rf $(VENV) static $(DB)

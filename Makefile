# korona — the commands the README tells people to type.
# Debian's own python3.11 when it can make a virtual environment (package python3.11-venv): it is
# built with profile-guided and link-time optimisation, and ran korona's requests faster than a
# python3.11 compiled without them, as pyenv does by default (docs/benchmarks.md). Otherwise the
# python3.11 on the PATH.
DEBIAN_PYTHON := $(shell /usr/bin/python3.11 -c 'import ensurepip' >/dev/null 2>&1 && echo /usr/bin/python3.11)
PYTHON ?= $(or $(DEBIAN_PYTHON),python3.11)
VENV   ?= .venv
BIN    := $(VENV)/bin
export KORONA_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test test-fast lint bench bench-national translations clean install install-test system-deps

$(BIN)/korona: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

install: $(BIN)/korona

$(VENV)/.test-deps: $(BIN)/korona pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install-test: $(VENV)/.test-deps

## system-deps: the Debian packages the tests need (chromium, PostgreSQL, fonts, R); installs as root
system-deps:
	@bash scripts/system-deps.sh

## run: install, migrate the embedded SQLite database, load the demo once, serve on :8000
run: install
	$(BIN)/korona db upgrade
	$(BIN)/korona demo --if-empty
	$(BIN)/korona serve --host 127.0.0.1 --port 8000

## test: the whole suite — unit, integration (SQLite and PostgreSQL), end-to-end (chromium)
test: system-deps install-test
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

## test-fast: unit tests only
test-fast: install-test
	$(BIN)/python -m pytest -q tests/unit

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

## bench: the targets of docs/benchmarks.md (minutes); bench-national adds the store-wide run
bench: install-test
	$(BIN)/python benchmarks/bench_simulate.py --out /tmp/korona-bench
	$(BIN)/python benchmarks/bench_ingest.py --file /tmp/korona-bench/kuhr_2019.parquet
	$(BIN)/python benchmarks/bench_detect.py --reference-series 150
	$(BIN)/python benchmarks/match_latency.py
	$(BIN)/python benchmarks/match_quality.py
	$(BIN)/python benchmarks/bench_scoring.py

bench-national: install-test
	$(BIN)/python benchmarks/evaluate_detection.py --work /tmp/korona-eval
	$(BIN)/python benchmarks/bench_store_series.py --data-dir /tmp/korona-eval/var

## translations: extract message ids and merge them into the Norwegian catalogue
translations: install-test
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k gettext -k ngettext:1,2 -k MapError --no-location \
		--sort-output --project korona -o src/korona/web/translations/messages.pot .
	$(BIN)/pybabel update -i src/korona/web/translations/messages.pot \
		-d src/korona/web/translations -l nb --no-fuzzy-matching --ignore-obsolete --width 100

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Two commands: `make run` serves on the embedded default, `make test` runs the whole suite
# (`make test-fast`: the quick part of it, while working).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast test-embedded test-scaleout screenshots bench bench-import bench-api bench-web clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/crowdexports migrate
	@echo "The page: http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT)/web/ (a user to sign in with: $(BIN)/crowdexports demo)"
	$(BIN)/crowdexports serve --host $(HOST) --port $(PORT)

# The whole suite on both stacks: embedded (SQLite, SqliteHuey, files), then scale-out (PostgreSQL,
# RedisHuey, S3), whose servers the tests start themselves (Debian: postgresql redis-server).
test: $(VENV)/.installed-test
	scripts/ensure-system-packages
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest
	CROWDEXPORTS_TEST_STACK=scaleout $(BIN)/pytest

# The inner loop: the tests not marked slow (no server in a subprocess, no LibreOffice, no Schemathesis,
# nothing of tests/e2e, none of tests/conftest.py's HEAVY_MODULES), on the embedded stack, one pytest
# worker per core, an idle worker taking tests queued for the other.
test-fast: $(VENV)/.installed-test
	CROWDEXPORTS_TEST_STACK=embedded $(BIN)/pytest -m "not slow" -q -n auto --dist worksteal

test-embedded: $(VENV)/.installed-test
	$(BIN)/pytest

test-scaleout: $(VENV)/.installed-test
	scripts/ensure-system-packages
	CROWDEXPORTS_TEST_STACK=scaleout $(BIN)/pytest

# The README's screenshots (docs/images/), taken by the browser tests; other runs keep theirs in a
# temporary folder.
screenshots: $(VENV)/.installed-test
	scripts/ensure-system-packages chromium
	CROWDEXPORTS_TEST_STACK=embedded CROWDEXPORTS_SCREENSHOTS=1 $(BIN)/pytest -q tests/web/browser/test_flow.py tests/web/browser/test_staff.py tests/web/browser/test_webhooks.py

# SPEC §8's targets at 50,000, 200,000 and 400,000 orders, PASS/MISS against reference runs;
# `make bench BENCH_ARGS=--million` adds 1,000,000 orders (the peak-memory target's size).
# Needs the sqlite3 tool (the reference dump), installed here when missing and root.
BENCH_ARGS ?=
bench: $(VENV)/.installed-test
	scripts/ensure-system-packages sqlite3
	$(BIN)/python benchmarks/export_orders.py $(BENCH_ARGS)

# `crowdexports import orders` on a generated file of 1,000,000 Ulule order lines: lines/s and peak RSS;
# `make bench-import BENCH_IMPORT_ARGS="--orders 100000 --again"` for a quicker run, then a re-import.
BENCH_IMPORT_ARGS ?=
bench-import: $(VENV)/.installed
	$(BIN)/python benchmarks/import_orders.py $(BENCH_IMPORT_ARGS)

# The API under wrk (issue 6, SPEC §8): show and list with APIKey, Bearer and Basic credentials beside a bare
# FastAPI route, PASS/MISS on the req/s and p99 targets; data seeded once in bench-data/api/ and reused.
# `make bench-api BENCH_API_ARGS="--soak 600"` adds a 10-minute soak with every process's RSS.
# Needs Debian's wrk, installed here when missing and root.
BENCH_API_ARGS ?=
bench-api: $(VENV)/.installed
	scripts/ensure-system-packages wrk
	$(BIN)/python benchmarks/api_load.py $(BENCH_API_ARGS)

# The page's server time with 1,000 exports in a project (`BENCH_WEB_ARGS="--exports 10000"`).
BENCH_WEB_ARGS ?=
bench-web: $(VENV)/.installed-test
	$(BIN)/python benchmarks/web_page.py $(BENCH_WEB_ARGS)

clean:
	rm -rf $(VENV) var

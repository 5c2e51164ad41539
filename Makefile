# Two commands for a newcomer: `make run` serves the shop, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint fmt bench stop-db clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Serve the full service on 127.0.0.1:8000: embedded PostgreSQL, migrations, demo data, fake gateway.
run: $(STAMP)
	$(BIN)/ecommerce serve --demo

## The whole test suite against a real PostgreSQL (embedded unless ECOMMERCE_TEST_DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/pytest

## The inner loop: unit and integration tiers, no gunicorn or subprocesses (tests/e2e left out).
test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e"

## Service vs a raw-asyncpg baseline under wrk (prints numbers; see bench/http_bench.py).
bench: $(STAMP)
	$(BIN)/python bench/http_bench.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Stop the embedded PostgreSQL (make run leaves it running so the next start is quick).
stop-db:
	@if [ -x $(BIN)/ecommerce ]; then $(BIN)/ecommerce stop-db; fi

clean: stop-db
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache

# Tasks of billclass; .ci/run uses these same targets. Run `make help` for the list.
# Everything runs from the virtualenv .venv that `make install` creates (README "Quick start").

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Packages mypy checks (strict, configured in pyproject.toml).
MYPY_PATHS ?= gql tenancy db tests bench
# Line coverage of the service's packages; the floor is fail_under in pyproject.toml.
COVERAGE := --cov=gql --cov=tenancy --cov=db --cov-report=term
# Extra options for a benchmark, e.g. make bench BENCH_ARGS='--duration 30'.
BENCH_ARGS ?=

.PHONY: help install check test test-postgres coverage bench bench-noisy vendor-graphiql

help:
	@echo "make install        virtualenv .venv with the service and its test tools"
	@echo "make check          ruff check, ruff format --check, mypy, schema drift"
	@echo "make test           the whole suite on SQLite, with the coverage floor (CI)"
	@echo "make test-postgres  the whole suite on PostgreSQL at 127.0.0.1:5432"
	@echo "make coverage       the suite on SQLite with a line-by-line HTML report in htmlcov/"
	@echo "make bench          our service against the raw baseline (bench/README.md)"
	@echo "make bench-noisy    the noisy-neighbour benchmark (bench/README.md)"
	@echo "make vendor-graphiql  re-fetch the pinned GraphiQL build with npm (README \"GraphiQL\")"

install:
	$(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q -e '.[test]'

check:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_PATHS)
	$(BIN)/billclass export-schema | diff -u gql/schema.graphql -

test:
	$(BIN)/pytest $(COVERAGE)

test-postgres:
	BILLCLASS_TEST_DATABASE=postgresql $(BIN)/pytest

coverage:
	$(BIN)/pytest $(COVERAGE) --cov-report=html

bench:
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-noisy:
	$(BIN)/python -m bench.noisy_neighbour $(BENCH_ARGS)

vendor-graphiql:
	gql/static/graphiql/update.sh

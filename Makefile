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
# Extra pytest options for make test-citus, e.g. CITUS_ARGS='-x tests/api'.
CITUS_ARGS ?=
# What make test-citus leaves out (README "Citus in CI"): tests/reliability (real server
# processes, fault injection, timing) for .ci/run's time budget, and tests/browser
# (GraphiQL, no database). CITUS_SUBSET= runs everything.
CITUS_SUBSET ?= --ignore=tests/reliability --ignore=tests/browser
# Installs come from the lockfiles in requirements/ (every package pinned, with hashes), so a
# new release of a library or a linter changes nothing until a commit updates the lock.
# `make lock` regenerates them with uv, itself pinned here; LOCK_ARGS=--upgrade moves every
# pin to the newest release the bounds in pyproject.toml allow (else pins are kept).
UV_VERSION := 0.13.9
LOCK_ARGS ?=
LOCK := $(BIN)/uv pip compile pyproject.toml requirements/build.in --python-version 3.11 \
	--universal --generate-hashes --custom-compile-command 'make lock' --quiet $(LOCK_ARGS)

.PHONY: help install lock check test test-postgres citus citus-stop test-citus coverage bench \
	bench-scale bench-noisy bench-webhooks bench-citus vendor-graphiql

help:
	@echo "make install        virtualenv .venv with the service and its test tools (locked)"
	@echo "make lock           regenerate requirements/*.lock from pyproject.toml (uv)"
	@echo "make check          ruff check, ruff format --check, mypy, schema drift"
	@echo "make test           the whole suite on SQLite, with the coverage floor (CI)"
	@echo "make test-postgres  the whole suite on PostgreSQL at 127.0.0.1:5432"
	@echo "make citus          build Citus (cached in .cache/citus) and start a local cluster"
	@echo "make citus-stop     stop that cluster"
	@echo "make test-citus     the whole suite on that Citus cluster (coordinator 127.0.0.1:9700)"
	@echo "make coverage       the suite on SQLite with a line-by-line HTML report in htmlcov/"
	@echo "make bench          our service against the raw baseline (bench/README.md)"
	@echo "make bench-scale    throughput of 1, 2 and 3 instances on PostgreSQL (bench/README.md)"
	@echo "make bench-noisy    the noisy-neighbour benchmark (bench/README.md)"
	@echo "make bench-webhooks webhook throughput and added mutation latency (bench/webhooks.py)"
	@echo "make bench-citus    shards (tasks) each request's statements touch on Citus"
	@echo "make vendor-graphiql  re-fetch the pinned GraphiQL build with npm (README \"GraphiQL\")"

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements/test.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .

# test.lock: the service, tracing and the test tools (make install, CI); service.lock: the
# service and tracing only (README "Quick start", deployments). Both hold setuptools too.
lock:
	test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==$(UV_VERSION)
	$(LOCK) --extra test -o requirements/test.lock
	$(LOCK) --extra otel -o requirements/service.lock

check:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_PATHS)
	$(BIN)/billclass export-schema | diff -u gql/schema.graphql -

test:
	$(BIN)/pytest $(COVERAGE)

test-postgres:
	BILLCLASS_TEST_DATABASE=postgresql $(BIN)/pytest

# Citus (issue 13): built from ../shared/vendor/citus, installed into the system
# PostgreSQL 15, a coordinator and two workers on 127.0.0.1:9700-9702 (.ci/citus-*).
citus:
	.ci/citus-build
	.ci/citus-cluster start

citus-stop:
	.ci/citus-cluster stop

test-citus:
	BILLCLASS_TEST_DATABASE=citus $(BIN)/pytest $(CITUS_SUBSET) $(CITUS_ARGS)

coverage:
	$(BIN)/pytest $(COVERAGE) --cov-report=html

bench:
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-scale:
	$(BIN)/python -m bench.scale_out $(BENCH_ARGS)

bench-noisy:
	$(BIN)/python -m bench.noisy_neighbour $(BENCH_ARGS)

bench-webhooks:
	$(BIN)/python -m bench.webhooks $(BENCH_ARGS)

bench-citus:
	BILLCLASS_TEST_DATABASE=citus $(BIN)/python -m bench.citus_tasks $(BENCH_ARGS)

vendor-graphiql:
	gql/static/graphiql/update.sh

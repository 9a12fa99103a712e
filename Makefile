# AgentOS — every entry point a developer or CI needs.
#   make serve     set up .venv, migrate, and run the server on its embedded defaults
#   make test      set up everything the tests need and run them on SQLite and on PostgreSQL + Redis
#   make check     lint, types, buf lint, buf breaking, and generated-stub drift
#   make generate  regenerate the Python stubs from protos/
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
NODE_STAMP := node_modules/.installed
BUF := node_modules/.bin/buf

.PHONY: serve worker migrate test test-sqlite test-postgres check lint types buf-lint buf-breaking \
        stubs-check generate bench clean system-tools services

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(RUNTIME_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

serve: $(RUNTIME_STAMP)
	$(BIN)/agentos migrate
	$(BIN)/agentos serve

worker: $(RUNTIME_STAMP)
	$(BIN)/agentos worker

migrate: $(RUNTIME_STAMP)
	$(BIN)/agentos migrate

# Debian packages the tests drive for real (bubblewrap sandboxes scripts).
system-tools:
	@bash scripts/ensure-system-tools.sh

# PostgreSQL and Redis on loopback; started when down; under CI=true a missing one fails the run.
services:
	@bash scripts/ensure-services.sh

test: $(DEV_STAMP) $(NODE_STAMP) system-tools services
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: $(DEV_STAMP)
	AGENTOS_TEST_BACKEND=sqlite $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgres: $(DEV_STAMP)
	AGENTOS_TEST_BACKEND=postgres $(BIN)/pytest -q $(PYTEST_ARGS)

check: $(DEV_STAMP) $(NODE_STAMP) lint types buf-lint buf-breaking stubs-check

LINT_PATHS = $(wildcard server tests bench scripts migrations examples) clients/python/agentos/client.py clients/python/agentos/__init__.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

types: $(DEV_STAMP)
	$(BIN)/mypy

buf-lint: $(NODE_STAMP)
	$(BUF) lint

# Compares the contracts in the working tree with the last commit: a wire-breaking edit fails here
# before it is committed.
buf-breaking: $(NODE_STAMP)
	@if git rev-parse --verify -q HEAD >/dev/null && git cat-file -e HEAD:protos 2>/dev/null; then \
	  $(BUF) breaking --against '.git#ref=HEAD'; else echo "buf breaking: no committed protos yet"; fi

generate: $(DEV_STAMP)
	$(BIN)/python scripts/generate.py

stubs-check: $(DEV_STAMP)
	$(BIN)/python scripts/generate.py --check

bench: $(DEV_STAMP) services
	@echo "Run one: $(BIN)/python bench/<name>.py --help"

clean:
	rm -rf $(VENV) node_modules .agentos .pytest_cache .mypy_cache .ruff_cache

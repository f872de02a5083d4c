SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Targets list their prerequisites in the order they must run (services, then
# lint, then tests); keep that order under `make -j` too.
.NOTPARALLEL:

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: help venv dev run services lint fmt test bench clean

help:
	@echo "make run       serve the API on $(HOST):$(PORT) (HOST=… PORT=… to change)"
	@echo "make services  start PostgreSQL and Redis for the tests if they are not up"
	@echo "make lint      ruff, mypy and the import contracts"
	@echo "make fmt       format and autofix"
	@echo "make test      services + lint + pytest (PYTEST_ARGS=… passed to pytest)"
	@echo "make bench     services + benchmarks"
	@echo "make clean     remove var/ and caches (keeps .venv)"

$(BIN)/python:
	python3 -m venv $(VENV)

# The stamps make pip run again only when pyproject.toml changes. Its output
# (build backend warnings included) is shown only when the install fails.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing companion into $(VENV)"
	@$(PIP) install -e . >$(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing companion[dev] into $(VENV)"
	@$(PIP) install -e '.[dev]' >$(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@touch $@ $(RUN_STAMP)

venv: $(RUN_STAMP)

dev: $(DEV_STAMP)

run: venv
	$(BIN)/companion serve --host $(HOST) --port $(PORT)

services:
	@scripts/services.sh

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: dev services lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: dev services
	$(BIN)/python -m benchmarks

clean:
	@scripts/services.sh stop
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

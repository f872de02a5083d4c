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

LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
# The tool that writes the lock files; only `make lock` uses it.
UV_VERSION := 0.13.10
TEST_WORKERS ?= 2
UV := var/lock-tool/bin/uv

.PHONY: help venv dev run services browser lint fmt test bench lock clean

help:
	@echo "make run       serve the API and the web client on $(HOST):$(PORT) (HOST=… PORT=… to change)"
	@echo "make services  start PostgreSQL and Redis for the tests if they are not up"
	@echo "make browser   install Debian's chromium for the browser tests if it is missing"
	@echo "make lint      ruff, mypy and the import contracts"
	@echo "make fmt       format and autofix"
	@echo "make test      services + browser + lint + pytest on TEST_WORKERS=2 workers (PYTEST_ARGS=… passed to pytest)"
	@echo "make bench     services + benchmarks"
	@echo "make lock      resolve the dependencies again into $(LOCK) and $(DEV_LOCK)"
	@echo "make clean     remove var/ and caches (keeps .venv)"

$(BIN)/python:
	python3 -m venv $(VENV)

# Installs come from the lock files, every package pinned and checked by its
# hash; the project itself is installed on top, without dependencies and with
# the locked setuptools (no build isolation: nothing unlocked is fetched). The
# stamps make pip run again only when a lock file or pyproject.toml changes;
# pip's output is shown only when the install fails.
$(RUN_STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	@echo "installing companion into $(VENV) from $(LOCK)"
	@{ $(PIP) install --require-hashes --no-deps -r $(LOCK) \
		&& $(PIP) install --no-deps --no-build-isolation -e . ; } >$(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; exit 1; }
	@touch $@

$(DEV_STAMP): $(DEV_LOCK) pyproject.toml | $(BIN)/python
	@echo "installing companion[dev] into $(VENV) from $(DEV_LOCK)"
	@{ $(PIP) install --require-hashes --no-deps -r $(DEV_LOCK) \
		&& $(PIP) install --no-deps --no-build-isolation -e . ; } >$(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; exit 1; }
	@touch $@ $(RUN_STAMP)

venv: $(RUN_STAMP)

dev: $(DEV_STAMP)

run: venv
	$(BIN)/companion serve --host $(HOST) --port $(PORT)

services:
	@scripts/services.sh

# Debian's chromium, which the browser tests drive through Playwright.
browser:
	@scripts/browser.sh

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Two workers, each test file kept on one of them (its fixtures and its Redis
# database are its own); TEST_WORKERS=0 runs the suite in this process.
test: dev services browser lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: dev services
	$(BIN)/python -m benchmarks

# Resolve pyproject.toml's ranges again (newest releases that fit), for every
# platform, with hashes. Commit both files; a fresh clone then installs exactly them.
lock:
	@test -x $(UV) || { python3 -m venv var/lock-tool && var/lock-tool/bin/python -m pip \
		--quiet --disable-pip-version-check install uv==$(UV_VERSION); }
	$(UV) pip compile pyproject.toml requirements-build.in --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" --quiet -o $(LOCK)
	$(UV) pip compile pyproject.toml requirements-build.in --extra dev --universal \
		--python-version 3.11 --generate-hashes --custom-compile-command "make lock" --quiet \
		-o $(DEV_LOCK)

clean:
	@scripts/services.sh stop
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# WISPGate: `make help` lists the targets. Settings come from the environment; the defaults
# below are the local servers of a development machine.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/wispgate
export NATS_URL ?= nats://127.0.0.1:4222
export API_PORT ?= 8000
export WISPGATE_NAMESPACE ?= wispgate
# The venv's python, honcho, pytest and ruff come first, for recipes and for the Procfile.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Only `make run` switches development mode on (dev token, open /metrics); tests set their own.
WISPGATE_ENV ?= development
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS='tests/unit -k decider'`.
PYTEST_ARGS ?=

.PHONY: help venv services browser radius setup run test faults lint format bench clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install the project with its dev tools

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "WISPGate needs Python 3.11+; $(PYTHON) is $$($(PYTHON) --version)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever pyproject.toml changes (new dependency, new entry point).
$(STAMP): pyproject.toml $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	@touch $@

services: ## start local PostgreSQL and NATS if they are not answering
	@.ci/start-services

# The browser tests (tests/ui) drive Debian's chromium with Playwright; `playwright install` is
# never used. Without apt (or sudo) and without chromium the browser tests skip, except under CI.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser: ## install Debian's chromium for the browser tests when it is missing
	@[ -x $(CHROMIUM) ] && exit 0; \
	echo "installing chromium with apt-get for the browser tests (tests/ui)"; \
	if command -v apt-get >/dev/null && $(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends chromium </dev/null; then exit 0; fi; \
	if [ -n "$${CI:-}" ]; then echo "make browser: chromium could not be installed" >&2; exit 1; fi; \
	echo "make browser: chromium could not be installed; the browser tests will skip" >&2

# FreeRADIUS (Debian's 3.2) answers the routers from the radius read model (`make run`, tests/radius).
# Without apt (or sudo) and without it the RADIUS tests skip, except under CI.
FREERADIUS := /usr/sbin/freeradius
radius: ## install Debian's FreeRADIUS (freeradius, -postgresql, -utils) when it is missing
	@[ -x $(FREERADIUS) ] && [ -e /usr/lib/freeradius/rlm_sql_postgresql.so ] && exit 0; \
	echo "installing FreeRADIUS with apt-get (make run, tests/radius)"; \
	if command -v apt-get >/dev/null && $(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends freeradius freeradius-postgresql freeradius-utils </dev/null; \
		then exit 0; fi; \
	if [ -n "$${CI:-}" ]; then echo "make radius: FreeRADIUS could not be installed" >&2; exit 1; fi; \
	echo "make radius: FreeRADIUS could not be installed; RADIUS will not answer" >&2

setup: venv services ## create the database, apply migrations, create the JetStream stream
	python -m services.subscription setup
	python -m services.projections setup
	python -m services.importer setup

run: setup radius ## run API, relay, projections and FreeRADIUS in the foreground (Ctrl-C stops all)
	WISPGATE_ENV=$(WISPGATE_ENV) PYTHONUNBUFFERED=1 exec honcho start -f Procfile

# pytest exits 5 when it collected nothing: a suite that silently ran no tests is a failure.
test: venv services browser radius ## run the whole test suite against the local servers
	@rc=0; python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$rc

# The fault suite starts a PostgreSQL and a three-node NATS cluster of its own (the machine's
# initdb/pg_ctl and nats-server, free ports, temporary directories) and stops, kills and freezes
# them under load; about two minutes. `make test` leaves it out; `-s` shows each fault's figures.
faults: venv ## break private PostgreSQL and NATS servers under load (tests/faults)
	@rc=0; python -m pytest -q -s -p no:cacheprovider -m faults tests/faults $(PYTEST_ARGS) || \
		rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make faults: pytest collected no tests" >&2; fi; \
	exit $$rc

# Every check runs even when an earlier one fails, so one run reports all the problems.
# lint-imports checks the architecture (pyproject.toml's [tool.importlinter]); --no-cache keeps
# its cache folder out of the tree, and the whole graph takes about a second to build.
LINTERS := "ruff check ." "ruff format --check ." "mypy contracts services/subscription/domain" \
	"lint-imports --no-logo --no-cache"
lint: venv ## ruff, ruff format --check, mypy (strict on contracts and deciders), import contracts
	@status=0; for cmd in $(LINTERS); do echo "$$cmd"; $$cmd || status=1; done; exit $$status

format: venv ## apply ruff's fixes and formatting
	ruff check --fix .
	ruff format .

bench: venv services ## run the benchmarks (results under bench/results/)
	python -m bench

clean: ## remove caches and build leftovers (keeps .venv and bench results)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)

# Two commands: `make run` (set up and serve on the embedded defaults) and `make test`.
# Both are idempotent; stamp files keep the second run fast.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

FRONTEND_SOURCES := $(wildcard frontend/*)

.PHONY: run test setup lint format typecheck audit screenshots bench clean

run: setup
	$(PY) -m app.cli setup
	$(PY) -m app.cli serve

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.synced static/build/manifest.json

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet
	@touch $@

node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static/build/manifest.json: node_modules/.installed $(FRONTEND_SOURCES)
	npm run --silent build

lint: setup
	$(VENV)/bin/ruff check app tests bench migrations
	$(VENV)/bin/ruff format --check app tests bench migrations

format: setup
	$(VENV)/bin/ruff format app tests bench migrations
	$(VENV)/bin/ruff check --fix app tests bench migrations

typecheck: setup
	$(VENV)/bin/mypy

# Known vulnerabilities in the locked Python and npm dependencies (needs the advisory databases
# of PyPI and npm, which are not reachable from every build machine).
audit: setup
	$(UV) export --frozen --no-hashes --quiet > var/requirements-audit.txt
	$(UV)x pip-audit --disable-pip --no-deps -r var/requirements-audit.txt
	npm audit

screenshots: setup
	$(PY) -m tests.screenshots

clean:
	rm -rf $(VENV) $(TOOLS) node_modules static/build var/test

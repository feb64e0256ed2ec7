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

.PHONY: run test test-dates mutants setup lint format typecheck audit screenshots bench clean

run: setup
	$(PY) -m app.cli setup
	$(PY) -m app.cli serve

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# The date matrix: the date-sensitive suites (SQLite) once per moment, each test and each process it
# starts on a clock set to that moment (KT_TEST_NOW, tests/support/clock.py). A Monday morning; a Tuesday
# half an hour before the weekly meeting; New Year's night (00:30 in Amsterdam, still 2026 in UTC);
# the summer-time night half an hour before the clock jumps; the winter-time night in the hour that
# happens twice; Koningsdag on a meeting Tuesday. `make test-dates TEST_DATES=…` tries other moments.
TEST_DATES ?= 2027-01-04T08:00:00+00:00 2027-01-05T08:30:00+00:00 2026-12-31T23:30:00+00:00 \
	2027-03-28T00:30:00+00:00 2027-10-31T00:30:00+00:00 2027-04-27T08:00:00+00:00
DATE_TESTS ?= tests/meetings/test_agenda.py tests/coordination/test_appointments.py \
	tests/coordination/test_reminders.py tests/coordination/test_feeds_and_invitations.py \
	tests/coordination/test_room.py tests/browser/test_room.py tests/platform/test_demo.py \
	tests/coordination/test_my_work.py

test-dates: setup
	@failed=""; for moment in $(TEST_DATES); do \
		echo "== KT_TEST_NOW=$$moment"; \
		KT_TEST_NOW=$$moment $(PY) -m pytest -m "not postgres" $(DATE_TESTS) $(PYTEST_ARGS) \
			|| failed="$$failed $$moment"; \
	done; \
	if [ -n "$$failed" ]; then echo "date matrix: failed at$$failed"; exit 1; fi

# Mutation testing of the rules that matter most ([tool.mutmut] in pyproject.toml; docs/testing.md).
# Slow (hours for everything): by hand or nightly, not in CI. `make mutants MUTANTS='app.access*'`
# takes one module; the results stay in mutants/ and `mutmut results` lists the survivors.
MUTANTS ?=
mutants: setup
	$(VENV)/bin/mutmut run --max-children 2 $(MUTANTS)
	$(VENV)/bin/mutmut results

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
	$(PY) -m tests.support.screenshots

clean:
	rm -rf $(VENV) $(TOOLS) node_modules static/build var/test mutants

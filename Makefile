# Inquest. Quick start: `make run` (the demo on http://127.0.0.1:8000/) and
# `make test` (the whole suite on PostgreSQL, then on SQLite).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

export UV_PYTHON_DOWNLOADS := never
UV := python3 -m uv
RUN := $(UV) run --frozen
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run test test-postgres test-sqlite chromium lint check bench

## install: the Python packages of the lock file (uv, then `uv sync`)
install:
	python3 -m pip install -q uv
	$(UV) sync --frozen

## run: migrate the SQLite database, load the demo case, serve on 127.0.0.1:$(PORT)
run: install
	env -u DATABASE_URL DEBUG=true $(RUN) python manage.py migrate --noinput
	env -u DATABASE_URL DEBUG=true $(RUN) python manage.py load_demo
	@echo
	@echo "Inquest is running at http://127.0.0.1:$(PORT)/  (admin panel: http://127.0.0.1:$(PORT)/admin/)"
	@echo "Log in with password inquest-demo as:"
	@echo "  lead          leads the demo case INC-2024-0001"
	@echo "  investigator  investigates it"
	@echo "  observer      may only read it"
	@echo "  outsider      belongs to no case (sees none)"
	@echo "  admin         superuser, for the admin panel"
	@echo
	env -u DATABASE_URL DEBUG=true $(RUN) python manage.py runserver 127.0.0.1:$(PORT)

## test: the whole suite on a throwaway PostgreSQL 15 (or $$DATABASE_URL), then on SQLite
test: install chromium
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-sqlite

test-postgres:
	.ci/with-postgres $(RUN) pytest $(PYTEST_ARGS)

test-sqlite:
	env -u DATABASE_URL $(RUN) pytest $(PYTEST_ARGS)

chromium:
	.ci/ensure-chromium

## lint: ruff's checks and formatting
lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

## check: Django's system checks and the migrations check
check: install
	DEBUG=true $(RUN) python manage.py check
	DEBUG=true $(RUN) python manage.py makemigrations --check --dry-run

## bench: benchmark on a throwaway PostgreSQL under gunicorn: make bench SIZE=S|M|L
# (BENCH_OUT=dir for the reports; see docs/performance.md). Not part of `test`.
SIZE ?= S
bench: install
	SIZE=$(SIZE) .ci/bench-run

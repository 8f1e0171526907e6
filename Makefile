# Inquest. Quick start: `make run` (the demo on http://127.0.0.1:8000/) and
# `make test` (the whole suite on PostgreSQL, then on SQLite).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

export UV_PYTHON_DOWNLOADS := never
UV := python3 -m uv
RUN := $(UV) run --frozen
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run test test-postgres test-sqlite chromium lint check typecheck verify bench serve

## install: the Python packages of the lock file (uv, then `uv sync`)
install:
	python3 -m pip install -q --root-user-action=ignore uv
	$(UV) sync --frozen

## run: migrate the SQLite database, load the demo case, serve on 127.0.0.1:$(PORT)
## (with the worker that makes case reports beside it: .ci/with-worker)
run: install system-packages
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
	env -u DATABASE_URL DEBUG=true .ci/with-worker "$(RUN) python manage.py db_worker" $(RUN) python manage.py runserver 127.0.0.1:$(PORT)

## test: every static check (make verify: ruff, format, manage.py check, makemigrations
# --check, mypy), then the whole suite on a throwaway PostgreSQL 15 (or $$DATABASE_URL),
# then on SQLite. All three always run, so one report shows every failure; the
# target fails when any does (pytest's "no tests ran", exit 5, too).
test: install chromium system-packages
	@status=0; \
	$(MAKE) --no-print-directory verify || status=$$?; \
	$(MAKE) --no-print-directory test-postgres || status=$$?; \
	$(MAKE) --no-print-directory test-sqlite || status=$$?; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (see the summaries above)" >&2; fi; \
	exit $$status

test-postgres:
	.ci/with-postgres $(RUN) pytest $(PYTEST_ARGS)

test-sqlite:
	env -u DATABASE_URL $(RUN) pytest $(PYTEST_ARGS)

chromium:
	.ci/ensure-chromium

# The case reports' Pango, HarfBuzz and fonts (Debian packages; docs/reports.md).
.PHONY: system-packages
system-packages:
	.ci/ensure-system-packages

## lint: ruff's checks and formatting
lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

## check: Django's system checks and the migrations check, in both modes: as in
# production, and in benchmark mode (INQUEST_BENCH=true installs incidents/perf and
# its migration; docs/performance.md)
check: install
	DEBUG=true $(RUN) python manage.py check
	DEBUG=true $(RUN) python manage.py makemigrations --check --dry-run
	DEBUG=true INQUEST_BENCH=true $(RUN) python manage.py check
	DEBUG=true INQUEST_BENCH=true $(RUN) python manage.py makemigrations --check --dry-run

## typecheck: mypy with django-stubs over incidents/ (pyproject's [tool.mypy]). The
# stubs' plugin starts Django: DEBUG=true lets the settings start without a
# SECRET_KEY, and INQUEST_BENCH=true installs incidents/perf so its models are known.
typecheck: install
	DEBUG=true INQUEST_BENCH=true $(RUN) mypy

## verify: every static check: lint (ruff check, ruff format --check), check
# (manage.py check, makemigrations --check) and typecheck (mypy). All three run,
# so one report shows every failure; the target fails when any fails. Not yet
# part of `test`: it joins it once mypy is clean over the whole tree.
verify: install
	@status=0; \
	$(MAKE) --no-print-directory lint || status=$$?; \
	$(MAKE) --no-print-directory check || status=$$?; \
	$(MAKE) --no-print-directory typecheck || status=$$?; \
	if [ $$status -ne 0 ]; then echo "make verify: FAILED (see above)" >&2; fi; \
	exit $$status

## bench: benchmark on a throwaway PostgreSQL under gunicorn: make bench SIZE=S|M|L
# (BENCH_OUT=dir for the reports; see docs/performance.md). Not part of `test`.
SIZE ?= S
bench: install
	SIZE=$(SIZE) .ci/bench-run

## backup: the database (one snapshot) and the media, with a manifest of SHA-256 hashes,
# into BACKUP_DIR: a new folder, or an archive when it ends in .tar or .tar.gz
# (default var/backups/inquest-<UTC time>). restore: BACKUP_DIR into an EMPTY
# database (DATABASE_URL) and EMPTY media storage, after checking every hash.
# The settings come from the environment, as for the app (docs/deployment.md).
.PHONY: backup restore
backup:
	$(RUN) python manage.py backup --out "$${BACKUP_DIR:-var/backups/inquest-$$(date -u +%Y%m%dT%H%M%SZ)}"

restore:
	@test -n "$${BACKUP_DIR:-}" || { echo "make restore: set BACKUP_DIR to the backup folder or archive" >&2; exit 2; }
	$(RUN) python manage.py restore "$$BACKUP_DIR"

# The production configuration, locally, for smoke tests (docs/deployment.md):
# collectstatic, migrate, gunicorn with 2 workers on 127.0.0.1:$(PORT), DEBUG
# off, a throwaway SECRET_KEY unless one is set, and plain-http cookies and no
# TLS redirect because there is no TLS proxy in front. DATABASE_URL is used when set.
serve: install system-packages
	@set -e; \
	export DEBUG=false SECURE_COOKIES=false SECURE_SSL_REDIRECT=false SECURE_HSTS_SECONDS=0; \
	export ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}"; \
	export SECRET_KEY="$${SECRET_KEY:-$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')}"; \
	$(UV) run --frozen python manage.py check --deploy --fail-level ERROR; \
	$(UV) run --frozen python manage.py collectstatic --noinput -v0; \
	$(UV) run --frozen python manage.py migrate --noinput; \
	echo "Serving the production configuration on http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"; \
	exec .ci/with-worker "$(UV) run --frozen python manage.py db_worker --no-reload" \
		$(UV) run --frozen gunicorn incidents.wsgi --workers 2 --preload --bind 127.0.0.1:$(PORT) \
		--access-logfile - --forwarded-allow-ips 127.0.0.1

# Inquest: see README.md. The foundation issue fleshes out `test` (PostgreSQL + SQLite).
export UV_PYTHON_DOWNLOADS := never
UV := python3 -m uv
PORT ?= 8000

.PHONY: install run test lint bench serve

install:
	python3 -m pip install --quiet uv
	$(UV) sync --frozen

run: install
	DEBUG=true $(UV) run --frozen python manage.py migrate --noinput
	DEBUG=true $(UV) run --frozen python manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(UV) run --frozen pytest

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

# Benchmark on a throwaway PostgreSQL under gunicorn: make bench SIZE=S|M|L
# (BENCH_OUT=dir for the reports; see docs/performance.md). Not part of `test`.
SIZE ?= S
bench: install
	SIZE=$(SIZE) .ci/bench-run

# The production configuration, locally, for smoke tests (docs/deployment.md):
# collectstatic, migrate, gunicorn with 2 workers on 127.0.0.1:$(PORT), DEBUG
# off, a throwaway SECRET_KEY unless one is set, and plain-http cookies and no
# TLS redirect because there is no TLS proxy in front. DATABASE_URL is used when set.
serve: install
	@set -e; \
	export DEBUG=false SECURE_COOKIES=false SECURE_SSL_REDIRECT=false SECURE_HSTS_SECONDS=0; \
	export ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}"; \
	export SECRET_KEY="$${SECRET_KEY:-$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')}"; \
	$(UV) run --frozen python manage.py check --deploy --fail-level ERROR; \
	$(UV) run --frozen python manage.py collectstatic --noinput -v0; \
	$(UV) run --frozen python manage.py migrate --noinput; \
	echo "Serving the production configuration on http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"; \
	exec $(UV) run --frozen gunicorn incidents.wsgi --workers 2 --bind 127.0.0.1:$(PORT) \
		--access-logfile - --forwarded-allow-ips 127.0.0.1

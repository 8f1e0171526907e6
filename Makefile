# Inquest: see README.md. The foundation issue fleshes out `test` (PostgreSQL + SQLite).
export UV_PYTHON_DOWNLOADS := never
UV := python3 -m uv
PORT ?= 8000

.PHONY: install run test lint bench

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

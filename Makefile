# Inquest: see README.md. The foundation issue fleshes out `test` (PostgreSQL + SQLite).
export UV_PYTHON_DOWNLOADS := never
UV := python3 -m uv
PORT ?= 8000

.PHONY: install run test lint

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

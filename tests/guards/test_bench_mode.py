"""Benchmark mode: incidents/perf is installed only when INQUEST_BENCH says so.

Settings are read once, when Django starts, so each mode is checked in a fresh
process. With the benchmark variables unset, as in production (DEBUG off),
there is no perf app, model, migration, URL or middleware, and the migrations
are complete; with INQUEST_BENCH=true (``make bench``) all of it is there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json

import django

django.setup()

from django.apps import apps
from django.conf import settings
from django.db.migrations.loader import MigrationLoader
from django.urls import Resolver404, resolve

try:
    resolve("/_bench/floor/some-key/")
    floor_url = True
except Resolver404:
    floor_url = False
loader = MigrationLoader(None, ignore_no_migrations=True)
print(json.dumps({
    "app": apps.is_installed("incidents.perf"),
    "models": [m._meta.label for m in apps.get_models() if m._meta.app_label == "perf"],
    "migrations": sorted(name for app, name in loader.disk_migrations if app == "perf"),
    "middleware": [m for m in settings.MIDDLEWARE if m.startswith("incidents.perf")],
    "floor_url": floor_url,
}))
"""


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    """Production-like settings (DEBUG off, a throwaway SQLite file), plus VALUES."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("INQUEST_BENCH") and k not in {"DEBUG", "DATABASE_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="incidents.settings",
        SECRET_KEY="bench-mode-test-secret-key-" + "x" * 30,
        ALLOWED_HOSTS="127.0.0.1",
        INQUEST_VAR_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    env.update(values)
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def probe(env: dict[str, str]) -> dict[str, Any]:
    result = run(env, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_settings_have_no_benchmark_tooling(tmp_path: Path) -> None:
    found = probe(environment(tmp_path))
    assert found == {
        "app": False,
        "models": [],
        "migrations": [],
        "middleware": [],
        "floor_url": False,
    }


def test_migrations_are_complete_without_the_benchmark_app(tmp_path: Path) -> None:
    result = run(environment(tmp_path), "manage.py", "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_benchmark_mode_installs_the_app_its_floor_and_its_middleware(tmp_path: Path) -> None:
    found = probe(environment(tmp_path, INQUEST_BENCH="true"))
    assert found == {
        "app": True,
        "models": ["perf.Dataset"],
        "migrations": ["0001_initial"],
        "middleware": ["incidents.perf.middleware.QueryCountMiddleware"],
        "floor_url": True,
    }


def test_benchmark_mode_without_the_floor(tmp_path: Path) -> None:
    found = probe(environment(tmp_path, INQUEST_BENCH="true", INQUEST_BENCH_FLOOR="false"))
    assert found["app"] is True
    assert found["middleware"] == []
    assert found["floor_url"] is False


def test_the_floor_alone_refuses_to_start(tmp_path: Path) -> None:
    result = run(environment(tmp_path, INQUEST_BENCH_FLOOR="true"), "-c", PROBE)
    assert result.returncode != 0
    assert "INQUEST_BENCH_FLOOR needs INQUEST_BENCH=true" in result.stderr

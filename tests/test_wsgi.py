"""The WSGI entry point: what it sets up for gunicorn's workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, json
before = gc.get_freeze_count()
from incidents import wsgi
print(json.dumps({
    "frozen": gc.get_freeze_count() - before,
    "views_loaded": "incidents.cases.views.case" in __import__("sys").modules,
    "callable": callable(wsgi.application),
}))
"""


def test_wsgi_loads_the_views_and_freezes_them(tmp_path: Path) -> None:
    # In a process of its own: the import freezes that process's objects.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DEBUG": "true",
        "SECRET_KEY": "wsgi-probe",
        "INQUEST_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["frozen"] > 10_000  # Django, the apps and every view
    assert probe["views_loaded"] is True
    assert probe["callable"] is True

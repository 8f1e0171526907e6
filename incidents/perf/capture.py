"""Count, and on request record, the SQL a request runs (benchmark mode only).

The floor of a page is the same SQL run by a bare view. Rather than keep a
hand-written copy of every page's queries (which drifts as pages change), the
benchmark asks the page itself once, with an ``X-Bench-Capture: <key>``
header, to record the statements and parameters it executed; the floor view
``/_bench/floor/<key>/`` then replays exactly those statements through
Django's connection and renders a one-line answer. Captures are pickled into
a private folder of the server's temporary directory: they are written only
by this process's own queries, never from request input.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def capture_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / f"inquest-bench-captures-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def valid_key(key: str | None) -> bool:
    return bool(key) and bool(KEY_RE.match(key or ""))


class QueryRecorder:
    """A ``connection.execute_wrapper`` that counts statements, and keeps them if asked."""

    def __init__(self, keep: bool = False) -> None:
        self.count = 0
        self.keep = keep
        self.statements: list[tuple[str, Any, bool]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        if self.keep:
            kept = list(params) if many and params is not None else params
            self.statements.append((sql, kept, many))
        return execute(sql, params, many, context)


def save(key: str, statements: list[tuple[str, Any, bool]]) -> None:
    path = capture_dir() / f"{key}.pickle"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(statements))
    tmp.replace(path)


_loaded: dict[str, list[tuple[str, Any, bool]]] = {}


def load(key: str) -> list[tuple[str, Any, bool]] | None:
    if key not in _loaded:
        path = capture_dir() / f"{key}.pickle"
        if not path.exists():
            return None
        _loaded[key] = pickle.loads(path.read_bytes())  # noqa: S301 (our own file)
    return _loaded[key]

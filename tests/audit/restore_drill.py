"""Helpers for the backup and restore tests: a fresh empty database beside the
test database, and Django connected to it for a while.

pytest-django's test database stays as it is: a restore goes into a new
database created on the same server (PostgreSQL) or a new file (SQLite),
which is what an operator's drill does too (docs/deployment.md). While
``connected_to`` is active the default connection, and so every view,
command and model call, uses the fresh database; afterwards the test
database is back for pytest-django's flush.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection

from incidents.backup import libpq_params


def _admin_connection() -> Any:
    import psycopg
    from psycopg.conninfo import make_conninfo

    params, password = libpq_params(connection.settings_dict)
    return psycopg.connect(make_conninfo(**params), password=password or None, autocommit=True)


@contextlib.contextmanager
def fresh_database(folder: Path) -> Iterator[str]:
    """The NAME of a new, empty database; dropped (PostgreSQL) at the end."""
    if connection.vendor != "postgresql":
        yield str(folder / "restored.sqlite3")
        return
    from psycopg import sql

    name = f"{connection.settings_dict['NAME'][:40]}_restore_{secrets.token_hex(4)}"
    with _admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        connection.close()
        if close_pool := getattr(connection, "close_pool", None):
            close_pool()
        with _admin_connection() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def connected_to(name: str) -> Iterator[None]:
    """The default connection on database NAME, then back on the test database."""

    def reconnect(to: str) -> None:
        connection.close()
        if close_pool := getattr(connection, "close_pool", None):
            close_pool()  # the pool keeps the database it was opened on
        connection.settings_dict["NAME"] = to

    saved = connection.settings_dict["NAME"]
    reconnect(name)
    try:
        yield
    finally:
        reconnect(saved)


def run(command: str, *args: Any, **options: Any) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, **options)
    return out.getvalue()


def media_files(root: str | Path) -> dict[str, bytes]:
    root = Path(root)
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def exported(client: Any, reference: str) -> dict[str, Any]:
    response = client.get(f"/cases/{reference}/export.json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def assert_same_case(before: dict[str, Any], after: dict[str, Any]) -> None:
    """AFTER is BEFORE plus only what exporting again adds.

    Each export appends an ``exported`` custody entry to every item with a
    file before it reads the chain: the second export's chains are the first
    one's, each followed by exactly that one new entry, linked to the last
    entry the first export showed (the chain goes on across the restore).
    Each item's custody head, if the export names it, is its chain's last
    entry. Everything else (the case, members, hypotheses and their
    histories, evidence, grades, scores, assessments, timeline, annotations)
    is equal.
    """
    before, after = dict(before), dict(after)
    assert before.pop("exported_at") <= after.pop("exported_at")
    items_before = before.pop("evidence")
    items_after = after.pop("evidence")
    assert before == after
    assert [item["id"] for item in items_before] == [item["id"] for item in items_after]
    for old, new in zip(items_before, items_after, strict=True):
        old, new = dict(old), dict(new)
        old_chain, new_chain = old.pop("custody"), new.pop("custody")
        for item, chain in ((old, old_chain), (new, new_chain)):
            # The chain's last entry, where the export names it: it moves with the chain.
            head = item.pop("custody_head", None)
            if head is not None:
                assert head["entry_hash"] == chain[-1]["entry_hash"], item["id"]
        assert old == new, old["id"]
        assert new_chain[: len(old_chain)] == old_chain, old["id"]
        added = new_chain[len(old_chain) :]
        if old["file"] is None:
            assert added == []
            continue
        assert [entry["action"] for entry in added] == ["exported"], old["id"]
        assert added[0]["previous_hash"] == old_chain[-1]["entry_hash"]

"""The database half of a backup: PostgreSQL through pg_dump / pg_restore, SQLite
through its online backup API; and the facts the manifest records about it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connections

from incidents.backup.common import (
    APPLICATION_NAME,
    BackupError,
)

# -- PostgreSQL -------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """The path of pg_dump / pg_restore: $PG_BIN, else the newest
    /usr/lib/postgresql/<version>/bin (Debian; it must not be older than the
    server), else the PATH."""
    if folder := os.environ.get("PG_BIN"):
        candidate = Path(folder) / name
        if not os.access(candidate, os.X_OK):
            raise BackupError(f"PG_BIN={folder} has no executable {name}.")
        return str(candidate)
    versions = []
    for bin_dir in Path("/usr/lib/postgresql").glob("*/bin"):
        if (bin_dir / name).is_file() and bin_dir.parent.name.isdigit():
            versions.append((int(bin_dir.parent.name), bin_dir / name))
    if versions:
        return str(max(versions)[1])
    if found := shutil.which(name):
        return found
    raise BackupError(
        f"{name} was not found: install PostgreSQL's client tools "
        f"(Debian: postgresql-client-15) or set PG_BIN to the folder that holds {name}."
    )


def libpq_params(settings_dict: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The libpq connection parameters of a Django database (without the
    password) and the password, which goes to the tools through PGPASSWORD
    rather than their command line."""
    import psycopg

    keywords = {option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults()}
    params = {
        key: str(value)
        for key, value in (settings_dict.get("OPTIONS") or {}).items()
        if key in keywords and isinstance(value, str | int) and not isinstance(value, bool)
    }
    for setting, keyword in (("NAME", "dbname"), ("USER", "user"), ("HOST", "host")):
        if settings_dict.get(setting):
            params[keyword] = str(settings_dict[setting])
    if settings_dict.get("PORT"):
        params["port"] = str(settings_dict["PORT"])
    password = str(settings_dict.get("PASSWORD") or params.pop("password", "") or "")
    params.pop("password", None)
    return params, password


def _tool_env(password: str) -> dict[str, str]:
    env = {**os.environ, "PGAPPNAME": APPLICATION_NAME}
    if password:
        env["PGPASSWORD"] = password
    return env


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}):\n{result.stderr.strip()}")
    return result.stdout


PG_TABLES = """
SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false))
ORDER BY 1, 2
"""
# Whatever a restore would collide with: relations and functions outside the
# system schemas (functions that belong to an extension excepted).
PG_NOT_EMPTY = """
SELECT kind, name FROM (
    SELECT 'relation' AS kind, n.nspname || '.' || c.relname AS name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    UNION ALL
    SELECT 'function', n.nspname || '.' || p.proname
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend d
        WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    )
) AS found
WHERE split_part(name, '.', 1) NOT IN ('pg_catalog', 'information_schema')
  AND split_part(name, '.', 1) NOT LIKE 'pg\\_toast%'
  AND split_part(name, '.', 1) NOT LIKE 'pg\\_temp\\_%'
ORDER BY kind DESC, name
"""


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Facts:
    """What the manifest says about the database, read in the dump's own snapshot."""

    tables: dict[str, int] = field(default_factory=dict)
    migrations: dict[str, list[str]] = field(default_factory=dict)
    # Every file a row names: name -> (table, SHA-256 and size on record, when kept).
    files: dict[str, tuple[str, str | None, int | None]] = field(default_factory=dict)


def _file_queries() -> dict[str, str]:
    """By table: the query for the files its rows name, with the hash and size
    they record beside them. A FileField's hash is the field ``<name>_sha256``
    or ``sha256`` of the same model, its size ``<name>_size`` or ``size``
    (evidence items: ``file_sha256``, ``file_size``; reports: ``sha256``,
    ``size``); NULL when the model keeps none."""
    from django.apps import apps
    from django.db import models

    queries = {}
    for model in apps.get_models():
        meta = model._meta
        by_name = {each.name: each for each in meta.concrete_fields}
        for each in meta.concrete_fields:
            if not isinstance(each, models.FileField):
                continue
            sha = by_name.get(f"{each.name}_sha256") or by_name.get("sha256")
            size = by_name.get(f"{each.name}_size") or by_name.get("size")
            column = _quote_ident(str(each.column))
            queries[meta.db_table] = (
                f"SELECT {column}, "
                f"{_quote_ident(str(sha.column)) if sha else 'NULL'}, "
                f"{_quote_ident(str(size.column)) if size else 'NULL'} "
                f"FROM {_quote_ident(meta.db_table)} WHERE {column} <> ''"
            )
    return queries


def _read_facts(execute: Callable[[str], list[tuple[Any, ...]]], tables: dict[str, str]) -> Facts:
    """TABLES: each table's name in the manifest and its quoted name in SQL."""
    facts = Facts()
    for table, quoted in tables.items():
        facts.tables[table] = int(execute(f"SELECT count(*) FROM {quoted}")[0][0])
    if "django_migrations" in facts.tables:
        for app, name in execute("SELECT app, name FROM django_migrations ORDER BY app, id"):
            facts.migrations.setdefault(app, []).append(name)
    for table, query in _file_queries().items():
        if table in facts.tables:
            for name, sha256, size in execute(query):
                facts.files[name] = (table, sha256 or None, None if size is None else int(size))
    return facts


def _pg_tables(execute: Callable[[str], list[tuple[Any, ...]]]) -> dict[str, str]:
    rows = execute(PG_TABLES)
    if len({schema for schema, _ in rows}) > 1:  # a bare name could be ambiguous
        return {f"{s}.{t}": f"{_quote_ident(s)}.{_quote_ident(t)}" for s, t in rows}
    return {table: _quote_ident(table) for _, table in rows}


def dump_postgresql(settings_dict: dict[str, Any], target: Path) -> tuple[dict[str, Any], Facts]:
    import psycopg
    from psycopg.conninfo import make_conninfo

    params, password = libpq_params(settings_dict)
    conninfo = make_conninfo(**params, application_name=APPLICATION_NAME)
    pg_dump = pg_tool("pg_dump")
    with psycopg.connect(conninfo, password=password or None) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True

        def execute(sql: str) -> list[tuple[Any, ...]]:
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]

        # The transaction stays open until the dump ends: pg_dump reads the
        # exported snapshot, and the facts below come from the same one.
        snapshot = execute("SELECT pg_export_snapshot()")[0][0]
        server = execute("SHOW server_version")[0][0]
        _run(
            [
                pg_dump,
                "--format=custom",
                f"--snapshot={snapshot}",
                "--no-password",
                f"--file={target}",
                f"--dbname={make_conninfo(**params)}",
            ],
            _tool_env(password),
            "pg_dump",
        )
        facts = _read_facts(execute, _pg_tables(execute))
        conn.rollback()
    version = _run([pg_dump, "--version"], _tool_env(""), "pg_dump --version").strip()
    info = {
        "vendor": "postgresql",
        "format": "pg_dump custom",
        "server_version": server,
        "tool": version,
        "snapshot": snapshot,
    }
    return info, facts


def objects_in_postgresql(using: str) -> list[str]:
    with connections[using].cursor() as cursor:
        cursor.execute(PG_NOT_EMPTY)
        return [f"{kind} {name}" for kind, name in cursor.fetchall()]


def load_postgresql(settings_dict: dict[str, Any], dump: Path) -> None:
    from psycopg.conninfo import make_conninfo

    params, password = libpq_params(settings_dict)
    _run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={make_conninfo(**params)}",
            str(dump),
        ],
        _tool_env(password),
        "pg_restore",
    )


# -- SQLite -----------------------------------------------------------------------------


def sqlite_path(settings_dict: dict[str, Any]) -> Path:
    name = str(settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(name)


def _sqlite_tables(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return {name: _quote_ident(name) for (name,) in rows}


def dump_sqlite(settings_dict: dict[str, Any], target: Path) -> tuple[dict[str, Any], Facts]:
    source_path = sqlite_path(settings_dict)
    if not source_path.exists():
        raise BackupError(f"The SQLite database {source_path} does not exist.")
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        # One step (pages=-1): the copy is the database as of one moment.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file

        def execute(sql: str) -> list[tuple[Any, ...]]:
            return copy.execute(sql).fetchall()

        facts = _read_facts(execute, _sqlite_tables(copy))
    finally:
        copy.close()
        source.close()
    info = {
        "vendor": "sqlite",
        "format": "SQLite database file (online backup API)",
        "server_version": sqlite3.sqlite_version,
        "tool": f"Python sqlite3 {sqlite3.sqlite_version}",
    }
    return info, facts


def objects_in_sqlite(settings_dict: dict[str, Any]) -> list[str]:
    path = sqlite_path(settings_dict)
    if not path.exists() or path.stat().st_size == 0:
        return []
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
            "ORDER BY type <> 'table', type, name"
        ).fetchall()
    finally:
        conn.close()
    return [f"{kind} {name}" for kind, name in rows]


def load_sqlite(settings_dict: dict[str, Any], copy_path: Path) -> None:
    path = sqlite_path(settings_dict)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{copy_path.absolute().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def sqlite_facts(path: Path) -> Facts:
    conn = sqlite3.connect(path)
    try:
        return _read_facts(lambda sql: conn.execute(sql).fetchall(), _sqlite_tables(conn))
    finally:
        conn.close()


def postgresql_facts(using: str) -> Facts:
    def execute(sql: str) -> list[tuple[Any, ...]]:
        with connections[using].cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    return _read_facts(execute, _pg_tables(execute))

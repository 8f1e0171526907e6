"""The audited tables checked against the trail: every change to a row must be on record.

The hash chain (``incidents.audit.chain``) proves that the records were not
altered, removed or reordered. It cannot see a change that never produced a
record: a direct ``UPDATE`` made while the table's audit trigger was dropped or
disabled. Two checks find those, for every audited table (``manage.py
verify_audit``; docs/security.md, "Verification"):

* **Current rows against their last records.** Each row as it is now must
  equal the after-image of the last record of that row; a row with no
  record, a row whose last record is a delete, and a recorded row that is
  gone without a delete record are named too.
* **Each row's records against each other.** A record's before-image must
  equal the after-image of the row's record before it, and a row's first
  record must be its insert. An unrecorded change that a later, recorded
  change covered up still shows as a gap between the two records.

The row images are built by the database with the very expression the
triggers use (PostgreSQL ``to_jsonb`` of the row, SQLite ``json_object`` of
its columns), so an unchanged row gives the same text as its record and only
rows that differ are read into Python. There, only the columns both sides
have are compared (a column added by a later migration is in the row but not
in older records), the columns the triggers do not record a change of alone
(``DERIVED_COLUMNS``) are left out, and a time is compared as a time (a
record written through ``psql`` spells it in that session's time zone).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.dateparse import parse_datetime

from incidents.audit.db import AUDIT_TABLE, DERIVED_COLUMNS, REDACTED_COLUMNS, audited_models

# What went wrong with a row, as the report words it.
UNRECORDED = "not in the audit trail: written while its audit trigger was off"
CHANGED = "differs from its last record"
GONE = "deleted without a record"
BACK = "present, but its last record is its deletion"
NOT_CREATED = "its first record is not its creation: created while its audit trigger was off"
GAP = "changed between two of its records without a record"
RECREATED = "created again without a record of its deletion"
UNREADABLE = "has a record whose row image cannot be read"


@dataclass(frozen=True)
class RowProblem:
    table: str
    pk: str
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.table} #{self.pk}: {self.kind}{detail}"


# -- comparing two row images --------------------------------------------------------------


def _same(recorded: Any, current: Any) -> bool:
    if recorded == current:
        return True
    if isinstance(recorded, str) and isinstance(current, str):
        # A time, spelt in another session's time zone: the same moment?
        try:
            a, b = parse_datetime(recorded), parse_datetime(current)
        except ValueError:
            return False
        if a is None or b is None or (a.tzinfo is None) != (b.tzinfo is None):
            return False
        return a == b
    return False


def differing_columns(table: str, recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The columns whose values differ between two images of a row of TABLE.

    Only the columns both images hold are compared (a column added after the
    record, or dropped since, cannot be judged from it), and not the derived
    ones, which change without a record.
    """
    derived = set(DERIVED_COLUMNS.get(table, ()))
    return sorted(
        column
        for column in recorded.keys() & current.keys()
        if column not in derived and not _same(recorded[column], current[column])
    )


def _image(text: Any) -> dict[str, Any] | None:
    """A row image as stored in a record: None when it is not a JSON object."""
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _named(columns: list[str], limit: int = 8) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


# -- current rows against their last records -------------------------------------------------


@dataclass(frozen=True)
class AuditedTable:
    table: str
    pk: str
    redacted: tuple[str, ...]


def audited_tables(connection: BaseDatabaseWrapper) -> list[AuditedTable]:
    """The audited tables that exist in CONNECTION's database, each once."""
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
    found: dict[str, AuditedTable] = {}
    for model in audited_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        table = meta.db_table
        if table in existing and table not in found:
            found[table] = AuditedTable(table, str(meta.pk.column), REDACTED_COLUMNS.get(table, ()))
    return list(found.values())


def _quote(connection: BaseDatabaseWrapper, name: str) -> str:
    return connection.ops.quote_name(name)


def _postgres_rows_sql(connection: BaseDatabaseWrapper, spec: AuditedTable) -> str:
    q = _quote(connection, spec.table)
    pk = _quote(connection, spec.pk)
    minus = "".join(" - " + _literal(c) for c in spec.redacted)
    return f"""
WITH last AS (
    SELECT DISTINCT ON (object_pk) object_pk, id, action, after
    FROM {AUDIT_TABLE} WHERE table_name = %s ORDER BY object_pk, id DESC
), cur AS (
    SELECT x.{pk}::text AS pk, (to_jsonb(x){minus})::text AS image FROM {q} x
)
SELECT coalesce(cur.pk, last.object_pk), cur.pk IS NOT NULL, last.id, last.action,
    CASE WHEN cur.pk IS NOT NULL AND last.after IS NOT NULL THEN last.after END,
    CASE WHEN cur.pk IS NOT NULL AND last.after IS NOT NULL THEN cur.image END
FROM cur FULL OUTER JOIN last ON last.object_pk = cur.pk
WHERE last.id IS NULL
    OR (cur.pk IS NULL) <> (last.after IS NULL)
    OR (cur.pk IS NOT NULL AND cur.image IS DISTINCT FROM last.after)
ORDER BY 1
"""


def _sqlite_rows_sql(connection: BaseDatabaseWrapper, spec: AuditedTable) -> str:
    from incidents.audit.db import _sqlite_json

    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA table_info({_quote(connection, spec.table)})")
        columns = [row[1] for row in cursor.fetchall() if row[1] not in spec.redacted]
    q = _quote(connection, spec.table)
    pk = _quote(connection, spec.pk)
    return f"""
WITH last AS (
    SELECT a.object_pk, a.id, a.action, a.after FROM "{AUDIT_TABLE}" a
    JOIN (SELECT max(id) AS id FROM "{AUDIT_TABLE}" WHERE table_name = %s GROUP BY object_pk) m
        ON a.id = m.id
), cur AS (
    SELECT CAST(x.{pk} AS TEXT) AS pk, {_sqlite_json(columns, "x")} AS image FROM {q} x
)
SELECT coalesce(cur.pk, last.object_pk), cur.pk IS NOT NULL, last.id, last.action,
    CASE WHEN cur.pk IS NOT NULL AND last.after IS NOT NULL THEN last.after END,
    CASE WHEN cur.pk IS NOT NULL AND last.after IS NOT NULL THEN cur.image END
FROM cur FULL OUTER JOIN last ON last.object_pk = cur.pk
WHERE last.id IS NULL
    OR (cur.pk IS NULL) <> (last.after IS NULL)
    OR (cur.pk IS NOT NULL AND cur.image IS NOT last.after)
ORDER BY 1
"""


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def current_row_problems(
    connection: BaseDatabaseWrapper, spec: AuditedTable
) -> Iterator[RowProblem]:
    """Each row of SPEC's table that does not match the last record of it."""
    if connection.vendor == "postgresql":
        sql = _postgres_rows_sql(connection, spec)
    elif connection.vendor == "sqlite":
        sql = _sqlite_rows_sql(connection, spec)
    else:  # pragma: no cover - only the two supported databases
        raise NotImplementedError(connection.vendor)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(sql, [spec.table])
        while rows := cursor.fetchmany(500):
            for pk, present, record, action, after, image in rows:
                problem = _row_problem(spec.table, pk, bool(present), record, action, after, image)
                if problem is not None:
                    yield problem


def _row_problem(
    table: str, pk: str, present: bool, record: Any, action: Any, after: Any, image: Any
) -> RowProblem | None:
    if record is None:
        return RowProblem(table, pk, UNRECORDED)
    if not present:
        return RowProblem(table, pk, GONE, f"its last record, #{record}, is an {action}")
    if after is None:
        return RowProblem(table, pk, BACK, f"record #{record}")
    recorded, current = _image(after), _image(image)
    if recorded is None or current is None:
        return RowProblem(table, pk, UNREADABLE, f"record #{record}")
    columns = differing_columns(table, recorded, current)
    if not columns:
        return None
    return RowProblem(table, pk, CHANGED, f"record #{record}; changed: {_named(columns)}")


# -- each row's records against each other --------------------------------------------------


def history_problems(connection: BaseDatabaseWrapper) -> Iterator[RowProblem]:
    """Gaps between consecutive records of one row, and rows whose first record
    is not their creation, over the whole trail (in the order of its index on
    table, row and id)."""
    sql = (
        f'SELECT table_name, object_pk, id, action, before, after FROM "{AUDIT_TABLE}" '
        "ORDER BY table_name, object_pk, id"
    )
    with transaction.atomic(using=connection.alias):
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql)
            yield from _walk_history(_fetched(cursor))
        finally:
            cursor.close()


def _fetched(cursor: Any) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(2000):
        yield from rows


def _walk_history(records: Iterable[tuple[Any, ...]]) -> Iterator[RowProblem]:
    previous: tuple[Any, ...] | None = None
    for record in records:
        table, pk, number, action, before, _after = record
        same_row = previous is not None and previous[0] == table and previous[1] == pk
        if not same_row:
            if action != "insert":
                yield RowProblem(table, pk, NOT_CREATED, f"record #{number} is an {action}")
        else:
            assert previous is not None
            last_action, last_after = previous[3], previous[5]
            if last_action == "delete":
                if action != "insert":
                    yield RowProblem(
                        table, pk, GAP, f"deleted in record #{previous[2]}, {action} in #{number}"
                    )
            elif action == "insert":
                yield RowProblem(table, pk, RECREATED, f"records #{previous[2]} and #{number}")
            elif before != last_after:
                problem = _gap(table, pk, previous[2], number, last_after, before)
                if problem is not None:
                    yield problem
        previous = record


def _gap(
    table: str, pk: str, first: int, second: int, after: Any, before: Any
) -> RowProblem | None:
    recorded, following = _image(after), _image(before)
    if recorded is None or following is None:
        return RowProblem(table, pk, UNREADABLE, f"records #{first} and #{second}")
    columns = differing_columns(table, recorded, following)
    if not columns:
        return None
    return RowProblem(
        table, pk, GAP, f"between records #{first} and #{second}; changed: {_named(columns)}"
    )


# -- everything ---------------------------------------------------------------------------


def all_row_problems(using: str = "default") -> Iterator[RowProblem]:
    """Every audited table's rows against the trail, then the trail's rows against each other."""
    connection = connections[using]
    for spec in audited_tables(connection):
        yield from current_row_problems(connection, spec)
    yield from history_problems(connection)

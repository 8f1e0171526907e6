"""TRUNCATE on an audited table is recorded too (PostgreSQL).

Row triggers do not fire on ``TRUNCATE``: without this, emptying a table
would leave the trail saying its rows still exist, with nothing to say who
removed them. A statement-level ``BEFORE TRUNCATE`` trigger on each audited
table writes a ``delete`` record for every row it is about to remove, through
the same ``inquest_audit_write`` as the row triggers (same chain, same actor).
PostgreSQL runs every table's BEFORE TRUNCATE trigger before it empties any
of them, so a row's case is still found through its parents.

Django's test runner empties the tables this way between transactional
tests; so does ``manage.py flush``. SQLite has no TRUNCATE: its ``DELETE
FROM`` fires the row triggers. Installed after every ``migrate`` with the
other triggers (``incidents.audit.apps``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from incidents.audit.db import REDACTED_COLUMNS, _incident_expression, audited_models

MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1


def function_name(table: str) -> str:
    name = f"inquest_audit_truncate_{table}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(table.encode()).hexdigest()[:10]
    return f"{name[: MAX_IDENTIFIER - 11]}_{digest}"


def truncate_trigger_sql(model: type[models.Model]) -> str:
    table = model._meta.db_table
    pk = model._meta.pk.column
    minus = "".join(f" - '{c}'" for c in REDACTED_COLUMNS.get(table, ()))
    incident = _incident_expression(model, lambda c: f"(r ->> '{c}')::bigint")
    function = function_name(table)
    return f"""
CREATE OR REPLACE FUNCTION "{function}"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
    FOR r IN SELECT to_jsonb(x) FROM "{table}" x ORDER BY x."{pk}" LOOP
        PERFORM inquest_audit_write(
            TG_TABLE_NAME, r ->> '{pk}', {incident}, 'delete', (r{minus})::text, NULL
        );
    END LOOP;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER inquest_audit_truncate BEFORE TRUNCATE ON "{table}"
    FOR EACH STATEMENT EXECUTE FUNCTION "{function}"();
"""


def install_truncate_triggers(connection: BaseDatabaseWrapper) -> None:
    """(Re)install the BEFORE TRUNCATE trigger of every audited table. Idempotent."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        done: set[str] = set()
        for model in audited_models():
            table = model._meta.db_table
            if table in existing and table not in done and not model._meta.proxy:
                cursor.execute(truncate_trigger_sql(model))
                done.add(table)


def on_post_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    install_truncate_triggers(connections[using])

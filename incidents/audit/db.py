"""Database triggers that write the audit trail, on PostgreSQL and on SQLite.

Why triggers (see docs/security.md): they see every write, whatever issued
it: a view, the admin, ``QuerySet.update()``, ``bulk_create``, a management
command, raw SQL. Signals and ``save()`` overrides miss the last four.

* PostgreSQL: one plpgsql function per audited table builds the row images
  with ``to_jsonb`` and calls ``inquest_audit_write``, which takes an
  advisory lock (one link of the chain at a time), reads who is acting from
  the ``inquest.context`` setting, computes the hash and appends the record.
  Writes that do not come through Django (psql) are recorded too, with the
  database role and client address.
* SQLite: AFTER INSERT/UPDATE/DELETE triggers build the row images with
  ``json_object`` and call two functions this module registers on each
  connection (``inquest_audit_ctx``, ``inquest_audit_hash``). A connection
  without them (the sqlite3 shell) cannot write to an audited table at all.

The audit table is append-only: a trigger refuses UPDATE and DELETE (and
TRUNCATE on PostgreSQL).

Django hands over the context before each write statement through an
execute wrapper (:func:`audit_execute_wrapper`), so the actor is always the
one of the request or command that runs the statement; on PostgreSQL the
round trip is skipped when the connection already holds that very context.

The audit table's own SQL (its columns, the chain's append function, its
guards) is in :mod:`incidents.audit.schema`.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from incidents.audit.chain import GENESIS, record_hash
from incidents.audit.context import AuditContext, current_context, process_context

AUDIT_TABLE = "audit_auditevent"
AUDITED_APPS = ("cases", "hypotheses", "evidence", "accounts", "chronology", "reports")
# Left out of the row images: secrets, and columns derived from the others by the
# database itself (the search vectors are rebuilt from the title, summary and
# hypotheses, or from an evidence item's title, texts and URL, on every change,
# and would double the size of each record).
REDACTED_COLUMNS = {
    "auth_user": ("password",),
    "accounts_usersession": ("session_key",),  # a live session's key signs its holder in
    "accounts_recoverycode": ("digest",),
    "cases_incident": ("search_vector",),
    "evidence_evidenceitem": ("search_vector",),
}
# Kept up to date by the database or by the write that changes them: an UPDATE
# that changes nothing but these writes no record (the write that caused it
# has its own: the timeline entry, the rating, the hypothesis). A case's last
# activity moves with every write to it, which would otherwise double the trail.
DERIVED_COLUMNS = {
    "cases_incident": ("last_activity_at", "search_vector"),
    "evidence_evidenceitem": ("search_vector",),
    "accounts_usersession": ("last_seen",),  # a signed-in session's last request
}
CHAIN_LOCK_KEY = 7_263_517  # pg_advisory_xact_lock key of the chain
CONTEXT_SETTING = "inquest.context"
# The attribute of a connection wrapper that remembers what _send_context sent on it:
# (raw connection, value), or None when unknown. Django's wrapper has no slot for it.
SENT_ATTRIBUTE = "inquest_audit_sent"
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")  # TRUNCATE: incidents/audit/truncate.py

_resolving = threading.local()


# -- which tables, and how each finds its case ---------------------------------------


def audited_models() -> list[type[models.Model]]:
    found: list[type[models.Model]] = []
    for label in AUDITED_APPS:
        found.extend(apps.get_app_config(label).get_models(include_auto_created=True))
    found.append(apps.get_model(settings.AUTH_USER_MODEL))
    return found


def incident_path(model: type[models.Model]) -> list[models.ForeignKey] | None:
    """The chain of foreign keys from MODEL to its case; [] for the case itself."""
    incident_model = apps.get_model("cases", "Incident")
    if model is incident_model:
        return []
    queue: list[tuple[type[models.Model], list[Any]]] = [(model, [])]
    seen = {model}
    while queue:
        current, path = queue.pop(0)
        for field in current._meta.concrete_fields:
            if not field.many_to_one:
                continue
            target = field.related_model
            if target is None or isinstance(target, str):
                continue
            if target is incident_model:
                return [*path, field]
            if target not in seen and len(path) < 3:
                seen.add(target)
                queue.append((target, [*path, field]))
    return None


def _incident_expression(model: type[models.Model], column: Callable[[str], str]) -> str:
    """SQL giving the row's case id; COLUMN(name) spells a column of the audited row."""
    path = incident_path(model)
    if path is None:
        return "NULL"
    if not path:
        return column("id")
    expression = column(path[0].column)
    previous = path[0].related_model
    for depth, field in enumerate(path[1:], start=1):
        table = previous._meta.db_table
        expression = (
            f'(SELECT t{depth}."{field.column}" FROM "{table}" t{depth} '
            f'WHERE t{depth}."{previous._meta.pk.column}" = {expression})'
        )
        previous = field.related_model
    return expression


# -- per-table triggers ------------------------------------------------------------------


def _postgres_table_trigger(model: type[models.Model]) -> str:
    table = model._meta.db_table
    redacted = REDACTED_COLUMNS.get(table, ())
    minus = "".join(f" - '{c}'" for c in redacted)
    derived = "".join(f" - '{c}'" for c in DERIVED_COLUMNS.get(table, ()))
    skip = (
        f"\n    IF TG_OP = 'UPDATE' AND (old_image{derived}) = (new_image{derived}) THEN"
        "\n        RETURN NULL;  -- only derived columns changed\n    END IF;"
        if derived
        else ""
    )
    incident = _incident_expression(model, lambda c: f"(r ->> '{c}')::bigint")
    pk = model._meta.pk.column
    return f"""
CREATE OR REPLACE FUNCTION "inquest_audit_{table}"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r jsonb; old_image jsonb; new_image jsonb;
BEGIN
    -- Each row image is built once (text bodies can be long).
    IF TG_OP <> 'INSERT' THEN old_image := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN new_image := to_jsonb(NEW); END IF;
    r := coalesce(new_image, old_image);{skip}
    PERFORM inquest_audit_write(
        TG_TABLE_NAME, r ->> '{pk}', {incident}, lower(TG_OP),
        (old_image{minus})::text,
        (new_image{minus})::text
    );
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER inquest_audit AFTER INSERT OR UPDATE OR DELETE ON "{table}"
    FOR EACH ROW EXECUTE FUNCTION "inquest_audit_{table}"();
"""


def _sqlite_json(columns: list[str], row: str) -> str:
    chunks = [columns[i : i + 60] for i in range(0, len(columns), 60)] or [[]]
    objects = [
        "json_object(" + ", ".join(f"'{c}', {row}.\"{c}\"" for c in chunk) + ")" for chunk in chunks
    ]
    expression = objects[0]
    for more in objects[1:]:
        expression = f"json_patch({expression}, {more})"
    return expression


def _row_column(row: str) -> Callable[[str], str]:
    def column(name: str) -> str:
        return f'{row}."{name}"'

    return column


def _sqlite_table_triggers(model: type[models.Model], columns: list[str]) -> list[str]:
    table = model._meta.db_table
    redacted = REDACTED_COLUMNS.get(table, ())
    shown = [c for c in columns if c not in redacted]
    pk = model._meta.pk.column
    derived = DERIVED_COLUMNS.get(table, ())
    # An UPDATE that changes nothing but derived columns writes no record.
    changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in columns if c not in derived)
    statements = []
    for action, event, row in (
        ("insert", "INSERT", "NEW"),
        ("update", "UPDATE", "NEW"),
        ("delete", "DELETE", "OLD"),
    ):
        when = f" WHEN {changed}" if action == "update" and derived and changed else ""
        before = "NULL" if action == "insert" else _sqlite_json(shown, "OLD")
        after = "NULL" if action == "delete" else _sqlite_json(shown, "NEW")
        incident = _incident_expression(model, _row_column(row))
        name = f"inquest_audit_{table}_{action}"
        statements.append(f'DROP TRIGGER IF EXISTS "{name}";')
        statements.append(
            f"""CREATE TRIGGER "{name}" AFTER {event} ON "{table}" FOR EACH ROW{when}
BEGIN
    INSERT INTO "{AUDIT_TABLE}" (at, actor_user_id, actor, request_id, client_addr, source,
        table_name, object_pk, incident_id, action, before, after, prev_hash, hash)
    SELECT x.at, x.actor_user_id, x.actor, x.request_id, x.client_addr, x.source,
        '{table}', x.object_pk, x.incident_id, '{action}', x.before, x.after, x.prev,
        inquest_audit_hash(x.prev, x.at, x.actor_user_id, x.actor, x.request_id,
            x.client_addr, x.source, '{table}', x.object_pk, x.incident_id, '{action}',
            x.before, x.after)
    FROM (SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') AS at,
            inquest_audit_ctx('actor_id') AS actor_user_id,
            inquest_audit_ctx('actor') AS actor,
            inquest_audit_ctx('request_id') AS request_id,
            inquest_audit_ctx('client_addr') AS client_addr,
            inquest_audit_ctx('source') AS source,
            CAST({row}."{pk}" AS TEXT) AS object_pk,
            {incident} AS incident_id,
            {before} AS before,
            {after} AS after,
            coalesce((SELECT hash FROM "{AUDIT_TABLE}" ORDER BY id DESC LIMIT 1),
                '{GENESIS}') AS prev) AS x;
END;"""
        )
    return statements


def install(connection: BaseDatabaseWrapper, *, table_triggers: bool = True) -> None:
    """Create the audit table and (re)install every trigger. Idempotent.

    The audit table's own migration passes ``table_triggers=False``: on
    SQLite, a later migration that rebuilds an audited table would trip over
    triggers that name it, so those are dropped before ``migrate``
    (``on_pre_migrate``) and installed after it (``on_post_migrate``).
    """
    from incidents.audit.schema import POSTGRES_TABLE, SQLITE_TABLE, split_statements

    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(POSTGRES_TABLE)
            if not table_triggers:
                return
            existing = set(connection.introspection.table_names(cursor))
            for model in audited_models():
                if model._meta.db_table in existing:
                    cursor.execute(_postgres_table_trigger(model))
        elif vendor == "sqlite":
            for statement in split_statements(SQLITE_TABLE):
                cursor.execute(statement)
            if not table_triggers:
                return
            existing = set(connection.introspection.table_names(cursor))
            for model in audited_models():
                table = model._meta.db_table
                if table not in existing:
                    continue
                cursor.execute(f'PRAGMA table_info("{table}")')
                columns = [row[1] for row in cursor.fetchall()]
                for statement in _sqlite_table_triggers(model, columns):
                    cursor.execute(statement)
        else:  # pragma: no cover - only the two supported databases
            raise NotImplementedError(f"No audit triggers for {vendor}.")


# -- the context, issued before each write ------------------------------------------------


def _resolved_context() -> AuditContext:
    if getattr(_resolving, "active", False):
        return process_context()
    _resolving.active = True
    try:
        return current_context()
    finally:
        _resolving.active = False


def audit_execute_wrapper(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Before a write, hand the database who is acting (PostgreSQL: a setting).

    On PostgreSQL the setting is sent only when the connection does not hold
    this very value already (see :func:`_send_context`): a request's writes
    share one ``set_config`` round trip instead of paying one each.
    """
    if isinstance(sql, str) and sql.lstrip()[:8].upper().startswith(_WRITE_VERBS):
        db = context["connection"]
        audit = _resolved_context()
        if db.vendor == "postgresql":
            _send_context(db, json.dumps(audit.as_dict()))
        else:
            db.inquest_audit_context = audit
    return execute(sql, params, many, context)


def _send_context(db: BaseDatabaseWrapper, value: str) -> None:
    """Set ``inquest.context`` to VALUE on DB's connection unless it is known to hold it.

    What was sent is remembered with the raw connection it went to, and
    forgotten whenever it may no longer hold there: a new connection (or one
    taken from the pool, which another thread may have used) and any rollback,
    whole or to a savepoint, since a rollback undoes ``set_config`` too. The
    value carries the request id, so two requests never share it.
    """
    raw = db.connection
    if getattr(db, SENT_ATTRIBUTE, None) == (raw, value):
        return
    setattr(db, SENT_ATTRIBUTE, None)
    set_context_setting(raw, value)
    setattr(db, SENT_ATTRIBUTE, (raw, value))


def set_context_setting(raw: Any, value: str) -> None:
    """The round trip itself, on the raw (psycopg) connection: not a Django query."""
    with raw.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false)", [CONTEXT_SETTING, value])


def _forget_sent_context_on(db: BaseDatabaseWrapper, *names: str) -> None:
    """Wrap DB's methods NAMES so that each forgets the context sent (see _send_context)."""
    for name in names:
        original = getattr(db, name)
        if getattr(original, "inquest_forgets", False):
            continue

        def forget(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            setattr(db, SENT_ATTRIBUTE, None)
            return _original(*args, **kwargs)

        forget.inquest_forgets = True  # type: ignore[attr-defined]
        setattr(db, name, forget)


def _sqlite_functions(wrapper: BaseDatabaseWrapper) -> None:
    ref = weakref.ref(wrapper)

    def ctx(key: str) -> Any:
        db = ref()
        audit = getattr(db, "inquest_audit_context", None) if db is not None else None
        value = (audit or process_context()).as_dict().get(key)
        return None if value is None else str(value) if key != "actor_id" else value

    wrapper.connection.create_function("inquest_audit_ctx", 1, ctx)
    wrapper.connection.create_function("inquest_audit_hash", 13, record_hash, deterministic=True)


def on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if audit_execute_wrapper not in connection.execute_wrappers:
        # First in the list: the connection can be created inside another
        # wrapper's ``execute_wrapper()`` block, which pops the *last* entry
        # on exit and must find its own there.
        connection.execute_wrappers.insert(0, audit_execute_wrapper)
    if connection.vendor == "sqlite":
        _sqlite_functions(connection)
    elif connection.vendor == "postgresql":
        # A new connection, or one from the pool: whatever it holds is unknown.
        setattr(connection, SENT_ATTRIBUTE, None)
        _forget_sent_context_on(connection, "_rollback", "_savepoint_rollback", "_close")


def drop_sqlite_table_triggers(connection: BaseDatabaseWrapper) -> None:
    """Drop the audit triggers on audited tables (SQLite), keeping the trail's own guards."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name != %s "
            "AND name LIKE 'inquest_audit_%%'",
            [AUDIT_TABLE],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def on_pre_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    drop_sqlite_table_triggers(connections[using])


def on_post_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    install(connections[using])

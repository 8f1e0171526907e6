"""On SQLite too, refuse UPDATE of a custody entry in the database itself.

Only UPDATE: Django's test runner empties tables with DELETE between
transactional tests, so a DELETE guard would break it. A deleted entry is
still caught by the hash chain and the item's ``custody_head``
(``manage.py verify_evidence``). PostgreSQL has the full guard (0004).
A later migration that rebuilds this table on SQLite must re-create it.
"""

from django.db import migrations

CREATE = """
CREATE TRIGGER IF NOT EXISTS evidence_custody_no_update
BEFORE UPDATE ON evidence_custodyentry
BEGIN
    SELECT RAISE(ABORT, 'The custody log is append-only: UPDATE on evidence_custodyentry refused');
END;
"""

DROP = "DROP TRIGGER IF EXISTS evidence_custody_no_update;"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0004_custody_append_only")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]

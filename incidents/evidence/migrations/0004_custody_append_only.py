"""Make the custody log append-only in the database itself (PostgreSQL).

A trigger refuses every UPDATE and DELETE on evidence_custodyentry, whoever
issues it. SQLite skips this migration (its test runs flush tables with
DELETE, which a trigger would refuse); there, tampering is caught by the hash
chain (``manage.py verify_evidence``).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION evidence_custody_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The custody log is append-only: % on evidence_custodyentry refused', TG_OP
        USING ERRCODE = 'raise_exception';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS evidence_custody_append_only ON evidence_custodyentry;
CREATE TRIGGER evidence_custody_append_only
    BEFORE UPDATE OR DELETE ON evidence_custodyentry
    FOR EACH ROW EXECUTE FUNCTION evidence_custody_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS evidence_custody_append_only ON evidence_custodyentry;
DROP FUNCTION IF EXISTS evidence_custody_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0003_custody_chain_metadata_anchoring")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]

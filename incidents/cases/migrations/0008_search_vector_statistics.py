"""Finer statistics for the case search vectors (issue 6), as evidence/0008 for
the sources: a word outside the sampled frequent words is then guessed ten
times rarer, so a search for a rare word keeps reading the GIN index instead
of walking the list's index and testing every case. SQLite: nothing to do.
"""

from django.db import migrations

FORWARD = "ALTER TABLE cases_incident ALTER COLUMN search_vector SET STATISTICS 1000"
BACKWARD = "ALTER TABLE cases_incident ALTER COLUMN search_vector SET STATISTICS -1"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_membership_no_parallel_scan")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]

"""Finer statistics for the evidence search vectors (issue 6: a staff search's plan).

A search over the sources by staff asks for the newest 201 items matching
the text. PostgreSQL either walks the primary key backwards and tests each
item (fast for a common word) or reads the GIN index and sorts what it finds
(fast for a rare word). It decides by how many items it expects to match,
and for a word outside its sampled list of frequent words it guesses from
the rarest word in that list. With the default statistics (100) that guess
was about 2,000 of the 1,000,000 texts at L, close enough to the crossing
point that one ANALYZE in ten chose the walk for a rare word: the staff's
searches for "tachograph" and for a word found nowhere took 0.5 and 1.5 s
instead of 12 and 5 ms. With 1,000 the sampled list is ten times longer, the
guess for an unlisted word about 250, and the GIN index is chosen every
time; a common word still walks the key. ANALYZE of the table takes about
10 s at L (a background job). SQLite has no such statistics: nothing to do.
"""

from django.db import migrations

FORWARD = "ALTER TABLE evidence_evidenceitem ALTER COLUMN search_vector SET STATISTICS 1000"
BACKWARD = "ALTER TABLE evidence_evidenceitem ALTER COLUMN search_vector SET STATISTICS -1"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0007_ordering_by_column")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]

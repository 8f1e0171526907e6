"""Memberships are never scanned by parallel workers (issue 6: the member's source search).

A member's searches and lists are driven by their memberships: PostgreSQL
walks the user's memberships newest case first and probes each case (see
``incidents/cases/search.py``, ``source_candidates``). For a search of two
common terms (an estimated one match in ten) the planner priced a parallel
version of that walk below the serial one: two workers each scan part of the
memberships and a Gather Merge combines them. Starting the workers costs far
more than the walk itself: at 100,000 cases the member's search for
"screen operator" took 14-17 ms in parallel against 3-4 ms serially, and
other pairs of common words 15-98 ms against 2-31 ms.

The storage parameter ``parallel_workers = 0`` tells the planner never to
scan this table in parallel; nothing else changes (the plans that were serial
stay as they were). It is a catalog change: it takes a SHARE UPDATE EXCLUSIVE
lock (reads and writes go on) and is instant whatever the size of the table.
It also makes an index build on this table serial (the whole table is a few
hundred thousand short rows). SQLite has no such thing: nothing to do there.
"""

from django.db import migrations

FORWARD = "ALTER TABLE cases_membership SET (parallel_workers = 0)"
BACKWARD = "ALTER TABLE cases_membership RESET (parallel_workers)"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_ordering_by_column")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]

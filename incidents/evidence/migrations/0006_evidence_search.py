"""Full-text search over evidence items (sources).

PostgreSQL: ``evidence_evidenceitem.search_vector`` is a stored tsvector with a
GIN index, kept current by a BEFORE INSERT OR UPDATE row trigger (chosen over
model hooks because it also covers ``QuerySet.update()``, bulk inserts and the
data generator's COPY), in the style of cases/0003.

Weights: title A, description B, text body C, where it came from (obtained
from, URL) D. The text with the ``english`` configuration (as the case
search). The URL twice: whole with ``simple`` (``tengrinews.kz`` as a host
name), and split into words with ``english`` (``tengrinews``, stemmed as the
query will be). Only the first
``BODY_LIMIT`` characters of the text body are indexed: a tsvector is limited
to 1 MB, and a text body may hold up to 1,000,000 characters.

SQLite: the column exists but stays NULL; search falls back to icontains
(see incidents/cases/search.py).

The backfill runs once over the existing rows (the trigger is created first,
so rows written meanwhile are covered as well).
"""

import django.contrib.postgres.search
from django.db import migrations

BODY_LIMIT = 100_000

FORWARD = rf"""
CREATE OR REPLACE FUNCTION inquest_evidence_search_vector(
    p_title text, p_description text, p_text_body text, p_obtained_from text, p_url text
) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, coalesce(p_title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(p_description, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, left(coalesce(p_text_body, ''), {BODY_LIMIT})), 'C')
        || setweight(to_tsvector('english'::regconfig, coalesce(p_obtained_from, '')), 'D')
        || setweight(to_tsvector('simple'::regconfig, coalesce(p_url, '')), 'D')
        || setweight(to_tsvector('english'::regconfig,
               regexp_replace(coalesce(p_url, ''), '[^[:alnum:]]+', ' ', 'g')), 'D')
$$;

CREATE OR REPLACE FUNCTION inquest_evidence_search_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := inquest_evidence_search_vector(
        NEW.title, NEW.description, NEW.text_body, NEW.obtained_from, NEW.url);
    RETURN NEW;
END $$;

CREATE TRIGGER evidence_search_vector
BEFORE INSERT OR UPDATE OF title, description, text_body, obtained_from, url
ON evidence_evidenceitem
FOR EACH ROW EXECUTE FUNCTION inquest_evidence_search_row();

UPDATE evidence_evidenceitem
SET search_vector = inquest_evidence_search_vector(title, description, text_body, obtained_from, url);

CREATE INDEX evidence_search_idx ON evidence_evidenceitem USING gin (search_vector);
"""

BACKWARD = r"""
DROP INDEX IF EXISTS evidence_search_idx;
DROP TRIGGER IF EXISTS evidence_search_vector ON evidence_evidenceitem;
DROP FUNCTION IF EXISTS inquest_evidence_search_row();
DROP FUNCTION IF EXISTS inquest_evidence_search_vector(text, text, text, text, text);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0005_custody_no_update_sqlite")]

    operations = [
        migrations.AddField(
            model_name="evidenceitem",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]

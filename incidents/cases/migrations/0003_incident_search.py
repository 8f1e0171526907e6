"""Full-text search over cases.

PostgreSQL: ``cases_incident.search_vector`` is a stored tsvector with a GIN
index, kept current by triggers (chosen over model hooks because they also
cover bulk inserts, ``QuerySet.update()`` and the data generator's COPY):

- a row trigger on cases_incident recomputes the vector when the reference,
  title or summary is inserted or changed;
- statement-level triggers on hypotheses_hypothesis (insert, update, delete,
  with transition tables) recompute it for every case whose hypothesis
  statements changed, once per statement however many rows it touched.

Weights: reference and title A, summary B, hypothesis statements C. The
reference is indexed with the ``simple`` configuration (no stemming), the text
with ``english``.

SQLite: the column exists but stays NULL; search falls back to icontains
(see incidents/cases/search.py).
"""

import django.contrib.postgres.search
from django.conf import settings
from django.db import migrations, models

FORWARD = r"""
CREATE OR REPLACE FUNCTION inquest_incident_search_vector(
    p_id bigint, p_reference text, p_title text, p_summary text
) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('simple', coalesce(p_reference, '')), 'A')
        || setweight(to_tsvector('english', coalesce(p_title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(p_summary, '')), 'B')
        || setweight(to_tsvector('english', coalesce((
               SELECT string_agg(h.statement, ' ' ORDER BY h.id)
               FROM hypotheses_hypothesis h WHERE h.incident_id = p_id
           ), '')), 'C')
$$;

CREATE OR REPLACE FUNCTION inquest_incident_search_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := inquest_incident_search_vector(
        NEW.id, NEW.reference, NEW.title, NEW.summary);
    RETURN NEW;
END $$;

CREATE TRIGGER incident_search_vector
BEFORE INSERT OR UPDATE OF reference, title, summary ON cases_incident
FOR EACH ROW EXECUTE FUNCTION inquest_incident_search_row();

CREATE OR REPLACE FUNCTION inquest_refresh_incident_search(p_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE cases_incident i
    SET search_vector = inquest_incident_search_vector(i.id, i.reference, i.title, i.summary)
    WHERE i.id = ANY(p_ids)
$$;

CREATE OR REPLACE FUNCTION inquest_hypothesis_search_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM inquest_refresh_incident_search(
        ARRAY(SELECT DISTINCT incident_id FROM new_rows));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION inquest_hypothesis_search_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM inquest_refresh_incident_search(
        ARRAY(SELECT DISTINCT incident_id FROM old_rows));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION inquest_hypothesis_search_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Moves and confidence changes update hypotheses often: only a changed
    -- statement (or a hypothesis moved to another case) touches the vector.
    PERFORM inquest_refresh_incident_search(ARRAY(
        SELECT DISTINCT x FROM (
            SELECT n.incident_id AS x FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.statement IS DISTINCT FROM o.statement OR n.incident_id <> o.incident_id
            UNION
            SELECT o.incident_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.incident_id <> o.incident_id
        ) changed));
    RETURN NULL;
END $$;

CREATE TRIGGER hypothesis_search_inserted
AFTER INSERT ON hypotheses_hypothesis REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquest_hypothesis_search_inserted();

CREATE TRIGGER hypothesis_search_deleted
AFTER DELETE ON hypotheses_hypothesis REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquest_hypothesis_search_deleted();

CREATE TRIGGER hypothesis_search_updated
AFTER UPDATE ON hypotheses_hypothesis REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquest_hypothesis_search_updated();

CREATE INDEX incident_search_idx ON cases_incident USING gin (search_vector);

UPDATE cases_incident
SET search_vector = inquest_incident_search_vector(id, reference, title, summary);
"""

BACKWARD = r"""
DROP INDEX IF EXISTS incident_search_idx;
DROP TRIGGER IF EXISTS hypothesis_search_updated ON hypotheses_hypothesis;
DROP TRIGGER IF EXISTS hypothesis_search_deleted ON hypotheses_hypothesis;
DROP TRIGGER IF EXISTS hypothesis_search_inserted ON hypotheses_hypothesis;
DROP TRIGGER IF EXISTS incident_search_vector ON cases_incident;
DROP FUNCTION IF EXISTS inquest_hypothesis_search_updated();
DROP FUNCTION IF EXISTS inquest_hypothesis_search_deleted();
DROP FUNCTION IF EXISTS inquest_hypothesis_search_inserted();
DROP FUNCTION IF EXISTS inquest_refresh_incident_search(bigint[]);
DROP FUNCTION IF EXISTS inquest_incident_search_row();
DROP FUNCTION IF EXISTS inquest_incident_search_vector(bigint, text, text, text);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_initial"),
        ("hypotheses", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["severity", "-last_activity_at", "-id"], name="incident_severity_idx"
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]

"""The case page's plainest reads, in SQL written once per process.

Building a query through the ORM (cloning the queryset, resolving the
lookups, compiling) costs about half a millisecond of Python, more than
PostgreSQL takes to run these; the case page made eight such reads. The
ones here return plain rows (no model instances), their SQL is the ORM's
own for the same read, written with the tables' and columns' names from the
models, and each value is converted as the ORM converts its field's
(``_fetch``): datetimes, durations and booleans come back the same on SQLite
and PostgreSQL. Names not quoted here are plain lower-case words on both.
``incidents.hypotheses.scoring.case_scores`` does the same for the scores'
GROUP BY.

A read with nothing to look for (no items, no hypotheses) runs no statement,
as the ORM's ``__in=[]`` does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Field, Model
from django.db.models.expressions import Col

from incidents.cases.models import Incident, Membership, StatusUpdate, Tag
from incidents.evidence.models import Annotation, AnnotationStance, EvidenceItem
from incidents.hypotheses.models import Assessment, ConfidenceChange, Hypothesis


def _table(model: type[Model]) -> str:
    return f'"{model._meta.db_table}"'


def _columns(model: type[Model], names: Sequence[str], alias: str = "") -> str:
    """The quoted columns of the fields NAMES (some are words SQL reserves)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{cast(Field, model._meta.get_field(n)).column}"' for n in names)


def _fetch(sql: str, params: Sequence[Any], fields: Sequence[Field | None]) -> list[Any]:
    """The rows of SQL, each value passed through the converters the ORM
    applies to its field in FIELDS (None: a value that needs none)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converting = []
    for i, field in enumerate(fields):
        if field is not None:
            col = Col("", field)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                converting.append((i, col, found))
    if not converting or not rows:
        return rows
    out = []
    for row in rows:
        row = list(row)
        for i, col, found in converting:
            for convert in found:
                row[i] = convert(row[i], col, connection)
        out.append(tuple(row))
    return out


def _ids(ids: Sequence[int]) -> str:
    """An IN list of integers, written in the SQL: what psycopg's client-side
    binding sends anyway, without splitting and adapting a hundred ``%s``."""
    return ", ".join(str(int(pk)) for pk in ids)


# -- the header -------------------------------------------------------------


@cache
def _tags_sql() -> str:
    return (
        f"SELECT t.name FROM {_table(Tag)} t"
        f" JOIN {_table(Incident.tags.through)} it ON it.tag_id = t.id"
        " WHERE it.incident_id = %s ORDER BY 1"
    )


def tag_names(incident_id: int) -> list[str]:
    """The names of the case's tags, in order."""
    return [name for (name,) in _fetch(_tags_sql(), [incident_id], [])]


@cache
def _members_sql() -> str:
    user = get_user_model()
    return (
        f"SELECT m.role, {_columns(user, ('username', 'first_name', 'last_name'), 'u')}"
        f" FROM {_table(Membership)} m JOIN {_table(user)} u ON u.id = m.user_id"
        " WHERE m.incident_id = %s"
    )


def member_rows(incident_id: int) -> list[tuple[str, str, str, str]]:
    """(role, username, first name, last name) of each member of the case."""
    return _fetch(_members_sql(), [incident_id], [])


# -- the hypotheses ---------------------------------------------------------------


@cache
def _hypotheses_sql() -> str:
    columns = [f.attname for f in Hypothesis._meta.concrete_fields]
    return (
        f"SELECT {_columns(Hypothesis, columns)} FROM {_table(Hypothesis)}"
        " WHERE incident_id = %s ORDER BY incident_id, created_at, id"
    )


def hypotheses(incident: Incident) -> list[Hypothesis]:
    """The case's hypotheses in the order proposed, as ``incident.hypotheses.all()``
    gives them (model instances: the cards' forms and rules need them), each
    with INCIDENT as its case."""
    fields = Hypothesis._meta.concrete_fields
    names = [f.attname for f in fields]
    rows = _fetch(_hypotheses_sql(), [incident.pk], fields)
    out = [Hypothesis.from_db(connection.alias, names, row) for row in rows]
    for h in out:
        h.incident = incident
    return out


# -- the evidence: source list and matrix ------------------------------------


@cache
def _items_sql(columns: tuple[str, ...]) -> str:
    table = _table(EvidenceItem)
    # An uncorrelated subquery: counted once, not per row.
    return (
        f"SELECT {_columns(EvidenceItem, columns)},"
        f" (SELECT COUNT(*) FROM {table} e WHERE e.incident_id = %s)"
        f" FROM {table} WHERE incident_id = %s ORDER BY created_at, id"
    )


def first_items(
    incident_id: int, columns: tuple[str, ...], limit: int | None
) -> tuple[list[tuple[Any, ...]], int]:
    """The values of COLUMNS of the case's first LIMIT items in the order
    attached (all for None), and the number of the case's items, in one statement."""
    sql = _items_sql(columns) + ("" if limit is None else " LIMIT %s")
    params = [incident_id, incident_id] + ([] if limit is None else [int(limit)])
    fields: list[Field | None] = [cast(Field, EvidenceItem._meta.get_field(c)) for c in columns]
    rows = _fetch(sql, params, [*fields, None])
    return [row[:-1] for row in rows], (rows[0][-1] if rows else 0)


@cache
def _cells_sql() -> str:
    columns = ("evidence_id", "hypothesis_id", "rating", "relevance", "reason")
    return (
        f"SELECT {_columns(Assessment, columns)} FROM {_table(Assessment)}"
        " WHERE evidence_id IN ({})"
    )


def cell_rows(item_ids: Sequence[int]) -> list[tuple[int, int, str, str, str]]:
    """(item, hypothesis, rating, relevance, reason) of the rated cells of ITEM_IDS."""
    if not item_ids:
        return []
    return _fetch(_cells_sql().format(_ids(item_ids)), [], [])


# -- the hypotheses' charts ---------------------------------------------------


@cache
def _history_sql() -> str:
    return (
        f"SELECT {_columns(ConfidenceChange, ('hypothesis_id', 'band', 'created_at'))}"
        f" FROM {_table(ConfidenceChange)} WHERE hypothesis_id IN ({{}})"
        " ORDER BY created_at, id"
    )


def history_rows(hypothesis_ids: Sequence[int]) -> list[tuple[int, str, Any]]:
    """(hypothesis, band, when) of the confidence changes of HYPOTHESIS_IDS, oldest first."""
    if not hypothesis_ids:
        return []
    created_at = ConfidenceChange._meta.get_field("created_at")
    return _fetch(_history_sql().format(_ids(hypothesis_ids)), [], [None, None, created_at])


@cache
def _stances_sql() -> str:
    supports, contradicts = AnnotationStance.SUPPORTS.value, AnnotationStance.CONTRADICTS.value
    return (
        "SELECT a.hypothesis_id,"
        f" COUNT(a.id) FILTER (WHERE a.stance = '{supports}'),"
        f" COUNT(a.id) FILTER (WHERE a.stance = '{contradicts}')"
        f" FROM {_table(Annotation)} a JOIN {_table(EvidenceItem)} e ON e.id = a.item_id"
        " WHERE a.deleted_at IS NULL AND a.hypothesis_id IS NOT NULL"
        f" AND e.incident_id = %s AND NOT (a.stance = '{AnnotationStance.NONE.value}')"
        " GROUP BY 1"
    )


def stance_counts(incident_id: int) -> dict[int, dict[str, int]]:
    """``Annotation.objects.stance_counts`` (the rule: live annotations with a
    stance on a hypothesis), in its SQL: ``{hypothesis_id: {"supports": n,
    "contradicts": m}}``, hypotheses without stance annotations absent."""
    return {
        pk: {"supports": supports, "contradicts": contradicts}
        for pk, supports, contradicts in _fetch(_stances_sql(), [incident_id], [])
    }


# -- the timeline -------------------------------------------------------------


@cache
def _timeline_sql() -> str:
    user = get_user_model()
    columns = _columns(StatusUpdate, ("id", "kind"), "s")
    return (
        f"SELECT {columns}, u.{_columns(user, ('username',))}, s.created_at, s.body_html"
        f" FROM {_table(StatusUpdate)} s LEFT JOIN {_table(user)} u ON u.id = s.author_id"
        " WHERE s.incident_id = %s{}"
        " ORDER BY s.created_at DESC, s.id DESC LIMIT %s"
    )


def timeline_rows(
    incident_id: int, kind: str, before: tuple[dt.datetime, int] | None, limit: int
) -> list[tuple[int, str, str | None, dt.datetime, str]]:
    """(id, kind, author's username, when, body HTML) of the case's newest
    LIMIT timeline entries, of KIND only if given, strictly older than BEFORE
    ((when, id) of an entry) if given.

    The keyset is written as ``search.seek`` writes it: with the redundant
    ``created_at <= when`` that PostgreSQL uses as an index condition."""
    field = StatusUpdate._meta.get_field("created_at")
    where, params = "", list[Any]([incident_id])
    if kind:
        where += " AND s.kind = %s"
        params.append(kind)
    if before is not None:
        at = field.get_db_prep_value(before[0], connection)
        where += (
            " AND s.created_at <= %s AND (s.created_at < %s OR (s.created_at = %s AND s.id < %s))"
        )
        params += [at, at, at, int(before[1])]
    sql = _timeline_sql().format(where)
    return _fetch(sql, [*params, int(limit)], [None, None, None, field, None])

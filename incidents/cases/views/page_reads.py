"""The case page's hot reads, fixed in shape, each written once with the
ORM and compiled to SQL once per connection (``incidents.compiled``).

Building a query through the ORM (cloning the queryset, resolving the
lookups, compiling) costs about half a millisecond of Python, more than
PostgreSQL takes to run these; the case page makes eight of them. Each is a
queryset here, run compiled with the case's id or the ids on the page in its
placeholders' places; its values come back converted as the ORM converts
them (datetimes, durations and booleans alike on SQLite and PostgreSQL).
Rows come as plain tuples. Call them with keyword arguments. The rules stay
on the models: the stance counts are ``Annotation.objects.stance_count_rows``,
the timeline's keyset is ``search.seek``, the orders are the models' own.
Reads that are not the page's own (the writes' reads) use the ORM as it is.

A read with nothing to look for (no items, no hypotheses) runs no statement,
as the ORM's ``__in=[]`` does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, F, QuerySet, Subquery

from incidents.cases.models import Incident, Membership, StatusUpdate, Tag
from incidents.cases.search import seek
from incidents.compiled import compiled
from incidents.evidence.models import Annotation, EvidenceItem, stance_dict
from incidents.hypotheses.models import (
    HYPOTHESIS_COLUMNS,
    Assessment,
    ConfidenceChange,
    Hypothesis,
)
from incidents.lookups import AnyOf


class ItemColumns(NamedTuple):
    """The columns of an evidence item that the page draws (the matrix row, the
    source list), in the order ``first_items`` reads them."""

    id: int
    incident_id: int
    kind: str
    title: str
    url: str
    file: str  # the stored name; empty without a file
    original_name: str
    file_size: int | None
    language: str
    reliability: str
    credibility: int
    event_at: dt.datetime | None
    event_uncertainty: dt.timedelta | None
    collected_at: dt.datetime
    obtained_from: str
    is_illustrative: bool
    created_at: dt.datetime


# -- the header -------------------------------------------------------------


@compiled(tuples=True)
def _tags(case: int) -> QuerySet[Any]:
    return Tag.objects.filter(incidents=case).values_list("name")


def tag_names(*, incident_id: int) -> list[str]:
    """The names of the case's tags, in order."""
    return [name for (name,) in _tags(case=incident_id)]


@compiled(tuples=True)
def _members(case: int) -> QuerySet[Any]:
    return (
        Membership.objects.filter(incident=case)
        .order_by()  # the page sorts them its own way
        .values_list("role", "user__username", "user__first_name", "user__last_name")
    )


def member_rows(*, incident_id: int) -> list[tuple[str, str, str, str]]:
    """(role, username, first name, last name) of each member of the case."""
    return _members(case=incident_id)


# -- the hypotheses ---------------------------------------------------------------


@compiled(tuples=True)
def _hypotheses(case: int) -> QuerySet[Any]:
    return Hypothesis.objects.filter(incident=case).values_list(*HYPOTHESIS_COLUMNS)


def hypotheses(incident: Incident) -> list[Hypothesis]:
    """The case's hypotheses in the order proposed, as ``incident.hypotheses.all()``
    gives them (model instances: the cards' forms and rules need them), each
    with INCIDENT as its case."""
    out = [
        Hypothesis.from_db(connection.alias, HYPOTHESIS_COLUMNS, row)
        for row in _hypotheses(case=incident.pk)
    ]
    for h in out:
        h.incident = incident
    return out


# -- the evidence: source list and matrix ------------------------------------


@compiled(tuples=True)
def _first_items(case: int, limit: int | None) -> QuerySet[Any]:
    # The case's number of items in an uncorrelated subquery: counted once, not per row.
    total = (
        EvidenceItem.objects.filter(incident=case, withdrawn_at=None)
        .order_by()
        .values("incident")
        .annotate(n=Count("id"))
        .values("n")
    )
    withdrawn = (
        EvidenceItem.objects.filter(incident=case, withdrawn_at__isnull=False)
        .order_by()
        .values("incident")
        .annotate(n=Count("id"))
        .values("n")
    )
    items = (
        EvidenceItem.objects.filter(incident=case, withdrawn_at=None)
        .order_by("created_at", "id")
        .annotate(case_total=Subquery(total), case_withdrawn=Subquery(withdrawn))
        .values_list(*ItemColumns._fields, "case_total", "case_withdrawn")
    )
    return items if limit is None else items[:limit]


def first_items(
    *, incident_id: int, limit: int | None
) -> tuple[list[tuple[Any, ...]], int, int | None]:
    """The ``ItemColumns`` of the case's first LIMIT items in the order
    attached (all for None; withdrawn items are not among them), the number
    of the case's items and the number of its withdrawn ones (None when
    there is no item to carry it), in one statement."""
    rows = _first_items(case=incident_id, limit=limit)
    if not rows:
        return [], 0, None
    return [row[:-2] for row in rows], rows[0][-2], rows[0][-1] or 0


def withdrawn_items(*, incident_id: int) -> list[tuple[Any, ...]]:
    """(id, title, grade, withdrawn at, by whom, reason, note) of the case's withdrawn items."""
    return list(
        EvidenceItem.objects.filter(incident=incident_id, withdrawn_at__isnull=False)
        .order_by("withdrawn_at", "id")
        .values_list(
            "id",
            "title",
            "reliability",
            "credibility",
            "withdrawn_at",
            "withdrawn_by__username",
            "withdrawal_reason",
            "withdrawal_note",
        )
    )


@compiled(tuples=True)
def _cells(items: Sequence[int]) -> QuerySet[Any]:
    return (
        Assessment.objects.filter(AnyOf(F("evidence_id"), items))
        .order_by()
        .values_list("evidence_id", "hypothesis_id", "rating", "relevance", "reason")
    )


def cell_rows(*, item_ids: Sequence[int]) -> list[tuple[int, int, str, str, str]]:
    """(item, hypothesis, rating, relevance, reason) of the rated cells of ITEM_IDS."""
    return _cells(items=item_ids) if item_ids else []


# -- the hypotheses' charts ---------------------------------------------------


@compiled(tuples=True)
def _history(hypotheses: Sequence[int]) -> QuerySet[Any]:
    return (
        ConfidenceChange.objects.filter(AnyOf(F("hypothesis_id"), hypotheses))
        .order_by("created_at", "id")
        .values_list("hypothesis_id", "band", "created_at")
    )


def history_rows(*, hypothesis_ids: Sequence[int]) -> list[tuple[int, str, Any]]:
    """(hypothesis, band, when) of the confidence changes of HYPOTHESIS_IDS, oldest first."""
    return _history(hypotheses=hypothesis_ids) if hypothesis_ids else []


@compiled(tuples=True)
def _stances(case: int) -> QuerySet[Any]:
    return Annotation.objects.stance_count_rows(case)


def stance_counts(*, incident_id: int) -> dict[int, dict[str, int]]:
    """``Annotation.objects.stance_counts`` of the case, from the same query:
    ``{hypothesis_id: {"supports": n, "contradicts": m}}``."""
    return stance_dict(_stances(case=incident_id))


# -- the timeline -------------------------------------------------------------


@compiled(tuples=True)
def _timeline(
    case: int, kind: str | None, at: dt.datetime | None, before: int | None, limit: int
) -> QuerySet[Any]:
    entries = StatusUpdate.objects.filter(incident=case)
    if kind is not None:
        entries = entries.filter(kind=kind)
    if at is not None:
        entries = entries.filter(seek(("created_at", "id"), (at, before), forward_desc=True))
    return entries.order_by("-created_at", "-id").values_list(
        "id", "kind", "author__username", "created_at", "body_html"
    )[:limit]


def timeline_rows(
    *, incident_id: int, kind: str, before: tuple[dt.datetime, int] | None, limit: int
) -> list[tuple[int, str, str | None, dt.datetime, str]]:
    """(id, kind, author's username, when, body HTML) of the case's newest
    LIMIT timeline entries, of KIND only if given, strictly older than BEFORE
    ((when, id) of an entry) if given, in ``search.seek``'s keyset."""
    at, pk = before if before is not None else (None, None)
    return _timeline(case=incident_id, kind=kind or None, at=at, before=pk, limit=limit)

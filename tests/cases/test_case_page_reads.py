"""The case page's compiled reads (``incidents.cases.views.page_reads``) give
what the plain ORM gives for the same read, on SQLite and PostgreSQL alike:
the same rows, with datetimes, durations and booleans converted the same way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db.models import Count, Subquery
from django.utils import timezone

from incidents.cases.models import Incident, StatusUpdate
from incidents.cases.search import seek
from incidents.cases.views import page_reads
from incidents.cases.views.page_data import ITEM_COLUMNS
from incidents.evidence.models import Annotation
from incidents.hypotheses.models import Assessment, ConfidenceChange, Hypothesis
from tests.evidence_factories import TEXT, attach, fast_hashing, png_bytes  # noqa: F401
from tests.factories import rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(incident: Incident, lead: Any, investigator: Any) -> Incident:
    """A case with a bit of everything the page reads."""
    incident.set_tags(["screens", "almaty", "night-shift"])
    investigator.first_name, investigator.last_name = "Bob", "Kaliyev"
    investigator.save()
    when = timezone.now() - dt.timedelta(days=2)
    items = [
        attach(incident, lead, text_body=TEXT, title="Operator log", url="https://e.org/a"),
        attach(
            incident,
            lead,
            png_bytes(),
            name="screen.png",
            title="Photo of the screen",
            event_at=when,
            event_uncertainty=dt.timedelta(minutes=10),
            is_illustrative=True,
            reliability="B",
            credibility=2,
        ),
        attach(incident, lead, text_body="Witness: «флаг» shown.", title="Witness, café"),
    ]
    first = Hypothesis.propose(incident, by=lead, statement="Hacked.", kind="cyberattack")
    other = Hypothesis.propose(incident, by=lead, statement="A fault.", kind="technical_fault")
    rate(items[0], first, "II", "high")
    rate(items[0], other, "C")
    rate(items[1], first, "N", "low")
    first.set_confidence("likely", by=lead, reason="The log.")
    first.set_confidence("very_likely", by=lead, reason="The photo.")
    for stance, h in [("supports", first), ("contradicts", first), ("contradicts", other)]:
        Annotation.create_for(
            items[0], by=lead, body="x", stance=stance, hypothesis=h, exact="flag image"
        )
    Annotation.create_for(items[0], by=lead, body="no stance", exact="flag image")
    gone = Annotation.create_for(
        items[0], by=lead, body="x", stance="supports", hypothesis=other, exact="flag image"
    )
    gone.soft_delete(by=lead)
    for n in range(5):
        StatusUpdate.objects.post(incident, kind="note", body=f"Note {n}", by=lead)
    StatusUpdate.objects.post(incident, kind="finding", body="A finding", by=investigator)
    return incident


def test_tags_and_members(case: Incident) -> None:
    assert page_reads.tag_names(incident_id=case.pk) == list(
        case.tags.values_list("name", flat=True)
    )
    orm = case.memberships.order_by().values_list(
        "role", "user__username", "user__first_name", "user__last_name"
    )
    assert sorted(page_reads.member_rows(incident_id=case.pk)) == sorted(orm)
    assert ("investigator", "bob", "Bob", "Kaliyev") in page_reads.member_rows(incident_id=case.pk)


@pytest.mark.parametrize("limit", [None, 2, 100])
def test_first_items_with_their_count(case: Incident, limit: int | None) -> None:
    total = case.evidence.order_by().values("incident").annotate(n=Count("id"))
    orm = list(
        case.evidence.order_by("created_at", "id")
        .annotate(case_total=Subquery(total.values("n")))
        .values_list(*ITEM_COLUMNS, "case_total")
    )[:limit]
    rows, count, withdrawn = page_reads.first_items(incident_id=case.pk, limit=limit)
    assert rows == [row[:-1] for row in orm]
    assert count == 3
    assert withdrawn == 0
    photo = next(row for row in rows if row[ITEM_COLUMNS.index("title")] == "Photo of the screen")
    assert isinstance(photo[ITEM_COLUMNS.index("event_at")], dt.datetime)
    assert photo[ITEM_COLUMNS.index("event_uncertainty")] == dt.timedelta(minutes=10)
    assert photo[ITEM_COLUMNS.index("is_illustrative")] is True
    assert photo[ITEM_COLUMNS.index("file")]  # the stored name


def test_no_items(incident: Incident) -> None:
    assert page_reads.first_items(incident_id=incident.pk, limit=100) == ([], 0, None)


def test_cells_and_histories(case: Incident) -> None:
    items = list(case.evidence.values_list("id", flat=True))
    orm = Assessment.objects.filter(evidence_id__in=items).values_list(
        "evidence_id", "hypothesis_id", "rating", "relevance", "reason"
    )
    assert sorted(page_reads.cell_rows(item_ids=items)) == sorted(orm)
    hypotheses = list(case.hypotheses.values_list("id", flat=True))
    history = (
        ConfidenceChange.objects.filter(hypothesis_id__in=hypotheses)
        .order_by("created_at", "id")
        .values_list("hypothesis_id", "band", "created_at")
    )
    assert page_reads.history_rows(hypothesis_ids=hypotheses) == list(history)
    assert len(history) == 2


def test_nothing_to_look_for_runs_no_statement(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert page_reads.cell_rows(item_ids=[]) == []
        assert page_reads.history_rows(hypothesis_ids=[]) == []


def test_stance_counts_follow_the_models_rule(case: Incident) -> None:
    counts = page_reads.stance_counts(incident_id=case.pk)
    assert counts == Annotation.objects.stance_counts(case)
    assert sorted(c["supports"] + c["contradicts"] for c in counts.values()) == [1, 2]


@pytest.mark.parametrize("kind", ["", "note"])
def test_timeline_pages(case: Incident, kind: str) -> None:
    updates = case.updates.filter(kind=kind) if kind else case.updates.all()
    newest = updates.order_by("-created_at", "-id").values_list(
        "id", "kind", "author__username", "created_at", "body_html"
    )
    assert page_reads.timeline_rows(incident_id=case.pk, kind=kind, before=None, limit=3) == list(
        newest[:3]
    )
    # Strictly older than the third entry, as ``search.seek`` selects them.
    pk, at = newest[2][0], newest[2][3]
    older = newest.filter(seek(("created_at", "id"), (at, pk), forward_desc=True))
    assert page_reads.timeline_rows(
        incident_id=case.pk, kind=kind, before=(at, pk), limit=50
    ) == list(older)
    assert len(older) == len(newest) - 3


def test_hypotheses_as_the_orm_builds_them(case: Incident, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        hypotheses = page_reads.hypotheses(case)
        assert all(h.incident is case for h in hypotheses)  # no query for the case
    orm = list(case.hypotheses.all())
    assert [h.pk for h in hypotheses] == [h.pk for h in orm]
    for mine, theirs in zip(hypotheses, orm, strict=True):
        for field in Hypothesis._meta.concrete_fields:
            assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
        assert not mine._state.adding and mine._state.db == theirs._state.db

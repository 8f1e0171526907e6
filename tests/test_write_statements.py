"""The statements each write runs: no savepoints, validation queries or re-reads it can do
without (issue 6). Counted as data statements (SELECT/INSERT/UPDATE/DELETE) and savepoints,
so the figures are the same on PostgreSQL and SQLite; the test itself runs inside a
transaction, so a write's own ``atomic()`` shows as at most one savepoint."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis

pytestmark = pytest.mark.django_db


class Statements:
    def __init__(self, captured: CaptureQueriesContext) -> None:
        sqls = [q["sql"].lstrip().upper() for q in captured.captured_queries]
        self.data = [
            s for s in sqls if s.split(" ", 1)[0] in {"SELECT", "INSERT", "UPDATE", "DELETE"}
        ]
        self.savepoints = [s for s in sqls if s.startswith("SAVEPOINT")]

    def verbs(self) -> list[str]:
        return [s.split(" ", 1)[0] for s in self.data]


def run(fn: Any) -> Statements:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return Statements(captured)


@pytest.fixture
def hypothesis(incident: Incident, lead: Any) -> Hypothesis:
    return Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")


@pytest.fixture
def item(incident: Incident, investigator: Any) -> EvidenceItem:
    return EvidenceItem.attach(
        incident, by=investigator, title="Operator log", text_body="The screen flickered at 21:04."
    )


def test_timeline_post_is_an_insert_and_an_update_without_savepoint(
    incident: Incident, lead: Any
) -> None:
    done = run(lambda: StatusUpdate.objects.post(incident, kind="note", body="Seen.", by=lead))
    assert done.verbs() == ["INSERT", "UPDATE"]  # the entry, then last_activity_at
    assert done.savepoints == []


def test_rating_a_cell_again_locks_updates_and_marks_activity(
    hypothesis: Hypothesis, item: EvidenceItem, lead: Any
) -> None:
    cell = Assessment.rate(item, hypothesis, by=lead, rating="C")
    done = run(
        lambda: Assessment.rate(
            item, hypothesis, by=lead, rating="II", reason="Contradicts.", expected_version=1
        )
    )
    # SELECT … FOR UPDATE, the cell, last_activity_at: no constraint-check queries.
    assert done.verbs() == ["SELECT", "UPDATE", "UPDATE"]
    assert len(done.savepoints) <= 1
    cell.refresh_from_db()
    assert (cell.rating, cell.version) == ("II", 2)


def test_rating_still_refuses_bad_input_without_writing(
    hypothesis: Hypothesis, item: EvidenceItem, lead: Any
) -> None:
    Assessment.rate(item, hypothesis, by=lead, rating="C")
    for bad in ({"rating": "X"}, {"rating": "I", "relevance": "huge"}):
        with pytest.raises(ValidationError):
            Assessment.rate(item, hypothesis, by=lead, **bad)
    assert Assessment.objects.get(evidence=item, hypothesis=hypothesis).rating == "C"


def test_moving_a_hypothesis_without_citations(hypothesis: Hypothesis, lead: Any) -> None:
    done = run(
        lambda: hypothesis.move_to(
            "under_evaluation", by=lead, rationale="Worth a look.", expected_version=1
        )
    )
    # lock (with its case), the move, the hypothesis, the timeline entry, last_activity_at
    assert done.verbs() == ["SELECT", "INSERT", "UPDATE", "INSERT", "UPDATE"]
    assert len(done.savepoints) <= 1


def test_moving_a_hypothesis_with_citations_keeps_them(
    hypothesis: Hypothesis, item: EvidenceItem, lead: Any
) -> None:
    move = hypothesis.move_to(
        "under_evaluation", by=lead, rationale="The log.", cited_evidence=[item]
    )
    assert list(move.cited_evidence.all()) == [item]


def test_annotating_a_passage_is_one_insert(item: EvidenceItem, investigator: Any) -> None:
    done = run(
        lambda: Annotation.create_for(
            item, by=investigator, body="Timing matters.", exact="flickered", start=11, end=20
        )
    )
    assert done.verbs() == ["INSERT"]
    assert len(done.savepoints) <= 1

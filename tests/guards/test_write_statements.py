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
        self.response: Any = None  # what the write returned

    def verbs(self) -> list[str]:
        return [s.split(" ", 1)[0] for s in self.data]


def run(fn: Any) -> Statements:
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    done = Statements(captured)
    done.response = result
    return done


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


# -- the writes as the case page sends them (HTMX), answer included ------------------


def test_rating_a_cell_through_the_page_reads_nothing_twice(
    client: Any, incident: Incident, hypothesis: Hypothesis, item: EvidenceItem, lead: Any
) -> None:
    from django.urls import reverse

    client.force_login(lead)
    url = reverse("hypotheses:cell", args=[incident.reference, item.pk, hypothesis.pk])
    client.get(reverse("cases:detail", args=[incident.reference]))  # warm the session
    done = run(
        lambda: client.post(
            url, {"rating": "C", "relevance": "medium", "version": 0}, HTTP_HX_REQUEST="true"
        )
    )
    # session, user, the item with its case, the role and the case's item count,
    # the case's hypotheses; lock, the cell, last_activity_at; the row's cells,
    # the scores.
    assert done.verbs() == ["SELECT"] * 4 + ["SELECT", "INSERT", "UPDATE"] + ["SELECT"] * 2
    assert Assessment.objects.get(evidence=item, hypothesis=hypothesis).rating == "C"


def test_rating_a_cell_in_a_large_case_reads_the_same(
    client: Any, incident: Incident, hypothesis: Hypothesis, lead: Any
) -> None:
    """More items than a page: still the saved row's cells and the GROUP BY over
    the case (constant in the case's size), and the foot shows its scores."""
    from django.urls import reverse

    from incidents.cases.views.page_data import PAGE_ROWS
    from incidents.hypotheses import scoring

    items = [
        EvidenceItem.attach(
            incident, by=lead, title=f"Item {i}", url=f"https://example.org/{i}", reliability="A"
        )
        for i in range(PAGE_ROWS + 1)
    ]
    for item in items[:3]:
        Assessment.rate(item, hypothesis, by=lead, rating="II")
    client.force_login(lead)
    client.get(reverse("cases:detail", args=[incident.reference]))
    url = reverse("hypotheses:cell", args=[incident.reference, items[-1].pk, hypothesis.pk])
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            url, {"rating": "C", "relevance": "high", "version": 0}, HTTP_HX_REQUEST="true"
        )
    done = Statements(captured)
    assert done.verbs() == ["SELECT"] * 4 + ["SELECT", "INSERT", "UPDATE"] + ["SELECT"] * 2
    expected = scoring.score_case(incident).hypotheses[hypothesis.pk].score
    assert f'<span class="score">{expected:.2f}</span>' in response.content.decode()


def test_rating_a_cell_in_a_small_case_answers_the_same_scores(
    client: Any, incident: Incident, hypothesis: Hypothesis, item: EvidenceItem, lead: Any
) -> None:
    from django.urls import reverse

    from incidents.hypotheses import scoring

    other = EvidenceItem.attach(
        incident, by=lead, title="Log", url="https://example.org/log", reliability="E"
    )
    Assessment.rate(other, hypothesis, by=lead, rating="CC", relevance="low")
    client.force_login(lead)
    url = reverse("hypotheses:cell", args=[incident.reference, item.pk, hypothesis.pk])
    response = client.post(
        url, {"rating": "II", "relevance": "high", "version": 0}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    expected = scoring.score_case(incident).hypotheses[hypothesis.pk].score
    assert f'<span class="score">{expected:.2f}</span>' in html
    assert f'id="row-{item.pk}"' in html and f'id="row-{other.pk}"' not in html
    assert 'class="badge rating-II"' in html


def test_moving_a_hypothesis_through_the_page_reads_nothing_twice(
    client: Any, incident: Incident, hypothesis: Hypothesis, lead: Any
) -> None:
    from django.urls import reverse

    client.force_login(lead)
    client.get(reverse("cases:detail", args=[incident.reference]))  # warm the session
    prefix = f"move-{hypothesis.pk}"
    data = {
        f"{prefix}-status": "under_evaluation",
        f"{prefix}-rationale": "Worth a look.",
        f"{prefix}-version": hypothesis.version,
    }
    url = reverse("hypotheses:move", args=[incident.reference, hypothesis.pk])
    done = run(lambda: client.post(url, data, HTTP_HX_REQUEST="true"))
    # session, user, the case's hypotheses with the case and the role; the move
    # (lock, move, hypothesis, timeline entry, last_activity_at); its card reads
    # nothing: a move changes none of its figures, which the page keeps.
    assert done.verbs() == ["SELECT"] * 3 + ["SELECT", "INSERT", "UPDATE", "INSERT", "UPDATE"]
    hypothesis.refresh_from_db()
    assert hypothesis.status == "under_evaluation"
    card = done.response.content.decode()
    assert 'class="badge status-under_evaluation"' in card
    for part in ("rank", "score", "stances", "chart"):
        assert f'id="hyp-{hypothesis.pk}-{part}" hx-preserve="true"' in card

"""The database itself refuses invalid choices, even through ``.update()``,
which skips every Python-side validation."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, ConfidenceChange, Hypothesis, HypothesisMove
from tests.factories import EvidenceItemFactory, HypothesisFactory, rate


@pytest.fixture
def records(db: Any) -> dict[type, Any]:
    hypothesis = HypothesisFactory()
    incident = hypothesis.incident
    lead = incident.lead
    item = EvidenceItemFactory(incident=incident, text_body="The screen showed a flag.")
    hypothesis.move_to("under_evaluation", by=lead, rationale="Start.")
    hypothesis.set_confidence("likely", by=lead, reason="First look.")
    annotation = Annotation.objects.create(
        item=item, author=lead, body="Note.", quote_exact="flag", position_start=21,
        position_end=25,
    )  # fmt: skip
    return {
        Incident: incident,
        Membership: incident.memberships.first(),
        StatusUpdate: incident.updates.first(),
        Hypothesis: hypothesis,
        HypothesisMove: hypothesis.moves.first(),
        ConfidenceChange: hypothesis.confidence_history.first(),
        Assessment: rate(item, hypothesis, "C"),
        EvidenceItem: item,
        CustodyEntry: item.custody.first(),
        Annotation: annotation,
    }


INVALID = [
    (Incident, "status", "archived"),
    (Incident, "severity", "apocalyptic"),
    (Membership, "role", "boss"),
    (StatusUpdate, "kind", "gossip"),
    (Hypothesis, "status", "maybe"),
    (Hypothesis, "kind", "sorcery"),
    (Hypothesis, "confidence", "sure_thing"),
    (HypothesisMove, "to_status", "maybe"),
    (ConfidenceChange, "band", "sure_thing"),
    (Assessment, "rating", "X"),
    (Assessment, "relevance", "huge"),
    (EvidenceItem, "kind", "rumour"),
    (EvidenceItem, "reliability", "Z"),
    (EvidenceItem, "credibility", 9),
    (CustodyEntry, "action", "lost"),
    (Annotation, "stance", "ambivalent"),
]


@pytest.mark.parametrize(
    ("model", "field", "value"), INVALID, ids=[f"{m.__name__}.{f}" for m, f, _ in INVALID]
)
def test_database_rejects_an_invalid_choice(
    records: dict[type, Any], model: type, field: str, value: Any
) -> None:
    record = records[model]
    # The custody log is append-only: on PostgreSQL a trigger may refuse the
    # UPDATE itself before the check constraint does; refused either way.
    expected = DatabaseError if model is CustodyEntry else IntegrityError
    with transaction.atomic(), pytest.raises(expected):
        model.objects.filter(pk=record.pk).update(**{field: value})
    record.refresh_from_db()
    assert getattr(record, field) != value


@pytest.mark.django_db
def test_one_assessment_per_pair_and_one_membership_per_user(records: dict[type, Any]) -> None:
    cell = records[Assessment]
    with transaction.atomic(), pytest.raises(IntegrityError):
        Assessment.objects.create(
            evidence=cell.evidence, hypothesis=cell.hypothesis, rating="I", author=cell.author
        )
    member = records[Membership]
    with transaction.atomic(), pytest.raises(IntegrityError):
        Membership.objects.create(incident=member.incident, user=member.user, role="observer")


@pytest.mark.django_db
def test_coordinates_come_in_pairs(records: dict[type, Any]) -> None:
    with transaction.atomic(), pytest.raises(IntegrityError):
        Incident.objects.filter(pk=records[Incident].pk).update(latitude=51.1, longitude=None)


@pytest.mark.django_db
def test_annotation_stance_needs_a_hypothesis(records: dict[type, Any]) -> None:
    with transaction.atomic(), pytest.raises(IntegrityError):
        Annotation.objects.filter(pk=records[Annotation].pk).update(stance="supports")

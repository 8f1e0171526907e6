"""Hypothesis rules: the legal graph, rationales, confidence history."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from incidents.cases.models import StatusUpdate
from incidents.hypotheses.models import ConfidenceChange, Hypothesis, HypothesisMove
from tests.factories import EvidenceItemFactory, HypothesisFactory, IncidentFactory

S = Hypothesis.Status
ALL = list(S)

# The legal graph as the issue states it, written out independently of the model.
LEGAL: dict[str, set[str]] = {
    S.PROPOSED: {S.UNDER_EVALUATION, S.WITHDRAWN},
    S.UNDER_EVALUATION: {S.SUPPORTED, S.WEAKENED, S.WITHDRAWN},
    S.SUPPORTED: {S.CONFIRMED, S.REFUTED, S.UNDER_EVALUATION, S.WITHDRAWN},
    S.WEAKENED: {S.CONFIRMED, S.REFUTED, S.UNDER_EVALUATION, S.WITHDRAWN},
    # Concluded hypotheses may be reconsidered while the case is open.
    S.CONFIRMED: {S.UNDER_EVALUATION},
    S.REFUTED: {S.UNDER_EVALUATION},
    S.WITHDRAWN: {S.UNDER_EVALUATION},
}

# A legal path from "proposed" to each status.
PATH: dict[str, list[str]] = {
    S.PROPOSED: [],
    S.UNDER_EVALUATION: [S.UNDER_EVALUATION],
    S.SUPPORTED: [S.UNDER_EVALUATION, S.SUPPORTED],
    S.WEAKENED: [S.UNDER_EVALUATION, S.WEAKENED],
    S.CONFIRMED: [S.UNDER_EVALUATION, S.SUPPORTED, S.CONFIRMED],
    S.REFUTED: [S.UNDER_EVALUATION, S.WEAKENED, S.REFUTED],
    S.WITHDRAWN: [S.WITHDRAWN],
}

GRID = [(a, b) for a in ALL for b in ALL]


def put_in(hypothesis: Hypothesis, status: str) -> Hypothesis:
    for step in PATH[status]:
        hypothesis.move_to(step, by=hypothesis.incident.lead, rationale=f"Setting up: {step}.")
    assert hypothesis.status == status
    return hypothesis


def test_the_model_graph_is_the_documented_graph() -> None:
    assert {k: set(v) for k, v in Hypothesis.TRANSITIONS.items()} == LEGAL


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "target"), [g for g in GRID if g[1] in LEGAL[g[0]]])
def test_legal_move(start: str, target: str) -> None:
    hypothesis = put_in(HypothesisFactory(), start)
    version = hypothesis.version
    moves = hypothesis.moves.count()

    move = hypothesis.move_to(target, by=hypothesis.incident.lead, rationale="Because.")

    hypothesis.refresh_from_db()
    assert hypothesis.status == target
    assert hypothesis.version == version + 1
    assert (move.from_status, move.to_status, move.rationale) == (start, target, "Because.")
    assert hypothesis.moves.count() == moves + 1
    entry = hypothesis.incident.updates.first()
    assert entry.kind == StatusUpdate.Kind.HYPOTHESIS_MOVED
    assert entry.hypothesis == hypothesis
    assert "Because." in entry.body


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "target"), [g for g in GRID if g[1] not in LEGAL[g[0]]])
def test_illegal_move_is_refused_and_writes_nothing(start: str, target: str) -> None:
    hypothesis = put_in(HypothesisFactory(), start)
    moves, updates = HypothesisMove.objects.count(), StatusUpdate.objects.count()

    with pytest.raises(ValidationError) as caught:
        hypothesis.move_to(target, by=hypothesis.incident.lead, rationale="Because.")

    message = caught.value.message_dict["status"][0]
    assert f"cannot be moved to {S(target).label.lower()}" in message
    assert "it can go to:" in message
    hypothesis.refresh_from_db()
    assert hypothesis.status == start
    assert HypothesisMove.objects.count() == moves
    assert StatusUpdate.objects.count() == updates


@pytest.mark.django_db
@pytest.mark.parametrize("rationale", ["", "   \n  ", None])
def test_rationale_is_required(rationale: Any) -> None:
    hypothesis = HypothesisFactory()
    with pytest.raises(ValidationError) as caught:
        hypothesis.move_to(S.UNDER_EVALUATION, by=hypothesis.incident.lead, rationale=rationale)
    assert "rationale" in caught.value.message_dict
    hypothesis.refresh_from_db()
    assert hypothesis.status == S.PROPOSED
    assert not hypothesis.moves.exists()


@pytest.mark.django_db
def test_unknown_status_is_refused() -> None:
    hypothesis = HypothesisFactory()
    with pytest.raises(ValidationError, match="not a hypothesis status"):
        hypothesis.move_to("maybe", by=hypothesis.incident.lead, rationale="Why not.")


@pytest.mark.django_db
def test_a_move_can_cite_evidence_of_its_own_case_only() -> None:
    hypothesis = HypothesisFactory()
    own = EvidenceItemFactory(incident=hypothesis.incident)
    foreign = EvidenceItemFactory()

    with pytest.raises(ValidationError, match="Only evidence of this case"):
        hypothesis.move_to(
            S.UNDER_EVALUATION,
            by=hypothesis.incident.lead,
            rationale="See the source.",
            cited_evidence=[foreign],
        )
    move = hypothesis.move_to(
        S.UNDER_EVALUATION,
        by=hypothesis.incident.lead,
        rationale="See the source.",
        cited_evidence=[own],
    )
    assert list(move.cited_evidence.all()) == [own]
    assert own.title in hypothesis.incident.updates.first().body


@pytest.mark.django_db
def test_no_moves_and_no_new_hypotheses_in_a_closed_case() -> None:
    incident = IncidentFactory()
    lead = incident.lead
    hypothesis = HypothesisFactory(incident=incident)
    incident.move_to("investigating", by=lead, reason="Start.")
    incident.move_to("closed_inconclusive", by=lead, reason="Nothing more to learn.")

    with pytest.raises(ValidationError, match="The case is closed"):
        hypothesis.move_to(S.UNDER_EVALUATION, by=lead, rationale="Try.")
    with pytest.raises(ValidationError, match="The case is closed"):
        HypothesisFactory(incident=incident)

    incident.move_to("investigating", by=lead, reason="New source turned up.")
    hypothesis.move_to(S.UNDER_EVALUATION, by=lead, rationale="Back to work.")
    assert hypothesis.status == S.UNDER_EVALUATION


@pytest.mark.django_db
def test_propose_writes_the_timeline_and_validates() -> None:
    incident = IncidentFactory()
    hypothesis = Hypothesis.propose(
        incident, by=incident.lead, statement="  A glitch.  ", kind=Hypothesis.Kind.TECHNICAL_FAULT
    )
    assert hypothesis.statement == "A glitch."
    assert hypothesis.status == S.PROPOSED
    assert hypothesis.confidence is None
    entry = incident.updates.first()
    assert entry.kind == StatusUpdate.Kind.HYPOTHESIS_ADDED
    assert "technical fault" in entry.body

    with pytest.raises(ValidationError) as caught:
        Hypothesis.propose(incident, by=incident.lead, statement="", kind="sorcery")
    assert set(caught.value.message_dict) == {"statement", "kind"}


@pytest.mark.django_db
def test_confidence_history_is_kept_in_order_with_author_and_reason(
    investigator: Any,
) -> None:
    hypothesis = HypothesisFactory()
    lead = hypothesis.incident.lead

    hypothesis.set_confidence("roughly_even", by=lead, reason="First look.")
    hypothesis.set_confidence("likely", by=investigator, reason="The log.")
    hypothesis.set_confidence("very_likely", by=lead, reason="The witness.")

    hypothesis.refresh_from_db()
    assert hypothesis.confidence == "very_likely"
    assert hypothesis.version == 4
    history = list(
        hypothesis.confidence_history.values_list("previous", "band", "reason", "author")
    )
    assert history == [
        (None, "roughly_even", "First look.", lead.pk),
        ("roughly_even", "likely", "The log.", investigator.pk),
        ("likely", "very_likely", "The witness.", lead.pk),
    ]
    times = list(hypothesis.confidence_history.values_list("created_at", flat=True))
    assert times == sorted(times)
    entry = hypothesis.incident.updates.first()
    assert entry.kind == StatusUpdate.Kind.CONFIDENCE_CHANGED
    assert "likely → very likely" in entry.body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("band", "reason", "field"),
    [
        ("sure_thing", "Because.", "confidence"),
        ("likely", "", "reason"),
        ("likely", "   ", "reason"),
    ],
)
def test_bad_confidence_changes_are_refused(band: str, reason: str, field: str) -> None:
    hypothesis = HypothesisFactory()
    with pytest.raises(ValidationError) as caught:
        hypothesis.set_confidence(band, by=hypothesis.incident.lead, reason=reason)
    assert field in caught.value.message_dict
    assert not ConfidenceChange.objects.exists()


@pytest.mark.django_db
def test_stating_the_same_confidence_again_is_refused() -> None:
    hypothesis = HypothesisFactory()
    hypothesis.set_confidence("likely", by=hypothesis.incident.lead, reason="First.")
    with pytest.raises(ValidationError, match="already the stated confidence"):
        hypothesis.set_confidence("likely", by=hypothesis.incident.lead, reason="Again.")
    assert hypothesis.confidence_history.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reason", "message"),
    [("x" * 5001, "within 5,000 characters"), ("a\x00b", "null character")],
)
def test_a_rating_refuses_a_bad_reason_and_keeps_the_cell(reason: str, message: str) -> None:
    from incidents.hypotheses.models import Assessment

    hypothesis = HypothesisFactory()
    item = EvidenceItemFactory(incident=hypothesis.incident)
    lead = hypothesis.incident.lead
    Assessment.rate(item, hypothesis, by=lead, rating="C", reason="  Seen on the video.  ")
    with pytest.raises(ValidationError, match=message) as refused:
        Assessment.rate(item, hypothesis, by=lead, rating="II", reason=reason)
    assert "reason" in refused.value.message_dict
    cell = Assessment.objects.get(evidence=item, hypothesis=hypothesis)
    assert (cell.rating, cell.reason, cell.version) == ("C", "Seen on the video.", 1)


# -- who may conclude: only the case's lead confirms or refutes ----------------------


@pytest.mark.django_db
@pytest.mark.parametrize("target", [S.CONFIRMED, S.REFUTED])
@pytest.mark.parametrize("who", ["investigator", "observer", "outsider", "staff"])
def test_only_the_lead_confirms_or_refutes(
    request: pytest.FixtureRequest, incident: Any, lead: Any, who: str, target: str
) -> None:
    hypothesis = put_in(HypothesisFactory(incident=incident), S.SUPPORTED)
    moves, updates = HypothesisMove.objects.count(), StatusUpdate.objects.count()

    with pytest.raises(ValidationError) as caught:
        hypothesis.move_to(target, by=request.getfixturevalue(who), rationale="Sure.")

    assert caught.value.message_dict == {
        "status": ["Only the case lead confirms or refutes a hypothesis."]
    }
    hypothesis.refresh_from_db()
    assert hypothesis.status == S.SUPPORTED
    assert (HypothesisMove.objects.count(), StatusUpdate.objects.count()) == (moves, updates)
    # The lead may; so may a superuser, as on every case.
    hypothesis.move_to(target, by=lead, rationale="Sure.")
    assert hypothesis.status == target


@pytest.mark.django_db
def test_a_superuser_concludes_as_a_lead(incident: Any, superuser: Any) -> None:
    hypothesis = put_in(HypothesisFactory(incident=incident), S.WEAKENED)
    hypothesis.move_to(S.REFUTED, by=superuser, rationale="Contradicted.")
    assert hypothesis.status == S.REFUTED


@pytest.mark.django_db
def test_other_members_make_every_other_move(incident: Any, investigator: Any) -> None:
    hypothesis = put_in(HypothesisFactory(incident=incident), S.SUPPORTED)
    assert set(hypothesis.allowed_statuses(lead=False)) == LEGAL[S.SUPPORTED] - {
        S.CONFIRMED,
        S.REFUTED,
    }
    assert set(hypothesis.allowed_statuses()) == LEGAL[S.SUPPORTED]
    hypothesis.move_to(S.WITHDRAWN, by=investigator, rationale="A duplicate.")
    assert hypothesis.status == S.WITHDRAWN
    hypothesis.move_to(S.UNDER_EVALUATION, by=investigator, rationale="Not a duplicate.")
    assert hypothesis.status == S.UNDER_EVALUATION

"""Case rules: references, opening, status moves, the resolve rule, visibility."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.hypotheses.models import Hypothesis
from tests.factories import HypothesisFactory, IncidentFactory, UserFactory

C = Incident.Status
H = Hypothesis.Status

CASE_LEGAL: dict[str, set[str]] = {
    C.OPEN: {C.INVESTIGATING},
    C.INVESTIGATING: {C.RESOLVED, C.CLOSED_INCONCLUSIVE},
    C.RESOLVED: {C.INVESTIGATING},
    C.CLOSED_INCONCLUSIVE: {C.INVESTIGATING},
}
CASE_PATH: dict[str, list[str]] = {
    C.OPEN: [],
    C.INVESTIGATING: [C.INVESTIGATING],
    C.RESOLVED: [C.INVESTIGATING, C.RESOLVED],
    C.CLOSED_INCONCLUSIVE: [C.INVESTIGATING, C.CLOSED_INCONCLUSIVE],
}
GRID = [(a, b) for a in C for b in C]


def confirm(hypothesis: Hypothesis) -> Hypothesis:
    lead = hypothesis.incident.lead
    for step in (H.UNDER_EVALUATION, H.SUPPORTED, H.CONFIRMED):
        hypothesis.move_to(step, by=lead, rationale="Evidence.")
    return hypothesis


def resolvable_case() -> Incident:
    """A case whose single hypothesis is confirmed, so it may be resolved."""
    incident = IncidentFactory()
    confirm(HypothesisFactory(incident=incident))
    return incident


def put_in(incident: Incident, status: str) -> Incident:
    for step in CASE_PATH[status]:
        incident.move_to(step, by=incident.lead, reason=f"Setting up: {step}.")
    return incident


# -- references ---------------------------------------------------------------------


@pytest.mark.django_db
def test_references_are_numbered_per_year_in_order() -> None:
    year = timezone.localdate().year
    first, second = IncidentFactory(), IncidentFactory()
    assert first.reference == f"INC-{year}-0001"
    assert second.reference == f"INC-{year}-0002"
    assert re.fullmatch(r"INC-\d{4}-\d{4,}", first.reference)
    older = IncidentFactory(year=2024)
    assert older.reference == "INC-2024-0001"


@pytest.mark.django_db
def test_reference_numbers_go_past_9999() -> None:
    case = IncidentFactory(year=2024)
    Incident.objects.filter(pk=case.pk).update(reference="INC-2024-9999")
    assert Incident.next_reference(2024) == "INC-2024-10000"
    assert IncidentFactory(year=2024).reference == "INC-2024-10000"
    assert IncidentFactory(year=2024).reference == "INC-2024-10001"


@pytest.mark.django_db
def test_reference_is_unique_in_the_database() -> None:
    first, second = IncidentFactory(), IncidentFactory()
    with transaction.atomic(), pytest.raises(IntegrityError):
        Incident.objects.filter(pk=second.pk).update(reference=first.reference)


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["INC-24-0001", "CASE-2024-0001", "INC-2024-01", ""])
def test_reference_format_is_enforced_by_the_database(bad: str) -> None:
    case = IncidentFactory()
    with transaction.atomic(), pytest.raises(IntegrityError):
        Incident.objects.filter(pk=case.pk).update(reference=bad)


@pytest.mark.django_db
def test_open_case_retries_when_a_concurrent_case_took_the_number() -> None:
    taken = IncidentFactory()
    year = timezone.localdate().year
    fresh = f"INC-{year}-0042"
    with mock.patch.object(Incident, "next_reference", side_effect=[taken.reference, fresh]):
        case = IncidentFactory()
    assert case.reference == fresh
    assert Incident.objects.count() == 2


# -- opening ------------------------------------------------------------------------


@pytest.mark.django_db
def test_open_case_makes_the_lead_a_member_and_writes_the_timeline() -> None:
    lead, opener = UserFactory(), UserFactory()
    case = Incident.open_case(
        by=opener, lead=lead, title="Screen", tags=["LED screen", "Astana", ""]
    )
    roles = dict(case.memberships.values_list("user__username", "role"))
    assert roles == {lead.username: "lead", opener.username: "investigator"}
    assert case.status == C.OPEN
    assert case.created_by == opener
    assert sorted(case.tags.values_list("name", flat=True)) == ["astana", "led-screen"]
    entry = case.updates.get()
    assert entry.kind == StatusUpdate.Kind.CASE_STATUS
    assert case.reference in entry.body


@pytest.mark.django_db
def test_open_case_validates_its_fields() -> None:
    lead = UserFactory()
    with pytest.raises(ValidationError) as caught:
        Incident.open_case(by=lead, title="", time_zone="Mars/Olympus", severity="apocalyptic")
    assert {"title", "time_zone", "severity"} <= set(caught.value.message_dict)
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_occurrence_is_shown_in_the_local_time_zone() -> None:
    import datetime as dt

    case = IncidentFactory(
        time_zone="Asia/Almaty", occurred_at=dt.datetime(2024, 11, 27, 15, 14, tzinfo=dt.UTC)
    )
    assert case.occurred_local is not None
    assert case.occurred_local.strftime("%H:%M") == "20:14"


# -- status -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "target"), [g for g in GRID if g[1] in CASE_LEGAL[g[0]]])
def test_legal_case_move(start: str, target: str) -> None:
    case = put_in(resolvable_case(), start)
    version = case.version
    update = case.move_to(target, by=case.lead, reason="On the record.")
    case.refresh_from_db()
    assert case.status == target
    assert case.version == version + 1
    assert update.kind == StatusUpdate.Kind.CASE_STATUS
    assert "On the record." in update.body
    assert C(target).label in update.body


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "target"), [g for g in GRID if g[1] not in CASE_LEGAL[g[0]]])
def test_illegal_case_move_is_refused(start: str, target: str) -> None:
    case = put_in(resolvable_case(), start)
    updates = case.updates.count()
    with pytest.raises(ValidationError) as caught:
        case.move_to(target, by=case.lead, reason="Trying.")
    assert "cannot become" in caught.value.message_dict["status"][0]
    case.refresh_from_db()
    assert case.status == start
    assert case.updates.count() == updates


@pytest.mark.django_db
def test_case_moves_need_a_reason_and_a_known_status() -> None:
    case = IncidentFactory()
    with pytest.raises(ValidationError) as caught:
        case.move_to(C.INVESTIGATING, by=case.lead, reason="  ")
    assert "reason" in caught.value.message_dict
    with pytest.raises(ValidationError, match="not a case status"):
        case.move_to("archived", by=case.lead, reason="Old.")
    case.refresh_from_db()
    assert case.status == C.OPEN


@pytest.mark.django_db
def test_resolving_without_any_hypothesis_says_so() -> None:
    case = put_in(IncidentFactory(), C.INVESTIGATING)
    with pytest.raises(ValidationError) as caught:
        case.move_to(C.RESOLVED, by=case.lead, reason="Done.")
    assert caught.value.message_dict["status"] == [
        "No hypothesis is confirmed: confirm exactly one first."
    ]


@pytest.mark.django_db
def test_resolving_names_every_blocking_hypothesis() -> None:
    case = IncidentFactory()
    lead = case.lead
    confirm(HypothesisFactory(incident=case, statement="It was the operator."))
    open_one = HypothesisFactory(incident=case, statement="It was a glitch.")
    open_one.move_to(H.UNDER_EVALUATION, by=lead, rationale="Check.")
    HypothesisFactory(incident=case, statement="It was an attack.")
    put_in(case, C.INVESTIGATING)

    with pytest.raises(ValidationError) as caught:
        case.move_to(C.RESOLVED, by=lead, reason="Done.")

    assert caught.value.message_dict["status"] == [
        "“It was a glitch.” is still under evaluation: refute or withdraw it.",
        "“It was an attack.” is still proposed: refute or withdraw it.",
    ]
    case.refresh_from_db()
    assert case.status == C.INVESTIGATING


@pytest.mark.django_db
def test_resolving_with_two_confirmed_hypotheses_is_refused() -> None:
    case = IncidentFactory()
    confirm(HypothesisFactory(incident=case, statement="A."))
    confirm(HypothesisFactory(incident=case, statement="B."))
    put_in(case, C.INVESTIGATING)
    with pytest.raises(ValidationError) as caught:
        case.move_to(C.RESOLVED, by=case.lead, reason="Done.")
    assert caught.value.message_dict["status"] == [
        "2 hypotheses are confirmed (“A.”, “B.”): keep exactly one."
    ]


@pytest.mark.django_db
def test_resolving_with_one_confirmed_and_the_rest_refuted_or_withdrawn() -> None:
    case = IncidentFactory()
    lead = case.lead
    confirm(HypothesisFactory(incident=case))
    refuted = HypothesisFactory(incident=case)
    for step in (H.UNDER_EVALUATION, H.WEAKENED, H.REFUTED):
        refuted.move_to(step, by=lead, rationale="Contradicted.")
    HypothesisFactory(incident=case).move_to(H.WITHDRAWN, by=lead, rationale="Duplicate.")
    put_in(case, C.INVESTIGATING)

    assert case.resolution_blockers() == []
    case.move_to(C.RESOLVED, by=lead, reason="The log settles it.")
    assert case.status == C.RESOLVED
    assert case.is_closed

    case.move_to(C.INVESTIGATING, by=lead, reason="Reopened: a new video surfaced.")
    case.refresh_from_db()
    assert case.status == C.INVESTIGATING
    assert "Reopened: a new video surfaced." in case.updates.first().body


# -- visibility ---------------------------------------------------------------------


@pytest.mark.django_db
def test_visible_to_members_and_staff_only(outsider: Any, staff: Any) -> None:
    case = IncidentFactory()
    member = UserFactory()
    Membership.objects.create(incident=case, user=member, role=Membership.Role.OBSERVER)
    other = IncidentFactory()

    assert list(Incident.objects.visible_to(member)) == [case]
    assert list(Incident.objects.visible_to(outsider)) == []
    assert set(Incident.objects.visible_to(staff)) == {case, other}
    member.is_active = False
    assert list(Incident.objects.visible_to(member)) == []
    assert case.role_of(member) == Membership.Role.OBSERVER
    assert case.role_of(outsider) is None

"""Property-based tests (hypothesis): no input makes a 500; access and transitions hold."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.accounts.access import Need, access_level, get_case_for_user
from incidents.audit.versioning import Conflict
from incidents.cases.models import Incident, Membership
from incidents.hypotheses.models import Hypothesis

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Any text a browser could send (and some it would not): controls, NUL, surrogates excluded by HTTP.
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)
statuses = st.sampled_from([*Hypothesis.Status.values, "", "bogus", "CONFIRMED"])


@pytest.mark.django_db
@FAST
@given(statement=texts, description=texts, kind=st.sampled_from([*Hypothesis.Kind.values, "x", ""]))
def test_adding_a_hypothesis_never_errors(
    client: Client, incident: Incident, lead: Any, statement: str, description: str, kind: str
) -> None:
    client.force_login(lead)
    before = Hypothesis.objects.count()
    response = client.post(
        f"/cases/{incident.reference}/hypotheses/new/",
        {"hyp-kind": kind, "hyp-statement": statement, "hyp-description": description},
    )
    assert response.status_code in (302, 200, 422)
    added = Hypothesis.objects.count() - before
    assert added == (1 if response.status_code == 302 else 0)
    if added:
        h = Hypothesis.objects.latest("id")
        assert "\x00" not in h.statement + h.description and len(h.statement) <= 300


@pytest.mark.django_db
@FAST
@given(
    body=texts,
    kind=st.sampled_from(["note", "finding", "official_statement", "case_status", "", "x"]),
)
def test_posting_to_the_timeline_never_errors(
    client: Client, incident: Incident, investigator: Any, body: str, kind: str
) -> None:
    client.force_login(investigator)
    response = client.post(
        f"/cases/{incident.reference}/timeline/",
        {"update-kind": kind, "update-body": body},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code in (200, 302, 422)
    html = response.content.decode()
    assert "<script>" not in html


@pytest.mark.django_db
@FAST
@given(
    moves=st.lists(
        st.tuples(statuses, texts, st.one_of(st.none(), st.integers(-2, 12))), max_size=12
    )
)
def test_hypothesis_moves_follow_the_graph(
    incident: Incident, lead: Any, moves: list[tuple[str, str, int | None]]
) -> None:
    h = Hypothesis.propose(incident, by=lead, statement="Under test.", kind="other")
    done = 0
    for target, rationale, expected in moves:
        before_status, before_version = h.status, h.version
        try:
            h.move_to(target, by=lead, rationale=rationale, expected_version=expected)
        except (ValidationError, Conflict):
            h.refresh_from_db()
            assert (h.status, h.version) == (before_status, before_version)
            continue
        done += 1
        assert target in Hypothesis.TRANSITIONS[before_status]
        assert rationale.strip()
        assert expected in (None, before_version)
        assert h.version == before_version + 1
    h.refresh_from_db()
    assert h.status in Hypothesis.Status.values
    assert h.moves.count() == done and h.version == 1 + done
    # The recorded moves chain: each starts where the previous ended.
    previous = Hypothesis.Status.PROPOSED
    for move in h.moves.order_by("id"):
        assert move.from_status == previous and move.to_status in Hypothesis.TRANSITIONS[previous]
        previous = move.to_status


@pytest.mark.django_db
@FAST
@given(steps=st.lists(st.sampled_from([*Incident.Status.values, "nope"]), max_size=8))
def test_case_status_moves_follow_the_graph_and_the_resolve_rule(
    incident: Incident, lead: Any, steps: list[str]
) -> None:
    incident = Incident.open_case(by=lead, title="Fresh case for this example")
    h = Hypothesis.propose(incident, by=lead, statement="Only one.", kind="other")
    for target in steps:
        before = incident.status
        try:
            incident.move_to(target, by=lead, reason="Because.")
        except ValidationError:
            incident.refresh_from_db()
            assert incident.status == before
            continue
        assert target in Incident.TRANSITIONS[before]
        if target == Incident.Status.RESOLVED:
            assert h.status == Hypothesis.Status.CONFIRMED  # never: it is only proposed
    assert incident.status != Incident.Status.RESOLVED


ROLE_CHOICES = st.sampled_from([None, *Membership.Role.values])


@pytest.mark.django_db
@FAST
@given(
    role=ROLE_CHOICES,
    is_staff=st.booleans(),
    is_superuser=st.booleans(),
    is_active=st.booleans(),
    need=st.sampled_from(list(Need)),
)
def test_access_rules_hold_for_every_kind_of_user(
    incident: Incident,
    outsider: Any,
    role: str | None,
    is_staff: bool,
    is_superuser: bool,
    is_active: bool,
    need: Need,
) -> None:
    outsider.is_staff, outsider.is_superuser, outsider.is_active = is_staff, is_superuser, is_active
    outsider.save()
    Membership.objects.filter(incident=incident, user=outsider).delete()
    if role:
        Membership.objects.create(incident=incident, user=outsider, role=role)
    request = RequestFactory().get("/")
    request.user = outsider
    level = access_level(outsider, role)
    visible = Incident.objects.visible_to(outsider).filter(pk=incident.pk).exists()
    try:
        access = get_case_for_user(request, incident.reference, need)
    except Http404:
        assert level is None
        assert not visible or not is_active or (not role and not is_staff)
        return
    except PermissionDenied:
        assert level is not None and level < need and visible
        return
    assert level is not None and level >= need and access.level == level
    # Whoever may open a case finds it in their list (superusers see all, as staff).
    assert visible or is_superuser
    assert is_active
    if not is_superuser and not role:
        assert is_staff and level == Need.READ

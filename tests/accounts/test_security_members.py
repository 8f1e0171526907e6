"""Members management (leads only) and the case history page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from incidents.cases.models import Incident, Membership, StatusUpdate

pytestmark = pytest.mark.django_db


def url(incident: Incident, page: str = "members") -> str:
    return f"/cases/{incident.reference}/{page}/"


@pytest.mark.parametrize("page", ["members", "history"])
def test_only_leads_reach_the_page(
    client: Client,
    incident: Incident,
    page: str,
    lead: Any,
    investigator: Any,
    observer: Any,
    outsider: Any,
    staff: Any,
) -> None:
    assert client.get(url(incident, page)).status_code == 302  # anonymous: log in
    expected = {lead: 200, investigator: 403, observer: 403, outsider: 404, staff: 403}
    for user, status in expected.items():
        client.force_login(user)
        assert client.get(url(incident, page)).status_code == status, user.username
    client.force_login(lead)
    assert client.put(url(incident, page)).status_code == 405


def test_lead_adds_changes_and_removes_a_member(
    client: Client, incident: Incident, lead: Any, outsider: Any
) -> None:
    client.force_login(lead)
    response = client.post(
        url(incident), {"action": "add", "username": outsider.username, "role": "observer"}
    )
    assert response.status_code == 302
    assert incident.role_of(outsider) == "observer"
    response = client.post(
        url(incident),
        {"action": "change", "user": outsider.pk, "role": "investigator"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "members-changed" in response.headers["HX-Trigger"]
    assert "<html" not in response.content.decode()  # the partial alone
    assert incident.role_of(outsider) == "investigator"
    response = client.post(url(incident), {"action": "remove", "user": outsider.pk})
    assert response.status_code == 302
    assert incident.role_of(outsider) is None
    kinds = list(
        incident.updates.filter(kind=StatusUpdate.Kind.MEMBERS_CHANGED).values_list(
            "body", flat=True
        )
    )
    assert len(kinds) == 3 and any("removed" in body for body in kinds)


def test_removal_takes_effect_on_the_next_request(
    incident: Incident, lead: Any, investigator: Any
) -> None:
    bob = Client()
    bob.force_login(investigator)
    assert bob.get(f"/cases/{incident.reference}/").status_code == 200
    incident.remove_member(investigator, by=lead)
    assert bob.get(f"/cases/{incident.reference}/").status_code == 404
    assert bob.get(f"/cases/{incident.reference}/", HTTP_HX_REQUEST="true").status_code == 404
    assert incident.reference not in bob.get("/cases/").content.decode()


def test_last_lead_cannot_be_removed_or_demoted(
    client: Client, incident: Incident, lead: Any, investigator: Any
) -> None:
    client.force_login(lead)
    response = client.post(url(incident), {"action": "remove", "user": lead.pk})
    assert response.status_code == 422 and "last lead" in response.content.decode()
    response = client.post(url(incident), {"action": "change", "user": lead.pk, "role": "observer"})
    assert response.status_code == 422 and "needs a lead" in response.content.decode()
    assert incident.role_of(lead) == "lead"
    # With a second lead, the first may step down; the case's lead moves to the other.
    incident.change_member_role(investigator, role="lead", by=lead)
    incident.change_member_role(lead, role="observer", by=lead)
    incident.refresh_from_db()
    assert incident.lead == investigator
    assert incident.memberships.filter(role=Membership.Role.LEAD).count() == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"action": "add", "username": "nobody", "role": "observer"}, "No active user"),
        ({"action": "add", "username": "bob", "role": "observer"}, "already a member"),
        ({"action": "add", "username": "mallory", "role": "owner"}, "Select a valid choice"),
        ({"action": "change", "user": "999999", "role": "lead"}, "not a member"),
        ({"action": "remove", "user": "abc"}, "whole number"),
        ({"action": "explode"}, "Unknown action"),
    ],
)
def test_bad_member_input_is_refused(
    client: Client, incident: Incident, lead: Any, outsider: Any, data: dict, message: str
) -> None:
    client.force_login(lead)
    before = list(incident.memberships.values_list("user_id", "role"))
    response = client.post(url(incident), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert list(incident.memberships.values_list("user_id", "role")) == before


def test_member_of_another_case_cannot_be_managed_from_here(
    client: Client, incident: Incident, lead: Any, outsider: Any
) -> None:
    other = Incident.open_case(by=outsider, title="Another case")
    client.force_login(lead)
    response = client.post(url(incident), {"action": "remove", "user": outsider.pk})
    assert response.status_code == 422
    assert other.role_of(outsider) == "lead"
    client.force_login(outsider)
    assert (
        client.post(
            url(incident), {"action": "add", "username": "mallory", "role": "lead"}
        ).status_code
        == 404
    )


def test_history_shows_the_case_changes(
    client: Client,
    incident: Incident,
    lead: Any,
    investigator: Any,
    django_assert_max_num_queries: Any,
) -> None:
    incident.move_to("investigating", by=lead, reason="Work starts.")
    client.force_login(lead)
    with django_assert_max_num_queries(12):
        response = client.get(url(incident, "history"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "investigating" in html and "alice" in html and "Changed" in html
    partial = client.get(url(incident, "history") + "?page=1", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()

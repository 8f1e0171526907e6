"""Changing a case's status from its page header."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from incidents.cases.models import Incident
from incidents.hypotheses.models import Hypothesis

pytestmark = pytest.mark.django_db


def status_url(incident: Incident) -> str:
    return reverse("cases:status", args=[incident.reference])


def test_get_is_405(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    assert client.get(status_url(incident)).status_code == 405


def test_access(
    client: Any, incident: Incident, outsider: Any, observer: Any, investigator: Any
) -> None:
    data = {"status": "investigating", "reason": "Go."}
    assert client.post(status_url(incident), data).status_code == 302
    client.force_login(outsider)
    assert client.post(status_url(incident), data).status_code == 404
    client.force_login(observer)
    assert client.post(status_url(incident), data).status_code == 403
    client.force_login(investigator)  # leads change the status
    assert client.post(status_url(incident), data).status_code == 403
    incident.refresh_from_db()
    assert incident.status == "open"


def test_move_with_reason_plain_form(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    response = client.post(status_url(incident), {"status": "investigating", "reason": "Videos."})
    assert response.status_code == 302
    assert response["Location"].endswith("#header")
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.updates.filter(kind="case_status", body__contains="Videos.").exists()


def test_move_with_htmx_returns_header_and_events(
    client: Any, incident: Incident, lead: Any
) -> None:
    client.force_login(lead)
    response = client.post(
        status_url(incident),
        {"status": "investigating", "reason": "Videos."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="header"')
    assert 'class="badge status-investigating"' in html
    assert "timeline-changed" in response["HX-Trigger"]
    assert "hypotheses-changed" in response["HX-Trigger"]


def test_reason_is_required(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    response = client.post(status_url(incident), {"status": "investigating", "reason": ""})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "open"


def test_illegal_status_is_explained(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    response = client.post(status_url(incident), {"status": "resolved", "reason": "Done."})
    assert response.status_code == 422
    assert "A case that is open cannot move to “resolved”" in response.content.decode()
    partial = client.post(
        status_url(incident), {"status": "resolved", "reason": "Done."}, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200
    assert "cannot move to" in partial.content.decode()
    incident.refresh_from_db()
    assert incident.status == "open"


def test_resolve_blocked_until_one_confirmed_rest_concluded(
    client: Any, incident: Incident, lead: Any
) -> None:
    incident.move_to("investigating", by=lead, reason="Go.")
    a = Hypothesis.propose(incident, by=lead, statement="A fault.", kind="technical_fault")
    b = Hypothesis.propose(incident, by=lead, statement="An attack.", kind="cyberattack")
    client.force_login(lead)
    response = client.post(status_url(incident), {"status": "resolved", "reason": "Done."})
    assert response.status_code == 422
    assert "No hypothesis is confirmed" in response.content.decode()
    for h, last in ((a, "confirmed"), (b, "refuted")):
        for status in ("under_evaluation", "supported", last):
            h.move_to(status, by=lead, rationale="Because.")
    page = client.get(reverse("cases:detail", args=[incident.reference])).content.decode()
    assert "Resolution is blocked" not in page
    response = client.post(status_url(incident), {"status": "resolved", "reason": "A fault."})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved"

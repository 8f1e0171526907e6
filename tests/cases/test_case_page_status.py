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


# -- the status forms load when their panel opens -------------------------------


def page_url(incident: Incident) -> str:
    return reverse("cases:detail", args=[incident.reference])


def header_of(html: str) -> str:
    start = html.index('<section id="header"')
    return html[start : html.index("</section>", start)]


def load(client: Any, incident: Incident, value: str, target: str = "") -> Any:
    """What a status panel's link gets with HTMX: its form alone."""
    return client.get(
        page_url(incident),
        {"status_form": value},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"status-load-{target or value}",
    )


def investigating(incident: Incident, lead: Any) -> Incident:
    incident.move_to("investigating", by=lead, reason="Go.")
    return incident


def test_page_carries_load_links_not_forms(client: Any, incident: Incident, lead: Any) -> None:
    investigating(incident, lead)
    Hypothesis.propose(incident, by=lead, statement="A fault.", kind="technical_fault")
    client.force_login(lead)
    header = header_of(client.get(page_url(incident)).content.decode())
    assert f'action="{status_url(incident)}"' not in header
    assert 'name="reason"' not in header
    # Close as inconclusive: a closed panel with its link; Resolve: blocked, no link.
    assert '<details class="action status-action" data-load-on-open>' in header
    assert 'id="status-load-closed_inconclusive"' in header
    assert f'href="{page_url(incident)}?status_form=closed_inconclusive#header"' in header
    assert f'hx-get="{page_url(incident)}?status_form=closed_inconclusive"' in header
    assert "status-load-resolved" not in header
    assert "Resolution is blocked" in header


def test_url_opens_one_panel_with_its_form(client: Any, incident: Incident, lead: Any) -> None:
    """Without JavaScript the link opens the page with that panel open."""
    client.force_login(lead)
    response = client.get(f"{page_url(incident)}?status_form=investigating")
    assert response.status_code == 200
    header = header_of(response.content.decode())
    assert '<details class="action status-action" data-load-on-open open>' in header
    assert f'action="{status_url(incident)}"' in header
    assert 'name="status" value="investigating"' in header
    assert "status-load-investigating" not in header
    # Sent from that page, the form moves the case.
    response = client.post(status_url(incident), {"status": "investigating", "reason": "Go."})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_htmx_load_answers_the_form_alone(client: Any, incident: Incident, lead: Any) -> None:
    investigating(incident, lead)
    incident.refresh_from_db()
    client.force_login(lead)
    response = load(client, incident, "closed_inconclusive")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<form") and "<html" not in html and "<details" not in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert f'name="version" value="{incident.version}"' in html
    assert 'name="status" value="closed_inconclusive"' in html
    assert 'id="id_closed_inconclusive_reason"' in html
    assert "Closed, inconclusive: confirm" in html
    assert "Vary" in response and "HX-Target" in response["Vary"]


@pytest.mark.parametrize(
    "value", ["resolved", "closed_inconclusive", "open", "nonsense", "", "investigating "]
)
def test_bad_status_form_values_are_ignored(
    client: Any, incident: Incident, lead: Any, value: str
) -> None:
    """An open case moves to investigating only: any other value opens nothing."""
    client.force_login(lead)
    response = client.get(page_url(incident), {"status_form": value})
    assert response.status_code == 200
    header = header_of(response.content.decode())
    assert f'action="{status_url(incident)}"' not in header
    assert 'id="status-load-investigating"' in header
    # A stale or made-up value behind a panel's link: a note, not a form.
    alone = load(client, incident, value, target="investigating").content.decode()
    assert "<form" not in alone and "<html" not in alone
    assert "cannot make that move now" in alone


def test_blocked_resolution_has_no_form_even_when_asked(
    client: Any, incident: Incident, lead: Any
) -> None:
    investigating(incident, lead)
    client.force_login(lead)
    header = header_of(client.get(f"{page_url(incident)}?status_form=resolved").content.decode())
    assert "Resolution is blocked" in header
    assert 'value="resolved"' not in header
    assert "<form" not in load(client, incident, "resolved").content.decode()


@pytest.mark.parametrize("who", ["investigator", "observer"])
def test_non_lead_gets_no_status_panel_nor_form(
    client: Any, incident: Incident, who: str, request: Any
) -> None:
    client.force_login(request.getfixturevalue(who))
    response = client.get(f"{page_url(incident)}?status_form=investigating")
    assert response.status_code == 200
    header = header_of(response.content.decode())
    assert "status-action" not in header and "status-load" not in header
    assert f'action="{status_url(incident)}"' not in header
    alone = load(client, incident, "investigating")
    assert alone.status_code == 200
    assert "<form" not in alone.content.decode()


def test_errors_reopen_the_panel_with_the_form(client: Any, incident: Incident, lead: Any) -> None:
    investigating(incident, lead)
    Hypothesis.propose(incident, by=lead, statement="A fault.", kind="technical_fault")
    client.force_login(lead)
    data = {"status": "closed_inconclusive", "reason": ""}
    for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post(status_url(incident), data, **extra)
        assert response.status_code == (200 if extra else 422)
        header = header_of(response.content.decode())
        assert '<details class="action status-action" data-load-on-open open>' in header
        assert 'id="id_closed_inconclusive_reason-error"' in header
        assert "This field is required." in header
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_status_forms_cost_no_query(client: Any, incident: Incident, lead: Any) -> None:
    """The page runs as many queries with a status form open as without, and
    the form alone needs only the request's own reads (session, user, case)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    investigating(incident, lead)
    for n in range(3):
        Hypothesis.propose(incident, by=lead, statement=f"H{n}", kind="other")
    client.force_login(lead)
    client.get(page_url(incident))  # warm the session
    counts = []
    for query in ("", "?status_form=closed_inconclusive"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_url(incident) + query).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with CaptureQueriesContext(connection) as queries:
        assert "<form" in load(client, incident, "closed_inconclusive").content.decode()
    assert len(queries) <= 3

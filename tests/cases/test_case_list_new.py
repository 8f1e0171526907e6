"""Opening a case from the "New case" form."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incidents.cases.models import Incident, Membership, StatusUpdate

VALID = {
    "title": "Flag shown on a public LED screen",
    "summary": "A screen on the avenue showed an unexpected flag.",
    "occurred_at": "2026-11-20T14:30",
    "uncertainty_minutes": "10",
    "time_zone": "Asia/Almaty",
    "place_name": "Astana",
    "severity": "high",
    "tags": "astana, LED screen, ",
    "latitude": "51.128207",
    "longitude": "71.430420",
}


def test_anonymous_is_sent_to_login(client, db):
    assert client.get("/cases/new/")["Location"].startswith("/accounts/login/")
    assert client.post("/cases/new/", VALID)["Location"].startswith("/accounts/login/")
    assert not Incident.objects.exists()


def test_wrong_method(client, lead):
    client.force_login(lead)
    assert client.put("/cases/new/").status_code == 405
    assert client.delete("/cases/new/").status_code == 405


def test_form_renders(client, lead):
    client.force_login(lead)
    body = client.get("/cases/new/").content.decode()
    assert 'type="datetime-local"' in body
    assert '<option value="Asia/Almaty">' in body
    assert '<option value="UTC" selected>' in body


def test_opens_a_case_led_by_its_author(client, outsider):
    client.force_login(outsider)  # any signed-in user may open a case
    response = client.post("/cases/new/", VALID)
    case = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.reference}/"
    assert case.lead == outsider
    assert case.memberships.get().role == Membership.Role.LEAD
    # 14:30 in Astana (UTC+5) is 09:30 UTC
    assert case.occurred_at == dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    assert case.occurred_uncertainty == dt.timedelta(minutes=10)
    assert case.time_zone == "Asia/Almaty"
    assert case.severity == "high"
    assert case.latitude == Decimal("51.128207")
    assert sorted(t.name for t in case.tags.all()) == ["astana", "led-screen"]
    assert case.updates.filter(kind=StatusUpdate.Kind.CASE_STATUS).count() == 1


def test_minimal_case(client, lead):
    client.force_login(lead)
    response = client.post("/cases/new/", {"title": "Short", "time_zone": "UTC", "severity": "low"})
    assert response.status_code == 302
    case = Incident.objects.get()
    assert case.occurred_at is None and case.latitude is None


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"title": ""}, "title", "This field is required."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Select a valid choice"),
        ({"severity": "apocalyptic"}, "severity", "Select a valid choice"),
        ({"occurred_at": "yesterday-ish"}, "occurred_at", "Enter a valid date/time."),
        ({"uncertainty_minutes": "-5"}, "uncertainty_minutes", "greater than or equal to 0"),
        (
            {"occurred_at": "", "uncertainty_minutes": "5"},
            "uncertainty_minutes",
            "time of occurrence first",
        ),
        ({"latitude": "95"}, "latitude", "less than or equal to 90"),
        ({"longitude": ""}, "longitude", "both latitude and longitude"),
        # 02:30 on the night clocks go forward in Berlin does not exist
        (
            {"time_zone": "Europe/Berlin", "occurred_at": "2026-03-29T02:30"},
            "occurred_at",
            "did not exist",
        ),
    ],
)
def test_invalid_input_is_shown_next_to_the_field(client, lead, change, field, message):
    client.force_login(lead)
    response = client.post("/cases/new/", {**VALID, **change})
    body = response.content.decode()
    assert response.status_code == 422
    assert not Incident.objects.exists()
    assert f'id="id_{field}_error"' in body
    assert message in body
    assert "The case was not opened." in body
    # what was typed is kept
    assert "Flag shown on a public LED screen" in body or change.get("title") is not None

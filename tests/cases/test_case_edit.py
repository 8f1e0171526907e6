"""Editing a case (issue 15.1): the rule on the model, the page, access, conflicts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from incidents.audit.versioning import Conflict
from incidents.cases.models import Incident, StatusUpdate

pytestmark = pytest.mark.django_db


def edit_url(incident: Incident) -> str:
    return reverse("cases:edit", args=[incident.reference])


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_data(incident: Incident, **overrides: Any) -> dict[str, Any]:
    data = {
        "title": incident.title,
        "summary": incident.summary,
        "place_name": incident.place_name,
        "latitude": "",
        "longitude": "",
        "occurred_at": "",
        "uncertainty_minutes": "",
        "time_zone": incident.time_zone,
        "severity": incident.severity,
        "tags": "",
        "version": str(incident.version),
    }
    data.update(overrides)
    return data


def last_entry(incident: Incident) -> StatusUpdate:
    return StatusUpdate.objects.filter(incident=incident).order_by("-id").first()


# -- the rule -------------------------------------------------------------------------------


def test_edit_saves_bumps_version_and_says_what_changed(incident: Incident, lead: Any) -> None:
    version = incident.version
    entry = incident.edit(
        by=lead,
        changes={"title": "Flag on the LED screen", "severity": Incident.Severity.CRITICAL},
        tags=["astana"],
        expected_version=version,
    )
    incident.refresh_from_db()
    assert incident.title == "Flag on the LED screen"
    assert incident.severity == "critical"
    assert incident.version == version + 1
    assert list(incident.tags.values_list("name", flat=True)) == ["astana"]
    assert entry is not None and entry.kind == StatusUpdate.Kind.CASE_EDITED
    assert entry.body == "alice edited the case: title, severity (Moderate → Critical), tags."


def test_edit_with_nothing_changed_writes_nothing(incident: Incident, lead: Any) -> None:
    before = StatusUpdate.objects.count()
    assert incident.edit(by=lead, changes={"title": incident.title}, expected_version=1) is None
    incident.refresh_from_db()
    assert incident.version == 1
    assert StatusUpdate.objects.count() == before


def test_edit_refuses_a_stale_version(incident: Incident, lead: Any, investigator: Any) -> None:
    incident.edit(by=investigator, changes={"title": "Renamed"}, expected_version=1)
    stale = Incident.objects.get(pk=incident.pk)
    stale.version = 1
    with pytest.raises(Conflict) as caught:
        stale.edit(by=lead, changes={"title": "Mine"}, expected_version=1)
    assert "Renamed" in caught.value.message
    assert Incident.objects.get(pk=incident.pk).title == "Renamed"


def test_edit_validates_on_the_model(incident: Incident, lead: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        incident.edit(
            by=lead, changes={"latitude": Decimal("10"), "longitude": None}, expected_version=1
        )
    assert caught.value.error_dict
    with pytest.raises(ValidationError):
        incident.edit(by=lead, changes={"time_zone": "Mars/Olympus"}, expected_version=1)
    assert Incident.objects.get(pk=incident.pk).version == 1


def test_edit_is_audited(incident: Incident, lead: Any) -> None:
    from incidents.audit.models import AuditEvent

    incident.edit(by=lead, changes={"place_name": "Astana"}, expected_version=1)
    events = AuditEvent.objects.for_object(incident)
    assert any(e.after_data and e.after_data.get("place_name") == "Astana" for e in events)


# -- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("lead", 200), ("investigator", 200), ("observer", 403), ("outsider", 404)],
)
def test_edit_page_access(incident: Incident, who: str, status: int, request: Any) -> None:
    user = request.getfixturevalue(who)
    assert client_for(user).get(edit_url(incident)).status_code == status
    posted = client_for(user).post(edit_url(incident), post_data(incident, title="X"))
    assert posted.status_code == {200: 302}.get(status, status)


def test_edit_page_form_and_datalist(incident: Incident, lead: Any) -> None:
    page = client_for(lead).get(edit_url(incident)).content.decode()
    assert 'list="time-zone-names"' in page
    assert '<datalist id="time-zone-names">' in page
    assert '<option value="Asia/Almaty">' in page
    assert 'name="version" value="1"' in page


def test_investigator_edits_everything(incident: Incident, investigator: Any) -> None:
    response = client_for(investigator).post(
        edit_url(incident),
        post_data(
            incident,
            title="Flag on a screen",
            summary="**Bold** claim",
            place_name="Astana, Baiterek",
            latitude="51.128207",
            longitude="71.430411",
            occurred_at="2024-11-27T21:40",
            uncertainty_minutes="15",
            time_zone="Asia/Almaty",
            severity="high",
            tags="astana, led-screen",
        ),
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.occurred_at == dt.datetime(2024, 11, 27, 16, 40, tzinfo=dt.UTC)
    assert incident.occurred_uncertainty == dt.timedelta(minutes=15)
    assert incident.latitude == Decimal("51.128207")
    body = last_entry(incident).body
    assert body.startswith("bob edited the case: title, summary, place, coordinates")
    assert "severity (Moderate → High)" in body
    page = client_for(investigator).get(incident.get_absolute_url()).content.decode()
    assert "<strong>Bold</strong> claim" in page
    assert 'href="geo:51.128207,71.430411"' in page


def test_stale_version_answers_409_keeping_input(incident: Incident, lead: Any) -> None:
    incident.edit(by=lead, changes={"title": "Renamed meanwhile"}, expected_version=1)
    response = client_for(lead).post(
        edit_url(incident), post_data(incident, title="My new title", version="1")
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Renamed meanwhile" in page  # what changed
    assert 'value="My new title"' in page  # the input kept
    assert 'name="version" value="2"' in page  # a second submit applies it
    assert Incident.objects.get(pk=incident.pk).title == "Renamed meanwhile"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"time_zone": "Nowhere/Land"}, "time_zone"),
        ({"latitude": "91", "longitude": "10"}, "latitude"),
        ({"latitude": "10"}, "longitude"),
        ({"occurred_at": "not a date"}, "occurred_at"),
        ({"occurred_at": "9999-12-31T23:59", "time_zone": "Pacific/Kiritimati"}, "occurred_at"),
        ({"uncertainty_minutes": "-5", "occurred_at": "2024-11-27T21:40"}, "uncertainty_minutes"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"version": "abc"}, "version"),
    ],
)
def test_bad_input_is_a_form_error(
    incident: Incident, lead: Any, overrides: dict[str, str], field: str
) -> None:
    response = client_for(lead).post(edit_url(incident), post_data(incident, **overrides))
    assert response.status_code == 422
    assert "Nothing was saved" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).version == 1


@pytest.mark.parametrize("left_out", ["version", "title", "tags", "time_zone"])
def test_a_field_left_out_is_refused(incident: Incident, lead: Any, left_out: str) -> None:
    data = post_data(incident, title="Changed")
    del data[left_out]
    response = client_for(lead).post(edit_url(incident), data)
    assert response.status_code == 400
    assert Incident.objects.get(pk=incident.pk).title != "Changed"


def test_case_page_links_to_edit_for_writers_only(
    incident: Incident, lead: Any, observer: Any
) -> None:
    link = f'href="{edit_url(incident)}"'
    assert link in client_for(lead).get(incident.get_absolute_url()).content.decode()
    assert link not in client_for(observer).get(incident.get_absolute_url()).content.decode()

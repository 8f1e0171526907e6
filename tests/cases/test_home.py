"""The home page: my cases with my role, and recent activity across them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.cases.models import Incident, Membership, StatusUpdate


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_wrong_method(client, lead):
    client.force_login(lead)
    assert client.post("/").status_code == 405


def test_shows_my_cases_with_my_role(client, incident, observer, outsider):
    hidden = Incident.open_case(by=outsider, title="Somebody else's case")
    client.force_login(observer)
    body = client.get("/").content.decode()
    assert incident.reference in body
    assert hidden.reference not in body
    assert '<span class="badge role-observer">Observer</span>' in body
    assert '<span class="badge status-open">Open</span>' in body
    assert '<span class="badge severity-moderate">Moderate</span>' in body


def test_staff_home_lists_only_cases_they_belong_to(client, incident, staff):
    client.force_login(staff)
    body = client.get("/").content.decode()
    assert incident.reference not in body
    assert "You are not on any case yet" in body


def test_recent_activity_across_my_cases(client, incident, lead, outsider):
    StatusUpdate.objects.post(incident, kind="note", by=lead, body="Checked the operator logs.")
    secret = Incident.open_case(by=outsider, title="Hidden")
    StatusUpdate.objects.post(secret, kind="note", by=outsider, body="Nobody else may read this.")
    client.force_login(lead)
    body = client.get("/").content.decode()
    assert "Checked the operator logs." in body
    assert "Nobody else may read this." not in body
    assert body.index("Checked the operator logs.") < body.index(
        f"Case {incident.reference} opened."
    )


def test_empty_home(client, outsider):
    client.force_login(outsider)
    body = client.get("/").content.decode()
    assert "You are not on any case yet" in body
    assert "Nothing has happened on your cases yet." in body


def open_cases(n: int, user) -> None:
    for i in range(n):
        case = Incident.open_case(by=user, title=f"Case {i}")
        StatusUpdate.objects.post(case, kind="note", by=user, body=f"Note {i}")


@pytest.mark.parametrize("role", [Membership.Role.LEAD, Membership.Role.OBSERVER])
def test_query_count_does_not_grow_with_cases(client, lead, investigator, role):
    client.force_login(investigator)
    open_cases(5, lead)
    Membership.objects.bulk_create(
        [Membership(incident=c, user=investigator, role=role) for c in Incident.objects.all()]
    )
    client.get("/")
    with CaptureQueriesContext(connection) as small:
        client.get("/")
    existing = set(Incident.objects.values_list("pk", flat=True))
    open_cases(45, lead)
    Membership.objects.bulk_create(
        [
            Membership(incident=c, user=investigator, role=role)
            for c in Incident.objects.exclude(pk__in=existing)
        ]
    )
    with CaptureQueriesContext(connection) as large:
        body = client.get("/").content.decode()
    assert len(small) == len(large) == 4  # session, user, my cases, activity
    assert body.count(f"badge role-{role}") == 20
    assert "See all your cases" in body


def test_rows_escape_text_and_show_author_and_start_of_entry(client, lead):
    """The rows (templates/cases/home.jinja): text is escaped, the author goes
    by their full name, a long entry is cut at 110 (truncatechars)."""
    lead.first_name, lead.last_name = "Alice", "<Lead>"
    lead.save()
    case = Incident.open_case(by=lead, title="Flag <b>on</b> screen & more")
    StatusUpdate.objects.post(case, kind="note", by=lead, body="<i>x</i> " + "long " * 40)
    client.force_login(lead)
    body = client.get("/").content.decode()
    assert "Flag &lt;b&gt;on&lt;/b&gt; screen &amp; more</a>" in body
    assert f'<a class="case-title" href="/cases/{case.reference}/">' in body
    assert '<span class="badge role-lead">Lead</span>' in body
    assert "<strong>Alice &lt;Lead&gt;:</strong> &lt;i&gt;x&lt;/i&gt; long long" in body
    assert "<i>x</i>" not in body
    start = "&lt;i&gt;x&lt;/i&gt; " + "long " * 20
    assert start in body and "long " * 25 not in body and "…</p>" in body
    assert re.search(
        r'<td class="nowrap"><time datetime="[0-9T:.+-]+" title="[0-9-]+ [0-9:]+ UTC">now</time>',
        body,
    )


@pytest.mark.parametrize(
    "ago, words",
    [
        (dt.timedelta(seconds=0.2), "now"),
        (dt.timedelta(seconds=90), "a minute ago"),
        (dt.timedelta(hours=5, minutes=3), "5\xa0hours ago"),
        (dt.timedelta(days=3, hours=5, minutes=1), "3\xa0days, 5\xa0hours ago"),
        (dt.timedelta(days=800), "2\xa0years, 2\xa0months ago"),
        (-dt.timedelta(days=2, minutes=30), "2\xa0days from now"),  # clock skew
    ],
)
def test_last_activity_says_how_long_ago_in_naturaltime_s_words(client, lead, ago, words):
    """Home and list say when a case last moved as humanize's naturaltime does."""
    from django.utils import timezone

    incident = Incident.open_case(by=lead, title="Flag on the LED screen")
    at = timezone.now() - ago
    Incident.objects.filter(pk=incident.pk).update(last_activity_at=at)
    StatusUpdate.objects.filter(incident=incident).update(created_at=at)
    client.force_login(lead)
    home = client.get("/").content.decode()
    stamp = at.isoformat()
    assert f'<td class="nowrap"><time datetime="{stamp}" title="' in home
    assert home.count(f">{words}</time>") == 2  # my case's row and its entry
    listed = client.get("/cases/").content.decode()
    assert f'<td class="nowrap"><time datetime="{stamp}" title="' in listed
    assert f">{words}</time>" in listed


def test_the_last_activity_title_is_in_utc_whatever_the_time_zone(client, lead, settings):
    """The list's and home's "5 hours ago" carry the exact time, said to be
    UTC: it is, even when the deployment's TIME_ZONE is not."""
    settings.TIME_ZONE = "Asia/Almaty"
    incident = Incident.open_case(by=lead, title="Flag on the LED screen")
    at = dt.datetime(2026, 5, 12, 21, 14, tzinfo=dt.UTC)
    Incident.objects.filter(pk=incident.pk).update(last_activity_at=at)
    client.force_login(lead)
    for page in ("/", "/cases/"):
        assert 'title="2026-05-12 21:14 UTC"' in client.get(page).content.decode()

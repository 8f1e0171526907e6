"""The timeline region: the composer, Markdown sanitised, filters, older entries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from incidents.cases.models import Incident, StatusUpdate
from incidents.cases.views.page_data import TIMELINE_PAGE_SIZE

pytestmark = pytest.mark.django_db


def post_url(incident: Incident) -> str:
    return reverse("cases:timeline", args=[incident.reference])


def page_url(incident: Incident) -> str:
    return reverse("cases:detail", args=[incident.reference])


def test_get_is_405(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    assert client.get(post_url(incident)).status_code == 405


def test_access(client: Any, incident: Incident, outsider: Any, observer: Any) -> None:
    data = {"update-kind": "note", "update-body": "Hello"}
    before = incident.updates.count()
    assert client.post(post_url(incident), data).status_code == 302
    client.force_login(outsider)
    assert client.post(post_url(incident), data).status_code == 404
    client.force_login(observer)
    assert client.post(post_url(incident), data).status_code == 403
    assert incident.updates.count() == before


def test_post_a_finding_without_js(client: Any, incident: Incident, investigator: Any) -> None:
    client.force_login(investigator)
    response = client.post(
        post_url(incident), {"update-kind": "finding", "update-body": "The CMS was **reached**."}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#timeline")
    entry = incident.updates.first()
    assert entry is not None
    assert (entry.kind, entry.author) == ("finding", investigator)
    assert entry.body_html == "<p>The CMS was <strong>reached</strong>.</p>"
    page = client.get(response["Location"]).content.decode()
    assert "The CMS was <strong>reached</strong>." in page
    assert "Posted to the timeline." in page


def test_post_with_htmx_returns_a_blank_composer_and_the_new_entry(
    client: Any, incident: Incident, lead: Any
) -> None:
    for i in range(3):
        StatusUpdate.objects.post(incident, kind="note", by=lead, body=f"Older note {i}")
    client.force_login(lead)
    response = client.post(
        post_url(incident),
        {"update-kind": "official_statement", "update-body": "The ministry spoke."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<form method="post"')
    assert 'id="composer"' in html and "The ministry spoke.</textarea>" not in html
    # The new entry alone, put on top of the list out of band.
    entry = incident.updates.get(body="The ministry spoke.")
    assert '<ol hx-swap-oob="afterbegin:#timeline-entries">' in html
    assert f'id="entry-{entry.pk}"' in html and "The ministry spoke." in html
    assert "Older note" not in html and html.count('class="entry ') == 1
    assert "HX-Trigger" not in response
    # Invalid: the composer alone, with the error.
    bad = client.post(
        post_url(incident), {"update-kind": "note", "update-body": ""}, HTTP_HX_REQUEST="true"
    )
    assert bad.content.decode().lstrip().startswith('<form method="post"')
    assert (
        "This field is required." in bad.content.decode() and "entry-" not in bad.content.decode()
    )


def test_script_is_never_rendered(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    client.post(
        post_url(incident),
        {
            "update-kind": "note",
            "update-body": '<script>alert(1)</script> [x](javascript:alert(1)) <b hx-get="/">b</b>',
        },
    )
    html = client.get(page_url(incident)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "javascript:alert" not in html
    assert 'hx-get="/">b' not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"update-kind": "note", "update-body": ""}, "This field is required."),
        ({"update-kind": "note", "update-body": "   "}, "This field is required."),
        ({"update-kind": "case_status", "update-body": "Forged"}, "Select a valid choice."),
    ],
)
def test_invalid_post_shows_errors_and_changes_nothing(
    client: Any, incident: Incident, lead: Any, data: dict[str, str], message: str
) -> None:
    before = incident.updates.count()
    client.force_login(lead)
    response = client.post(post_url(incident), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    partial = client.post(post_url(incident), data, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert message in partial.content.decode()
    assert incident.updates.count() == before


def test_entries_newest_first_and_filtered_by_kind(
    client: Any, incident: Incident, lead: Any
) -> None:
    StatusUpdate.objects.post(incident, kind="note", by=lead, body="First note")
    StatusUpdate.objects.post(incident, kind="finding", by=lead, body="A finding")
    StatusUpdate.objects.post(incident, kind="note", by=lead, body="Second note")
    client.force_login(lead)
    html = client.get(page_url(incident)).content.decode()
    assert html.index("Second note") < html.index("A finding") < html.index("First note")
    response = client.get(
        page_url(incident) + "?kind=finding", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline-list"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="timeline-list"')
    assert "A finding" in html and "Second note" not in html
    assert '<option value="finding" selected>' in html
    # An unknown kind is ignored rather than an error.
    assert client.get(page_url(incident) + "?kind=bogus").status_code == 200


def test_long_timeline_is_capped_with_older_link(
    client: Any, incident: Incident, lead: Any
) -> None:
    StatusUpdate.objects.bulk_create(
        StatusUpdate(
            incident=incident, kind="note", body=f"n{i}", body_html=f"<p>entry {i:03d}</p>"
        )
        for i in range(TIMELINE_PAGE_SIZE * 2 + 5)
    )
    client.force_login(lead)
    html = client.get(page_url(incident)).content.decode()
    assert html.count('class="entry ') == TIMELINE_PAGE_SIZE
    assert "Older entries" in html
    older = html[html.index('id="timeline-more"') :]
    href = older[older.index('href="') + 6 : older.index('#timeline"')].replace("&amp;", "&")
    # The next page, with HTMX, is only the entries (appended in place of the link).
    more = client.get(href, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline-more")
    part = more.content.decode()
    assert part.lstrip().startswith("<li")
    assert part.count('class="entry ') == TIMELINE_PAGE_SIZE
    shown_first = set(html.split("entry ")[1:])
    assert not any(f"entry {i:03d}<" in html and f"entry {i:03d}<" in part for i in range(70))
    assert shown_first  # sanity: entries were rendered
    # Without HTMX the same link is a whole page.
    older_page = client.get(href).content.decode()
    assert "<html" in older_page
    assert "Back to the newest entries" in older_page
    assert "Back to the newest entries" not in part


def test_timeline_query_count_constant(
    client: Any, incident: Incident, lead: Any, django_assert_max_num_queries: Any
) -> None:
    StatusUpdate.objects.bulk_create(
        StatusUpdate(incident=incident, kind="note", body="x", body_html="<p>x</p>", author=lead)
        for _ in range(5000)
    )
    client.force_login(lead)
    client.get(page_url(incident))
    with django_assert_max_num_queries(12):
        response = client.get(
            page_url(incident), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline-list"
        )
    assert response.content.decode().count('class="entry ') == TIMELINE_PAGE_SIZE


def test_a_blank_composer_is_blank_after_a_form_came_back_with_errors(
    client: Any, incident: Incident, lead: Any, investigator: Any
) -> None:
    client.force_login(lead)
    blank = client.get(page_url(incident)).content.decode()  # the blank fields, drawn once
    response = client.post(post_url(incident), {"update-kind": "finding", "update-body": " "})
    returned = response.content.decode()
    assert response.status_code == 422 and "This field is required." in returned
    assert re.search(r'<input[^>]*value="finding"[^>]*checked', returned)
    client.force_login(investigator)
    after = client.get(page_url(incident)).content.decode()
    assert "This field is required." not in after

    def composer(html: str) -> str:
        start = html.index('id="composer"')
        return re.sub(r'value="[^"]{40,}"', "", html[start : html.index("</form>", start)])

    assert composer(after) == composer(blank)

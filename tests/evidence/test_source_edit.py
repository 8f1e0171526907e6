"""Editing and regrading a source (issue 15.1 B): the rules, the page, access, conflicts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from incidents.audit.versioning import Conflict
from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.models import CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Hypothesis
from incidents.hypotheses.scoring import case_scores, score_case
from tests.factories import rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(incident: Incident, lead: Any) -> EvidenceItem:
    return EvidenceItem.attach(
        incident,
        by=lead,
        title="News report",
        kind="web_page",
        url="https://example.org/news",
        reliability="C",
        credibility=3,
    )


def edit_url(item: EvidenceItem) -> str:
    return reverse("evidence:edit", args=[item.pk])


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def details(item: EvidenceItem, **overrides: Any) -> dict[str, Any]:
    data = {
        "what": "details",
        "title": item.title,
        "description": item.description,
        "kind": item.kind,
        "url": item.url,
        "event_at": "",
        "event_uncertainty_minutes": "",
        "collected_at": "2026-01-05T10:00",
        "obtained_from": item.obtained_from,
        "language": item.language,
        "version": str(item.version),
    }
    data.update(overrides)
    return data


def regrade(item: EvidenceItem, **overrides: Any) -> dict[str, Any]:
    data = {
        "what": "regrade",
        "grade-reliability": "B",
        "grade-credibility": "3",
        "grade-reason": "second outlet confirmed",
        "version": str(item.version),
    }
    data.update(overrides)
    return data


# -- the rules ------------------------------------------------------------------------------


def test_regrade_says_it_in_words_and_on_custody(item: EvidenceItem, lead: Any) -> None:
    entry = item.regrade(
        by=lead,
        reliability="B",
        credibility=3,
        reason="second outlet confirmed",
        expected_version=1,
    )
    item.refresh_from_db()
    assert item.grade == "B3" and item.version == 2
    assert entry.kind == StatusUpdate.Kind.EVIDENCE_CHANGED
    assert entry.body == "alice regraded ‘News report’ C3 → B3: second outlet confirmed"
    last = item.custody.order_by("-id").first()
    assert last.action == CustodyEntry.Action.REGRADED
    assert "C3 → B3" in last.reason
    assert CustodyEntry.objects.first_broken_link(item) is None


def test_regrade_requires_a_reason_and_a_real_grade(item: EvidenceItem, lead: Any) -> None:
    for kwargs in (
        {"reliability": "B", "credibility": 3, "reason": "  "},
        {"reliability": "Z", "credibility": 3, "reason": "x"},
        {"reliability": "B", "credibility": 9, "reason": "x"},
        {"reliability": "C", "credibility": 3, "reason": "same grade"},
    ):
        with pytest.raises(ValidationError):
            item.regrade(by=lead, expected_version=1, **kwargs)
    assert EvidenceItem.objects.get(pk=item.pk).version == 1


def test_regrading_moves_the_scores(incident: Incident, item: EvidenceItem, lead: Any) -> None:
    h1 = Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")
    h2 = Hypothesis.propose(incident, by=lead, statement="A hack.", kind="other")
    rate(item, h1, "II")
    rate(item, h2, "C")
    before = case_scores(incident, [h1.pk, h2.pk]).hypotheses[h1.pk].score
    item.regrade(by=lead, reliability="A", credibility=1, reason="confirmed", expected_version=1)
    after = case_scores(incident, [h1.pk, h2.pk]).hypotheses[h1.pk].score
    assert after != before
    assert score_case(incident).hypotheses[h1.pk].score == after


def test_edit_details_with_custody_and_timeline(item: EvidenceItem, lead: Any) -> None:
    entry = item.edit(
        by=lead,
        changes={"title": "News report (Tengri)", "kind": "document", "language": "ru"},
        expected_version=1,
    )
    item.refresh_from_db()
    assert item.title == "News report (Tengri)" and item.version == 2
    assert entry.body == (
        "alice edited ‘News report’: title, kind (Web page → Document), language."
    )
    assert item.custody.order_by("-id").first().action == CustodyEntry.Action.EDITED


def test_edit_refuses_stale_and_empty_sources(item: EvidenceItem, lead: Any) -> None:
    with pytest.raises(ValidationError):
        item.edit(by=lead, changes={"url": ""}, expected_version=1)  # nothing left
    item.edit(by=lead, changes={"title": "Renamed"}, expected_version=1)
    stale = EvidenceItem.objects.get(pk=item.pk)
    stale.version = 1
    with pytest.raises(Conflict):
        stale.edit(by=lead, changes={"title": "Mine"}, expected_version=1)
    with pytest.raises(Conflict):
        stale.regrade(by=lead, reliability="A", credibility=1, reason="x", expected_version=1)


def test_url_and_text_together(incident: Incident, lead: Any) -> None:
    item = EvidenceItem.attach(incident, by=lead, title="Post", text_body="Pasted words.")
    item.edit(by=lead, changes={"url": "https://example.org/post"}, expected_version=1)
    item.refresh_from_db()
    assert item.url == "https://example.org/post" and item.text_body == "Pasted words."


# -- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("lead", 200), ("investigator", 200), ("observer", 403), ("outsider", 404)],
)
def test_edit_page_access(item: EvidenceItem, who: str, status: int, request: Any) -> None:
    user = request.getfixturevalue(who)
    assert client_for(user).get(edit_url(item)).status_code == status
    posted = client_for(user).post(edit_url(item), regrade(item))
    assert posted.status_code == {200: 302}.get(status, status)


def test_investigator_edits_details_in_the_case_zone(item: EvidenceItem, investigator: Any) -> None:
    response = client_for(investigator).post(
        edit_url(item),
        details(item, title="Report", event_at="2024-11-27T21:40", event_uncertainty_minutes="5"),
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.event_at == dt.datetime(2024, 11, 27, 16, 40, tzinfo=dt.UTC)  # Asia/Almaty
    assert item.collected_at == dt.datetime(2026, 1, 5, 5, 0, tzinfo=dt.UTC)
    assert item.event_uncertainty == dt.timedelta(minutes=5)


def test_regrade_through_the_page_shows_on_the_case_page(
    incident: Incident, item: EvidenceItem, lead: Any
) -> None:
    assert client_for(lead).post(edit_url(item), regrade(item)).status_code == 302
    page = client_for(lead).get(incident.get_absolute_url()).content.decode()
    assert "alice regraded ‘News report’ C3 → B3: second outlet confirmed" in page


def test_stale_version_answers_409_keeping_input(item: EvidenceItem, lead: Any) -> None:
    item.edit(by=lead, changes={"title": "Renamed meanwhile"}, expected_version=1)
    response = client_for(lead).post(edit_url(item), details(item, title="My title", version="1"))
    assert response.status_code == 409
    page = response.content.decode()
    assert "Renamed meanwhile" in page and 'value="My title"' in page
    response = client_for(lead).post(
        edit_url(item), regrade(item, version="1", **{"grade-reason": "kept reason"})
    )
    assert response.status_code == 409
    assert "kept reason" in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"title": ""},
        {"url": "javascript:alert(1)"},
        {"kind": "rumour"},
        {"event_at": "yesterday"},
        {"event_at": "0001-01-01T00:00"},
        {"collected_at": "2999-01-01T00:00"},
        {"event_uncertainty_minutes": "-1", "event_at": "2024-11-27T21:40"},
        {"event_uncertainty_minutes": "5"},
        {"version": "x"},
    ],
)
def test_bad_details_are_form_errors(item: EvidenceItem, lead: Any, data: dict[str, str]) -> None:
    response = client_for(lead).post(edit_url(item), details(item, **data))
    assert response.status_code == 422
    assert "Nothing was saved" in response.content.decode()
    assert EvidenceItem.objects.get(pk=item.pk).version == 1


@pytest.mark.parametrize(
    "data",
    [
        {"grade-reason": ""},
        {"grade-reliability": "Q"},
        {"grade-credibility": "0"},
        {"grade-reliability": "C", "grade-credibility": "3"},
    ],
)
def test_bad_regrades_are_form_errors(item: EvidenceItem, lead: Any, data: dict[str, str]) -> None:
    response = client_for(lead).post(edit_url(item), regrade(item, **data))
    assert response.status_code == 422
    assert EvidenceItem.objects.get(pk=item.pk).grade == "C3"


@pytest.mark.parametrize("left_out", ["version", "title", "grade-reason"])
def test_a_field_left_out_is_refused(item: EvidenceItem, lead: Any, left_out: str) -> None:
    data = details(item) if left_out != "grade-reason" else regrade(item)
    del data[left_out]
    assert client_for(lead).post(edit_url(item), data).status_code == 400
    assert EvidenceItem.objects.get(pk=item.pk).version == 1


def test_attach_pasted_text_with_its_url(incident: Incident, lead: Any) -> None:
    data = {
        "ev-source": "text",
        "ev-url": "https://example.org/post",
        "ev-text_body": "Pasted words.",
        "ev-kind": "social_media_post",
        "ev-title": "Post",
        "ev-description": "",
        "ev-language": "en",
        "ev-event_at": "",
        "ev-event_uncertainty_minutes": "",
        "ev-collected_at": "2026-01-01T10:00",
        "ev-obtained_from": "",
        "ev-reliability": "C",
        "ev-credibility": "3",
    }
    response = client_for(lead).post(reverse("evidence:attach", args=[incident.reference]), data)
    assert response.status_code == 302
    item = EvidenceItem.objects.get(title="Post")
    assert (item.url, item.text_body) == ("https://example.org/post", "Pasted words.")

"""Attaching a source from the case page: a URL, a file, or a pasted text."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents.cases.models import Incident
from incidents.evidence.models import CustodyEntry, EvidenceItem

pytestmark = pytest.mark.django_db


def attach_url(incident: Incident) -> str:
    return reverse("evidence:attach", args=[incident.reference])


def form(**overrides: Any) -> dict[str, Any]:
    data = {
        "ev-source": "url",
        "ev-url": "https://example.org/video",
        "ev-kind": "video",
        "ev-title": "Bystander video",
        "ev-description": "Filmed from the pavement.",
        "ev-language": "ru",
        "ev-event_at": "2026-11-20T14:42",
        "ev-event_uncertainty_minutes": "5",
        "ev-collected_at": "2026-11-21T10:00",
        "ev-obtained_from": "Instagram",
        "ev-reliability": "B",
        "ev-credibility": "2",
    }
    data.update({f"ev-{k}": v for k, v in overrides.items()})
    return data


def test_get_is_405(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    assert client.get(attach_url(incident)).status_code == 405


def test_access(client: Any, incident: Incident, outsider: Any, observer: Any) -> None:
    assert client.post(attach_url(incident), form()).status_code == 302
    client.force_login(outsider)
    assert client.post(attach_url(incident), form()).status_code == 404
    client.force_login(observer)
    assert client.post(attach_url(incident), form()).status_code == 403
    assert not EvidenceItem.objects.exists()


def test_attach_url_plain_form(client: Any, incident: Incident, investigator: Any) -> None:
    client.force_login(investigator)
    response = client.post(attach_url(incident), form())
    assert response.status_code == 302
    assert response["Location"].endswith("#evidence")
    item = EvidenceItem.objects.get()
    assert (item.url, item.kind, item.grade, item.language, item.obtained_from) == (
        "https://example.org/video",
        "video",
        "B2",
        "ru",
        "Instagram",
    )
    assert item.collected_by == investigator
    # Times are entered in the case's zone (Asia/Almaty, UTC+5).
    assert item.event_at == dt.datetime(2026, 11, 20, 9, 42, tzinfo=dt.UTC)
    assert item.event_uncertainty == dt.timedelta(minutes=5)
    assert item.collected_at == dt.datetime(2026, 11, 21, 5, 0, tzinfo=dt.UTC)
    assert CustodyEntry.objects.filter(item=item, action="collected").exists()
    assert incident.updates.filter(kind="evidence_added", evidence=item).exists()


def test_attach_with_htmx_returns_region_and_events(
    client: Any, incident: Incident, lead: Any
) -> None:
    client.force_login(lead)
    response = client.post(attach_url(incident), form(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="evidence"')
    assert "Bystander video" in html
    assert 'class="badge grade grade-B"' in html
    for event in ("matrix-changed", "timeline-changed", "hypotheses-changed"):
        assert event in response["HX-Trigger"]


def test_attach_file(client: Any, incident: Incident, lead: Any) -> None:
    content = b"09:40 login from 203.0.113.7\n"
    upload = SimpleUploadedFile("cms.log", content, content_type="text/plain")
    client.force_login(lead)
    response = client.post(
        attach_url(incident),
        form(source="file", url="", kind="log_extract", title="CMS log", file=upload),
    )
    assert response.status_code == 302
    item = EvidenceItem.objects.get()
    assert item.original_name == "cms.log"
    assert item.file_sha256 == hashlib.sha256(content).hexdigest()
    assert item.file_size == len(content)
    assert item.url == ""  # only the chosen source is kept
    assert CustodyEntry.objects.filter(item=item, action="uploaded").exists()


def test_attach_witness_statement(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    response = client.post(
        attach_url(incident),
        form(
            source="text",
            url="",  # a statement has no address (pasted text may keep one: test_source_edit)
            kind="witness_statement",
            title="Night operator",
            text_body="I was not on shift.",
            reliability="C",
            credibility="3",
        ),
    )
    assert response.status_code == 302
    item = EvidenceItem.objects.get()
    assert (item.kind, item.text_body, item.url, item.grade) == (
        "witness_statement",
        "I was not on shift.",
        "",
        "C3",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url": "javascript:alert(1)"}, "Enter a valid URL."),
        ({"url": "ftp://example.org/file"}, "Enter a valid URL."),
        ({"url": ""}, "Give the web address of the source."),
        ({"source": "file", "url": ""}, "Choose a file to upload"),
        ({"source": "text", "text_body": "  "}, "Paste the text or write down the statement."),
        ({"title": ""}, "This field is required."),
        ({"reliability": "Z"}, "Select a valid choice."),
        ({"credibility": "9"}, "Select a valid choice."),
        ({"event_at": "yesterday"}, "Enter a valid date/time."),
        ({"collected_at": "2099-01-01T00:00"}, "Collected-at cannot be in the future."),
        ({"event_uncertainty_minutes": "-5"}, "greater than or equal to 0"),
    ],
)
def test_invalid_input_shows_errors_and_changes_nothing(
    client: Any, incident: Incident, lead: Any, overrides: dict[str, str], message: str
) -> None:
    before = incident.updates.count()
    client.force_login(lead)
    response = client.post(attach_url(incident), form(**overrides))
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert "<html" in html
    assert 'value="Bystander video"' in html or overrides.get("title") == ""  # input kept
    partial = client.post(attach_url(incident), form(**overrides), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert message in partial.content.decode()
    assert "HX-Trigger" not in partial
    assert not EvidenceItem.objects.exists()
    assert incident.updates.count() == before


def test_admiralty_meanings_shown_where_chosen(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    page_url = reverse("cases:detail", args=[incident.reference])
    # The case page carries a link to the form (loaded when its panel opens).
    page = client.get(page_url).content.decode()
    assert f'href="{page_url}?attach=1#evidence"' in page and 'id="attach-form"' not in page
    alone = client.get(page_url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="attach-load")
    assert alone.content.decode().lstrip().startswith("<form")
    assert 'id="attach-form"' in alone.content.decode() and "<html" not in alone.content.decode()
    html = client.get(f"{page_url}?attach=1").content.decode()  # without JavaScript
    assert "<html" in html and 'id="attach-form"' in html
    for meaning in (
        "A — Completely reliable",
        "F — Reliability cannot be judged",
        "1 — Confirmed by other sources",
        "6 — Truth cannot be judged",
    ):
        assert meaning in html
    assert 'enctype="multipart/form-data"' in html
    assert "data-drop-zone" in html and "data-upload-progress" in html

"""Evidence views: access rules on every view, downloads, previews, custody forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents.evidence.models import CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Hypothesis
from tests.evidence_factories import TEXT, attach, fast_hashing, jpeg_with_exif, png_bytes  # noqa: F401

pytestmark = pytest.mark.django_db


def login(client: Client, user: Any) -> Client:
    client.force_login(user)  # (client.login needs REMOTE_ADDR for login throttling)
    return client


@pytest.fixture
def item(incident: Any, lead: Any) -> EvidenceItem:
    return attach(incident, lead, TEXT.encode(), name="operator-log.txt", title="Operator log")


@pytest.fixture
def photo(incident: Any, lead: Any) -> EvidenceItem:
    return attach(incident, lead, jpeg_with_exif(), name="IMG_0001.JPG", title="Bystander photo")


@pytest.fixture
def hypothesis(incident: Any, lead: Any) -> Hypothesis:
    return Hypothesis.propose(
        incident, by=lead, statement="The content system was hacked.", kind="cyberattack"
    )


def annotate_data(**extra: Any) -> dict[str, Any]:
    start = TEXT.index("flag image")
    data = {
        "new-body": "The flag appears here.",
        "new-tags": "timeline, screen",
        "new-stance": "",
        "new-hypothesis": "",
        "new-exact": "flag image",
        "new-quote_prefix": TEXT[start - 32 : start],
        "new-quote_suffix": TEXT[start + 10 : start + 42],
        "new-start": str(start),
        "new-end": str(start + 10),
    }
    data.update(extra)
    return data


# name, method, url kwargs builder, needs write, POST data
def views(item: EvidenceItem) -> list[tuple[str, str, str, bool, dict[str, Any]]]:
    pk = item.pk
    return [
        ("detail", "get", reverse("evidence:detail", args=[pk]), False, {}),
        ("download", "get", reverse("evidence:download", args=[pk]), False, {}),
        ("jsonld", "get", reverse("evidence:jsonld", args=[pk]), False, {}),
        (
            "transfer",
            "post",
            reverse("evidence:transfer", args=[pk]),
            True,
            {"recipient": "Lab", "reason": "Analysis"},
        ),
        ("verify", "post", reverse("evidence:verify", args=[pk]), True, {}),
        (
            "use_metadata",
            "post",
            reverse("evidence:use_metadata", args=[pk]),
            True,
            {"use": "event_at"},
        ),
        ("edit_text", "post", reverse("evidence:edit_text", args=[pk]), True, {"text_body": "new"}),
        ("annotate", "post", reverse("evidence:annotate", args=[pk]), True, annotate_data()),
        ("jsonld", "get", reverse("evidence:jsonld", args=[pk]), False, {}),
        (
            "case_annotations",
            "get",
            reverse("evidence:case_annotations", args=[item.incident.reference]),
            False,
            {},
        ),
    ]


def test_anonymous_is_sent_to_login(client: Client, item: EvidenceItem) -> None:
    for _name, method, url, _write, data in views(item):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_outsider_gets_404_everywhere(client: Client, item: EvidenceItem, outsider: Any) -> None:
    login(client, outsider)
    before = CustodyEntry.objects.count()
    for _name, method, url, _write, data in views(item):
        assert getattr(client, method)(url, data).status_code == 404, url
    assert client.get(reverse("evidence:thumbnail", args=[item.pk])).status_code == 404
    assert CustodyEntry.objects.count() == before


def test_observer_reads_but_may_not_write(
    client: Client, item: EvidenceItem, observer: Any
) -> None:
    login(client, observer)
    for _name, method, url, write, data in views(item):
        status = getattr(client, method)(url, data).status_code
        assert status == (403 if write else 200), url
    assert not item.annotations.exists()
    assert not item.custody.filter(action="transferred").exists()


def test_wrong_method_is_refused(client: Client, item: EvidenceItem, lead: Any) -> None:
    login(client, lead)
    for _name, method, url, _write, _data in views(item):
        other = client.post if method == "get" else client.get
        assert other(url).status_code == 405, url


def test_unknown_item_is_404(client: Client, lead: Any) -> None:
    login(client, lead)
    assert client.get(reverse("evidence:detail", args=[999999])).status_code == 404


def test_detail_page_shows_facts_custody_and_text(
    client: Client, item: EvidenceItem, investigator: Any
) -> None:
    login(client, investigator)
    response = client.get(item.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert item.file_sha256 in html
    assert "Chain of custody" in html and "Not yet verified" in html
    assert 'id="evidence-text"' in html and "21:14 content changed" in html
    assert "css/evidence.css" in html and "js/annotate.js" in html


def test_detail_partials_with_htmx(client: Client, item: EvidenceItem, lead: Any) -> None:
    login(client, lead)
    for region, marker in [
        ("panel", 'id="panel"'),
        ("custody", 'id="custody"'),
        ("metadata", 'id="metadata"'),
        ("annotations", 'id="annotations"'),
    ]:
        response = client.get(item.get_absolute_url(), {"region": region}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert marker in html
        assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_detail_query_count_does_not_grow(
    client: Client, item: EvidenceItem, lead: Any, django_assert_max_num_queries: Any
) -> None:
    from incidents.evidence.models import Annotation

    login(client, lead)
    for i in range(12):
        Annotation.create_for(item, by=lead, body=f"note {i}", tags=[f"t{i}"], exact="playlist")
        item.transfer(by=lead, recipient=f"Lab {i}", reason="Analysis")
    with django_assert_max_num_queries(20):
        assert client.get(item.get_absolute_url()).status_code == 200


def test_text_of_the_item_is_escaped(client: Client, incident: Any, lead: Any) -> None:
    login(client, lead)
    evil = attach(
        incident,
        lead,
        text_body="<script>alert(1)</script> & <b>bold</b>",
        title="Evil",
        url="https://example.org/",
    )
    html = client.get(evil.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_download_is_an_attachment_with_safe_headers(
    client: Client, incident: Any, lead: Any
) -> None:
    login(client, lead)
    item = attach(incident, lead, b"data", name='evil"\r\nname;.txt')
    response = client.get(reverse("evidence:download", args=[item.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"data"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "\r" not in disposition and "\n" not in disposition
    assert 'evil"' not in disposition.replace('\\"', "")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert item.custody.order_by("-id").first().action == "downloaded"
    item.refresh_from_db()
    assert item.verification == "verified" and item.last_verified_at is not None


def test_html_disguised_as_png_is_never_served_as_html(
    client: Client, incident: Any, lead: Any
) -> None:
    login(client, lead)
    item = attach(
        incident,
        lead,
        b"<html><script>alert(1)</script></html>",
        name="cat.png",
        content_type="image/png",
    )
    response = client.get(reverse("evidence:download", args=[item.pk]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert client.get(reverse("evidence:thumbnail", args=[item.pk])).status_code == 404
    html = client.get(item.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html  # previewed as text at most
    assert "never rendered" in html


def test_svg_is_never_previewed_as_an_image(client: Client, incident: Any, lead: Any) -> None:
    login(client, lead)
    item = attach(
        incident, lead, b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', name="x.svg"
    )
    assert client.get(reverse("evidence:thumbnail", args=[item.pk])).status_code == 404
    assert "thumbnail.png" not in client.get(item.get_absolute_url()).content.decode()


def test_altered_file_refuses_the_download(
    client: Client, item: EvidenceItem, investigator: Any
) -> None:
    login(client, investigator)
    Path(item.file.path).write_bytes(b"tampered")
    response = client.get(reverse("evidence:download", args=[item.pk]))
    assert response.status_code == 409
    assert "Download refused" in response.content.decode()
    assert not isinstance(response, type(None)) and not hasattr(response, "streaming_content")
    item.refresh_from_db()
    assert item.verification == EvidenceItem.Verification.FAILED
    failed = item.custody.order_by("-id").first()
    assert failed.action == "verification_failed" and failed.actor == investigator
    assert not item.custody.filter(action="downloaded").exists()
    assert "Verification failed" in client.get(item.get_absolute_url()).content.decode()


def test_thumbnail_is_png_with_nosniff(client: Client, photo: EvidenceItem, observer: Any) -> None:
    login(client, observer)
    response = client.get(reverse("evidence:thumbnail", args=[photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_item_without_file_has_no_download(client: Client, incident: Any, lead: Any) -> None:
    login(client, lead)
    item = attach(incident, lead, url="https://example.org/", title="Web page")
    assert client.get(reverse("evidence:download", args=[item.pk])).status_code == 404


def test_transfer_recorded(client: Client, item: EvidenceItem, investigator: Any) -> None:
    login(client, investigator)
    response = client.post(
        reverse("evidence:transfer", args=[item.pk]),
        {"recipient": "Forensic lab", "reason": "Image analysis", "place": "Astana"},
    )
    assert response.status_code == 302
    entry = item.custody.order_by("-id").first()
    assert (entry.action, entry.recipient, entry.actor) == (
        "transferred",
        "Forensic lab",
        investigator,
    )


def test_transfer_invalid_shows_errors(client: Client, item: EvidenceItem, lead: Any) -> None:
    login(client, lead)
    before = item.custody.count()
    url = reverse("evidence:transfer", args=[item.pk])
    response = client.post(url, {"recipient": "", "reason": ""})
    assert response.status_code == 422
    assert "Say to whom" in response.content.decode()
    partial = client.post(url, {"recipient": "x" * 500, "reason": "r"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and 'id="custody"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert item.custody.count() == before


def test_transfer_with_htmx_returns_the_custody_region(
    client: Client, item: EvidenceItem, lead: Any
) -> None:
    login(client, lead)
    response = client.post(
        reverse("evidence:transfer", args=[item.pk]),
        {"recipient": "Prosecutor", "reason": "Court"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Prosecutor" in response.content.decode()
    assert "custody-changed" in response["HX-Trigger"]


def test_verify_now(client: Client, item: EvidenceItem, lead: Any) -> None:
    login(client, lead)
    response = client.post(reverse("evidence:verify", args=[item.pk]), HTTP_HX_REQUEST="true")
    assert "Hash verified" in response.content.decode()
    assert item.custody.order_by("-id").first().action == "verified"


def test_use_metadata_confirms_a_suggestion(
    client: Client, photo: EvidenceItem, investigator: Any
) -> None:
    login(client, investigator)
    url = reverse("evidence:use_metadata", args=[photo.pk])
    assert client.post(url, {"use": "place"}).status_code == 302
    assert client.post(url, {"use": "bogus"}).status_code == 302
    photo.refresh_from_db()
    assert photo.event_latitude is not None and photo.event_at is None
    html = client.get(photo.get_absolute_url()).content.decode()
    assert "Use as event time" in html


def test_observer_sees_no_write_forms(client: Client, item: EvidenceItem, observer: Any) -> None:
    login(client, observer)
    html = client.get(item.get_absolute_url()).content.decode()
    assert "Record a transfer" not in html
    assert 'id="annotation-form"' not in html
    assert "Verify now" not in html


def test_verify_with_htmx_updates_the_header_badge_out_of_band(
    client: Client, item: EvidenceItem, lead: Any
) -> None:
    login(client, lead)
    html = client.post(
        reverse("evidence:verify", args=[item.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="verification-badge" hx-swap-oob="outerHTML"' in html
    page = client.get(item.get_absolute_url()).content.decode()
    assert page.count('id="verification-badge"') == 1


def test_annotation_edit_and_delete_access(
    client: Client, item: EvidenceItem, lead: Any, observer: Any, outsider: Any
) -> None:
    from incidents.evidence.models import Annotation

    a = Annotation.create_for(item, by=lead, body="note", exact="playlist")
    urls = [
        reverse("evidence:annotation_edit", args=[item.pk, a.pk]),
        reverse("evidence:annotation_delete", args=[item.pk, a.pk]),
    ]
    for url in urls:
        assert client.post(url).status_code == 302  # anonymous: to the login page
        assert client.get(url).status_code in (302, 405)
    login(client, outsider)
    assert [client.post(url).status_code for url in urls] == [404, 404]
    login(client, observer)
    assert [client.post(url).status_code for url in urls] == [403, 403]
    assert client.get(urls[0]).status_code == 403  # the edit form is a writer's
    assert client.get(urls[1]).status_code == 405
    a.refresh_from_db()
    assert a.body == "note" and a.deleted_at is None


def test_thumbnail_access(client: Client, photo: EvidenceItem, outsider: Any) -> None:
    url = reverse("evidence:thumbnail", args=[photo.pk])
    assert client.get(url).status_code == 302
    login(client, outsider)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 405


def test_failed_item_warns_before_download(client: Client, photo: EvidenceItem, lead: Any) -> None:
    login(client, lead)
    Path(photo.file.path).write_bytes(b"tampered")
    photo.verify(by=lead)
    html = client.get(photo.get_absolute_url()).content.decode()
    assert "downloads are refused" in html
    assert "do not rely on it" in html


def test_the_item_comes_with_the_users_role_in_one_statement(
    client: Client, item: EvidenceItem, investigator: Any
) -> None:
    """Access to an item reads the user's role in the item's own query: no
    separate membership lookup on every item view (and on every annotation)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, investigator)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(item.get_absolute_url()).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    item_query = next(sql for sql in statements if 'FROM "evidence_evidenceitem"' in sql)
    assert 'FROM "cases_membership"' in item_query
    assert not any(
        sql.lstrip().startswith('SELECT "cases_membership"."role"') for sql in statements
    )

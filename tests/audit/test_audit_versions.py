"""Required versions and complete posts: an edit is never applied blindly.

docs/security.md, "No lost edits". Every edit form carries the version it was
read at, and a POST without it is refused (400/422), never "last writer
wins"; a field left out of a POST is an error, never "set it empty" (the
probe: a POST of only a CSRF token to ``/evidence/<id>/text/`` emptied the
text and orphaned its annotations).
"""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from incidents.audit.versioning import (
    MISSING_FIELD,
    MISSING_VERSION,
    CompletePostMixin,
    is_incomplete,
)
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis
from tests.evidence_factories import TEXT, attach, fast_hashing  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(incident: Any, lead: Any) -> EvidenceItem:
    return attach(incident, lead, text_body=TEXT, title="Operator log", url="https://e.org/")


@pytest.fixture
def note(item: EvidenceItem, lead: Any) -> Annotation:
    return Annotation.create_for(item, by=lead, body="Forty seconds.", exact="flag image")


@pytest.fixture
def hypothesis(incident: Any, lead: Any) -> Hypothesis:
    return Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")


def csrf_client(user: Any) -> Client:
    """A client that checks CSRF, as a browser's session does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def token(client: Client, url: str) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


# -- the probe ----------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_post_of_only_a_csrf_token_changes_no_text(
    item: EvidenceItem, note: Annotation, lead: Any, htmx: bool
) -> None:
    client = csrf_client(lead)
    csrf = token(client, item.get_absolute_url())
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(
        reverse("evidence:edit_text", args=[item.pk]), {"csrfmiddlewaretoken": csrf}, **headers
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field was missing from the form sent" in page
    assert "Nothing was saved: reload the page" in page
    item.refresh_from_db()
    note.refresh_from_db()
    assert item.text_body == TEXT
    assert note.anchor_state == "anchored"


def test_a_text_without_the_version_is_refused(
    client: Client, item: EvidenceItem, lead: Any
) -> None:
    client.force_login(lead)
    url = reverse("evidence:edit_text", args=[item.pk])
    for data in ({"text_body": "Replaced."}, {"text_body": "Replaced.", "version": ""}):
        response = client.post(url, data)
        assert response.status_code == 400
        assert "sent without the version of the record it was read at" in (
            response.content.decode().replace("&#x27;", "'")
        )
    item.refresh_from_db()
    assert item.text_body == TEXT and item.version == 1
    # With the version it was read at, the same edit goes through, emptying included.
    response = client.post(url, {"text_body": "", "version": str(item.version)})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.text_body == "" and item.version == 2


def test_an_annotation_edit_without_its_version_or_a_field_is_refused(
    client: Client, item: EvidenceItem, note: Annotation, lead: Any
) -> None:
    note.edit(by=lead, body="Forty seconds.", tags=["timing"], stance="", hypothesis=None)
    note.refresh_from_db()
    client.force_login(lead)
    url = reverse("evidence:annotation_edit", args=[item.pk, note.pk])
    p = f"a{note.pk}"
    full = {f"{p}-body": "Edited.", f"{p}-tags": "timing", f"{p}-stance": "", f"{p}-hypothesis": ""}
    # No version: refused, plain and with htmx.
    assert client.post(url, full).status_code == 400
    assert client.post(url, full, HTTP_HX_REQUEST="true").status_code == 400
    # Tags left out: an error, not "no tags".
    partial = {f"{p}-body": "Edited.", "version": str(note.version)}
    response = client.post(url, partial, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "This field was missing from the form sent" in response.content.decode()
    note.refresh_from_db()
    assert note.body == "Forty seconds." and [t.name for t in note.tags.all()] == ["timing"]
    # The whole form with its version: saved.
    response = client.post(url, {**full, "version": str(note.version)})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.body == "Edited." and [t.name for t in note.tags.all()] == ["timing"]


def test_someone_elses_annotation_is_403_before_its_post_is_read(
    client: Client, item: EvidenceItem, note: Annotation, investigator: Any
) -> None:
    client.force_login(investigator)
    url = reverse("evidence:annotation_edit", args=[item.pk, note.pk])
    assert client.post(url, {}).status_code == 403


# -- the hypotheses' forms (version_field) ----------------------------------------------------


def test_hypothesis_forms_without_their_version_change_nothing(
    client: Client, item: EvidenceItem, hypothesis: Hypothesis, lead: Any
) -> None:
    client.force_login(lead)
    ref = hypothesis.incident.reference
    move = f"move-{hypothesis.pk}"
    conf = f"conf-{hypothesis.pk}"
    posts = [
        (
            reverse("hypotheses:move", args=[ref, hypothesis.pk]),
            {f"{move}-status": "under_evaluation", f"{move}-rationale": "Look."},
        ),
        (
            reverse("hypotheses:confidence", args=[ref, hypothesis.pk]),
            {f"{conf}-confidence": "likely", f"{conf}-reason": "Because."},
        ),
        (
            reverse("hypotheses:cell", args=[ref, item.pk, hypothesis.pk]),
            {"rating": "C", "relevance": "medium", "reason": ""},
        ),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 422, url
        assert "This form is out of date: reload the page." in response.content.decode()
    hypothesis.refresh_from_db()
    assert (hypothesis.status, hypothesis.confidence, hypothesis.version) == ("proposed", None, 1)
    assert not Assessment.objects.exists()


# -- the mixin ----------------------------------------------------------------------------


class Edit(CompletePostMixin, forms.Form):
    title = forms.CharField(required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea)
    flagged = forms.BooleanField(required=False)
    labels = forms.MultipleChoiceField(
        required=False, choices=[("a", "A")], widget=forms.CheckboxSelectMultiple
    )
    mood = forms.ChoiceField(required=False, choices=[("x", "X")], widget=forms.RadioSelect)
    scan = forms.FileField(required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)
    unprefixed_fields = ("version",)


def test_the_mixin_refuses_left_out_fields_and_only_those() -> None:
    # Checkboxes and radio groups are left out by the browser itself when unchecked.
    complete = Edit({"e-title": "", "e-notes": "", "version": "3"}, {"e-scan": None}, prefix="e")
    assert complete.is_valid(), complete.errors
    assert complete.cleaned_data["version"] == 3  # read without the prefix
    left_out = Edit({"e-title": "T", "version": "3"}, prefix="e")
    assert not left_out.is_valid()
    assert set(left_out.errors) == {"notes", "scan"}
    assert left_out.errors["notes"] == [MISSING_FIELD]
    assert is_incomplete(left_out) and is_incomplete((1, left_out))
    with_file = Edit(
        {"e-title": "", "e-notes": "", "version": "3"},
        {"e-scan": SimpleUploadedFile("a.txt", b"x")},
        prefix="e",
    )
    assert with_file.is_valid()
    assert not is_incomplete(Edit({}, prefix="e").__class__(prefix="e"))  # unbound


def test_the_missing_version_message_says_what_to_do() -> None:
    assert "Nothing was saved" in MISSING_VERSION and "reload the page" in MISSING_VERSION

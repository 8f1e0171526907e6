"""Withdrawing and restoring a source (issue 15.1 C): out of the matrix and the
scores, kept and shown as withdrawn, in the export with who, when and why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from incidents.audit.versioning import Conflict
from incidents.cases.models import Incident
from incidents.evidence.models import CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Hypothesis
from incidents.hypotheses.scoring import case_scores, diagnosticity_by_item, score_case
from tests.factories import rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(incident: Incident, lead: Any) -> dict[str, Any]:
    h1 = Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")
    h2 = Hypothesis.propose(incident, by=lead, statement="A hack.", kind="other")
    keep = EvidenceItem.attach(incident, by=lead, title="Log", text_body="Log text.")
    test = EvidenceItem.attach(
        incident, by=lead, title="Test row", text_body="x", reliability="A", credibility=1
    )
    rate(keep, h1, "C")
    rate(keep, h2, "I")
    rate(test, h1, "II")
    rate(test, h2, "CC")
    return {"h": [h1.pk, h2.pk], "keep": keep, "test": test}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def withdraw_post(item: EvidenceItem, **overrides: Any) -> dict[str, Any]:
    data = {
        "what": "withdraw",
        "withdraw-reason": "mistake",
        "withdraw-note": "a test row",
        "version": str(item.version),
    }
    data.update(overrides)
    return data


def test_withdrawn_source_leaves_the_scores_and_comes_back(
    incident: Incident, lead: Any, rated: dict[str, Any]
) -> None:
    hs, test = rated["h"], rated["test"]
    before = {h: s.score for h, s in case_scores(incident, hs).hypotheses.items()}
    entry = test.withdraw(by=lead, reason="mistake", note="a test row", expected_version=1)
    assert entry.body == "alice withdrew ‘Test row’: Attached by mistake: a test row"
    without = case_scores(incident, hs)
    only_keep = {h: s.score for h, s in without.hypotheses.items()}
    assert only_keep != before
    assert test.pk not in without.items
    assert test.pk not in score_case(incident).items
    assert test.pk not in diagnosticity_by_item(incident)
    assert {h: s.score for h, s in score_case(incident).hypotheses.items()} == only_keep
    test.restore(by=lead, expected_version=2)
    assert {h: s.score for h, s in case_scores(incident, hs).hypotheses.items()} == before
    actions = list(test.custody.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == [CustodyEntry.Action.WITHDRAWN, CustodyEntry.Action.RESTORED]
    assert CustodyEntry.objects.first_broken_link(test) is None
    assert EvidenceItem.objects.filter(pk=test.pk).exists()  # never deleted


def test_withdraw_rules(rated: dict[str, Any], lead: Any) -> None:
    test = rated["test"]
    with pytest.raises(ValidationError):
        test.withdraw(by=lead, reason="bored", expected_version=1)
    with pytest.raises(ValidationError):
        test.withdraw(by=lead, reason="other", note=" ", expected_version=1)
    with pytest.raises(ValidationError):
        test.restore(by=lead, expected_version=1)  # not withdrawn
    test.withdraw(by=lead, reason="duplicate", expected_version=1)
    with pytest.raises(ValidationError):
        test.withdraw(by=lead, reason="duplicate", expected_version=2)
    stale = EvidenceItem.objects.get(pk=test.pk)
    stale.version = 1
    with pytest.raises(Conflict):
        stale.restore(by=lead, expected_version=1)


@pytest.mark.parametrize(
    ("who", "status"),
    [("lead", 302), ("investigator", 302), ("observer", 403), ("outsider", 404)],
)
def test_withdraw_and_restore_access(
    rated: dict[str, Any], who: str, status: int, request: Any
) -> None:
    test = rated["test"]
    client = client_for(request.getfixturevalue(who))
    url = reverse("evidence:edit", args=[test.pk])
    assert client.post(url, withdraw_post(test)).status_code == status
    if status == 302:
        test.refresh_from_db()
        assert test.is_withdrawn
        restore = reverse("evidence:restore", args=[test.pk])
        assert client.post(restore, {"version": str(test.version)}).status_code == 302
        assert not EvidenceItem.objects.get(pk=test.pk).is_withdrawn
    else:
        restore = reverse("evidence:restore", args=[test.pk])
        assert client.post(restore, {"version": "1"}).status_code == status


def test_bad_withdrawals_are_form_errors(rated: dict[str, Any], lead: Any) -> None:
    test = rated["test"]
    url = reverse("evidence:edit", args=[test.pk])
    client = client_for(lead)
    bad = [
        {"withdraw-reason": ""},
        {"withdraw-reason": "x"},
        {"withdraw-reason": "other", "withdraw-note": ""},
    ]
    for overrides in bad:
        response = client.post(url, withdraw_post(test, **overrides))
        assert response.status_code == 422
        assert "Nothing was saved" in response.content.decode()
    data = withdraw_post(test)
    del data["withdraw-note"]
    assert client.post(url, data).status_code == 400
    assert client.post(url, withdraw_post(test, version="9")).status_code == 409
    restore = reverse("evidence:restore", args=[test.pk])
    assert client.post(restore, {}).status_code == 400
    assert client.post(restore, {"version": "1"}).status_code == 422  # not withdrawn
    assert not EvidenceItem.objects.get(pk=test.pk).is_withdrawn


def test_pages_show_the_withdrawn_source(
    incident: Incident, lead: Any, observer: Any, rated: dict[str, Any]
) -> None:
    test = rated["test"]
    test.withdraw(by=lead, reason="retracted", note="outlet took it down", expected_version=1)
    page = client_for(observer).get(incident.get_absolute_url()).content.decode()
    assert "Withdrawn" in page and "The report was retracted" in page
    matrix = page[page.index('id="matrix"') :]
    assert "Test row" not in matrix.split("</section>")[0]
    detail = client_for(lead).get(reverse("evidence:detail", args=[test.pk])).content.decode()
    assert "withdrawn-note" in detail and "outlet took it down" in detail
    assert reverse("evidence:restore", args=[test.pk]) in detail
    observed = client_for(observer).get(reverse("evidence:detail", args=[test.pk]))
    assert reverse("evidence:restore", args=[test.pk]) not in observed.content.decode()


def test_export_marks_it_withdrawn_and_scores_without_it(
    incident: Incident, lead: Any, rated: dict[str, Any]
) -> None:
    test, keep = rated["test"], rated["keep"]
    test.withdraw(by=lead, reason="duplicate", note="same as Log", expected_version=1)
    response = client_for(lead).get(reverse("cases:export", args=[incident.reference]))
    doc = json.loads(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    items = {e["id"]: e for e in doc["evidence"]}
    assert items[test.pk]["withdrawn"] is True
    assert items[test.pk]["withdrawal"]["by"] == "alice"
    assert items[test.pk]["withdrawal"]["reason"] == "duplicate"
    assert items[test.pk]["withdrawal"]["note"] == "same as Log"
    assert items[test.pk]["withdrawal"]["at"]
    assert items[test.pk]["diagnosticity"] == 0.0
    assert items[keep.pk]["withdrawn"] is False and items[keep.pk]["withdrawal"] is None
    scores = score_case(incident)
    exported = {h["id"]: h["score"] for h in doc["hypotheses"]}
    assert exported == {h: round(s.score, 6) for h, s in scores.hypotheses.items()}


def test_a_withdrawn_source_cannot_be_rated(lead: Any, rated: dict[str, Any]) -> None:
    """The matrix no longer offers its cells; a hand-made rating is refused too."""
    from incidents.hypotheses.models import Assessment

    test = rated["test"]
    test.withdraw(by=lead, reason="mistake", note="a test row", expected_version=test.version)
    test.refresh_from_db()
    h = Hypothesis.objects.get(pk=rated["h"][0])
    with pytest.raises(ValidationError, match="withdrawn"):
        Assessment.rate(test, h, by=lead, rating="N", expected_version=None)
    assert Assessment.objects.get(evidence=test, hypothesis=h).rating == "II"

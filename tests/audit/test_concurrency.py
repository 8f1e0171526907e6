"""No lost edits: stale copies are refused with what changed; concurrent ratings stay consistent."""

from __future__ import annotations

import io
import threading
from html import unescape
from typing import Any

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection, connections
from django.test import RequestFactory

from incidents.audit.middleware import ConflictMiddleware
from incidents.audit.models import AuditEvent
from incidents.audit.versioning import Conflict, VersionedAdminMixin, save_with_version
from incidents.cases.models import Incident
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis


@pytest.fixture
def hypothesis(incident: Incident, lead: Any) -> Hypothesis:
    return Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")


@pytest.fixture
def item(incident: Incident, investigator: Any) -> EvidenceItem:
    return EvidenceItem.attach(incident, by=investigator, title="Video", text_body="Flicker.")


@pytest.mark.django_db
def test_stale_move_is_refused_and_says_what_changed(
    hypothesis: Hypothesis, lead: Any, investigator: Any
) -> None:
    loaded = hypothesis.version
    Hypothesis.objects.get(pk=hypothesis.pk).move_to(
        "under_evaluation", by=investigator, rationale="Mine first."
    )
    stale = Hypothesis.objects.get(pk=hypothesis.pk)
    with pytest.raises(Conflict) as caught:
        stale.move_to("withdrawn", by=lead, rationale="Stale.", expected_version=loaded)
    conflict = caught.value
    assert conflict.expected_version == loaded and conflict.current_version == loaded + 1
    assert [(c.field, c.before, c.after) for c in conflict.changes] == [
        ("status", "proposed", "under_evaluation")
    ]
    assert "changed" in conflict.message
    hypothesis.refresh_from_db()
    assert hypothesis.status == "under_evaluation" and hypothesis.moves.count() == 1


@pytest.mark.django_db
def test_current_version_goes_through(hypothesis: Hypothesis, lead: Any) -> None:
    hypothesis.move_to(
        "under_evaluation", by=lead, rationale="Go.", expected_version=hypothesis.version
    )
    hypothesis.set_confidence(
        "likely", by=lead, reason="Logs.", expected_version=hypothesis.version
    )
    with pytest.raises(Conflict):
        hypothesis.set_confidence("unlikely", by=lead, reason="Old.", expected_version=1)
    hypothesis.refresh_from_db()
    assert hypothesis.confidence == "likely" and hypothesis.version == 3


@pytest.mark.django_db
def test_stale_case_move_is_refused(incident: Incident, lead: Any) -> None:
    loaded = incident.version
    incident.move_to("investigating", by=lead, reason="Start.", expected_version=loaded)
    with pytest.raises(Conflict):
        Incident.objects.get(pk=incident.pk).move_to(
            "investigating", by=lead, reason="Again.", expected_version=loaded
        )


@pytest.mark.django_db
def test_two_ratings_of_one_cell_sequentially_stale(
    item: EvidenceItem, hypothesis: Hypothesis, investigator: Any, lead: Any
) -> None:
    # Both loaded the empty cell (version 0); Bob saves first.
    Assessment.rate(item, hypothesis, by=investigator, rating="C", expected_version=0)
    with pytest.raises(Conflict) as caught:
        Assessment.rate(item, hypothesis, by=lead, rating="II", expected_version=0)
    assert "created" in caught.value.message
    # Alice reloads (version 1) and re-applies her rating.
    cell = Assessment.objects.get(evidence=item, hypothesis=hypothesis)
    Assessment.rate(item, hypothesis, by=lead, rating="II", expected_version=cell.version)
    cell.refresh_from_db()
    assert (cell.rating, cell.version, cell.author) == ("II", 2, lead)
    trail = list(AuditEvent.objects.for_object(cell).order_by("id"))
    assert [(e.action, e.after_data["rating"], e.after_data["author_id"]) for e in trail] == [
        ("insert", "C", investigator.pk),
        ("update", "II", lead.pk),
    ]


@pytest.mark.django_db(transaction=True)
def test_two_threads_rate_the_same_cell_at_once(
    incident: Incident, lead: Any, investigator: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL; SQLite is covered sequentially above")
    hypothesis = Hypothesis.propose(
        incident, by=lead, statement="A glitch.", kind="technical_fault"
    )
    item = EvidenceItem.attach(incident, by=investigator, title="Video", text_body="Flicker.")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def rate(user: Any, rating: str, expected: int | None) -> None:
        try:
            barrier.wait()
            Assessment.rate(item, hypothesis, by=user, rating=rating, expected_version=expected)
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=rate, args=(u, r, None))
        for u, r in ((lead, "II"), (investigator, "C"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["saved", "saved"]
    cell = Assessment.objects.get(evidence=item, hypothesis=hypothesis)
    trail = list(AuditEvent.objects.for_object(cell).order_by("id"))
    assert cell.version == 2 and len(trail) == 2
    assert trail[-1].after_data["rating"] == cell.rating  # one consistent value
    assert {e.after_data["author_id"] for e in trail} == {
        lead.pk,
        investigator.pk,
    }  # both on record

    # Both loaded version 2 and both save: exactly one wins, the other gets a conflict.
    outcomes.clear()
    barrier.reset()
    threads = [
        threading.Thread(target=rate, args=(u, r, 2))
        for u, r in ((lead, "I"), (investigator, "CC"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    cell.refresh_from_db()
    assert cell.version == 3


@pytest.mark.django_db
def test_save_with_version(hypothesis: Hypothesis) -> None:
    first = Hypothesis.objects.get(pk=hypothesis.pk)
    second = Hypothesis.objects.get(pk=hypothesis.pk)
    first.description = "Mine."
    save_with_version(first, expected_version=1, update_fields=["description"])
    second.description = "Theirs."
    with pytest.raises(Conflict) as caught:
        save_with_version(second, expected_version=1, update_fields=["description"])
    assert [(c.field, c.after) for c in caught.value.changes] == [("description", "Mine.")]
    hypothesis.refresh_from_db()
    assert hypothesis.description == "Mine." and hypothesis.version == 2


@pytest.mark.django_db
def test_conflict_middleware_answers_409_and_keeps_the_input(
    hypothesis: Hypothesis, lead: Any
) -> None:
    request = RequestFactory().post(
        "/x/", {"rationale": "My careful reasoning", "csrfmiddlewaretoken": "t"}
    )
    request.user = lead
    request.htmx = False
    conflict = Conflict(hypothesis, 0, [])
    response = ConflictMiddleware(lambda r: None).process_exception(request, conflict)
    assert response.status_code == 409
    body = response.content.decode()
    assert "My careful reasoning" in body and "<dt>csrfmiddlewaretoken" not in body


class HypothesisAdmin(VersionedAdminMixin, admin.ModelAdmin):
    fields = ["statement", "description"]


@pytest.mark.django_db
def test_admin_mixin_refuses_a_stale_change_form(hypothesis: Hypothesis, superuser: Any) -> None:
    model_admin = HypothesisAdmin(Hypothesis, admin.site)
    request = RequestFactory().get("/")
    request.user = superuser
    form_class = model_admin.get_form(request, hypothesis, change=True)
    save_with_version(Hypothesis.objects.get(pk=hypothesis.pk), 1)  # someone saved meanwhile
    form = form_class(
        data={"statement": "Edited", "description": "", "expected_version": "1"},
        instance=hypothesis,
    )
    assert not form.is_valid()
    assert "changed" in str(form.non_field_errors())
    fresh = form_class(
        data={"statement": "Edited", "description": "", "expected_version": "2"},
        instance=Hypothesis.objects.get(pk=hypothesis.pk),
    )
    assert fresh.is_valid(), fresh.errors
    model_admin.save_model(request, fresh.save(commit=False), fresh, change=True)
    hypothesis.refresh_from_db()
    assert hypothesis.statement == "Edited" and hypothesis.version == 3
    assert "expected_version" in [
        f for _, o in model_admin.get_fieldsets(request, hypothesis) for f in o["fields"]
    ]


# -- the site: forms carry the version; a stale submit answers 409 and keeps the input ---------


@pytest.mark.django_db
def test_stale_move_through_the_site_answers_409_with_input_kept(
    client: Any, incident: Incident, lead: Any, investigator: Any
) -> None:
    hypothesis = Hypothesis.propose(
        incident, by=lead, statement="A glitch.", kind="technical_fault"
    )
    client.force_login(lead)
    # The move form (loaded when its panel opens) carries the version it was loaded with.
    page = client.get(
        f"/cases/{incident.reference}/hypotheses/{hypothesis.pk}/move/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'name="move-{hypothesis.pk}-version" value="{hypothesis.version}"' in page
    # Bob moves it first.
    Hypothesis.objects.get(pk=hypothesis.pk).move_to(
        "under_evaluation", by=investigator, rationale="Mine."
    )
    prefix = f"move-{hypothesis.pk}"
    data = {
        f"{prefix}-status": "withdrawn",
        f"{prefix}-rationale": "Alice's careful reasoning",
        f"{prefix}-version": "1",
    }
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post(
            f"/cases/{incident.reference}/hypotheses/{hypothesis.pk}/move/", data, **headers
        )
        assert response.status_code == 409
        html = response.content.decode()
        assert "Alice's careful reasoning" in unescape(html)  # as typed, whichever escaping
        assert "changed by bob" in html and "Under evaluation" in html or "under_evaluation" in html
    hypothesis.refresh_from_db()
    assert hypothesis.status == "under_evaluation" and hypothesis.moves.count() == 1
    # Re-applied on top of the current version, it goes through.
    data[f"{prefix}-version"] = str(hypothesis.version)
    response = client.post(f"/cases/{incident.reference}/hypotheses/{hypothesis.pk}/move/", data)
    assert response.status_code == 302
    hypothesis.refresh_from_db()
    assert hypothesis.status == "withdrawn"


@pytest.mark.django_db
def test_stale_cell_rating_through_the_site(
    client: Any,
    incident: Incident,
    lead: Any,
    investigator: Any,
    item: EvidenceItem,
    hypothesis: Hypothesis,
) -> None:
    client.force_login(lead)
    url = f"/cases/{incident.reference}/hypotheses/cell/{item.pk}/{hypothesis.pk}/"
    Assessment.rate(item, hypothesis, by=investigator, rating="C")  # Bob rated meanwhile
    response = client.post(
        url,
        {"rating": "II", "relevance": "high", "reason": "Alice's view", "version": "0"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409
    assert "Alice" in response.content.decode()
    assert Assessment.objects.get(evidence=item, hypothesis=hypothesis).rating == "C"
    response = client.post(
        url, {"rating": "II", "relevance": "high", "reason": "Alice's view", "version": "1"}
    )
    assert response.status_code == 302
    assert Assessment.objects.get(evidence=item, hypothesis=hypothesis).rating == "II"


@pytest.mark.django_db
def test_stale_text_and_annotation_edits_answer_409(
    client: Any, incident: Incident, lead: Any
) -> None:
    from incidents.evidence.models import Annotation

    item = EvidenceItem.attach(
        incident, by=lead, title="Log", text_body="The screen showed a flag."
    )
    note = Annotation.create_for(
        item, by=lead, body="First.", exact="showed a flag", start=11, end=24
    )
    client.force_login(lead)
    page = client.get(f"/evidence/{item.pk}/").content.decode()
    assert f'name="version" value="{item.version}"' in page
    assert f'name="version" value="{note.version}"' in page
    # Someone saves both meanwhile.
    EvidenceItem.objects.get(pk=item.pk).set_text_body("The screen showed a flag. Later.", by=lead)
    Annotation.objects.get(pk=note.pk).edit(
        by=lead, body="Second.", tags=[], stance="", hypothesis=None
    )
    response = client.post(
        f"/evidence/{item.pk}/text/", {"text_body": "My version.", "version": str(item.version)}
    )
    unchanged = {f"a{note.pk}-{name}": "" for name in ("tags", "stance", "hypothesis")}
    assert response.status_code == 409
    assert "My version." in response.content.decode()
    response = client.post(
        f"/evidence/{item.pk}/annotations/{note.pk}/edit/",
        {**unchanged, f"a{note.pk}-body": "Mine.", "version": str(note.version)},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409
    item.refresh_from_db()
    note.refresh_from_db()
    assert (item.text_body, note.body) == ("The screen showed a flag. Later.", "Second.")
    response = client.post(
        f"/evidence/{item.pk}/annotations/{note.pk}/edit/",
        {**unchanged, f"a{note.pk}-body": "Mine.", "version": str(note.version)},
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.body == "Mine."


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_valid_chain_and_their_own_actors(
    incident: Incident, lead: Any, investigator: Any
) -> None:
    """Two threads post to the timeline at once, each as its own actor, several times:
    the chain verifies and every record names the thread that wrote it."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL")
    from incidents.audit.context import audit_context
    from incidents.cases.models import StatusUpdate

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            barrier.wait()
            for n in range(5):
                with audit_context(actor=name, source="test"):
                    StatusUpdate.objects.post(incident, kind="note", body=f"{name} {n}", by=lead)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(f"writer-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for update in StatusUpdate.objects.filter(body__startswith="writer-"):
        (event,) = AuditEvent.objects.for_object(update)
        assert event.actor == update.body.split()[0]
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "Audit trail intact" in out.getvalue()

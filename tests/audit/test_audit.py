"""The audit trail: every write recorded, whatever issued it; append-only; hash-chained."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from incidents.audit.context import audit_context
from incidents.audit.models import AuditEvent
from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, ConfidenceChange, Hypothesis, HypothesisMove

pytestmark = pytest.mark.django_db


def events_for(obj: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_object(obj).order_by("id"))


def test_case_opened_is_recorded_with_actor_and_incident(incident: Incident, lead: Any) -> None:
    (created,) = events_for(incident)[:1]
    assert created.action == "insert"
    assert created.incident_id == incident.pk
    assert created.after_data["title"] == "Flag shown on an LED screen"
    assert created.before is None
    membership = Membership.objects.get(incident=incident, user=lead)
    assert events_for(membership)[0].incident_id == incident.pk


def test_every_domain_record_is_audited(incident: Incident, lead: Any, investigator: Any) -> None:
    hypothesis = Hypothesis.propose(
        incident, by=lead, statement="A glitch.", kind="technical_fault"
    )
    item = EvidenceItem.attach(
        incident, by=investigator, title="Video", text_body="The screen flickered."
    )
    move = hypothesis.move_to("under_evaluation", by=lead, rationale="Start.")
    change = hypothesis.set_confidence("likely", by=lead, reason="Logs.")
    cell = Assessment.rate(item, hypothesis, by=investigator, rating="C")
    note = Annotation.objects.create(
        item=item, author=investigator, body="Here.", quote_exact="flickered"
    )
    custody = CustodyEntry.objects.filter(item=item).first()
    update = StatusUpdate.objects.filter(incident=incident).first()
    for record in (hypothesis, item, move, change, cell, note, custody, update):
        recorded = events_for(record)
        assert recorded, f"{record._meta.label} not audited"
        assert recorded[-1].incident_id == incident.pk, record._meta.label
    # The m2m of a move's citations, two hops from the case, finds it too.
    move2 = hypothesis.move_to("supported", by=lead, rationale="Video.", cited_evidence=[item])
    through = HypothesisMove.cited_evidence.through.objects.get(hypothesismove=move2)
    assert events_for(through)[0].incident_id == incident.pk
    assert isinstance(change, ConfidenceChange)


def test_update_records_before_and_after(incident: Incident, lead: Any) -> None:
    incident.move_to("investigating", by=lead, reason="Work starts.")
    update = [
        e
        for e in events_for(incident)
        if e.action == "update" and e.before_data.get("status") != e.after_data.get("status")
    ][-1]
    assert update.before_data["status"] == "open"
    assert update.after_data["status"] == "investigating"
    assert ("status", "open", "investigating") in update.changes()


def test_bulk_update_bulk_create_and_raw_sql_are_recorded(incident: Incident, lead: Any) -> None:
    before = AuditEvent.objects.count()
    Incident.objects.filter(pk=incident.pk).update(severity="critical")
    StatusUpdate.objects.bulk_create(
        [StatusUpdate(incident=incident, kind="note", body=f"n{i}", body_html="") for i in range(3)]
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_statusupdate WHERE body = %s", ["n0"])
    new = list(
        AuditEvent.objects.filter(
            id__gt=AuditEvent.objects.order_by("id")[before - 1].id if before else 0
        )
    )
    actions = [(e.table_name, e.action) for e in new]
    assert ("cases_incident", "update") in actions
    assert actions.count(("cases_statusupdate", "insert")) == 3
    assert ("cases_statusupdate", "delete") in actions
    deleted = [e for e in new if e.action == "delete"][0]
    assert deleted.before_data["body"] == "n0" and deleted.after is None


def test_delete_cascade_is_recorded(incident: Incident, lead: Any) -> None:
    Hypothesis.propose(incident, by=lead, statement="Gone soon.", kind="other")
    pk = incident.pk
    incident.delete()
    deletes = AuditEvent.objects.filter(action="delete")
    assert deletes.filter(table_name="cases_incident", object_pk=str(pk)).exists()
    assert deletes.filter(table_name="hypotheses_hypothesis").exists()


def test_audit_context_names_the_actor(incident: Incident, staff: Any) -> None:
    with audit_context(actor=staff, source="manage.py load_demo"):
        Incident.objects.filter(pk=incident.pk).update(title="Renamed")
    event = AuditEvent.objects.order_by("-id").first()
    assert event.actor == staff.username and event.actor_user_id == staff.pk
    assert event.source == "manage.py load_demo"


def test_derived_search_vector_stays_out_of_the_trail(incident: Incident) -> None:
    Incident.objects.filter(pk=incident.pk).update(title="Flag on the big screen")
    event = AuditEvent.objects.for_object(incident).order_by("-id").first()
    assert event.action == "update" and event.after_data["title"] == "Flag on the big screen"
    assert "search_vector" not in event.after_data and "search_vector" not in event.before_data


def test_a_change_of_derived_columns_alone_writes_no_record(incident: Incident, lead: Any) -> None:
    """A timeline post moves the case's last activity: the post is recorded, and
    the case's row only when something else of it changes."""
    before = AuditEvent.objects.count()
    update = StatusUpdate.objects.post(incident, kind="note", body="Seen.", by=lead)
    new = AuditEvent.objects.order_by("id")[before:]
    assert [(e.table_name, e.action) for e in new] == [("cases_statusupdate", "insert")]
    assert events_for(update)[0].after_data["body"] == "Seen."
    incident.refresh_from_db()
    # Bumped all the same; a real change of the case is recorded with the new value.
    assert incident.last_activity_at == update.created_at
    Incident.objects.filter(pk=incident.pk).update(severity="critical")
    (changed,) = AuditEvent.objects.order_by("id")[before + 1 :]
    assert ("severity", incident.severity, "critical") in changed.changes()
    assert changed.after_data["last_activity_at"]


def test_passwords_never_reach_the_trail(lead: Any) -> None:
    lead.set_password("another-long-passphrase")
    lead.save()
    for event in AuditEvent.objects.filter(table_name="auth_user"):
        assert "password" not in event.before_data and "password" not in event.after_data
        assert "argon2" not in (event.after or "")


def test_site_write_records_request_id_address_and_user(
    client: Any, incident: Incident, lead: Any, outsider: Any
) -> None:
    client.force_login(lead)
    response = client.post(
        f"/cases/{incident.reference}/members/",
        {"action": "add", "username": outsider.username, "role": "observer"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    membership = Membership.objects.get(incident=incident, user=outsider)
    (event,) = events_for(membership)
    assert event.actor == lead.username and event.actor_user_id == lead.pk
    assert event.client_addr == "203.0.113.9"
    assert event.request_id == response.headers["X-Request-ID"]
    assert event.source.startswith("web POST /cases/")


def test_trail_is_append_only(incident: Incident) -> None:
    event = AuditEvent.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = 'mallory' WHERE id = %s", [event.id])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.id])
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(id=event.id).update(actor="mallory")
    with pytest.raises(TypeError):
        event.save()
    assert AuditEvent.objects.get(id=event.id).actor == event.actor


def _disable_guard(cursor: Any) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER inquest_audit_append_only")
    else:
        cursor.execute("DROP TRIGGER inquest_audit_no_update")
        cursor.execute("DROP TRIGGER inquest_audit_no_delete")


def test_verify_audit_passes_then_names_the_altered_record(incident: Incident, lead: Any) -> None:
    Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue()
    victim = AuditEvent.objects.filter(table_name="hypotheses_hypothesis").first()
    with connection.cursor() as cursor:  # an attacker with database access
        _disable_guard(cursor)
        cursor.execute(
            "UPDATE audit_auditevent SET after = %s WHERE id = %s",
            [json.dumps({"statement": "Nothing happened."}), victim.id],
        )
    with pytest.raises(CommandError, match=f"record #{victim.id}: its contents"):
        call_command("verify_audit")


def test_verify_audit_names_a_removed_link(incident: Incident, lead: Any) -> None:
    Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    removed, following = ids[2], ids[3]
    with connection.cursor() as cursor:
        _disable_guard(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [removed])
    with pytest.raises(CommandError, match=f"record #{following}: its previous-hash"):
        call_command("verify_audit")


def test_management_commands_are_recorded_by_name(db: Any) -> None:
    call_command("load_demo", force=True, stdout=StringIO())
    sources = set(AuditEvent.objects.values_list("source", flat=True))
    assert sources == {"manage.py load_demo"}
    assert AuditEvent.objects.filter(table_name="hypotheses_assessment").exists()
    call_command("verify_audit", stdout=StringIO())


def test_admin_writes_are_recorded_as_admin(
    client: Any, superuser: Any, incident: Incident
) -> None:
    from incidents.cases.models import Tag

    tag = Tag.objects.create(name="to-remove")
    client.force_login(superuser)
    response = client.post(
        f"/admin/cases/tag/{tag.pk}/delete/", {"post": "yes"}, REMOTE_ADDR="192.0.2.4"
    )
    assert response.status_code == 302
    (event,) = AuditEvent.objects.filter(table_name="cases_tag", action="delete")
    assert event.source.startswith("admin POST /admin/cases/tag/")
    assert (event.actor, event.client_addr) == ("root", "192.0.2.4")
    assert event.before_data["name"] == "to-remove"


# -- the context reaches PostgreSQL once per request, and is never stale -------------------

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the inquest.context setting is PostgreSQL's"
)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``set_config`` round trip the audit wrapper makes, by actor."""
    from incidents.audit import db as audit_db

    calls: list[str] = []
    original = audit_db.set_context_setting

    def spy(raw: Any, value: str) -> None:
        calls.append(json.loads(value)["actor"])
        original(raw, value)

    monkeypatch.setattr(audit_db, "set_context_setting", spy)
    return calls


def latest_actor() -> str:
    return AuditEvent.objects.order_by("-id").values_list("actor", flat=True).first() or ""


@needs_postgres
def test_one_context_round_trip_for_many_writes(
    incident: Incident, lead: Any, staff: Any, sent: list[str]
) -> None:
    with audit_context(actor=staff, source="test"):
        for n in range(3):
            Incident.objects.filter(pk=incident.pk).update(title=f"Renamed {n}")
        with transaction.atomic():
            StatusUpdate.objects.post(incident, kind="note", body="One.", by=staff)
            StatusUpdate.objects.post(incident, kind="note", body="Two.", by=staff)
    assert sent == [staff.username]
    with audit_context(actor=lead, source="test"):
        Incident.objects.filter(pk=incident.pk).update(title="Lead's")
    assert sent == [staff.username, lead.username]
    assert latest_actor() == lead.username


@needs_postgres
def test_context_is_sent_again_after_a_rollback(
    incident: Incident, lead: Any, staff: Any, sent: list[str]
) -> None:
    with audit_context(actor=lead, source="test"):
        Incident.objects.filter(pk=incident.pk).update(title="By the lead")
    with audit_context(actor=staff, source="test"):
        # The setting made inside the savepoint is undone with it ...
        with transaction.atomic():
            Incident.objects.filter(pk=incident.pk).update(title="Undone")
            transaction.set_rollback(True)
        # ... so the next write must send it again, not trust the memory of it.
        Incident.objects.filter(pk=incident.pk).update(title="By staff")
    assert sent == [lead.username, staff.username, staff.username]
    assert latest_actor() == staff.username
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('inquest.context', true)")
        assert json.loads(cursor.fetchone()[0])["actor"] == staff.username


@needs_postgres
def test_a_new_connection_gets_the_context_again(
    incident: Incident, staff: Any, sent: list[str]
) -> None:
    with audit_context(actor=staff, source="test"):
        Incident.objects.filter(pk=incident.pk).update(title="Once")
        connection.inquest_audit_sent = None  # what connection_created does
        Incident.objects.filter(pk=incident.pk).update(title="Twice")
    assert sent == [staff.username, staff.username]


def test_each_request_records_its_own_id(
    client: Any, incident: Incident, lead: Any, investigator: Any
) -> None:
    """Two requests of one user on one connection: each record names its own request."""
    client.force_login(lead)
    ids = []
    for n in range(2):
        response = client.post(
            f"/cases/{incident.reference}/timeline/",
            {"update-kind": "note", "update-body": f"Entry {n}."},
        )
        assert response.status_code == 302
        ids.append(response.headers["X-Request-ID"])
    updates = StatusUpdate.objects.filter(incident=incident, body__startswith="Entry ")
    recorded = [events_for(u)[0].request_id for u in updates.order_by("id")]
    assert recorded == ids and ids[0] != ids[1]

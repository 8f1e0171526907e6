"""Tampering scenarios: someone with the database's owner rights drops a trigger and writes.

Each test is one scenario of docs/security.md, "Verification", played on the
database the suite runs on (PostgreSQL and SQLite alike: the triggers are
dropped or disabled inside the test's transaction, which rolls back).
``verify_evidence`` and ``verify_audit`` must name what was done, exit 1, and
never certify a forged hash.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from incidents.audit.db import install
from incidents.audit.models import AuditEvent
from incidents.cases.models import Membership, StatusUpdate
from incidents.evidence.models import CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Hypothesis
from tests.evidence_factories import attach, fast_hashing  # noqa: F401

pytestmark = pytest.mark.django_db


def audit_trigger(table: str, on: bool) -> None:
    """Turn TABLE's audit trigger off (an attacker) or back on."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE waits for no deferred foreign-key check: run them first.
            verb = "ENABLE" if on else "DISABLE"
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'ALTER TABLE "{table}" {verb} TRIGGER inquest_audit')
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        elif on:
            install(connection)
        else:
            for action in ("insert", "update", "delete"):
                cursor.execute(f'DROP TRIGGER IF EXISTS "inquest_audit_{table}_{action}"')


def unaudited(table: str, sql: str, params: list[Any]) -> None:
    """Run SQL on TABLE with its audit trigger off, then on again."""
    audit_trigger(table, on=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    audit_trigger(table, on=True)


def verify(command: str, *args: str) -> tuple[str, str]:
    """Run COMMAND expecting a failure: (its output, its error message).

    A CommandError is what manage.py prints as one clean line with exit 1;
    any other exception would be a traceback.
    """
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(command, *args, stdout=out)
    assert failed.value.returncode == 1
    return out.getvalue(), str(failed.value)


def passes(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def swap_file(item: EvidenceItem, content: bytes) -> str:
    """Overwrite ITEM's stored file and rewrite its hash and size columns to match."""
    import hashlib

    Path(item.file.path).write_bytes(content)
    forged = hashlib.sha256(content).hexdigest()
    unaudited(
        "evidence_evidenceitem",
        "UPDATE evidence_evidenceitem SET file_sha256 = %s, file_size = %s WHERE id = %s",
        [forged, len(content), item.pk],
    )
    return forged


# -- evidence: a file swapped together with its hash -----------------------------------------


def test_clean_items_verify_and_get_a_verified_entry(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"09:40 login from 203.0.113.7\n", "cms.log", title="CMS log")
    attach(incident, lead, url="https://example.org/statement", title="Statement")
    out = passes("verify_evidence")
    assert "2 item(s) checked, 0 failed." in out
    assert item.custody.order_by("-id").first().action == "verified"


def test_a_file_swapped_with_its_hash_column_is_named(incident: Any, lead: Any) -> None:
    """The probe: one trigger dropped, the file overwritten, file_sha256 rewritten."""
    item = attach(incident, lead, b"09:40 login from 203.0.113.7\n", "cms.log", title="CMS log")
    original = item.file_sha256
    forged = swap_file(item, b"09:40 login from 198.51.100.1\n")
    out, error = verify("verify_evidence")
    assert "1 item(s) checked, 1 failed." in error
    assert f"#{item.pk} {incident.reference} “CMS log”" in out
    # The custody log and the audit trail still hold the original hash.
    assert f"not the one its custody log last recorded, {original}" in out
    assert "the audit trail's last record of it (#" in out and f"says {original}" in out
    # No "verified" entry carries the forged hash: a failure entry records what was found.
    last = item.custody.order_by("-id").first()
    assert last.action == CustodyEntry.Action.VERIFICATION_FAILED
    assert last.sha256 == forged
    assert not item.custody.filter(action="verified").exists()
    item.refresh_from_db()
    assert item.verification == EvidenceItem.Verification.FAILED


def test_a_swap_already_certified_by_the_old_check_is_still_named(incident: Any, lead: Any) -> None:
    """The probe's second step: the column-only check ran after the swap and appended
    a ``verified`` entry with the forged hash (its custody-head update, audited,
    even carried the forged hash into the trail). The earlier entries and records
    still give it away."""
    item = attach(incident, lead, b"original bytes\n", "a.txt", title="Log")
    original = item.file_sha256
    forged = swap_file(item, b"forged bytes!!\n")
    item.refresh_from_db()
    assert item.verify(reason="The column-only check.")  # what the probe saw pass
    assert item.custody.order_by("-id").first().sha256 == forged
    out, _ = verify("verify_evidence", "--item", str(item.pk))
    assert f"Its custody log recorded the hash {original}" in out and f"later {forged}" in out
    assert f"shows its file_sha256 changing from {original}" in out
    assert item.custody.order_by("-id").first().action == "verification_failed"


def test_a_row_pointed_at_another_file_is_named(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"the witness's photo", "a.bin", title="Photo")
    other = attach(incident, lead, b"a harmless picture", "b.bin", title="Other")
    unaudited(
        "evidence_evidenceitem",
        "UPDATE evidence_evidenceitem SET file = %s, file_sha256 = %s, file_size = %s "
        "WHERE id = %s",
        [other.file.name, other.file_sha256, other.file_size, item.pk],
    )
    out, error = verify("verify_evidence")
    assert "2 item(s) checked, 1 failed." in error
    assert f"Its file is {other.file.name}, but the audit trail's last record" in out
    assert f"FAIL  #{other.pk} " not in out


def test_an_item_inserted_without_a_record_is_named(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, url="https://example.org/a", title="Real")
    audit_trigger("evidence_evidenceitem", on=False)
    fake = EvidenceItem(
        incident=incident, title="Planted", url="https://example.org/b", collected_by=lead
    )
    fake.save(force_insert=True)
    audit_trigger("evidence_evidenceitem", on=True)
    CustodyEntry.record(fake, action="collected", by=lead, reason="Planted.")
    out, _ = verify("verify_evidence")
    assert f"#{fake.pk} {incident.reference} “Planted”: The audit trail holds no record" in out
    assert "of this item's creation" in out  # its custody head's update was recorded
    assert f"#{item.pk} " not in out


# -- the audit trail: rows changed with the trigger off ------------------------------------------


def test_rows_match_the_trail_when_nothing_was_tampered_with(
    incident: Any, lead: Any, investigator: Any
) -> None:
    hypothesis = Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="other")
    hypothesis.move_to("under_evaluation", by=lead, rationale="Look.")
    attach(incident, lead, b"bytes", "a.txt")
    out = passes("verify_audit")
    assert "Audit trail intact" in out and "Every audited row matches its last record." in out


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("hypotheses_hypothesis", "statement", "Nothing happened."),
        ("cases_membership", "role", "lead"),  # an observer made lead
        ("auth_user", "is_superuser", True),
        ("evidence_evidenceitem", "title", "Renamed"),
    ],
)
def test_a_direct_update_with_the_trigger_dropped_is_named(
    incident: Any, lead: Any, observer: Any, table: str, column: str, value: Any
) -> None:
    hypothesis = Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="other")
    item = attach(incident, lead, url="https://example.org/a", title="Page")
    pk = {
        "hypotheses_hypothesis": hypothesis.pk,
        "cases_membership": Membership.objects.get(incident=incident, user=observer).pk,
        "auth_user": observer.pk,
        "evidence_evidenceitem": item.pk,
    }[table]
    unaudited(table, f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', [value, pk])
    out, error = verify("verify_audit")
    assert "Audit trail intact" in out  # the chain alone cannot see it
    assert f"FAIL  {table} #{pk}: differs from its last record" in out
    assert f"changed: {column})" in out
    assert "1 audited row(s) do not match the audit trail" in error
    passes("verify_audit", "--chain-only")


def test_a_row_inserted_without_a_record_is_named(incident: Any, lead: Any, outsider: Any) -> None:
    unaudited(
        "cases_membership",
        "INSERT INTO cases_membership (incident_id, user_id, role, created_at) "
        "VALUES (%s, %s, 'lead', %s)",
        [incident.pk, outsider.pk, incident.created_at],
    )
    planted = Membership.objects.get(incident=incident, user=outsider)
    out, _ = verify("verify_audit")
    assert f"cases_membership #{planted.pk}: not in the audit trail" in out


def test_a_row_deleted_without_a_record_is_named(incident: Any, lead: Any) -> None:
    note = StatusUpdate.objects.filter(incident=incident).first()
    unaudited("cases_statusupdate", "DELETE FROM cases_statusupdate WHERE id = %s", [note.pk])
    out, _ = verify("verify_audit")
    assert f"cases_statusupdate #{note.pk}: deleted without a record" in out


def test_an_unrecorded_change_covered_by_a_later_one_is_named(incident: Any, lead: Any) -> None:
    """The unrecorded UPDATE, then an ordinary recorded one: the row matches its last
    record again, but the two records no longer join up."""
    hypothesis = Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="other")
    unaudited(
        "hypotheses_hypothesis",
        "UPDATE hypotheses_hypothesis SET description = %s WHERE id = %s",
        ["Planted evidence.", hypothesis.pk],
    )
    hypothesis.refresh_from_db()
    hypothesis.move_to("under_evaluation", by=lead, rationale="Look.")
    out, _ = verify("verify_audit")
    assert f"hypotheses_hypothesis #{hypothesis.pk}: changed between two of its records" in out
    assert "changed: description)" in out
    assert "differs from its last record" not in out


def test_an_unreadable_record_is_a_clean_failure(incident: Any, lead: Any) -> None:
    """A record's row image overwritten with something that is not JSON: named, no traceback."""
    victim = AuditEvent.objects.filter(table_name="cases_incident").order_by("-id").first()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER inquest_audit_append_only")
        else:
            cursor.execute("DROP TRIGGER inquest_audit_no_update")
        cursor.execute("UPDATE audit_auditevent SET after = 'garbage' WHERE id = %s", [victim.id])
    out, error = verify("verify_audit")
    assert f"record #{victim.id}: its contents do not match its hash" in error
    assert f"cases_incident #{incident.pk}: has a record whose row image cannot be read" in out


def test_a_change_of_derived_columns_alone_is_not_a_problem(incident: Any, lead: Any) -> None:
    """A case's last activity moves without a record (DERIVED_COLUMNS): not tampering."""
    from django.utils import timezone

    type(incident).objects.filter(pk=incident.pk).update(last_activity_at=timezone.now())
    passes("verify_audit")


def test_a_column_added_after_the_records_is_not_compared(incident: Any, lead: Any) -> None:
    """A migration adds a column: the older records do not have it, and cannot judge it."""
    last = AuditEvent.objects.filter(table_name="cases_incident").order_by("-id").first()
    image = last.after_data
    from incidents.audit.rows import differing_columns

    assert differing_columns("cases_incident", {k: image[k] for k in ("id",)}, image) == []
    assert differing_columns("cases_incident", image, {**image, "title": "x"}) == ["title"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncate_is_recorded_as_deletes(incident: Any, lead: Any) -> None:
    tags = incident.tags.through
    from incidents.cases.models import Tag

    tag = Tag.objects.create(name="screens")
    incident.tags.add(tag)
    link = tags.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'TRUNCATE "{tags._meta.db_table}"')
    record = AuditEvent.objects.filter(table_name=tags._meta.db_table).order_by("-id").first()
    assert (record.action, record.object_pk, record.after) == ("delete", str(link.pk), None)
    assert json.loads(record.before)["tag_id"] == tag.pk
    assert record.incident_id == incident.pk
    passes("verify_audit")


def test_the_item_page_and_downloads_cross_check_too(client: Any, incident: Any, lead: Any) -> None:
    """The "Verify now" button and the check before a download use the same
    cross-check: the swapped file is neither certified nor sent."""
    item = attach(incident, lead, b"original bytes\n", "a.txt", title="Log")
    original = item.file_sha256
    swap_file(item, b"forged bytes!!\n")
    client.force_login(lead)
    refused = client.get(f"/evidence/{item.pk}/download/")
    assert refused.status_code == 409
    assert f"not the one its custody log last recorded, {original}" in refused.content.decode()
    client.post(f"/evidence/{item.pk}/verify/")
    assert not item.custody.filter(action="verified").exists()
    assert not item.custody.filter(action="downloaded").exists()
    item.refresh_from_db()
    assert item.verification == EvidenceItem.Verification.FAILED


def test_a_clean_download_is_checked_and_recorded(client: Any, incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"original bytes\n", "a.txt", title="Log")
    client.force_login(lead)
    response = client.get(f"/evidence/{item.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"original bytes\n"
    assert [e.action for e in item.custody.order_by("id")][-1] == "downloaded"
    passes("verify_evidence")


def test_an_unreadable_record_of_an_item_is_named(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", "a.txt", title="Log")
    victim = AuditEvent.objects.for_object(item).order_by("-id").first()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER inquest_audit_append_only")
        else:
            cursor.execute("DROP TRIGGER inquest_audit_no_update")
        cursor.execute("UPDATE audit_auditevent SET after = '{oops' WHERE id = %s", [victim.id])
    out, _ = verify("verify_evidence")
    assert f"The audit trail's record #{victim.id} of this item cannot be read." in out

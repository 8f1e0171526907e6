"""Chain of custody: hash-chained entries, tamper detection, the PostgreSQL trigger, verify."""

from __future__ import annotations

import datetime as dt
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from incidents.evidence.models import CustodyEntry, EvidenceItem
from tests.evidence_factories import attach, fast_hashing  # noqa: F401

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's"
)


def tamper(sql: str, params: list[Any]) -> None:
    """Change the custody table behind the application's back (a DBA with superuser rights)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:  # rolled back with the test's transaction
            cursor.execute("DROP TRIGGER IF EXISTS evidence_custody_no_update")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")


def test_attach_opens_a_chain(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    entries = list(item.custody.order_by("id"))
    assert [e.action for e in entries] == ["collected", "uploaded"]
    assert entries[0].previous_hash == ""
    assert entries[1].previous_hash == entries[0].entry_hash
    assert all(e.entry_hash == e.compute_hash() for e in entries)
    assert all(e.sha256 == item.file_sha256 for e in entries)
    item.refresh_from_db()
    assert item.custody_head == entries[1].entry_hash
    assert CustodyEntry.objects.first_broken_link(item) is None


def test_entry_hash_covers_every_field(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    entry = item.transfer(by=lead, recipient="Forensic lab", reason="Analysis", place="Astana")
    original = entry.entry_hash
    for field, value in [
        ("reason", "x"),
        ("recipient", "y"),
        ("place", "z"),
        ("sha256", "0" * 64),
        ("action", "verified"),
        ("actor_id", None),
    ]:
        changed = CustodyEntry.objects.get(pk=entry.pk)
        setattr(changed, field, value)
        assert changed.compute_hash() != original, field


def test_transfer_needs_recipient_and_reason(incident: Any, lead: Any) -> None:
    from django.core.exceptions import ValidationError

    item = attach(incident, lead, b"bytes", name="a.txt")
    with pytest.raises(ValidationError) as caught:
        item.transfer(by=lead, recipient=" ", reason="")
    assert set(caught.value.message_dict) == {"recipient", "reason"}
    assert item.custody.count() == 2


def test_altered_entry_is_named_by_verify_evidence(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt", title="Operator log")
    first = item.custody.order_by("id").first()
    tamper("UPDATE evidence_custodyentry SET reason = %s WHERE id = %s", ["Nothing", first.pk])
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("verify_evidence", stdout=out)
    assert caught.value.returncode == 1
    assert f"entry #{first.pk} (collected" in out.getvalue()
    assert "was altered" in out.getvalue()
    item.refresh_from_db()
    assert item.verification == EvidenceItem.Verification.FAILED
    assert item.last_verified_at is not None
    assert item.custody.order_by("-id").first().action == "verification_failed"


def test_deleted_entry_breaks_the_next_link(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    item.transfer(by=lead, recipient="Lab", reason="Analysis")
    middle = item.custody.order_by("id")[1]
    tamper("DELETE FROM evidence_custodyentry WHERE id = %s", [middle.pk])
    broken = CustodyEntry.objects.first_broken_link(item)
    assert broken is not None and "does not follow" in broken


def test_deleted_last_entry_is_detected_through_the_head(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    last = item.custody.order_by("-id").first()
    tamper("DELETE FROM evidence_custodyentry WHERE id = %s", [last.pk])
    assert "ends early" in CustodyEntry.objects.first_broken_link(item)


def test_verify_evidence_passes_and_records(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    attach(incident, lead, url="https://example.org/statement", title="Statement")
    out = StringIO()
    call_command("verify_evidence", stdout=out)
    assert "2 item(s) checked, 0 failed." in out.getvalue()
    item.refresh_from_db()
    assert item.verification == EvidenceItem.Verification.VERIFIED
    assert item.custody.order_by("-id").first().action == "verified"
    assert CustodyEntry.objects.first_broken_link(item) is None


def test_verify_evidence_reports_an_altered_file(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"original bytes", name="a.txt", title="Log")
    Path(item.file.path).write_bytes(b"altered bytes!")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_evidence", stdout=out)
    assert "hash is" in out.getvalue() and f"#{item.pk}" in out.getvalue()
    failed = item.custody.order_by("-id").first()
    assert failed.action == "verification_failed"
    assert failed.sha256 != item.file_sha256 and len(failed.sha256) == 64


def test_verify_evidence_reports_a_missing_file(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"original bytes", name="a.txt")
    Path(item.file.path).unlink()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_evidence", "--case", incident.reference, stdout=out)
    assert "missing" in out.getvalue()


@on_postgres
def test_trigger_refuses_update(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    entry = item.custody.first()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE evidence_custodyentry SET reason = 'x' WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.reason != "x"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own guard")
def test_sqlite_trigger_refuses_update(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    entry = item.custody.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CustodyEntry.objects.filter(pk=entry.pk).update(reason="x")
    entry.refresh_from_db()
    assert entry.reason != "x"


@on_postgres
def test_trigger_refuses_delete(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CustodyEntry.objects.filter(item=item).delete()
    assert item.custody.count() == 2


@on_postgres  # SQLite's in-memory test database locks whole tables; IMMEDIATE serialises anyway
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_stay_chained(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"bytes", name="a.txt")
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(3):
                CustodyEntry.record(item, action="verified", by=lead, reason=f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert item.custody.count() == 11
    assert CustodyEntry.objects.first_broken_link(item) is None


def test_the_export_carries_each_items_custody_head(client: Any, incident: Any, lead: Any) -> None:
    """The chain's last entry, found link by link (its place, hash and time), so a
    reader of the export can later check the chain still holds it."""
    import json

    item = attach(incident, lead, b"bytes", name="a.txt", title="Log")
    text = attach(incident, lead, text_body="A statement.", title="Statement")
    # An entry dated before the ones it follows: the head is the chain's, not the latest time.
    CustodyEntry.record(
        item,
        action="transferred",
        by=lead,
        reason="Lab",
        recipient="Lab",
        at=item.collected_at.replace(year=2000),
    )
    client.force_login(lead)
    doc = json.loads(b"".join(client.get(f"/cases/{incident.reference}/export.json")))
    heads = {e["id"]: e["custody_head"] for e in doc["evidence"]}
    chain = list(item.custody.order_by("id"))
    assert [e.action for e in chain][-2:] == ["transferred", "exported"]  # the export's own
    assert heads[item.pk]["sequence"] == len(chain) == 4
    assert heads[item.pk]["entry_hash"] == chain[-1].entry_hash
    item.refresh_from_db()
    assert heads[item.pk]["entry_hash"] == item.custody_head
    only = text.custody.get()
    assert heads[text.pk] == {
        "sequence": 1,
        "entry_hash": only.entry_hash,
        "at": only.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }

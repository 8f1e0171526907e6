"""Signed receipts of the audit chain's head: made, kept outside, checked later.

docs/security.md, "Receipts". The scenarios a receipt must catch are played
here: records cut off the end of the trail, a chain rewritten from a record
on, a forged signature, and a receipt from a key the deployment does not know.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from incidents.audit import receipts
from incidents.audit.chain import HASHED_FIELDS, record_hash
from incidents.audit.models import AuditEvent
from incidents.hypotheses.models import Hypothesis

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(settings: Any) -> Ed25519PrivateKey:
    """The deployment's configured key (a fresh one for each test)."""
    private = Ed25519PrivateKey.generate()
    settings.AUDIT_SIGNING_KEY = receipts.private_pem(private).decode()
    settings.AUDIT_TRUSTED_KEYS = ""
    settings.AUDIT_THROWAWAY_KEY_FILE = None
    return private


def receipt_file(tmp_path: Path, name: str = "receipt.json") -> Path:
    path = tmp_path / name
    out = StringIO()
    call_command("audit_receipt", "--out", str(path), stdout=out)
    assert "Receipt written to" in out.getvalue()
    return path


def check(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> tuple[str, str]:
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit", *args, stdout=out)
    assert failed.value.returncode == 1
    return out.getvalue(), str(failed.value)


def guard_off() -> None:
    """An attacker lifts the trail's append-only guard (inside the test's transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER inquest_audit_append_only")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS inquest_audit_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS inquest_audit_no_delete")


def propose(incident: Any, lead: Any, statement: str) -> Hypothesis:
    return Hypothesis.propose(incident, by=lead, statement=statement, kind="other")


# -- making receipts ------------------------------------------------------------------------


def test_a_receipt_is_canonical_json_signed_with_the_key(
    incident: Any, lead: Any, key: Ed25519PrivateKey
) -> None:
    out = StringIO()
    call_command("audit_receipt", stdout=out)
    text = out.getvalue()
    receipt = json.loads(text)
    assert text == receipts.canonical(receipt).decode() + "\n"
    head = AuditEvent.objects.order_by("-id").first()
    assert receipt["type"] == "inquest-audit-receipt" and receipt["version"] == 1
    assert receipt["head"] == {
        "sequence": head.id,
        "hash": head.hash,
        "at": receipts.utc_text(head.at),
    }
    assert receipt["key"]["fingerprint"] == receipts.fingerprint(key.public_key())
    assert receipt["key"]["fingerprint"].startswith("SHA256:")
    body = {k: v for k, v in receipt.items() if k != "signature"}
    signature = receipts._unb64(receipt["signature"])
    key.public_key().verify(signature, receipts.canonical(body))  # raises if it does not


def test_an_intact_trail_holds_the_receipts_head(
    incident: Any, lead: Any, key: Any, tmp_path: Path
) -> None:
    path = receipt_file(tmp_path)
    sequence = json.loads(path.read_text())["head"]["sequence"]
    propose(incident, lead, "Written after the receipt.")  # the trail goes on
    out = check("--receipt", str(path))
    assert "Audit trail intact" in out
    assert f"Receipt {path}: record #{sequence}" in out
    assert "is still in the chain, unchanged" in out


def test_records_cut_off_the_end_are_caught(
    incident: Any, lead: Any, key: Any, tmp_path: Path
) -> None:
    """Scenario: delete the last audit rows. The chain that is left is intact; the
    receipt says it used to be longer."""
    propose(incident, lead, "The hypothesis someone wants gone.")
    path = receipt_file(tmp_path)
    sequence = json.loads(path.read_text())["head"]["sequence"]
    guard_off()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id >= %s", [sequence - 2])
    assert "Audit trail intact" in check("--chain-only")  # the cut alone passes the chain
    out, error = refused("--chain-only", "--receipt", str(path))
    assert f"record #{sequence}, the head this receipt was given for, is gone" in out
    assert "records were cut off the end of the trail" in error


def test_a_cut_followed_by_new_records_is_caught(
    incident: Any, lead: Any, key: Any, tmp_path: Path
) -> None:
    propose(incident, lead, "First.")
    path = receipt_file(tmp_path)
    sequence = json.loads(path.read_text())["head"]["sequence"]
    guard_off()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [sequence])
    propose(incident, lead, "Written after the cut, chained to what was left.")
    assert "Audit trail intact" in check("--chain-only")
    out, _ = refused("--chain-only", "--receipt", str(path))
    assert f"record #{sequence}, the head this receipt was given for, is gone" in out


def test_a_chain_rewritten_from_a_record_on_is_caught(
    incident: Any, lead: Any, key: Any, tmp_path: Path
) -> None:
    """Scenario: alter a record and recompute every hash after it, so the chain verifies."""
    propose(incident, lead, "A glitch.")
    path = receipt_file(tmp_path)
    sequence = json.loads(path.read_text())["head"]["sequence"]
    guard_off()
    records = list(AuditEvent.objects.filter(id__gte=sequence - 3).order_by("id"))
    previous = AuditEvent.objects.filter(id__lt=records[0].id).order_by("-id").first().hash
    with connection.cursor() as cursor:
        for n, record in enumerate(records):
            if n == 0:
                record.actor = "someone else"
            digest = record_hash(previous, *(getattr(record, f) for f in HASHED_FIELDS))
            cursor.execute(
                "UPDATE audit_auditevent SET actor = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [record.actor, previous, digest, record.id],
            )
            previous = digest
    assert "Audit trail intact" in check("--chain-only")  # rewritten consistently
    out, _ = refused("--chain-only", "--receipt", str(path))
    assert f"record #{sequence} now has the hash" in out
    assert "the trail was rewritten" in out


# -- receipts that are not what they claim ----------------------------------------------------


def test_a_forged_signature_is_refused(incident: Any, lead: Any, key: Any, tmp_path: Path) -> None:
    """Scenario: a receipt edited to name another head, signature kept."""
    path = receipt_file(tmp_path)
    receipt = json.loads(path.read_text())
    other = AuditEvent.objects.order_by("id").first()
    receipt["head"] = {
        "sequence": other.id,
        "hash": other.hash,
        "at": receipts.utc_text(other.at),
    }
    forged = tmp_path / "forged.json"
    forged.write_text(receipts.receipt_text(receipt))
    out, error = refused("--receipt", str(forged))
    assert "Its signature does not verify" in out and "altered or forged" in out
    assert f"Receipt {forged}" in error
    # A signature made up out of thin air, too.
    receipt = json.loads(path.read_text())
    receipt["signature"] = receipts._b64(os.urandom(64))
    forged.write_text(receipts.receipt_text(receipt))
    out, _ = refused("--receipt", str(forged))
    assert "Its signature does not verify" in out


def test_a_receipt_from_an_unknown_key_is_refused(
    incident: Any, lead: Any, key: Ed25519PrivateKey, tmp_path: Path, settings: Any
) -> None:
    """Scenario: a receipt signed by some other key (a look-alike deployment, or a forger)."""
    stranger = Ed25519PrivateKey.generate()
    settings.AUDIT_SIGNING_KEY = receipts.private_pem(stranger).decode()
    path = receipt_file(tmp_path)
    settings.AUDIT_SIGNING_KEY = receipts.private_pem(key).decode()
    out, _ = refused("--receipt", str(path))
    assert "signed by a key this deployment does not trust" in out
    assert receipts.fingerprint(stranger.public_key()) in out


def test_after_rotation_receipts_of_the_earlier_key_still_verify(
    incident: Any, lead: Any, key: Ed25519PrivateKey, tmp_path: Path, settings: Any
) -> None:
    old = receipt_file(tmp_path, "old.json")
    new_key = Ed25519PrivateKey.generate()
    settings.AUDIT_SIGNING_KEY = receipts.private_pem(new_key).decode()
    refused("--receipt", str(old))  # the old key is not trusted until listed
    old_public = receipts.public_text(key.public_key())
    # Given on the command line (a key, or a file of keys)...
    assert "unchanged" in check("--receipt", str(old), "--trusted-key", old_public)
    keys = tmp_path / "trusted.txt"
    keys.write_text(f"# retired 2026-05\n{old_public}\n")
    assert "unchanged" in check("--receipt", str(old), "--trusted-key", str(keys))
    # ...or kept in the settings, as docs/security.md says.
    settings.AUDIT_TRUSTED_KEYS = old_public
    new = receipt_file(tmp_path, "new.json")
    out = check("--receipt", str(old), "--receipt", str(new))
    assert out.count("is still in the chain, unchanged") == 2
    assert json.loads(new.read_text())["key"]["fingerprint"] == receipts.fingerprint(
        new_key.public_key()
    )
    out = StringIO()
    call_command("audit_key", stdout=out)
    assert receipts.fingerprint(key.public_key()) in out.getvalue()  # listed as earlier


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "It is not JSON"),
        (b'{"type": "something else"}', "It is not an audit receipt"),
        (b'{"type": "inquest-audit-receipt", "version": 1, "head": {}}', "not a well-formed"),
    ],
)
def test_an_unreadable_receipt_is_a_clean_failure(
    incident: Any, key: Any, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(content)
    out, _ = refused("--receipt", str(path))
    assert message in out
    out, _ = refused("--receipt", str(tmp_path / "missing.json"))
    assert "cannot be read" in out


# -- the key ------------------------------------------------------------------------------


def test_production_refuses_receipts_without_a_configured_key(
    incident: Any, settings: Any, client: Any, staff: Any
) -> None:
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_THROWAWAY_KEY_FILE = None  # what DEBUG off gives (incidents/settings.py)
    with pytest.raises(CommandError, match="No audit signing key is configured") as failed:
        call_command("audit_receipt", stdout=StringIO())
    assert "INQUEST_AUDIT_SIGNING_KEY_FILE" in str(failed.value)
    client.force_login(staff)
    response = client.get("/audit/receipt/")
    assert response.status_code == 503
    assert "No audit signing key is configured" in response.content.decode()


def test_debug_makes_one_throwaway_key_in_the_var_folder(
    incident: Any, settings: Any, tmp_path: Path
) -> None:
    path = tmp_path / "var" / "audit-signing-key.pem"
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_THROWAWAY_KEY_FILE = path
    assert not receipts.trusted_keys()  # verifying makes no key
    first = receipts.make_receipt()
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    second = receipts.make_receipt()
    assert first["key"] == second["key"]  # made once, then read back


def test_settings_make_a_throwaway_key_only_with_debug(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.AUDIT_THROWAWAY_KEY_FILE)"
    base = {**os.environ, "DJANGO_SETTINGS_MODULE": "incidents.settings", "SECRET_KEY": "x"}
    base.pop("INQUEST_AUDIT_SIGNING_KEY", None)
    base.pop("INQUEST_AUDIT_SIGNING_KEY_FILE", None)
    base["INQUEST_VAR_DIR"] = str(tmp_path)
    for debug, expected in (("true", str(tmp_path / "audit-signing-key.pem")), ("false", "None")):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**base, "DEBUG": debug},
            capture_output=True,
            text=True,
            check=True,
            cwd=django_settings.BASE_DIR,
        )
        assert result.stdout.strip() == expected


def test_the_key_may_be_pem_or_base64_from_a_file(tmp_path: Path, settings: Any) -> None:
    path = tmp_path / "keys" / "audit.pem"
    out = StringIO()
    call_command("audit_key", "--generate", str(path), stdout=out)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = receipts.parse_private_key(path.read_text())
    assert receipts.fingerprint(key.public_key()) in out.getvalue()
    with pytest.raises(CommandError, match="never overwritten"):
        call_command("audit_key", "--generate", str(path), stdout=StringIO())
    raw = key.private_bytes_raw()
    assert receipts.parse_private_key(receipts._b64(raw)).private_bytes_raw() == raw
    with pytest.raises(ValueError, match="not the 32"):
        receipts.parse_private_key(receipts._b64(b"short"))
    settings.AUDIT_SIGNING_KEY = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"
    with pytest.raises(receipts.NoSigningKey, match="cannot be used"):
        receipts.signing_key()


# -- the staff's page -------------------------------------------------------------------------


def test_staff_get_the_receipt_page_and_file(
    client: Any, incident: Any, staff: Any, lead: Any, key: Any, tmp_path: Path
) -> None:
    client.force_login(lead)
    assert client.get("/audit/receipt/").status_code == 403
    assert client.get("/audit/receipt.json").status_code == 403
    client.force_login(staff)
    page = client.get("/audit/receipt/")
    assert page.status_code == 200
    head = AuditEvent.objects.order_by("-id").first()
    html = page.content.decode()
    assert head.hash in html and f"#{head.id}" in html
    assert receipts.fingerprint(key.public_key()) in html
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]
    download = client.get("/audit/receipt.json")
    assert download["Content-Disposition"] == (
        f'attachment; filename="inquest-audit-receipt-{head.id}.json"'
    )
    path = tmp_path / "downloaded.json"
    path.write_bytes(download.content)
    assert "is still in the chain, unchanged" in check("--receipt", str(path))


# -- no traceback, whatever fails -----------------------------------------------------------


def test_the_commands_fail_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    """Against a database that has no tables, and with DEBUG off and no key."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
    }
    for name in ("INQUEST_AUDIT_SIGNING_KEY", "INQUEST_AUDIT_SIGNING_KEY_FILE"):
        env.pop(name, None)
    for command, message in (
        (["verify_audit"], "The audit trail cannot be read"),
        (["verify_audit", "--receipt", "missing.json"], "The audit trail cannot be read"),
        (["verify_evidence"], "The evidence items cannot be read"),
        (["audit_receipt"], "No audit signing key is configured"),
    ):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            env=env,
            capture_output=True,
            text=True,
            cwd=django_settings.BASE_DIR,
        )
        assert result.returncode == 1, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr

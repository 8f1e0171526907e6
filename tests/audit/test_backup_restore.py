"""Backups and the restore drill (docs/deployment.md, "Backups and the restore drill").

The drill itself needs PostgreSQL (pg_dump and pg_restore, the production
case): it loads the demo case, exports it, backs it up, restores the backup
into a new empty database and an empty media folder with the original media
deleted, and then checks that nothing was lost: ``verify_audit``,
``verify_evidence``, the audit trail's head, and the export diffed with the
first one. The refusals (a database or a storage that is not empty, a
damaged backup) and SQLite's own backup run on both databases.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError
from django.db import connection

from incidents.audit.models import AuditEvent
from incidents.backup import MANIFEST, MEDIA, SUMS
from incidents.cases.management.commands.load_demo import REFERENCE
from incidents.evidence.models import EvidenceItem
from tests.audit.restore_drill import (
    assert_same_case,
    connected_to,
    exported,
    fresh_database,
    media_files,
    run,
)
from tests.evidence_factories import attach

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_logins(settings: Any) -> None:
    """Argon2 and django-axes are not what this file tests (see evidence_factories)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False


@pytest.fixture
def small_case(incident: Any, lead: Any) -> list[EvidenceItem]:
    """Two items with files and one without."""
    return [
        attach(incident, lead, b"09:40 login from 203.0.113.7\n", "cms.log", title="CMS log"),
        attach(incident, lead, b"Memo: meeting moved to 10:00\n", "memo.txt", title="Memo"),
        attach(incident, lead, None, text_body="A witness statement.", title="Witness"),
    ]


# -- the drill --------------------------------------------------------------------------


def test_restore_drill_loses_nothing(client: Any, settings: Any, tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "The restore drill needs PostgreSQL (pg_dump, pg_restore): run it under "
            ".ci/with-postgres; SQLite's backup is tested below."
        )
    started = time.monotonic()
    run("load_demo", force=True)
    lead = get_user_model().objects.get(username="lead")
    client.force_login(lead)
    before = exported(client, REFERENCE)
    head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
    original_media = settings.MEDIA_ROOT
    files_before = media_files(original_media)
    assert files_before, "the demo case has evidence files"

    backup = tmp_path / "backup"
    out = run("backup", out=backup)
    assert "Backup complete" in out
    manifest = json.loads((backup / MANIFEST).read_text())
    assert manifest["database"]["vendor"] == "postgresql"
    assert manifest["database"]["tables"]["audit_auditevent"] == AuditEvent.objects.count()
    assert {f["name"] for f in manifest["media"]["files"]} == set(files_before)
    assert manifest["named_files"] == {
        "count": EvidenceItem.objects.exclude(file="").count(),
        "missing": [],
        "mismatched": [],
    }
    assert "0001_initial" in manifest["migrations"]["audit"]

    # Delete everything the backup came from that the restored site could read.
    shutil.rmtree(original_media)
    settings.MEDIA_ROOT = str(tmp_path / "restored-media")
    with fresh_database(tmp_path) as name, connected_to(name):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0] == name
        assert "Restore complete" in run("restore", backup)

        assert media_files(settings.MEDIA_ROOT) == files_before
        assert AuditEvent.objects.filter(id=head[0]).values_list("id", "hash").get() == head
        client.force_login(lead)  # a new session, in the restored database
        after = exported(client, REFERENCE)
        assert_same_case(before, after)
        assert "Audit trail intact" in run("verify_audit")
        items = EvidenceItem.objects.count()
        assert f"{items} item(s) checked, 0 failed." in run("verify_evidence")
        assert "Audit trail intact" in run("verify_audit")
    elapsed = time.monotonic() - started
    print(f"restore drill on the demo case: {elapsed:.1f} s")


# -- refusals ---------------------------------------------------------------------------


def test_restore_refuses_a_database_that_is_not_empty(
    small_case: list[EvidenceItem], settings: Any, tmp_path: Path
) -> None:
    run("backup", out=tmp_path / "backup")
    settings.MEDIA_ROOT = str(tmp_path / "empty-media")
    with pytest.raises(CommandError, match="is not empty .* Nothing was restored"):
        run("restore", tmp_path / "backup")
    assert media_files(settings.MEDIA_ROOT) == {}


def test_restore_refuses_storage_that_is_not_empty(
    small_case: list[EvidenceItem], settings: Any, tmp_path: Path
) -> None:
    run("backup", out=tmp_path / "backup")
    # settings.MEDIA_ROOT still holds the files: only the database is fresh.
    with fresh_database(tmp_path) as name, connected_to(name):
        with pytest.raises(CommandError, match=r"media storage .* is not empty \(2 file"):
            run("restore", tmp_path / "backup")
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        assert tables == []


def test_restore_refuses_a_damaged_backup(
    small_case: list[EvidenceItem], settings: Any, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    run("backup", out=backup)
    assert "The backup is whole." in run("restore", backup, check_only=True)
    item = small_case[0]
    stored = backup / MEDIA / item.file.name
    stored.write_bytes(stored.read_bytes().replace(b"203.0.113.7", b"203.0.113.8"))
    (backup / MEDIA / "evidence" / "added").write_bytes(b"not in the manifest")
    dump = backup / json.loads((backup / MANIFEST).read_text())["database"]["file"]
    with dump.open("ab") as handle:
        handle.write(b"\0")
    settings.MEDIA_ROOT = str(tmp_path / "empty-media")
    with fresh_database(tmp_path) as name, connected_to(name):
        with pytest.raises(CommandError) as refused:
            run("restore", backup)
        message = str(refused.value)
        assert "The backup is damaged; nothing was restored" in message
        assert f"Media file {item.file.name} does not match its SHA-256" in message
        assert "media/evidence/added is in the backup but not in the manifest" in message
        assert f"The database dump {dump.name} does not match its SHA-256" in message
        with connection.cursor() as cursor:
            assert connection.introspection.table_names(cursor) == []
    assert media_files(settings.MEDIA_ROOT) == {}


def test_restore_refuses_a_backup_from_a_newer_inquest(
    small_case: list[EvidenceItem], settings: Any, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    run("backup", out=backup)
    manifest = json.loads((backup / MANIFEST).read_text())
    manifest["migrations"]["evidence"].append("9999_from_a_later_version")
    (backup / MANIFEST).write_text(json.dumps(manifest))
    settings.MEDIA_ROOT = str(tmp_path / "empty-media")
    with fresh_database(tmp_path) as name, connected_to(name):
        with pytest.raises(
            CommandError,
            match=r"migrations this code does not know \(evidence.9999_from_a_later_version\)",
        ):
            run("restore", backup)
        with connection.cursor() as cursor:
            assert connection.introspection.table_names(cursor) == []


def test_backup_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")
    with pytest.raises(CommandError, match="already exists: give a new path"):
        run("backup", out=tmp_path / "old")


def test_backup_names_a_missing_or_altered_evidence_file(
    small_case: list[EvidenceItem], settings: Any, tmp_path: Path
) -> None:
    log, memo, _ = small_case
    root = Path(settings.MEDIA_ROOT)
    (root / log.file.name).unlink()
    (root / memo.file.name).write_bytes(b"swapped")
    with pytest.raises(CommandError) as failed:
        run("backup", out=tmp_path / "backup")
    message = str(failed.value)
    table = EvidenceItem._meta.db_table
    assert f"{log.file.name} (named by {table}) is missing from the media storage" in message
    assert f"{memo.file.name} (named by {table}) has SHA-256 " in message
    manifest = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    assert manifest["named_files"]["missing"] == [{"name": log.file.name, "table": table}]
    assert manifest["named_files"]["mismatched"] == [
        {
            "name": memo.file.name,
            "table": table,
            "expected": memo.file_sha256,
            "found": hashlib.sha256(b"swapped").hexdigest(),
        }
    ]


# -- both databases: a round trip through an archive -----------------------------------------


def test_round_trip_through_an_archive(
    client: Any, small_case: list[EvidenceItem], lead: Any, settings: Any, tmp_path: Path
) -> None:
    """A .tar.gz backup of a small case restored into a fresh database and
    folder: the files, the checks and the export come back (SQLite's online
    backup API on SQLite, pg_dump on PostgreSQL)."""
    client.force_login(lead)
    reference = small_case[0].incident.reference
    before = exported(client, reference)
    files_before = media_files(settings.MEDIA_ROOT)
    archive = tmp_path / "inquest.tar.gz"
    run("backup", out=archive)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {MANIFEST, SUMS, *(f"{MEDIA}/{name}" for name in files_before)} <= names
    assert archive.stat().st_mode & 0o077 == 0

    settings.MEDIA_ROOT = str(tmp_path / "restored-media")
    with fresh_database(tmp_path) as name, connected_to(name):
        out = run("restore", archive)
        assert "read back intact" in out
        assert media_files(settings.MEDIA_ROOT) == files_before
        client.force_login(lead)
        assert_same_case(before, exported(client, reference))
        assert "Audit trail intact" in run("verify_audit")
        assert "3 item(s) checked, 0 failed." in run("verify_evidence")

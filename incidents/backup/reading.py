"""Reading, checking and restoring a backup: ``manage.py restore``."""

from __future__ import annotations

import contextlib
import json
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.base import File
from django.core.files.storage import Storage, default_storage
from django.db import connections

from incidents.backup.common import (
    FORMAT,
    MANIFEST,
    MEDIA,
    VERSION,
    BackupError,
    Log,
    describe_storage,
    hash_in_storage,
    list_media,
    quiet,
    safe_media_name,
    sha256_file,
)
from incidents.backup.databases import (
    load_postgresql,
    load_sqlite,
    objects_in_postgresql,
    objects_in_sqlite,
    postgresql_facts,
    sqlite_facts,
    sqlite_path,
)

# -- reading and checking a backup ----------------------------------------------------------


@contextlib.contextmanager
def opened(path: Path | str) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The backup at PATH as (folder, manifest); an archive is unpacked to a
    temporary folder first (with tarfile's "data" filter: no links out, no
    absolute paths) and removed afterwards."""
    path = Path(path).expanduser().absolute()
    if not path.exists():
        raise BackupError(f"{path} does not exist.")
    if path.is_dir():
        yield path, read_manifest(path)
        return
    if not tarfile.is_tarfile(path):
        raise BackupError(f"{path} is neither a backup folder nor a tar archive.")
    with tempfile.TemporaryDirectory(prefix="inquest-restore-") as unpacked:
        with tarfile.open(path) as archive:
            archive.extractall(unpacked, filter="data")
        folder = Path(unpacked)
        yield folder, read_manifest(folder)


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} holds no {MANIFEST}: not an Inquest backup.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{folder / MANIFEST} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder / MANIFEST} is not an Inquest backup manifest.")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"This backup's format is version {manifest.get('version')}; "
            f"this code reads version {VERSION}."
        )
    return manifest


def check_backup(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Every file against the manifest: the problems found (none: the backup is whole)."""
    problems = []
    database = manifest["database"]
    dump = folder / database["file"]
    if not dump.is_file():
        problems.append(f"The database dump {database['file']} is missing.")
    elif sha256_file(dump) != (database["sha256"], database["size"]):
        problems.append(f"The database dump {database['file']} does not match its SHA-256.")
    listed = set()
    for entry in manifest["media"]["files"]:
        name = safe_media_name(entry["name"])
        listed.add(name)
        path = folder / MEDIA / name
        if not path.is_file():
            problems.append(f"Media file {name} is missing from the backup.")
        elif sha256_file(path) != (entry["sha256"], entry["size"]):
            problems.append(f"Media file {name} does not match its SHA-256.")
    media = folder / MEDIA
    if media.is_dir():
        for path in sorted(media.rglob("*")):
            if path.is_file() and path.relative_to(media).as_posix() not in listed:
                problems.append(
                    f"{path.relative_to(folder).as_posix()} is in the backup "
                    "but not in the manifest."
                )
    return problems


@dataclass
class MigrationGaps:
    unknown: list[str]  # applied in the backup, unknown to this code: refuse
    pending: list[str]  # of this code, not applied in the backup: migrate afterwards
    other_apps: list[str]  # apps the backup has migrations of, not installed here


def migration_gaps(manifest: dict[str, Any]) -> MigrationGaps:
    """The backup's migration state against this code's migrations.

    Apps that are not installed here (incidents/perf outside benchmark mode)
    are set apart: their tables come back as they are, and nobody here
    migrates them.
    """
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    installed = {config.label for config in apps.get_app_configs()}
    applied = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    return MigrationGaps(
        unknown=sorted(f"{a}.{n}" for a, n in applied - known if a in installed),
        pending=sorted(
            f"{app}.{name}"
            for (app, name), migration in loader.disk_migrations.items()
            if (app, name) not in applied
            and not (migration.replaces and all(r in applied for r in migration.replaces))
        ),
        other_apps=sorted({app for app, _ in applied if app not in installed}),
    )


# -- restore ----------------------------------------------------------------------------


def _listing(found: list[str], limit: int = 5) -> str:
    shown = ", ".join(found[:limit])
    return shown + (f" and {len(found) - limit} more" if len(found) > limit else "")


def restore_backup(
    path: Path | str,
    *,
    using: str = "default",
    storage: Storage | None = None,
    check_only: bool = False,
    log: Log = quiet,
) -> dict[str, Any]:
    """Load the backup at PATH into the EMPTY database USING and the EMPTY
    STORAGE; refuse with BackupError (before writing anything) otherwise.
    With CHECK_ONLY, only check the backup's hashes. Returns the manifest."""
    started = time.monotonic()
    storage = storage or default_storage
    with opened(path) as (folder, manifest):
        if problems := check_backup(folder, manifest):
            raise BackupError(
                "The backup is damaged; nothing was restored:\n  " + "\n  ".join(problems)
            )
        media = manifest["media"]
        log(
            f"Backup of {manifest['started_at']} is whole: {manifest['database']['file']} and "
            f"{media['count']} media file(s) match the manifest's SHA-256."
        )
        if check_only:
            return manifest

        connection = connections[using]
        vendor = manifest["database"]["vendor"]
        if vendor != connection.vendor:
            raise BackupError(
                f"This backup holds a {vendor} database; DATABASE_URL points at "
                f"{connection.vendor}."
            )
        gaps = migration_gaps(manifest)
        if gaps.unknown:
            raise BackupError(
                "The backup's database has migrations this code does not know "
                f"({_listing(gaps.unknown)}): it was taken by a newer Inquest. Restore it "
                "with that version, then upgrade."
            )

        target = connection.settings_dict.get("NAME")
        try:
            found = (
                objects_in_postgresql(using)
                if vendor == "postgresql"
                else objects_in_sqlite(connection.settings_dict)
            )
        except BackupError:
            raise
        except Exception as exc:
            raise BackupError(f"Cannot read the target database {target}: {exc}") from exc
        if found:
            fresh = (
                "create a new one (createdb) and point DATABASE_URL at it"
                if vendor == "postgresql"
                else "move that file away, or point DATABASE_URL at a new file"
            )
            raise BackupError(
                f"The database {target} is not empty ({len(found)} object(s): "
                f"{_listing(found)}). A restore only goes into an empty database: {fresh}. "
                "Nothing was restored."
            )
        where = describe_storage(storage)["location"]
        if present := list_media(storage):
            raise BackupError(
                f"The media storage {where} is not empty ({len(present)} file(s): "
                f"{_listing(present)}). A restore only goes into empty storage: point "
                "MEDIA_ROOT (or S3_BUCKET / S3_PREFIX) at a new, empty place. "
                "Nothing was restored."
            )

        connection.close()
        step = time.monotonic()
        dump = folder / manifest["database"]["file"]
        if vendor == "postgresql":
            load_postgresql(connection.settings_dict, dump)
        else:
            load_sqlite(connection.settings_dict, dump)
        log(f"Database {target} loaded from {dump.name} in {time.monotonic() - step:.1f} s.")
        step = time.monotonic()

        try:
            for entry in media["files"]:
                name = entry["name"]
                with (folder / MEDIA / name).open("rb") as handle:
                    saved = storage.save(name, File(handle, name=name))
                if saved != name:
                    raise BackupError(f"The storage saved {name} as {saved}.")
                if hash_in_storage(storage, name) != (entry["sha256"], entry["size"]):
                    raise BackupError(f"{name} does not read back from {where} as it was written.")
        except Exception as exc:
            raise BackupError(
                f"The database was restored but the media were not ({exc}). Empty the "
                "database and the storage before trying again."
            ) from exc
        log(
            f"Media: {media['count']} file(s) written to {where} and read back intact "
            f"in {time.monotonic() - step:.1f} s."
        )

        facts = (
            postgresql_facts(using)
            if vendor == "postgresql"
            else sqlite_facts(sqlite_path(connection.settings_dict))
        )
        expected = manifest["database"]["tables"]
        differences = [
            f"{table}: {facts.tables.get(table)} row(s), the backup had {count}"
            for table, count in sorted(expected.items())
            if facts.tables.get(table) != count
        ]
        if differences or facts.migrations != manifest["migrations"]:
            raise BackupError(
                "The restored database differs from the backup's manifest: "
                + ("; ".join(differences) or "its migration state differs")
            )
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # pg_restore leaves the planner without statistics
        rows = sum(expected.values())
        log(f"{len(expected)} table(s), {rows:,} row(s), as in the manifest.")
        if gaps.pending:
            log(
                f"This code has {len(gaps.pending)} migration(s) the backup has not applied "
                f"({_listing(gaps.pending)}): run manage.py migrate."
            )
        if gaps.other_apps:
            log(
                f"The backup also holds the tables of apps not installed here "
                f"({', '.join(gaps.other_apps)}); they were restored as they were."
            )
        log(f"Restored in {time.monotonic() - started:.1f} s.")
    return manifest

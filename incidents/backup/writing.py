"""Writing a backup: ``manage.py backup``."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
from django.core.files.storage import Storage, default_storage
from django.db import connections

from incidents.backup.common import (
    ARCHIVE_SUFFIXES,
    FORMAT,
    MANIFEST,
    MEDIA,
    PG_DUMP,
    SQLITE_COPY,
    SUMS,
    VERSION,
    BackupError,
    Log,
    copy_from_storage,
    describe_storage,
    list_media,
    now_utc,
    quiet,
    sha256_file,
)
from incidents.backup.databases import dump_postgresql, dump_sqlite


def elapsed(since: float) -> float:
    return time.monotonic() - since


def is_archive(path: Path) -> bool:
    return path.name.endswith(ARCHIVE_SUFFIXES)


@dataclass
class Result:
    path: Path
    manifest: dict[str, Any]
    seconds: float
    problems: list[str]


def write_backup(
    out: Path | str,
    *,
    using: str = "default",
    storage: Storage | None = None,
    log: Log = quiet,
) -> Result:
    """Write a backup of database USING and of STORAGE (the media) to OUT.

    OUT is a new (or empty) folder, or an archive when its name ends in .tar,
    .tar.gz or .tgz. It is written under a temporary name beside OUT and
    renamed at the end, so a backup that stopped half-way never looks whole.
    Returns the manifest and the problems found (a file a row names that is
    missing, or whose hash is not the row's); the caller fails when there are any.
    """
    started = time.monotonic()
    out = Path(out).expanduser().absolute()
    storage = storage or default_storage
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise BackupError(f"{out} already exists: give a new path for each backup.")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    partial = staging.with_name(staging.name + ".tar")
    try:
        manifest, problems = _write_folder(staging, using, storage, log)
        if is_archive(out):
            plain = out.name.endswith(".tar")
            with tarfile.open(partial, "w") if plain else tarfile.open(partial, "w:gz") as archive:
                for path in sorted(staging.rglob("*")):
                    if path.is_file():
                        archive.add(path, arcname=path.relative_to(staging).as_posix())
            partial.chmod(0o600)
            partial.replace(out)
        else:
            if out.exists():
                out.rmdir()
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        partial.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    log(f"Backup written to {out} in {seconds:.1f} s.")
    return Result(out, manifest, seconds, problems)


def _write_folder(
    folder: Path, using: str, storage: Storage, log: Log
) -> tuple[dict[str, Any], list[str]]:
    folder.chmod(0o700)  # evidence and personal data: the operator's eyes only
    settings_dict = connections[using].settings_dict
    vendor = connections[using].vendor
    started_at = now_utc()
    started = time.monotonic()
    if vendor == "postgresql":
        dump_name = PG_DUMP
        info, facts = dump_postgresql(settings_dict, folder / dump_name)
    elif vendor == "sqlite":
        dump_name = SQLITE_COPY
        info, facts = dump_sqlite(settings_dict, folder / dump_name)
    else:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    (folder / dump_name).chmod(0o600)
    digest, size = sha256_file(folder / dump_name)
    rows = sum(facts.tables.values())
    log(f"Database: {dump_name}, {size:,} bytes, {rows:,} rows, in {elapsed(started):.1f} s.")
    media_started = time.monotonic()

    media_files: list[dict[str, Any]] = []
    for name in list_media(storage):
        sha256, file_size = copy_from_storage(storage, name, folder / MEDIA / name)
        media_files.append({"name": name, "size": file_size, "sha256": sha256})
    total = sum(entry["size"] for entry in media_files)
    log(f"Media: {len(media_files)} file(s), {total:,} bytes, in {elapsed(media_started):.1f} s.")

    copied = {entry["name"]: entry for entry in media_files}
    missing = [
        {"name": name, "table": table}
        for name, (table, _, _) in sorted(facts.files.items())
        if name not in copied
    ]
    mismatched = [
        {"name": name, "table": table, "expected": sha, "found": copied[name]["sha256"]}
        for name, (table, sha, file_size) in sorted(facts.files.items())
        if name in copied
        and sha is not None
        and (copied[name]["sha256"] != sha or file_size not in (None, copied[name]["size"]))
    ]
    problems = [
        f"{m['name']} (named by {m['table']}) is missing from the media storage." for m in missing
    ]
    problems += [
        f"{m['name']} (named by {m['table']}) has SHA-256 {m['found']}, "
        f"its row says {m['expected']}."
        for m in mismatched
    ]

    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "started_at": started_at,
        "finished_at": now_utc(),
        "database": {
            **info,
            "file": dump_name,
            "sha256": digest,
            "size": size,
            "tables": facts.tables,
        },
        "migrations": facts.migrations,
        "media": {
            **describe_storage(storage),
            "folder": MEDIA,
            "count": len(media_files),
            "bytes": total,
            "files": media_files,
        },
        "named_files": {
            "count": len(facts.files),
            "missing": missing,
            "mismatched": mismatched,
        },
        "software": {"django": django.get_version(), "python": platform.python_version()},
    }
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    manifest_text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (folder / MANIFEST).write_text(manifest_text, encoding="utf-8")
    sums = [f"{digest}  {dump_name}"]
    sums += [f"{entry['sha256']}  {MEDIA}/{entry['name']}" for entry in media_files]
    sums.append(f"{hashlib.sha256(manifest_text.encode()).hexdigest()}  {MANIFEST}")
    (folder / SUMS).write_text("\n".join(sums) + "\n", encoding="utf-8")
    for name in (MANIFEST, SUMS):
        (folder / name).chmod(0o600)
    return manifest, problems

"""The backup format's names, its error, and the media storage seen as files."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from django.core.files.storage import Storage

FORMAT = "inquest-backup"
VERSION = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
MEDIA = "media"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
CHUNK = 1024 * 1024
APPLICATION_NAME = "inquest-backup"
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")

Log = Callable[[str], None]


class BackupError(Exception):
    """Something an operator must fix; the message says what."""


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def quiet(_: str) -> None:
    pass


# -- files and hashes -----------------------------------------------------------------


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_media_name(name: str) -> str:
    """NAME if it is a plain relative path inside the storage; BackupError otherwise."""
    path = PurePosixPath(name)
    if (
        not name
        or _UNSAFE.search(name)
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        raise BackupError(f"Unsafe media file name {name!r}: refusing to copy it.")
    return name


def walk_storage(storage: Storage, top: str = "") -> Iterator[str]:
    """Every file name in STORAGE under TOP, depth first, sorted."""
    try:
        dirs, names = storage.listdir(top)
    except FileNotFoundError:  # a media folder not created yet: nothing in it
        return
    for name in sorted(names):
        yield f"{top}/{name}" if top else name
    for sub in sorted(dirs):
        yield from walk_storage(storage, f"{top}/{sub}" if top else sub)


def describe_storage(storage: Storage) -> dict[str, str]:
    """Which storage this is, for the manifest and the messages (never its keys)."""
    kind = storage.__class__  # default_storage is lazy: this is the class it wraps
    backend = f"{kind.__module__}.{kind.__qualname__}"
    if bucket := getattr(storage, "bucket_name", None):
        prefix = (getattr(storage, "location", "") or "").strip("/")
        where = f"s3://{bucket}/{prefix}".rstrip("/")
        if endpoint := getattr(storage, "endpoint_url", None):
            where += f" at {endpoint}"
    else:
        where = str(getattr(storage, "location", "?"))
    return {"backend": backend, "location": where}


def list_media(storage: Storage) -> list[str]:
    try:
        return [safe_media_name(name) for name in walk_storage(storage)]
    except BackupError:
        raise
    except Exception as exc:  # botocore's errors are not OSError
        where = describe_storage(storage)["location"]
        raise BackupError(f"Cannot list the media storage {where}: {exc}") from exc


def copy_from_storage(storage: Storage, name: str, target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with storage.open(name, "rb") as source, target.open("xb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def hash_in_storage(storage: Storage, name: str) -> tuple[str, int]:
    from incidents.evidence.files import hash_stored

    return hash_stored(storage, name)

"""Backups and restores: the database and the media together, with a manifest of hashes.

``manage.py backup --out PATH`` and ``manage.py restore PATH`` (and ``make
backup`` / ``make restore``) call :func:`write_backup` and
:func:`restore_backup`. docs/deployment.md ("Backups and the restore drill")
is the operator's side; tests/audit/test_backup_restore.py is the drill.
Modules: ``common`` (the format's names, the error, media storage as files),
``databases`` (PostgreSQL and SQLite), ``writing`` (the backup), ``reading``
(checking a backup and restoring it).

A backup is a folder (or the same folder as a ``.tar``/``.tar.gz`` archive)::

    manifest.json     what was taken, when, with the SHA-256 and size of every file
    SHA256SUMS        the same hashes for ``sha256sum -c`` (and the manifest's own)
    database.dump     PostgreSQL: ``pg_dump --format=custom``
    database.sqlite3  SQLite (the demo): a copy made with SQLite's online backup API
    media/<name>      every file of the media storage (filesystem or S3), by its name

Consistency. On PostgreSQL one REPEATABLE READ transaction exports its
snapshot and ``pg_dump --snapshot`` dumps exactly that snapshot, while the
same transaction reads the migration state, the row count of every table and
every file the rows name (evidence items, reports), with its hash: the
manifest describes the very dump it sits beside. On SQLite the online backup
API copies the file as of one moment and the same facts are read from the
copy. The media are copied after the database: stored files are never
overwritten or deleted, so every file the dump names is already there, and
a file uploaded meanwhile is an orphan in the backup (harmless). Each copied
file is hashed on the way and compared with the hash its row holds; a
missing or different file fails the backup (it is still written, and the
manifest names the problem).

A restore refuses to write anything unless the backup is whole (every hash
in the manifest matches, no file is missing or added), the database is empty
(no tables, views, sequences or functions outside the system schemas), the
media storage is empty, and this code knows every migration the backup
holds. It then loads the dump (``pg_restore --single-transaction``, so a
failure leaves the database empty again), uploads the media through the
storage and re-reads each file from there to check its hash, and compares
the row count of every table with the manifest.
"""

from incidents.backup.common import (
    FORMAT,
    MANIFEST,
    MEDIA,
    PG_DUMP,
    SQLITE_COPY,
    SUMS,
    VERSION,
    BackupError,
    describe_storage,
    walk_storage,
)
from incidents.backup.databases import libpq_params, pg_tool
from incidents.backup.reading import check_backup, opened, read_manifest, restore_backup
from incidents.backup.writing import Result, write_backup

__all__ = [
    "FORMAT",
    "MANIFEST",
    "MEDIA",
    "PG_DUMP",
    "SQLITE_COPY",
    "SUMS",
    "VERSION",
    "BackupError",
    "Result",
    "check_backup",
    "describe_storage",
    "libpq_params",
    "opened",
    "pg_tool",
    "read_manifest",
    "restore_backup",
    "walk_storage",
    "write_backup",
]

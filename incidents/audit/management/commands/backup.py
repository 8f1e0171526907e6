"""``manage.py backup --out PATH``: the database and the media, with a manifest of hashes.

PATH is a new folder, or an archive when it ends in .tar, .tar.gz or .tgz.
The logic is in ``incidents.backup``; docs/deployment.md ("Backups and the
restore drill") says how to use it and how to restore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.backup import BackupError, write_backup


class Command(BaseCommand):
    help = (
        "Back up the database (one consistent snapshot) and the media storage, with a "
        "manifest of SHA-256 hashes, into a new folder or a .tar/.tar.gz archive."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", required=True, type=Path, help="A new folder, or a .tar / .tar.gz file."
        )
        parser.add_argument("--database", default="default", help="Database alias (default).")

    def handle(self, *args: Any, out: Path, database: str, **options: Any) -> None:
        try:
            result = write_backup(out, using=database, log=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        if result.problems:
            raise CommandError(
                f"The backup in {result.path} is incomplete:\n  " + "\n  ".join(result.problems),
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"Backup complete: {result.path}"))

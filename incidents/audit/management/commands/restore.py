"""``manage.py restore PATH``: load a backup into an empty database and empty storage.

PATH is a folder or an archive written by ``manage.py backup``. Every hash
of the manifest is checked before anything is written; a database or a
media storage that is not empty is refused. The logic is in
``incidents.backup``; docs/deployment.md ("Backups and the restore drill").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup into an EMPTY database (DATABASE_URL) and EMPTY media storage, "
        "after checking every SHA-256 of its manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The backup folder or archive.")
        parser.add_argument(
            "--check-only",
            action="store_true",
            help="Only check the backup against its manifest; restore nothing.",
        )
        parser.add_argument("--database", default="default", help="Database alias (default).")

    def handle(
        self, *args: Any, path: Path, check_only: bool, database: str, **options: Any
    ) -> None:
        try:
            restore_backup(path, using=database, check_only=check_only, log=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        if check_only:
            self.stdout.write(self.style.SUCCESS("The backup is whole."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                "Restore complete. Now run manage.py verify_audit and manage.py verify_evidence."
            )
        )

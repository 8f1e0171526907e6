"""Re-hash every stored evidence file and check it against every record of it.

For each item: the file in storage against the item's hash and size, its
custody chain (every link, and the hash it last recorded), and the audit
trail's last record of the item (``incidents.evidence.crosscheck``), so a
file swapped together with its hash column is named. Prints one ``FAIL``
line per problem, records ``verified`` (only when everything agrees) or
``verification_failed`` custody entries, updates each item's verification
and ``last_verified_at``, and exits with status 1 when anything failed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from incidents.evidence.crosscheck import verify_item
from incidents.evidence.models import EvidenceItem


class Command(BaseCommand):
    help = (
        "Re-hash every evidence file and check it against the item's hash, its custody chain "
        "and the audit trail; exit 1 on any failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", help="Only the items of this case reference.")
        parser.add_argument(
            "--item", type=int, action="append", help="Only this item (repeatable)."
        )

    def handle(
        self, *args: Any, case: str | None = None, item: list[int] | None = None, **options: Any
    ) -> None:
        items = EvidenceItem.objects.select_related("incident").order_by("id")
        if case:
            items = items.filter(incident__reference=case)
        if item:
            items = items.filter(pk__in=item)
        checked = failed = 0
        try:
            for evidence in items.iterator(chunk_size=200):
                checked += 1
                try:
                    problems = verify_item(
                        evidence, reason="Checked by manage.py verify_evidence."
                    ).problems
                except EvidenceItem.DoesNotExist:
                    checked -= 1  # deleted since the list was read
                    continue
                except DatabaseError as exc:
                    problems = [f"It cannot be checked: {exc}".strip()]
                if not problems:
                    if options["verbosity"] >= 2:
                        self.stdout.write(f"ok    #{evidence.pk} {evidence.incident.reference}")
                    continue
                failed += 1
                for problem in problems:
                    self.stdout.write(
                        f"FAIL  #{evidence.pk} {evidence.incident.reference} “{evidence.title}”: "
                        f"{problem}"
                    )
        except DatabaseError as exc:
            raise CommandError(f"The evidence items cannot be read: {exc}".strip()) from None
        summary = f"{checked} item(s) checked, {failed} failed."
        if failed:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))

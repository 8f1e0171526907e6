"""Re-hash every stored evidence file and check every custody chain.

Prints one line per item that fails (the first broken link of its chain, or
the hash found), records ``verified`` / ``verification_failed`` custody
entries, updates each item's verification and last_verified_at, and exits
with status 1 when anything failed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.evidence.models import EvidenceItem


class Command(BaseCommand):
    help = "Re-hash every evidence file and check every custody chain; exit 1 on any failure."

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
        for evidence in items.iterator(chunk_size=200):
            checked += 1
            if evidence.verify(reason="Checked by manage.py verify_evidence."):
                if options["verbosity"] >= 2:
                    self.stdout.write(f"ok    #{evidence.pk} {evidence.incident.reference}")
                continue
            failed += 1
            for problem in evidence.last_problems:
                self.stdout.write(
                    f"FAIL  #{evidence.pk} {evidence.incident.reference} “{evidence.title}”: "
                    f"{problem}"
                )
        summary = f"{checked} item(s) checked, {failed} failed."
        if failed:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))

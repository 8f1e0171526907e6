"""Recompute the audit trail's hash chain; name the first broken link and fail if there is one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incidents.audit.chain import verify
from incidents.audit.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Check that the audit trail is intact: every record's hash and its link to the one before."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        records = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
        checked, broken = verify(records)
        if broken is not None:
            raise CommandError(
                f"Audit trail broken at record #{broken.record_id}: {broken.reason}. "
                f"{checked} record(s) before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {checked} record(s) verified."))

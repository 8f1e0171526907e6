"""``manage.py audit_receipt [--out FILE]``: a signed receipt of the audit chain's head.

Investigators keep receipts outside the system (e-mail, paper); ``manage.py
verify_audit --receipt FILE`` later proves the chain still holds that head
unchanged. docs/security.md, "Receipts"; the key: docs/operations.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from incidents.audit.receipts import ReceiptError, make_receipt, receipt_text


class Command(BaseCommand):
    help = (
        "Print (or write to --out) the audit chain's head, its sequence, hash and time, signed "
        "with the deployment's Ed25519 key, as canonical JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", type=Path, help="Write the receipt to this new file instead of printing it."
        )
        parser.add_argument("--database", default="default", help="Database alias (default).")

    def handle(self, *args: Any, out: Path | None, database: str, **options: Any) -> None:
        try:
            receipt = make_receipt(using=database)
        except ReceiptError as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError as exc:
            raise CommandError(f"The audit trail cannot be read: {exc}".strip()) from None
        text = receipt_text(receipt)
        if out is None:
            self.stdout.write(text, ending="")
            return
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise CommandError(f"Cannot write {out}: {exc.strerror or exc}.") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        head = receipt["head"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Receipt written to {out}: record #{head['sequence']} ({head['hash'][:16]}…), "
                f"signed by {receipt['key']['fingerprint']}."
            )
        )

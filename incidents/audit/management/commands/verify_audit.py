"""Check the audit trail: its hash chain, the audited tables against it, and receipts.

* The chain: every record's hash, and its link to the record before it
  (``incidents.audit.chain``).
* The rows (unless ``--chain-only``): every audited table's rows against
  their last records, and each row's records against each other, so a
  change made while a table's audit trigger was off is named
  (``incidents.audit.rows``).
* ``--receipt FILE`` (repeatable): a signed receipt of an earlier head; its
  signature must verify with a trusted key, and its record must still be in
  the chain with the same hash, the chain from it to today's head intact, so
  records cut off the end are caught (``incidents.audit.receipts``).

Prints one ``FAIL`` line per problem and exits 1 naming them; a clean run
prints ``Audit trail intact: N record(s) verified.`` (docs/security.md,
"Verification").
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from incidents.audit.chain import BrokenLink, verify
from incidents.audit.models import AuditEvent
from incidents.audit.receipts import (
    Receipt,
    ReceiptError,
    check_against_trail,
    check_signature,
    read_receipt,
    trusted_keys,
)
from incidents.audit.rows import all_row_problems

SHOWN_PER_KIND = 20  # FAIL lines per table and kind of problem; the rest are counted


class Command(BaseCommand):
    help = (
        "Check that the audit trail is intact: every record's hash and its link to the one "
        "before, every audited row against its last record, and (--receipt) that an earlier "
        "signed head is still in the chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--receipt",
            action="append",
            type=Path,
            default=[],
            metavar="FILE",
            help="A receipt from manage.py audit_receipt: prove the chain still holds that "
            "head unchanged (repeatable).",
        )
        parser.add_argument(
            "--trusted-key",
            action="append",
            default=[],
            metavar="KEY",
            help="Also trust this public key (base64 or PEM, or a file holding keys) for "
            "receipts, besides the current key and INQUEST_AUDIT_TRUSTED_KEYS.",
        )
        parser.add_argument(
            "--chain-only",
            action="store_true",
            help="Check the hash chain (and receipts) only, not the audited tables' rows.",
        )
        parser.add_argument("--database", default="default", help="Database alias (default).")

    def handle(
        self,
        *args: Any,
        receipt: list[Path],
        trusted_key: list[str],
        chain_only: bool,
        database: str,
        **options: Any,
    ) -> None:
        try:
            failures = self._check(receipt, trusted_key, chain_only, database, options)
        except DatabaseError as exc:
            raise CommandError(f"The audit trail cannot be read: {exc}".strip()) from None
        if failures:
            raise CommandError("\n".join(failures), returncode=1)

    def _check(
        self,
        receipt_files: list[Path],
        extra_keys: list[str],
        chain_only: bool,
        using: str,
        options: dict[str, Any],
    ) -> list[str]:
        failures: list[str] = []
        receipts = self._read_receipts(receipt_files, extra_keys, failures)

        records = AuditEvent.objects.using(using).order_by("id").iterator(chunk_size=2000)
        checked, broken = verify(records)
        if broken is not None:
            failures.append(
                f"Audit trail broken at record #{broken.record_id}: {broken.reason}. "
                f"{checked} record(s) before it are intact."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Audit trail intact: {checked} record(s) verified.")
            )

        if not chain_only:
            count = self._report_rows(all_row_problems(using), options["verbosity"])
            if count:
                failures.append(
                    f"{count} audited row(s) do not match the audit trail: changed, created "
                    "or deleted without a record (listed above)."
                )
            else:
                self.stdout.write(self.style.SUCCESS("Every audited row matches its last record."))

        for path, receipt, signer in receipts:
            problems = check_against_trail(receipt, using=using)
            problems += _chain_after(receipt, broken)
            if problems:
                for problem in problems:
                    self.stdout.write(f"FAIL  receipt {path}: {problem}")
                failures.append(f"Receipt {path}: " + " ".join(problems))
                continue
            after = AuditEvent.objects.using(using).filter(id__gt=receipt.sequence).count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Receipt {path}: record #{receipt.sequence} ({receipt.hash[:16]}…, "
                    f"{receipt.at}) is still in the chain, unchanged, and the {after} "
                    f"record(s) after it follow from it. Signed by {signer} on "
                    f"{receipt.issued_at}."
                )
            )
        return failures

    def _read_receipts(
        self, paths: list[Path], extra_keys: list[str], failures: list[str]
    ) -> list[tuple[Path, Receipt, str]]:
        if not paths:
            return []
        try:
            trusted = trusted_keys(extra_keys)
        except ReceiptError as exc:
            raise CommandError(str(exc)) from None
        read: list[tuple[Path, Receipt, str]] = []
        for path in paths:
            try:
                receipt = read_receipt(path.read_bytes())
                signer = check_signature(receipt, trusted)
            except OSError as exc:
                problem = f"cannot be read ({exc.strerror or exc})."
            except ReceiptError as exc:
                problem = str(exc)
            else:
                read.append((path, receipt, signer))
                continue
            self.stdout.write(f"FAIL  receipt {path}: {problem}")
            failures.append(f"Receipt {path}: {problem}")
        return read

    def _report_rows(self, problems: Any, verbosity: int) -> int:
        shown: Counter[tuple[str, str]] = Counter()
        count = 0
        for problem in problems:
            count += 1
            key = (problem.table, problem.kind)
            shown[key] += 1
            if shown[key] <= SHOWN_PER_KIND or verbosity >= 2:
                self.stdout.write(f"FAIL  {problem}")
        for (table, kind), total in sorted(shown.items()):
            if total > SHOWN_PER_KIND and verbosity < 2:
                self.stdout.write(
                    f"FAIL  {table}: {total - SHOWN_PER_KIND} more row(s) {kind.split(':')[0]} "
                    "(-v 2 lists them all)"
                )
        return count


def _chain_after(receipt: Receipt, broken: BrokenLink | None) -> list[str]:
    if broken is None:
        return []
    if broken.record_id > receipt.sequence:
        return [
            f"the chain from record #{receipt.sequence} to the head does not hold: it breaks "
            f"at record #{broken.record_id}."
        ]
    return [
        f"the chain breaks at record #{broken.record_id}, at or before the receipt's "
        f"record #{receipt.sequence}."
    ]

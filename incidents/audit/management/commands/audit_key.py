"""``manage.py audit_key``: the Ed25519 key that signs audit receipts.

* ``manage.py audit_key --generate FILE``: a new private key in FILE (PEM,
  mode 0600, never over an existing file); prints its public key and
  fingerprint. Point ``INQUEST_AUDIT_SIGNING_KEY_FILE`` at it.
* ``manage.py audit_key``: the configured key's public key and fingerprint,
  and the earlier keys still trusted (``INQUEST_AUDIT_TRUSTED_KEYS``).

Rotation: docs/security.md, "Receipts".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.audit.receipts import (
    NoSigningKey,
    ReceiptError,
    fingerprint,
    public_text,
    signing_key,
    trusted_keys,
    write_new_key,
)


class Command(BaseCommand):
    help = (
        "Show the audit receipts' signing key (its public key and fingerprint), or make a new "
        "one with --generate FILE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--generate",
            type=Path,
            metavar="FILE",
            help="Write a new Ed25519 private key to FILE (PEM, readable by its owner only).",
        )

    def handle(self, *args: Any, generate: Path | None, **options: Any) -> None:
        if generate is not None:
            try:
                key = write_new_key(generate)
            except FileExistsError:
                raise CommandError(f"{generate} exists: a key is never overwritten.") from None
            except OSError as exc:
                raise CommandError(f"Cannot write {generate}: {exc.strerror or exc}.") from None
            public = key.public_key()
            self.stdout.write(f"New audit signing key written to {generate}.")
            self.stdout.write(f"Public key:  {public_text(public)}")
            self.stdout.write(f"Fingerprint: {fingerprint(public)}")
            self.stdout.write(
                "Set INQUEST_AUDIT_SIGNING_KEY_FILE to it; when it replaces a key, add the old "
                'public key to INQUEST_AUDIT_TRUSTED_KEYS (docs/security.md, "Receipts").'
            )
            return
        try:
            public = signing_key().public_key()
        except NoSigningKey as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Public key:  {public_text(public)}")
        self.stdout.write(f"Fingerprint: {fingerprint(public)}")
        try:
            trusted = trusted_keys()
        except ReceiptError as exc:
            raise CommandError(str(exc)) from None
        earlier = {fp: key for fp, key in trusted.items() if fp != fingerprint(public)}
        if earlier:
            self.stdout.write("Earlier keys still trusted for verifying:")
            for fp, known in earlier.items():
                self.stdout.write(f"  {fp}  {public_text(known)}")

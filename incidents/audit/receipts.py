"""Signed receipts of the audit chain's head, kept by investigators outside the system.

A receipt says "on <issued_at>, the audit trail of <deployment> ended at
record #<sequence>, whose hash is <hash>, written at <at>", signed with the
deployment's Ed25519 key. Whoever holds it can later prove that the chain
still holds that record unchanged and that every record since follows from
it (``manage.py verify_audit --receipt FILE``): cutting records off the end
of the trail, which the chain alone cannot show, is caught, and so is a
rewritten chain.

The key (docs/operations.md, "Audit receipts"): ``AUDIT_SIGNING_KEY``, from
``INQUEST_AUDIT_SIGNING_KEY`` or the file named by
``INQUEST_AUDIT_SIGNING_KEY_FILE``, a PEM private key or the base64 of its 32
bytes. With DEBUG on and no key, a throwaway key is made once in the var
folder (``AUDIT_THROWAWAY_KEY_FILE``); production refuses to sign without a
configured key. Verifying trusts the current key's public key and the earlier
ones listed in ``AUDIT_TRUSTED_KEYS`` (rotation, docs/security.md), never the
key a receipt carries: the receipt names its key by fingerprint.

A receipt is canonical JSON (sorted keys, no spaces, UTF-8); its
``signature`` is the base64 Ed25519 signature of the canonical JSON of every
other field.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

RECEIPT_TYPE = "inquest-audit-receipt"
RECEIPT_VERSION = 1
ALGORITHM = "Ed25519"


class ReceiptError(Exception):
    """A receipt cannot be made or read; the message says why, for a person."""


class NoSigningKey(ReceiptError):
    pass


# -- keys ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    text = re.sub(r"\s+", "", text)
    try:
        text = text.replace("-", "+").replace("_", "/")  # the URL-safe alphabet too
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:<base64 of the SHA-256 of the 32 raw bytes>``, as OpenSSH writes it."""
    digest = hashlib.sha256(public_raw(key)).digest()
    return "SHA256:" + _b64(digest).rstrip("=")


def public_text(key: Ed25519PublicKey) -> str:
    """The public key as the base64 of its 32 bytes: what the trusted list holds."""
    return _b64(public_raw(key))


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS #8) Ed25519 private key, or the base64 of its 32 raw bytes."""
    text = text.strip()
    if not text:
        raise ValueError("it is empty")
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"it is not a readable unencrypted PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"it is a {type(key).__name__}, not an Ed25519 key")
        return key
    raw = _unb64(text)
    if len(raw) != 32:
        raise ValueError(f"its base64 holds {len(raw)} bytes, not the 32 of an Ed25519 key")
    return Ed25519PrivateKey.from_private_bytes(raw)


def parse_public_keys(text: str) -> list[Ed25519PublicKey]:
    """Public keys: PEM blocks, or base64 of 32 bytes, one a line or separated by commas;
    ``#`` starts a comment."""
    keys: list[Ed25519PublicKey] = []
    for block in re.findall(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", text, re.S):
        try:
            key = serialization.load_pem_public_key(block.encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"a PEM public key cannot be read ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"a PEM public key is a {type(key).__name__}, not Ed25519")
        keys.append(key)
    rest = re.sub(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", "", text, flags=re.S)
    for line in rest.splitlines():
        for word in line.split("#", 1)[0].replace(",", " ").split():
            raw = _unb64(word)
            if len(raw) != 32:
                raise ValueError(f"{word[:12]}… is not the base64 of a 32-byte Ed25519 public key")
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
    return keys


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_new_key(path: Path) -> Ed25519PrivateKey:
    """A new key in PATH (PEM, readable by its owner only); never over an existing file."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem(key))
    return key


def _throwaway_key(path: Path) -> Ed25519PrivateKey:
    """DEBUG's key: made once, then read back (two processes starting at once agree)."""
    try:
        return write_new_key(path)
    except FileExistsError:
        return parse_private_key(path.read_text())


def signing_key(*, create: bool = True) -> Ed25519PrivateKey:
    """The deployment's signing key; NoSigningKey (with what to do) when there is none.

    CREATE: make DEBUG's throwaway key if it does not exist yet (verifying
    does not make one).
    """
    configured = getattr(settings, "AUDIT_SIGNING_KEY", "") or ""
    if configured:
        try:
            return parse_private_key(configured)
        except ValueError as exc:
            raise NoSigningKey(
                f"The audit signing key (INQUEST_AUDIT_SIGNING_KEY or its _FILE) cannot be "
                f"used: {exc}."
            ) from None
    throwaway = getattr(settings, "AUDIT_THROWAWAY_KEY_FILE", None)
    if throwaway:
        path = Path(throwaway)
        try:
            if create or path.exists():
                return _throwaway_key(path)
        except (OSError, ValueError) as exc:
            raise NoSigningKey(f"The throwaway key {path} cannot be used: {exc}.") from None
    raise NoSigningKey(
        "No audit signing key is configured, so no receipt can be signed. Make one with "
        "`manage.py audit_key --generate FILE` and set INQUEST_AUDIT_SIGNING_KEY_FILE=FILE "
        '(docs/operations.md, "Audit receipts").'
    )


def trusted_keys(extra: Iterable[str] = ()) -> dict[str, Ed25519PublicKey]:
    """Keys whose receipts are accepted, by fingerprint: the current signing key's
    (when there is one), the earlier ones of ``AUDIT_TRUSTED_KEYS``, and EXTRA
    (texts of public keys, or paths of files holding them)."""
    keys: list[Ed25519PublicKey] = []
    with contextlib.suppress(NoSigningKey):
        keys.append(signing_key(create=False).public_key())
    listed = getattr(settings, "AUDIT_TRUSTED_KEYS", "") or ""
    try:
        keys += parse_public_keys(listed)
    except ValueError as exc:
        raise ReceiptError(f"INQUEST_AUDIT_TRUSTED_KEYS: {exc}.") from None
    for item in extra:
        text = item
        if not item.lstrip().startswith("-----") and Path(item).is_file():
            try:
                text = Path(item).read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise ReceiptError(f"The key file {item} cannot be read: {exc}.") from None
        try:
            keys += parse_public_keys(text)
        except ValueError as exc:
            raise ReceiptError(f"The trusted key {item[:40]!r}: {exc}.") from None
    return {fingerprint(key): key for key in keys}


# -- receipts --------------------------------------------------------------------------


def canonical(data: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes that are signed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def utc_text(when: dt.datetime) -> str:
    """UTC to the microsecond with ``Z``: ``2026-05-13T08:02:11.123456Z``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _deployment() -> str:
    from incidents.evidence.annotations import deployment_host

    return deployment_host()


def make_receipt(*, using: str = "default", now: dt.datetime | None = None) -> dict[str, Any]:
    """The signed receipt of the chain's head as it is now."""
    from incidents.audit.models import AuditEvent

    key = signing_key()
    head = AuditEvent.objects.using(using).order_by("-id").only("id", "hash", "at").first()
    if head is None:
        raise ReceiptError("The audit trail is empty: there is no head to sign yet.")
    public = key.public_key()
    body = {
        "type": RECEIPT_TYPE,
        "version": RECEIPT_VERSION,
        "deployment": _deployment(),
        "head": {"sequence": head.id, "hash": head.hash, "at": utc_text(head.at)},
        "issued_at": utc_text(now or dt.datetime.now(dt.UTC)),
        "key": {
            "algorithm": ALGORITHM,
            "fingerprint": fingerprint(public),
            "public_key": public_text(public),
        },
    }
    return {**body, "signature": _b64(key.sign(canonical(body)))}


def receipt_text(receipt: dict[str, Any]) -> str:
    """The receipt as its file holds it: canonical JSON and a newline."""
    return canonical(receipt).decode() + "\n"


@dataclass(frozen=True)
class Receipt:
    sequence: int
    hash: str
    at: str
    issued_at: str
    deployment: str
    fingerprint: str
    signature: bytes
    body: dict[str, Any]


_HEX64 = re.compile(r"[0-9a-f]{64}")


def read_receipt(text: str | bytes) -> Receipt:
    """Parse a receipt; ReceiptError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReceiptError(f"It is not JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("type") != RECEIPT_TYPE:
        raise ReceiptError(f"It is not an audit receipt (its type is not {RECEIPT_TYPE!r}).")
    if data.get("version") != RECEIPT_VERSION:
        raise ReceiptError(f"Receipt version {data.get('version')!r} is not one this site reads.")
    head, key = data.get("head"), data.get("key")
    malformed = ReceiptError(
        "It is not a well-formed receipt (head, key or signature missing or malformed)."
    )
    if not isinstance(head, dict) or not isinstance(key, dict):
        raise malformed
    sequence, digest, at = head.get("sequence"), head.get("hash"), head.get("at")
    well_formed = (
        type(sequence) is int
        and sequence > 0
        and isinstance(digest, str)
        and _HEX64.fullmatch(digest) is not None
        and isinstance(at, str)
        and isinstance(data.get("issued_at"), str)
        and key.get("algorithm") == ALGORITHM
        and isinstance(key.get("fingerprint"), str)
        and isinstance(data.get("signature"), str)
    )
    if not well_formed:
        raise malformed
    try:
        signature = _unb64(data["signature"])
    except ValueError:
        raise malformed from None
    body = {k: v for k, v in data.items() if k != "signature"}
    return Receipt(
        sequence=cast(int, sequence),  # checked above
        hash=str(digest),
        at=str(at),
        issued_at=data["issued_at"],
        deployment=str(data.get("deployment", "")),
        fingerprint=key["fingerprint"],
        signature=signature,
        body=body,
    )


def check_signature(receipt: Receipt, trusted: dict[str, Ed25519PublicKey]) -> str:
    """Verify RECEIPT's signature with the trusted key it names; return that
    key's fingerprint. ReceiptError when the key is unknown or the signature
    does not verify (the receipt was altered, or forged)."""
    key = trusted.get(receipt.fingerprint)
    if key is None:
        raise ReceiptError(
            f"It is signed by a key this deployment does not trust ({receipt.fingerprint}). "
            "If it is an earlier key of this deployment, add its public key to "
            "INQUEST_AUDIT_TRUSTED_KEYS (or pass it with --trusted-key)."
        )
    try:
        key.verify(receipt.signature, canonical(receipt.body))
    except InvalidSignature:
        raise ReceiptError(
            f"Its signature does not verify with the key {receipt.fingerprint}: the receipt "
            "was altered or forged."
        ) from None
    return receipt.fingerprint


def check_against_trail(receipt: Receipt, *, using: str = "default") -> list[str]:
    """Problems with the trail as the receipt saw it: the record at its sequence
    must still exist with its hash and time. (That the chain from that record
    to the head holds is ``incidents.audit.chain.verify``'s part.)"""
    from incidents.audit.chain import canonical_time
    from incidents.audit.models import AuditEvent

    record = (
        AuditEvent.objects.using(using)
        .filter(id=receipt.sequence)
        .values_list("hash", "at")
        .first()
    )
    if record is None:
        last = AuditEvent.objects.using(using).order_by("-id").values_list("id", flat=True).first()
        now = f"the trail now ends at record #{last}" if last else "the trail is now empty"
        return [
            f"record #{receipt.sequence}, the head this receipt was given for, is gone "
            f"({now}): records were cut off the end of the trail."
        ]
    digest, at = record
    problems = []
    if digest != receipt.hash:
        problems.append(
            f"record #{receipt.sequence} now has the hash {digest}, not {receipt.hash}: "
            "the trail was rewritten from that record on (or before it)."
        )
    if canonical_time(at) != canonical_time(receipt.at.removesuffix("Z")):
        problems.append(
            f"record #{receipt.sequence} is now dated {utc_text(at)}, not {receipt.at}."
        )
    return problems

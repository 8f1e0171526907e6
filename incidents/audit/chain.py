"""The hash chain of the audit trail, computed the same way in Python and in the database.

Each record's hash is SHA-256 over the previous record's hash followed by the
record's own fields, each written as ``<length>:<text>`` (``-`` for NULL) and
separated by ``|``, so no choice of field contents can shift a boundary. On
PostgreSQL the trigger builds the same text in plpgsql; on SQLite the trigger
calls :func:`record_hash` (registered on each connection). ``verify_audit``
recomputes every link with :func:`record_hash`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime

GENESIS = "0" * 64

# The order of the fields in the hashed text (after the previous hash).
HASHED_FIELDS = (
    "at",
    "actor_user_id",
    "actor",
    "request_id",
    "client_addr",
    "source",
    "table_name",
    "object_pk",
    "incident_id",
    "action",
    "before",
    "after",
)


def canonical_time(value: Any) -> str | None:
    """UTC, microseconds, ``YYYY-MM-DDTHH:MM:SS.ffffff``: how both databases spell ``at``."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            return value
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _enc(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value)
    return f"{len(text)}:{text}"


def record_hash(prev_hash: str, *fields: Any) -> str:
    """SHA-256 of PREV_HASH and FIELDS (in HASHED_FIELDS order; ``at`` first)."""
    values = list(fields)
    values[0] = canonical_time(values[0])
    text = "|".join([_enc(prev_hash), *(_enc(v) for v in values)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    record_id: int
    reason: str


def verify(records: Iterable[Any]) -> tuple[int, BrokenLink | None]:
    """Walk RECORDS in id order; return how many were checked and the first broken link."""
    previous = GENESIS
    checked = 0
    for record in records:
        if record.prev_hash != previous:
            return checked, BrokenLink(
                record.id,
                "its previous-hash does not match the record before it "
                "(a record was removed, inserted or reordered)",
            )
        expected = record_hash(record.prev_hash, *(getattr(record, f) for f in HASHED_FIELDS))
        if record.hash != expected:
            return checked, BrokenLink(
                record.id, "its contents do not match its hash (the record was altered)"
            )
        previous = record.hash
        checked += 1
    return checked, None

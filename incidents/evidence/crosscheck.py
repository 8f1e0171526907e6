"""An evidence item's file checked against every record of it, not only its own columns.

``EvidenceItem.verify`` compares the stored file with the item's
``file_sha256`` column. Someone who can overwrite the file and rewrite that
column (with the table's audit trigger dropped) passes that check. The
other records still hold the original hash, and ``manage.py verify_evidence``
compares them all (docs/evidence.md, "Verification"):

1. the file in storage, hashed and measured now;
2. the item's columns (``file``, ``file_sha256``, ``file_size``);
3. its custody log: the last hash it recorded (leaving out
   ``verification_failed`` entries, which record the hash *found*), and that
   every entry recorded the same hash: a stored file never changes;
4. the audit trail: the last after-image of the item's row must hold the
   same file, hash and size as the row, and no record of the item may show
   them changing.

Only when everything agrees is a ``verified`` entry appended; otherwise a
``verification_failed`` entry records each problem and the hash found, and
the item is marked failed, so the forged hash is never certified.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from incidents.evidence import files
from incidents.evidence.models import CustodyEntry, EvidenceItem

FILE_COLUMNS = ("file", "file_sha256", "file_size")


@dataclass
class Stored:
    """What storage holds now: the hash and size, or why there are none."""

    sha256: str = ""
    size: int | None = None
    trouble: str = ""  # "missing", or "cannot be read (…)"


def hash_now(item: EvidenceItem) -> Stored:
    if not item.file:
        return Stored()
    try:
        digest, size = files.hash_stored(item.file.storage, str(item.file.name))
    except FileNotFoundError:
        return Stored(trouble="missing")
    except Exception as exc:  # noqa: BLE001 (OSError, or a remote storage's own errors)
        return Stored(trouble=f"cannot be read ({exc.__class__.__name__})")
    return Stored(digest, size)


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    stored: Stored = field(default_factory=Stored)


def _short(digest: Any) -> str:
    return str(digest) if digest else "none"


def storage_problems(row: EvidenceItem, stored: Stored) -> list[str]:
    """The file in storage against the item's columns."""
    if not row.file:
        return []
    if stored.trouble == "missing":
        return ["The stored file is missing."]
    if stored.trouble:
        return [f"The stored file {stored.trouble}."]
    problems = []
    if stored.sha256 != row.file_sha256:
        problems.append(f"The stored file's hash is {stored.sha256}, not {row.file_sha256}.")
    if stored.size != row.file_size:
        problems.append(f"The stored file is {stored.size} bytes, not {row.file_size}.")
    return problems


def custody_problems(row: EvidenceItem) -> list[str]:
    """The item's hash against the hashes its custody log recorded."""
    recorded = list(
        CustodyEntry.objects.filter(item_id=row.pk)
        .exclude(action=CustodyEntry.Action.VERIFICATION_FAILED)
        .exclude(sha256="")
        .order_by("id")
        .values_list("id", "action", "sha256")
    )
    if not recorded:
        if row.file:
            return ["Its custody log records no hash of its file."]
        return []
    problems = []
    first = recorded[0]
    changed = next((entry for entry in recorded if entry[2] != first[2]), None)
    if changed is not None:
        problems.append(
            f"Its custody log recorded the hash {first[2]} (entry #{first[0]}, {first[1]}) "
            f"and later {changed[2]} (entry #{changed[0]}, {changed[1]}): a stored file never "
            "changes."
        )
    last = recorded[-1]
    if last[2] != row.file_sha256:
        problems.append(
            f"Its hash {_short(row.file_sha256)} is not the one its custody log last "
            f"recorded, {last[2]} (entry #{last[0]}, {last[1]})."
        )
    return problems


class _Unreadable(Exception):
    def __init__(self, number: int) -> None:
        self.number = number


Image = dict[str, Any] | None  # the file columns of one row image; None: no row


def file_images(row: EvidenceItem) -> list[tuple[int, str, Image, Image]]:
    """(record, action, before, after) of each record of ROW, the images cut down
    to the file columns.

    The database picks the three columns out of each image (the images hold the
    whole row, text bodies included, and an item gets a record at each download
    and export); an image that is not JSON (tampered) is read in Python instead,
    and ``_Unreadable`` names its record.
    """
    from django.db import DatabaseError, connection

    from incidents.audit.db import AUDIT_TABLE

    if connection.vendor == "postgresql":
        pick = [f"{side}::jsonb ->> '{c}'" for side in ("before", "after") for c in FILE_COLUMNS]
    else:
        pick = [
            f"json_extract({side}, '$.{c}')" for side in ("before", "after") for c in FILE_COLUMNS
        ]
    sql = (
        f"SELECT id, action, before IS NULL, after IS NULL, {', '.join(pick)} "
        f'FROM "{AUDIT_TABLE}" WHERE table_name = %s AND object_pk = %s ORDER BY id'
    )
    params = [row._meta.db_table, str(row.pk)]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except DatabaseError:
        return _file_images_in_python(row)
    n = len(FILE_COLUMNS)
    return [
        (
            number,
            action,
            None if no_before else _columns(values[:n]),
            None if no_after else _columns(values[n:]),
        )
        for number, action, no_before, no_after, *values in rows
    ]


def _columns(values: list[Any]) -> dict[str, Any]:
    """The file columns as the model holds them (PostgreSQL's ``->>`` gives text)."""
    image = dict(zip(FILE_COLUMNS, values, strict=True))
    if isinstance(image["file_size"], str):
        with contextlib.suppress(ValueError):
            image["file_size"] = int(image["file_size"])
    return image


def _file_images_in_python(row: EvidenceItem) -> list[tuple[int, str, Image, Image]]:
    from incidents.audit.models import AuditEvent

    found = []
    records = AuditEvent.objects.for_object(row).order_by("id")
    for number, action, before, after in records.values_list("id", "action", "before", "after"):
        images: list[Image] = []
        for text in (before, after):
            image = _image(text)
            if image is None and text is not None:
                raise _Unreadable(number)
            images.append(None if image is None else {c: image.get(c) for c in FILE_COLUMNS})
        found.append((number, action, images[0], images[1]))
    return found


def audit_problems(row: EvidenceItem) -> list[str]:
    """The item's file columns against the audit trail's records of its row."""
    from incidents.audit.models import AuditEvent

    try:
        records = file_images(row)
    except _Unreadable as exc:
        return [f"The audit trail's record #{exc.number} of this item cannot be read."]
    if not records:
        return [
            "The audit trail holds no record of this item: it was written while the audit "
            "trigger was off."
        ]
    problems = []
    if records[0][1] != AuditEvent.Action.INSERT:
        problems.append(
            f"The audit trail holds no record of this item's creation (its first record, "
            f"#{records[0][0]}, is an {records[0][1]}): it was created while the audit trigger "
            "was off."
        )
    seen: dict[str, tuple[int, Any]] = {}
    for number, _action, before, after in records:
        for image in (before, after):
            for column, value in (image or {}).items():
                if column in seen and seen[column][1] != value:
                    problems.append(
                        f"The audit trail shows its {column} changing from "
                        f"{_short(seen[column][1])} (record #{seen[column][0]}) to "
                        f"{_short(value)} (record #{number}): a stored file never changes."
                    )
                    seen[column] = (number, value)
                seen.setdefault(column, (number, value))
    number, _action, _before, last = records[-1]
    if last is None:
        return [
            *problems,
            f"The audit trail's last record of this item, #{number}, is its deletion.",
        ]
    current: dict[str, Any] = {
        "file": str(row.file.name or ""),
        "file_sha256": row.file_sha256,
        "file_size": row.file_size,
    }
    for column in FILE_COLUMNS:
        if last[column] != current[column]:
            problems.append(
                f"Its {column} is {_short(current[column])}, but the audit trail's last record "
                f"of it (#{number}) says {_short(last[column])}: the row was changed without a "
                "record."
            )
    return problems


def _image(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def verify_item(
    item: EvidenceItem, *, by: Any = None, reason: str = "", downloading: bool = False
) -> Findings:
    """Check ITEM against storage, its custody chain and the audit trail; record the result.

    Appends ``verified`` only when everything agrees (unless DOWNLOADING: the
    caller then records ``downloaded``), else ``verification_failed`` with every
    problem (and the hash found in storage), and sets the item's verification
    and ``last_verified_at`` as ``EvidenceItem.verify`` does.
    """
    stored = hash_now(item)
    broken = CustodyEntry.objects.first_broken_link(item)
    now = timezone.now()
    with transaction.atomic():
        row = EvidenceItem.objects.select_for_update().get(pk=item.pk)
        problems = storage_problems(row, stored)
        if broken:
            problems.append(f"Custody chain broken: {broken}")
        problems += custody_problems(row)
        problems += audit_problems(row)
        if problems:
            CustodyEntry.record(
                row,
                action=CustodyEntry.Action.VERIFICATION_FAILED,
                by=by,
                reason=" ".join([reason, *problems]).strip(),
                sha256=stored.sha256,
            )
            verification = EvidenceItem.Verification.FAILED
        elif not downloading:
            CustodyEntry.record(
                row,
                action=CustodyEntry.Action.VERIFIED,
                by=by,
                reason=reason or "File hash, custody chain and audit trail checked.",
            )
        if not problems:
            verification = EvidenceItem.Verification.VERIFIED
        EvidenceItem.objects.filter(pk=row.pk).update(
            verification=verification, last_verified_at=now
        )
    item.verification, item.last_verified_at = verification, now
    item.last_problems = problems
    return Findings(problems, stored)

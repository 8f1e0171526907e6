"""The chain of custody of an evidence item: append-only, hash-chained entries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from incidents.cases.models import choices_constraint
from incidents.evidence.models.items import EvidenceItem


class CustodyEntryAction(models.TextChoices):
    COLLECTED = "collected", "Collected"
    UPLOADED = "uploaded", "Uploaded"
    DOWNLOADED = "downloaded", "Downloaded"
    EXPORTED = "exported", "Exported"
    VERIFIED = "verified", "Verified"
    VERIFICATION_FAILED = "verification_failed", "Verification failed"
    TRANSFERRED = "transferred", "Transferred"
    EDITED = "edited", "Details edited"
    REGRADED = "regraded", "Regraded"
    WITHDRAWN = "withdrawn", "Withdrawn"
    RESTORED = "restored", "Restored"


def canonical_json(data: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same entry always gives the same bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def utc_iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


class CustodyEntryQuerySet(models.QuerySet["CustodyEntry"]):
    def first_broken_link(self, item: EvidenceItem) -> str | None:
        """Walk ITEM's chain in order: a description of the first bad entry, or None."""
        previous = ""
        last = None
        for entry in self.filter(item_id=item.pk).order_by("id"):
            if entry.previous_hash != previous:
                return (
                    f"entry #{entry.pk} ({entry.action}, {utc_iso(entry.at)}) does not follow "
                    f"the entry before it: an entry before it was changed or deleted."
                )
            if entry.entry_hash != entry.compute_hash():
                return (
                    f"entry #{entry.pk} ({entry.action}, {utc_iso(entry.at)}) was altered: "
                    f"its content no longer matches its hash."
                )
            previous = entry.entry_hash
            last = entry
        head = (
            EvidenceItem.objects.filter(pk=item.pk).values_list("custody_head", flat=True).first()
        )
        if head and head != previous:
            after = f" after entry #{last.pk}" if last else ""
            return f"the chain ends early{after}: its last entries were deleted."
        return None


class CustodyEntry(models.Model):
    """One handling of an evidence item. Append-only and hash-chained.

    ``entry_hash`` = SHA-256 over the canonical JSON of the entry's fields
    together with ``previous_hash`` (the hash of the entry before it, "" for
    the first). On PostgreSQL a trigger refuses UPDATE and DELETE on the table.
    """

    Action = CustodyEntryAction
    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="custody")
    action = models.CharField(max_length=24, choices=Action)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, editable=False)
    reason = models.TextField(blank=True, max_length=5000)
    place = models.CharField(max_length=200, blank=True)
    recipient = models.CharField(max_length=200, blank=True, help_text="For transfers: to whom.")
    sha256 = models.CharField(
        max_length=64, blank=True, help_text="The file's hash at that moment."
    )
    previous_hash = models.CharField(max_length=64, blank=True, editable=False)
    entry_hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = CustodyEntryQuerySet.as_manager()

    class Meta:
        # By the column: ordering by the relation would join its table to sort by its order.
        ordering = ["item_id", "id"]
        verbose_name_plural = "custody entries"
        constraints = [choices_constraint("action", CustodyEntryAction, "custodyentry")]
        indexes = [models.Index(fields=["item", "at", "id"], name="custody_item_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "item": self.item_id,
            "action": self.action,
            "actor": self.actor_id,
            "at": utc_iso(self.at),
            "reason": self.reason,
            "place": self.place,
            "recipient": self.recipient,
            "sha256": self.sha256,
            "previous_hash": self.previous_hash,
        }

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.hashed_fields())).hexdigest()

    @classmethod
    def record(
        cls,
        item: EvidenceItem,
        *,
        action: str,
        by: Any = None,
        reason: str = "",
        at: dt.datetime | None = None,
        **fields: Any,
    ) -> CustodyEntry:
        """Append an entry to ITEM's chain, under a lock on the item row."""
        with transaction.atomic():
            head = (
                EvidenceItem.objects.select_for_update()
                .filter(pk=item.pk)
                .values_list("custody_head", flat=True)
                .get()
            )
            fields.setdefault("sha256", item.file_sha256)
            entry = cls(
                item=item,
                action=action,
                actor=by if getattr(by, "pk", None) else None,
                reason=(reason or "")[:5000],
                at=at or timezone.now(),
                previous_hash=head,
                **fields,
            )
            entry.entry_hash = entry.compute_hash()
            entry.save(force_insert=True)
            EvidenceItem.objects.filter(pk=item.pk).update(custody_head=entry.entry_hash)
            item.custody_head = entry.entry_hash
            return entry

    @classmethod
    def record_many(
        cls, items: list[EvidenceItem], *, action: str, by: Any = None, reason: str = ""
    ) -> list[CustodyEntry]:
        """The same entry appended to each of ITEMS' chains, in three queries in all.

        Locks the items, inserts every entry in one statement and moves every
        chain head in one UPDATE (used by the case export).
        """
        if not items:
            return []
        with transaction.atomic():
            heads = dict(
                EvidenceItem.objects.select_for_update()
                .filter(pk__in=[item.pk for item in items])
                .order_by("pk")
                .values_list("pk", "custody_head")
            )
            now = timezone.now()
            entries = []
            for item in items:
                entry = cls(
                    item=item,
                    action=action,
                    actor=by if getattr(by, "pk", None) else None,
                    reason=(reason or "")[:5000],
                    at=now,
                    previous_hash=heads[item.pk],
                    sha256=item.file_sha256,
                )
                entry.entry_hash = entry.compute_hash()
                entries.append(entry)
            CustodyEntry.objects.bulk_create(entries)
            EvidenceItem.objects.filter(pk__in=heads).update(
                custody_head=models.Case(
                    *(models.When(pk=e.item_id, then=models.Value(e.entry_hash)) for e in entries),
                    output_field=models.CharField(),
                )
            )
            for item, entry in zip(items, entries, strict=True):
                item.custody_head = entry.entry_hash
            return entries

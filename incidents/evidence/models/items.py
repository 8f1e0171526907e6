"""Evidence items (sources): what a case holds, its file and how it is graded."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incidents.cases.models import (
    Incident,
    SearchVectorDeferred,
    StatusUpdate,
    choices_constraint,
    written_text,
)
from incidents.evidence import files
from incidents.reports import tlp as marking

if TYPE_CHECKING:
    from incidents.evidence.models.annotations import Annotation
    from incidents.evidence.models.custody import CustodyEntry


def evidence_upload_to(instance: Any, filename: str) -> str:
    """A generated name: the original name is kept only as metadata."""
    return f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class EvidenceItemKind(models.TextChoices):
    WEB_PAGE = "web_page", "Web page"
    DOCUMENT = "document", "Document"
    PHOTO = "photo", "Photo"
    VIDEO = "video", "Video"
    LOG_EXTRACT = "log_extract", "Log extract"
    WITNESS_STATEMENT = "witness_statement", "Witness statement"
    OFFICIAL_STATEMENT = "official_statement", "Official statement"
    SOCIAL_MEDIA_POST = "social_media_post", "Social-media post"
    OTHER = "other", "Other"


class EvidenceItemReliability(models.TextChoices):
    """Admiralty code: reliability of the source."""

    A = "A", "A — Completely reliable"
    B = "B", "B — Usually reliable"
    C = "C", "C — Fairly reliable"
    D = "D", "D — Not usually reliable"
    E = "E", "E — Unreliable"
    F = "F", "F — Reliability cannot be judged"


class EvidenceItemCredibility(models.IntegerChoices):
    """Admiralty code: credibility of the information."""

    CONFIRMED = 1, "1 — Confirmed by other sources"
    PROBABLY_TRUE = 2, "2 — Probably true"
    POSSIBLY_TRUE = 3, "3 — Possibly true"
    DOUBTFUL = 4, "4 — Doubtful"
    IMPROBABLE = 5, "5 — Improbable"
    CANNOT_BE_JUDGED = 6, "6 — Truth cannot be judged"


class EvidenceItemVerification(models.TextChoices):
    UNVERIFIED = "unverified", "Not yet verified"
    VERIFIED = "verified", "Hash verified"
    FAILED = "failed", "Verification failed"


class WithdrawalReason(models.TextChoices):
    DUPLICATE = "duplicate", "A duplicate"
    MISTAKE = "mistake", "Attached by mistake"
    RETRACTED = "retracted", "The report was retracted"
    OTHER = "other", "Other"


class EvidenceItem(models.Model):
    WithdrawalReason = WithdrawalReason
    Kind = EvidenceItemKind
    Reliability = EvidenceItemReliability
    Credibility = EvidenceItemCredibility
    Verification = EvidenceItemVerification
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=24, choices=Kind, default=Kind.OTHER)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, max_length=20000)
    url = models.URLField(
        max_length=2000, blank=True, validators=[URLValidator(schemes=["http", "https"])]
    )
    file = models.FileField(upload_to=evidence_upload_to, blank=True, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    file_size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    file_type = models.CharField(max_length=128, blank=True, editable=False)
    text_body = models.TextField(blank=True, max_length=1_000_000)
    language = models.CharField(
        max_length=35, blank=True, help_text="BCP 47 tag of the text: kk, ru, en, …"
    )
    reliability = models.CharField(max_length=1, choices=Reliability, default=Reliability.F)
    credibility = models.PositiveSmallIntegerField(
        choices=Credibility, default=Credibility.CANNOT_BE_JUDGED
    )
    event_at = models.DateTimeField(null=True, blank=True, help_text="When what it shows happened.")
    event_uncertainty = models.DurationField(null=True, blank=True)
    # The clock its event time was read on (incidents/chronology): set by Clock's methods.
    clock = models.ForeignKey(
        "chronology.Clock",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="sources",
    )
    event_latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text="Where what it shows happened (WGS 84).",
    )
    event_longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    collected_at = models.DateTimeField(default=timezone.now, help_text="When we obtained it.")
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="collected_evidence"
    )
    obtained_from = models.CharField(max_length=300, blank=True, help_text="From whom or where.")
    tlp = marking.field()  # its case's level when attached, unless given
    is_illustrative = models.BooleanField(
        default=False, help_text="Not public record: invented for the demo or for training."
    )
    extracted_metadata = models.JSONField(default=dict, blank=True, editable=False)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="duplicates",
        help_text="An earlier item of the same case with the same file (same SHA-256).",
    )
    custody_head = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Hash of the last custody entry: a deleted last entry is detectable.",
    )
    verification = models.CharField(
        max_length=16, choices=Verification, default=Verification.UNVERIFIED, editable=False
    )
    last_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Withdrawn: out of the matrix and the scores, kept and shown as withdrawn (never deleted).
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    withdrawal_reason = models.CharField(
        max_length=16, choices=WithdrawalReason, blank=True, editable=False
    )
    withdrawal_note = models.TextField(blank=True, max_length=5000, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    # PostgreSQL only: kept by a trigger, GIN-indexed (migration evidence/0006); NULL on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = SearchVectorDeferred()

    class Meta:
        # By the column: ordering by the relation would join its table to sort by its order.
        ordering = ["incident_id", "created_at", "id"]
        verbose_name = "evidence item"
        constraints = [
            choices_constraint("kind", EvidenceItemKind, "evidence"),
            choices_constraint("reliability", EvidenceItemReliability, "evidence"),
            choices_constraint("credibility", EvidenceItemCredibility, "evidence"),
            choices_constraint("verification", EvidenceItemVerification, "evidence"),
            models.CheckConstraint(
                condition=Q(withdrawal_reason="")
                | Q(withdrawal_reason__in=WithdrawalReason.values),
                name="evidence_withdrawal_reason_valid",
            ),
            choices_constraint("tlp", marking.TLP, "evidence"),
            models.CheckConstraint(
                condition=Q(file="") | Q(file_sha256__regex=r"^[0-9a-f]{64}$"),
                name="evidence_file_has_hash",
            ),
        ]
        indexes = [
            models.Index(fields=["incident", "created_at", "id"], name="evidence_case_idx"),
            models.Index(fields=["incident", "file_sha256"], name="evidence_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("evidence:detail", args=[self.pk])

    @property
    def grade(self) -> str:
        """The Admiralty grade, e.g. ``B2``."""
        return f"{self.reliability}{self.credibility}"

    @property
    def has_file(self) -> bool:
        return bool(self.file)

    @classmethod
    def attach(
        cls,
        incident: Incident,
        *,
        by: Any,
        upload: File | None = None,
        reason: str = "",
        **fields: Any,
    ) -> EvidenceItem:
        """Attach a source to INCIDENT: store its file, open its custody log, note it.

        The file is hashed while it streams to storage. If anything fails
        (too large, invalid fields) the stored file is removed again and no
        row is left; ``duplicate_of`` is set when the same bytes are already
        in this case (the upload is kept: a second provenance is a fact).
        """
        from incidents.evidence.models.custody import CustodyEntry

        fields.setdefault("collected_by", by)
        fields.setdefault("tlp", marking.level_of(incident))
        stored: list[str] = []
        item = cls(incident=incident, **fields)
        try:
            with transaction.atomic():
                if upload is not None:
                    item.store_file(upload)
                    stored.append(str(item.file.name))
                item.full_clean(exclude=["incident", "collected_by", "file", "duplicate_of"])
                if not (item.url or item.file or item.text_body.strip()):
                    raise ValidationError(
                        "A source needs at least one of: a URL, a file, or a text body."
                    )
                item.save()
                CustodyEntry.record(
                    item,
                    action=CustodyEntry.Action.COLLECTED,
                    by=by,
                    reason=reason or f"Collected from {item.obtained_from or 'an unnamed source'}.",
                    at=item.collected_at,
                )
                if item.file:
                    CustodyEntry.record(
                        item,
                        action=CustodyEntry.Action.UPLOADED,
                        by=by,
                        reason=f"Uploaded as “{item.original_name}” "
                        f"({item.file_type}, {item.file_size} bytes).",
                    )
                body = (
                    f"Evidence added ({item.get_kind_display().lower()}, graded {item.grade}): "
                    f"{item.title}"
                )
                if item.duplicate_of_id:
                    body += f" — same file as “{item.duplicate_of}”"
                StatusUpdate.objects.post(
                    incident, kind=StatusUpdate.Kind.EVIDENCE_ADDED, by=by, evidence=item, body=body
                )
        except BaseException:
            # The row was rolled back: leave no file behind either.
            for name in stored:
                item.file.storage.delete(name)
            raise
        return item

    def store_file(self, upload: File) -> None:
        """Stream UPLOAD to storage under a generated name, hashing and sizing it on the way.

        Refuses a file over ``settings.EVIDENCE_MAX_UPLOAD_BYTES`` (before
        writing when the size is known, and mid-stream otherwise). The type
        is detected from the bytes; the original name is kept as sanitised
        metadata; EXIF, PDF and text metadata go to ``extracted_metadata``.
        """
        limit = max_upload_bytes()
        declared = getattr(upload, "size", None)
        if declared is not None and declared > limit:
            raise files.too_large(limit)
        hashing = files.HashingFile(upload, limit=limit)
        storage = self.file.storage
        target = evidence_upload_to(self, "")  # a fresh UUID: nobody else writes there
        try:
            name = storage.save(target, hashing, max_length=self.file.field.max_length)
        except BaseException:
            # Stopped mid-stream (too large, disk full): remove the partial file.
            if storage.exists(target):
                storage.delete(target)
            raise
        try:
            self.file.name = name
            self.original_name = files.sanitise_name(getattr(upload, "name", ""))
            self.file_sha256 = hashing.sha256
            self.file_size = hashing.bytes_read
            self.file_type = files.detect_type(hashing.head)
            claimed = getattr(upload, "content_type", "") or ""
            extracted = files.extract(storage, name, self.file_type)
            metadata: dict[str, Any] = {"detected_type": self.file_type, **extracted.metadata}
            if claimed and claimed != self.file_type:
                metadata["claimed_type"] = claimed[:128]
            if suggested := files.suggestions(extracted.metadata):
                metadata["suggested"] = suggested
            self.extracted_metadata = metadata
            if extracted.text and not self.text_body.strip():
                self.text_body = extracted.text
            if self.kind == EvidenceItemKind.OTHER and (
                kind := files.kind_for_type(self.file_type)
            ):
                self.kind = kind
            if self.incident_id:
                self.duplicate_of = (
                    EvidenceItem.objects.filter(
                        incident_id=self.incident_id, file_sha256=self.file_sha256
                    )
                    .exclude(pk=self.pk)
                    .order_by("created_at", "id")
                    .first()
                )
        except BaseException:
            storage.delete(name)
            self.file.name = ""
            raise

    # -- Verification ----------------------------------------------------------

    @property
    def display_name(self) -> str:
        return self.original_name or "unnamed"

    @property
    def is_markup(self) -> bool:
        return files.is_markup(self.file_type)

    @property
    def is_image(self) -> bool:
        return bool(self.file) and files.is_raster_image(self.file_type)

    @property
    def annotation_text(self) -> str:
        """The text annotations anchor to (line ends as the browser's DOM holds them)."""
        return files.normalise_text(self.text_body)

    @property
    def suggestions(self) -> dict[str, Any]:
        return (self.extracted_metadata or {}).get("suggested") or {}

    @property
    def suggested_event_at(self) -> dt.datetime | None:
        """The extracted event time, aware (a time without offset read in the case's zone)."""
        value = self.suggestions.get("event_at")
        if not value:
            return None
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        if timezone.is_naive(when):
            when = when.replace(tzinfo=self.incident.zone)
        return when

    def check_file(self) -> tuple[bool, str]:
        """Re-hash the stored file: (matches, what was found)."""
        if not self.file:
            return True, ""
        try:
            digest, size = files.hash_stored(self.file.storage, str(self.file.name))
        except FileNotFoundError:
            return False, "missing"
        except OSError as exc:
            return False, f"unreadable ({exc.__class__.__name__})"
        if digest != self.file_sha256 or size != self.file_size:
            return False, digest
        return True, digest

    def verify(self, *, by: Any = None, reason: str = "", downloading: bool = False) -> bool:
        """Re-hash the file and check the custody chain; record the result on the item.

        On a mismatch the item is marked failed and a ``verification_failed``
        entry (with the hash found) is appended. On success a ``verified``
        entry is appended, unless DOWNLOADING, where the caller records the
        ``downloaded`` entry instead. Returns whether everything matched.
        """
        from incidents.evidence.models.custody import CustodyEntry

        ok_file, found = self.check_file()
        broken = CustodyEntry.objects.first_broken_link(self)
        now = timezone.now()
        with transaction.atomic():
            locked = EvidenceItem.objects.select_for_update().get(pk=self.pk)
            problems = []
            if not ok_file:
                problems.append(
                    "The stored file is missing."
                    if found == "missing"
                    else f"The stored file's hash is {found}, not {self.file_sha256}."
                )
            if broken:
                problems.append(f"Custody chain broken: {broken}")
            if problems:
                CustodyEntry.record(
                    locked,
                    action=CustodyEntry.Action.VERIFICATION_FAILED,
                    by=by,
                    reason=" ".join([reason, *problems]).strip(),
                    sha256=found if ok_file is False and len(found) == 64 else "",
                )
                verification = EvidenceItemVerification.FAILED
            else:
                if not downloading:
                    CustodyEntry.record(
                        locked,
                        action=CustodyEntry.Action.VERIFIED,
                        by=by,
                        reason=reason or "File hash and custody chain checked.",
                    )
                verification = EvidenceItemVerification.VERIFIED
            EvidenceItem.objects.filter(pk=self.pk).update(
                verification=verification, last_verified_at=now
            )
        self.verification, self.last_verified_at = verification, now
        self.last_problems = problems
        return not problems

    # -- Changes by the investigator -------------------------------------------

    def transfer(self, *, by: Any, recipient: str, reason: str, place: str = "") -> CustodyEntry:
        """Hand the item (or its original) to RECIPIENT, on record."""
        from incidents.evidence.models.custody import CustodyEntry

        recipient = written_text(recipient, "recipient")
        reason = written_text(reason, "reason")
        place = written_text(place, "place")
        errors = {}
        if not recipient:
            errors["recipient"] = "Say to whom the item is transferred."
        if not reason:
            errors["reason"] = "Say why it is transferred."
        if errors:
            raise ValidationError(errors)
        return CustodyEntry.record(
            self,
            action=CustodyEntry.Action.TRANSFERRED,
            by=by,
            reason=reason,
            recipient=recipient[:200],
            place=place[:200],
        )

    def use_suggestion(self, which: str) -> None:
        """Confirm the extracted event time (``event_at``) or place (``place``)."""
        suggested = self.suggestions
        with transaction.atomic():
            if which == "event_at" and (when := self.suggested_event_at) is not None:
                if not suggested.get("event_at_zone_known", False):
                    # The camera's local time, read in the case's time zone: say it
                    # is uncertain by the widest spread of time zones.
                    self.event_uncertainty = self.event_uncertainty or dt.timedelta(hours=14)
                self.event_at = when
            elif which == "place" and suggested.get("place"):
                self.event_latitude = Decimal(str(suggested["place"]["latitude"])).quantize(
                    Decimal("0.000001")
                )
                self.event_longitude = Decimal(str(suggested["place"]["longitude"])).quantize(
                    Decimal("0.000001")
                )
            else:
                raise ValidationError("There is no such suggestion for this item.")
            self.updated_at = timezone.now()
            self.version += 1
            self.save(
                update_fields=[
                    "event_at",
                    "event_uncertainty",
                    "event_latitude",
                    "event_longitude",
                    "updated_at",
                    "version",
                ]
            )

    EDITABLE = (
        "title",
        "description",
        "kind",
        "url",
        "event_at",
        "event_uncertainty",
        "collected_at",
        "obtained_from",
        "language",
    )
    EDIT_LABELS = {
        "title": "title",
        "description": "description",
        "kind": "kind",
        "url": "URL",
        "event_at": "event time",
        "event_uncertainty": "uncertainty of the event time",
        "collected_at": "collection time",
        "obtained_from": "from whom",
        "language": "language",
    }

    def _changed(self, by: Any, text: str, custody: str) -> StatusUpdate:
        """The custody entry and the timeline entry (returned) of an edit, in the
        caller's transaction."""
        from incidents.evidence.models.custody import CustodyEntry

        CustodyEntry.record(self, action=custody, by=by, reason=text)
        return StatusUpdate.objects.post(
            self.incident,
            kind=StatusUpdate.Kind.EVIDENCE_CHANGED,
            by=by,
            evidence=self,
            body=text,
        )

    def edit(
        self, *, by: Any, changes: dict[str, Any], expected_version: int | None
    ) -> StatusUpdate | None:
        """Edit the source's details (``EDITABLE``), in one transaction.

        A stale EXPECTED_VERSION raises ``Conflict``; the model's rules
        validate the fields (a source keeps a URL, a file or a text); the
        version goes up; a custody entry (``edited``) and a timeline entry
        say what changed. Nothing changed: nothing is written.
        """
        from incidents.audit.versioning import refuse_stale
        from incidents.evidence.models.custody import CustodyEntry

        unknown = set(changes) - set(self.EDITABLE)
        if unknown:
            raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
        with transaction.atomic():
            locked = EvidenceItem.objects.select_for_update().get(pk=self.pk)
            refuse_stale(self, locked, expected_version)
            for name in ("title", "description", "obtained_from", "language"):
                if name in changes:
                    changes = {**changes, name: written_text(changes[name], name)}
            before = {name: getattr(locked, name) for name in changes}
            old_kind = locked.get_kind_display()
            for name, value in changes.items():
                setattr(locked, name, value)
            locked.full_clean(exclude=["incident", "collected_by", "file", "duplicate_of"])
            if not (locked.url or locked.file or locked.text_body.strip()):
                raise ValidationError(
                    {"url": "A source needs at least one of: a URL, a file, or a text body."}
                )
            said = []
            for name in self.EDITABLE:
                if name in changes and before[name] != getattr(locked, name):
                    if name == "kind":
                        said.append(f"kind ({old_kind} → {locked.get_kind_display()})")
                    else:
                        said.append(self.EDIT_LABELS[name])
            if not said:
                return None
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=[*changes, "version", "updated_at"])
            for name in (*changes, "version", "updated_at"):
                setattr(self, name, getattr(locked, name))
            who = getattr(by, "username", "") or "someone"
            text = f"{who} edited {_quote(before.get('title', locked.title))}: {', '.join(said)}."
            locked.incident = self.incident
            return locked._changed(by, text, CustodyEntry.Action.EDITED)

    def regrade(
        self,
        *,
        by: Any,
        reliability: str,
        credibility: int | str,
        reason: str,
        expected_version: int | None,
    ) -> StatusUpdate:
        """Give the source another Admiralty grade, with a reason (required).

        The scores read the grade, so they move with it. On record: a custody
        entry (``regraded``) and a timeline entry ("lead regraded 'News
        report' C3 → B3: second outlet confirmed").
        """
        from incidents.audit.versioning import refuse_stale
        from incidents.evidence.models.custody import CustodyEntry

        reason = written_text(reason, "reason")
        errors: dict[str, str] = {}
        if reliability not in EvidenceItemReliability.values:
            errors["reliability"] = "Choose a reliability, A to F."
        try:
            credibility = int(credibility)
        except (TypeError, ValueError):
            credibility = 0
        if credibility not in EvidenceItemCredibility.values:
            errors["credibility"] = "Choose a credibility, 1 to 6."
        if not reason:
            errors["reason"] = "Say why the grade changes."
        if errors:
            raise ValidationError(errors)
        with transaction.atomic():
            locked = EvidenceItem.objects.select_for_update().get(pk=self.pk)
            refuse_stale(self, locked, expected_version)
            old = locked.grade
            if (locked.reliability, locked.credibility) == (reliability, credibility):
                raise ValidationError(
                    {"reliability": f"The source is already graded {old}: choose another grade."}
                )
            locked.reliability, locked.credibility = reliability, credibility
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=["reliability", "credibility", "version", "updated_at"])
            for name in ("reliability", "credibility", "version", "updated_at"):
                setattr(self, name, getattr(locked, name))
            who = getattr(by, "username", "") or "someone"
            text = f"{who} regraded {_quote(locked.title)} {old} → {locked.grade}: {reason}"
            locked.incident = self.incident
            return locked._changed(by, text, CustodyEntry.Action.REGRADED)

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def withdrawal_why(self) -> str:
        """The reason in words, with its note: "A duplicate: same video as #3"."""
        if not self.withdrawal_reason:
            return ""
        label = WithdrawalReason(self.withdrawal_reason).label
        return f"{label}: {self.withdrawal_note}" if self.withdrawal_note else label

    def withdraw(
        self, *, by: Any, reason: str, note: str = "", expected_version: int | None
    ) -> StatusUpdate:
        """Take the source out of the matrix and the scores, with a reason.

        Nothing is deleted: the source, its ratings, custody and history stay,
        shown as withdrawn, and ``restore`` brings it back. "Other" needs a
        note. A custody entry (``withdrawn``) and a timeline entry say who and why.
        """
        from incidents.audit.versioning import refuse_stale
        from incidents.evidence.models.custody import CustodyEntry

        note = written_text(note, "note")
        if reason not in WithdrawalReason.values:
            raise ValidationError({"reason": "Choose why the source is withdrawn."})
        if reason == WithdrawalReason.OTHER and not note:
            raise ValidationError({"note": "Say why the source is withdrawn."})
        if len(note) > 5000:
            raise ValidationError({"note": "At most 5,000 characters."})
        with transaction.atomic():
            locked = EvidenceItem.objects.select_for_update().get(pk=self.pk)
            refuse_stale(self, locked, expected_version)
            if locked.withdrawn_at is not None:
                raise ValidationError("This source is already withdrawn.")
            locked.withdrawn_at = timezone.now()
            locked.withdrawn_by = by if getattr(by, "pk", None) else None
            locked.withdrawal_reason, locked.withdrawal_note = reason, note
            locked.version += 1
            locked.updated_at = locked.withdrawn_at
            fields = ["withdrawn_at", "withdrawn_by", "withdrawal_reason", "withdrawal_note"]
            locked.save(update_fields=[*fields, "version", "updated_at"])
            for name in (*fields, "version", "updated_at"):
                setattr(self, name, getattr(locked, name))
            who = getattr(by, "username", "") or "someone"
            text = f"{who} withdrew {_quote(locked.title)}: {locked.withdrawal_why}"
            locked.incident = self.incident
            return locked._changed(by, text, CustodyEntry.Action.WITHDRAWN)

    def restore(self, *, by: Any, expected_version: int | None) -> StatusUpdate:
        """Bring a withdrawn source back into the matrix and the scores, on record."""
        from incidents.audit.versioning import refuse_stale
        from incidents.evidence.models.custody import CustodyEntry

        with transaction.atomic():
            locked = EvidenceItem.objects.select_for_update().get(pk=self.pk)
            refuse_stale(self, locked, expected_version)
            if locked.withdrawn_at is None:
                raise ValidationError("This source is not withdrawn.")
            was = locked.withdrawal_why
            locked.withdrawn_at, locked.withdrawn_by = None, None
            locked.withdrawal_reason, locked.withdrawal_note = "", ""
            locked.version += 1
            locked.updated_at = timezone.now()
            fields = ["withdrawn_at", "withdrawn_by", "withdrawal_reason", "withdrawal_note"]
            locked.save(update_fields=[*fields, "version", "updated_at"])
            for name in (*fields, "version", "updated_at"):
                setattr(self, name, getattr(locked, name))
            who = getattr(by, "username", "") or "someone"
            text = f"{who} restored {_quote(locked.title)} (withdrawn as: {was})"
            locked.incident = self.incident
            return locked._changed(by, text, CustodyEntry.Action.RESTORED)

    def set_text_body(
        self, text: str, *, by: Any, expected_version: int | None = None
    ) -> list[Annotation]:
        """Change the text and re-anchor its annotations; returns those now orphaned.

        EXPECTED_VERSION: the version the form was loaded with; ``Conflict``
        if someone saved the item since (see incidents.audit.versioning).
        """
        from incidents.audit.versioning import refuse_stale
        from incidents.evidence.annotations import reanchor
        from incidents.evidence.models.annotations import AnnotationAnchor

        with transaction.atomic():
            locked = EvidenceItem.objects.select_for_update().get(pk=self.pk)
            refuse_stale(self, locked, expected_version)
            self.text_body = text
            self.full_clean(exclude=["incident", "collected_by", "file", "duplicate_of"])
            self.updated_at = timezone.now()
            self.version = locked.version + 1
            self.save(update_fields=["text_body", "updated_at", "version"])
            orphaned = []
            body = self.annotation_text
            for annotation in self.annotations.filter(region=""):
                annotation.apply_anchor(reanchor(body, annotation))
                if annotation.anchor_state == AnnotationAnchor.ORPHANED:
                    orphaned.append(annotation)
            return orphaned


def _quote(title: str) -> str:
    return f"‘{title}’"


def max_upload_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_MAX_UPLOAD_BYTES", 200 * 1024 * 1024))

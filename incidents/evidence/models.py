"""Evidence items (sources), their chain of custody and their annotations."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.validators import URLValidator
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incidents.cases.models import Incident, StatusUpdate, Tag, choices_constraint


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


class EvidenceItem(models.Model):
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
    collected_at = models.DateTimeField(default=timezone.now, help_text="When we obtained it.")
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="collected_evidence"
    )
    obtained_from = models.CharField(max_length=300, blank=True, help_text="From whom or where.")
    is_illustrative = models.BooleanField(
        default=False, help_text="Not public record: invented for the demo or for training."
    )
    extracted_metadata = models.JSONField(default=dict, blank=True, editable=False)
    verification = models.CharField(
        max_length=16, choices=Verification, default=Verification.UNVERIFIED, editable=False
    )
    last_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["incident", "created_at", "id"]
        verbose_name = "evidence item"
        constraints = [
            choices_constraint("kind", EvidenceItemKind, "evidence"),
            choices_constraint("reliability", EvidenceItemReliability, "evidence"),
            choices_constraint("credibility", EvidenceItemCredibility, "evidence"),
            choices_constraint("verification", EvidenceItemVerification, "evidence"),
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
        """Attach a source to INCIDENT: store its file, open its custody log, note it."""
        fields.setdefault("collected_by", by)
        with transaction.atomic():
            item = cls(incident=incident, **fields)
            if upload is not None:
                item.store_file(upload)
            item.full_clean(exclude=["incident", "collected_by", "file"])
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
            )
            if item.file:
                CustodyEntry.record(item, action=CustodyEntry.Action.UPLOADED, by=by)
            StatusUpdate.objects.post(
                incident,
                kind=StatusUpdate.Kind.EVIDENCE_ADDED,
                by=by,
                evidence=item,
                body=f"Evidence added ({item.get_kind_display().lower()}, graded {item.grade}): "
                f"{item.title}",
            )
            return item

    def store_file(self, upload: File) -> None:
        """Hash UPLOAD and save it under a generated name (see the evidence issue for streaming)."""
        digest = hashlib.sha256()
        size = 0
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
        upload.seek(0)
        self.original_name = (getattr(upload, "name", "") or "")[-255:]
        self.file_sha256 = digest.hexdigest()
        self.file_size = size
        self.file_type = getattr(upload, "content_type", "") or ""
        self.file.save(evidence_upload_to(self, self.original_name), upload, save=False)


class CustodyEntryAction(models.TextChoices):
    COLLECTED = "collected", "Collected"
    UPLOADED = "uploaded", "Uploaded"
    DOWNLOADED = "downloaded", "Downloaded"
    EXPORTED = "exported", "Exported"
    VERIFIED = "verified", "Verified"
    VERIFICATION_FAILED = "verification_failed", "Verification failed"
    TRANSFERRED = "transferred", "Transferred"


class CustodyEntry(models.Model):
    """One handling of an evidence item. Append-only and hash-chained."""

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

    class Meta:
        ordering = ["item", "at", "id"]
        verbose_name_plural = "custody entries"
        constraints = [choices_constraint("action", CustodyEntryAction, "custodyentry")]
        indexes = [models.Index(fields=["item", "at", "id"], name="custody_item_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(
        cls, item: EvidenceItem, *, action: str, by: Any = None, reason: str = "", **fields: Any
    ) -> CustodyEntry:
        """Append an entry for ITEM (the hash chain is filled in by the evidence issue)."""
        return cls.objects.create(
            item=item,
            action=action,
            actor=by if getattr(by, "pk", None) else None,
            reason=reason,
            sha256=item.file_sha256,
            **fields,
        )


class AnnotationStance(models.TextChoices):
    NONE = "", "No stance"
    SUPPORTS = "supports", "Supports"
    CONTRADICTS = "contradicts", "Contradicts"


class Annotation(models.Model):
    """A note anchored to a passage of an item's text (W3C Web Annotation selectors)."""

    Stance = AnnotationStance
    item = models.ForeignKey(EvidenceItem, on_delete=models.CASCADE, related_name="annotations")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=10000)
    tags = models.ManyToManyField(Tag, blank=True, related_name="annotations")
    stance = models.CharField(max_length=16, choices=Stance, blank=True, default=Stance.NONE)
    hypothesis = models.ForeignKey(
        "hypotheses.Hypothesis",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="annotations",
    )
    # TextQuoteSelector
    quote_exact = models.TextField(blank=True, max_length=10000)
    quote_prefix = models.CharField(max_length=64, blank=True)
    quote_suffix = models.CharField(max_length=64, blank=True)
    # TextPositionSelector
    position_start = models.PositiveIntegerField(null=True, blank=True)
    position_end = models.PositiveIntegerField(null=True, blank=True)
    # FragmentSelector (media fragments) for an image region: "xywh=x,y,w,h"
    region = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["item", "position_start", "id"]
        constraints = [
            choices_constraint("stance", AnnotationStance, "annotation"),
            models.CheckConstraint(
                condition=Q(stance="") | Q(hypothesis__isnull=False),
                name="annotation_stance_needs_hypothesis",
            ),
            models.CheckConstraint(
                condition=Q(position_start__isnull=True)
                | Q(position_end__isnull=True)
                | Q(position_end__gte=models.F("position_start")),
                name="annotation_position_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(quote_exact="") | ~Q(region=""),
                name="annotation_has_target",
            ),
        ]
        indexes = [models.Index(fields=["item", "deleted_at"], name="annotation_item_idx")]

    def __str__(self) -> str:
        return self.body[:60]

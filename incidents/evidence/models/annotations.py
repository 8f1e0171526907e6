"""Annotations: notes anchored to a passage of an item's text or a region of its image."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from incidents.cases.models import Incident, Tag, choices_constraint, written_text
from incidents.evidence.models.items import EvidenceItem
from incidents.reports import tlp as marking


class AnnotationStance(models.TextChoices):
    NONE = "", "No stance"
    SUPPORTS = "supports", "Supports"
    CONTRADICTS = "contradicts", "Contradicts"


class AnnotationAnchor(models.TextChoices):
    ANCHORED = "anchored", "Anchored"
    REANCHORED = "reanchored", "Re-anchored by its quote"
    ORPHANED = "orphaned", "Orphaned: its passage is no longer in the text"


class AnnotationQuerySet(models.QuerySet["Annotation"]):
    def live(self) -> AnnotationQuerySet:
        return self.filter(deleted_at__isnull=True)

    def stance_counts(self, incident: Incident) -> dict[int, dict[str, int]]:
        """Per hypothesis of INCIDENT: annotated passages that support / contradict it.

        One query for the whole case: ``{hypothesis_id: {"supports": n,
        "contradicts": m}}``; hypotheses without stance annotations are absent.
        Deleted annotations are not counted; orphaned ones still are (they are
        on record and shown as orphaned).
        """
        return stance_dict(self.stance_count_rows(incident))

    def stance_count_rows(self, incident: Incident | int) -> models.QuerySet[Any]:
        """The query of ``stance_counts``: (hypothesis, supports, contradicts)
        rows, one per hypothesis of INCIDENT (a case or its id) with stance
        annotations. The case page runs it compiled (``incidents.compiled``)."""
        return (
            self.live()
            .filter(item__incident=incident, hypothesis__isnull=False)
            .exclude(stance=AnnotationStance.NONE)
            .order_by()
            .values("hypothesis")
            .annotate(
                supports=models.Count("id", filter=Q(stance=AnnotationStance.SUPPORTS)),
                contradicts=models.Count("id", filter=Q(stance=AnnotationStance.CONTRADICTS)),
            )
            .values_list("hypothesis", "supports", "contradicts")
        )


def stance_dict(rows: Iterable[tuple[int, int, int]]) -> dict[int, dict[str, int]]:
    """``stance_counts``' answer from the rows of ``stance_count_rows``."""
    return {pk: {"supports": s, "contradicts": c} for pk, s, c in rows}


class Annotation(models.Model):
    """A note anchored to a passage of an item's text (W3C Web Annotation selectors)."""

    Stance = AnnotationStance
    Anchor = AnnotationAnchor
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
    tlp = marking.field()  # its case's level when made
    anchor_state = models.CharField(
        max_length=16, choices=Anchor, default=Anchor.ANCHORED, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        # By the column: ordering by the relation would join its table to sort by its order.
        ordering = ["item_id", "position_start", "id"]
        constraints = [
            choices_constraint("stance", AnnotationStance, "annotation"),
            choices_constraint("anchor_state", AnnotationAnchor, "annotation"),
            choices_constraint("tlp", marking.TLP, "annotation"),
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

    @property
    def is_orphaned(self) -> bool:
        return self.anchor_state == AnnotationAnchor.ORPHANED

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def xywh(self) -> tuple[int, int, int, int] | None:
        from incidents.evidence.annotations import parse_xywh

        return parse_xywh(self.region) if self.region else None

    def apply_anchor(self, anchor: Any) -> None:
        """Store a re-anchoring result (see annotations.reanchor)."""
        self.position_start, self.position_end = anchor.start, anchor.end
        self.anchor_state = anchor.state
        if anchor.prefix is not None:
            self.quote_prefix, self.quote_suffix = anchor.prefix, anchor.suffix
        self.save(
            update_fields=[
                "position_start",
                "position_end",
                "anchor_state",
                "quote_prefix",
                "quote_suffix",
            ]
        )

    @classmethod
    def create_for(
        cls,
        item: EvidenceItem,
        *,
        by: Any,
        body: str,
        tags: list[str] | None = None,
        stance: str = "",
        hypothesis: Any = None,
        exact: str = "",
        prefix: str = "",
        suffix: str = "",
        start: int | None = None,
        end: int | None = None,
        region: str = "",
    ) -> Annotation:
        """Annotate a passage (EXACT at START..END, re-validated here) or a REGION of an image."""
        from incidents.evidence import annotations as anchoring

        annotation = cls(item=item, author=by, tlp=marking.inherited(item.incident_id))
        with transaction.atomic():
            if region:
                annotation.region = anchoring.validate_region(item, region)
            else:
                anchor = anchoring.validate_quote(
                    item.annotation_text,
                    exact=exact,
                    prefix=prefix,
                    suffix=suffix,
                    start=start,
                    end=end,
                )
                annotation.quote_exact = anchor.exact
                annotation.quote_prefix = anchor.prefix or ""
                annotation.quote_suffix = anchor.suffix or ""
                annotation.position_start, annotation.position_end = anchor.start, anchor.end
            annotation._fill(body=body, stance=stance, hypothesis=hypothesis)
            annotation.save()
            if tags:  # a new annotation has no tags to compare with
                annotation.set_tags(tags)
        return annotation

    def _fill(self, *, body: str, stance: str, hypothesis: Any) -> None:
        errors: dict[str, str] = {}
        self.body = written_text(body, "body")
        if not self.body:
            errors["body"] = "Write a note for this annotation."
        elif len(self.body) > 10000:
            errors["body"] = "Keep the note under 10,000 characters."
        if stance not in AnnotationStance.values:
            errors["stance"] = "Choose supports, contradicts, or no stance."
        elif stance and hypothesis is None:
            errors["hypothesis"] = "A stance needs the hypothesis it is about."
        if hypothesis is not None and hypothesis.incident_id != self.item.incident_id:
            errors["hypothesis"] = "That hypothesis belongs to another case."
        if errors:
            raise ValidationError(errors)
        self.stance = stance
        self.hypothesis = hypothesis

    def set_tags(self, names: list[str]) -> None:
        from django.utils.text import slugify

        slugs = sorted({slugify(n, allow_unicode=True)[:50] for n in names} - {""})
        self.tags.set([Tag.objects.get_or_create(name=slug)[0] for slug in slugs])

    def edit(
        self,
        *,
        by: Any,
        body: str,
        tags: list[str],
        stance: str,
        hypothesis: Any,
        expected_version: int | None = None,
    ) -> None:
        """The author changes the note, its tags or its stance (the anchor stays).

        EXPECTED_VERSION: the version the form was loaded with; ``Conflict``
        if it was saved since (see incidents.audit.versioning).
        """
        from incidents.audit.versioning import refuse_stale

        self.check_editable_by(by)
        with transaction.atomic():
            locked = Annotation.objects.select_for_update().get(pk=self.pk)
            refuse_stale(self, locked, expected_version)
            self._fill(body=body, stance=stance, hypothesis=hypothesis)
            self.updated_at = timezone.now()
            self.version = locked.version + 1
            self.save(update_fields=["body", "stance", "hypothesis", "updated_at", "version"])
            self.set_tags(tags)

    def check_editable_by(self, user: Any) -> None:
        """Only its author changes an annotation, and not once it is deleted."""
        if user.pk != self.author_id or self.is_deleted:
            raise PermissionDenied("Only its author may change this annotation.")

    def soft_delete(self, *, by: Any) -> None:
        """The author withdraws it: it leaves the text but stays on record."""
        if by.pk != self.author_id:
            raise PermissionDenied("Only its author may delete this annotation.")
        if self.is_deleted:
            return
        self.deleted_at = timezone.now()
        self.version += 1
        self.save(update_fields=["deleted_at", "version"])

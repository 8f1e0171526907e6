"""Hypotheses, their moves and confidence history, and the ACH assessments.

The legal moves of a hypothesis live in ``Hypothesis.TRANSITIONS``, and who
may make them in ``Hypothesis.LEAD_ONLY`` (only the case's lead concludes);
every move and every change of confidence is a method that runs in one
transaction and writes its timeline entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from incidents.audit.versioning import check_version
from incidents.cases.models import (
    Incident,
    Membership,
    StatusUpdate,
    choices_constraint,
    written_text,
)


class ConfidenceBand(models.TextChoices):
    """Words of estimative probability, ICD 203 bands."""

    ALMOST_NO_CHANCE = "almost_no_chance", "Almost no chance (1–5 %)"
    VERY_UNLIKELY = "very_unlikely", "Very unlikely (5–20 %)"
    UNLIKELY = "unlikely", "Unlikely (20–45 %)"
    ROUGHLY_EVEN = "roughly_even", "Roughly even chance (45–55 %)"
    LIKELY = "likely", "Likely (55–80 %)"
    VERY_LIKELY = "very_likely", "Very likely (80–95 %)"
    ALMOST_CERTAIN = "almost_certain", "Almost certain (95–99 %)"

    @property
    def percent_range(self) -> tuple[int, int]:
        return BAND_RANGES[self.value]

    @property
    def short_label(self) -> str:
        return self.label.split(" (", 1)[0]

    @property
    def ordinal(self) -> int:
        return list(ConfidenceBand).index(self)


BAND_RANGES: dict[str, tuple[int, int]] = {
    "almost_no_chance": (1, 5),
    "very_unlikely": (5, 20),
    "unlikely": (20, 45),
    "roughly_even": (45, 55),
    "likely": (55, 80),
    "very_likely": (80, 95),
    "almost_certain": (95, 99),
}


class HypothesisKind(models.TextChoices):
    TECHNICAL_FAULT = "technical_fault", "Technical fault"
    CYBERATTACK = "cyberattack", "Cyberattack"
    DELIBERATE_ACT = "deliberate_act", "Deliberate act"
    OTHER = "other", "Other"


class HypothesisStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    UNDER_EVALUATION = "under_evaluation", "Under evaluation"
    SUPPORTED = "supported", "Supported"
    WEAKENED = "weakened", "Weakened"
    CONFIRMED = "confirmed", "Confirmed"
    REFUTED = "refuted", "Refuted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Hypothesis(models.Model):
    Kind = HypothesisKind
    Status = HypothesisStatus
    S = Status
    # The legal graph. Concluded hypotheses can be reconsidered (back to
    # evaluation) while their case is not closed.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        S.PROPOSED: (S.UNDER_EVALUATION, S.WITHDRAWN),
        S.UNDER_EVALUATION: (S.SUPPORTED, S.WEAKENED, S.WITHDRAWN),
        S.SUPPORTED: (S.CONFIRMED, S.REFUTED, S.UNDER_EVALUATION, S.WITHDRAWN),
        S.WEAKENED: (S.CONFIRMED, S.REFUTED, S.UNDER_EVALUATION, S.WITHDRAWN),
        S.CONFIRMED: (S.UNDER_EVALUATION,),
        S.REFUTED: (S.UNDER_EVALUATION,),
        S.WITHDRAWN: (S.UNDER_EVALUATION,),
    }
    CONCLUDED_STATUSES = frozenset({S.CONFIRMED, S.REFUTED, S.WITHDRAWN})
    # The moves only the case's lead makes (a member with the lead role, or a superuser).
    LEAD_ONLY = frozenset({S.CONFIRMED, S.REFUTED})
    del S

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="hypotheses")
    kind = models.CharField(max_length=24, choices=Kind, default=Kind.OTHER)
    statement = models.CharField(max_length=300, help_text="One sentence.")
    description = models.TextField(blank=True, max_length=20000)
    status = models.CharField(
        max_length=24, choices=Status, default=Status.PROPOSED, editable=False
    )
    confidence = models.CharField(  # noqa: DJ001 (null = not stated yet)
        max_length=24, choices=ConfidenceBand, null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        # By the column: ordering by the relation would join its table to sort by its order.
        ordering = ["incident_id", "created_at", "id"]
        verbose_name_plural = "hypotheses"
        constraints = [
            choices_constraint("kind", HypothesisKind, "hypothesis"),
            choices_constraint("status", HypothesisStatus, "hypothesis"),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__in=ConfidenceBand.values),
                name="hypothesis_confidence_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.statement

    @classmethod
    def propose(
        cls, incident: Incident, *, by: Any, statement: str, kind: str, description: str = ""
    ) -> Hypothesis:
        """Add a hypothesis to INCIDENT (status proposed), on the timeline."""
        if incident.is_closed:
            raise ValidationError("The case is closed: reopen it before adding hypotheses to it.")
        with transaction.atomic():
            hypothesis = cls(
                incident=incident,
                statement=written_text(statement, "statement"),
                kind=kind,
                description=description,
                created_by=by,
            )
            hypothesis.full_clean(exclude=["incident", "created_by"])
            hypothesis.save()
            StatusUpdate.objects.post(
                incident,
                kind=StatusUpdate.Kind.HYPOTHESIS_ADDED,
                by=by,
                hypothesis=hypothesis,
                body=f"Hypothesis added ({hypothesis.get_kind_display().lower()}): "
                f"{hypothesis.statement}",
            )
            return hypothesis

    def allowed_statuses(self, *, lead: bool = True) -> tuple[str, ...]:
        """The statuses this hypothesis may move to next; for a member who
        does not lead the case (LEAD false), without those only the lead
        chooses (``LEAD_ONLY``)."""
        allowed = self.TRANSITIONS.get(self.status, ())
        return allowed if lead else tuple(s for s in allowed if s not in self.LEAD_ONLY)

    @property
    def is_concluded(self) -> bool:
        return self.status in self.CONCLUDED_STATUSES

    def _lock(self, by: Any = None) -> tuple[Hypothesis, str | None]:
        """This hypothesis read again and locked, with its case's row and
        status, and the role of BY on the case (None: not a member), in one
        statement."""
        role = Membership.objects.filter(
            incident=OuterRef("incident_id"), user=getattr(by, "pk", None)
        ).order_by()  # one membership per user and case: no need to join for its order
        rows = list(
            Hypothesis.objects.select_for_update()
            .filter(pk=self.pk)
            .annotate(role_of_by=Subquery(role.values("role")[:1]))
            .values_list(*HYPOTHESIS_COLUMNS, "incident__status", "role_of_by")
        )
        if not rows:
            raise Hypothesis.DoesNotExist("The hypothesis is gone.")
        *values, case_status, role_of_by = rows[0]
        locked = Hypothesis.from_db(self._state.db or DEFAULT_DB_ALIAS, HYPOTHESIS_COLUMNS, values)
        locked.incident = Incident.from_db(
            locked._state.db, ("id", "status"), (locked.incident_id, case_status)
        )
        return locked, role_of_by

    def _refresh_from(self, locked: Hypothesis) -> None:
        for field in ("status", "confidence", "version", "updated_at"):
            setattr(self, field, getattr(locked, field))

    def move_to(
        self,
        status: str,
        *,
        by: Any,
        rationale: str,
        cited_evidence: Iterable[Any] = (),
        expected_version: int | None = None,
    ) -> HypothesisMove:
        """Move along the legal graph, with a rationale, on the timeline. Only
        the case's lead (or a superuser) confirms or refutes (``LEAD_ONLY``).

        EXPECTED_VERSION: the version the person's form was loaded with;
        ``Conflict`` if someone saved since (see incidents.audit.versioning).
        """
        rationale = written_text(rationale, "rationale")
        with transaction.atomic():
            locked, role = self._lock(by)
            check_version(locked, expected_version)
            if status not in Hypothesis.Status.values:
                raise ValidationError({"status": f"“{status}” is not a hypothesis status."})
            if locked.incident.is_closed:
                raise ValidationError(
                    {"status": "The case is closed: reopen it before moving its hypotheses."}
                )
            if status not in locked.allowed_statuses():
                allowed = ", ".join(
                    Hypothesis.Status(s).label.lower() for s in locked.allowed_statuses()
                )
                raise ValidationError(
                    {
                        "status": f"A {locked.get_status_display().lower()} hypothesis cannot be "
                        f"moved to {Hypothesis.Status(status).label.lower()}; "
                        f"it can go to: {allowed}."
                    }
                )
            leads = role == Membership.Role.LEAD or getattr(by, "is_superuser", False)
            if status in self.LEAD_ONLY and not leads:
                raise ValidationError(
                    {"status": "Only the case lead confirms or refutes a hypothesis."}
                )
            if not rationale:
                raise ValidationError({"rationale": "Give the rationale for this move."})
            cited = list(cited_evidence)
            if any(item.incident_id != locked.incident_id for item in cited):
                raise ValidationError(
                    {"cited_evidence": "Only evidence of this case can be cited."}
                )
            old_label = locked.get_status_display()
            move = HypothesisMove.objects.create(
                hypothesis=locked,
                from_status=locked.status,
                to_status=status,
                rationale=rationale,
                author=by,
            )
            if cited:  # a new move cites nothing yet: no need to read its citations
                move.cited_evidence.add(*cited)
            locked.status = status
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=["status", "version", "updated_at"])
            self._refresh_from(locked)
            citations = "".join(f"\n- cites: {item.title}" for item in cited)
            StatusUpdate.objects.post(
                locked.incident,
                kind=StatusUpdate.Kind.HYPOTHESIS_MOVED,
                by=by,
                hypothesis=locked,
                body=f"“{locked.statement}”: {old_label} → {locked.get_status_display()}.\n\n"
                f"{rationale}{citations}",
            )
            return move

    def set_confidence(
        self, band: str, *, by: Any, reason: str, expected_version: int | None = None
    ) -> ConfidenceChange:
        """State a new confidence band, kept in the history with its reason."""
        reason = written_text(reason, "reason")
        with transaction.atomic():
            locked, _ = self._lock()
            check_version(locked, expected_version)
            if band not in ConfidenceBand.values:
                raise ValidationError({"confidence": f"“{band}” is not a confidence band."})
            if band == locked.confidence:
                raise ValidationError({"confidence": "That is already the stated confidence."})
            if not reason:
                raise ValidationError({"reason": "Give a reason for the change of confidence."})
            change = ConfidenceChange.objects.create(
                hypothesis=locked,
                previous=locked.confidence,
                band=band,
                reason=reason,
                author=by,
            )
            before = (
                ConfidenceBand(locked.confidence).short_label.lower()
                if locked.confidence
                else "not stated"
            )
            locked.confidence = band
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=["confidence", "version", "updated_at"])
            self._refresh_from(locked)
            StatusUpdate.objects.post(
                locked.incident,
                kind=StatusUpdate.Kind.CONFIDENCE_CHANGED,
                by=by,
                hypothesis=locked,
                body=f"Confidence in “{locked.statement}”: {before} → "
                f"{ConfidenceBand(band).short_label.lower()}.\n\n{reason}",
            )
            return change


# Every column of a hypothesis, in the model's order: a row of them becomes
# an instance through ``Hypothesis.from_db``.
HYPOTHESIS_COLUMNS = tuple(f.attname for f in Hypothesis._meta.concrete_fields)


class HypothesisMove(models.Model):
    hypothesis = models.ForeignKey(Hypothesis, on_delete=models.CASCADE, related_name="moves")
    from_status = models.CharField(max_length=24, choices=Hypothesis.Status)
    to_status = models.CharField(max_length=24, choices=Hypothesis.Status)
    rationale = models.TextField(max_length=20000)
    cited_evidence = models.ManyToManyField(
        "evidence.EvidenceItem", blank=True, related_name="cited_in_moves"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        # By the column: ordering by the relation would join its table to sort by its order.
        ordering = ["hypothesis_id", "created_at", "id"]
        constraints = [
            choices_constraint("from_status", Hypothesis.Status, "hypothesismove"),
            choices_constraint("to_status", Hypothesis.Status, "hypothesismove"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class ConfidenceChange(models.Model):
    hypothesis = models.ForeignKey(
        Hypothesis, on_delete=models.CASCADE, related_name="confidence_history"
    )
    previous = models.CharField(  # noqa: DJ001 (null = not stated before)
        max_length=24, choices=ConfidenceBand, null=True, blank=True
    )
    band = models.CharField(max_length=24, choices=ConfidenceBand)
    reason = models.TextField(max_length=20000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        # By the column: ordering by the relation would join its table to sort by its order.
        ordering = ["hypothesis_id", "created_at", "id"]
        constraints = [
            choices_constraint("band", ConfidenceBand, "confidencechange"),
            models.CheckConstraint(
                condition=Q(previous__isnull=True) | Q(previous__in=ConfidenceBand.values),
                name="confidencechange_previous_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.previous} → {self.band}"


class AssessmentRating(models.TextChoices):
    VERY_CONSISTENT = "CC", "Very consistent"
    CONSISTENT = "C", "Consistent"
    NEUTRAL = "N", "Neutral"
    NOT_APPLICABLE = "NA", "Not applicable"
    INCONSISTENT = "I", "Inconsistent"
    VERY_INCONSISTENT = "II", "Very inconsistent"


class AssessmentRelevance(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Assessment(models.Model):
    """One cell of the ACH matrix: how consistent an item is with a hypothesis."""

    Rating = AssessmentRating
    Relevance = AssessmentRelevance
    evidence = models.ForeignKey(
        "evidence.EvidenceItem", on_delete=models.CASCADE, related_name="assessments"
    )
    hypothesis = models.ForeignKey(Hypothesis, on_delete=models.CASCADE, related_name="assessments")
    rating = models.CharField(max_length=2, choices=Rating)
    relevance = models.CharField(max_length=8, choices=Relevance, default=Relevance.MEDIUM)
    reason = models.TextField(blank=True, max_length=5000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        # By the column: ordering by the relation would join its table to sort by its order.
        ordering = ["evidence_id", "hypothesis_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evidence", "hypothesis"], name="assessment_once_per_pair"
            ),
            choices_constraint("rating", AssessmentRating, "assessment"),
            choices_constraint("relevance", AssessmentRelevance, "assessment"),
        ]
        indexes = [models.Index(fields=["hypothesis"], name="assessment_hypothesis_idx")]

    def __str__(self) -> str:
        return f"{self.rating} ({self.relevance})"

    @classmethod
    def rate(
        cls,
        evidence: Any,
        hypothesis: Hypothesis,
        *,
        by: Any,
        rating: str,
        relevance: str = Relevance.MEDIUM,
        reason: str = "",
        expected_version: int | None = None,
    ) -> Assessment:
        """Set the cell for (EVIDENCE, HYPOTHESIS), creating it or updating it in place.

        EXPECTED_VERSION: the cell's version when the form was loaded (0: no
        cell yet); ``Conflict`` if someone rated it since.
        """
        if evidence.incident_id != hypothesis.incident_id:
            raise ValidationError("The evidence and the hypothesis belong to different cases.")
        if getattr(evidence, "withdrawn_at", None) is not None:
            raise ValidationError("This source is withdrawn: restore it before rating it.")
        if rating not in cls.Rating.values:
            raise ValidationError({"rating": f"“{rating}” is not a rating."})
        if relevance not in cls.Relevance.values:
            raise ValidationError({"relevance": f"“{relevance}” is not a relevance."})
        reason = written_text(reason, "reason")
        field = cls._meta.get_field("reason")
        limit = field.max_length if isinstance(field, models.Field) else None
        if limit is not None and len(reason) > limit:
            raise ValidationError({"reason": f"Keep the reason within {limit:,} characters."})
        now = timezone.now()
        with transaction.atomic():
            cell, created = cls.objects.select_for_update().get_or_create(
                evidence=evidence,
                hypothesis=hypothesis,
                defaults={"rating": rating, "relevance": relevance, "reason": reason, "author": by},
            )
            if created and expected_version:
                cell.version = 0  # it had been removed meanwhile: show it as new
                check_version(cell, expected_version)
            if not created:
                check_version(cell, expected_version)
                cell.rating, cell.relevance, cell.reason, cell.author = (
                    rating,
                    relevance,
                    reason,
                    by,
                )
                cell.version += 1
                cell.updated_at = now
                # Every value was checked above and the pair is unchanged: no
                # full_clean (the database still enforces the constraints).
                cell.save()
            Incident.objects.filter(pk=hypothesis.incident_id).update(last_activity_at=now)
            return cell

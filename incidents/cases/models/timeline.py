"""A case's timeline: entries written by a person, or automatic."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.functional import Promise

from incidents.cases.markdown import render_markdown
from incidents.cases.models.common import choices_constraint, written_text
from incidents.cases.models.incidents import Incident
from incidents.reports import tlp as marking


class StatusUpdateQuerySet(models.QuerySet["StatusUpdate"]):
    def post(
        self,
        incident: Incident,
        *,
        kind: str,
        body: str,
        by: Any = None,
        hypothesis: Any = None,
        evidence: Any = None,
    ) -> StatusUpdate:
        """Add an entry to INCIDENT's timeline and mark the case as active now.

        Both writes in one transaction; inside a caller's transaction (a move,
        a rating) no savepoint is taken: the caller's block is the unit.
        """
        body = written_text(body, "body")
        if not body:
            raise ValidationError({"body": "Write something before posting."})
        now = timezone.now()
        with transaction.atomic(savepoint=False):
            return self._post(incident, kind, body, by, hypothesis, evidence, now)

    def _post(
        self,
        incident: Incident,
        kind: str,
        body: str,
        by: Any,
        hypothesis: Any,
        evidence: Any,
        now: dt.datetime,
    ) -> StatusUpdate:
        update = self.create(
            incident=incident,
            kind=kind,
            body=body,
            body_html=render_markdown(body),
            author=by if getattr(by, "pk", None) else None,
            hypothesis=hypothesis,
            evidence=evidence,
            created_at=now,
            tlp=marking.inherited(incident),
        )
        Incident.objects.filter(pk=incident.pk).update(last_activity_at=now)
        return update


class StatusUpdateKind(models.TextChoices):
    NOTE = "note", "Note"
    FINDING = "finding", "Finding"
    OFFICIAL_STATEMENT = "official_statement", "Official statement"
    CASE_STATUS = "case_status", "Case status changed"
    HYPOTHESIS_ADDED = "hypothesis_added", "Hypothesis added"
    HYPOTHESIS_MOVED = "hypothesis_moved", "Hypothesis moved"
    CONFIDENCE_CHANGED = "confidence_changed", "Confidence changed"
    EVIDENCE_ADDED = "evidence_added", "Evidence added"
    MEMBERS_CHANGED = "members_changed", "Members changed"
    CHRONOLOGY_CHANGED = "chronology_changed", "Chronology changed"
    MARKING_CHANGED = "marking_changed", "TLP marking changed"
    JUDGEMENTS_CHANGED = "judgements_changed", "Key judgements changed"
    REPORT = "report", "Report"
    EVIDENCE_CHANGED = "evidence_changed", "Source changed"
    CASE_EDITED = "case_edited", "Case edited"

    @classmethod
    def written(cls) -> list[tuple[str, str | Promise]]:
        """The kinds a person may post by hand."""
        return [(k.value, k.label) for k in (cls.NOTE, cls.FINDING, cls.OFFICIAL_STATEMENT)]

    @property
    def is_automatic(self) -> bool:
        return self not in {self.NOTE, self.FINDING, self.OFFICIAL_STATEMENT}


class StatusUpdate(models.Model):
    """An entry on a case's timeline: written by a person, or automatic."""

    Kind = StatusUpdateKind
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=24, choices=Kind, default=Kind.NOTE)
    body = models.TextField(max_length=20000)
    body_html = models.TextField(editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_updates",
    )
    hypothesis = models.ForeignKey(
        "hypotheses.Hypothesis",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="timeline_entries",
    )
    evidence = models.ForeignKey(
        "evidence.EvidenceItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="timeline_entries",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    tlp = marking.field()  # the case's level unless marked otherwise

    objects = StatusUpdateQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_constraint("kind", StatusUpdateKind, "statusupdate"),
            choices_constraint("tlp", marking.TLP, "statusupdate"),
        ]
        indexes = [
            models.Index(fields=["incident", "-created_at", "-id"], name="update_timeline_idx"),
            models.Index(fields=["incident", "kind", "-created_at"], name="update_kind_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} on {self.incident_id} at {self.created_at:%Y-%m-%d %H:%M}"
        )

    @property
    def is_automatic(self) -> bool:
        return self.Kind(self.kind).is_automatic

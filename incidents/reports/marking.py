"""Changing a TLP marking, and the case's key judgements: each one transaction.

A marking changes on the row it marks (a case, a source, a timeline entry, an
annotation), with its activity-log entry; the audit trail records the row's
before and after (database triggers). Versioned rows (the case, a source, an
annotation) refuse a stale change (``incidents.audit.versioning``). Who may
change what is the views' check (docs/security.md): the case's level and its
key judgements are the lead's, an item's level is any writer's.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from incidents.audit.versioning import check_version
from incidents.cases.models import Incident, StatusUpdate, written_text
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.reports.tlp import RANK, TLP

MARKED_MODELS = (Incident, EvidenceItem, StatusUpdate, Annotation)
# The timeline entries that carry a level worth changing: what people write.
MARKABLE_ENTRIES = frozenset(
    {StatusUpdate.Kind.NOTE, StatusUpdate.Kind.FINDING, StatusUpdate.Kind.OFFICIAL_STATEMENT}
)


def _describe(obj: models.Model) -> str:
    if isinstance(obj, Incident):
        return "The case"
    if isinstance(obj, EvidenceItem):
        return f"Source “{obj.title}”"
    if isinstance(obj, StatusUpdate):
        return f"{obj.get_kind_display()} #{obj.pk}"
    return f"Annotation #{obj.pk}"


def mark(
    obj: Incident | EvidenceItem | StatusUpdate | Annotation,
    level: str,
    *,
    by: Any,
    expected_version: int | None = None,
) -> StatusUpdate:
    """Mark OBJ with LEVEL, on the case's activity log, in one transaction."""
    if level not in RANK:
        raise ValidationError({"tlp": f"“{level}” is not a TLP level."})
    model = type(obj)
    if model not in MARKED_MODELS:
        raise TypeError(f"{model.__name__} carries no TLP marking")
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=obj.pk)
        if isinstance(locked, StatusUpdate) and locked.kind not in MARKABLE_ENTRIES:
            raise ValidationError({"tlp": "Automatic entries carry their case's level."})
        if hasattr(locked, "version"):
            check_version(locked, expected_version)
        old = locked.tlp
        if old == level:
            raise ValidationError({"tlp": f"It is already marked {TLP(level).label}."})
        locked.tlp = level
        fields = ["tlp"]
        if hasattr(locked, "version"):
            locked.version += 1
            fields.append("version")
        if hasattr(locked, "updated_at"):
            locked.updated_at = timezone.now()
            fields.append("updated_at")
        locked.save(update_fields=fields)
        for name in fields:
            setattr(obj, name, getattr(locked, name))
        incident = _case_of(locked)
        wider = RANK[level] < RANK[old]
        return StatusUpdate.objects.post(
            incident,
            kind=StatusUpdate.Kind.MARKING_CHANGED,
            by=by,
            evidence=locked if isinstance(locked, EvidenceItem) else None,
            body=(
                f"{_describe(locked)} marked {TLP(level).label} (was {TLP(old).label})"
                + (": it may now reach a wider audience." if wider else ".")
            ),
        )


def _case_of(obj: models.Model) -> Incident:
    """OBJ's case with its level (the entry about the change takes it)."""
    if isinstance(obj, Incident):
        return obj
    if isinstance(obj, Annotation):
        return Incident.objects.only("id", "tlp").get(evidence=obj.item_id)
    return Incident.objects.only("id", "tlp").get(pk=obj.incident_id)  # type: ignore[attr-defined]


def set_key_judgements(
    incident: Incident, text: str, *, by: Any, expected_version: int | None = None
) -> StatusUpdate:
    """Replace the case's key judgements (Markdown), on the activity log."""
    text = written_text(text, "key_judgements")
    if len(text) > 20000:
        raise ValidationError(
            {"key_judgements": "Keep the key judgements under 20,000 characters."}
        )
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        check_version(locked, expected_version)
        if locked.key_judgements == text:
            raise ValidationError({"key_judgements": "Nothing changed."})
        locked.key_judgements = text
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["key_judgements", "version", "updated_at"])
        incident.key_judgements, incident.version = locked.key_judgements, locked.version
        incident.updated_at = locked.updated_at
        return StatusUpdate.objects.post(
            locked,
            kind=StatusUpdate.Kind.JUDGEMENTS_CHANGED,
            by=by,
            body="Key judgements " + ("written." if text else "cleared."),
        )

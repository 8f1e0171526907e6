"""The audit trail: append-only, hash-chained, written by database triggers.

The table is created and guarded by ``incidents.audit.db`` (raw SQL per
database), so the model is unmanaged: Django reads it, never writes it, and a
test-suite flush leaves it alone (the triggers would refuse anyway).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.apps import apps
from django.db import models


@functools.cache
def _table_names() -> dict[str, str]:
    return {
        m._meta.db_table: str(m._meta.verbose_name)
        for m in apps.get_models(include_auto_created=True)
    }


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_incident(self, incident: Any) -> AuditEventQuerySet:
        return self.filter(incident_id=incident.pk)

    def for_object(self, obj: models.Model) -> AuditEventQuerySet:
        return self.filter(table_name=obj._meta.db_table, object_pk=str(obj.pk))

    # The ORM never writes this table: the triggers do.
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The audit trail is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit trail is append-only.")


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        INSERT = "insert", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"

    at = models.DateTimeField()
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150)
    request_id = models.CharField(max_length=64, blank=True)
    client_addr = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=200)
    table_name = models.CharField(max_length=100)
    object_pk = models.CharField(max_length=64)
    incident_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=6, choices=Action)
    before = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: no row before)
    after = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: no row after)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "audit_auditevent"
        ordering = ["id"]
        verbose_name = "audit record"

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.table_name}:{self.object_pk} by {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("The audit trail is written by database triggers only.")

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit trail is append-only.")

    @property
    def before_data(self) -> dict[str, Any]:
        return json.loads(self.before) if self.before else {}

    @property
    def after_data(self) -> dict[str, Any]:
        return json.loads(self.after) if self.after else {}

    @property
    def model_name(self) -> str:
        """A reader's name for the table: "hypothesis", "evidence item", …"""
        return _table_names().get(self.table_name, self.table_name)

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for each field that differs; every field for create/delete."""
        before, after = self.before_data, self.after_data
        keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
        return [
            (key, before.get(key), after.get(key))
            for key in keys
            if before.get(key) != after.get(key) or self.action != self.Action.UPDATE
        ]

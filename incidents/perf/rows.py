"""The generator's rows: the tables it writes, their columns, and how they are written.

``Writer`` writes a chunk's rows with PostgreSQL ``COPY`` (psycopg's
``cursor.copy()``), or with ``bulk_create`` on SQLite; ``Ids`` hands out ids
after the current maximum of each table. Used by ``incidents.perf.generator``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any, cast

from django.core.management.color import no_style
from django.db import connections, models
from django.db.models import Max

from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, ConfidenceChange, Hypothesis


class Writer:
    """COPY on PostgreSQL, bulk_create elsewhere; fills fields the caller left out."""

    def __init__(self, using: str = "default") -> None:
        self.using = using
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        self.rows: dict[str, int] = {}

    def _extras(self, model: type[models.Model], columns: Sequence[str]) -> list[tuple[str, Any]]:
        """Defaults for concrete fields added to MODEL after this generator was written."""
        extras = []
        for f in model._meta.concrete_fields:
            if f.attname in columns or f.primary_key or f.null:
                continue
            if getattr(f, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED:
                continue
            extras.append((f.attname, f.get_default()))
        return extras

    def write(
        self, model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        extras = self._extras(model, columns)
        names = list(columns) + [name for name, _ in extras]
        tail = tuple(value for _, value in extras)
        self.rows[model._meta.label] = self.rows.get(model._meta.label, 0) + len(rows)
        if self.postgres:
            tail = tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in tail)
            cols = ", ".join(self.connection.ops.quote_name(column(model, n)) for n in names)
            table = self.connection.ops.quote_name(model._meta.db_table)
            json_at = [
                i
                for i, n in enumerate(columns)
                if isinstance(model._meta.get_field(n), models.JSONField)
            ]
            sql = f"COPY {table} ({cols}) FROM STDIN"
            with self.connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    if json_at:
                        row = list(row)
                        for i in json_at:
                            row[i] = json.dumps(row[i])
                    copy.write_row(tuple(row) + tail)
        else:
            objs = [model(**dict(zip(names, tuple(row) + tail, strict=True))) for row in rows]
            model._default_manager.using(self.using).bulk_create(objs, batch_size=500)

    def reset_sequences(self, model_list: Iterable[type[models.Model]]) -> None:
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(model_list))
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def column(model: type[models.Model], name: str) -> str:
    """The database column of MODEL's concrete field NAME (its name or its attname)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model._meta.label}.{name} is not a column")
    return field.column


CUSTODY_REASON = "Collected during the investigation."


def custody_row(entry_id: int, item_id: int, actor_id: int, at: dt.datetime) -> tuple:
    """The first link of an item's custody chain, hashed by the model's own rule.

    The rule reads only these fields: a stand-in carries them, as a model
    instance per item would cost seconds at L.
    """
    entry = SimpleNamespace(
        item_id=item_id,
        action="collected",
        actor_id=actor_id,
        at=at,
        reason=CUSTODY_REASON,
        place="",
        recipient="",
        sha256="",
        previous_hash="",
    )
    stand_in = cast(CustodyEntry, entry)
    entry.hashed_fields = partial(CustodyEntry.hashed_fields, stand_in)
    digest = CustodyEntry.compute_hash(stand_in)
    return (entry_id, item_id, "collected", actor_id, at, CUSTODY_REASON, "", "", "", "", digest)


@dataclass
class Ids:
    """Next free id per table."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, model: type[models.Model], n: int = 1) -> int:
        label = model._meta.label
        first = self.next[label]
        self.next[label] = first + n
        return first


def _max_ids(model_list: Iterable[type[models.Model]], using: str) -> Ids:
    ids = Ids()
    for model in model_list:
        top = model._default_manager.using(using).aggregate(m=Max("pk"))["m"] or 0
        ids.next[model._meta.label] = top + 1
    return ids


@dataclass
class Chunk:
    incidents: list[tuple] = field(default_factory=list)
    tags: list[tuple] = field(default_factory=list)
    memberships: list[tuple] = field(default_factory=list)
    hypotheses: list[tuple] = field(default_factory=list)
    confidence: list[tuple] = field(default_factory=list)
    evidence: list[tuple] = field(default_factory=list)
    custody: list[tuple] = field(default_factory=list)
    assessments: list[tuple] = field(default_factory=list)
    timeline: list[tuple] = field(default_factory=list)
    annotations: list[tuple] = field(default_factory=list)


INCIDENT_COLS = [
    "id",
    "reference",
    "title",
    "summary",
    "occurred_at",
    "occurred_uncertainty",
    "place_name",
    "latitude",
    "longitude",
    "time_zone",
    "severity",
    "status",
    "lead_id",
    "created_by_id",
    "created_at",
    "updated_at",
    "last_activity_at",
    "version",
]
TAG_COLS = ["id", "incident_id", "tag_id"]
MEMBERSHIP_COLS = ["id", "incident_id", "user_id", "role", "created_at"]
HYPOTHESIS_COLS = [
    "id",
    "incident_id",
    "kind",
    "statement",
    "description",
    "status",
    "confidence",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
]
CONFIDENCE_COLS = ["id", "hypothesis_id", "previous", "band", "reason", "author_id", "created_at"]
EVIDENCE_COLS = [
    "id",
    "incident_id",
    "kind",
    "title",
    "description",
    "url",
    "file",
    "original_name",
    "file_sha256",
    "file_size",
    "file_type",
    "text_body",
    "language",
    "reliability",
    "credibility",
    "event_at",
    "event_uncertainty",
    "collected_at",
    "collected_by_id",
    "obtained_from",
    "is_illustrative",
    "extracted_metadata",
    "verification",
    "last_verified_at",
    "created_at",
    "updated_at",
    "version",
    "custody_head",
]
CUSTODY_COLS = [
    "id",
    "item_id",
    "action",
    "actor_id",
    "at",
    "reason",
    "place",
    "recipient",
    "sha256",
    "previous_hash",
    "entry_hash",
]
ASSESSMENT_COLS = [
    "id",
    "evidence_id",
    "hypothesis_id",
    "rating",
    "relevance",
    "reason",
    "author_id",
    "created_at",
    "updated_at",
    "version",
]
TIMELINE_COLS = [
    "id",
    "incident_id",
    "kind",
    "body",
    "body_html",
    "author_id",
    "hypothesis_id",
    "evidence_id",
    "created_at",
]
ANNOTATION_COLS = [
    "id",
    "item_id",
    "author_id",
    "body",
    "stance",
    "hypothesis_id",
    "quote_exact",
    "quote_prefix",
    "quote_suffix",
    "position_start",
    "position_end",
    "region",
    "created_at",
    "updated_at",
    "deleted_at",
    "version",
]

MODELS: list[type[models.Model]] = [
    Incident,
    Incident.tags.through,
    Membership,
    Hypothesis,
    ConfidenceChange,
    EvidenceItem,
    CustodyEntry,
    Assessment,
    StatusUpdate,
    Annotation,
]

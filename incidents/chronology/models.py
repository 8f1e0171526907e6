"""The chronology of a case: clocks, the events investigators add, and the orderings they state.

Every change is a method here that runs in one transaction, locks what it
changes, checks the rule and writes its entry on the case's activity log
(``StatusUpdate``, kind ``chronology_changed``); the audit trail is written
underneath by the database triggers (``incidents.audit``). Views only call
these methods. The arithmetic (correction, propagation) is in
``incidents.chronology.intervals``; what a case's chronology looks like is
computed by ``incidents.chronology.chronicle``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from incidents.audit.versioning import check_version
from incidents.cases.models import (
    Incident,
    StatusUpdate,
    choices_constraint,
    validate_time_zone,
    written_text,
)
from incidents.chronology.intervals import duration_us, format_offset, format_uncertainty
from incidents.params import parse_id

MAX_DURATION = dt.timedelta(days=366)


def offset_words(offset: dt.timedelta, uncertainty: dt.timedelta) -> str:
    """``+4 min 10 s ± 5 s``."""
    text = format_offset(duration_us(offset))
    spread = format_uncertainty(duration_us(uncertainty))
    return f"{text} {spread}" if spread else text


def refuse_closed(incident: Incident) -> None:
    if incident.is_closed:
        raise ValidationError("The case is closed: reopen it before changing its chronology.")


def lock_case(incident: Incident) -> Incident:
    """The case's row, locked: one chronology change of a case at a time."""
    locked = Incident.objects.select_for_update().only("id", "status").get(pk=incident.pk)
    refuse_closed(locked)
    return locked


def post(incident: Incident, by: Any, body: str, evidence: Any = None) -> StatusUpdate:
    return StatusUpdate.objects.post(
        incident, kind=StatusUpdate.Kind.CHRONOLOGY_CHANGED, by=by, body=body, evidence=evidence
    )


def _quoted(text: str) -> str:
    return f"“{text}”"


class ClockKind(models.TextChoices):
    CAMERA = "camera", "Camera"
    PHONE = "phone", "Phone"
    SERVER = "server", "Server"
    WITNESS_ESTIMATE = "witness_estimate", "Witness's estimate"
    OTHER = "other", "Other"


class OffsetMethod(models.TextChoices):
    KNOWN_EVENT = "known_event", "Compared with a known event"
    NTP = "ntp", "NTP at collection"
    EXIF = "exif", "EXIF offset"
    OTHER = "other", "Other (say how in the note)"


class Clock(models.Model):
    """A named time source of a case: a camera, a phone, a server, a witness's estimate.

    ``offset`` is how far ahead of true time the clock runs (negative: behind),
    give or take ``offset_uncertainty``; a time read on it is corrected by
    subtracting the offset (docs/chronology.md).
    """

    Kind = ClockKind
    Method = OffsetMethod
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="clocks")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=24, choices=Kind, default=Kind.OTHER)
    offset = models.DurationField(
        default=dt.timedelta(0), help_text="How far ahead of true time it runs (negative: behind)."
    )
    offset_uncertainty = models.DurationField(default=dt.timedelta(0))
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The zone its wall times are in (a server on UTC); empty: the case's zone.",
    )
    method = models.CharField(
        "how the offset was established", max_length=16, choices=Method, default=Method.OTHER
    )
    note = models.TextField(blank=True, max_length=4000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["incident_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "name"], name="clock_name_once_per_case"),
            choices_constraint("kind", ClockKind, "clock"),
            choices_constraint("method", OffsetMethod, "clock"),
            models.CheckConstraint(
                condition=Q(offset_uncertainty__gte=dt.timedelta(0)),
                name="clock_uncertainty_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def offset_text(self) -> str:
        return offset_words(self.offset, self.offset_uncertainty)

    def _check(self) -> None:
        self.name = written_text(self.name, "name")
        self.note = written_text(self.note, "note")
        if not self.name:
            raise ValidationError({"name": "Name the clock, such as “Phone of witness A”."})
        if abs(self.offset) > MAX_DURATION:
            raise ValidationError({"offset": "An offset of more than a year: check it."})
        if self.offset_uncertainty < dt.timedelta(0):
            raise ValidationError({"offset_uncertainty": "An uncertainty cannot be negative."})
        if self.offset_uncertainty > MAX_DURATION:
            raise ValidationError({"offset_uncertainty": "More than a year: check it."})
        clash = Clock.objects.filter(incident_id=self.incident_id, name=self.name)
        if self.pk:
            clash = clash.exclude(pk=self.pk)
        if clash.exists():
            raise ValidationError({"name": "This case already has a clock of that name."})
        self.full_clean(exclude=["incident", "created_by"], validate_unique=False)

    @classmethod
    def add(
        cls, incident: Incident, *, by: Any, sources: Iterable[Any] = (), **fields: Any
    ) -> Clock:
        """A new clock of INCIDENT, set as the clock of SOURCES (items of the case)."""
        with transaction.atomic():
            locked = lock_case(incident)
            clock = cls(incident=locked, created_by=by, **fields)
            clock._check()
            clock.save()
            moved = clock._take_sources(sources)
            body = (
                f"Clock added: {_quoted(clock.name)} ({clock.get_kind_display().lower()}), "
                f"offset {clock.offset_text} ({clock.get_method_display().lower()})."
            )
            if moved:
                body += f" Clock of {_count(moved, 'source')}: {_titles(moved)}."
            post(locked, by, body)
            return clock

    def change(
        self,
        *,
        by: Any,
        expected_version: int | None = None,
        sources: Iterable[Any] | None = None,
        **fields: Any,
    ) -> Clock:
        """Edit the clock (name, kind, offset, uncertainty, method, note) and,
        when SOURCES is given, make it the clock of exactly those sources."""
        with transaction.atomic():
            locked_case = lock_case(self.incident)
            locked = Clock.objects.select_for_update().get(pk=self.pk)
            try:
                check_version(locked, expected_version)
            except Exception:
                self.version = locked.version
                raise
            before = locked.offset_text
            old_name = locked.name
            for name, value in fields.items():
                setattr(locked, name, value)
            locked._check()
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save()
            moved, released = [], []
            if sources is not None:
                wanted = list(sources)
                wanted_ids = {item.pk for item in wanted}
                released = list(
                    locked.sources.exclude(pk__in=wanted_ids).only("id", "title").order_by("id")
                )
                _set_clock([item.pk for item in released], None)
                moved = locked._take_sources(wanted)
            changes = []
            if old_name != locked.name:
                changes.append(f"renamed from {_quoted(old_name)}")
            if before != locked.offset_text:
                changes.append(f"offset {before} → {locked.offset_text}")
            if moved:
                changes.append(f"now the clock of {_titles(moved)}")
            if released:
                changes.append(f"no longer the clock of {_titles(released)}")
            summary = "; ".join(changes) if changes else "details edited"
            post(locked_case, by, f"Clock {_quoted(locked.name)} changed: {summary}.")
            for name in ("name", "kind", "offset", "offset_uncertainty", "method", "note"):
                setattr(self, name, getattr(locked, name))
            self.version, self.updated_at = locked.version, locked.updated_at
            return self

    def remove(self, *, by: Any) -> None:
        """Delete the clock, if no source and no event is read on it."""
        with transaction.atomic():
            locked_case = lock_case(self.incident)
            locked = Clock.objects.select_for_update().get(pk=self.pk)
            sources = locked.sources.count()
            events = locked.events.count()
            if sources or events:
                used = " and ".join(
                    part
                    for part in (
                        _count(sources, "source") if sources else "",
                        _count(events, "event") if events else "",
                    )
                    if part
                )
                raise ValidationError(
                    f"{_quoted(locked.name)} is the clock of {used}: "
                    "give them another clock (or none) first."
                )
            name = locked.name
            locked.delete()
            post(locked_case, by, f"Clock removed: {_quoted(name)}.")

    def _take_sources(self, sources: Iterable[Any]) -> list[Any]:
        """Make this the clock of SOURCES; the ones that changed, in id order."""
        items = sorted({item.pk: item for item in sources}.values(), key=lambda i: i.pk)
        for item in items:
            if item.incident_id != self.incident_id:
                raise ValidationError({"sources": "A source of another case cannot be chosen."})
        moved = [item for item in items if item.clock_id != self.pk]
        _set_clock([item.pk for item in moved], self.pk)
        return moved

    @classmethod
    def set_for_source(
        cls, item: Any, clock: Clock | None, *, by: Any, expected_version: int | None = None
    ) -> None:
        """Make CLOCK (None: no clock) the clock of the source ITEM."""
        from incidents.evidence.models import EvidenceItem

        with transaction.atomic():
            locked_case = lock_case(item.incident)
            locked = (
                EvidenceItem.objects.select_for_update()
                .only("id", "incident_id", "clock_id", "version", "title")
                .get(pk=item.pk)
            )
            try:
                check_version(locked, expected_version)
            except Exception:
                item.version = locked.version
                raise
            if clock is not None and clock.incident_id != locked.incident_id:
                raise ValidationError({"clock": "A clock of another case cannot be chosen."})
            if locked.clock_id == (clock.pk if clock else None):
                return
            old = cls.objects.filter(pk=locked.clock_id).values_list("name", flat=True).first()
            _set_clock([locked.pk], clock.pk if clock else None)
            was = _quoted(old) if old else "none"
            now = _quoted(clock.name) if clock else "none"
            post(
                locked_case,
                by,
                f"Clock of the source {_quoted(locked.title)}: {was} → {now}.",
                evidence=locked,
            )
            item.clock_id = clock.pk if clock else None
            item.version = locked.version + 1


def _set_clock(item_ids: list[int], clock_id: int | None) -> None:
    """Set the clock of the items ITEM_IDS: a change of each item (its version moves)."""
    if not item_ids:
        return
    from incidents.evidence.models import EvidenceItem

    EvidenceItem.objects.filter(pk__in=item_ids).update(
        clock=clock_id, version=F("version") + 1, updated_at=timezone.now()
    )


def _count(n: int | list[Any], noun: str) -> str:
    number = n if isinstance(n, int) else len(n)
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _titles(items: list[Any], limit: int = 5) -> str:
    shown = ", ".join(_quoted(item.title) for item in items[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")


class ChronologyEvent(models.Model):
    """Something that happened, added by an investigator: a moment (``start_at``)
    or an interval (``start_at`` to ``end_at``), read on ``clock`` (None: the
    time is already true time), give or take ``uncertainty``, supported by
    ``sources`` of the same case."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="chronology_events"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=4000)
    start_at = models.DateTimeField(help_text="When it happened (or began), as the clock showed.")
    end_at = models.DateTimeField(
        null=True, blank=True, help_text="When it ended, for an interval; empty for a moment."
    )
    uncertainty = models.DurationField(default=dt.timedelta(0))
    clock = models.ForeignKey(
        Clock, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    sources = models.ManyToManyField(
        "evidence.EvidenceItem", blank=True, related_name="chronology_events"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["incident_id", "start_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__isnull=True) | Q(end_at__gte=F("start_at")),
                name="chronologyevent_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(uncertainty__gte=dt.timedelta(0)),
                name="chronologyevent_uncertainty_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["incident", "start_at"], name="chronologyevent_case_idx")]

    def __str__(self) -> str:
        return self.title

    def _check(self, sources: list[Any] | None) -> None:
        self.title = written_text(self.title, "title")
        self.description = written_text(self.description, "description")
        if not self.title:
            raise ValidationError({"title": "Say what happened."})
        if self.end_at is not None and self.end_at < self.start_at:
            raise ValidationError({"end_at": "The end comes before the start."})
        if self.uncertainty < dt.timedelta(0):
            raise ValidationError({"uncertainty": "An uncertainty cannot be negative."})
        if self.uncertainty > MAX_DURATION:
            raise ValidationError({"uncertainty": "More than a year: check it."})
        if self.clock is not None and self.clock.incident_id != self.incident_id:
            raise ValidationError({"clock": "A clock of another case cannot be chosen."})
        for item in sources or ():
            if item.incident_id != self.incident_id:
                raise ValidationError({"sources": "A source of another case cannot be cited."})
        self.full_clean(exclude=["incident", "created_by", "clock", "sources"])

    def describe(self) -> str:
        from incidents.chronology.chronicle import time_words

        zone = self.incident.zone
        when = time_words(self.start_at, zone)
        if self.end_at is not None:
            when = f"from {when} to {time_words(self.end_at, zone)}"
        else:
            when = f"at {when}"
        spread = format_uncertainty(duration_us(self.uncertainty))
        clock = f" on {_quoted(self.clock.name)}" if self.clock else ""
        return f"{_quoted(self.title)} {when}{' ' + spread if spread else ''}{clock}"

    @classmethod
    def add(
        cls, incident: Incident, *, by: Any, sources: Iterable[Any] = (), **fields: Any
    ) -> ChronologyEvent:
        with transaction.atomic():
            locked = lock_case(incident)
            event = cls(incident=incident, created_by=by, **fields)
            cited = list(sources)
            event._check(cited)
            event.save()
            event.sources.set(cited)
            post(locked, by, f"Chronology event added: {event.describe()}.")
            return event

    def change(
        self,
        *,
        by: Any,
        expected_version: int | None = None,
        sources: Iterable[Any] | None = None,
        **fields: Any,
    ) -> ChronologyEvent:
        with transaction.atomic():
            locked_case = lock_case(self.incident)
            locked = ChronologyEvent.objects.select_for_update().get(pk=self.pk)
            try:
                check_version(locked, expected_version)
            except Exception:
                self.version = locked.version
                raise
            locked.incident = self.incident
            before = locked.describe()
            for name, value in fields.items():
                setattr(locked, name, value)
            cited = list(sources) if sources is not None else None
            locked._check(cited)
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save()
            if cited is not None:
                locked.sources.set(cited)
            after = locked.describe()
            change = f"{before} → {after}" if before != after else after
            post(locked_case, by, f"Chronology event changed: {change}.")
            self.__dict__.update(
                {
                    k: v
                    for k, v in locked.__dict__.items()
                    if k not in {"_state", "_prefetched_objects_cache"}
                }
            )
            return self

    def remove(self, *, by: Any) -> None:
        with transaction.atomic():
            locked_case = lock_case(self.incident)
            locked = ChronologyEvent.objects.select_for_update().get(pk=self.pk)
            locked.incident = self.incident
            words = locked.describe()
            orderings = OrderingConstraint.objects.filter(Q(a_event=locked) | Q(b_event=locked))
            dropped = orderings.count()
            locked.delete()
            extra = f" ({_count(dropped, 'ordering')} stated on it went with it)" if dropped else ""
            post(locked_case, by, f"Chronology event removed: {words}{extra}.")


class OrderingRelation(models.TextChoices):
    AFTER = "after", "came after"
    BEFORE = "before", "came before"
    DURING = "during", "happened during"


class OrderingConstraint(models.Model):
    """An ordering an investigator states: "A came after B", "A came before B",
    "A happened during B". Each side is a source (``*_item``), an event
    (``*_event``) or, with neither, the incident's own occurrence."""

    Relation = OrderingRelation
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="orderings")
    a_item = models.ForeignKey(
        "evidence.EvidenceItem",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="orderings_as_a",
    )
    a_event = models.ForeignKey(
        ChronologyEvent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="orderings_as_a",
    )
    relation = models.CharField(max_length=8, choices=Relation, default=Relation.AFTER)
    b_item = models.ForeignKey(
        "evidence.EvidenceItem",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="orderings_as_b",
    )
    b_event = models.ForeignKey(
        ChronologyEvent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="orderings_as_b",
    )
    note = models.TextField(blank=True, max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["incident_id", "created_at", "id"]
        constraints = [
            choices_constraint("relation", OrderingRelation, "orderingconstraint"),
            models.CheckConstraint(
                condition=Q(a_item__isnull=True) | Q(a_event__isnull=True),
                name="orderingconstraint_a_one_entry",
            ),
            models.CheckConstraint(
                condition=Q(b_item__isnull=True) | Q(b_event__isnull=True),
                name="orderingconstraint_b_one_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.a_key} {self.relation} {self.b_key}"

    @property
    def a_key(self) -> str:
        return entry_key(self.a_item_id, self.a_event_id)

    @property
    def b_key(self) -> str:
        return entry_key(self.b_item_id, self.b_event_id)

    def _set_sides(self, a: str, b: str) -> None:
        self.a_item_id, self.a_event_id = parse_entry_key(a, "a")
        self.b_item_id, self.b_event_id = parse_entry_key(b, "b")
        if a == b:
            raise ValidationError({"b": "An entry cannot be ordered against itself."})

    def _check(self) -> None:
        from incidents.evidence.models import EvidenceItem

        self.note = written_text(self.note, "note")
        if self.relation not in OrderingRelation.values:
            raise ValidationError({"relation": "Choose how the two are ordered."})
        for side, item_id, event_id in (
            ("a", self.a_item_id, self.a_event_id),
            ("b", self.b_item_id, self.b_event_id),
        ):
            if (
                item_id is not None
                and not EvidenceItem.objects.filter(
                    pk=item_id, incident_id=self.incident_id
                ).exists()
            ):
                raise ValidationError({side: "That source is not in this case."})
            if (
                event_id is not None
                and not ChronologyEvent.objects.filter(
                    pk=event_id, incident_id=self.incident_id
                ).exists()
            ):
                raise ValidationError({side: "That event is not in this case."})
        self.full_clean(
            exclude=["incident", "created_by", "a_item", "a_event", "b_item", "b_event"]
        )

    def describe(self) -> str:
        from incidents.chronology.chronicle import entry_titles

        titles = entry_titles(self.incident_id, [self.a_key, self.b_key])
        return (
            f"{_quoted(titles[self.a_key])} {self.get_relation_display()} "
            f"{_quoted(titles[self.b_key])}"
        )

    @classmethod
    def state(
        cls, incident: Incident, *, by: Any, a: str, relation: str, b: str, note: str = ""
    ) -> OrderingConstraint:
        """State that the entry A came after / before / during the entry B
        (entry keys: ``source:<id>``, ``event:<id>``, ``incident``)."""
        with transaction.atomic():
            locked = lock_case(incident)
            ordering = cls(incident=incident, relation=relation, note=note, created_by=by)
            ordering._set_sides(a, b)
            ordering._check()
            ordering.save()
            post(locked, by, f"Ordering stated: {ordering.describe()}.")
            return ordering

    def change(
        self,
        *,
        by: Any,
        a: str,
        relation: str,
        b: str,
        note: str = "",
        expected_version: int | None = None,
    ) -> OrderingConstraint:
        with transaction.atomic():
            locked_case = lock_case(self.incident)
            locked = OrderingConstraint.objects.select_for_update().get(pk=self.pk)
            try:
                check_version(locked, expected_version)
            except Exception:
                self.version = locked.version
                raise
            before = locked.describe()
            locked._set_sides(a, b)
            locked.relation, locked.note = relation, note
            locked._check()
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save()
            after = locked.describe()
            change = f"{before} → {after}" if before != after else after
            post(locked_case, by, f"Ordering changed: {change}.")
            for name in ("a_item_id", "a_event_id", "b_item_id", "b_event_id", "relation"):
                setattr(self, name, getattr(locked, name))
            self.note, self.version = locked.note, locked.version
            return self

    def remove(self, *, by: Any) -> None:
        with transaction.atomic():
            locked_case = lock_case(self.incident)
            locked = OrderingConstraint.objects.select_for_update().get(pk=self.pk)
            words = locked.describe()
            locked.delete()
            post(locked_case, by, f"Ordering withdrawn: {words}.")


INCIDENT_KEY = "incident"


def entry_key(item_id: int | None, event_id: int | None) -> str:
    """The key of a chronology entry: ``source:<id>``, ``event:<id>`` or ``incident``."""
    if item_id is not None:
        return f"source:{item_id}"
    if event_id is not None:
        return f"event:{event_id}"
    return INCIDENT_KEY


def parse_entry_key(key: str, field: str = "entry") -> tuple[int | None, int | None]:
    """(item id, event id) of an entry KEY; (None, None) for the incident."""
    if key == INCIDENT_KEY:
        return None, None
    kind, _, number = key.partition(":")
    value = parse_id(number) if kind in {"source", "event"} else None  # ASCII digits, 64 bits
    if value is not None:
        return (value, None) if kind == "source" else (None, value)
    raise ValidationError({field: "Choose an entry of this case's chronology."})

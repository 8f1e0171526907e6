"""Forms of the chronology page: clocks, events, orderings, a source's clock.

The forms check the shape of the input (a duration people can read, a wall
time that exists in the clock's zone, a choice among the case's own clocks,
sources and entries); the rules live on the models, whose ValidationErrors
are put back on these forms (``incidents.hypotheses.forms.apply_change``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from incidents.audit.versioning import VersionField
from incidents.cases.models import Incident
from incidents.chronology.chronicle import MONTHS
from incidents.chronology.intervals import DurationError, input_duration, parse_duration
from incidents.chronology.models import (
    INCIDENT_KEY,
    ChronologyEvent,
    Clock,
    OrderingConstraint,
)
from incidents.params import is_clean_text, is_storable, parse_id

LABEL_CHARS = 90


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class CaseChoices:
    """What the forms of a case offer: its clocks, its sources and its events."""

    incident: Incident
    clocks: list[tuple[int, str, str]]  # id, name, time zone ("" = the case's)
    sources: list[tuple[int, str, dt.datetime | None]]  # id, title, event time
    events: list[tuple[int, str]]

    @classmethod
    def of(cls, incident: Incident, *, events: bool = False) -> CaseChoices:
        """Three queries at most: clocks, sources and (EVENTS) events."""
        from incidents.evidence.models import EvidenceItem

        clocks = list(
            Clock.objects.filter(incident=incident)
            .order_by("name", "id")
            .values_list("id", "name", "time_zone")
        )
        sources = list(
            EvidenceItem.objects.filter(incident=incident)
            .order_by("created_at", "id")
            .values_list("id", "title", "event_at")
        )
        rows = (
            list(
                ChronologyEvent.objects.filter(incident=incident)
                .order_by("start_at", "id")
                .values_list("id", "title")
            )
            if events
            else []
        )
        return cls(incident, clocks, sources, rows)

    def when(self, moment: dt.datetime | None) -> str:
        if moment is None:
            return "no time"
        local = moment.astimezone(self.incident.zone)
        return f"{local.day} {MONTHS[local.month - 1]} {local:%H:%M}"

    def clock_choices(self, none_label: str) -> list[tuple[str, str]]:
        return [("", none_label), *((str(pk), _short(name)) for pk, name, _ in self.clocks)]

    def source_choices(self) -> list[tuple[str, str]]:
        return [(str(pk), _short(f"{title} ({self.when(at)})")) for pk, title, at in self.sources]

    def entry_choices(self) -> list[tuple[str, list[tuple[str, str]]] | tuple[str, str]]:
        return [
            ("", "Choose…"),
            (INCIDENT_KEY, "The incident's own occurrence"),
            ("Events", [(f"event:{pk}", _short(title)) for pk, title in self.events]),
            (
                "Sources",
                [(f"source:{pk}", label) for pk, label in self.source_choices_by_id()],
            ),
        ]

    def source_choices_by_id(self) -> list[tuple[int, str]]:
        return [(pk, _short(f"{title} ({self.when(at)})")) for pk, title, at in self.sources]

    def zone_of(self, clock_id: int | None) -> zoneinfo.ZoneInfo:
        for pk, _, zone in self.clocks:
            if pk == clock_id and zone:
                return zoneinfo.ZoneInfo(zone)
        return self.incident.zone


class DurationInput(forms.CharField):
    """A duration as people write it (``+4 min 10 s``, ``-0:30``, ``± 2 s``)."""

    def __init__(self, *, signed: bool, **kwargs: Any) -> None:
        self.signed = signed
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> dt.timedelta | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        try:
            micro = parse_duration(text, signed=self.signed)
        except DurationError as exc:
            raise ValidationError(str(exc), code="invalid") from None
        return dt.timedelta(microseconds=micro)


class WallTime(forms.CharField):
    """A date and time as a clock showed it, without a zone (the form attaches
    the clock's): ``2024-11-27T20:14:05`` (seconds and milliseconds optional)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> dt.datetime | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        try:
            moment = dt.datetime.fromisoformat(text.strip().replace(" ", "T"))
        except ValueError:
            raise ValidationError(
                "Write a date and time, such as 2024-11-27T20:14:05.", code="invalid"
            ) from None
        if moment.tzinfo is not None:
            raise ValidationError("Give the time as the clock showed it, without a zone.")
        return moment


def aware(form: forms.Form, name: str, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The wall time of the field NAME in ZONE, or None with an error on the form."""
    local = form.cleaned_data.get(name)
    if local is None:
        return None
    moment = local.replace(tzinfo=zone)
    if not is_storable(moment):
        form.add_error(name, "That date is out of range.")
        return None
    utc = moment.astimezone(dt.UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local:
        form.add_error(
            name,
            f"{local:%Y-%m-%d %H:%M:%S} did not exist in {zone.key} (the clocks changed): "
            "pick another time.",
        )
        return None
    return utc


def clean_text_fields(form: forms.Form, *names: str) -> None:
    for name in names:
        value = form.cleaned_data.get(name)
        if isinstance(value, str) and not is_clean_text(value):
            form.add_error(name, "Remove the null or unreadable characters from this text.")


class ClockForm(forms.Form):
    name = forms.CharField(
        max_length=120, help_text="Such as “Phone of witness A” or “Operator's log server”."
    )
    kind = forms.ChoiceField(choices=Clock.Kind.choices, initial=Clock.Kind.OTHER)
    offset = DurationInput(
        signed=True,
        initial="0 s",
        help_text="How far ahead of true time it runs: +4 min 10 s for a clock 4 min 10 s "
        "fast, −30 s for one 30 s slow. Corrected time = recorded time − offset.",
    )
    offset_uncertainty = DurationInput(
        signed=False,
        required=False,
        label="Give or take",
        initial="0 s",
        help_text="How sure the offset is, such as 5 s.",
    )
    method = forms.ChoiceField(
        label="How the offset was established",
        choices=Clock.Method.choices,
        initial=Clock.Method.OTHER,
    )
    time_zone = forms.CharField(
        max_length=64,
        required=False,
        label="Its time zone",
        help_text="The zone its wall times are in, such as UTC for a server; "
        "leave empty for the case's zone.",
    )
    note = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    sources = forms.MultipleChoiceField(
        required=False,
        label="Sources read on this clock",
        help_text="Their event times are corrected by this clock's offset. "
        "Hold Ctrl (⌘ on a Mac) to choose several.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    version = VersionField()  # required: a post without it is refused (issue 16.4)

    def __init__(self, *args: Any, choices: CaseChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = choices
        self.fields["sources"].choices = choices.source_choices()  # type: ignore[attr-defined]
        zone = choices.incident.time_zone
        self.fields["time_zone"].widget.attrs["placeholder"] = zone

    @classmethod
    def initial_for(cls, clock: Clock, source_ids: list[int]) -> dict[str, Any]:
        from incidents.chronology.intervals import duration_us

        return {
            "name": clock.name,
            "kind": clock.kind,
            "offset": input_duration(duration_us(clock.offset)),
            "offset_uncertainty": input_duration(duration_us(clock.offset_uncertainty)),
            "method": clock.method,
            "time_zone": clock.time_zone,
            "note": clock.note,
            "sources": [str(pk) for pk in source_ids],
            "version": clock.version,
        }

    def clean_time_zone(self) -> str:
        value = (self.cleaned_data.get("time_zone") or "").strip()
        if not value:
            return ""
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                f"“{value}” is not a known time zone; use an IANA name such as UTC or Asia/Almaty."
            ) from None
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        clean_text_fields(self, "name", "note")
        if data.get("offset_uncertainty") is None:
            data["offset_uncertainty"] = dt.timedelta(0)
        return data

    def clock_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in ("name", "kind", "offset", "offset_uncertainty", "method", "time_zone")
        } | {"note": data.get("note", "")}

    def source_ids(self) -> list[int]:
        return [pk for value in self.cleaned_data.get("sources", []) if (pk := parse_id(value))]


class EventForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="What happened, in a few words.")
    start_at = WallTime(
        label="At (or from)",
        help_text="As the chosen clock showed it, in that clock's zone.",
    )
    end_at = WallTime(
        label="Until", required=False, help_text="For an interval; leave empty for a moment."
    )
    uncertainty = DurationInput(
        signed=False,
        required=False,
        label="Give or take",
        help_text="How precisely the time was read, such as 1 s or 2 min.",
    )
    clock = forms.ChoiceField(
        required=False,
        label="Read on the clock",
        help_text="Its offset corrects the time; none: the time is already true time.",
    )
    sources = forms.MultipleChoiceField(
        required=False,
        label="Supporting sources",
        help_text="Hold Ctrl (⌘ on a Mac) to choose several.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    description = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = VersionField()  # required: a post without it is refused (issue 16.4)

    def __init__(self, *args: Any, choices: CaseChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = choices
        none = f"None: the time is true time ({choices.incident.time_zone})"
        self.fields["clock"].choices = choices.clock_choices(none)  # type: ignore[attr-defined]
        self.fields["sources"].choices = choices.source_choices()  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, event: ChronologyEvent, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
        from incidents.chronology.intervals import duration_us

        def wall(moment: dt.datetime | None) -> str:
            if moment is None:
                return ""
            local = moment.astimezone(zone)
            text = f"{local:%Y-%m-%dT%H:%M:%S}"
            return text + (f".{local.microsecond // 1000:03d}" if local.microsecond else "")

        return {
            "title": event.title,
            "description": event.description,
            "start_at": wall(event.start_at),
            "end_at": wall(event.end_at),
            "uncertainty": input_duration(duration_us(event.uncertainty)),
            "clock": str(event.clock_id or ""),
            "sources": [str(pk) for pk in event.sources.values_list("id", flat=True)],
            "version": event.version,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        clean_text_fields(self, "title", "description")
        clock_id = parse_id(data.get("clock") or "")
        data["clock_id"] = clock_id
        zone = self.choices.zone_of(clock_id)
        data["start_utc"] = aware(self, "start_at", zone)
        data["end_utc"] = aware(self, "end_at", zone)
        start, end = data.get("start_utc"), data.get("end_utc")
        if start and end and end < start:
            self.add_error("end_at", "The end comes before the start.")
        if data.get("uncertainty") is None:
            data["uncertainty"] = dt.timedelta(0)
        return data

    def event_fields(self, clocks: dict[int, Clock]) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data.get("description", ""),
            "start_at": data["start_utc"],
            "end_at": data.get("end_utc"),
            "uncertainty": data["uncertainty"],
            "clock": clocks.get(data["clock_id"]) if data["clock_id"] else None,
        }

    def source_ids(self) -> list[int]:
        return [pk for value in self.cleaned_data.get("sources", []) if (pk := parse_id(value))]


class OrderingForm(forms.Form):
    a = forms.ChoiceField(label="This")
    relation = forms.ChoiceField(
        label="Relation", choices=OrderingConstraint.Relation.choices, initial="after"
    )
    b = forms.ChoiceField(label="That")
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="Why",
        help_text="What shows the order: a frame, a reply, a log line.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    version = VersionField()  # required: a post without it is refused (issue 16.4)

    def __init__(self, *args: Any, choices: CaseChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        entries = choices.entry_choices()
        self.fields["a"].choices = entries  # type: ignore[attr-defined]
        self.fields["b"].choices = entries  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        clean_text_fields(self, "note")
        if data.get("a") and data.get("a") == data.get("b"):
            self.add_error("b", "Choose two different entries.")
        return data


class SourceClockForm(forms.Form):
    clock = forms.ChoiceField(
        required=False,
        label="Read on the clock",
        help_text="Its offset corrects the source's event time.",
    )
    version = VersionField()  # required: a post without it is refused (issue 16.4)

    def __init__(self, *args: Any, choices: CaseChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = "None: its event time is true time"
        self.fields["clock"].choices = choices.clock_choices(none)  # type: ignore[attr-defined]

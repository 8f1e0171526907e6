"""Forms of the case list (filters), of opening a case, and of the case page
(moving the case to another status, posting to its timeline)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from functools import cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from incidents.audit.versioning import VersionField
from incidents.cases.models import Incident, StatusUpdate, validate_time_zone
from incidents.cases.search import SORTS, BadCursor, Cursor, segments_for, source_segments
from incidents.params import OUT_OF_RANGE, BoundedDateField, is_storable

ANY = [("", "Any")]


class CaseFilterForm(forms.Form):
    """The query string of /cases/: what to search (cases or sources), filters, sort, cursor."""

    SCOPES = [("cases", "Cases"), ("sources", "Sources")]

    scope = forms.ChoiceField(
        label="Search in",
        choices=SCOPES,
        required=False,
        widget=forms.RadioSelect,
    )
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": 'e.g. screen -glitch, "night operator"',
                "autocomplete": "off",
            }
        ),
    )
    status = forms.ChoiceField(choices=ANY + list(Incident.Status.choices), required=False)
    severity = forms.ChoiceField(choices=ANY + list(Incident.Severity.choices), required=False)
    tag = forms.CharField(
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "e.g. astana", "autocomplete": "off"}),
    )
    lead = forms.CharField(
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "username", "autocomplete": "off"}),
    )
    occurred_from = BoundedDateField(
        label="Occurred from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="UTC date",
    )
    occurred_to = BoundedDateField(
        label="Occurred to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="UTC date, inclusive",
    )
    confirmed = forms.ChoiceField(
        label="Hypotheses",
        choices=[("", "Any"), ("yes", "One confirmed"), ("no", "None confirmed")],
        required=False,
    )
    sort = forms.ChoiceField(
        choices=[("", "Best match, else last activity")]
        + [(k, v) for k, v in SORTS.items() if k != "relevance"]
        + [("relevance", SORTS["relevance"])],
        required=False,
    )
    after = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    before = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    FILTER_FIELDS = (
        "q",
        "status",
        "severity",
        "tag",
        "lead",
        "occurred_from",
        "occurred_to",
        "confirmed",
    )

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # Without a scope the cases are searched: the radio says so.
        if data is not None and not data.get("scope"):
            data = data.copy()
            data["scope"] = "cases"
        super().__init__(data, *args, **kwargs)

    def clean_tag(self) -> str:
        raw = self.cleaned_data["tag"]
        tag = slugify(raw, allow_unicode=True)
        if raw.strip() and not tag:
            raise ValidationError("A tag is made of letters, numbers and hyphens.")
        return tag

    def clean_lead(self) -> str:
        return self.cleaned_data["lead"].strip()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns, typed as set
        start, end = data.get("occurred_from"), data.get("occurred_to")
        if start and end and start > end:
            self.add_error("occurred_to", "The end date is before the start date.")
        utc = dt.UTC
        if start:
            data["occurred_from"] = dt.datetime.combine(start, dt.time.min, tzinfo=utc)
        if end:
            data["occurred_before"] = dt.datetime.combine(
                end + dt.timedelta(days=1), dt.time.min, tzinfo=utc
            )
        text = (data.get("q") or "").strip()
        data["q"] = text
        data["scope"] = data.get("scope") or "cases"
        sort = data.get("sort") or ("relevance" if text else "activity")
        if sort == "relevance" and not text:
            sort = "activity"
        if data["scope"] == "sources":
            # Sources have two orders: best match (with search text) or newest first.
            sort = "relevance" if text else "newest"
            segments = source_segments(sort)
        else:
            segments = segments_for(sort)
        data["sort"] = sort
        for name in ("after", "before"):
            token = data.get(name)
            if not token:
                data[name] = None
                continue
            try:
                data[name] = Cursor.decode(token, segments)
            except BadCursor:
                data[name] = None
                self.add_error(
                    None, "That page link is not valid any more: start again from the first page."
                )
        return data

    @property
    def is_filtered(self) -> bool:
        """Search text or any filter is set."""
        return self.is_bound and any(self.data.get(name) for name in self.FILTER_FIELDS)

    @property
    def has_filters(self) -> bool:
        """A filter other than the search text is set."""
        return self.is_bound and any(self.data.get(name) for name in self.FILTER_FIELDS[1:])


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")
    return [(z, z.replace("_", " ")) for z in zones]


class NaiveDateTimeField(forms.DateTimeField):
    """A wall-clock date and time, without a zone: the form attaches the chosen one."""

    def to_python(self, value: Any) -> dt.datetime | None:
        result = super().to_python(value)
        return result.replace(tzinfo=None) if result else None


class NewCaseForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="What happened, in a few words.")
    summary = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 5})
    )
    occurred_at = NaiveDateTimeField(
        label="Occurred at (local time)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Best estimate, as a clock at the place showed it.",
    )
    uncertainty_minutes = forms.IntegerField(
        label="Give or take (minutes)",
        required=False,
        min_value=0,
        max_value=60 * 24 * 366,
        help_text="How far off the estimate may be; leave empty if unknown.",
    )
    time_zone: forms.Field = forms.ChoiceField(  # the edit form searches a free text
        label="Time zone of the place",
        choices=time_zone_choices,
        initial="UTC",
        help_text="IANA name, e.g. Asia/Almaty.",
    )
    place_name = forms.CharField(label="Place", required=False, max_length=200)
    severity = forms.ChoiceField(
        choices=Incident.Severity.choices, initial=Incident.Severity.MODERATE
    )
    tags = forms.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. astana, led-screen.",
    )
    latitude = forms.DecimalField(
        required=False,
        min_value=Decimal(-90),
        max_value=Decimal(90),
        decimal_places=6,
        max_digits=9,
    )
    longitude = forms.DecimalField(
        required=False,
        min_value=Decimal(-180),
        max_value=Decimal(180),
        decimal_places=6,
        max_digits=9,
    )

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"]
        validate_time_zone(value)
        return value

    def clean_tags(self) -> list[str]:
        names = [slugify(n, allow_unicode=True) for n in self.cleaned_data["tags"].split(",")]
        names = [n for n in names if n]
        if any(len(n) > 50 for n in names):
            raise ValidationError("Each tag must be at most 50 characters.")
        return names

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns, typed as set
        lat, lon = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lon is None) and not (
            self.has_error("latitude") or self.has_error("longitude")
        ):
            self.add_error(
                "longitude" if lon is None else "latitude",
                "Give both latitude and longitude, or neither.",
            )
        local, zone_name = data.get("occurred_at"), data.get("time_zone")
        if local and zone_name:
            zone = zoneinfo.ZoneInfo(zone_name)
            aware = local.replace(tzinfo=zone)
            if not is_storable(aware):  # past the calendar's edge once in UTC
                self.add_error("occurred_at", OUT_OF_RANGE)
            # A wall time skipped by a clock change does not survive the round trip.
            elif aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != local:
                self.add_error(
                    "occurred_at",
                    f"{local:%Y-%m-%d %H:%M} did not exist in {zone_name} "
                    "(the clocks changed): pick another time.",
                )
            else:
                data["occurred_at_utc"] = aware.astimezone(dt.UTC)
        if data.get("uncertainty_minutes") is not None and not local:
            self.add_error("uncertainty_minutes", "Give the time of occurrence first.")
        return data

    def case_fields(self) -> dict[str, Any]:
        """Keyword arguments for ``Incident.open_case``."""
        data = self.cleaned_data
        minutes = data.get("uncertainty_minutes")
        return {
            "title": data["title"].strip(),
            "summary": data["summary"],
            "occurred_at": data.get("occurred_at_utc"),
            "occurred_uncertainty": dt.timedelta(minutes=minutes) if minutes is not None else None,
            "time_zone": data["time_zone"],
            "place_name": data["place_name"].strip(),
            "severity": data["severity"],
            "latitude": data.get("latitude"),
            "longitude": data.get("longitude"),
            "tags": data["tags"],
        }

    def add_model_errors(self, error: ValidationError) -> None:
        """Show errors raised by the model next to the matching field."""
        names = {"occurred_uncertainty": "uncertainty_minutes"}
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field_name, errors in error.error_dict.items():
            target = names.get(field_name, field_name)
            self.add_error(target if target in self.fields else None, errors)


class CaseStatusForm(forms.Form):
    """Move the case to another status (the lead's), with a reason."""

    status = forms.ChoiceField(widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="It goes on the timeline.",
    )
    version = VersionField(required=False)  # a stale one is refused by the model

    def __init__(self, *args: Any, incident: Incident, target: str = "", **kwargs: Any) -> None:
        # One form per offered status on the page: ids must not repeat.
        target = target if target in Incident.Status.values else "status"
        kwargs.setdefault("auto_id", f"id_{target}_%s")
        super().__init__(*args, **kwargs)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s, Incident.Status(s).label) for s in incident.allowed_statuses()]
        field.error_messages["invalid_choice"] = (
            f"A case that is {incident.get_status_display().lower()} cannot move to "
            "“%(value)s”. Reload the page to see the moves it allows now."
        )


class UpdateForm(forms.Form):
    """A note, a finding or an official statement for the case's timeline."""

    kind = forms.ChoiceField(
        choices=StatusUpdate.Kind.written(),
        initial=StatusUpdate.Kind.NOTE,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label="Entry",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown: **bold**, _italic_, lists, [links](https://…).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["prefix"] = "update"
        super().__init__(*args, **kwargs)

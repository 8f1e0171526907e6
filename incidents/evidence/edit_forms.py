"""The forms of a source's edit page (``/evidence/<id>/edit/``): its details,
and its Admiralty grade with the reason for the change.

Both carry the version the source was read at and refuse a post that leaves
a field out (``CompletePostMixin``). Times are in the case's time zone: the
view validates inside ``timezone.override(incident.zone)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone

from incidents.audit.versioning import CompletePostMixin
from incidents.evidence.forms import DATETIME_LOCAL, LocalDateTimeInput
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.forms import version_field
from incidents.params import BoundedDateTimeField

FORMATS = [DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class SourceEditForm(CompletePostMixin, forms.Form):
    title = forms.CharField(max_length=300)
    description = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3})
    )
    kind = forms.ChoiceField(choices=EvidenceItem.Kind.choices)
    url = forms.CharField(
        label="URL",
        required=False,
        max_length=2000,
        validators=[URLValidator(schemes=["http", "https"])],
        widget=forms.URLInput(attrs={"placeholder": "https://…", "inputmode": "url"}),
        help_text="http:// or https:// only; it may sit beside the text and the file.",
    )
    event_at = BoundedDateTimeField(
        label="Event time",
        required=False,
        widget=LocalDateTimeInput(),
        input_formats=FORMATS,
        help_text="When what it shows happened, in the case's time zone.",
    )
    event_uncertainty_minutes = forms.IntegerField(
        label="± minutes", required=False, min_value=0, max_value=60 * 24 * 365
    )
    collected_at = BoundedDateTimeField(
        label="Collected at",
        widget=LocalDateTimeInput(),
        input_formats=FORMATS,
        help_text="When we obtained it, in the case's time zone.",
    )
    obtained_from = forms.CharField(
        label="Obtained from", required=False, max_length=300, help_text="From whom or where."
    )
    language = forms.CharField(
        required=False,
        max_length=35,
        help_text="Language of the text, e.g. kk, ru, en.",
        widget=forms.TextInput(attrs={"size": 6, "autocomplete": "off"}),
    )
    version = version_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        collected = data.get("collected_at")
        if collected and collected > timezone.now() + dt.timedelta(minutes=5):
            self.add_error("collected_at", "Collected-at cannot be in the future.")
        spread, when = data.get("event_uncertainty_minutes"), data.get("event_at")
        if spread is not None and not when and "event_at" not in self.errors:
            self.add_error("event_uncertainty_minutes", "Give the event time first.")
        return data

    @classmethod
    def initial_for(cls, item: EvidenceItem) -> dict[str, Any]:
        zone = item.incident.zone
        spread = item.event_uncertainty
        return {
            "title": item.title,
            "description": item.description,
            "kind": item.kind,
            "url": item.url,
            "event_at": item.event_at.astimezone(zone) if item.event_at else None,
            "event_uncertainty_minutes": int(spread / dt.timedelta(minutes=1))
            if spread is not None
            else None,
            "collected_at": item.collected_at.astimezone(zone),
            "obtained_from": item.obtained_from,
            "language": item.language,
            "version": item.version,
        }

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        minutes = data.get("event_uncertainty_minutes")
        return {
            "title": data["title"].strip(),
            "description": data["description"],
            "kind": data["kind"],
            "url": data["url"].strip(),
            "event_at": data.get("event_at"),
            "event_uncertainty": dt.timedelta(minutes=minutes) if minutes is not None else None,
            "collected_at": data["collected_at"],
            "obtained_from": data["obtained_from"].strip(),
            "language": data["language"].strip(),
        }


class RegradeForm(CompletePostMixin, forms.Form):
    """Another Admiralty grade, with the reason; nothing is preselected but the current grade."""

    unprefixed_fields = ("version",)

    reliability = forms.ChoiceField(
        label="Source reliability", choices=EvidenceItem.Reliability.choices
    )
    credibility = forms.TypedChoiceField(
        label="Information credibility", choices=EvidenceItem.Credibility.choices, coerce=int
    )
    reason = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required: it goes on the activity log and the custody log.",
    )
    version = version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "grade")
        super().__init__(*args, **kwargs)


class WithdrawForm(CompletePostMixin, forms.Form):
    """Withdraw the source: why (a choice, with a note; "other" needs the note)."""

    unprefixed_fields = ("version",)

    reason = forms.ChoiceField(
        label="Why withdraw it?",
        choices=[("", "Choose…"), *EvidenceItem.WithdrawalReason.choices],
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Which source it repeats, who retracted it…; required for “Other”.",
    )
    version = version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "withdraw")
        super().__init__(*args, **kwargs)


class RestoreForm(CompletePostMixin, forms.Form):
    version = version_field()

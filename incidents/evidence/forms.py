"""The form that attaches a source to a case from the case page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone

from incidents.evidence.models import EvidenceItem
from incidents.params import BoundedDateTimeField

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=DATETIME_LOCAL, **kwargs)


class AttachForm(forms.Form):
    """A URL, a file, or a pasted text, with its grade and its two times.

    Times are entered in the case's local time zone: the view validates the
    form inside ``timezone.override(incident.zone)``.
    """

    class Source:
        URL = "url"
        FILE = "file"
        TEXT = "text"
        CHOICES = [(URL, "A web address"), (FILE, "A file"), (TEXT, "Pasted text or statement")]

    source = forms.ChoiceField(
        label="What are you attaching?",
        choices=Source.CHOICES,
        initial=Source.URL,
        widget=forms.RadioSelect,
    )
    url = forms.CharField(
        label="URL",
        required=False,
        max_length=2000,
        validators=[URLValidator(schemes=["http", "https"])],
        widget=forms.URLInput(attrs={"placeholder": "https://…", "inputmode": "url"}),
        help_text="http:// or https:// only; with pasted text, where it was found (optional).",
    )
    file = forms.FileField(label="File", required=False)
    text_body = forms.CharField(
        label="Text",
        required=False,
        max_length=1_000_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Paste the text, or write down the statement as given.",
    )
    kind = forms.ChoiceField(choices=EvidenceItem.Kind.choices, initial=EvidenceItem.Kind.WEB_PAGE)
    title = forms.CharField(max_length=300)
    description = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )
    language = forms.CharField(
        required=False,
        max_length=35,
        help_text="Language of the text, e.g. kk, ru, en.",
        widget=forms.TextInput(attrs={"size": 6, "autocomplete": "off"}),
    )
    event_at = BoundedDateTimeField(
        label="Event time",
        required=False,
        widget=LocalDateTimeInput(),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text="When what it shows happened.",
    )
    event_uncertainty_minutes = forms.IntegerField(
        label="± minutes",
        required=False,
        min_value=0,
        max_value=60 * 24 * 365,
        widget=forms.NumberInput(attrs={"size": 5}),
    )
    collected_at = BoundedDateTimeField(
        label="Collected at",
        widget=LocalDateTimeInput(),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text="When we obtained it.",
    )
    obtained_from = forms.CharField(
        label="Obtained from", required=False, max_length=300, help_text="From whom or where."
    )
    reliability = forms.ChoiceField(
        label="Source reliability",
        choices=EvidenceItem.Reliability.choices,
        initial=EvidenceItem.Reliability.F,
        widget=forms.RadioSelect,
    )
    credibility = forms.TypedChoiceField(
        label="Information credibility",
        choices=EvidenceItem.Credibility.choices,
        coerce=int,
        initial=EvidenceItem.Credibility.CANNOT_BE_JUDGED,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "ev")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("collected_at", now)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        source = data.get("source")
        if source == self.Source.URL and not data.get("url") and "url" not in self.errors:
            self.add_error("url", "Give the web address of the source.")
        if source == self.Source.FILE and not data.get("file") and "file" not in self.errors:
            self.add_error("file", "Choose a file to upload (or drop it on the box).")
        if source == self.Source.TEXT and not (data.get("text_body") or "").strip():
            self.add_error("text_body", "Paste the text or write down the statement.")
        collected = data.get("collected_at")
        if collected and collected > timezone.now() + dt.timedelta(minutes=5):
            self.add_error("collected_at", "Collected-at cannot be in the future.")
        return data

    def attach_fields(self) -> dict[str, Any]:
        """The keyword arguments for ``EvidenceItem.attach`` (only the chosen source)."""
        data = self.cleaned_data
        source = data["source"]
        minutes = data.get("event_uncertainty_minutes")
        return {
            "kind": data["kind"],
            "title": data["title"].strip(),
            "description": data.get("description", ""),
            # Pasted text may keep the address it was found at: both are stored.
            "url": data.get("url", "") if source in (self.Source.URL, self.Source.TEXT) else "",
            "text_body": data.get("text_body", "") if source == self.Source.TEXT else "",
            "language": data.get("language", "").strip(),
            "event_at": data.get("event_at"),
            "event_uncertainty": dt.timedelta(minutes=minutes) if minutes is not None else None,
            "collected_at": data["collected_at"],
            "obtained_from": data.get("obtained_from", "").strip(),
            "reliability": data["reliability"],
            "credibility": data["credibility"],
        }

    @property
    def upload(self) -> Any:
        if self.cleaned_data.get("source") == self.Source.FILE:
            return self.cleaned_data.get("file")
        return None

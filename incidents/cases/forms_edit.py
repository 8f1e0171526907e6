"""The case edit form (``/cases/<reference>/edit/``): the fields of a new case,
the version the case was read at, and a searchable time-zone field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from incidents.audit.versioning import CompletePostMixin
from incidents.cases.forms import NewCaseForm
from incidents.cases.models import Incident
from incidents.hypotheses.forms import version_field

SUMMARY_HELP = "Markdown: **bold**, _italic_, lists, [links](https://…); shown on the case page."
TIME_ZONE_LIST = "time-zone-names"  # the id of the page's <datalist> of zone names


class CaseEditForm(CompletePostMixin, NewCaseForm):
    """Edit a case. Every field must be posted (an empty one empty, not left
    out), with the version the case was read at."""

    time_zone = forms.CharField(
        label="Time zone of the place",
        max_length=64,
        widget=forms.TextInput(
            attrs={"list": TIME_ZONE_LIST, "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="Type to search the IANA names, e.g. Asia/Almaty.",
    )
    version = version_field()

    field_order = [
        "title",
        "summary",
        "place_name",
        "latitude",
        "longitude",
        "occurred_at",
        "uncertainty_minutes",
        "time_zone",
        "severity",
        "tags",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["summary"].help_text = SUMMARY_HELP
        self.fields["latitude"].help_text = "Decimal degrees, north positive, e.g. 51.128."
        self.fields["longitude"].help_text = "Decimal degrees, east positive, e.g. 71.430."

    def clean_time_zone(self) -> str:
        value = (self.cleaned_data.get("time_zone") or "").strip().replace(" ", "_")
        if value not in {z for z, _ in _zones()}:
            raise forms.ValidationError(
                f"“{value}” is not a time zone name: pick one from the list, e.g. Asia/Almaty."
            )
        return value

    @classmethod
    def initial_for(cls, incident: Incident, tags: list[str]) -> dict[str, Any]:
        local = incident.occurred_local
        minutes = incident.occurred_uncertainty
        return {
            "title": incident.title,
            "summary": incident.summary,
            "place_name": incident.place_name,
            "latitude": incident.latitude,
            "longitude": incident.longitude,
            "occurred_at": local.replace(tzinfo=None) if local else None,
            "uncertainty_minutes": int(minutes / dt.timedelta(minutes=1))
            if minutes is not None
            else None,
            "time_zone": incident.time_zone,
            "severity": incident.severity,
            "tags": ", ".join(tags),
            "version": incident.version,
        }

    def changes(self) -> tuple[dict[str, Any], list[str]]:
        """The fields for ``Incident.edit`` and the tags."""
        fields = self.case_fields()
        tags = fields.pop("tags")
        return fields, tags


def _zones() -> list[tuple[str, str]]:
    from incidents.cases.forms import time_zone_choices

    return time_zone_choices()


def time_zone_names() -> list[str]:
    return [z for z, _ in _zones()]

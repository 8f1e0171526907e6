"""The reports page's request form, the markings' and the key judgements' forms."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.audit.versioning import VersionField
from incidents.reports.tlp import RANK, TLP


class RequestForm(forms.Form):
    """Which audience a new report is for: the case's own level or a narrower one."""

    audience = forms.ChoiceField(
        label="For",
        widget=forms.RadioSelect,
        help_text="Content marked above this level is left out of the report and only counted.",
    )

    def __init__(self, *args: Any, case_level: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["audience"].choices = [  # type: ignore[attr-defined]
            (level.value, level.label) for level in TLP if RANK[level] >= RANK[case_level]
        ]
        self.fields["audience"].initial = case_level


class MarkForm(forms.Form):
    """A new level for one marked row (which row is the view's business)."""

    tlp = forms.ChoiceField(label="TLP", choices=TLP.choices)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class JudgementsForm(forms.Form):
    key_judgements = forms.CharField(
        label="Key judgements",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=(
            "Markdown. Say how likely each judgement is with the words of the scale "
            "(almost no chance, very unlikely, unlikely, roughly even chance, likely, very "
            "likely, almost certain): the report ties each to its band."
        ),
    )
    version = VersionField()

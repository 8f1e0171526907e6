"""Forms of the evidence item page (validation of the rules lives on the models)."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.audit.versioning import CompletePostMixin
from incidents.evidence.models import AnnotationStance
from incidents.params import INT_MAX


def set_hypotheses(form: forms.Form, hypotheses: Any) -> None:
    """Choices from an already-fetched list: rendering one form per annotation costs no query."""
    by_pk = {str(h.pk): h for h in hypotheses}
    field = form.fields["hypothesis"]
    assert isinstance(field, forms.TypedChoiceField)
    field.choices = [("", "(none)"), *((pk, h.statement[:80]) for pk, h in by_pk.items())]
    field.coerce = by_pk.get
    field.empty_value = None


class AnnotationForm(forms.Form):
    body = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=10000, required=False
    )
    tags = forms.CharField(
        label="Tags",
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. timestamp, operator-log.",
    )
    stance = forms.ChoiceField(label="Stance", choices=AnnotationStance.choices, required=False)
    hypothesis = forms.TypedChoiceField(label="Toward hypothesis", required=False)
    exact = forms.CharField(
        label="Passage",
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Select the passage in the text above, or paste it here.",
    )
    # TextQuoteSelector context (named apart from Form.prefix, the HTML name prefix).
    quote_prefix = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    quote_suffix = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    # Offsets in the text: a 32-bit column each (``params.INT_MAX``).
    start = forms.IntegerField(
        required=False, min_value=0, max_value=INT_MAX, widget=forms.HiddenInput
    )
    end = forms.IntegerField(
        required=False, min_value=0, max_value=INT_MAX, widget=forms.HiddenInput
    )
    region = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, hypotheses: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_hypotheses(self, hypotheses)

    @property
    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


class AnnotationEditForm(CompletePostMixin, forms.Form):
    body = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=10000, required=False
    )
    tags = forms.CharField(label="Tags", required=False, max_length=500)
    stance = forms.ChoiceField(label="Stance", choices=AnnotationStance.choices, required=False)
    hypothesis = forms.TypedChoiceField(label="Toward hypothesis", required=False)

    def __init__(self, *args: Any, hypotheses: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_hypotheses(self, hypotheses)

    @property
    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


class TransferForm(forms.Form):
    recipient = forms.CharField(label="To whom", max_length=200, required=False)
    reason = forms.CharField(
        label="Why", max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    place = forms.CharField(label="Where (optional)", max_length=200, required=False)


class TextForm(CompletePostMixin, forms.Form):
    text_body = forms.CharField(
        label="Text body",
        required=False,
        max_length=1_000_000,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Annotations re-anchor to the changed text; those whose passage is gone "
        "are kept and shown as orphaned.",
    )

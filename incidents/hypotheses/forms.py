"""Forms of the case page's hypothesis and matrix controls.

Forms only check the shape of the input; the rules (legal moves, reasons
required, one case per citation) live on the models, whose ValidationErrors
are put back on these forms by ``apply_model_errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from incidents.audit.versioning import Conflict, VersionField
from incidents.hypotheses.models import Assessment, ConfidenceBand, Hypothesis


def apply_model_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a model's ValidationError next to the matching fields of FORM.

    Keys the form has no field for become errors of the whole form, so a
    message is never lost (and ``add_error`` never raises).
    """
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def apply_change(form: forms.Form, change: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Run the model method CHANGE; on refusal, put why on FORM and answer False.

    A lost-update conflict goes through ``apply_conflict`` (the view then
    answers 409), any other ValidationError through ``apply_model_errors``.
    """
    try:
        change(*args, **kwargs)
    except Conflict as exc:
        apply_conflict(form, exc)
    except ValidationError as exc:
        apply_model_errors(form, exc)
    else:
        return True
    return False


def version_field() -> VersionField:
    """The version the form was loaded with; a stale one is refused by the model (no lost edits)."""
    return VersionField()  # required: a form without it is refused, never applied blindly


def apply_conflict(form: forms.Form, exc: Conflict) -> None:
    """Show a lost-update conflict on FORM and let a second submit apply the input on top."""
    form.add_error(None, exc.message)
    form.conflict = True  # type: ignore[attr-defined]  # read by the views: answer 409
    data = form.data.copy()  # type: ignore[attr-defined]  # the view's QueryDict
    data[form.add_prefix("version")] = str(exc.current_version or 0)
    form.data = data


class HypothesisForm(forms.Form):
    kind = forms.ChoiceField(choices=Hypothesis.Kind.choices, initial=Hypothesis.Kind.OTHER)
    statement = forms.CharField(
        max_length=300,
        help_text="One sentence that could turn out true or false.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    description = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, prefix: str = "hyp", **kwargs: Any) -> None:
        kwargs["prefix"] = prefix
        super().__init__(*args, **kwargs)


class MoveChoiceField(forms.ChoiceField):
    """The next states a person is offered (``choices``), while every legal
    next state (``legal``) is accepted: a move the person may not make (only
    the lead concludes) is refused by ``Hypothesis.move_to``, which says why."""

    legal: tuple[str, ...] = ()

    def valid_value(self, value: Any) -> bool:
        return value in self.legal


class MoveForm(forms.Form):
    """Move one hypothesis: the next states the person may choose, a rationale, citations."""

    status = MoveChoiceField(label="Move to", widget=forms.RadioSelect)
    rationale = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why, in a sentence or two. It goes on the timeline.",
    )
    cited_evidence = forms.TypedMultipleChoiceField(
        label="Cite evidence", required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    version = version_field()

    def __init__(
        self,
        *args: Any,
        hypothesis: Hypothesis,
        can_lead: bool,
        evidence: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        kwargs["prefix"] = f"move-{hypothesis.pk}"
        kwargs.setdefault("initial", {"version": hypothesis.version})
        super().__init__(*args, **kwargs)
        self.hypothesis = hypothesis
        status_field = self.fields["status"]
        assert isinstance(status_field, MoveChoiceField)
        status_field.legal = hypothesis.allowed_statuses()
        status_field.choices = [
            (s, Hypothesis.Status(s).label) for s in hypothesis.allowed_statuses(lead=can_lead)
        ]
        cited = self.fields["cited_evidence"]
        assert isinstance(cited, forms.ChoiceField)
        cited.choices = [(item.pk, f"{item.grade} · {item.title}") for item in evidence]

    @property
    def has_choices(self) -> bool:
        return bool(self.fields["status"].choices)  # type: ignore[attr-defined]


class ConfidenceForm(forms.Form):
    confidence = forms.ChoiceField(label="Confidence", choices=ConfidenceBand.choices)
    reason = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What changed your estimate.",
    )
    version = version_field()

    def __init__(self, *args: Any, hypothesis: Hypothesis, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"confidence": hypothesis.confidence, "version": hypothesis.version}
        )
        kwargs["prefix"] = f"conf-{hypothesis.pk}"
        super().__init__(*args, **kwargs)
        self.hypothesis = hypothesis


class CellForm(forms.Form):
    """One matrix cell: rating, relevance and reason."""

    rating = forms.ChoiceField(choices=Assessment.Rating.choices)
    relevance = forms.ChoiceField(
        choices=Assessment.Relevance.choices, initial=Assessment.Relevance.MEDIUM
    )
    reason = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = version_field()  # 0: the cell was not rated when the editor opened

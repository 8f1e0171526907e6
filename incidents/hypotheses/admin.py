"""Admin for hypotheses, their history and the ACH assessments.

A hypothesis is added through ``Hypothesis.propose``; its status and its
confidence change only through the "Move" and "Set confidence" actions,
which call ``move_to`` and ``set_confidence`` with a rationale. Assessments
are written through ``Assessment.rate``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.text import Truncator

from incidents.admin_base import RecordAdmin, RecordInline
from incidents.audit.versioning import VersionedAdminMixin
from incidents.cases.admin import adopt, transition_action
from incidents.hypotheses.models import (
    Assessment,
    ConfidenceBand,
    ConfidenceChange,
    Hypothesis,
    HypothesisMove,
)
from incidents.hypotheses.scoring import score_case


class HistoryInline(RecordInline):
    """Moves and confidence changes: a record, never edited."""


class MoveInline(HistoryInline):
    model = HypothesisMove
    fields = ("created_at", "from_status", "to_status", "rationale", "author")
    readonly_fields = fields


class ConfidenceInline(HistoryInline):
    model = ConfidenceChange
    fields = ("created_at", "previous", "band", "reason", "author")
    readonly_fields = fields


class AssessmentInline(HistoryInline):
    model = Assessment
    fields = ("evidence", "rating", "relevance", "reason", "author", "updated_at")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "assessments (rate evidence from the evidence or assessments admin)"


@admin.register(Hypothesis)
class HypothesisAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = [
        "statement_excerpt",
        "incident",
        "kind",
        "status_badge",
        "confidence_label",
        "version",
        "updated_at",
    ]
    list_filter = ["status", "kind", "confidence", "incident__status"]
    search_fields = ["statement", "description", "incident__reference", "incident__title"]
    list_select_related = ["incident"]
    autocomplete_fields = ["incident"]
    readonly_fields = [
        "status",
        "next_statuses",
        "confidence",
        "score",
        "version",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [MoveInline, ConfidenceInline, AssessmentInline]
    actions = ["move", "change_confidence"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.insert(0, "incident")  # a hypothesis stays in its case
        return fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("incident", "kind", "statement", "description")
        return (
            "incident",
            "kind",
            "statement",
            "description",
            "status",
            "next_statuses",
            "confidence",
            "score",
            "version",
            "created_by",
            "created_at",
            "updated_at",
        )

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return list(self.inlines) if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Hypothesis, form: Any, change: bool) -> None:
        if change:  # a stale copy is refused (VersionedAdminMixin)
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = Hypothesis.propose(
            data["incident"],
            by=request.user,
            statement=data["statement"],
            kind=data["kind"],
            description=data.get("description", ""),
        )
        adopt(obj, created)

    @admin.display(description="Statement", ordering="statement")
    def statement_excerpt(self, obj: Hypothesis) -> str:
        return Truncator(obj.statement).chars(80)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Hypothesis) -> str:
        return format_html(
            '<span class="badge status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_label(self, obj: Hypothesis) -> str:
        return ConfidenceBand(obj.confidence).short_label if obj.confidence else "—"

    @admin.display(description="Can move to")
    def next_statuses(self, obj: Hypothesis) -> str:
        return ", ".join(Hypothesis.Status(s).label for s in obj.allowed_statuses()) or "—"

    @admin.display(description="ACH score")
    def score(self, obj: Hypothesis) -> str:
        scores = score_case(obj.incident)
        mine = scores.hypotheses.get(obj.pk)
        if mine is None:
            return "—"
        return format_html(
            "{} (rank {} of {}, {} rated items)<br><small>{}</small>",
            f"{mine.score:.2f}",
            mine.rank,
            len(scores.hypotheses),
            mine.rated_items,
            scores.formula,
        )

    @admin.action(description="Move (with a rationale)…")
    def move(self, request: HttpRequest, queryset: QuerySet[Hypothesis]) -> TemplateResponse | None:
        return transition_action(
            self,
            request,
            queryset.select_related("incident"),
            title="Move hypotheses",
            explanation=(
                "Hypotheses move proposed → under evaluation → supported or weakened → "
                "confirmed or refuted; withdrawn is reachable from every open state, and a "
                "hypothesis can go back to evaluation. The rationale goes on the timeline."
            ),
            target_label="Move to",
            reason_label="Rationale",
            choices=Hypothesis.Status.choices,
            state=lambda obj: obj.get_status_display(),
            apply=lambda obj, target, reason: obj.move_to(
                target, by=request.user, rationale=reason
            ),
        )

    @admin.action(description="Set confidence (with a reason)…")
    def change_confidence(
        self, request: HttpRequest, queryset: QuerySet[Hypothesis]
    ) -> TemplateResponse | None:
        return transition_action(
            self,
            request,
            queryset.select_related("incident"),
            title="Set confidence",
            explanation=(
                "Confidence is stated in the words of estimative probability (ICD 203). "
                "Each change is kept in the hypothesis's history with its reason."
            ),
            target_label="Confidence",
            reason_label="Reason",
            choices=ConfidenceBand.choices,
            state=lambda obj: (
                ConfidenceBand(obj.confidence).short_label if obj.confidence else "not stated"
            ),
            apply=lambda obj, target, reason: obj.set_confidence(
                target, by=request.user, reason=reason
            ),
        )


class HistoryAdmin(RecordAdmin):
    """Read-only: these rows are written by the hypothesis's methods."""


@admin.register(HypothesisMove)
class HypothesisMoveAdmin(HistoryAdmin):
    list_display = ["created_at", "hypothesis", "from_status", "to_status", "author"]
    list_filter = ["to_status", "from_status"]
    search_fields = ["rationale", "hypothesis__statement", "hypothesis__incident__reference"]
    list_select_related = ["hypothesis", "author"]
    date_hierarchy = "created_at"


@admin.register(ConfidenceChange)
class ConfidenceChangeAdmin(HistoryAdmin):
    list_display = ["created_at", "hypothesis", "previous", "band", "author"]
    list_filter = ["band"]
    search_fields = ["reason", "hypothesis__statement", "hypothesis__incident__reference"]
    list_select_related = ["hypothesis", "author"]
    date_hierarchy = "created_at"


class AssessmentForm(forms.ModelForm):
    class Meta:
        model = Assessment
        fields = ["evidence", "hypothesis", "rating", "relevance", "reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        evidence = data.get("evidence") or getattr(self.instance, "evidence", None)
        hypothesis = data.get("hypothesis") or getattr(self.instance, "hypothesis", None)
        if evidence and hypothesis and evidence.incident_id != hypothesis.incident_id:
            self.add_error(
                "hypothesis", "The evidence and the hypothesis belong to different cases."
            )
        return data


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    form = AssessmentForm
    list_display = [
        "evidence",
        "hypothesis",
        "rating_badge",
        "relevance",
        "grade",
        "author",
        "version",
        "updated_at",
    ]
    list_filter = ["rating", "relevance", "hypothesis__kind"]
    search_fields = [
        "reason",
        "evidence__title",
        "hypothesis__statement",
        "hypothesis__incident__reference",
    ]
    list_select_related = ["evidence", "hypothesis", "author"]
    autocomplete_fields = ["evidence", "hypothesis"]
    readonly_fields = ["author", "version", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["evidence", "hypothesis"] if obj is not None else []
        return fixed + list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Assessment, form: Any, change: bool) -> None:
        data = form.cleaned_data
        cell = Assessment.rate(
            data.get("evidence") or obj.evidence,
            data.get("hypothesis") or obj.hypothesis,
            by=request.user,
            rating=data["rating"],
            relevance=data["relevance"],
            reason=data.get("reason", ""),
        )
        adopt(obj, cell)

    @admin.display(description="Rating", ordering="rating")
    def rating_badge(self, obj: Assessment) -> str:
        return format_html(
            '<span class="badge rating-{}">{}</span>', obj.rating, obj.get_rating_display()
        )

    @admin.display(description="Grade")
    def grade(self, obj: Assessment) -> str:
        return obj.evidence.grade

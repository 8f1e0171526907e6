"""Admin for evidence items, their custody log and their annotations.

An item is added through ``EvidenceItem.attach`` (its file hashed, its
custody log opened, the case timeline told); its hashes and custody entries
are read-only; its assessments are written through ``Assessment.rate``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from incidents.admin_base import RecordAdmin, RecordInline
from incidents.audit.versioning import VersionedAdminMixin
from incidents.cases.admin import adopt, model_fields
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis
from incidents.hypotheses.scoring import credibility_weight, score_case


def short_hash(value: str) -> str:
    return f"{value[:12]}…" if value else "—"


class AssessmentInlineForm(forms.ModelForm):
    class Meta:
        model = Assessment
        fields = ["hypothesis", "rating", "relevance", "reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        hypothesis = data.get("hypothesis")
        before = self.initial.get("hypothesis")
        if self.instance.pk and hypothesis and before and hypothesis.pk != before:
            self.add_error(
                "hypothesis", "To rate this item against another hypothesis, add a new row."
            )
        return data


class AssessmentInline(admin.TabularInline):
    """The item's row of the ACH matrix, written through Assessment.rate."""

    model = Assessment
    form = AssessmentInlineForm
    extra = 0
    fields = ["hypothesis", "rating", "relevance", "reason", "author", "version"]
    readonly_fields = ["author", "version"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields["hypothesis"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            Hypothesis.objects.filter(incident=obj.incident) if obj else Hypothesis.objects.none()
        )
        return formset


class CustodyInline(RecordInline):
    """The chain of custody: appended to by the model, never edited here."""

    model = CustodyEntry
    fields = ("at", "action", "actor", "reason", "recipient", "sha256_short", "entry_hash_short")
    readonly_fields = fields

    @admin.display(description="SHA-256 then")
    def sha256_short(self, obj: CustodyEntry) -> str:
        return short_hash(obj.sha256)

    @admin.display(description="Entry hash")
    def entry_hash_short(self, obj: CustodyEntry) -> str:
        return short_hash(obj.entry_hash)


class EvidenceItemForm(forms.ModelForm):
    class Meta:
        model = EvidenceItem
        fields = [
            "incident",
            "kind",
            "title",
            "description",
            "is_illustrative",
            "url",
            "file",
            "text_body",
            "language",
            "reliability",
            "credibility",
            "event_at",
            "event_uncertainty",
            "event_latitude",
            "event_longitude",
            "collected_at",
            "collected_by",
            "obtained_from",
        ]

    # The checks run in _post_clean, after the model's own validation: the
    # admin's version mixin replaces clean() on change forms.
    def _post_clean(self) -> None:
        # django-stubs lacks BaseModelForm._post_clean, which Django has and calls.
        super()._post_clean()  # type: ignore[misc]
        data, item = self.cleaned_data, self.instance
        url = data.get("url", item.url)
        text = data.get("text_body", item.text_body) or ""
        if not (url or data.get("file") or item.file or text.strip()):
            self.add_error(None, "A source needs at least one of: a URL, a file, or a text body.")


@admin.register(EvidenceItem)
class EvidenceItemAdmin(VersionedAdminMixin, admin.ModelAdmin):
    form = EvidenceItemForm
    list_display = [
        "title",
        "incident",
        "kind",
        "grade_badge",
        "language",
        "is_illustrative",
        "has_file",
        "verification",
        "collected_at",
    ]
    list_filter = [
        "kind",
        "reliability",
        "credibility",
        "is_illustrative",
        "verification",
        "language",
    ]
    search_fields = [
        "title",
        "description",
        "url",
        "original_name",
        "file_sha256",
        "obtained_from",
        "incident__reference",
    ]
    list_select_related = ["incident"]
    autocomplete_fields = ["incident", "collected_by"]
    date_hierarchy = "collected_at"
    inlines = [AssessmentInline, CustodyInline]
    derived = [
        "grade",
        "weight",
        "diagnosticity",
        "original_name",
        "file_sha256",
        "file_size",
        "file_type",
        "duplicate_of",
        "verification",
        "last_verified_at",
        "custody_head",
        "extracted_metadata",
        "version",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["incident", "kind", "title", "description", "is_illustrative"]}),
        ("Content", {"fields": ["url", "file", "text_body", "language"]}),
        ("Grade (Admiralty)", {"fields": ["reliability", "credibility"]}),
        (
            "Provenance",
            {
                "fields": [
                    "event_at",
                    "event_uncertainty",
                    ("event_latitude", "event_longitude"),
                    "collected_at",
                    "collected_by",
                    "obtained_from",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            # Files have no public URL: show the stored file with its download link.
            fieldsets = [
                (
                    name,
                    {
                        **opts,
                        "fields": [*(f if f != "file" else "stored_file" for f in opts["fields"])],
                    },
                )
                for name, opts in fieldsets
            ]
            fieldsets.append(("Derived (read-only)", {"fields": self.derived}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        # A stored file is never replaced (attach a new item instead), and the
        # text is edited on the evidence page, where annotations re-anchor to it.
        return ["incident", "stored_file", "text_body", *self.derived]

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return list(self.inlines) if obj is not None else []

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"collected_by": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, obj: EvidenceItem, form: Any, change: bool) -> None:
        if change:  # a stale copy is refused (VersionedAdminMixin)
            super().save_model(request, obj, form, change)
            return
        fields = model_fields(form, exclude=["incident", "file", "original_name"])
        upload = form.cleaned_data.get("file") or None
        created = EvidenceItem.attach(
            form.cleaned_data["incident"],
            by=request.user,
            upload=upload,
            reason="Added in the admin.",
            **fields,
        )
        adopt(obj, created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Assessment:
            super().save_formset(request, form, formset, change)
            return
        item = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if row in formset.deleted_forms:
                if row.instance.pk:
                    formset.deleted_objects.append(row.instance)
                    row.instance.delete()
                continue
            if not row.has_changed() or not row.cleaned_data:
                continue
            data = row.cleaned_data
            cell = Assessment.rate(
                item,
                data["hypothesis"],
                by=request.user,
                rating=data["rating"],
                relevance=data["relevance"],
                reason=data.get("reason", ""),
            )
            if row.instance.pk:
                formset.changed_objects.append((cell, row.changed_data))
            else:
                formset.new_objects.append(cell)

    @admin.display(description="Grade", ordering="reliability")
    def grade_badge(self, obj: EvidenceItem) -> str:
        return format_html(
            '<span class="badge grade grade-{}">{}</span>', obj.reliability, obj.grade
        )

    @admin.display(description="File")
    def stored_file(self, obj: EvidenceItem) -> str:
        if not obj.file:
            return "—"
        return format_html(
            '<a href="{}">{}</a> ({} bytes, {})',
            reverse("evidence:download", args=[obj.pk]),
            obj.display_name,
            obj.file_size,
            obj.file_type or "type unknown",
        )

    @admin.display(description="File", boolean=True)
    def has_file(self, obj: EvidenceItem) -> bool:
        return obj.has_file

    @admin.display(description="Credibility weight")
    def weight(self, obj: EvidenceItem) -> str:
        value, band = credibility_weight(obj.reliability, obj.credibility)
        return f"{value:.3f} ({band}, from grade {obj.grade})"

    @admin.display(description="Diagnosticity")
    def diagnosticity(self, obj: EvidenceItem) -> str:
        item = score_case(obj.incident).items.get(obj.pk)
        if item is None or not item.rated:
            return "not rated yet"
        verdict = "diagnostic" if item.is_diagnostic else "non-diagnostic"
        return f"{item.diagnosticity:.3f} ({verdict}, rated against {item.rated} hypotheses)"


@admin.register(CustodyEntry)
class CustodyEntryAdmin(RecordAdmin):
    """The custody log is append-only: nothing here adds, edits or deletes."""

    list_display = ["at", "item", "action", "actor", "recipient", "sha256_short"]
    list_filter = ["action", "at"]
    search_fields = ["item__title", "item__incident__reference", "reason", "sha256", "recipient"]
    list_select_related = ["item", "actor"]
    date_hierarchy = "at"

    @admin.display(description="SHA-256 then")
    def sha256_short(self, obj: CustodyEntry) -> str:
        return short_hash(obj.sha256)


class AnnotationForm(forms.ModelForm):
    class Meta:
        model = Annotation
        fields = [
            "item",
            "author",
            "body",
            "tags",
            "stance",
            "hypothesis",
            "quote_exact",
            "quote_prefix",
            "quote_suffix",
            "position_start",
            "position_end",
            "region",
        ]

    def _post_clean(self) -> None:  # see EvidenceItemForm._post_clean
        super()._post_clean()  # type: ignore[misc]  # not in django-stubs; Django has it
        data = self.cleaned_data
        item = data.get("item") or getattr(self.instance, "item", None)
        hypothesis = data.get("hypothesis")
        if item and hypothesis and item.incident_id != hypothesis.incident_id:
            self.add_error("hypothesis", "This hypothesis belongs to another case.")
        if data.get("stance") and not hypothesis:
            self.add_error("hypothesis", "A stance needs the hypothesis it is taken toward.")


@admin.register(Annotation)
class AnnotationAdmin(VersionedAdminMixin, admin.ModelAdmin):
    form = AnnotationForm
    list_display = ["excerpt", "item", "quote", "stance", "hypothesis", "author", "is_deleted"]
    list_filter = ["stance", "anchor_state", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["body", "quote_exact", "item__title", "item__incident__reference"]
    list_select_related = ["item", "hypothesis", "author"]
    autocomplete_fields = ["item", "hypothesis", "author", "tags"]
    selectors = ["quote_exact", "quote_prefix", "quote_suffix", "position_start", "position_end"]
    record = ["version", "created_at", "updated_at", "deleted_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Once anchored, an annotation keeps its target; annotate the new passage instead.
        if obj is None:
            return self.record
        return ["item", *self.selectors, "region", "anchor_state", *self.record]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    @admin.display(description="Note")
    def excerpt(self, obj: Annotation) -> str:
        return Truncator(obj.body).chars(60)

    @admin.display(description="Passage")
    def quote(self, obj: Annotation) -> str:
        return Truncator(obj.quote_exact).chars(40) if obj.quote_exact else obj.region or "—"

    @admin.display(description="Deleted", boolean=True, ordering="deleted_at")
    def is_deleted(self, obj: Annotation) -> bool:
        return obj.deleted_at is not None

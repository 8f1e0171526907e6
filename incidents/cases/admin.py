"""Admin for cases, their members, their timeline and tags.

The admin is a tool for administrators, not a way around the rules: a case
is created through ``Incident.open_case`` (so it gets a reference and its
first timeline entry), its status changes only through the "Change status"
action (which calls ``Incident.move_to`` with a reason), and timeline
entries are written through ``StatusUpdate.objects.post``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, QuerySet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.text import Truncator

from incidents.admin_base import RecordAdmin, RecordInline
from incidents.audit.versioning import VersionedAdminMixin
from incidents.cases.models import Incident, Membership, StatusUpdate, Tag
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import Hypothesis

# -- status changes through the model: a shared intermediate form ------------------


class TransitionForm(forms.Form):
    """Target state and the reason for it; subclasses set the choices and labels."""

    target = forms.ChoiceField(label="New status")
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=20000,
        help_text="Kept on the case timeline with the change.",
    )

    def __init__(self, *args: Any, choices: Iterable[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        target = self.fields["target"]
        assert isinstance(target, forms.ChoiceField)
        target.choices = [("", "— choose —"), *choices]


def transition_action(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    title: str,
    explanation: str,
    target_label: str,
    reason_label: str,
    choices: Iterable[tuple[str, str]],
    state: Callable[[Any], str],
    apply: Callable[[Any, str, str], Any],
) -> TemplateResponse | None:
    """Ask for the target state and the reason, then APPLY them to each selected object.

    APPLY is a model method (``move_to``, ``set_confidence``): every rule is
    checked there, and each refusal is reported with the model's own message.
    """
    submitted = "apply" in request.POST
    form = TransitionForm(request.POST if submitted else None, choices=choices)
    form.fields["target"].label = target_label
    form.fields["reason"].label = reason_label
    if submitted and form.is_valid():
        target, reason = form.cleaned_data["target"], form.cleaned_data["reason"]
        done = 0
        for obj in queryset:
            try:
                apply(obj, target, reason)
            except ValidationError as exc:
                modeladmin.message_user(
                    request, f"{obj}: {' '.join(exc.messages)}", level=messages.ERROR
                )
            else:
                done += 1
        if done:
            modeladmin.message_user(
                request, f"{title}: done for {done} of {len(queryset)}.", level=messages.SUCCESS
            )
        return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "explanation": explanation,
        "form": form,
        "rows": [(obj, state(obj)) for obj in queryset],
        "opts": opts,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "submit_label": title,
    }
    return TemplateResponse(request, "admin/cases/transition_form.html", context)


def model_fields(form: forms.ModelForm[Any], exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The cleaned values of FORM's concrete (non-many-to-many) model fields."""
    opts = form._meta.model._meta
    names = {f.name for f in opts.concrete_fields} - set(exclude)
    return {k: v for k, v in form.cleaned_data.items() if k in names}


def adopt(obj: Model, created: Model) -> None:
    """Make the admin's unsaved OBJ stand for CREATED, so inlines and m2m attach to it."""
    for f in created._meta.concrete_fields:
        setattr(obj, f.attname, getattr(created, f.attname))
    obj._state.adding = False
    obj._state.db = created._state.db


# -- tags ---------------------------------------------------------------------------


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "case_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(_cases=Count("incidents"))

    @admin.display(description="Cases", ordering="_cases")
    def case_count(self, obj: Tag) -> int:
        return obj._cases  # type: ignore[attr-defined]


# -- incidents ----------------------------------------------------------------------


class MembershipInlineForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "role"]

    def clean_user(self) -> Any:
        user = self.cleaned_data["user"]
        if self.instance.pk and user.pk != self.instance.user_id:
            raise ValidationError("To replace a member, remove this row and add the person.")
        return user


class MembershipFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        roles = [
            form.cleaned_data.get("role")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get(DELETION_FIELD_NAME)
        ]
        if Membership.Role.LEAD not in roles:
            raise ValidationError("The case needs a lead: keep at least one member as lead.")


class MembershipInline(admin.TabularInline):
    """Members, changed through Incident.add_member / change_member_role / remove_member."""

    model = Membership
    form = MembershipInlineForm
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class ReadOnlyInline(RecordInline):
    """A list of related records with links to their own admin pages."""

    show_change_link = True


class HypothesisInline(ReadOnlyInline):
    model = Hypothesis
    fields = ("statement", "kind", "status", "confidence", "version")
    readonly_fields = fields
    verbose_name_plural = "hypotheses (add and move them from the hypotheses admin)"


class EvidenceInline(ReadOnlyInline):
    model = EvidenceItem
    fields = ("title", "kind", "grade", "language", "is_illustrative", "collected_at")
    readonly_fields = fields
    verbose_name_plural = "evidence (add and grade it from the evidence admin)"

    @admin.display(description="Grade")
    def grade(self, obj: Any) -> str:
        return obj.grade


@admin.register(Incident)
class IncidentAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "title",
        "status_badge",
        "severity",
        "lead",
        "occurred_local_display",
        "member_count",
        "last_activity_at",
    ]
    list_display_links = ["reference", "title"]
    list_filter = ["status", "severity", "tags", "time_zone"]
    search_fields = ["reference", "title", "summary", "place_name"]
    list_select_related = ["lead"]
    autocomplete_fields = ["lead", "tags"]
    date_hierarchy = "occurred_at"
    readonly_fields = [
        "reference",
        "status",
        "next_statuses",
        "resolution_check",
        "version",
        "created_by",
        "created_at",
        "updated_at",
        "last_activity_at",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "title", "summary", "severity", "lead", "tags"]}),
        (
            "When and where",
            {
                "fields": [
                    "occurred_at",
                    "occurred_uncertainty",
                    "place_name",
                    ("latitude", "longitude"),
                    "time_zone",
                ]
            },
        ),
        (
            "Status (change it with the “Change status” action)",
            {"fields": ["status", "next_statuses", "resolution_check"]},
        ),
        (
            "Record",
            {"fields": ["version", "created_by", "created_at", "updated_at", "last_activity_at"]},
        ),
    ]
    inlines = [MembershipInline, HypothesisInline, EvidenceInline]
    actions = ["change_status"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return super().get_queryset(request).annotate(_members=Count("memberships"))

    def get_inlines(self, request: HttpRequest, obj: Incident | None) -> list[Any]:
        # A new case gets its lead's membership from open_case; members are
        # added once it exists.
        return list(self.inlines) if obj is not None else []

    def get_fieldsets(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        if obj is None:  # the reference and status do not exist yet
            return [fs for fs in self.fieldsets if fs[0] in (None, "When and where")]
        return super().get_fieldsets(request, obj)

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        if change:  # a stale copy is refused (VersionedAdminMixin)
            super().save_model(request, obj, form, change)
            return
        fields = model_fields(form, exclude=["title"])
        created = Incident.open_case(by=request.user, title=form.cleaned_data["title"], **fields)
        adopt(obj, created)

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        # The lead follows the members' roles (change_member_role) once the case exists.
        return [*self.readonly_fields, "lead"] if obj is not None else self.readonly_fields

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        incident, by = form.instance, request.user
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        kept = [f for f in formset.forms if f.cleaned_data and f not in formset.deleted_forms]
        # Promotions to lead first, so the case never lacks a lead in between.
        kept.sort(key=lambda f: f.cleaned_data["role"] != Membership.Role.LEAD)
        try:
            for row in kept:
                user, role = row.cleaned_data["user"], row.cleaned_data["role"]
                if not row.instance.pk:
                    formset.new_objects.append(incident.add_member(user, role=role, by=by))
                elif "role" in row.changed_data:
                    changed = incident.change_member_role(user, role=role, by=by)
                    formset.changed_objects.append((changed, ["role"]))
            for row in formset.deleted_forms:
                if row.instance.pk:
                    incident.remove_member(row.instance.user, by=by)
                    formset.deleted_objects.append(row.instance)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), level=messages.ERROR)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Incident) -> str:
        return format_html(
            '<span class="badge status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description="Occurred (local time)", ordering="occurred_at")
    def occurred_local_display(self, obj: Incident) -> str:
        local = obj.occurred_local
        if local is None:
            return "—"
        text = f"{local:%Y-%m-%d %H:%M} {obj.time_zone}"
        if obj.occurred_uncertainty:
            minutes = int(obj.occurred_uncertainty.total_seconds() // 60)
            text += f" ± {minutes} min"
        return text

    @admin.display(description="Members", ordering="_members")
    def member_count(self, obj: Incident) -> int:
        return obj._members  # type: ignore[attr-defined]

    @admin.display(description="Can move to")
    def next_statuses(self, obj: Incident) -> str:
        allowed = [Incident.Status(s).label for s in obj.allowed_statuses()]
        return ", ".join(allowed) or "—"

    @admin.display(description="Can it be resolved?")
    def resolution_check(self, obj: Incident) -> str:
        blockers = obj.resolution_blockers()
        return "Yes." if not blockers else " ".join(blockers)

    @admin.action(description="Change status (with a reason)…")
    def change_status(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> TemplateResponse | None:
        return transition_action(
            self,
            request,
            queryset,
            title="Change case status",
            explanation=(
                "Cases move open → investigating → resolved or closed, inconclusive, and "
                "can be reopened. Resolving needs exactly one confirmed hypothesis and every "
                "other one refuted or withdrawn. The reason goes on the case timeline."
            ),
            target_label="New status",
            reason_label="Reason",
            choices=Incident.Status.choices,
            state=lambda obj: obj.get_status_display(),
            apply=lambda obj, target, reason: obj.move_to(target, by=request.user, reason=reason),
        )


@admin.register(Membership)
class MembershipAdmin(RecordAdmin):
    """Who is in which case: read-only here, managed on the incident's page."""

    list_display = ["incident", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["incident__reference", "incident__title", "user__username"]
    list_select_related = ["incident", "user"]


# -- timeline -----------------------------------------------------------------------


class StatusUpdateForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=StatusUpdate.Kind.written, initial=StatusUpdate.Kind.NOTE)

    class Meta:
        model = StatusUpdate
        fields = ["incident", "kind", "body", "hypothesis", "evidence"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        incident = data.get("incident")
        for name in ("hypothesis", "evidence"):
            related = data.get(name)
            if incident and related and related.incident_id != incident.pk:
                self.add_error(name, f"This {name} belongs to another case.")
        return data


@admin.register(StatusUpdate)
class StatusUpdateAdmin(admin.ModelAdmin):
    """The timeline: written entries are posted here; nothing is edited afterwards."""

    form = StatusUpdateForm
    list_display = ["created_at", "incident", "kind", "author", "excerpt"]
    list_filter = ["kind", "created_at"]
    search_fields = ["body", "incident__reference", "author__username"]
    list_select_related = ["incident", "author"]
    autocomplete_fields = ["incident", "hypothesis", "evidence"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the timeline is a record: post a new entry instead

    def save_model(self, request: HttpRequest, obj: StatusUpdate, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = StatusUpdate.objects.post(
            data["incident"],
            kind=data["kind"],
            body=data["body"],
            by=request.user,
            hypothesis=data.get("hypothesis"),
            evidence=data.get("evidence"),
        )
        adopt(obj, created)

    @admin.display(description="Entry")
    def excerpt(self, obj: StatusUpdate) -> str:
        return Truncator(obj.body).chars(90)

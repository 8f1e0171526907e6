"""No lost edits: one optimistic-locking mechanism for the models, the site and the admin.

Every editable record carries ``version``. A form carries the version it was
loaded with (:class:`VersionField`, hidden); the model method that saves it
locks the row, compares, and raises :class:`Conflict` when someone else saved
in between. :class:`Conflict` tells what changed meanwhile, read from the
audit trail (the before and after images of each save), so the person can
re-apply their input on top. Views answer 409 (``ConflictMiddleware`` does it
for any view that lets the exception through; views may catch it to re-render
their form with the input kept); the admin uses :class:`VersionedAdminMixin`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

# Bookkeeping fields that change on every save: not worth showing.
_NOISE = {"version", "updated_at", "last_activity_at"}


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: Any
    after: Any
    by: str
    at: dt.datetime


class Conflict(ValidationError):
    """Someone saved OBJ after the copy the user edited was loaded.

    A ValidationError (code ``conflict``), so a view that already shows a
    model's ValidationErrors next to its form shows this one too, with the
    person's input kept; the request then answers 409 (AuditContextMiddleware).
    """

    def __init__(self, obj: models.Model, expected_version: int, changes: list[Change]):
        self.obj = obj
        self.expected_version = expected_version
        self.current_version = getattr(obj, "version", None)
        self.changes = changes
        super().__init__(self._describe(), code="conflict")
        from incidents.audit.context import note_conflict

        note_conflict()

    @property
    def who(self) -> list[str]:
        return list(dict.fromkeys(change.by for change in self.changes))

    def _describe(self) -> str:
        name = str(self.obj._meta.verbose_name)
        if self.expected_version == 0:
            return f"Someone else created this {name} while you were editing; nothing was saved."
        by = f" by {', '.join(self.who)}" if self.who else ""
        what = "; ".join(
            f"{c.label}: “{_short(c.before)}” → “{_short(c.after)}”" for c in self.changes
        )
        return (
            f"This {name} was changed{by} after you loaded it "
            f"(your copy: version {self.expected_version}, now: version {self.current_version})."
            + (f" Changed meanwhile: {what}." if what else "")
            + " Nothing was saved: your input is kept below; check it and submit again."
        )


def _short(value: Any) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def posted_version(request: HttpRequest, name: str = "version") -> int | None:
    """The version a posted form was loaded with; None when the form sent none.

    An unreadable value counts as a stale copy (-1), never as "no check".
    """
    raw = request.POST.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        return -1


MISSING = "missing"  # the code of the errors below: the POST lacked a field (answer 400)
MISSING_VERSION = (
    "This form was sent without the version of the record it was read at, so it cannot be "
    "checked against changes saved since. Nothing was saved: reload the page and try again."
)
MISSING_FIELD = (
    "This field was missing from the form sent (an empty field is sent empty, not left out). "
    "Nothing was saved: reload the page and try again."
)


def required_version(request: HttpRequest, name: str = "version") -> int:
    """The version a posted edit was loaded with; ``ValidationError`` (code
    ``missing``) when the POST has none, never "no check" (last writer wins).

    An unreadable value counts as a stale copy (-1), refused as a conflict.
    """
    version = posted_version(request, name)
    if version is None:
        raise ValidationError(MISSING_VERSION, code=MISSING)
    return version


class CompletePostMixin(forms.BaseForm):
    """A bound form is invalid when a field is missing from its data, not just empty.

    Django reads a field left out of a POST as empty, so an edit form posted
    with only a CSRF token would empty every text it edits. Here each field
    the widget says was omitted (``value_omitted_from_data``: a checkbox or a
    multiple checkbox can be left out by the browser itself and is never
    "omitted") gets the error ``MISSING_FIELD`` (code ``missing``); views answer
    such a form 400 (``is_incomplete``). Fields named in ``unprefixed_fields``
    are read without the form's prefix (a page's single ``version`` input).
    """

    unprefixed_fields: tuple[str, ...] = ()

    def add_prefix(self, field_name: str) -> str:
        if field_name in self.unprefixed_fields:
            return field_name
        return super().add_prefix(field_name)

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound:
            return
        for name, field in self.fields.items():
            if field.disabled or isinstance(field.widget, forms.RadioSelect):
                continue  # a radio group with none chosen is left out by the browser itself
            if field.widget.value_omitted_from_data(self.data, self.files, self.add_prefix(name)):
                self.errors.pop(name, None)  # "required" says less than "missing"
                self.add_error(name, ValidationError(MISSING_FIELD, code=MISSING))


def is_incomplete(*forms_: Any) -> bool:
    """Whether any of FORMS_ (or (pk, form) pairs) was refused for a missing field or version."""
    for form in forms_:
        if isinstance(form, tuple):
            form = form[-1]
        errors = getattr(form, "errors", None)
        if not errors:
            continue
        if any(e.code == MISSING for found in errors.as_data().values() for e in found):
            return True
    return False


def changes_since(obj: models.Model, version: int) -> list[Change]:
    """What was saved to OBJ after VERSION, field by field, from the audit trail."""
    from incidents.audit.models import AuditEvent

    labels = {f.attname: str(f.verbose_name) for f in obj._meta.concrete_fields}
    changes: list[Change] = []
    for event in AuditEvent.objects.for_object(obj).order_by("id"):
        after = event.after_data
        if not after or int(after.get("version") or 0) <= version:
            continue
        for field, before_value, after_value in event.changes():
            if field in _NOISE or field not in labels:
                continue
            changes.append(
                Change(field, labels[field], before_value, after_value, event.actor, event.at)
            )
    return changes


def check_version(current: models.Model, expected_version: int | None) -> None:
    """Raise Conflict unless CURRENT (freshly locked) still has EXPECTED_VERSION."""
    if expected_version is None:
        return
    actual = getattr(current, "version", 0) if current.pk else 0
    if int(expected_version) != actual:
        raise Conflict(
            current, int(expected_version), changes_since(current, int(expected_version))
        )


def refuse_stale(
    instance: models.Model, locked: models.Model, expected_version: int | None
) -> None:
    """check_version on LOCKED; on a conflict INSTANCE learns the current version.

    So the form shown again with the person's input carries the version that
    a second, deliberate submit may overwrite.
    """
    try:
        check_version(locked, expected_version)
    except Conflict:
        instance.version = locked.version  # type: ignore[attr-defined]
        raise


def save_with_version(
    instance: models.Model, expected_version: int | None, update_fields: list[str] | None = None
) -> None:
    """Save INSTANCE's edited fields if nobody saved it since EXPECTED_VERSION; bump its version."""
    model = type(instance)
    with transaction.atomic():
        locked = model._default_manager.select_for_update().get(pk=instance.pk)
        check_version(locked, expected_version)
        instance.version = locked.version + 1  # type: ignore[attr-defined]
        extra = ["version"]
        if any(f.name == "updated_at" for f in model._meta.concrete_fields):
            instance.updated_at = timezone.now()  # type: ignore[attr-defined]
            extra.append("updated_at")
        if update_fields is None:
            instance.save()
        else:
            instance.save(update_fields=[*update_fields, *extra])


class VersionField(forms.IntegerField):
    """The hidden field that carries the version a form was loaded with."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 2**31 - 1)
        kwargs.setdefault("required", True)
        kwargs.setdefault(
            "error_messages",
            {
                "required": "This form is out of date: reload the page.",
                "invalid": "Reload the page.",
            },
        )
        super().__init__(**kwargs)


class VersionedFormMixin(forms.BaseForm):
    """Add ``version`` to a form; for a ModelForm its initial value is the instance's."""

    version = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if "version" not in self.fields:
            self.fields["version"] = VersionField()
        if instance is not None and instance.pk:
            self.fields["version"].initial = getattr(instance, "version", 0)
        elif instance is not None:
            self.fields["version"].initial = 0

    @property
    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


class VersionedAdminMixin(admin.ModelAdmin):
    """The admin's change form carries the version too: a stale save is refused, not applied."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        from django.contrib.admin.utils import flatten_fieldsets

        if "fields" not in kwargs:
            kwargs["fields"] = flatten_fieldsets(self.get_fieldsets(request, obj))
        if kwargs["fields"] is not None:
            kwargs["fields"] = [f for f in kwargs["fields"] if f != "expected_version"]
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form

        def clean(form_self: forms.ModelForm) -> dict[str, Any]:
            # The admin form's own clean() runs too.
            data: dict[str, Any] = form.clean(form_self) or form_self.cleaned_data
            expected = data.get("expected_version")
            current = (
                type(obj)
                ._default_manager.filter(pk=obj.pk)
                .values_list("version", flat=True)
                .first()
            )
            if expected is not None and current is not None and expected != current:
                fresh = type(obj)._default_manager.get(pk=obj.pk)
                raise Conflict(fresh, expected, changes_since(fresh, expected))
            return data

        return type(
            form.__name__,
            (form,),
            {
                "expected_version": VersionField(initial=obj.version),
                "clean": clean,
            },
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            present = {f for _, opts in fieldsets for f in opts.get("fields", ())}
            if "expected_version" not in present:
                fieldsets.append((None, {"fields": ["expected_version"], "classes": ["hidden"]}))
        return fieldsets

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            # The form's check ran before; this one holds the row lock while saving.
            save_with_version(obj, form.cleaned_data.get("expected_version"))
        else:
            super().save_model(request, obj, form, change)

"""Forms of the members page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

from incidents.cases.models import Membership
from incidents.params import IdField


class BoundedUsername(forms.BaseForm):
    """Django's sign-in forms leave the username as long as it was posted (only
    its widget says ``maxlength``), and a failed sign-in is recorded by
    django-axes with the username in a 255-character column, which PostgreSQL
    refuses (a 500). Longer than the user model's column, it names nobody: a
    form error, and no sign-in is tried."""

    def clean_username(self) -> Any:
        name = self.cleaned_data["username"]
        limit = self.fields["username"].max_length  # type: ignore[attr-defined]
        if limit is not None and len(name) > limit:
            raise forms.ValidationError(
                f"A username has at most {limit} characters.", code="max_length"
            )
        return name


class LoginForm(BoundedUsername, AuthenticationForm):
    """The sign-in form (``LoginView``)."""


class AdminLoginForm(BoundedUsername, AdminAuthenticationForm):
    """The admin's sign-in form (``admin.site.login_form``)."""


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="The person's Inquest username.")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.INVESTIGATOR)

    def clean_username(self) -> Any:
        name = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user is called “{name}”.")
        return user


class MemberForm(forms.Form):
    """Change a member's role, or remove them: the member is named by user id."""

    user = IdField(widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=Membership.Role.choices, required=False)

    def __init__(self, *args: Any, incident: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incident = incident

    def clean_user(self) -> Any:
        membership = (
            self.incident.memberships.select_related("user")
            .filter(user_id=self.cleaned_data["user"])
            .first()
        )
        if membership is None:
            raise forms.ValidationError("That person is not a member of this case.")
        return membership.user

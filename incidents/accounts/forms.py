"""Forms of the members page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from incidents.cases.models import Membership
from incidents.params import IdField


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

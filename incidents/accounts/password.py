"""Passwords: each user changes their own; a forgotten one is reset by e-mail.

* Reset is served only when e-mail is configured (``INQUEST_EMAIL_ENABLED``:
  the environment sets ``EMAIL_HOST`` or ``EMAIL_BACKEND``, or
  ``EMAIL_ENABLED=true``); otherwise its four pages answer 404, as in the demo.
* Every request for an address gets the same answer and the same page,
  whether the address belongs to an account or not, throttled or not.
* At most ``INQUEST_PASSWORD_RESETS_PER_HOUR`` e-mails per address per hour,
  counted in the database (``AccountEvent`` rows of kind
  ``password_reset_requested``), so every app process sees the same count; a
  throttled request is logged, not stored.
* A link works once and for ``PASSWORD_RESET_TIMEOUT`` (an hour by default).
  A reset ends every session of the user; the second factor stays on.
* A password change ends the user's other sessions (Django would sign them
  out at their next request; ending them also takes them off the list). Its
  old password is checked through ``authenticate``, so django-axes throttles
  guesses there as at sign-in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

from incidents.accounts import events, tracking
from incidents.accounts.models import AccountEvent


def normalise_address(address: str) -> str:
    return address.strip().lower()


def reset_throttled(address: str) -> bool:
    """Whether ADDRESS has had its hourly share of reset e-mails."""
    since = timezone.now() - timedelta(hours=1)
    sent = AccountEvent.objects.filter(
        kind=AccountEvent.Kind.PASSWORD_RESET_REQUESTED, subject=address, at__gte=since
    ).count()
    return sent >= settings.INQUEST_PASSWORD_RESETS_PER_HOUR


class EmailRequired:
    """The reset pages exist only when e-mail is configured."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.INQUEST_EMAIL_ENABLED:
            raise Http404("Password reset needs e-mail, which is not configured.")
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class ResetView(EmailRequired, auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.jinja"
    email_template_name = "registration/password_reset_email.jinja"
    subject_template_name = "registration/password_reset_subject.jinja"

    def form_valid(self, form: Any) -> HttpResponse:
        address = normalise_address(form.cleaned_data["email"])
        if reset_throttled(address):
            events.failure("password reset throttled", request=self.request, subject=address)
            return HttpResponseRedirect(self.get_success_url())
        events.record(events.Kind.PASSWORD_RESET_REQUESTED, subject=address)
        return super().form_valid(form)  # e-mails the account(s) with that address, if any


class ResetDoneView(EmailRequired, auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.jinja"


class RulesShown:
    """The password rules under the new password as one plain sentence each:
    Django's form has them as an HTML list in a lazy string, which a Jinja2
    template would escape (and a list cannot sit in the help paragraph)."""

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)  # type: ignore[misc]
        if form is not None and "new_password1" in form.fields:
            rules = password_validation.password_validators_help_texts()
            form.fields["new_password1"].help_text = " ".join(str(rule) for rule in rules)
        return form


class ResetConfirmView(EmailRequired, RulesShown, auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.jinja"

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        ended = tracking.end_sessions(form.user)
        events.record(
            events.Kind.PASSWORD_RESET_DONE, user=form.user, detail=f"{ended} session(s) ended"
        )
        return response


class ResetCompleteView(EmailRequired, auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.jinja"


class ChangeForm(PasswordChangeForm):
    """Django's form, with the old password checked through ``authenticate``:
    django-axes counts a wrong one as a failed sign-in (and locks out after a
    few), so an unattended session cannot be used to guess the password."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old = self.cleaned_data["old_password"]
        checked = authenticate(self.request, username=self.user.get_username(), password=old)
        if checked is None or checked.pk != self.user.pk:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old


class ChangeView(RulesShown, auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.jinja"
    form_class = ChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)  # saves, keeps this session (a new key)
        tracking.follow_key(self.request)
        ended = tracking.end_sessions(form.user, keep=self.request.session.session_key)
        events.record(
            events.Kind.PASSWORD_CHANGED,
            user=form.user,
            detail=f"{ended} other session(s) ended",
        )
        return response


class ChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.jinja"

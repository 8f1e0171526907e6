"""Sign-in and sign-out: the session's row, and whether a second-factor code is owed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from incidents.accounts import tracking, twofactor


@receiver(user_logged_in, dispatch_uid="inquest-accounts-login")
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    tracking.track(request, user)
    twofactor.on_login(request, user)


@receiver(user_logged_out, dispatch_uid="inquest-accounts-logout")
def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        tracking.forget(request)

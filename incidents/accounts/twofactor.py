"""The second factor: TOTP (django-otp's TOTP device) with recovery codes.

* Enrolment (``two_factor_setup``): an unconfirmed TOTP device is made (one per
  user, reused), its QR code drawn as inline SVG by segno and its secret shown
  in base32; a code from the app confirms it. Then ten recovery codes are
  made (``RecoveryCodeDevice``: single-use, hashed) and shown once, this
  session counts as verified and the user's other sessions are ended (they
  were signed in with the password alone).
* After a password sign-in, a user with a confirmed device is sent to
  ``two_factor_verify`` before any other page (``AccountMiddleware``): six
  digits are tried on the TOTP device, anything else as a recovery code.
  Each device throttles its own failures (1, 2, 4… seconds).
* ``two_factor``: the state, new recovery codes, turning it off; both with
  the password (checked through ``authenticate``, so django-axes counts
  failures there too).
* ``REQUIRE_2FA_FOR`` (settings ``INQUEST_REQUIRE_2FA_FOR``): staff, leads or
  everyone must have it: without it they are sent to enrolment, and they
  cannot turn it off.
"""

from __future__ import annotations

import math
from base64 import b32encode
from typing import Any

import django_otp
import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from incidents.accounts import events, tracking
from incidents.accounts.models import RecoveryCodeDevice
from incidents.cases.models import Membership

PENDING_KEY = "_inquest_2fa_pending"  # signed in with the password; the code is still due


# -- who must have it, who has it ------------------------------------------------------


def requires_second_factor(user: Any) -> bool:
    """Whether INQUEST_REQUIRE_2FA_FOR names USER: staff (superusers too), case
    leads, or everyone."""
    wanted = settings.INQUEST_REQUIRE_2FA_FOR
    if not wanted or not user.is_authenticated:
        return False
    if "everyone" in wanted:
        return True
    if "staff" in wanted and (user.is_staff or user.is_superuser):
        return True
    return "leads" in wanted and (
        Membership.objects.filter(user=user, role=Membership.Role.LEAD).exists()
    )


def totp_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def recovery_device(user: Any) -> RecoveryCodeDevice | None:
    return RecoveryCodeDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def has_second_factor(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def on_login(request: HttpRequest, user: Any) -> None:
    """At every password sign-in: a user with a device owes a code."""
    if request is not None and has_second_factor(user):
        request.session[PENDING_KEY] = True


def is_verified(user: Any) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def owes_code(request: HttpRequest) -> bool:
    return bool(request.session.get(PENDING_KEY)) and not is_verified(request.user)


def _verified(request: HttpRequest, device: Any) -> None:
    """DEVICE verified the user: the session counts as verified, under a new key."""
    django_otp.login(request, device)
    request.session.pop(PENDING_KEY, None)
    request.session.cycle_key()
    tracking.follow_key(request)


def safe_next(request: HttpRequest, default: str = "") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path, never a bare word: redirect() would take "12345" for a route's name (a 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default or reverse(settings.LOGIN_REDIRECT_URL)


# -- forms ------------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        strip=True,
        help_text="The six digits your authenticator app shows now.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class VerifyForm(CodeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "code"
        ].help_text = (
            "The six digits your authenticator app shows now, or one of your recovery codes."
        )


class PasswordForm(forms.Form):
    """The user's password again, before a change to their second factor."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        # Through authenticate(): django-axes counts a wrong password here as at sign-in.
        checked = authenticate(self.request, username=user.get_username(), password=password)
        if checked is None or checked.pk != user.pk:
            raise forms.ValidationError("That is not your password.")
        return password


def _digits(code: str) -> str:
    return "".join(code.split())


def check_code(user: Any, code: str) -> tuple[Any, str]:
    """The device that accepts CODE (None if none does), and a message when refused.

    Six digits go to the TOTP device, anything else to the recovery codes:
    a wrong code counts against one device's throttle only. While a device
    makes the user wait after failures (django-otp's back-off), no code is
    tried on it at all.
    """
    digits = _digits(code)
    device: Any = (
        totp_device(user) if digits.isascii() and digits.isdigit() else recovery_device(user)
    )
    if device is None:
        return None, "That code is not right."
    allowed, data = device.verify_is_allowed()
    if not allowed:
        wait = (data or {}).get("locked_until")
        seconds = max(1, math.ceil((wait - timezone.now()).total_seconds())) if wait else 1
        return None, (
            f"Too many wrong codes in a row: wait {seconds} second{'s' if seconds > 1 else ''} "
            "and try again."
        )
    accepted = django_otp.verify_token(user, device.persistent_id, digits)
    if accepted is not None:
        return accepted, ""
    return None, "That code is not right."


def qr_svg(uri: str) -> str:
    """URI as a QR code: inline SVG markup (no style attribute, no script: the CSP allows it)."""
    return mark_safe(  # noqa: S308 - segno's own markup of a URI we made
        segno.make(uri, error="m").svg_inline(
            scale=5, dark="#111", light="#fff", title="QR code for your authenticator app"
        )
    )


def grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# -- views ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """After a password sign-in: the second factor's code, or a recovery code."""
    user = request.user
    target = safe_next(request)
    if is_verified(user) or not has_second_factor(user):
        request.session.pop(PENDING_KEY, None)
        return redirect(target)
    form = VerifyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            device, refusal = check_code(user, form.cleaned_data["code"])
            if device is not None:
                _verified(request, device)
                if isinstance(device, RecoveryCodeDevice):
                    left = device.remaining()
                    events.record(events.Kind.RECOVERY_CODE_USED, user=user, detail=f"{left} left")
                    messages.warning(
                        request,
                        f"You signed in with a recovery code; {left} left. "
                        "Make new ones on your account page if you are running out.",
                    )
                else:
                    events.record(events.Kind.TWO_FACTOR_VERIFIED, user=user)
                return redirect(target)
            events.failure("second factor refused", user=user, request=request)
            form.add_error("code", refusal)
        status = 422
    return render(
        request, "accounts/two_factor_verify.jinja", {"form": form, "next": target}, status=status
    )


def _pending_device(user: Any) -> TOTPDevice:
    """The user's unconfirmed TOTP device (one, reused), made if needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@login_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrolment: scan the QR code (or type the secret), confirm with a code."""
    user = request.user
    if has_second_factor(user):
        messages.info(request, "Two-step sign-in is already on.")
        return redirect("two_factor")
    device = _pending_device(user)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if django_otp.verify_token(
                user, device.persistent_id, _digits(form.cleaned_data["code"])
            ):
                codes, ended = _enable(request, device)
                events.record(
                    events.Kind.TWO_FACTOR_ENABLED,
                    user=user,
                    detail=f"{ended} other session(s) ended",
                )
                return render(
                    request,
                    "accounts/recovery_codes.jinja",
                    {"codes": codes, "enrolled": True, "ended": ended},
                )
            events.failure("second factor enrolment code refused", user=user, request=request)
            form.add_error(
                "code",
                "That code is not right. Check that the app was set up with this page's "
                "secret and that your device's clock is right.",
            )
        status = 422
    device.refresh_from_db()
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr": qr_svg(device.config_url),
        "secret": grouped(secret),
        "required": requires_second_factor(user),
    }
    return render(request, "accounts/two_factor_setup.jinja", context, status=status)


def _enable(request: HttpRequest, device: TOTPDevice) -> tuple[list[str], int]:
    user = request.user
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        recovery, _ = RecoveryCodeDevice.objects.get_or_create(
            user=user, defaults={"name": "Recovery codes"}
        )
        codes = recovery.replace_codes()
    _verified(request, device)
    # Other sessions were signed in with the password alone.
    ended = tracking.end_sessions(user, keep=request.session.session_key)
    return codes, ended


@login_required
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest) -> HttpResponse:
    """Two-step sign-in: its state; new recovery codes; turning it off."""
    user = request.user
    totp = totp_device(user)
    recovery = recovery_device(user)
    required = requires_second_factor(user)
    form = PasswordForm(request.POST or None, request=request)
    action = request.POST.get("action", "")
    refusal = ""
    status = 200
    if request.method == "POST":
        if totp is None or action not in {"regenerate", "disable"}:
            messages.error(request, "Two-step sign-in is off: nothing to change.")
            return redirect("two_factor")
        if action == "disable" and required:
            refusal = "Two-step sign-in is required for your account: it stays on."
        elif form.is_valid():
            if action == "regenerate":
                if recovery is None:
                    recovery = RecoveryCodeDevice.objects.create(user=user, name="Recovery codes")
                codes = recovery.replace_codes()
                events.record(events.Kind.RECOVERY_CODES_REGENERATED, user=user)
                return render(
                    request, "accounts/recovery_codes.jinja", {"codes": codes, "enrolled": False}
                )
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user).delete()
                RecoveryCodeDevice.objects.filter(user=user).delete()
            request.session.pop(DEVICE_ID_SESSION_KEY, None)
            request.session.pop(PENDING_KEY, None)
            events.record(events.Kind.TWO_FACTOR_DISABLED, user=user)
            messages.success(request, "Two-step sign-in is off.")
            return redirect("two_factor")
        status = 422
    context = {
        "totp": totp,
        "remaining": recovery.remaining() if recovery is not None else 0,
        "required": required,
        "form": form,
        "action": action,
        "refusal": refusal,
    }
    return render(request, "accounts/two_factor.jinja", context, status=status)

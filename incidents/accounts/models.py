"""Accounts use django.contrib.auth's User; case roles live on cases.Membership.

The models here keep what the account pages need (docs/security.md,
"Accounts"): the account events (the audit trail's record of sign-ins,
password and second-factor changes, and the password-reset throttle's count),
the signed-in sessions, and the recovery codes of the second factor. Their
tables are audited like the domain's (``incidents.audit.db.AUDITED_APPS``),
with the secrets left out of the row images.
"""

from __future__ import annotations

import hashlib
import secrets
from base64 import b32encode
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin


class AccountEvent(models.Model):
    """Something that happened to an account, once: a row, never changed.

    Each insert is in the audit trail (with the request's id, address and
    actor); the rows also count password-reset requests per address.
    """

    class Kind(models.TextChoices):
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
        PASSWORD_RESET_DONE = "password_reset_done", "Password reset"
        TWO_FACTOR_ENABLED = "two_factor_enabled", "Second factor turned on"
        TWO_FACTOR_DISABLED = "two_factor_disabled", "Second factor turned off"
        TWO_FACTOR_VERIFIED = "two_factor_verified", "Second factor verified"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated", "New recovery codes"
        SESSIONS_ENDED = "sessions_ended", "Sessions ended"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="account_events",
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    # The address a reset was asked for (normalised), whether it is known or not.
    subject = models.CharField(max_length=254, blank=True, default="")
    detail = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["kind", "subject", "at"], name="account_event_throttle")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.subject or self.user_id})"


class UserSession(models.Model):
    """A signed-in session: whose it is, from where, since when.

    One row per live Django session of a signed-in user, made at sign-in (or
    at the session's first request, for one made before this table). Its
    ``session_key`` follows the session's key when the key is rotated. Ending
    a session deletes Django's session row and this one.
    """

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Its last request, to within TOUCH_EVERY (incidents/accounts/tracking.py);
    # a change of this alone writes no audit record (audit.db.DERIVED_COLUMNS).
    last_seen = models.DateTimeField(default=timezone.now)
    ip = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"


RECOVERY_CODE_COUNT = 10
_CODE_ALPHABET = set("abcdefghijklmnopqrstuvwxyz234567")


def normalise_code(text: str) -> str:
    """A typed recovery code without its spaces and dashes, lower case; empty
    when it cannot be one (wrong length or letters)."""
    code = "".join(c for c in str(text).lower() if c not in " -\t")
    return code if len(code) == 16 and set(code) <= _CODE_ALPHABET else ""


def digest_of(code: str) -> str:
    """What is stored of a recovery code: its SHA-256. A code is 80 random
    bits, so the digest cannot be searched back to it."""
    return hashlib.sha256(code.encode()).hexdigest()


def new_code() -> str:
    """Sixteen base32 letters (80 random bits), shown as xxxx-xxxx-xxxx-xxxx."""
    raw = b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


class RecoveryCodeDevice(ThrottlingMixin, TimestampMixin, Device):
    """django-otp device of single-use recovery codes, stored hashed.

    django-otp's own static device keeps its codes in clear; this one keeps
    each code's SHA-256 and deletes the row when the code is used. Failed
    tries are throttled as django-otp's devices are (1, 2, 4, 8… seconds).
    """

    class Meta:
        verbose_name = "recovery-code set"

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        code = normalise_code(token)
        used = 0
        if code:
            used, _ = self.codes.filter(digest=digest_of(code)).delete()
        if used:
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=True)
        return False

    def replace_codes(self) -> list[str]:
        """A new set of codes (the old ones stop working); the codes in clear,
        to be shown once."""
        codes = [new_code() for _ in range(RECOVERY_CODE_COUNT)]
        with transaction.atomic():
            self.codes.all().delete()
            RecoveryCode.objects.bulk_create(
                RecoveryCode(device=self, digest=digest_of(normalise_code(c))) for c in codes
            )
        return codes

    def remaining(self) -> int:
        return self.codes.count()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"recovery code #{self.pk}"

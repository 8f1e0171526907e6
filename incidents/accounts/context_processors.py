"""What the pages need to know of the account settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def account_flags(request: HttpRequest) -> dict[str, Any]:
    """``password_reset_enabled``: e-mail is configured, the reset pages exist
    (the sign-in page links to them only then)."""
    return {"password_reset_enabled": settings.INQUEST_EMAIL_ENABLED}

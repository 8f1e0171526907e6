"""Log-in throttling in front of the password check."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class ThrottledBackend(AxesStandaloneBackend):
    """django-axes' check, for every log-in that comes with a request.

    ``authenticate()`` without a request is only ever called from code (the
    test client's ``login()``, scripts), never from the log-in form or the
    admin: nothing to throttle there, so it passes to the next backend instead
    of failing.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

"""The second factor's gate and the signed-in sessions' bookkeeping, for every request.

After ``AuthenticationMiddleware`` and django-otp's ``OTPMiddleware`` (which
gives ``request.user.is_verified()``), for a signed-in user:

* a session signed in with the password whose user has a second factor
  answers every view with a redirect to ``two_factor_verify`` until a code is
  given;
* when ``INQUEST_REQUIRE_2FA_FOR`` names the user (staff, leads, everyone),
  an unverified session goes to ``two_factor_verify`` if the user has a
  device, else to ``two_factor_setup``;
* the admin included: the gate runs for every view (``process_view``), only
  the sign-in, sign-out and second-factor pages themselves are let through.
  A path that resolves to no view is the same 404 as ever.

With nothing required and no device (the demo's default), this reads nothing
from the database: the session says whether a code is owed. The session's
``UserSession`` row is made, moved to the session's new key and touched here
(incidents/accounts/tracking.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from incidents.accounts import tracking, twofactor

# Views that never read the session's user (the health check must answer for the
# database alone).
UNTRACKED_VIEWS = frozenset({"healthz", "favicon"})

# Views a session that owes its second factor may still reach.
OPEN_VIEWS = frozenset(
    {"login", "logout", "two_factor_verify", "two_factor_setup", "healthz", "favicon"}
)


class AccountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.META.get("inquest.session_seen"):
            tracking.follow_key(request)
        return response

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and match.view_name in UNTRACKED_VIEWS:
            return None  # /healthz answers from the database alone, even when sessions fail
        user = request.user
        if not user.is_authenticated:
            return None
        tracking.seen(request, user)
        request.META["inquest.session_seen"] = True  # read back in __call__
        if match is not None and match.view_name in OPEN_VIEWS:
            return None
        if twofactor.owes_code(request):
            return _send(request, "two_factor_verify")
        if twofactor.is_verified(user) or not twofactor.requires_second_factor(user):
            return None
        if twofactor.has_second_factor(user):
            return _send(request, "two_factor_verify")
        return _send(request, "two_factor_setup")


def _send(request: HttpRequest, name: str) -> HttpResponse:
    target = reverse(name)
    if request.method == "GET" and not getattr(request, "htmx", False):
        target += "?" + urlencode({"next": request.get_full_path()})
    if getattr(request, "htmx", False):  # a region asked for: the whole page goes there
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)

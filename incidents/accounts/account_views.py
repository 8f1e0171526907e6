"""The account page and the list of one's signed-in sessions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from incidents.accounts import events, tracking, twofactor
from incidents.accounts.models import AccountEvent
from incidents.htmx import SignedInHttpRequest

RECENT_EVENTS = 10


@login_required
@require_http_methods(["GET"])
def account(request: SignedInHttpRequest) -> HttpResponse:
    """Who you are; links to your password, two-step sign-in and sessions."""
    user = request.user
    recovery = twofactor.recovery_device(user)
    context = {
        "totp": twofactor.totp_device(user),
        "remaining": recovery.remaining() if recovery is not None else 0,
        "required": twofactor.requires_second_factor(user),
        "session_count": len(tracking.open_sessions(request)),
        "recent": AccountEvent.objects.filter(user=user)[:RECENT_EVENTS],
    }
    return render(request, "accounts/account.jinja", context)


@login_required
@require_http_methods(["GET", "POST"])
def sessions(request: SignedInHttpRequest) -> HttpResponse:
    """Your signed-in sessions: where, since when, last active; end the others, or all."""
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "others":
            ended = tracking.end_sessions(user, keep=request.session.session_key)
            events.record(events.Kind.SESSIONS_ENDED, user=user, detail=f"{ended} other(s)")
            messages.success(request, f"{ended} other session{'s' if ended != 1 else ''} ended.")
            return redirect("account_sessions")
        if action == "all":
            ended = tracking.end_sessions(user, keep=request.session.session_key)
            events.record(
                events.Kind.SESSIONS_ENDED, user=user, detail=f"all: {ended + 1} with this one"
            )
            logout(request)
            return redirect("login")
        messages.error(request, "Choose which sessions to end.")
        return render(
            request,
            "accounts/sessions.jinja",
            {"sessions": tracking.open_sessions(request)},
            status=422,
        )
    return render(request, "accounts/sessions.jinja", {"sessions": tracking.open_sessions(request)})

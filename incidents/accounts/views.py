"""Leads manage their case's members and read its history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from incidents.accounts.access import Need, get_case_for_user
from incidents.accounts.forms import AddMemberForm, MemberForm
from incidents.audit.models import AuditEvent
from incidents.cases.models import Incident, Membership
from incidents.htmx import HtmxHttpRequest


def _members_context(incident: Incident, **extra: Any) -> dict[str, Any]:
    memberships = incident.memberships.select_related("user").order_by("role", "user__username")
    return {
        "incident": incident,
        "memberships": memberships,
        "roles": Membership.Role.choices,
        "add_form": extra.pop("add_form", None) or AddMemberForm(),
        "notice": "",
        "member_error": "",
        **extra,
    }


def _apply(request: HttpRequest, incident: Incident) -> tuple[dict[str, Any], bool]:
    """Run the posted action; return extra context and whether it changed anything."""
    action = request.POST.get("action", "")
    by = request.user
    if action == "add":
        add_form = AddMemberForm(request.POST)
        if add_form.is_valid():
            try:
                incident.add_member(
                    add_form.cleaned_data["username"], role=add_form.cleaned_data["role"], by=by
                )
                name = add_form.cleaned_data["username"].get_username()
                return {"notice": f"{name} added."}, True
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    add_form.add_error(field if field in add_form.fields else None, messages)
        return {"add_form": add_form}, False
    if action in {"change", "remove"}:
        form = MemberForm(request.POST, incident=incident)
        if form.is_valid():
            user = form.cleaned_data["user"]
            try:
                if action == "remove":
                    incident.remove_member(user, by=by)
                    return {"notice": f"{user.get_username()} removed."}, True
                incident.change_member_role(user, role=form.cleaned_data["role"], by=by)
                return {
                    "notice": f"{user.get_username()} is now {form.cleaned_data['role']}."
                }, True
            except ValidationError as error:
                return {"member_error": " ".join(error.messages), "error_user": user.pk}, False
        return {"member_error": " ".join(str(m) for ms in form.errors.values() for m in ms)}, False
    return {"member_error": "Unknown action."}, False


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def members(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """The case's members: leads add people, change roles, remove people."""
    access = get_case_for_user(request, reference, Need.LEAD)
    incident = access.incident
    template = "accounts/members.jinja#members" if request.htmx else "accounts/members.jinja"
    if request.method == "POST":
        extra, changed = _apply(request, incident)
        if changed and not request.htmx:
            return redirect("cases:members", reference=incident.reference)
        response = render(
            request, template, _members_context(incident, **extra), status=200 if changed else 422
        )
        if changed:
            trigger_client_event(response, "members-changed")
        return response
    return render(request, template, _members_context(incident))


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
def history(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """Every recorded change to the case and what belongs to it, newest first (leads)."""
    access = get_case_for_user(request, reference, Need.LEAD)
    events = AuditEvent.objects.for_incident(access.incident).order_by("-id")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    template = "accounts/history.jinja#events" if request.htmx else "accounts/history.jinja"
    return render(request, template, {"incident": access.incident, "page": page})

"""The case page and its regions, the case status actions, and the timeline composer.

One page, one template: ``templates/cases/detail.jinja``, which extends the
site frame (``base.jinja``). Each region (header, hypotheses, evidence,
matrix, timeline) is a block or a macro of it, rendered alone as
``cases/detail.jinja#<region>`` (``incidents/jinja.py``). A region reloads
itself with ``hx-get`` on the case URL and ``hx-target="this"``: the
``HX-Target`` header names the region, and the view renders only that part.
The same URL without HTMX renders the whole page, so every state (matrix
sort, timeline filter, older entries) is a plain link.

What the template shows comes from the presenter, ``page.CasePage``; the
writes of the hypotheses and the matrix are in ``incidents/hypotheses/views.py``
and answer through ``render_case``, ``after_write`` and ``after_invalid`` here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from incidents.accounts.access import (
    CaseAccess,
    Need,
    check_case_access,
    get_case_for_user,
    role_of_user,
)
from incidents.cases.forms import CaseStatusForm, UpdateForm
from incidents.cases.models import Incident, StatusUpdate
from incidents.cases.views import page_reads
from incidents.cases.views.page import CasePage
from incidents.htmx import HtmxHttpRequest
from incidents.hypotheses.forms import apply_change, apply_model_errors
from incidents.hypotheses.models import Hypothesis

TEMPLATE = "cases/detail.jinja"
# HX-Target (the id of the element asking) -> the part that answers it.
REGIONS = {
    "header": "header",
    "hypotheses": "hypotheses",
    "evidence": "evidence",
    "matrix": "matrix",
    "timeline": "timeline",
    "timeline-list": "timeline_list",
    "timeline-more": "timeline_entries",
    "matrix-explain-body": "matrix_explain_body",
    "attach-load": "attach_form_body",
    "hypothesis-add-load": "hypothesis_form_body",
    # A case status panel's link (``?status_form=<value>``): that form alone.
    **{f"status-load-{value}": "status_form_alone" for value in Incident.Status.values},
}


def render_case(
    request: HtmxHttpRequest,
    access: CaseAccess,
    region: str | None = None,
    *,
    status: int = 200,
    **state: Any,
) -> HttpResponse:
    """The whole page, or one region of it (a block or macro of the page's
    template, ``cases/detail.jinja#region``), in the case's time zone. STATE:
    what the view knows of the page (``CasePage``'s keyword arguments)."""
    with timezone.override(access.incident.zone):
        page = CasePage(request, access, whole=region is None, **state)
        name = f"{TEMPLATE}#{region}" if region else TEMPLATE
        return HttpResponse(render_to_string(name, page.context(), request), status=status)


def case_url(incident: Incident, anchor: str = "", query: str = "") -> str:
    url = reverse("cases:detail", args=[incident.reference])
    return url + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


def hypotheses_of(incident: Incident, pk: int) -> tuple[list[Hypothesis], Hypothesis]:
    """The case's hypotheses (the answer draws them all) and the one PK among
    them: 404 if it is not one of the case's."""
    return _one_of(page_reads.hypotheses(incident), pk)


def _one_of(hypotheses: list[Hypothesis], pk: int) -> tuple[list[Hypothesis], Hypothesis]:
    h = next((h for h in hypotheses if h.pk == pk), None)
    if h is None:
        raise Http404("No such hypothesis.")
    return hypotheses, h


def case_hypotheses_for_user(
    request: HtmxHttpRequest, reference: str, pk: int, need: Need
) -> tuple[CaseAccess, list[Hypothesis], Hypothesis]:
    """``get_case_for_user`` and ``hypotheses_of`` in one read: the case's
    hypotheses, each with the case, its lead and the user's role on it. 404
    if the case is not visible to the user or PK is not one of its
    hypotheses, 403 if the user's role does not meet NEED."""
    if not request.user.is_authenticated:
        raise Http404("No such case.")
    rows = (
        Hypothesis.objects.filter(incident__reference=reference)
        .select_related("incident__lead")
        .defer("incident__search_vector")
        .annotate(role_of_user=role_of_user(request.user, "incident_id"))
    )
    hypotheses: list[Hypothesis] = list(rows)
    if not hypotheses:
        raise Http404("No such hypothesis.")
    incident = hypotheses[0].incident
    role: str | None = hypotheses[0].role_of_user  # type: ignore[attr-defined]
    for h in hypotheses:
        h.incident = incident  # one case object for all of them
    hypotheses, h = _one_of(hypotheses, pk)
    return check_case_access(request, incident, need, role=role), hypotheses, h


def after_write(
    request: HtmxHttpRequest,
    access: CaseAccess,
    region: str,
    events: tuple[str, ...],
    message: str,
    **state: Any,
) -> HttpResponse:
    """After a successful write: the fresh region for HTMX (and events for the
    other regions), a redirect back to the page for a plain form."""
    if request.htmx:
        response = render_case(request, access, region, **state)
        for event in events:
            trigger_client_event(response, event)
        return response
    messages.success(request, message)
    anchor = {"hypothesis_card_alone": "hypotheses", "timeline_posted": "timeline"}.get(
        region, region
    )
    return HttpResponseRedirect(case_url(access.incident, anchor))


def after_invalid(
    request: HtmxHttpRequest, access: CaseAccess, region: str, **state: Any
) -> HttpResponse:
    """Invalid input: the region with the errors for HTMX (200, so htmx swaps it),
    the whole page with the errors in place for a plain form (422). A stale
    copy (a lost-update conflict, see ``apply_conflict``) answers 409 either way."""
    conflict = any(getattr(form, "conflict", False) for form in state.get("bound", {}).values())
    if request.htmx:
        return render_case(request, access, region, status=409 if conflict else 200, **state)
    return render_case(request, access, status=409 if conflict else 422, **state)


# -- views --------------------------------------------------------------------


@require_GET
@login_required
@vary_on_headers("HX-Request", "HX-Target")
def case_detail(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """The case page; with HTMX and ``HX-Target`` naming a region, that region alone."""
    access = get_case_for_user(request, reference, Need.READ)
    target = request.htmx.target if request.htmx else None
    return render_case(request, access, REGIONS.get(target or ""))


@require_POST
@login_required
def case_status(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """Move the case to another status (lead only), with a reason."""
    access = get_case_for_user(request, reference, Need.LEAD)
    incident = access.incident
    form = CaseStatusForm(request.POST, incident=incident, target=request.POST.get("status", ""))
    if form.is_valid() and apply_change(
        form,
        incident.move_to,
        form.cleaned_data["status"],
        by=request.user,
        reason=form.cleaned_data["reason"],
        expected_version=form.cleaned_data.get("version"),
    ):
        label = incident.get_status_display().lower()
        return after_write(
            request,
            access,
            "header",
            ("hypotheses-changed", "timeline-changed"),
            f"The case is now {label}.",
        )
    value = request.POST.get("status", "")
    key = ("status", value) if value in incident.allowed_statuses() else "status_error"
    return after_invalid(request, access, "header", bound={key: form})


@require_POST
@login_required
def post_update(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """Post a note, a finding or an official statement to the timeline."""
    access = get_case_for_user(request, reference, Need.WRITE)
    form = UpdateForm(request.POST)
    if form.is_valid():
        try:
            entry = StatusUpdate.objects.post(
                access.incident,
                kind=form.cleaned_data["kind"],
                body=form.cleaned_data["body"],
                by=request.user,
            )
        except ValidationError as exc:
            apply_model_errors(form, exc)
        else:
            # HTMX: a blank composer, and the new entry alone on top of the list.
            return after_write(
                request, access, "timeline_posted", (), "Posted to the timeline.", posted=entry
            )
    return after_invalid(request, access, "timeline_composer", bound={"update": form})

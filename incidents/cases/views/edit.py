"""Editing a case: ``/cases/<reference>/edit/`` (lead and investigators).

The form carries the version the case was read at; ``Incident.edit`` refuses
a stale one (409, the input kept and what changed meanwhile said), validates
the fields (422 next to them; 400 when a field was left out of the post) and
writes the timeline entry. A save answers with a redirect to the case page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from incidents.accounts.access import Need, get_case_for_user
from incidents.audit.versioning import is_incomplete
from incidents.cases.forms_edit import CaseEditForm, time_zone_names
from incidents.cases.views import page_reads
from incidents.htmx import HtmxHttpRequest
from incidents.hypotheses.forms import apply_change


@require_http_methods(["GET", "POST"])
@login_required
def case_edit(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    incident = access.incident
    status = 200
    if request.method == "POST":
        form = CaseEditForm(request.POST)
        if form.is_valid():
            fields, tags = form.changes()
            if apply_change(
                form,
                incident.edit,
                by=request.user,
                changes=fields,
                tags=tags,
                expected_version=form.cleaned_data["version"],
            ):
                messages.success(request, "Case saved.")
                return HttpResponseRedirect(incident.get_absolute_url())
        if getattr(form, "conflict", False):
            status = 409
        elif is_incomplete(form):
            status = 400
        else:
            status = 422
    else:
        tags = page_reads.tag_names(incident_id=incident.pk)
        form = CaseEditForm(initial=CaseEditForm.initial_for(incident, tags))
    context = {
        "incident": incident,
        "access": access,
        "form": form,
        "time_zones": time_zone_names(),
    }
    response = render(request, "cases/edit.jinja", context, status=status)
    response["Cache-Control"] = "no-store"
    return response

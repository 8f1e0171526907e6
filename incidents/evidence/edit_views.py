"""Editing a source: ``/evidence/<id>/edit/`` (lead and investigators).

One page, two forms: the details (``what=details``) and the Admiralty grade
with its reason (``what=regrade``). Each carries the version the source was
read at: a stale one answers 409 with what changed and the input kept; a
refused field 422 next to it; a field left out of the post 400. A save
answers with a redirect to the source's page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from incidents.accounts.access import Need
from incidents.audit.versioning import is_incomplete
from incidents.evidence.edit_forms import (
    RegradeForm,
    RestoreForm,
    SourceEditForm,
    WithdrawForm,
)
from incidents.evidence.views import _item
from incidents.hypotheses.forms import apply_change


def _status(form: Any) -> int:
    if getattr(form, "conflict", False):
        return 409
    return 400 if is_incomplete(form) else 422


@require_http_methods(["GET", "POST"])
@login_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item, access = _item(request, pk, Need.WRITE)
    status = 200
    with timezone.override(item.incident.zone):
        details = SourceEditForm(initial=SourceEditForm.initial_for(item))
        regrade = RegradeForm(
            initial={
                "reliability": item.reliability,
                "credibility": item.credibility,
                "version": item.version,
            }
        )
        withdraw = WithdrawForm(initial={"version": item.version})
        if request.method == "POST":
            what = request.POST.get("what")
            if what == "withdraw":
                withdraw = WithdrawForm(request.POST)
                if withdraw.is_valid() and apply_change(
                    withdraw,
                    item.withdraw,
                    by=request.user,
                    reason=withdraw.cleaned_data["reason"],
                    note=withdraw.cleaned_data["note"],
                    expected_version=withdraw.cleaned_data["version"],
                ):
                    messages.success(
                        request, "Source withdrawn: it has left the matrix and the scores."
                    )
                    return HttpResponseRedirect(item.get_absolute_url())
                status = _status(withdraw)
            elif what == "regrade":
                regrade = RegradeForm(request.POST)
                if regrade.is_valid() and apply_change(
                    regrade,
                    item.regrade,
                    by=request.user,
                    reliability=regrade.cleaned_data["reliability"],
                    credibility=regrade.cleaned_data["credibility"],
                    reason=regrade.cleaned_data["reason"],
                    expected_version=regrade.cleaned_data["version"],
                ):
                    messages.success(request, f"Regraded {item.grade}.")
                    return HttpResponseRedirect(item.get_absolute_url())
                status = _status(regrade)
            else:
                details = SourceEditForm(request.POST)
                if details.is_valid() and apply_change(
                    details,
                    item.edit,
                    by=request.user,
                    changes=details.changes(),
                    expected_version=details.cleaned_data["version"],
                ):
                    messages.success(request, "Source saved.")
                    return HttpResponseRedirect(item.get_absolute_url())
                status = _status(details)
        context = {
            "item": item,
            "incident": item.incident,
            "access": access,
            "details": details,
            "regrade": regrade,
            "withdraw": withdraw,
        }
        response = render(request, "evidence/edit.jinja", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def source_restore(request: HttpRequest, pk: int) -> HttpResponse:
    """Bring a withdrawn source back into the matrix and the scores."""
    item, _access = _item(request, pk, Need.WRITE)
    form = RestoreForm(request.POST)
    if form.is_valid() and apply_change(
        form, item.restore, by=request.user, expected_version=form.cleaned_data["version"]
    ):
        messages.success(request, "Source restored: it is back in the matrix and the scores.")
        return HttpResponseRedirect(item.get_absolute_url())
    item.refresh_from_db()
    context = {"item": item, "incident": item.incident, "form": form}
    return render(request, "evidence/restore.jinja", context, status=_status(form))

"""The reports page, its rows (polled while a report is being made), downloads,
and the small pages that set what a report holds: TLP markings and key judgements.

Who may do what (docs/security.md, "Reports"): every member reads the case's
reports, observers included (a report holds nothing its reader could not
already read on the case page); investigators and leads ask for reports and
try failed ones again; leads set the case's level and its key judgements;
writers set the level of the case's items. Outsiders get 404, as everywhere.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from incidents.accounts.access import CaseAccess, Need, get_case_for_user
from incidents.audit.versioning import Conflict
from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.htmx import HtmxHttpRequest
from incidents.reports import content, marking
from incidents.reports.forms import JudgementsForm, MarkForm, RequestForm
from incidents.reports.models import Report, TamperedReport
from incidents.reports.tlp import RANK, TLP
from incidents.reports.wep import judgements_html

PAGE_SIZE = 100


def _reports_context(access: CaseAccess, **extra: Any) -> dict[str, Any]:
    incident = access.incident
    reports = list(
        Report.objects.filter(incident=incident).select_related("requested_by").order_by("-number")
    )
    preview = content.withheld_preview(incident) if access.can_write else {}
    return {
        "incident": incident,
        "access": access,
        "reports": reports,
        "form": extra.pop("form", None) or RequestForm(case_level=incident.tlp),
        "preview": preview,
        "levels": list(TLP),
        "case_level": TLP(incident.tlp),
        **extra,
    }


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def report_list(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """The case's reports, newest first; writers ask for a new one here."""
    access = get_case_for_user(request, reference, Need.READ)
    incident = access.incident
    if request.method == "POST":
        if not access.can_write:
            raise PermissionDenied("Observers read reports; investigators and leads make them.")
        form = RequestForm(request.POST, case_level=incident.tlp)
        if form.is_valid():
            try:
                report = Report.request(
                    incident, by=request.user, audience=form.cleaned_data["audience"]
                )
            except ValidationError as error:
                form.add_error("audience", error.messages)
            else:
                return redirect(_list_url(reference, report.number))
        return render(
            request, "reports/list.jinja", _reports_context(access, form=form), status=422
        )
    return render(request, "reports/list.jinja", _reports_context(access))


def _list_url(reference: str, number: int) -> str:
    return f"{reverse('reports:list', args=[reference])}#report-{number}"


def _report(access: CaseAccess, number: int) -> Report:
    report = (
        Report.objects.filter(incident=access.incident, number=number)
        .select_related("requested_by")
        .first()
    )
    if report is None:
        raise Http404("No such report.")
    return report


@login_required
@vary_on_headers("HX-Request")
@require_GET
def report_row(request: HtmxHttpRequest, reference: str, number: int) -> HttpResponse:
    """One row of the list: HTMX polls it while the report is being made."""
    access = get_case_for_user(request, reference, Need.READ)
    report = _report(access, number)
    if not request.htmx:
        return redirect(_list_url(reference, number))
    return render(
        request,
        "reports/list.jinja#report_row",
        {"incident": access.incident, "access": access, "report": report},
    )


@login_required
@require_POST
def report_retry(request: HtmxHttpRequest, reference: str, number: int) -> HttpResponse:
    """Queue a failed report again."""
    access = get_case_for_user(request, reference, Need.WRITE)
    report = _report(access, number)
    # Made meanwhile, or tried again already: the row says how it stands.
    with contextlib.suppress(ValidationError):
        report.retry(by=request.user)
    if request.htmx:
        report.refresh_from_db()
        return render(
            request,
            "reports/list.jinja#report_row",
            {"incident": access.incident, "access": access, "report": report},
        )
    return redirect(_list_url(reference, number))


@login_required
@require_GET
def report_download(request: HttpRequest, reference: str, number: int) -> HttpResponse:
    """The PDF, after its bytes are checked against the hash on record; on the
    activity log and the audit trail."""
    access = get_case_for_user(request, reference, Need.READ)
    report = _report(access, number)
    if report.status != Report.Status.DONE:
        raise Http404("This report is not ready.")
    try:
        data = report.open(by=request.user)
    except TamperedReport as problem:
        return render(
            request,
            "reports/refused.jinja",
            {"incident": access.incident, "report": report, "problem": str(problem)},
            status=409,
        )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Digest"] = f"sha-256={report.sha256}"
    return response


# -- markings -------------------------------------------------------------------------

SECTIONS = {
    "sources": "Sources",
    "entries": "Notes, findings and official statements",
    "annotations": "Annotations",
}


def _rows(incident: Incident, section: str) -> Any:
    if section == "sources":
        return (
            EvidenceItem.objects.filter(incident=incident)
            .only("id", "title", "kind", "tlp", "version", "reliability", "credibility")
            .order_by("created_at", "id")
        )
    if section == "entries":
        return (
            StatusUpdate.objects.filter(incident=incident, kind__in=marking.MARKABLE_ENTRIES)
            .select_related("author")
            .only("id", "kind", "body", "tlp", "created_at", "author__username")
            .order_by("created_at", "id")
        )
    return (
        Annotation.objects.live()
        .filter(item__incident=incident)
        .select_related("item")
        .only(
            "id",
            "body",
            "quote_exact",
            "region",
            "stance",
            "tlp",
            "version",
            "item__title",
            "item__tlp",
            "item__incident_id",
        )
        .order_by("item_id", "id")
    )


def _target(incident: Incident, section: str, pk: int) -> Any:
    rows = _rows(incident, section)
    target = rows.filter(pk=pk).first()
    if target is None:
        raise Http404("Nothing to mark.")
    return target


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def markings(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """The levels of the case and of everything in it: who may receive what.

    The case's level is the lead's to set; each item's, any writer's. One
    row changes at a time (a small form each, sent by HTMX when the choice
    changes)."""
    access = get_case_for_user(request, reference, Need.READ)
    incident = access.incident
    section = request.GET.get("show", "sources")
    if section not in SECTIONS:
        section = "sources"
    notice = error = ""
    changed: Any = None
    if request.method == "POST":
        if not access.can_write:
            raise PermissionDenied("Observers read markings; writers change them.")
        kind = request.POST.get("kind", "")
        form = MarkForm(request.POST)
        target: Any = None
        if kind == "case":
            if not access.can_lead:
                raise PermissionDenied("Only the case's lead sets the case's level.")
            target = incident
        elif kind in SECTIONS:
            pk = request.POST.get("id", "")
            if not (pk.isascii() and pk.isdigit() and 0 < len(pk) < 19):
                raise Http404("Nothing to mark.")
            target = _target(incident, kind, int(pk))
            section = kind
        if target is None:
            error = "Choose what to mark."
        elif form.is_valid():
            try:
                marking.mark(
                    target,
                    form.cleaned_data["tlp"],
                    by=request.user,
                    expected_version=form.cleaned_data.get("version"),
                )
                notice = f"Marked {TLP(form.cleaned_data['tlp']).label}."
                changed = target
            except Conflict as conflict:
                error = str(conflict.messages[0])
            except ValidationError as problem:
                error = " ".join(problem.messages)
        elif not error:
            error = "Choose a TLP level."
        if request.htmx and kind in SECTIONS:
            target.refresh_from_db()
            return render(
                request,
                "reports/markings.jinja#mark_row",
                {
                    "incident": incident,
                    "access": access,
                    "section": kind,
                    "row": target,
                    "levels": list(TLP),
                    "ranks": RANK,
                    "notice": notice,
                    "error": error,
                },
            )
        if not error and not request.htmx:
            anchor = f"#{kind}-{target.pk}" if kind in SECTIONS else "#case-level"
            return redirect(
                f"{reverse('reports:markings', args=[reference])}?show={section}{anchor}"
            )
    page = Paginator(_rows(incident, section), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/markings.jinja",
        {
            "incident": incident,
            "access": access,
            "section": section,
            "sections": SECTIONS,
            "page": page,
            "levels": list(TLP),
            "ranks": RANK,
            "case_level": TLP(incident.tlp),
            "notice": notice,
            "error": error,
            "changed": changed,
        },
        status=422 if error else 200,
    )


# -- key judgements --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def judgements(request: HttpRequest, reference: str) -> HttpResponse:
    """The lead writes the key judgements the report opens with (Markdown)."""
    access = get_case_for_user(request, reference, Need.READ)
    incident = access.incident
    status = 200
    if request.method == "POST":
        if not access.can_lead:
            raise PermissionDenied("Only the case's lead writes the key judgements.")
        form = JudgementsForm(request.POST)
        if form.is_valid():
            try:
                marking.set_key_judgements(
                    incident,
                    form.cleaned_data["key_judgements"],
                    by=request.user,
                    expected_version=form.cleaned_data["version"],
                )
            except ValidationError as problem:
                form.add_error(
                    "key_judgements" if not isinstance(problem, Conflict) else None,
                    problem.messages,
                )
                status = 409 if isinstance(problem, Conflict) else 422
            else:
                return redirect(reverse("reports:judgements", args=[reference]) + "?saved=1")
        else:
            status = 422
    else:
        form = JudgementsForm(
            initial={"key_judgements": incident.key_judgements, "version": incident.version}
        )
    return render(
        request,
        "reports/judgements.jinja",
        {
            "incident": incident,
            "access": access,
            "form": form,
            "preview": judgements_html(incident.key_judgements),
            "saved": request.GET.get("saved") == "1" and request.method == "GET",
        },
        status=status,
    )

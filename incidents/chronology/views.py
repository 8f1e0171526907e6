"""The chronology of a case: ``/cases/<reference>/chronology/`` and its forms.

Each view fetches the case through ``get_case_for_user`` with the Need its
write requires (outsiders 404, observers 403 on writes), validates a form and
calls one model method; a refusal comes back next to the form's fields (422,
or 409 for a stale edit). A write answers with a redirect to the page
(post/redirect/get) and a message. The page's zoom is a plain link that
htmx follows for the ``view`` region alone.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from incidents.accounts.access import CaseAccess, Need, get_case_for_user
from incidents.chronology import chronicle
from incidents.chronology.export import csv_rows
from incidents.chronology.forms import (
    CaseChoices,
    ClockForm,
    EventForm,
    OrderingForm,
    SourceClockForm,
)
from incidents.chronology.models import ChronologyEvent, Clock, OrderingConstraint
from incidents.chronology.page import ChronologyPage
from incidents.chronology.summary import case_summary
from incidents.htmx import HtmxHttpRequest
from incidents.hypotheses.forms import apply_change


def page_url(reference: str, anchor: str = "") -> str:
    return reverse("chronology:page", args=[reference]) + (f"#{anchor}" if anchor else "")


@require_GET
@login_required
@vary_on_headers("HX-Request", "HX-Target")
def chronology(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """The chronology: the SVG timeline, the table, the clocks and the orderings.

    An htmx request for ``chronology-view`` (the zoom's links) gets the
    figure and the table alone; one for ``chronology-summary`` (the case
    page's panel, loaded when it scrolls into view) the summary alone."""
    access = get_case_for_user(request, reference, Need.READ)
    if request.htmx and request.htmx.target == "chronology-summary":
        return render(
            request,
            "chronology/summary.jinja#chronology_summary_alone",
            {"summary": case_summary(access.incident)},
        )
    loaded = chronicle.load(access.incident)
    page = ChronologyPage(loaded, access.can_write, request.GET)
    template = "chronology/page.jinja"
    if request.htmx and request.htmx.target == "chronology-view":
        template += "#view"
    return render(
        request, template, {"access": access, "incident": access.incident, **page.context()}
    )


@require_GET
@login_required
def chronology_csv(request: HttpRequest, reference: str) -> HttpResponse:
    """The chronology as CSV (UTC times, seconds), one row per entry in time order."""
    access = get_case_for_user(request, reference, Need.READ)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(csv_rows(chronicle.load(access.incident)))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"{access.incident.reference}-chronology.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- forms ---------------------------------------------------------------------------------


def _form_page(
    request: HtmxHttpRequest,
    access: CaseAccess,
    form: Any,
    *,
    title: str,
    action: str,
    submit: str,
    intro: str = "",
    delete_url: str = "",
    delete_label: str = "",
    status: int = 200,
) -> HttpResponse:
    """A form on its own page; with htmx (a panel of the page loading it) the form alone."""
    if getattr(form, "conflict", False):
        status = 409
    elif form.is_bound and form.errors and status == 200:
        status = 422
    template = "chronology/form.jinja"
    if request.htmx and request.method == "GET":
        template += "#form_panel"
    context = {
        "incident": access.incident,
        "form": form,
        "title": title,
        "action": action,
        "submit": submit,
        "intro": intro,
        "delete_url": delete_url,
        "delete_label": delete_label,
        "back_url": page_url(access.incident.reference),
    }
    return render(request, template, context, status=status)


def _done(request: HttpRequest, reference: str, text: str, anchor: str) -> HttpResponse:
    messages.success(request, text)
    return HttpResponseRedirect(page_url(reference, anchor))


def _refused(request: HttpRequest, reference: str, exc: ValidationError) -> HttpResponse:
    messages.error(request, " ".join(exc.messages))
    return HttpResponseRedirect(page_url(reference))


def _sources(access: CaseAccess, ids: list[int]) -> list[Any]:
    from incidents.evidence.models import EvidenceItem

    if not ids:
        return []
    return list(
        EvidenceItem.objects.filter(incident=access.incident, pk__in=ids).only(
            "id", "incident_id", "clock_id", "title"
        )
    )


def _clock(access: CaseAccess, pk: int) -> Clock:
    clock = Clock.objects.filter(incident=access.incident, pk=pk).first()
    if clock is None:
        raise Http404("No such clock.")
    clock.incident = access.incident
    return clock


CLOCK_INTRO = (
    "A clock is a time source: a camera, a phone, a server, a witness's estimate. "
    "Its offset is how far ahead of true time it runs; every time read on it is "
    "corrected: corrected time = recorded time − offset, and the uncertainties "
    "add in quadrature."
)


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def clock_new(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    choices = CaseChoices.of(access.incident)
    if request.method == "POST":
        form = ClockForm(request.POST, choices=choices)
        if form.is_valid() and apply_change(
            form,
            Clock.add,
            access.incident,
            by=request.user,
            sources=_sources(access, form.source_ids()),
            **form.clock_fields(),
        ):
            name = form.cleaned_data["name"]
            return _done(request, reference, f"Clock “{name}” added.", "clocks")
    else:
        form = ClockForm(choices=choices, initial={"version": 0})
    return _form_page(
        request,
        access,
        form,
        title="Add a clock",
        action=reverse("chronology:clock_new", args=[reference]),
        submit="Add clock",
        intro=CLOCK_INTRO,
    )


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def clock_edit(request: HtmxHttpRequest, reference: str, pk: int) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    clock = _clock(access, pk)
    choices = CaseChoices.of(access.incident)
    if request.method == "POST":
        form = ClockForm(request.POST, choices=choices)
        if form.is_valid() and apply_change(
            form,
            clock.change,
            by=request.user,
            expected_version=form.cleaned_data.get("version"),
            sources=_sources(access, form.source_ids()),
            **form.clock_fields(),
        ):
            return _done(request, reference, f"Clock “{clock.name}” saved.", "clocks")
    else:
        current = list(clock.sources.order_by("id").values_list("id", flat=True))
        form = ClockForm(choices=choices, initial=ClockForm.initial_for(clock, current))
    return _form_page(
        request,
        access,
        form,
        title=f"Clock “{clock.name}”",
        action=reverse("chronology:clock_edit", args=[reference, pk]),
        submit="Save clock",
        intro=CLOCK_INTRO,
        delete_url=reverse("chronology:clock_delete", args=[reference, pk]),
        delete_label="Remove this clock",
    )


@require_POST
@login_required
def clock_delete(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    clock = _clock(access, pk)
    try:
        clock.remove(by=request.user)
    except ValidationError as exc:
        return _refused(request, reference, exc)
    return _done(request, reference, f"Clock “{clock.name}” removed.", "clocks")


def _event(access: CaseAccess, pk: int) -> ChronologyEvent:
    event = ChronologyEvent.objects.filter(incident=access.incident, pk=pk).first()
    if event is None:
        raise Http404("No such event.")
    event.incident = access.incident
    return event


def _clocks_by_id(access: CaseAccess) -> dict[int, Clock]:
    return {c.pk: c for c in Clock.objects.filter(incident=access.incident)}


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def event_new(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    choices = CaseChoices.of(access.incident)
    if request.method == "POST":
        form = EventForm(request.POST, choices=choices)
        if form.is_valid() and apply_change(
            form,
            ChronologyEvent.add,
            access.incident,
            by=request.user,
            sources=_sources(access, form.source_ids()),
            **form.event_fields(_clocks_by_id(access)),
        ):
            title = form.cleaned_data["title"]
            return _done(request, reference, f"Event “{title}” added.", "entries")
    else:
        form = EventForm(choices=choices, initial={"version": 0})
    return _form_page(
        request,
        access,
        form,
        title="Add an event",
        action=reverse("chronology:event_new", args=[reference]),
        submit="Add event",
        intro="Something that happened: a moment, or an interval with its end. Give the time "
        "as the clock it was read on showed it; the page corrects it.",
    )


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def event_edit(request: HtmxHttpRequest, reference: str, pk: int) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    event = _event(access, pk)
    choices = CaseChoices.of(access.incident)
    if request.method == "POST":
        form = EventForm(request.POST, choices=choices)
        if form.is_valid() and apply_change(
            form,
            event.change,
            by=request.user,
            expected_version=form.cleaned_data.get("version"),
            sources=_sources(access, form.source_ids()),
            **form.event_fields(_clocks_by_id(access)),
        ):
            return _done(request, reference, f"Event “{event.title}” saved.", "entries")
    else:
        zone = choices.zone_of(event.clock_id)
        form = EventForm(choices=choices, initial=EventForm.initial_for(event, zone))
    return _form_page(
        request,
        access,
        form,
        title=f"Event “{event.title}”",
        action=reverse("chronology:event_edit", args=[reference, pk]),
        submit="Save event",
        delete_url=reverse("chronology:event_delete", args=[reference, pk]),
        delete_label="Remove this event",
    )


@require_POST
@login_required
def event_delete(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    event = _event(access, pk)
    try:
        event.remove(by=request.user)
    except ValidationError as exc:
        return _refused(request, reference, exc)
    return _done(request, reference, f"Event “{event.title}” removed.", "entries")


def _ordering(access: CaseAccess, pk: int) -> OrderingConstraint:
    ordering = OrderingConstraint.objects.filter(incident=access.incident, pk=pk).first()
    if ordering is None:
        raise Http404("No such ordering.")
    ordering.incident = access.incident
    return ordering


ORDERING_INTRO = (
    "State what came first when a source shows it: a post that mentions the flag came "
    "after the flag appeared. “During” places the first entry within the second's "
    "interval. The chronology narrows every window to agree with the orderings, and "
    "flags an ordering that the times contradict."
)


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def ordering_new(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    choices = CaseChoices.of(access.incident, events=True)
    if request.method == "POST":
        form = OrderingForm(request.POST, choices=choices)
        if form.is_valid() and apply_change(
            form,
            OrderingConstraint.state,
            access.incident,
            by=request.user,
            a=form.cleaned_data["a"],
            relation=form.cleaned_data["relation"],
            b=form.cleaned_data["b"],
            note=form.cleaned_data.get("note", ""),
        ):
            return _done(request, reference, "Ordering stated.", "orderings")
    else:
        initial = {"version": 0, "a": request.GET.get("a", ""), "b": request.GET.get("b", "")}
        form = OrderingForm(choices=choices, initial=initial)
    return _form_page(
        request,
        access,
        form,
        title="State an ordering",
        action=reverse("chronology:ordering_new", args=[reference]),
        submit="State ordering",
        intro=ORDERING_INTRO,
    )


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def ordering_edit(request: HtmxHttpRequest, reference: str, pk: int) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    ordering = _ordering(access, pk)
    choices = CaseChoices.of(access.incident, events=True)
    if request.method == "POST":
        form = OrderingForm(request.POST, choices=choices)
        if form.is_valid() and apply_change(
            form,
            ordering.change,
            by=request.user,
            a=form.cleaned_data["a"],
            relation=form.cleaned_data["relation"],
            b=form.cleaned_data["b"],
            note=form.cleaned_data.get("note", ""),
            expected_version=form.cleaned_data.get("version"),
        ):
            return _done(request, reference, "Ordering saved.", "orderings")
    else:
        form = OrderingForm(
            choices=choices,
            initial={
                "a": ordering.a_key,
                "relation": ordering.relation,
                "b": ordering.b_key,
                "note": ordering.note,
                "version": ordering.version,
            },
        )
    return _form_page(
        request,
        access,
        form,
        title="Ordering",
        action=reverse("chronology:ordering_edit", args=[reference, pk]),
        submit="Save ordering",
        intro=ORDERING_INTRO,
        delete_url=reverse("chronology:ordering_delete", args=[reference, pk]),
        delete_label="Withdraw this ordering",
    )


@require_POST
@login_required
def ordering_delete(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    ordering = _ordering(access, pk)
    try:
        ordering.remove(by=request.user)
    except ValidationError as exc:
        return _refused(request, reference, exc)
    return _done(request, reference, "Ordering withdrawn.", "orderings")


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def source_clock(request: HtmxHttpRequest, reference: str, item_pk: int) -> HttpResponse:
    """Which clock a source's event time was read on."""
    from incidents.evidence.models import EvidenceItem

    access = get_case_for_user(request, reference, Need.WRITE)
    item = (
        EvidenceItem.objects.filter(incident=access.incident, pk=item_pk)
        .only("id", "incident_id", "title", "clock_id", "version", "event_at")
        .first()
    )
    if item is None:
        raise Http404("No such source.")
    item.incident = access.incident
    choices = CaseChoices.of(access.incident)
    if request.method == "POST":
        form = SourceClockForm(request.POST, choices=choices)
        if form.is_valid():
            clocks = _clocks_by_id(access)
            chosen = form.cleaned_data.get("clock") or ""
            clock = clocks.get(int(chosen)) if chosen.isdigit() else None
            if apply_change(
                form,
                Clock.set_for_source,
                item,
                clock,
                by=request.user,
                expected_version=form.cleaned_data.get("version"),
            ):
                return _done(
                    request, reference, f"Clock of “{item.title}” saved.", f"entry-source-{item.pk}"
                )
    else:
        form = SourceClockForm(
            choices=choices, initial={"clock": str(item.clock_id or ""), "version": item.version}
        )
    when = choices.when(item.event_at) if item.event_at else "no event time"
    return _form_page(
        request,
        access,
        form,
        title=f"Clock of “{item.title}”",
        action=reverse("chronology:source_clock", args=[reference, item_pk]),
        submit="Save",
        intro=f"The source's event time ({when}) was read on this clock; its offset corrects it.",
    )

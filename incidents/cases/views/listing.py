"""The home page, the case list and opening a case."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from incidents.accounts.access import role_of_user
from incidents.cases import search
from incidents.cases.forms import CaseFilterForm, NewCaseForm
from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.cases.search import (
    PAGE_SIZE,
    SORTS,
    Page,
    add_snippets,
    apply_filters,
    candidate_ids,
    capped_count,
    matching,
    matching_sources,
    paginate,
    rank_candidates,
    rank_sources,
    segments_for,
    source_candidates,
    source_list,
    source_segments,
    uses_postgres_search,
    visible_sources,
)
from incidents.cases.views.drawing import activity_items, case_rows, home_rows, source_rows
from incidents.compiled import compiled
from incidents.hypotheses.models import Hypothesis
from incidents.lookups import AnyOf

HOME_CASES = 20
HOME_ACTIVITY = 10
# What the home page shows of a case and of an entry (drawing.home_rows, activity_items).
HOME_CASE_COLUMNS = ("reference", "title", "status", "severity", "last_activity_at")
# What a row of the case list shows (drawing.case_rows) and its page cursors read.
LIST_COLUMNS = (
    "reference",
    "title",
    "status",
    "severity",
    "time_zone",
    "occurred_at",
    "last_activity_at",
    "lead__username",
    "lead__first_name",
    "lead__last_name",
)
HOME_ENTRY_COLUMNS = (
    "incident_id",
    "kind",
    "body",
    "created_at",
    "author__username",
    "author__first_name",
    "author__last_name",
)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_partial(request: HtmxHttpRequest) -> bool:
    """An HTMX swap of one region; a history restore needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    """My cases (with my role) and the latest timeline entries across them."""
    user = request.user
    mine = Membership.objects.filter(incident=OuterRef("pk"), user=user)
    cases = list(
        Incident.objects.visible_to(user)
        .filter(Exists(mine))
        .annotate(my_role=role_of_user(user))
        .only(*HOME_CASE_COLUMNS)
        .order_by("-last_activity_at", "-id")[:HOME_CASES]
    )
    # The latest entries across my cases are on my most recently active cases:
    # every post moves its case's last_activity_at, so looking at those is enough.
    # The cases are at hand: joining them in would let PostgreSQL walk the whole
    # case table to merge them with the entries.
    by_pk = {case.pk: case for case in cases}
    activity = (
        list(
            StatusUpdate.objects.filter(AnyOf(F("incident_id"), by_pk))
            .select_related("author")
            .only(*HOME_ENTRY_COLUMNS)
            .order_by("-created_at", "-id")[:HOME_ACTIVITY]
        )
        if cases
        else []
    )
    for entry in activity:
        entry.incident = by_pk[entry.incident_id]
    context = {
        "cases": cases,
        "case_rows": home_rows(cases),
        "activity": activity,
        "activity_items": activity_items(activity),
    }
    return render(request, "cases/home.html", context)


def _list_context(request: HtmxHttpRequest, form: CaseFilterForm) -> dict[str, Any]:
    context: dict[str, Any] = {"form": form, "sorts": SORTS, "page_size": PAGE_SIZE}
    if not form.is_valid():
        return context
    data = form.cleaned_data
    context["scope"] = data["scope"]
    if data["scope"] == "sources":
        return _sources_context(request, data, context)
    text, sort = data["q"], data["sort"]
    # SQLite has no ranking: best match means most recent.
    shown = sort if sort != "relevance" or uses_postgres_search() else "activity"
    context.update(sort=shown, sort_label=SORTS[shown], page=Page([], None, None), cases=[])
    qs = apply_filters(matching(Incident.objects.visible_to(request.user), text), data)
    if text and sort == "relevance" and uses_postgres_search():
        # One pass over the matches gives both the count and the set to rank.
        ids = candidate_ids(qs)
        total = len(ids)
        qs = rank_candidates(ids, text)
    elif text:
        total = capped_count(qs)
    if text:
        _say_total(context, total)
        if not total:
            return context  # nothing matched: no page to read
    # A correlated subquery with LIMIT 1, not EXISTS: PostgreSQL may turn an
    # EXISTS in the select list into a hashed scan of every hypothesis.
    qs = (
        qs.select_related("lead")
        .only(*LIST_COLUMNS)
        .annotate(
            confirmed_id=Subquery(
                Hypothesis.objects.filter(
                    incident=OuterRef("pk"), status=Hypothesis.Status.CONFIRMED
                )
                .order_by()
                .values("pk")[:1]
            )
        )
    )
    page = paginate(qs, segments_for(sort), after=data["after"], before=data["before"])
    attach_tag_names(page.rows)
    context.update(page=page, cases=page.rows, case_rows=case_rows(page.rows))
    return context


def _say_total(context: dict[str, Any], total: int) -> None:
    """The count shown for a search: exact up to SEARCH_CAP, then "200+"."""
    context["total"] = min(total, search.SEARCH_CAP)
    context["total_capped"] = total > search.SEARCH_CAP


def _sources_context(
    request: HtmxHttpRequest, data: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """Evidence items of the visible cases matching the search text (issue 6).

    The newest SEARCH_CAP + 1 matches are fetched once: they give the capped
    count and, on PostgreSQL, the set ranked by relevance. The case filters
    narrow the sources to those of matching cases.
    """
    text, sort = data["q"], data["sort"]
    ranked = sort == "relevance" and uses_postgres_search()
    label = "best match" if ranked else "newest case first"
    context.update(sort=sort, sort_label=label, page=Page([], None, None), sources=[])
    qs = matching_sources(visible_sources(request.user), text)
    if any(data.get(name) for name in CaseFilterForm.FILTER_FIELDS[1:]):
        qs = qs.filter(incident__in=apply_filters(Incident.objects.all(), data).values("pk"))
    if text:
        ids = source_candidates(qs, every_case=request.user.is_staff)
        _say_total(context, len(ids))
        if not ids:
            return context  # nothing matched: no page to read
        qs = (
            rank_sources(ids, text)
            if ranked
            else qs.filter(AnyOf(F("id"), ids[: search.SEARCH_CAP]))
        )
    page = paginate(
        source_list(qs),  # type: ignore[arg-type]
        source_segments(sort),
        after=data["after"],
        before=data["before"],
    )
    add_snippets(page.rows, text)  # type: ignore[arg-type]
    context.update(page=page, sources=page.rows, source_rows=source_rows(page.rows))  # type: ignore[arg-type]
    return context


@compiled(tuples=True)
def _tag_rows(cases: list[int]) -> QuerySet[Any]:
    """(case id, tag name) of the cases CASES, by name."""
    return (
        Incident.tags.through.objects.filter(AnyOf(F("incident_id"), cases))
        .order_by("tag__name")
        .values_list("incident_id", "tag__name")
    )


def attach_tag_names(cases: list[Incident]) -> None:
    """Give each case ``tag_names`` (sorted) in one query of names: no Tag objects,
    no related managers per row (the list shows only the names)."""
    names: dict[int, list[str]] = {case.pk: [] for case in cases}
    if names:
        for incident_id, name in _tag_rows(list(names)):
            names[incident_id].append(name)
    for case in cases:
        case.tag_names = names[case.pk]  # type: ignore[attr-defined]


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@login_required
def case_list(request: HtmxHttpRequest) -> HttpResponse:
    """Search, filter, sort and page the cases the user may see.

    The whole state is in the query string, so every view of the list is a
    link; an HTMX request gets only the results region.
    """
    form = CaseFilterForm(request.GET)
    context = _list_context(request, form)
    template = "cases/list.html#results" if wants_partial(request) else "cases/list.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@login_required
def case_new(request: HtmxHttpRequest) -> HttpResponse:
    """Open a case: whoever opens it leads it."""
    if request.method == "POST":
        form = NewCaseForm(request.POST)
        if form.is_valid():
            fields = form.case_fields()
            try:
                incident = Incident.open_case(by=request.user, **fields)
            except ValidationError as error:
                form.add_model_errors(error)
            else:
                return redirect(incident)
        return render(request, "cases/new.html", {"form": form}, status=422)
    return render(request, "cases/new.html", {"form": NewCaseForm()})

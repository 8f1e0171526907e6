"""The home page, the case list and opening a case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from incidents.accounts.access import role_of_user
from incidents.cases import search
from incidents.cases.forms import CaseFilterForm, NewCaseForm
from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.cases.search import (
    PAGE_SIZE,
    SORTS,
    Cursor,
    Page,
    Viewer,
    apply_filters,
    capped_count,
    matching_sources,
    ordering,
    paginate,
    rank_candidates,
    rank_sources,
    seek,
    segments_for,
    source_candidates,
    source_list,
    source_segments,
    uses_postgres_search,
    visible_sources,
    with_snippets,
)
from incidents.compiled import Shape, compiled
from incidents.evidence.models import EvidenceItem
from incidents.htmx import HtmxHttpRequest, SignedInHttpRequest
from incidents.hypotheses.models import Hypothesis
from incidents.lookups import AnyOf

HOME_CASES = 20
HOME_ACTIVITY = 10
# What the home page shows of a case and of an entry (templates/cases/home.jinja).
HOME_CASE_COLUMNS = ("reference", "title", "status", "severity", "last_activity_at")
# What a row of the case list shows (CaseRow) and its page cursors read.
LIST_FIELDS = (
    "id",
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
    "confirmed_id",
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


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A row of the case list as ``templates/cases/list.jinja`` shows it, from a
    row of ``_case_page`` (``LIST_FIELDS``) and the case's tag names."""

    reference: str
    title: str
    status: str
    status_label: str
    severity: str
    severity_label: str
    lead: str  # the lead's full name, or their username without one
    time_zone: str  # the case's own zone, in which it occurred
    occurred_at: dt.datetime | None
    last_activity_at: dt.datetime
    confirmed: bool  # a hypothesis of the case is confirmed
    tags: list[str]

    @classmethod
    def of(cls, row: Any, tags: list[str]) -> CaseRow:
        lead = f"{row.lead__first_name} {row.lead__last_name}".strip() or row.lead__username
        return cls(
            reference=row.reference,
            title=row.title,
            status=row.status,
            status_label=STATUS_LABELS.get(row.status, row.status),
            severity=row.severity,
            severity_label=SEVERITY_LABELS.get(row.severity, row.severity),
            lead=lead,
            time_zone=row.time_zone,
            occurred_at=row.occurred_at,
            last_activity_at=row.last_activity_at,
            confirmed=row.confirmed_id is not None,
            tags=tags,
        )


STATUS_LABELS: dict[str, str] = {value: str(label) for value, label in Incident.Status.choices}
SEVERITY_LABELS: dict[str, str] = {value: str(label) for value, label in Incident.Severity.choices}
ROLE_LABELS: dict[str, str] = {value: str(label) for value, label in Membership.Role.choices}


def wants_partial(request: HtmxHttpRequest) -> bool:
    """An HTMX swap of one region; a history restore needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
@login_required
def home(request: SignedInHttpRequest) -> HttpResponse:
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
        "activity": activity,
        "role_labels": ROLE_LABELS,
        "home_cases": HOME_CASES,
    }
    return render(request, "cases/home.jinja", context)


def _list_context(request: HtmxHttpRequest, form: CaseFilterForm) -> dict[str, Any]:
    context: dict[str, Any] = {
        "form": form,
        "sorts": SORTS,
        "page_size": PAGE_SIZE,
        "scope": "cases",
        "page": Page([], None, None),
        "cases": [],
        "sources": [],
        "total": None,  # the count of a search's matches, when there is search text
        "total_capped": False,
    }
    if not form.is_valid():
        return context
    data = form.cleaned_data
    context["scope"] = data["scope"]
    if data["scope"] == "sources":
        return _sources_context(request, data, context)
    text, sort = data["q"].strip(), data["sort"]
    # SQLite has no ranking: best match means most recent.
    shown = sort if sort != "relevance" or uses_postgres_search() else "activity"
    context.update(sort=shown, sort_label=SORTS[shown], page=Page([], None, None), cases=[])
    # The cases asked for (``_cases``): whose (``visible_to``), matching what, filtered how.
    viewer, match = Viewer.of(request.user), CaseFilter.of(data)
    ranked: list[int] | None = None
    if text:
        if sort == "relevance" and uses_postgres_search():
            # One pass over the matches gives both the count and the set to rank.
            candidates = _candidates(viewer=viewer, match=match, limit=search.SEARCH_CAP + 1)
            ranked = [pk for (pk,) in candidates]
            total = len(ranked)
        else:
            total = capped_count(_cases(viewer, match))
        _say_total(context, total)
        if not total:
            return context  # nothing matched: no page to read
    segments = segments_for(sort)

    def read(index: int, cursor: Cursor | None, backwards: bool, limit: int) -> list[Any]:
        keys = dict(zip(segments[index].keys, cursor.values, strict=True)) if cursor else {}
        at = keys.get("last_activity_at", keys.get("occurred_at"))
        position = Position(
            sort=sort,
            segment=str(index),
            backwards=backwards,
            at=at,
            key=keys.get("reference"),
            rank=keys.get("rank"),
            last=keys.get("id"),
        )
        if ranked is None:
            return _case_page(viewer=viewer, match=match, position=position, limit=limit)
        # The candidates were chosen by the filter: the page ranks them alone.
        candidates = ranked[: search.SEARCH_CAP]
        return _ranked_page(ranked=candidates, text=text, position=position, limit=limit)

    page = paginate(read, segments, after=data["after"], before=data["before"])
    tags = _tag_names([row.id for row in page.rows])
    context.update(page=page, cases=[CaseRow.of(row, tags[row.id]) for row in page.rows])
    return context


@dataclass(frozen=True)
class CaseFilter:
    """What the case list asks for besides whose cases: the search TEXT
    (stripped; REFERENCE, the same upper-cased, for the reference:
    ``search.text_match``) and the filters of ``apply_filters``. One value for
    the compiled reads (``incidents.compiled``): each field a parameter, None
    when not asked for; CONFIRMED a shape ("", "yes", "no")."""

    text: str | None = None
    reference: str | None = None
    status: str | None = None
    severity: str | None = None
    tag: str | None = None
    lead: str | None = None
    occurred_from: dt.datetime | None = None
    occurred_before: dt.datetime | None = None
    confirmed: Shape = ""

    @classmethod
    def of(cls, data: dict[str, Any]) -> CaseFilter:
        """The filter of the list form's cleaned DATA."""
        text = (data.get("q") or "").strip()
        return cls(
            text=text or None,
            reference=text.upper() or None,
            status=data.get("status") or None,
            severity=data.get("severity") or None,
            tag=data.get("tag") or None,
            lead=data.get("lead") or None,
            occurred_from=data.get("occurred_from") or None,
            occurred_before=data.get("occurred_before") or None,
            confirmed=data.get("confirmed") or "",
        )

    def filters(self) -> dict[str, Any]:
        """The filters as ``apply_filters`` reads them."""
        names = ("status", "severity", "tag", "lead", "occurred_from", "occurred_before")
        return {name: getattr(self, name) for name in (*names, "confirmed")}


@dataclass(frozen=True)
class Position:
    """Where a page of the list starts: the SORT's SEGMENT (its index), the
    direction, and the cursor's keys (AT, KEY (a reference) or RANK, then
    LAST, an id; all None on the first page)."""

    sort: Shape
    segment: Shape
    backwards: bool
    at: dt.datetime | None = None
    key: str | None = None
    rank: float | None = None
    last: int | None = None


def _cases(viewer: Viewer, match: CaseFilter) -> QuerySet[Incident]:
    """The cases VIEWER may see (``Incident.objects.visible_to``: the one rule)
    that MATCH asks for."""
    cases = Incident.objects.visible_to(viewer)  # type: ignore[arg-type]  # a user, as read
    if match.text is not None:
        cases = cases.filter(search.text_match(match.text, match.reference or ""))
    return apply_filters(cases, match.filters())


@compiled(fallback=True)
def _candidates(viewer: Viewer, match: CaseFilter, limit: int) -> QuerySet[Any]:
    """The ids of the newest LIMIT cases of ``_cases``: a search's candidate set
    and its count. Compiled once per shape; on SQLite, whose match is a
    substring (``%text%``, computed from the text), read through the ORM each
    time (``fallback``)."""
    return _cases(viewer, match).order_by("-id").values_list("id")[:limit]


@compiled(fallback=True)
def _case_page(viewer: Viewer, match: CaseFilter, position: Position, limit: int) -> QuerySet[Any]:
    """A page of the case list as values (``LIST_FIELDS``): LIMIT of the cases
    of ``_cases`` from POSITION on. Compiled once per shape: which values are
    given, the confirmed filter, the sort, the segment, the direction."""
    return _page_of(_cases(viewer, match), LIST_FIELDS, position, limit)


@compiled(fallback=True)
def _ranked_page(ranked: list[int], text: str, position: Position, limit: int) -> QuerySet[Any]:
    """A page of the candidates RANKED (chosen by ``_candidates``) by their
    relevance to TEXT, as ``_case_page`` with their rank (PostgreSQL)."""
    return _page_of(rank_candidates(ranked, text), (*LIST_FIELDS, "rank"), position, limit)


def _page_of(
    qs: QuerySet[Incident], fields: tuple[str, ...], position: Position, limit: int
) -> QuerySet[Any]:
    """The rows of QS in POSITION's segment after its cursor in the sort's
    order, or before it when backwards; LIMIT of them, as FIELDS."""
    # A correlated subquery with LIMIT 1, not EXISTS: PostgreSQL may turn an
    # EXISTS in the select list into a hashed scan of every hypothesis.
    confirmed_id = Subquery(
        Hypothesis.objects.filter(incident=OuterRef("pk"), status=Hypothesis.Status.CONFIRMED)
        .order_by()
        .values("pk")[:1]
    )
    part = segments_for(position.sort)[int(position.segment)]
    qs = qs.annotate(confirmed_id=confirmed_id).filter(part.where)
    at, key, last, backwards = position.at, position.key, position.last, position.backwards
    keys = {"last_activity_at": at, "occurred_at": at, "reference": key, "rank": position.rank}
    if last is not None or key is not None:
        wanted = [keys.get(name, last) for name in part.keys]
        descending = part.descending != backwards
        qs = qs.filter(seek(part.keys, wanted, forward_desc=descending))
    return qs.order_by(*ordering(part, reverse=backwards)).values_list(*fields)[:limit]


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
    user = request.user
    filtered = any(data.get(name) for name in CaseFilterForm.FILTER_FIELDS[1:])

    def scoped() -> QuerySet[EvidenceItem]:
        """The items USER may see matching the text, of the cases the filters keep."""
        qs = matching_sources(visible_sources(user), text)
        if filtered:
            qs = qs.filter(incident__in=apply_filters(Incident.objects.all(), data).values("pk"))
        return qs

    if not text:
        qs = scoped()
    else:
        if filtered:
            ids = source_candidates(scoped(), every_case=user.is_staff)
        else:
            found = _source_candidates(
                viewer=Viewer.of(user), text=text.strip(), limit=search.SEARCH_CAP + 1
            )
            ids = [pk for (pk,) in found]
        _say_total(context, len(ids))
        if not ids:
            return context  # nothing matched: no page to read
        candidates = ids[: search.SEARCH_CAP]
        qs = rank_sources(ids, text) if ranked else scoped().filter(AnyOf(F("id"), candidates))
    page = paginate(
        source_list(qs),  # type: ignore[arg-type]
        source_segments(sort),
        after=data["after"],
        before=data["before"],
    )
    context.update(page=page, sources=with_snippets(page.rows, text))
    return context


@compiled(tuples=True, fallback=True)
def _source_candidates(viewer: Viewer, text: str, limit: int) -> QuerySet[Any]:
    """The ids of the newest LIMIT items matching TEXT (stripped) of the cases
    VIEWER may see (``visible_sources``), without case filters: a search's
    candidate set and its count (``search.newest_sources``). Compiled once per
    shape; on SQLite, whose match is a substring, read through the ORM each
    time (``fallback``)."""
    matches = visible_sources(viewer).filter(search.source_text_match(text))
    return search.newest_sources(matches, every_case=viewer.is_staff)[:limit]


@compiled(tuples=True)
def _tag_rows(cases: list[int]) -> QuerySet[Any]:
    """(case id, tag name) of the cases CASES, by name."""
    return (
        Incident.tags.through.objects.filter(AnyOf(F("incident_id"), cases))
        .order_by("tag__name")
        .values_list("incident_id", "tag__name")
    )


def _tag_names(ids: list[int]) -> dict[int, list[str]]:
    """The names of each case's tags (sorted), by case id, in one query of names."""
    names: dict[int, list[str]] = {pk: [] for pk in ids}
    if names:
        for incident_id, name in _tag_rows(cases=ids):
            names[incident_id].append(name)
    return names


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
    template = "cases/list.jinja#results" if wants_partial(request) else "cases/list.jinja"
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
        return render(request, "cases/new.jinja", {"form": form}, status=422)
    return render(request, "cases/new.jinja", {"form": NewCaseForm()})

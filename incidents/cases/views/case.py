"""The case page and its regions, the case status actions, and the timeline composer.

One page, ``cases/detail.html``; each region (header, hypotheses, evidence,
matrix, timeline) is a ``{% partialdef %}`` in it. A region reloads itself
with ``hx-get`` on the case URL and ``hx-target="this"``: the ``HX-Target``
header names the region, and the view renders only that partial. The same
URL without HTMX renders the whole page, so every state (matrix sort,
timeline filter, older entries) is a plain link.

The page loads in a constant number of queries, whatever the number of
hypotheses, items, cells and timeline entries: every region is built from
the same few querysets, and the scores are computed from the rows already
loaded (``scoring.compute``) instead of querying again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from incidents.accounts.access import CaseAccess, Need, get_case_for_user
from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.forms import AttachForm
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.hypotheses import charts, scoring
from incidents.hypotheses.forms import (
    CellForm,
    ConfidenceForm,
    HypothesisForm,
    MoveForm,
    apply_change,
    apply_model_errors,
    version_field,
)
from incidents.hypotheses.models import Assessment, ConfidenceBand, ConfidenceChange

TEMPLATE = "cases/detail.html"
# HX-Target (the id of the element asking) -> the partial that answers it.
REGIONS = {
    "header": "header",
    "hypotheses": "hypotheses",
    "evidence": "evidence",
    "matrix": "matrix",
    "timeline": "timeline",
    "timeline-list": "timeline_list",
    "timeline-more": "timeline_entries",
}
TIMELINE_PAGE_SIZE = 30
# Matrix rows and listed sources shown at once; "show more" adds as many again.
PAGE_ROWS = 100
SORTS = {"diagnosticity": "Most diagnostic first", "": "Order attached"}
ROLE_ORDER = {"lead": 0, "investigator": 1, "observer": 2}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class CaseStatusForm(forms.Form):
    status = forms.ChoiceField(widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="It goes on the timeline.",
    )
    version = version_field()

    def __init__(self, *args: Any, incident: Incident, target: str = "", **kwargs: Any) -> None:
        # One form per offered status on the page: ids must not repeat.
        target = target if target in Incident.Status.values else "status"
        kwargs.setdefault("auto_id", f"id_{target}_%s")
        super().__init__(*args, **kwargs)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s, Incident.Status(s).label) for s in incident.allowed_statuses()]
        field.error_messages["invalid_choice"] = (
            f"A case that is {incident.get_status_display().lower()} cannot move to "
            "“%(value)s”. Reload the page to see the moves it allows now."
        )


class UpdateForm(forms.Form):
    kind = forms.ChoiceField(
        choices=StatusUpdate.Kind.written(),
        initial=StatusUpdate.Kind.NOTE,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label="Entry",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown: **bold**, _italic_, lists, [links](https://…).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["prefix"] = "update"
        super().__init__(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The few columns of an evidence item that scoring and citing need."""

    id: int
    title: str
    reliability: str
    credibility: int

    @property
    def pk(self) -> int:
        return self.id

    @property
    def grade(self) -> str:
        return f"{self.reliability}{self.credibility}"


def page_limit(value: str, total: int) -> int:
    """How many rows to show: ``all``, a number (at least one page), or one page."""
    if value == "all":
        return max(total, PAGE_ROWS)
    if value.isdigit():
        return max(PAGE_ROWS, int(value))
    return PAGE_ROWS


def rows_param(limit: int, total: int) -> str:
    """The query value that shows LIMIT rows again; empty for the first page."""
    return "" if limit <= PAGE_ROWS else ("all" if limit >= total else str(limit))


def next_page(limit: int, total: int) -> dict[str, Any] | None:
    """The "show more" link: the next page's limit, or None when all are shown."""
    if limit >= total:
        return None
    return {"next": limit + PAGE_ROWS, "step": min(PAGE_ROWS, total - limit), "total": total}


def matrix_query(sort: str, limit: int, total: int) -> str:
    """The query string that reproduces the matrix as shown (sort and rows)."""
    parts = [f"sort={sort}"] if sort else []
    rows = rows_param(limit, total)
    if rows:
        parts.append(f"rows={rows}")
    return "&".join(parts)


class MatrixCell:
    """One cell of the matrix as the template draws it."""

    def __init__(self, item: Any, hypothesis: Any, assessment: Any, *, editing: bool) -> None:
        self.item, self.h, self.assessment, self.editing = item, hypothesis, assessment, editing
        self.focus = False

    @property
    def td_id(self) -> str:
        return f"td-{self.item.pk}-{self.h.pk}"

    @property
    def button_id(self) -> str:
        return f"cell-{self.item.pk}-{self.h.pk}"


# -- helpers used by every view of the page ------------------------------------


def duration_label(value: dt.timedelta | None) -> str:
    """“± 10 min”, “± 2 h”, “± 3 days”; empty when unknown."""
    if value is None:
        return ""
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"± {minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"± {hours} h" + (f" {rest} min" if rest else "")
    days = round(minutes / 1440)
    return f"± {days} days"


def case_context(
    request: HtmxHttpRequest,
    access: CaseAccess,
    *,
    bound: Mapping[Any, forms.Form] | None = None,
    editing: tuple[int, int] | None = None,
    focus: str = "",
    citing: int | None = None,
    saved: int | None = None,
) -> dict[str, Any]:
    """Everything the page's regions need, in a constant number of queries.

    BOUND holds forms that failed validation, keyed by what they are
    ("attach", "hypothesis", "update", "cell", ("status", value),
    ("move", pk), ("confidence", pk)), so the page shows them with their
    errors in place of blank ones.
    """
    bound = bound or {}
    incident = access.incident
    sort = request.GET.get("sort", "")
    sort = sort if sort in SORTS else ""
    kind = request.GET.get("kind", "")
    kind = kind if kind in StatusUpdate.Kind.values else ""
    now = timezone.now()

    members = sorted(
        incident.memberships.select_related("user"),
        key=lambda m: (ROLE_ORDER.get(m.role, 9), m.user.get_username()),
    )
    tags = list(incident.tags.all())
    hypotheses = list(
        incident.hypotheses.prefetch_related(
            Prefetch(
                "confidence_history",
                queryset=ConfidenceChange.objects.order_by("created_at", "id"),
                to_attr="history",
            )
        )
    )
    # The scores cover every item and cell of the case, from a few columns of
    # each; model objects are built only for the rows the page shows.
    index = [
        SourceRef(*row)
        for row in incident.evidence.order_by("created_at", "id").values_list(
            "id", "title", "reliability", "credibility"
        )
    ]
    cells = list(
        Assessment.objects.filter(hypothesis__incident=incident).values_list(
            "id", "evidence_id", "hypothesis_id", "rating", "relevance", "reason", "version"
        )
    )
    scores = scoring.compute(
        [h.pk for h in hypotheses],
        [scoring.Item(e.id, e.reliability, e.credibility) for e in index],
        [scoring.Cell(c[1], c[2], c[3], c[4]) for c in cells],
    )

    # Matrix rows: sorted over the whole case first, then cut to the page.
    order = [e.id for e in index]
    if sort == "diagnosticity":
        order.sort(key=lambda pk: (-scores.items[pk].diagnosticity, pk))
    row_limit = page_limit(request.GET.get("rows", ""), len(order))
    shown = order[:row_limit]
    for pk in (editing[0] if editing else None, saved):
        if pk is not None and pk not in shown and pk in scores.items:
            shown.append(pk)  # the row being edited is always on the page
    source_limit = page_limit(request.GET.get("sources", ""), len(index))
    listed = [e.id for e in index[:source_limit]]
    full = {
        e.pk: e
        for e in incident.evidence.defer("text_body", "extracted_metadata").filter(
            pk__in=set(shown) | set(listed)
        )
    }

    can_move = access.can_write and not incident.is_closed
    stances = Annotation.objects.stance_counts(incident)
    bound_moves = {key[1] for key in bound if isinstance(key, tuple) and key[0] == "move"}
    cite_hypothesis = None
    for number, h in enumerate(hypotheses, start=1):
        h.number = number
        h.stances = stances.get(h.pk, {"supports": 0, "contradicts": 0})
        h.score_info = scores.hypotheses[h.pk]
        h.band = ConfidenceBand(h.confidence) if h.confidence else None
        h.chart = charts.confidence_history_svg(h.history, element_id=f"chart-{h.pk}", now=now)
        # The list of sources to cite is long: only the form opened to cite
        # (or sent back with errors) carries it; the others load it on demand.
        h.citing = h.pk == citing or h.pk in bound_moves
        h.move_form = bound.get(("move", h.pk)) or MoveForm(
            hypothesis=h, can_lead=access.can_lead, evidence=index if h.citing else ()
        )
        h.confidence_form = bound.get(("confidence", h.pk)) or ConfidenceForm(hypothesis=h)
        h.can_move = can_move and h.move_form.has_choices
        if h.pk == citing:
            cite_hypothesis = h
    shown_set = set(shown)
    by_pair = {
        (c[1], c[2]): Assessment(
            id=c[0],
            evidence_id=c[1],
            hypothesis_id=c[2],
            rating=c[3],
            relevance=c[4],
            reason=c[5],
            version=c[6],
        )
        for c in cells
        if c[1] in shown_set
    }
    titles = {e.id: e.title for e in index}
    edit_item = edit_cell = None
    for item in full.values():
        item.score_info = scores.items[item.pk]
        item.uncertainty_label = duration_label(item.event_uncertainty)
        item.row = []
        if item.pk not in shown_set:
            continue
        for h in hypotheses:
            view = MatrixCell(
                item, h, by_pair.get((item.pk, h.pk)), editing=(item.pk, h.pk) == editing
            )
            view.focus = focus == view.button_id
            item.row.append(view)
            if view.editing:
                edit_item, edit_cell = item, view
    rows = [full[pk] for pk in shown if pk in full]
    evidence = [full[pk] for pk in listed if pk in full]
    # The explanation lists the contributions of the rows on the page.
    explanations = [
        (
            h,
            [
                (titles.get(c.evidence_id, "?"), c)
                for c in h.score_info.contributions
                if c.evidence_id in shown_set
            ],
        )
        for h in hypotheses
    ]

    # Timeline: newest first, capped; "older entries" continues after the last one shown.
    updates = incident.updates.select_related("author")
    if kind:
        updates = updates.filter(kind=kind)
    before = request.GET.get("before", "")
    if before.isdigit():
        cursor = (
            incident.updates.filter(pk=int(before)).values_list("created_at", flat=True).first()
        )
        if cursor is not None:
            updates = updates.filter(
                Q(created_at__lt=cursor) | Q(created_at=cursor, pk__lt=int(before))
            )
    entries = list(updates.order_by("-created_at", "-id")[: TIMELINE_PAGE_SIZE + 1])
    older = entries[TIMELINE_PAGE_SIZE].pk if len(entries) > TIMELINE_PAGE_SIZE else None
    entries = entries[:TIMELINE_PAGE_SIZE]
    if older is not None:
        older = entries[-1].pk

    status_forms = []
    if access.can_lead:
        for value in incident.allowed_statuses():
            form = bound.get(("status", value)) or CaseStatusForm(
                incident=incident,
                target=value,
                initial={"status": value, "version": incident.version},
            )
            status_forms.append((Incident.Status(value), form))
    blockers = incident.resolution_blockers(hypotheses)
    editing_form = None
    if edit_cell is not None:
        a = edit_cell.assessment
        editing_form = bound.get("cell") or CellForm(
            initial={
                "rating": a.rating,
                "relevance": a.relevance,
                "reason": a.reason,
                "version": a.version,
            }
            if a
            else {"version": 0}
        )

    return {
        "access": access,
        "incident": incident,
        "uncertainty_label": duration_label(incident.occurred_uncertainty),
        "members": members,
        "tags": tags,
        "hypotheses": hypotheses,
        "evidence": evidence,
        "evidence_count": len(index),
        "rows": rows,
        "row_count": len(order),
        "more_rows": next_page(row_limit, len(order)),
        "more_sources": next_page(source_limit, len(index)),
        "matrix_query": matrix_query(sort, row_limit, len(order)),
        "rows_param": rows_param(row_limit, len(order)),
        "sources_param": rows_param(source_limit, len(index)),
        "cite_hypothesis": cite_hypothesis,
        "row_item": full.get(saved) if saved is not None else None,
        "scores": scores,
        "formula": scoring.FORMULA,
        "explanations": explanations,
        "sort": sort,
        "sorts": SORTS,
        "kind": kind,
        "kinds": StatusUpdate.Kind.choices,
        "entries": entries,
        "older": older,
        "status_forms": status_forms,
        "blockers": blockers,
        "status_error": bound.get("status_error"),
        "can_move": can_move,
        "hypothesis_form": bound.get("hypothesis") or HypothesisForm(),
        "attach_form": bound.get("attach") or AttachForm(),
        "update_form": bound.get("update") or UpdateForm(),
        "editing_form": editing_form,
        # For the single-cell partials: the cell being edited, as in the matrix loop.
        "item": edit_item,
        "c": edit_cell,
        "focus": focus,
        "ratings": Assessment.Rating.choices,
        "reliabilities": EvidenceItem.Reliability.choices,
        "credibilities": EvidenceItem.Credibility.choices,
        "bands": ConfidenceBand,
    }


def render_case(
    request: HtmxHttpRequest,
    access: CaseAccess,
    region: str | None = None,
    *,
    status: int = 200,
    **state: Any,
) -> HttpResponse:
    """The whole page, or one region of it, rendered in the case's time zone."""
    with timezone.override(access.incident.zone):
        context = case_context(request, access, **state)
        name = f"{TEMPLATE}#{region}" if region else TEMPLATE
        return render(request, name, context, status=status)


def case_url(incident: Incident, anchor: str = "", query: str = "") -> str:
    url = reverse("cases:detail", args=[incident.reference])
    return url + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


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
    return HttpResponseRedirect(case_url(access.incident, region))


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
            StatusUpdate.objects.post(
                access.incident,
                kind=form.cleaned_data["kind"],
                body=form.cleaned_data["body"],
                by=request.user,
            )
        except ValidationError as exc:
            apply_model_errors(form, exc)
        else:
            return after_write(request, access, "timeline", (), "Posted to the timeline.")
    return after_invalid(request, access, "timeline", bound={"update": form})

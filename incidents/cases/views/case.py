"""The case page and its regions, the case status actions, and the timeline composer.

One page: its body is drawn by Jinja2 (``templates/jinja2/cases/detail.jinja``,
see ``incidents/jinja.py``) inside the site frame (``templates/cases/detail.html``,
which extends ``base.html``). Each region (header, hypotheses, evidence,
matrix, timeline) is a block of the body. A region reloads itself with
``hx-get`` on the case URL and ``hx-target="this"``: the ``HX-Target``
header names the region, and the view renders only that part. The same
URL without HTMX renders the whole page, so every state (matrix sort,
timeline filter, older entries) is a plain link.

The page loads in a constant number of queries, whatever the number of
hypotheses, items, cells and timeline entries: every region is built from
the same few querysets, and the scores are computed from the rows already
loaded (``scoring.compute``) instead of querying again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, NamedTuple

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from incidents.accounts.access import (
    CaseAccess,
    Need,
    case_columns,
    case_of,
    check_case_access,
    get_case_for_user,
    role_of_user,
)
from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.cases.views import page_reads
from incidents.cases.views.drawing import (
    Entry,
    MatrixHtml,
    card_head,
    choice_labels,
    duration_label,
    entry_html,
    entry_li,
    id_url,
    person_name,
    source_html,
    time_tag,
    truncate,
)
from incidents.cases.views.page_reads import ItemColumns
from incidents.compiled import compiled
from incidents.evidence.forms import AttachForm
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses import charts, scoring
from incidents.hypotheses.forms import (
    LEAD_ONLY,
    CellForm,
    ConfidenceForm,
    HypothesisForm,
    MoveForm,
    apply_change,
    apply_model_errors,
    version_field,
)
from incidents.hypotheses.models import (
    HYPOTHESIS_COLUMNS,
    Assessment,
    ConfidenceBand,
    Hypothesis,
)
from incidents.jinja import url as path_of

# The body and its regions (Jinja2; ``template#name`` renders one block or macro alone),
# and the site frame around the whole page (Django).
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
TIMELINE_PAGE_SIZE = 30
# Matrix rows and listed sources shown at once; "show more" adds as many again.
# The source list repeats the matrix's rows with their details: a shorter page.
PAGE_ROWS = 100
SOURCE_ROWS = 25
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
class Member:
    """A member of the case as the header lists them."""

    name: str  # the full name, or the username without one
    role: str
    role_label: str


class Change(NamedTuple):
    """A confidence change as a hypothesis's chart draws it."""

    band: str
    created_at: dt.datetime


class GradedRow:
    """``pk`` and ``grade`` ("B2", as ``EvidenceItem.grade`` writes it) of a row
    holding an evidence item's ``id``, ``reliability`` and ``credibility``."""

    __slots__ = ()
    id: int
    reliability: str
    credibility: int

    @property
    def pk(self) -> int:
        return self.id

    @property
    def grade(self) -> str:
        return f"{self.reliability}{self.credibility}"


class ItemRow(GradedRow, ItemColumns):
    """An evidence item as the page draws it: its columns, without a model
    instance, which cost more than the query by the hundred. The cell editor
    and the saved row may get an ``EvidenceItem`` instead: both read the same
    names."""

    __slots__ = ()


# The columns of an evidence item that the page draws (``CasePage._items``).
ITEM_COLUMNS = ItemRow._fields


@dataclass(frozen=True, slots=True)
class SourceRef(GradedRow):
    """The few columns of an evidence item that scoring and citing need."""

    id: int
    title: str
    reliability: str
    credibility: int


def wanted_rows(value: str, page: int) -> int | None:
    """The rows a ``rows=`` / ``sources=`` value asks for: ``all`` (None), a
    number (at least one page), or one page."""
    if value == "all":
        return None
    return max(page, int(value)) if value.isdigit() else page


def page_limit(value: str, total: int, page: int = PAGE_ROWS) -> int:
    """How many rows to show, once the total is known."""
    wanted = wanted_rows(value, page)
    return max(total, page) if wanted is None else wanted


def rows_param(limit: int, total: int, page: int = PAGE_ROWS) -> str:
    """The query value that shows LIMIT rows again; empty for the first page."""
    return "" if limit <= page else ("all" if limit >= total else str(limit))


def next_page(limit: int, total: int, page: int = PAGE_ROWS) -> dict[str, Any] | None:
    """The "show more" link: the next page's limit, or None when all are shown."""
    if limit >= total:
        return None
    return {"next": limit + page, "step": min(page, total - limit), "total": total}


def matrix_query(sort: str, limit: int, total: int) -> str:
    """The query string that reproduces the matrix as shown (sort and rows)."""
    parts = [f"sort={sort}"] if sort else []
    rows = rows_param(limit, total)
    if rows:
        parts.append(f"rows={rows}")
    return "&".join(parts)


class MatrixCell:
    """One cell of the matrix being edited, as the editor's partial draws it."""

    def __init__(self, item: Any, hypothesis: Any, assessment: Any) -> None:
        self.item, self.h, self.assessment = item, hypothesis, assessment

    @property
    def td_id(self) -> str:
        return f"td-{self.item.pk}-{self.h.pk}"

    @property
    def button_id(self) -> str:
        return f"cell-{self.item.pk}-{self.h.pk}"


# -- helpers used by every view of the page ------------------------------------


def number(hypotheses: list[Any]) -> list[Any]:
    """Number the case's hypotheses H1, H2… in the order they were proposed,
    and give each the shortened statement that heads its matrix column."""
    for n, h in enumerate(hypotheses, start=1):
        h.number = n
        h.column_statement = truncate(h.statement, 48)
    return hypotheses


def hypotheses_of(incident: Incident, pk: int) -> tuple[list[Any], Any]:
    """The case's hypotheses (the answer draws them all) and the one PK among
    them, in one compiled read: 404 if it is not one of the case's."""
    return _one_of(page_reads.hypotheses(incident), pk)


def _one_of(hypotheses: list[Any], pk: int) -> tuple[list[Any], Any]:
    h = next((h for h in hypotheses if h.pk == pk), None)
    if h is None:
        raise Http404("No such hypothesis.")
    return hypotheses, h


@compiled(tuples=True)
def _hypotheses_with_case(reference: str, user: int) -> QuerySet[Any]:
    """The hypotheses of the case REFERENCE, each row with the case, its lead
    and the role of the user USER on it (``case_columns``), in their order."""
    return (
        Hypothesis.objects.filter(incident__reference=reference)
        .annotate(role_of_user=role_of_user(user, "incident_id"))
        .values_list(*HYPOTHESIS_COLUMNS, *case_columns("incident__"))
    )


def case_hypotheses_for_user(
    request: HttpRequest, reference: str, pk: int, need: Need
) -> tuple[CaseAccess, list[Any], Any]:
    """``get_case_for_user`` and ``hypotheses_of`` in one compiled read: the
    case's hypotheses, with the case and the user's role on it. 404 if the
    case is not visible to the user or PK is not one of its hypotheses, 403 if
    the user's role does not meet NEED."""
    if not request.user.is_authenticated:
        raise Http404("No such case.")
    rows = _hypotheses_with_case(reference, request.user.pk)
    if not rows:
        raise Http404("No such hypothesis.")
    incident, role = case_of(rows[0])
    width = len(HYPOTHESIS_COLUMNS)
    hypotheses = []
    for row in rows:
        h = Hypothesis.from_db(DEFAULT_DB_ALIAS, HYPOTHESIS_COLUMNS, row[:width])
        h.incident = incident  # one case object for all of them
        hypotheses.append(h)
    hypotheses, h = _one_of(hypotheses, pk)
    access = check_case_access(request, incident, need, role=role)
    return access, hypotheses, h


class CasePage:
    """The data of the case page, each part computed when a template first asks for it.

    The template reads the parts as attributes of the page (``page.cards``),
    each a ``cached_property``, so rendering one region
    (``detail.jinja#timeline``) runs the queries and the work of that region
    only; the whole page still runs each query once. BOUND holds forms that
    failed validation, keyed by what they are ("attach", "hypothesis",
    "update", "cell", ("status", value), ("move", pk), ("confidence", pk)),
    so the page shows them with their errors in place of blank ones.
    """

    def __init__(
        self,
        request: HtmxHttpRequest,
        access: CaseAccess,
        *,
        bound: Mapping[Any, forms.Form] | None = None,
        editing: tuple[int, int] | None = None,
        focus: str = "",
        citing: int | None = None,
        saved: int | None = None,
        card: int | None = None,
        moved: bool = False,
        opening: tuple[str, int] | None = None,
        posted: StatusUpdate | None = None,
        hypotheses: list[Any] | None = None,
        saved_item: EvidenceItem | None = None,
        item_count: int | None = None,
        whole: bool = False,
    ) -> None:
        self.request, self.access, self.incident = request, access, access.incident
        self.bound = bound or {}
        self.editing, self.focus, self.citing, self.saved, self.card_pk = (
            editing,
            focus,
            citing,
            saved,
            card,
        )
        # The card answers a move: its figures did not change (see ``card_head``).
        self.moved = moved
        sort = request.GET.get("sort", "")
        self.sort = sort if sort in SORTS else ""
        kind = request.GET.get("kind", "")
        self.kind = kind if kind in StatusUpdate.Kind.values else ""
        # Without JavaScript, ?explain=1 opens the score explanation in the page.
        self.explain = request.GET.get("explain") == "1"
        self.formula = scoring.FORMULA
        self.status_error = self.bound.get("status_error")
        self.opening = opening  # ("move" | "confidence", pk): that form open, without JavaScript
        self.now = timezone.now()
        self.page_url = case_url(self.incident)
        self.posted = posted  # the timeline entry just posted
        if posted is not None:
            posted.html = entry_html(posted)
        # What a write's view has already loaded is not read again.
        if hypotheses is not None:
            self.__dict__["hypotheses"] = number(hypotheses)
        if item_count is not None:
            self.__dict__["evidence_count"] = item_count
        self.saved_item = saved_item
        self.whole = whole  # the whole page, not one region

    def context(self) -> dict[str, Any]:
        """The template's context: the page, whose parts it reads as
        ``page.<part>``, and what every region uses."""
        return {
            "page": self,
            "access": self.access,
            "incident": self.incident,
            "page_url": self.page_url,
            "sort": self.sort,
            "sorts": SORTS,
            "kinds": StatusUpdate.Kind.choices,
            "ratings": Assessment.Rating.choices,
        }

    def close(self) -> None:
        """Let go of everything the page computed, once the response is rendered.

        The parts refer back to the page (the matrix drawing holds it, the
        cards' form builders call it): reference cycles, which only a full
        garbage collection frees, every few requests, so a worker would carry
        several pages' rows and HTML into its next requests (the heavy case
        page's 1.6 MiB each; docs/deployment.md, "Memory per worker").
        Emptied, the page's parts are freed as the view returns.
        """
        self.__dict__.clear()

    # -- header ---------------------------------------------------------------

    @cached_property
    def occurred_tag(self) -> SafeString:
        """When the incident occurred, in the case's time zone (``<time>``)."""
        return time_tag(self.incident.occurred_at)

    @cached_property
    def uncertainty_label(self) -> str:
        return duration_label(self.incident.occurred_uncertainty)

    @cached_property
    def members(self) -> list[Member]:
        """Who is on the case, leads first: plain rows, not membership and user objects."""
        roles = choice_labels(Membership, "role")
        rows = page_reads.member_rows(self.incident.pk)
        return [
            Member(person_name(username, first, last), role, roles.get(role, role))
            for role, username, first, last in sorted(
                rows, key=lambda row: (ROLE_ORDER.get(row[0], 9), row[1])
            )
        ]

    @cached_property
    def tags(self) -> list[str]:
        """The names of the case's tags."""
        return page_reads.tag_names(self.incident.pk)

    @cached_property
    def status_actions(self) -> list[tuple[Any, CaseStatusForm | None]]:
        """The statuses the lead may move the case to, each with its form when
        its panel is open: sent back with errors, or asked for
        (``status_asked``). A closed panel carries a link that loads its form
        (``status_form_alone``), so only the forms shown are built."""
        if not self.access.can_lead:
            return []
        return [
            (Incident.Status(value), self.bound.get(("status", value)) or self._status_form(value))
            for value in self.incident.allowed_statuses()
        ]

    @cached_property
    def status_asked(self) -> str:
        """The status whose form the URL asks for (``?status_form=<value>``, its
        panel's link): one the lead may move the case to now, else empty (a
        stale or made-up value is ignored). A blocked resolution has no form."""
        value = self.request.GET.get("status_form", "")
        if not self.access.can_lead or value not in self.incident.allowed_statuses():
            return ""
        if value == Incident.Status.RESOLVED and self.blockers:
            return ""
        return value

    def _status_form(self, value: str) -> CaseStatusForm | None:
        """A blank form to move the case to VALUE, if the URL asks for it."""
        if value != self.status_asked:
            return None
        incident = self.incident
        return CaseStatusForm(
            incident=incident, target=value, initial={"status": value, "version": incident.version}
        )

    @cached_property
    def status_alone(self) -> tuple[Any, CaseStatusForm] | None:
        """The status and form one panel's link loads (``status_form_alone``), or None."""
        value = self.status_asked  # ``_status_form`` builds the form asked for
        return (Incident.Status(value), self._status_form(value)) if value else None

    @cached_property
    def blockers(self) -> list[str]:
        return self.incident.resolution_blockers(self.hypotheses)

    # -- hypotheses -----------------------------------------------------------

    @cached_property
    def hypotheses(self) -> list[Any]:
        """The case's hypotheses, numbered H1, H2… in the order they were proposed."""
        return number(page_reads.hypotheses(self.incident))

    @cached_property
    def histories(self) -> None:
        """Each hypothesis's confidence history (``h.history``, oldest first),
        for its chart: one plain query for all of them, grouped here."""
        history: dict[int, list[Change]] = {h.pk: [] for h in self.hypotheses}
        for pk, band, created_at in page_reads.history_rows(list(history)):
            history[pk].append(Change(band, created_at))
        for h in self.hypotheses:
            h.history = history[h.pk]

    @cached_property
    def scores(self) -> scoring.CaseScores:
        """Score and rank of every hypothesis over every cell of the case: in
        SQL (one GROUP BY), or, when the whole page is drawn and its matrix
        shows every row, from the cells the matrix loads anyway (the same
        cells, so the same scores, with one query fewer)."""
        if self.whole and self.row_count <= self.row_limit:
            scores = self.page_scores
        else:
            scores = scoring.case_scores(self.incident, [h.pk for h in self.hypotheses])
        for h in self.hypotheses:
            h.score_info = scores.hypotheses[h.pk]
            # As ``floatformat:2`` writes it, once for the foot, the card and the explanation.
            h.score_text = floatformat(h.score_info.score, 2)
        return scores

    @cached_property
    def scored(self) -> list[Any]:
        """The hypotheses with their ``score_info``."""
        self.scores  # noqa: B018
        return self.hypotheses

    @cached_property
    def can_move(self) -> bool:
        return self.access.can_write and not self.incident.is_closed

    @cached_property
    def stances(self) -> dict[int, dict[str, int]]:
        return page_reads.stance_counts(self.incident.pk)

    def _card(self, h: Any) -> Any:
        """Give hypothesis H what its card shows: figures, chart, and its two
        forms, which the card carries only when open (they load on demand).
        The card answering a move keeps the figures the page shows."""
        kept = self.moved and h.pk == self.card_pk
        h.band = ConfidenceBand(h.confidence) if h.confidence else None
        urls = self.card_urls
        h.move_url, h.confidence_url = urls["move"](h.pk), urls["confidence"](h.pk)
        if not kept:
            self.scores  # noqa: B018  (sets score_info)
            self.histories  # noqa: B018  (sets history)
            h.stances = self.stances.get(h.pk, {"supports": 0, "contradicts": 0})
            h.annotations_url = urls["annotations"]
            h.chart = charts.confidence_history_svg(
                h.history, element_id=f"chart-{h.pk}", now=self.now
            )
        h.head_html = card_head(h, len(self.hypotheses), kept=kept)
        # The list of sources to cite is long: only the form opened to cite
        # (or sent back with errors) carries it; the others load it on demand.
        h.citing = h.pk == self.citing or ("move", h.pk) in self.bound
        h.move_open = h.citing or self.opening == ("move", h.pk)
        h.confidence_open = ("confidence", h.pk) in self.bound or self.opening == (
            "confidence",
            h.pk,
        )
        allowed = [s for s in h.allowed_statuses() if self.access.can_lead or s not in LEAD_ONLY]
        h.can_move = self.can_move and bool(allowed)
        # Callables: the template builds a form only where it shows one. They
        # name the hypothesis by its id, not hold it (a cycle through H).
        h.move_form = partial(self._form, "move", h.pk)
        h.confidence_form = partial(self._form, "confidence", h.pk)
        return h

    @cached_property
    def card_urls(self) -> dict[str, Any]:
        ref = self.incident.reference
        return {
            "move": id_url("hypotheses:move", ref),
            "confidence": id_url("hypotheses:confidence", ref),
            "annotations": path_of("evidence:case_annotations", ref),
        }

    def _form(self, kind: str, pk: int) -> forms.Form:
        forms_ = self.__dict__.setdefault("_forms", {})
        key = (kind, pk)
        if key not in forms_:
            h = next(h for h in self.hypotheses if h.pk == pk)
            if key in self.bound:
                forms_[key] = form = self.bound[key]
                if kind == "move":
                    # Sent back with errors: offer every source again (the
                    # view validated against the cited ones only).
                    form.fields["cited_evidence"].choices = [
                        (item.pk, f"{item.grade} · {item.title}") for item in self.citable
                    ]
            elif kind == "move":
                forms_[key] = MoveForm(
                    hypothesis=h,
                    can_lead=self.access.can_lead,
                    evidence=self.citable if h.citing else (),
                )
            else:
                forms_[key] = ConfidenceForm(hypothesis=h)
        return forms_[key]

    @cached_property
    def cards(self) -> list[Any]:
        """The hypotheses with what their cards show."""
        return [self._card(h) for h in self.hypotheses]

    @cached_property
    def card(self) -> Any:
        """The one card a move or a confidence change answers with (or whose
        form is asked for)."""
        h = next((h for h in self.hypotheses if h.pk == self.card_pk), None)
        return self._card(h) if h is not None else None

    @cached_property
    def cite_hypothesis(self) -> Any:
        h = next((h for h in self.hypotheses if h.pk == self.citing), None)
        return self._card(h) if h is not None else None

    @cached_property
    def citable(self) -> list[SourceRef]:
        return [
            SourceRef(*row)
            for row in self.incident.evidence.order_by("created_at", "id").values_list(
                "id", "title", "reliability", "credibility"
            )
        ]

    @cached_property
    def hypothesis_form(self) -> forms.Form:
        return self.bound.get("hypothesis") or HypothesisForm()

    @cached_property
    def hypothesis_open(self) -> bool:
        """The add-hypothesis form is in the page only when open: sent back with
        errors, or asked for (``?add=1``, its panel's link without JavaScript)."""
        return "hypothesis" in self.bound or self.request.GET.get("add") == "1"

    # -- evidence -------------------------------------------------------------

    @cached_property
    def evidence_count(self) -> int:
        """The number of the case's items: it comes with the first page of
        items (``_first``), which the page loads anyway."""
        if "_total" not in self.__dict__:
            matrix = wanted_rows(self.request.GET.get("rows", ""), PAGE_ROWS)
            sources = wanted_rows(self.request.GET.get("sources", ""), SOURCE_ROWS)
            self._first(None if None in (matrix, sources) else max(matrix, sources))  # type: ignore[type-var]
        return self.__dict__["_total"]

    def _items(self) -> Any:
        """The case's items in the order attached, as ``ItemRow`` values: the
        columns the page draws (the matrix row, the source list, the cell editor)."""
        return self.incident.evidence.order_by("created_at", "id").values_list(*ITEM_COLUMNS)

    @cached_property
    def source_limit(self) -> int:
        return page_limit(self.request.GET.get("sources", ""), self.evidence_count, SOURCE_ROWS)

    def _first(self, limit: int | None) -> list[ItemRow]:
        """The first LIMIT items in the order attached (all for None), with
        the number of the case's items (``_total``) in the same statement. The
        source list takes its page from the matrix's: one query for both."""
        cache = self.__dict__.setdefault("_first_cache", {})
        wanted = math.inf if limit is None else limit
        longer = [n for n in cache if n >= wanted]
        if longer:
            return cache[min(longer)][:limit]
        found, total = page_reads.first_items(self.incident.pk, limit)
        cache[wanted] = rows = [ItemRow._make(row) for row in found]
        self.__dict__.setdefault("_total", total)
        return rows

    @cached_property
    def evidence(self) -> list[ItemRow]:
        return self._first(self.source_limit)

    @cached_property
    def sources_html(self) -> SafeString:
        url = id_url("evidence:detail", escaped=True)
        return SafeString("".join(source_html(item, url(item.pk)) for item in self.evidence))

    @cached_property
    def more_sources(self) -> dict[str, Any] | None:
        return next_page(self.source_limit, self.evidence_count, SOURCE_ROWS)

    @cached_property
    def sources_param(self) -> str:
        return rows_param(self.source_limit, self.evidence_count, SOURCE_ROWS)

    @cached_property
    def attach_form(self) -> forms.Form:
        return self.bound.get("attach") or AttachForm()

    @cached_property
    def attach_open(self) -> bool:
        """The attach form is in the page only when open: sent back with errors,
        or asked for (``?attach=1``, its panel's link without JavaScript)."""
        return "attach" in self.bound or self.request.GET.get("attach") == "1"

    # -- matrix ---------------------------------------------------------------

    @cached_property
    def row_count(self) -> int:
        return self.evidence_count

    @cached_property
    def row_limit(self) -> int:
        return page_limit(self.request.GET.get("rows", ""), self.row_count)

    @cached_property
    def rows(self) -> list[ItemRow]:
        """The matrix rows on the page: sorted over the whole case, then cut."""
        if self.sort == "diagnosticity":
            spread = scoring.diagnosticity_by_item(self.incident)
            order = list(self.incident.evidence.order_by("id").values_list("id", flat=True))
            order.sort(key=lambda pk: (-round(spread.get(pk, 0.0), 9), pk))
            shown = order[: self.row_limit]
            by_pk = {row[0]: ItemRow._make(row) for row in self._items().filter(pk__in=shown)}
            rows = [by_pk[pk] for pk in shown if pk in by_pk]
        else:
            rows = list(self._first(self.row_limit))
        # The row being edited or just saved is always on the page.
        extra = {pk for pk in (self.editing[0] if self.editing else None, self.saved) if pk}
        extra -= {item.pk for item in rows}
        if extra:
            rows += map(ItemRow._make, self._items().filter(pk__in=extra))
        return rows

    @cached_property
    def row_cells(self) -> dict[tuple[int, int], tuple[str, str, str]]:
        """(rating, relevance, reason) of the rated cells of the rows on the
        page, by (item, hypothesis)."""
        return self._cells_of([item.pk for item in self.rows])

    def _cells_of(self, item_pks: list[int]) -> dict[tuple[int, int], tuple[str, str, str]]:
        rows = page_reads.cell_rows(item_pks)  # items of this case only
        return {(e, h): (rating, relevance, reason) for e, h, rating, relevance, reason in rows}

    @cached_property
    def page_scores(self) -> scoring.CaseScores:
        """Diagnosticity and contributions of the rows on the page (an item's
        diagnosticity depends on its own row only)."""
        return scoring.compute(
            [h.pk for h in self.hypotheses],
            [scoring.Item(i.pk, i.reliability, i.credibility) for i in self.rows],
            [(e, h, c[0], c[1]) for (e, h), c in self.row_cells.items()],
            contributions=self.explain,  # only the explanation lists them
        )

    @cached_property
    def rows_shown(self) -> int:
        return min(self.row_limit, self.row_count)

    @cached_property
    def more_rows(self) -> dict[str, Any] | None:
        return next_page(self.row_limit, self.row_count)

    @cached_property
    def matrix_query(self) -> str:
        return matrix_query(self.sort, self.row_limit, self.row_count)

    @cached_property
    def rows_param(self) -> str:
        return rows_param(self.row_limit, self.row_count)

    @cached_property
    def matrix_drawing(self) -> MatrixHtml:
        self.scores  # noqa: B018  (the foot and the cards read score_info)
        return MatrixHtml(self, self.row_cells, self.page_scores.items)

    @cached_property
    def cell_html(self) -> SafeString:
        """The inside of the cell being edited, closed again (its editor's Cancel)."""
        if self.c is None:
            return SafeString("")
        a, pair = self.c.assessment, (self.c.item.pk, self.c.h.pk)
        drawing = MatrixHtml(self, {pair: (a.rating, a.relevance, a.reason)} if a else {}, {})
        drawing.focus = ""
        return drawing.inside(*pair)

    @cached_property
    def matrix_rows(self) -> SafeString:
        drawing = self.matrix_drawing
        return SafeString("".join(drawing.row(item) for item in self.rows))

    @cached_property
    def row_html(self) -> SafeString:
        """The row of the cell just saved, built alone (not the page's rows)."""
        item = self.saved_item or ItemRow._make(self._items().get(pk=self.saved))
        cells = self._cells_of([item.pk])
        self.scores  # noqa: B018  (the foot that comes with it reads score_info)
        row = scoring.compute(
            [h.pk for h in self.hypotheses],
            [scoring.Item(item.pk, item.reliability, item.credibility)],
            [scoring.Cell(e, h, c[0], c[1]) for (e, h), c in cells.items()],
        )
        return MatrixHtml(self, cells, row.items).row(item)

    @cached_property
    def explanations(self) -> list[tuple[Any, list[tuple[str, scoring.Contribution]]]]:
        """Per hypothesis, the contributions of the rows on the page."""
        self.scores  # noqa: B018
        titles = {item.pk: item.title for item in self.rows}
        page = self.page_scores.hypotheses
        return [
            (h, [(titles.get(c.evidence_id, "?"), c) for c in page[h.pk].contributions])
            for h in self.hypotheses
        ]

    # -- one cell's editor ----------------------------------------------------

    @cached_property
    def item(self) -> ItemRow | None:
        """The item whose cell is being edited."""
        if self.editing is None:
            return None
        row = self._items().filter(pk=self.editing[0]).first()
        return None if row is None else ItemRow._make(row)

    @cached_property
    def c(self) -> MatrixCell | None:
        """The cell being edited, with its assessment (None when unrated)."""
        if self.editing is None or self.item is None:
            return None
        h = next((h for h in self.hypotheses if h.pk == self.editing[1]), None)
        if h is None:
            return None
        assessment = Assessment.objects.filter(
            evidence_id=self.editing[0], hypothesis_id=self.editing[1]
        ).first()
        return MatrixCell(self.item, h, assessment)

    @cached_property
    def editing_form(self) -> forms.Form | None:
        if self.c is None:
            return None
        a = self.c.assessment
        initial = (
            {"rating": a.rating, "relevance": a.relevance, "reason": a.reason, "version": a.version}
            if a
            else {"version": 0}
        )
        return self.bound.get("cell") or CellForm(initial=initial)

    # -- timeline -------------------------------------------------------------

    @cached_property
    def timeline(self) -> tuple[list[Entry], int | None]:
        """Newest first, capped; "older entries" continues after the last one shown."""
        incident, before, keyset = self.incident, self.request.GET.get("before", ""), None
        if before.isdigit():
            cursor = (
                incident.updates.filter(pk=int(before)).values_list("created_at", flat=True).first()
            )
            if cursor is not None:
                keyset = (cursor, int(before))
        # Plain rows: the author's name, not the user row; not the Markdown source.
        rows = page_reads.timeline_rows(incident.pk, self.kind, keyset, TIMELINE_PAGE_SIZE + 1)
        entries = [Entry(row[0], entry_li(*row)) for row in rows]
        older = entries[TIMELINE_PAGE_SIZE - 1].pk if len(entries) > TIMELINE_PAGE_SIZE else None
        return entries[:TIMELINE_PAGE_SIZE], older

    @property
    def entries(self) -> list[Entry]:
        return self.timeline[0]

    @cached_property
    def entries_html(self) -> SafeString:
        """The entries shown, drawn (one string for the template, not one per entry)."""
        return SafeString("".join(entry.html for entry in self.entries))

    @property
    def older(self) -> int | None:
        return self.timeline[1]

    @cached_property
    def update_form(self) -> forms.Form:
        return self.bound.get("update") or UpdateForm()

    @cached_property
    def composer_fields(self) -> str:
        """The composer's fields (``#composer_fields``): sent back with errors,
        drawn for this page; blank, the same for every page, drawn once."""
        return render_to_string(f"{TEMPLATE}#composer_fields", self.context(), self.request)


def render_case(
    request: HtmxHttpRequest,
    access: CaseAccess,
    region: str | None = None,
    *,
    status: int = 200,
    **state: Any,
) -> HttpResponse:
    """The whole page, or one region of it (a block or macro of the page's
    template, ``cases/detail.jinja#region``), in the case's time zone."""
    with timezone.override(access.incident.zone):
        page = CasePage(request, access, whole=region is None, **state)
        name = f"{TEMPLATE}#{region}" if region else TEMPLATE
        return HttpResponse(render_to_string(name, page.context(), request), status=status)


def case_url(incident: Incident, anchor: str = "", query: str = "") -> str:
    url = path_of("cases:detail", incident.reference)
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

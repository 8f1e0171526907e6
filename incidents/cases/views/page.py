"""The case page's presenter: ``CasePage``, what the page's template shows.

Each part of the page (``page.cards``, ``page.matrix_rows``, ``page.entries``…)
is a ``cached_property`` computed when the template first asks for it, so a
region rendered alone (``cases/detail.jinja#timeline``) runs the reads and
the work of that region only, and the whole page runs each read once. The
parts are plain values (``page_data``), never model instances with
attributes set for the template.

The page loads in a constant number of queries, whatever the number of
hypotheses, items, cells and timeline entries: every region is built from
the same few reads (``page_reads``), and the scores are computed from the
rows already loaded (``scoring.compute``) instead of querying again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from incidents.accounts.access import CaseAccess
from incidents.cases.forms import CaseStatusForm, UpdateForm
from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.cases.models.incidents import IncidentStatus
from incidents.cases.views import page_reads
from incidents.cases.views.page_data import (
    SORTS,
    TIMELINE_PAGE_SIZE,
    Card,
    Change,
    Entry,
    Figures,
    Member,
    Ranked,
    SourceRef,
    choice_labels,
    duration_label,
    id_path,
)
from incidents.cases.views.page_matrix import EvidenceParts
from incidents.evidence.models import EvidenceItem
from incidents.htmx import HtmxHttpRequest
from incidents.hypotheses import charts, scoring
from incidents.hypotheses.forms import ConfidenceForm, HypothesisForm, MoveForm
from incidents.hypotheses.models import Assessment, ConfidenceBand, Hypothesis
from incidents.params import parse_id

ROLE_ORDER = {"lead": 0, "investigator": 1, "observer": 2}


@dataclass(frozen=True, slots=True)
class Labels:
    """The display labels the page's rows look up by value."""

    entry_kinds: dict[Any, str]
    automatic: frozenset[str]  # the kinds of entry the system writes
    evidence_kinds: dict[Any, str]
    reliability: dict[Any, str]
    credibility: dict[Any, str]
    relevance: dict[Any, str]

    @classmethod
    def make(cls) -> Labels:
        return cls(
            entry_kinds=choice_labels(StatusUpdate, "kind"),
            automatic=frozenset(k for k in StatusUpdate.Kind if k.is_automatic),
            evidence_kinds=choice_labels(EvidenceItem, "kind"),
            reliability=choice_labels(EvidenceItem, "reliability"),
            credibility=choice_labels(EvidenceItem, "credibility"),
            relevance=choice_labels(Assessment, "relevance"),
        )


def entry_of(update: StatusUpdate) -> Entry:
    """A timeline entry (the one just posted) as the page lists it."""
    author = update.author.get_username() if update.author is not None else None
    return Entry(update.pk, update.kind, author, update.created_at, SafeString(update.body_html))


class CasePage(EvidenceParts):
    """The data of the case page, each part computed when the template first asks for it.

    BOUND holds forms that failed validation, keyed by what they are
    ("attach", "hypothesis", "update", "cell", ("status", value), ("move",
    pk), ("confidence", pk)), so the page shows them with their errors in
    place of blank ones.
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
        hypotheses: list[Hypothesis] | None = None,
        saved_item: EvidenceItem | None = None,
        item_count: int | None = None,
        whole: bool = False,
    ) -> None:
        self.request, self.access, self.incident = request, access, access.incident
        self.bound = bound or {}
        self.editing, self.focus, self.citing = editing, focus, citing
        self.saved, self.saved_item, self.card_pk = saved, saved_item, card
        self.moved = moved  # the card answers a move: its figures did not change
        self.opening = opening  # ("move" | "confidence", pk): that form open, without JavaScript
        self.whole = whole  # the whole page, not one region
        sort = request.GET.get("sort", "")
        self.sort = sort if sort in SORTS else ""
        kind = request.GET.get("kind", "")
        self.kind = kind if kind in StatusUpdate.Kind.values else ""
        # Without JavaScript, ?explain=1 opens the score explanation in the page.
        self.explain = request.GET.get("explain") == "1"
        self.status_error = self.bound.get("status_error")
        self.now = timezone.now()
        self.page_url = reverse("cases:detail", args=[self.incident.reference])
        self.posted = entry_of(posted) if posted is not None else None
        # What a write's view has already loaded is not read again.
        if hypotheses is not None:
            self.__dict__["hypotheses"] = hypotheses
        if item_count is not None:
            self.__dict__["evidence_count"] = item_count

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
            "labels": Labels.make(),
            "item_path": self.item_path,
            "duration": duration_label,
            "localtime": timezone.localtime,
            "formula": scoring.FORMULA,
        }

    # -- header ---------------------------------------------------------------

    @cached_property
    def members(self) -> list[Member]:
        """Who is on the case, leads first: plain rows, not membership and user objects."""
        roles = choice_labels(Membership, "role")
        rows = page_reads.member_rows(incident_id=self.incident.pk)
        return [
            Member(f"{first} {last}".strip() or username, role, roles.get(role, role))
            for role, username, first, last in sorted(
                rows, key=lambda row: (ROLE_ORDER.get(row[0], 9), row[1])
            )
        ]

    @cached_property
    def summary_html(self) -> SafeString:
        """The case's summary, Markdown rendered and sanitised as timeline entries are."""
        from incidents.cases.markdown import render_markdown

        summary = self.incident.summary
        return SafeString(render_markdown(summary) if summary else "")

    @cached_property
    def tags(self) -> list[str]:
        return page_reads.tag_names(incident_id=self.incident.pk)

    @cached_property
    def status_actions(self) -> list[tuple[IncidentStatus, forms.Form | None]]:
        """The statuses the lead may move the case to, each with its form when
        its panel is open: sent back with errors, or asked for
        (``status_asked``). A closed panel carries a link that loads its form
        (``status_form_alone``), so only the forms shown are built."""
        if not self.access.can_lead:
            return []
        return [
            (IncidentStatus(value), self.bound.get(("status", value)) or self._status_form(value))
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
    def status_alone(self) -> tuple[IncidentStatus, CaseStatusForm | None] | None:
        """The status and form one panel's link loads (``status_form_alone``), or None."""
        value = self.status_asked
        return (IncidentStatus(value), self._status_form(value)) if value else None

    @cached_property
    def blockers(self) -> list[str]:
        return self.incident.resolution_blockers(self.hypotheses)

    # -- hypotheses -----------------------------------------------------------

    @cached_property
    def scores(self) -> scoring.CaseScores:
        """Score and rank of every hypothesis over every cell of the case: in
        SQL (one GROUP BY), or, when the whole page is drawn and its matrix
        shows every row, from the cells the matrix loads anyway (the same
        cells, so the same scores, with one query fewer)."""
        if self.whole and self.row_count <= self.row_limit:
            return self.page_scores
        return scoring.case_scores(self.incident, [h.pk for h in self.hypotheses])

    @cached_property
    def ranked(self) -> list[Ranked]:
        """Each hypothesis's score and rank over the whole case, in the order proposed."""
        scores = self.scores.hypotheses
        ranked = []
        for c in self.columns:
            score = scores[c.pk]
            ranked.append(
                Ranked(c.pk, c.number, c.statement, score.score, score.rank, score.rated_items)
            )
        return ranked

    @cached_property
    def explanations(self) -> list[tuple[Ranked, list[tuple[str, scoring.Contribution]]]]:
        """Per hypothesis, the contributions of the rows on the page."""
        titles = {item.pk: item.title for item in self.rows}
        page = self.page_scores.hypotheses
        return [
            (h, [(titles.get(c.evidence_id, "?"), c) for c in page[h.pk].contributions])
            for h in self.ranked
        ]

    @cached_property
    def can_move(self) -> bool:
        return self.access.can_write and not self.incident.is_closed

    def _card(self, h: Hypothesis, number: int) -> Card:
        """Hypothesis H's card: figures, chart, and whether its two forms are
        open (else they load on demand). The card answering a move keeps the
        figures the page shows."""
        return Card(
            pk=h.pk,
            number=number,
            kind=h.kind,
            kind_label=h.get_kind_display(),
            status=h.status,
            status_label=h.get_status_display(),
            statement=h.statement,
            description=h.description,
            band=ConfidenceBand(h.confidence) if h.confidence else None,
            figures=None if self.moved and h.pk == self.card_pk else self._figures(h, number),
            move_url=self.card_paths[0](h.pk),
            confidence_url=self.card_paths[1](h.pk),
            can_move=self.can_move and bool(h.allowed_statuses(lead=self.access.can_lead)),
            # The list of sources to cite is long: only the form opened to cite
            # (or sent back with errors) carries it; the others load it on demand.
            citing=self._citing(h.pk),
            move_open=self._citing(h.pk) or self.opening == ("move", h.pk),
            confidence_open=("confidence", h.pk) in self.bound
            or self.opening == ("confidence", h.pk),
        )

    @cached_property
    def card_paths(self) -> tuple[Any, Any]:
        """The paths of the cards' move and confidence forms, by hypothesis."""
        ref = self.incident.reference
        return id_path("hypotheses:move", ref), id_path("hypotheses:confidence", ref)

    @cached_property
    def annotations_url(self) -> str:
        return reverse("evidence:case_annotations", args=[self.incident.reference])

    def _citing(self, pk: int) -> bool:
        return pk == self.citing or ("move", pk) in self.bound

    def _figures(self, h: Hypothesis, number: int) -> Figures:
        stances = self.stances.get(h.pk, {})
        return Figures(
            ranked=self.ranked[number - 1],
            of=len(self.hypotheses),
            supports=stances.get("supports", 0),
            contradicts=stances.get("contradicts", 0),
            annotations_url=self.annotations_url,
            chart=charts.confidence_history_svg(
                self.histories[h.pk], element_id=f"chart-{h.pk}", now=self.now
            ),
        )

    @cached_property
    def stances(self) -> dict[int, dict[str, int]]:
        return page_reads.stance_counts(incident_id=self.incident.pk)

    @cached_property
    def histories(self) -> dict[int, list[Change]]:
        """Each hypothesis's confidence history, oldest first, for its chart:
        one query for all of them."""
        history: dict[int, list[Change]] = {h.pk: [] for h in self.hypotheses}
        for pk, band, created_at in page_reads.history_rows(hypothesis_ids=list(history)):
            history[pk].append(Change(band, created_at))
        return history

    @cached_property
    def cards(self) -> list[Card]:
        return [self._card(h, n) for n, h in enumerate(self.hypotheses, start=1)]

    def _card_of(self, pk: int | None) -> Card | None:
        found = [(n, h) for n, h in enumerate(self.hypotheses, start=1) if h.pk == pk]
        return self._card(found[0][1], found[0][0]) if found else None

    @cached_property
    def card(self) -> Card | None:
        """The one card a move or a confidence change answers with (or whose
        form is asked for)."""
        return self._card_of(self.card_pk)

    @cached_property
    def cite_card(self) -> Card | None:
        """The card whose move form asks for its list of sources to cite."""
        return self._card_of(self.citing)

    def move_form(self, pk: int) -> forms.Form:
        """The move form of hypothesis PK: sent back with errors, or blank."""
        return self._form("move", pk)

    def confidence_form(self, pk: int) -> forms.Form:
        return self._form("confidence", pk)

    def _form(self, kind: str, pk: int) -> forms.Form:
        built = self.__dict__.setdefault("_forms", {})
        key = (kind, pk)
        if key not in built:
            h = next(h for h in self.hypotheses if h.pk == pk)
            form: forms.Form
            if key in self.bound:
                form = self.bound[key]
                if kind == "move":
                    # Sent back with errors: offer every source again (the
                    # view validated against the cited ones only).
                    form.fields["cited_evidence"].choices = [  # type: ignore[attr-defined]
                        (item.pk, f"{item.grade} · {item.title}") for item in self.citable
                    ]
            elif kind == "move":
                evidence = self.citable if self._citing(pk) else ()
                form = MoveForm(hypothesis=h, can_lead=self.access.can_lead, evidence=evidence)
            else:
                form = ConfidenceForm(hypothesis=h)
            built[key] = form
        return built[key]

    @cached_property
    def citable(self) -> list[SourceRef]:
        return [
            SourceRef(*row)
            for row in self.incident.evidence.filter(withdrawn_at=None)
            .order_by("created_at", "id")
            .values_list("id", "title", "reliability", "credibility")
        ]

    @cached_property
    def hypothesis_form(self) -> forms.Form:
        return self.bound.get("hypothesis") or HypothesisForm()

    @cached_property
    def hypothesis_open(self) -> bool:
        """The add-hypothesis form is in the page only when open: sent back with
        errors, or asked for (``?add=1``, its panel's link without JavaScript)."""
        return "hypothesis" in self.bound or self.request.GET.get("add") == "1"

    # -- timeline -------------------------------------------------------------

    @cached_property
    def timeline(self) -> tuple[list[Entry], int | None]:
        """Newest first, capped; "older entries" continues after the last one shown."""
        incident, before, keyset = self.incident, self.request.GET.get("before", ""), None
        before_id = parse_id(before)  # an id of ASCII digits, or no cursor
        if before_id is not None:
            cursor = (
                incident.updates.filter(pk=before_id).values_list("created_at", flat=True).first()
            )
            if cursor is not None:
                keyset = (cursor, before_id)
        # Plain rows: the author's name, not the user row; not the Markdown source.
        rows = page_reads.timeline_rows(
            incident_id=incident.pk, kind=self.kind, before=keyset, limit=TIMELINE_PAGE_SIZE + 1
        )
        entries = [
            Entry(pk, kind, author, at, SafeString(body))  # the stored, sanitised rendering
            for pk, kind, author, at, body in rows
        ]
        older = entries[TIMELINE_PAGE_SIZE - 1].pk if len(entries) > TIMELINE_PAGE_SIZE else None
        return entries[:TIMELINE_PAGE_SIZE], older

    @property
    def entries(self) -> list[Entry]:
        return self.timeline[0]

    @property
    def older(self) -> int | None:
        return self.timeline[1]

    @cached_property
    def update_form(self) -> forms.Form:
        return self.bound.get("update") or UpdateForm()

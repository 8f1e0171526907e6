"""The case page's evidence: the source list, the matrix and one cell's
editor (``EvidenceParts``, a part of ``page.CasePage``).

The source list and the matrix read the case's items in one statement: the
first page of the longer of the two, with the number of the case's items
(``_first``). A matrix row is a ``MatrixRow`` of ``Cell``s (``page_data``),
whose links are made here, once per cell, from one ``reverse()``; the
template draws them (``cases/detail.jinja``, ``matrix_rows``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any, NamedTuple

from django import forms
from django.urls import reverse

from incidents.cases.models import Incident
from incidents.cases.views import page_reads
from incidents.cases.views.page_data import (
    ITEM_COLUMNS,
    PAGE_ROWS,
    SOURCE_ROWS,
    Cell,
    Column,
    EditedCell,
    ItemRow,
    MatrixRow,
    More,
    id_path,
    matrix_query,
    next_page,
    page_limit,
    rows_param,
    wanted_rows,
)
from incidents.evidence.forms import AttachForm
from incidents.evidence.models import EvidenceItem
from incidents.htmx import HtmxHttpRequest
from incidents.hypotheses import scoring
from incidents.hypotheses.forms import CellForm
from incidents.hypotheses.models import Assessment, Hypothesis


class Withdrawn(NamedTuple):
    """A withdrawn source as the case page lists it, apart from the matrix."""

    pk: int
    title: str
    grade: str
    at: dt.datetime
    by: str
    reason: str
    note: str


class EvidenceParts:
    """The parts of the case page that show its items. ``CasePage`` sets the
    state they read (below) from the request and the view."""

    request: HtmxHttpRequest
    incident: Incident
    bound: Mapping[Any, forms.Form]
    sort: str  # a key of page_data.SORTS
    explain: bool  # the explanation lists each cell's contribution
    editing: tuple[int, int] | None  # (item, hypothesis) of the cell whose editor is open
    focus: str  # the id of the cell that takes the focus
    saved: int | None  # the item whose cell was just rated
    saved_item: EvidenceItem | None

    @cached_property
    def hypotheses(self) -> list[Hypothesis]:
        """The case's hypotheses in the order proposed (model instances: the
        forms and the case's rules need them)."""
        return page_reads.hypotheses(self.incident)

    @cached_property
    def columns(self) -> list[Column]:
        """The hypotheses numbered H1, H2… in the order they were proposed."""
        return [Column(h.pk, n, h.statement) for n, h in enumerate(self.hypotheses, start=1)]

    # -- the items: the source list and the matrix's rows --------------------------

    @cached_property
    def evidence_count(self) -> int:
        """The number of the case's items: it comes with the first page of
        items (``_first``), which the page loads anyway."""
        if "_total" not in self.__dict__:
            matrix = wanted_rows(self.request.GET.get("rows", ""), PAGE_ROWS)
            sources = wanted_rows(self.request.GET.get("sources", ""), SOURCE_ROWS)
            self._first(None if matrix is None or sources is None else max(matrix, sources))
        return self.__dict__["_total"]

    def _items(self) -> Any:
        """The case's items in the order attached, as ``ItemRow`` columns."""
        current = self.incident.evidence.filter(withdrawn_at=None)  # withdrawn: listed apart
        return current.order_by("created_at", "id").values_list(*ITEM_COLUMNS)

    def _first(self, limit: int | None) -> list[ItemRow]:
        """The first LIMIT items in the order attached (all for None), with
        the number of the case's items (``_total``) in the same statement. The
        source list takes its page from the matrix's: one query for both."""
        cache = self.__dict__.setdefault("_first_cache", {})
        wanted = math.inf if limit is None else limit
        longer = [n for n in cache if n >= wanted]
        if longer:
            return cache[min(longer)][:limit]
        found, total, withdrawn = page_reads.first_items(incident_id=self.incident.pk, limit=limit)
        cache[wanted] = rows = [ItemRow._make(row) for row in found]
        self.__dict__.setdefault("_total", total)
        self.__dict__.setdefault("_withdrawn_count", withdrawn)
        return rows

    @cached_property
    def withdrawn(self) -> list[Withdrawn]:
        """The case's withdrawn sources, listed apart from the others: read only
        when the first page of items says there are some (or there is none)."""
        self.evidence_count  # noqa: B018 (reads the first page, which counts them)
        if self.__dict__.get("_withdrawn_count") == 0:
            return []
        labels = dict(EvidenceItem.WithdrawalReason.choices)
        return [
            Withdrawn(pk, title, f"{r}{c}", at, by or "", labels.get(why, why), note)
            for pk, title, r, c, at, by, why, note in page_reads.withdrawn_items(
                incident_id=self.incident.pk
            )
        ]

    @cached_property
    def source_limit(self) -> int:
        return page_limit(self.request.GET.get("sources", ""), self.evidence_count, SOURCE_ROWS)

    @cached_property
    def evidence(self) -> list[ItemRow]:
        return self._first(self.source_limit)

    @cached_property
    def more_sources(self) -> More | None:
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
        """The matrix's items on the page: sorted over the whole case, then cut."""
        if self.sort == "diagnosticity":
            spread = scoring.diagnosticity_by_item(self.incident)
            current = self.incident.evidence.filter(withdrawn_at=None)
            order = list(current.order_by("id").values_list("id", flat=True))
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
        rows = page_reads.cell_rows(item_ids=item_pks)  # items of this case only
        return {(e, h): (rating, relevance, reason) for e, h, rating, relevance, reason in rows}

    @cached_property
    def page_scores(self) -> scoring.CaseScores:
        """Diagnosticity and contributions of the rows on the page (an item's
        diagnosticity depends on its own row only). The cells in the order of
        their items and hypotheses, whatever order the database gave them in:
        the explanation lists the contributions in that order."""
        return scoring.compute(
            [h.pk for h in self.hypotheses],
            [scoring.Item(i.pk, i.reliability, i.credibility) for i in self.rows],
            [scoring.Cell(e, h, c[0], c[1]) for (e, h), c in sorted(self.row_cells.items())],
            contributions=self.explain,  # only the explanation lists them
        )

    @cached_property
    def rows_shown(self) -> int:
        return min(self.row_limit, self.row_count)

    @cached_property
    def more_rows(self) -> More | None:
        return next_page(self.row_limit, self.row_count)

    @cached_property
    def matrix_query(self) -> str:
        return matrix_query(self.sort, self.row_limit, self.row_count)

    @cached_property
    def rows_param(self) -> str:
        return rows_param(self.row_limit, self.row_count)

    def _matrix_row(
        self,
        item: Any,
        cells: Mapping[tuple[int, int], tuple[str, str, str]],
        score: scoring.ItemScore,
    ) -> MatrixRow:
        """ITEM's row of the matrix: an ``ItemRow`` or ``EvidenceItem``, its
        rated CELLS and its SCORE."""
        pk = item.pk
        row = [self._cell(pk, h.pk, cells) for h in self.columns]
        diagnosticity = score.diagnosticity if score.is_diagnostic else None
        url = self.item_path(pk)
        return MatrixRow(
            pk, url, item.title, item.reliability, item.credibility, row, diagnosticity
        )

    def _cell(
        self, item: int, h: int, cells: Mapping[tuple[int, int], tuple[str, str, str]]
    ) -> Cell:
        rating, relevance, reason = cells.get((item, h), ("", "", ""))
        ij = f"{item}-{h}"
        return Cell(
            ij,
            f"{self.cell_prefix}{item}/{h}/{self.cell_query}#td-{ij}",
            rating,
            relevance,
            reason,
            focus=self.focus == f"cell-{ij}",
            editing=self.editing == (item, h),
        )

    @cached_property
    def cell_query(self) -> str:
        """The query a cell's link carries: the matrix as shown (sort and rows)."""
        return f"?{self.matrix_query}" if self.matrix_query else ""

    @cached_property
    def cell_prefix(self) -> str:
        """The path of a matrix cell's editor without its two ids."""
        probe = 2147483647
        path = reverse("hypotheses:cell", args=[self.incident.reference, probe, probe])
        assert path.endswith(f"/{probe}/{probe}/")
        return path.removesuffix(f"{probe}/{probe}/")

    @cached_property
    def item_path(self) -> Any:
        return id_path("evidence:detail")

    @cached_property
    def matrix_rows(self) -> list[MatrixRow]:
        items = self.page_scores.items
        return [self._matrix_row(item, self.row_cells, items[item.pk]) for item in self.rows]

    @cached_property
    def saved_row(self) -> MatrixRow:
        """The row of the cell just saved, built alone (not the page's rows)."""
        item = self.saved_item or ItemRow._make(self._items().get(pk=self.saved))
        cells = self._cells_of([item.pk])
        row = scoring.compute(
            [h.pk for h in self.hypotheses],
            [scoring.Item(item.pk, item.reliability, item.credibility)],
            [scoring.Cell(e, h, c[0], c[1]) for (e, h), c in cells.items()],
        )
        return self._matrix_row(item, cells, row.items[item.pk])

    # -- one cell's editor ----------------------------------------------------

    @cached_property
    def edited(self) -> EditedCell | None:
        """The cell being edited, with its assessment (None when unrated)."""
        if self.editing is None:
            return None
        item_pk, h_pk = self.editing
        row = self._items().filter(pk=item_pk).first()
        h = next((c for c in self.columns if c.pk == h_pk), None)
        if row is None or h is None:
            return None
        assessment = Assessment.objects.filter(evidence_id=item_pk, hypothesis_id=h_pk).first()
        return EditedCell(ItemRow._make(row), h, assessment)

    @cached_property
    def closed_cell(self) -> Cell | None:
        """The cell being edited, closed again (its editor's Cancel)."""
        c = self.edited
        if c is None:
            return None
        a, pair = c.assessment, (c.item.pk, c.h.pk)
        cell = self._cell(*pair, {pair: (a.rating, a.relevance, a.reason)} if a else {})
        return cell._replace(focus=False, editing=False)

    @cached_property
    def editing_form(self) -> forms.Form | None:
        if self.edited is None:
            return None
        a = self.edited.assessment
        initial = (
            {"rating": a.rating, "relevance": a.relevance, "reason": a.reason, "version": a.version}
            if a
            else {"version": 0}
        )
        return self.bound.get("cell") or CellForm(initial=initial)

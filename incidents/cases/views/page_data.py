"""What the case page's template reads: plain, typed values (named tuples and
frozen dataclasses), made by the presenter (``page.CasePage``) from the
page's reads (``page_reads``), and the small rules of its paging.

The template gets these, never a model instance with attributes added for
it: a hypothesis's number, score and card are a ``Column``, a ``Ranked`` and
a ``Card``; an evidence item's row is an ``ItemRow`` (its columns, read as a
tuple) and, in the matrix, a ``MatrixRow`` of ``Cell``s. Named tuples where
the page makes hundreds (a matrix cell, a row), dataclasses elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.urls import reverse
from django.utils.safestring import SafeString

from incidents.cases.views.page_reads import ItemColumns
from incidents.hypotheses.models import ConfidenceBand
from incidents.params import INT_MAX, parse_count

# Matrix rows and listed sources shown at once; "show more" adds as many again.
# The source list repeats the matrix's rows with their details: a shorter page.
PAGE_ROWS = 100
SOURCE_ROWS = 25
TIMELINE_PAGE_SIZE = 30
# The matrix's orders, by the value of ``?sort=``.
SORTS = {"diagnosticity": "Most diagnostic first", "": "Order attached"}


def choice_labels(model: Any, field: str) -> dict[Any, str]:
    """The display labels of a choices field of MODEL, by value."""
    return {value: str(label) for value, label in model._meta.get_field(field).flatchoices}


def id_path(name: str, *args: Any) -> Callable[[int], str]:
    """A function of an id giving the path the URL NAME reverses to with ARGS
    and that id, from one ``reverse()``: the page links to a hundred items
    and hypotheses (``{{ item_path(item.pk) }}``)."""
    probe = "2147483647"
    head, found, tail = reverse(name, args=[*args, probe]).rpartition(f"/{probe}/")
    assert found, (name, args)
    return lambda pk: f"{head}/{int(pk)}/{tail}"


def duration_label(value: dt.timedelta | None) -> str:
    """An uncertainty as the page writes it: “± 10 min”, “± 2 h”, “± 3 days”;
    empty when unknown."""
    if value is None:
        return ""
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"± {minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"± {hours} h" + (f" {rest} min" if rest else "")
    return f"± {round(minutes / 1440)} days"


# -- the header ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    """A member of the case as the header lists them."""

    name: str  # the full name, or the username without one
    role: str
    role_label: str


# -- the hypotheses -----------------------------------------------------------


class Change(NamedTuple):
    """A confidence change as a hypothesis's chart draws it."""

    band: str
    created_at: dt.datetime


class Column(NamedTuple):
    """A hypothesis as the matrix's head names it: H<number> and its statement."""

    pk: int
    number: int  # 1, 2… in the order proposed
    statement: str


class Ranked(NamedTuple):
    """A hypothesis's score and rank over the whole case (the matrix's foot,
    the explanation and its card)."""

    pk: int
    number: int
    statement: str
    score: float
    rank: int
    rated: int  # the items rated against it


@dataclass(frozen=True, slots=True)
class Figures:
    """What a card shows of a hypothesis's standing: rank, score, annotated
    passages and confidence chart."""

    ranked: Ranked
    of: int  # the case's number of hypotheses
    supports: int
    contradicts: int
    annotations_url: str
    chart: SafeString  # SVG drawn by ``charts.confidence_history_svg``


@dataclass(frozen=True, slots=True)
class Card:
    """A hypothesis card. FIGURES is None on the card answering a move, which
    changes none of them: the page keeps the ones it shows (``hx-preserve``)."""

    pk: int
    number: int
    kind: str
    kind_label: str
    status: str
    status_label: str
    statement: str
    description: str
    band: ConfidenceBand | None
    figures: Figures | None
    move_url: str
    confidence_url: str
    can_move: bool  # the user may move it now (moves left, case open)
    citing: bool  # its move form lists the sources to cite
    move_open: bool  # its move form is in the card (else loaded on demand)
    confidence_open: bool


# -- the evidence -------------------------------------------------------------


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
    """An evidence item as the page draws it (source list, matrix row, cell
    editor): its columns, without a model instance. The cell's answer may get
    an ``EvidenceItem`` instead: both have the same names."""

    __slots__ = ()


# The columns of an evidence item that the page reads.
ITEM_COLUMNS = ItemRow._fields


@dataclass(frozen=True, slots=True)
class SourceRef(GradedRow):
    """The few columns of an evidence item that citing needs."""

    id: int
    title: str
    reliability: str
    credibility: int


class Cell(NamedTuple):
    """One cell of the matrix: its ids' end IJ ("<item>-<hypothesis>": the
    cell's ``td-12-3``), its editor's link, its rating (empty: not rated),
    relevance and reason; FOCUS: it takes the focus (the cell just rated);
    EDITING: its editor is open in its place."""

    ij: str
    href: str
    rating: str
    relevance: str
    reason: str
    focus: bool
    editing: bool


class MatrixRow(NamedTuple):
    """One row of the matrix: an item, its cells and its diagnosticity (None:
    non-diagnostic)."""

    pk: int
    url: str  # the item's page
    title: str
    reliability: str
    credibility: int
    cells: list[Cell]
    diagnosticity: float | None


@dataclass(frozen=True, slots=True)
class EditedCell:
    """The cell whose editor is open: its item, hypothesis and assessment (None: not rated)."""

    item: Any  # an ItemRow
    h: Column
    assessment: Any

    @property
    def td_id(self) -> str:
        return f"td-{self.item.pk}-{self.h.pk}"


# -- the timeline -------------------------------------------------------------


class Entry(NamedTuple):
    """A timeline entry as the page lists it; BODY_HTML is the stored, sanitised
    rendering of its Markdown."""

    pk: int
    kind: str
    author: str | None  # the author's username; None: written by the system
    created_at: dt.datetime
    body_html: SafeString


# -- paging: the matrix's rows and the source list ----------------------------


def wanted_rows(value: str, page: int) -> int | None:
    """The rows a ``rows=`` / ``sources=`` value asks for: ``all`` (None), a
    number (at least one page), or one page."""
    if value == "all":
        return None
    return max(page, parse_count(value, maximum=INT_MAX) or page)  # ASCII digits only


def page_limit(value: str, total: int, page: int = PAGE_ROWS) -> int:
    """How many rows to show, once the total is known."""
    wanted = wanted_rows(value, page)
    return max(total, page) if wanted is None else wanted


def rows_param(limit: int, total: int, page: int = PAGE_ROWS) -> str:
    """The query value that shows LIMIT rows again; empty for the first page."""
    return "" if limit <= page else ("all" if limit >= total else str(limit))


@dataclass(frozen=True, slots=True)
class More:
    """The "show more" links: the next page's limit, how many it adds, of TOTAL."""

    next: int
    step: int
    total: int


def next_page(limit: int, total: int, page: int = PAGE_ROWS) -> More | None:
    """The "show more" link, or None when all are shown."""
    if limit >= total:
        return None
    return More(limit + page, min(page, total - limit), total)


def matrix_query(sort: str, limit: int, total: int) -> str:
    """The query string that reproduces the matrix as shown (sort and rows)."""
    parts = [f"sort={sort}"] if sort else []
    rows = rows_param(limit, total)
    if rows:
        parts.append(f"rows={rows}")
    return "&".join(parts)

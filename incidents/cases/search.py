"""Searching, filtering and paging the case list.

Built to stay fast at 100,000 cases (issue 6):

- Full text: on PostgreSQL the stored ``Incident.search_vector`` (GIN index,
  kept current by triggers, see migration cases/0003) queried with
  ``websearch_to_tsquery``; on SQLite, icontains over the same fields.
- Paging is keyset ("seek") pagination, never OFFSET: a page is "the N rows
  after this cursor in this order". Each condition is written so PostgreSQL
  can use the sort index as an index condition: the redundant ``key <= x``
  sits next to ``key < x OR (key = x AND id < y)``.
- No exact COUNT over the table. A search counts its matches only up to
  ``SEARCH_CAP`` (+1, to say "200+"), and ranks by relevance only within
  that capped candidate set.
- A sort is a list of *segments* walked in order; each segment is a filtered
  slice of the table with its own index-friendly keyset. "Occurred" is two
  segments (dated cases, then undated ones, which never mix with NULLs in a
  comparison); "severity" is one per severity, critical first, each walked by
  last activity on the index (severity, -last_activity_at, -id). A page
  that ends a segment continues into the next one with one more query.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, F, FloatField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Left, NullIf
from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents.cases.models import Incident, IncidentSeverity, Membership, Tag, member_scope
from incidents.compiled import compiled
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import Hypothesis
from incidents.lookups import AnyOf
from incidents.params import REFERENCE_MAX, is_clean_text, is_id, is_storable

PAGE_SIZE = 25
# Matches counted and ranked at most: 200, not 1,000. At L, finding 1,001 matches
# among the 10 % member's cases took 9-15 ms for cases and 21-44 ms for sources,
# against 2-8 and 3-15 ms for 201 (docs/performance.md).
SEARCH_CAP = 200
SEARCH_CONFIG = "english"
BODY_LIMIT = 100_000  # characters of a text body that are indexed (migration evidence/0006)


def uses_postgres_search() -> bool:
    return connection.vendor == "postgresql"


def search_query(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)


def text_match(text: str, reference: str) -> Q:
    """The condition of a case whose reference, title, summary or hypothesis
    statements match TEXT (stripped, not empty). REFERENCE is TEXT upper-cased:
    PostgreSQL matches a reference exactly, and a compiled read takes it as a
    value of its own (``listing._cases``)."""
    if uses_postgres_search():
        return Q(search_vector=search_query(text)) | Q(reference=reference)
    statements = Hypothesis.objects.filter(incident=OuterRef("pk"), statement__icontains=text)
    return (
        Q(reference__icontains=text)
        | Q(title__icontains=text)
        | Q(summary__icontains=text)
        | Q(Exists(statements))
    )


def apply_filters(qs: QuerySet[Incident], data: dict[str, Any]) -> QuerySet[Incident]:
    """Narrow QS by the cleaned filter form DATA (empty values are ignored)."""
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("severity"):
        qs = qs.filter(severity=data["severity"])
    if data.get("tag"):
        # The tag's id as a scalar subquery, not a join on the tag's name: PostgreSQL
        # then estimates how many cases carry a tag from the tag_id statistics (a
        # join on the name was estimated 20 times too low, so at 100,000 cases it
        # fetched every tagged case instead of walking the list index in order).
        tag_id = Subquery(Tag.objects.filter(name=data["tag"]).values("pk")[:1])
        qs = qs.filter(
            Exists(Incident.tags.through.objects.filter(incident=OuterRef("pk"), tag_id=tag_id))
        )
    if data.get("lead"):
        qs = qs.filter(lead__username=data["lead"])
    if data.get("occurred_from"):
        qs = qs.filter(occurred_at__gte=data["occurred_from"])
    if data.get("occurred_before"):
        qs = qs.filter(occurred_at__lt=data["occurred_before"])
    if data.get("confirmed") in {"yes", "no"}:
        confirmed = Exists(
            Hypothesis.objects.filter(incident=OuterRef("pk"), status=Hypothesis.Status.CONFIRMED)
        )
        qs = qs.filter(confirmed if data["confirmed"] == "yes" else ~confirmed)
    return qs


# -- keyset pagination -----------------------------------------------------------


class BadCursor(ValueError):
    """A page link that cannot be decoded (edited by hand, or from an older version)."""


Parser = Callable[[Any], Any]


# A cursor's values go into a page's query as they are: each is held to the
# edges' rules (``incidents.params``), a bad one is a BadCursor, never a 500.


def _parse_datetime(value: Any) -> dt.datetime:
    """An aware time a column can hold in any zone (``params.is_storable``)."""
    try:
        parsed = parse_datetime(value) if isinstance(value, str) and len(value) <= 64 else None
    except ValueError:  # well formed but no such day or time (2024-02-30)
        parsed = None
    if parsed is None or not is_storable(parsed):
        raise BadCursor("bad time")
    return parsed


def _parse_int(value: Any) -> int:
    """An id (``params.is_id``): 1 .. 2**63 - 1."""
    if not is_id(value):
        raise BadCursor("bad integer")
    return int(value)


def _parse_float(value: Any) -> float:
    """A finite number (a rank)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadCursor("bad number")
    try:
        number = float(value)
    except OverflowError:  # an integer past a float's range
        raise BadCursor("bad number") from None
    if not math.isfinite(number):
        raise BadCursor("bad number")
    return number


def _parse_str(value: Any) -> str:
    """A text a column can be compared with (``params.is_clean_text``), a reference's length."""
    if not isinstance(value, str) or len(value) > REFERENCE_MAX or not is_clean_text(value):
        raise BadCursor("bad text")
    return value


PARSERS: dict[str, Parser] = {
    "last_activity_at": _parse_datetime,
    "occurred_at": _parse_datetime,
    "id": _parse_int,
    "reference": _parse_str,
    "rank": _parse_float,
    "incident_id": _parse_int,
    "created_at": _parse_datetime,
}


@dataclass(frozen=True)
class Segment:
    """A slice of the ordered list: rows matching WHERE, ordered by KEYS (the last unique)."""

    keys: tuple[str, ...]
    descending: bool = True
    where: Q = field(default_factory=Q)


@dataclass(frozen=True)
class Cursor:
    segment: int
    values: tuple[Any, ...]

    def encode(self) -> str:
        raw = [
            self.segment,
            [v.isoformat() if isinstance(v, dt.datetime) else v for v in self.values],
        ]
        return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode()

    @classmethod
    def decode(cls, token: str, segments: Sequence[Segment]) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token.encode() + b"==="))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise BadCursor("undecodable") from None
        if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[1], list)):
            raise BadCursor("bad shape")
        index = raw[0]
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(segments):
            raise BadCursor("bad segment")
        keys = segments[index].keys
        if len(raw[1]) != len(keys):
            raise BadCursor("bad length")
        return cls(index, tuple(PARSERS[k](v) for k, v in zip(keys, raw[1], strict=True)))


def seek(keys: Sequence[str], values: Sequence[Any], *, forward_desc: bool) -> Q:
    """Rows strictly after VALUES in the order of KEYS (descending when FORWARD_DESC).

    ``(a, b, id) < (x, y, z)`` written as ``a <= x AND (a < x OR (a = x AND (b < y OR ...)))``:
    the leading ``a <= x`` is redundant but lets PostgreSQL use it as an index
    condition on the sort index, so a deep page costs the same as the first.
    """
    lt = "lt" if forward_desc else "gt"
    lte = "lte" if forward_desc else "gte"
    tail = Q(**{f"{keys[-1]}__{lt}": values[-1]})
    for key, value in zip(reversed(keys[:-1]), reversed(values[:-1]), strict=True):
        tail = Q(**{f"{key}__{lt}": value}) | (Q(**{key: value}) & tail)
    if len(keys) == 1:
        return tail
    return Q(**{f"{keys[0]}__{lte}": values[0]}) & tail


def ordering(segment: Segment, *, reverse: bool) -> list[Any]:
    descending = segment.descending != reverse
    return [F(k).desc() if descending else F(k).asc() for k in segment.keys]


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None


def _row_cursor(row: Incident, index: int, segment: Segment) -> Cursor:
    return Cursor(index, tuple(getattr(row, k) for k in segment.keys))


# How a page is read: (segment index, the cursor in that segment or None,
# backwards, how many rows) -> the rows, in the page's order.
Reader = Callable[[int, "Cursor | None", bool, int], list[Any]]


def read_queryset(qs: QuerySet[Any], segments: Sequence[Segment]) -> Reader:
    """The reader of QS: each segment's rows filtered, sought and ordered by the ORM."""

    def read(index: int, cursor: Cursor | None, backwards: bool, limit: int) -> list[Any]:
        segment = segments[index]
        part = qs.filter(segment.where)
        if cursor is not None:
            descending = segment.descending != backwards
            part = part.filter(seek(segment.keys, cursor.values, forward_desc=descending))
        return list(part.order_by(*ordering(segment, reverse=backwards))[:limit])

    return read


def paginate(
    source: QuerySet[Any] | Reader,
    segments: Sequence[Segment],
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of SOURCE (a queryset, or a reader: see ``Reader``) in the
    order of SEGMENTS, after or before a cursor.

    Asks for size + 1 rows to know whether there is more; reads one segment
    at a time and moves to the next segment only when the current one ran out.
    """
    read = source if callable(source) else read_queryset(source, segments)
    backwards = before is not None
    cursor = before if backwards else after
    start = cursor.segment if cursor else (len(segments) - 1 if backwards else 0)
    indexes = range(start, -1, -1) if backwards else range(start, len(segments))
    found: list[tuple[int, Any]] = []
    for index in indexes:
        at = cursor if cursor is not None and index == cursor.segment else None
        rows = read(index, at, backwards, size + 1 - len(found))
        found.extend((index, row) for row in rows)
        if len(found) > size:
            break
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
        if not more:
            # Reached the start of the list: show the first page as it is now.
            return paginate(read, segments, size=size)
    rows = [row for _, row in found]
    if not found:
        return Page(rows, None, None)
    first_index, first = found[0]
    last_index, last = found[-1]
    has_next = more if not backwards else True
    has_previous = (cursor is not None) if not backwards else more
    return Page(
        rows,
        _row_cursor(last, last_index, segments[last_index]).encode() if has_next else None,
        _row_cursor(first, first_index, segments[first_index]).encode() if has_previous else None,
    )


# -- sorts --------------------------------------------------------------------

SEVERITY_ORDER = [
    IncidentSeverity.CRITICAL,
    IncidentSeverity.HIGH,
    IncidentSeverity.MODERATE,
    IncidentSeverity.LOW,
]

SORTS: dict[str, str] = {
    "activity": "Last activity",
    "occurred": "Occurred (newest first)",
    "reference": "Reference",
    "severity": "Severity (critical first)",
    "relevance": "Best match",
}


def segments_for(sort: str) -> list[Segment]:
    activity = ("last_activity_at", "id")
    if sort == "occurred":
        return [
            Segment(("occurred_at", "id"), where=Q(occurred_at__isnull=False)),
            Segment(("id",), where=Q(occurred_at__isnull=True)),
        ]
    if sort == "reference":
        return [Segment(("reference",), descending=False)]
    if sort == "severity":
        return [Segment(activity, where=Q(severity=s)) for s in SEVERITY_ORDER]
    if sort == "relevance" and uses_postgres_search():
        return [Segment(("rank", "id"))]
    return [Segment(activity)]


def rank_candidates(ids: list[int], text: str) -> QuerySet[Incident]:
    """The candidate cases IDS, each with its relevance to TEXT (PostgreSQL only).

    Ranking every match of a common term would read 100,000 vectors: only the
    capped candidate set (newest cases first) is ranked.
    """
    return Incident.objects.filter(AnyOf(F("id"), ids[:SEARCH_CAP])).annotate(rank=_rank(text))


def _rank(text: str) -> Cast:
    """ts_rank as double precision: a ``real`` reaches Python as its shortest decimal,
    which no longer equals the ``real`` in SQL, so a page cursor on rank would
    skip every row tied with the last one of the page."""
    return Cast(SearchRank(F("search_vector"), search_query(text)), FloatField())


def capped_count(qs: QuerySet[Incident]) -> int:
    """How many rows QS has, counting at most SEARCH_CAP + 1 of them."""
    return qs.order_by().values("id")[: SEARCH_CAP + 1].count()


# -- sources (evidence items) ---------------------------------------------------------
#
# The same rules as the case search, over evidence items: the stored, GIN-indexed
# ``EvidenceItem.search_vector`` on PostgreSQL (migration evidence/0006),
# icontains elsewhere; only items of cases the user may see; the newest
# SEARCH_CAP + 1 matches are the candidate set that is counted ("200+") and,
# on PostgreSQL, ranked; keyset pages over (rank, id), or over id (newest first).

SNIPPET_START = "\ue000"  # private-use characters: markers no source text should hold
SNIPPET_STOP = "\ue001"
SNIPPET_LENGTH = 220


@dataclass(frozen=True)
class Viewer:
    """A user as the visibility rule reads one (``Incident.objects.visible_to``,
    ``visible_sources``): signed in, active, staff, and the id whose
    memberships bound what they see (``member_scope``: None for staff, who see
    every case, and for the anonymous). A compiled read takes it as values,
    its flags as its shape (``incidents.compiled``), and still asks the one
    rule rather than restating it."""

    pk: int | None
    is_staff: bool
    is_active: bool
    is_authenticated: bool

    @classmethod
    def of(cls, user: Any) -> Viewer:
        signed_in = bool(user.is_authenticated)
        return cls(
            pk=member_scope(user) if signed_in else None,
            is_staff=bool(user.is_staff),
            is_active=bool(user.is_active),
            is_authenticated=signed_in,
        )


def visible_sources(user: Any) -> QuerySet[EvidenceItem]:
    """The evidence items of the cases USER may see (every item for staff)."""
    if not (user.is_authenticated and user.is_active):
        return EvidenceItem.objects.none()
    member = member_scope(user)
    return EvidenceItem.objects.all() if member is None else sources_of_member(member)


def sources_of_member(user_id: int) -> QuerySet[EvidenceItem]:
    """The evidence items of the cases the user USER_ID is a member of."""
    return EvidenceItem.objects.filter(
        Exists(Membership.objects.filter(incident=OuterRef("incident_id"), user=user_id))
    )


def matching_sources(qs: QuerySet[EvidenceItem], text: str) -> QuerySet[EvidenceItem]:
    """Items whose title, description, text body, origin or URL match TEXT."""
    text = text.strip()
    if not text:
        return qs
    return qs.filter(source_text_match(text))


def source_text_match(text: str) -> Q:
    """The condition of ``matching_sources``, TEXT stripped and not empty."""
    if uses_postgres_search():
        return Q(search_vector=search_query(text))
    return (
        Q(title__icontains=text)
        | Q(description__icontains=text)
        | Q(text_body__icontains=text)
        | Q(obtained_from__icontains=text)
        | Q(url__icontains=text)
    )


def source_segments(sort: str) -> list[Segment]:
    if sort == "relevance" and uses_postgres_search():
        return [Segment(("rank", "id"))]
    return [Segment(("incident_id", "created_at", "id"))]


def newest_sources(qs: QuerySet[EvidenceItem], *, every_case: bool) -> QuerySet[Any]:
    """The ids of the items of QS, newest first: the first SEARCH_CAP + 1 are a
    search's candidate set and its count (``source_candidates``).

    EVERY_CASE (staff): the newest items, walking the primary key backwards and
    stopping at the cap (about 800 rows for a term in a quarter of the texts).

    Otherwise newest case first (then by when each item was added): PostgreSQL
    walks the member's memberships newest case first and reads only those
    cases' items (an index probe per case), stopping at the cap; walking the
    primary key instead would also read the items of every case the member
    cannot see (nine in ten for the benchmark's member). It reads whole cases
    (an incremental sort per case), so the cost also grows with the largest of
    the member's newest cases: about 4 ms for the 2,000 items of the
    benchmark's heavy case. A rare term takes the GIN index instead, for
    either order (the planner decides by its statistics).

    The walk stays in one process: memberships are never scanned by parallel
    workers (migration cases/0006). For two common terms the planner priced a
    parallel walk lower, and starting its workers took 10-14 ms of the 14-17 ms
    the query then took at 100,000 cases (3-4 ms serially).
    """
    order = ("-id",) if every_case else ("-incident_id", "-created_at", "-id")
    return qs.order_by(*order).values_list("id", flat=True)


def source_candidates(qs: QuerySet[EvidenceItem], *, every_case: bool) -> list[int]:
    """The ids of the newest SEARCH_CAP + 1 items of QS (``newest_sources``)."""
    return list(newest_sources(qs, every_case=every_case)[: SEARCH_CAP + 1])


def rank_sources(ids: list[int], text: str) -> QuerySet[EvidenceItem]:
    """The candidate items IDS, each with its relevance to TEXT (PostgreSQL only)."""
    return EvidenceItem.objects.filter(AnyOf(F("id"), ids[:SEARCH_CAP])).annotate(rank=_rank(text))


def source_list(qs: QuerySet[EvidenceItem]) -> QuerySet[EvidenceItem]:
    """Only the columns a result row shows: no text bodies, no vectors."""
    return qs.select_related("incident").only(
        "id",
        "title",
        "reliability",
        "credibility",
        "incident_id",
        "created_at",
        "incident__reference",
        "incident__title",
    )


@compiled(tuples=True)
def _headlines(ids: list[int], text: str) -> QuerySet[EvidenceItem]:
    """(id, ``ts_headline`` of its text for TEXT) of the items IDS (PostgreSQL)."""
    return (
        EvidenceItem.objects.filter(AnyOf(F("id"), ids))
        .annotate(
            headline=SearchHeadline(
                Coalesce(
                    NullIf(Left("text_body", BODY_LIMIT), Value("")),
                    NullIf("description", Value("")),
                    "title",
                ),
                search_query(text),
                config=SEARCH_CONFIG,
                start_sel=SNIPPET_START,
                stop_sel=SNIPPET_STOP,
                max_words=30,
                min_words=12,
                max_fragments=2,
                fragment_delimiter=" … ",
            )
        )
        .values_list("id", "headline")
    )


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A source found, as ``templates/cases/list.jinja`` shows it (``source_row``):
    the evidence ITEM (with its case) and its SNIPPET, the matched passage
    (``with_snippets``)."""

    item: EvidenceItem
    snippet: SafeString


def with_snippets(items: Sequence[EvidenceItem], text: str) -> list[SourceRow]:
    """ITEMS, each with a snippet: HTML with the matched words in ``<mark>``.

    PostgreSQL: ``ts_headline`` for these rows only (it re-parses the text, so
    never over the candidate set), with marker characters as StartSel/StopSel;
    the fragment is escaped here and only then are the markers turned into
    ``<mark>`` tags, so nothing in a source's text is ever trusted as HTML.
    Elsewhere: the text around the first occurrence of TEXT.
    """
    if not items:
        return []
    ids = [item.pk for item in items]
    if uses_postgres_search() and text:
        found = dict(_headlines(ids=ids, text=text))
    else:
        found = {
            pk: _plain_snippet(body or description or "", text)
            for pk, body, description in EvidenceItem.objects.filter(
                AnyOf(F("id"), ids)
            ).values_list("id", Left("text_body", SNIPPET_LENGTH * 20), "description")
        }
    return [SourceRow(item, highlight(found.get(item.pk) or "")) for item in items]


def _plain_snippet(body: str, text: str) -> str:
    """SNIPPET_LENGTH characters of BODY around the first occurrence of TEXT, marked."""
    at = body.lower().find(text.lower()) if text else -1
    if at < 0:
        return body[:SNIPPET_LENGTH] + ("…" if len(body) > SNIPPET_LENGTH else "")
    start = max(0, at - SNIPPET_LENGTH // 3)
    end = min(len(body), max(start + SNIPPET_LENGTH, at + len(text)))
    return (
        ("…" if start else "")
        + body[start:at]
        + SNIPPET_START
        + body[at : at + len(text)]
        + SNIPPET_STOP
        + body[at + len(text) : end]
        + ("…" if end < len(body) else "")
    )


def highlight(fragment: str) -> SafeString:
    """Escape FRAGMENT, then turn its marker pairs into ``<mark>`` elements."""
    out: list[str] = []
    open_mark = False
    for piece in _MARKERS.split(fragment):
        if piece == SNIPPET_START:
            if not open_mark:
                out.append("<mark>")
                open_mark = True
        elif piece == SNIPPET_STOP:
            if open_mark:
                out.append("</mark>")
                open_mark = False
        else:
            out.append(escape(piece))
    if open_mark:
        out.append("</mark>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text was escaped above


_MARKERS = re.compile(f"({SNIPPET_START}|{SNIPPET_STOP})")

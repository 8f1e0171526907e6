"""``GET /cases/<reference>/export.json``: the whole case as one JSON document.

The schema is documented field by field in docs/export.md; bump
``SCHEMA_VERSION`` on any change that is not a pure addition. The number of
queries does not depend on the size of the case.

The document is written a hundred list entries at a time (``json_chunks``):
each long list is read from the database when its turn comes, its child rows
grouped by parent (``_grouped``), and its entries are built, encoded and
dropped a hundred at a time. The whole document never exists as Python
objects at once: a worker exporting a large case holds the encoded text and
one list's rows, not several times the size of the text in dicts and strings
(docs/deployment.md, "Memory per worker").

The rows of the lists are read as named tuples of the fields the document
shows (``values_list``), people as their usernames through the join: a
model instance per row, and another per related user, would cost more than
the rest of the export together, for rows that only become dicts. Each
query is written with the ORM and compiled to SQL once per connection
(``incidents.compiled``), not for every request; its rows are read when its
list's turn comes (``.lazy``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from operator import attrgetter
from typing import Any

import orjson
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from incidents.accounts.access import get_case_for_user
from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.chronology.export import sections as chronology_sections
from incidents.compiled import compiled
from incidents.evidence import annotations as anno
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import (
    Assessment,
    ConfidenceBand,
    ConfidenceChange,
    Hypothesis,
    HypothesisMove,
)
from incidents.hypotheses.scoring import CaseScores, Cell, Item, compute, credibility_weight

SCHEMA_VERSION = 2  # 2: annotations' creator is a W3C Agent, not a username
EXPORT_REASON = "Included in a JSON export of the case."


# The export's queries, each compiled once per connection (``incidents.compiled``).


@compiled
def _people_and_tags(case: int) -> QuerySet[Any]:
    return (
        Incident.objects.filter(pk=case)
        .order_by("tags__name")
        .values_list("lead__username", "created_by__username", "tags__name")
    )


@compiled
def _member_rows(case: int) -> QuerySet[Any]:
    return Membership.objects.filter(incident=case).values_list(
        "user__username",
        "user__first_name",
        "user__last_name",
        "role",
        "created_at",
    )


@compiled
def _hypothesis_rows(case: int) -> QuerySet[Any]:
    return (
        Hypothesis.objects.filter(incident=case)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "kind",
            "statement",
            "description",
            "status",
            "confidence",
            "created_by__username",
            "created_at",
            "updated_at",
        )
    )


@compiled
def _assessment_rows(case: int) -> QuerySet[Any]:
    return (
        Assessment.objects.filter(hypothesis__incident=case)
        .order_by("evidence_id", "hypothesis_id")
        .values_list(
            "evidence_id",
            "hypothesis_id",
            "rating",
            "relevance",
            "reason",
            "author__username",
            "updated_at",
        )
    )


@compiled
def _timeline_rows(case: int) -> QuerySet[Any]:
    return (
        StatusUpdate.objects.filter(incident=case)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "created_at",
            "kind",
            "author__username",
            "body",
            "hypothesis_id",
            "evidence_id",
            "tlp",
        )
    )


@compiled
def _matrix_rows(case: int) -> QuerySet[Any]:
    # A withdrawn item contributes nothing to the scores.
    return Assessment.objects.filter(
        evidence__incident=case, evidence__withdrawn_at=None
    ).values_list(
        "evidence_id",
        "hypothesis_id",
        "rating",
        "relevance",
        "evidence__reliability",
        "evidence__credibility",
    )


@compiled
def _confidence_rows(case: int) -> QuerySet[Any]:
    return (
        ConfidenceChange.objects.filter(hypothesis__incident=case)
        .order_by("created_at", "id")
        .values_list(
            "hypothesis_id",
            "created_at",
            "previous",
            "band",
            "reason",
            "author__username",
        )
    )


@compiled
def _move_rows(case: int) -> QuerySet[Any]:
    return (
        HypothesisMove.objects.filter(hypothesis__incident=case)
        .order_by("created_at", "id", "cited_evidence")
        .values_list(
            "id",
            "hypothesis_id",
            "created_at",
            "from_status",
            "to_status",
            "rationale",
            "author__username",
            "cited_evidence",
        )
    )


@compiled
def _custody_rows(case: int) -> QuerySet[Any]:
    return (
        CustodyEntry.objects.filter(item__incident=case)
        .order_by("at", "id")
        .values_list(
            "item_id",
            "at",
            "action",
            "actor__username",
            "reason",
            "place",
            "recipient",
            "sha256",
            "previous_hash",
            "entry_hash",
        )
    )


@compiled
def _evidence_rows(case: int) -> QuerySet[Any]:
    return (
        EvidenceItem.objects.filter(incident=case)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "kind",
            "title",
            "description",
            "url",
            "reliability",
            "credibility",
            "language",
            "text_body",
            "event_at",
            "event_uncertainty",
            "collected_at",
            "collected_by__username",
            "obtained_from",
            "is_illustrative",
            "withdrawn_at",
            "withdrawn_by__username",
            "withdrawal_reason",
            "withdrawal_note",
            "file",
            "original_name",
            "file_sha256",
            "file_size",
            "file_type",
            "verification",
            "last_verified_at",
            "extracted_metadata",
            "tlp",
        )
    )


@compiled
def _annotation_rows(case: int) -> QuerySet[Any]:
    return (
        Annotation.objects.filter(item__incident=case, deleted_at__isnull=True)
        .order_by("item_id", "id", "tags__name")
        .values_list(
            "id",
            "item_id",
            "item__language",
            "item__file_type",
            "author_id",
            "author__username",
            "author__first_name",
            "author__last_name",
            "body",
            "stance",
            "hypothesis_id",
            "hypothesis__statement",
            "quote_exact",
            "quote_prefix",
            "quote_suffix",
            "position_start",
            "position_end",
            "region",
            "created_at",
            "updated_at",
            "tlp",
            "item__tlp",
            "tags__name",
        )
    )


def _time(value: dt.datetime | None) -> dt.datetime | None:
    """VALUE in UTC, which ``_encode`` writes as ``isoformat()`` would, with
    ``Z`` for ``+00:00``. A time read from the database is in UTC already and
    comes back as it is: formatting a thousand times in Python cost a
    millisecond a request."""
    return value.astimezone(dt.UTC) if value else None


def _seconds(value: dt.timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None


def _decimal(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _band(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    band = ConfidenceBand(value)
    low, high = band.percent_range
    return {"band": value, "label": band.short_label, "percent": [low, high]}


def record_exported(items: list[EvidenceItem], by: Any) -> None:
    """One ``exported`` custody entry per item that has a file.

    Uses the evidence app's batch recorder when it has one (one insert for
    all items, hash chain kept); otherwise one entry at a time.
    """
    with_files = [item for item in items if item.file]
    if not with_files:
        return
    record_many = getattr(CustodyEntry, "record_many", None)
    with transaction.atomic():
        if record_many is not None:
            record_many(
                with_files, action=CustodyEntry.Action.EXPORTED, by=by, reason=EXPORT_REASON
            )
        else:
            for item in with_files:
                CustodyEntry.record(
                    item, action=CustodyEntry.Action.EXPORTED, by=by, reason=EXPORT_REASON
                )


def incident_document(incident: Incident) -> dict[str, Any]:
    """The case row as read by the access check; its lead, its creator and its
    tags in one query, a row per tag (the case's own row when it has none)."""
    people_and_tags = list(_people_and_tags.lazy(incident.pk))
    lead, created_by, _ = people_and_tags[0]
    local = incident.occurred_local
    return {
        "reference": incident.reference,
        "title": incident.title,
        "summary": incident.summary,
        "status": incident.status,
        "severity": incident.severity,
        "tlp": incident.tlp,
        "key_judgements": incident.key_judgements,
        "occurred_at": _time(incident.occurred_at),
        "occurred_local": local.isoformat() if local else None,
        "occurred_uncertainty_seconds": _seconds(incident.occurred_uncertainty),
        "time_zone": incident.time_zone,
        "place_name": incident.place_name,
        "latitude": _decimal(incident.latitude),
        "longitude": _decimal(incident.longitude),
        "lead": lead,
        "tags": [name for _, _, name in people_and_tags if name is not None],
        "created_by": created_by,
        "created_at": _time(incident.created_at),
        "updated_at": _time(incident.updated_at),
        "last_activity_at": _time(incident.last_activity_at),
        "version": incident.version,
    }


def case_document(incident: Incident) -> dict[str, Any]:
    """Everything about INCIDENT, in a fixed number of queries.

    The long lists (hypotheses, evidence, assessments, timeline, annotations)
    are generators: each runs its query when it is first read and builds its
    entries one by one, for ``json_chunks`` to write as they come.
    """
    members = _member_rows.lazy(incident.pk)
    hypotheses = list(_hypothesis_rows.lazy(incident.pk))
    assessments = _assessment_rows.lazy(incident.pk)
    timeline = _timeline_rows.lazy(incident.pk)
    scores = _scores(incident, [h.id for h in hypotheses])

    return {
        "schema_version": SCHEMA_VERSION,
        "incident": incident_document(incident),
        "members": [
            {
                "username": m.user__username,
                "name": f"{m.user__first_name} {m.user__last_name}".strip(),
                "role": m.role,
                "since": _time(m.created_at),
            }
            for m in members
        ],
        "scoring": {"method": "ACH weighted inconsistency", "formula": scores.formula},
        "hypotheses": _hypotheses(incident, hypotheses, scores),
        "evidence": _evidence(incident, scores),
        "assessments": _each(assessments, _assessment_document),
        "timeline": _each(timeline, _timeline_document),
        "annotations": _annotations(incident),
        **chronology_sections(incident),  # clocks[], chronology[]: incidents/chronology/export.py
    }


def _scores(incident: Incident, hypothesis_ids: list[int]) -> CaseScores:
    """``score_case`` in one query instead of three: the hypotheses are read
    already, and each matrix cell brings its item's grade. An item nobody has
    rated has no score (its weight comes from its own row)."""
    items: dict[int, Item] = {}
    cells = []
    rows = _matrix_rows.lazy(incident.pk)
    for item_id, hypothesis_id, rating, relevance, reliability, credibility in rows:
        if item_id not in items:
            items[item_id] = Item(item_id, reliability, credibility)
        cells.append(Cell(item_id, hypothesis_id, rating, relevance))
    return compute(hypothesis_ids, items.values(), cells)


def _each(
    rows: Iterable[Any], document: Callable[[Any], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """DOCUMENT of each of ROWS; the query runs when the first entry is asked for.

    (A generator expression would run it at once: Python evaluates the
    iterable of its first ``for`` when the expression is created.)
    """
    for row in rows:
        yield document(row)


def _assessment_document(a: Any) -> dict[str, Any]:
    return {
        "evidence_id": a.evidence_id,
        "hypothesis_id": a.hypothesis_id,
        "rating": a.rating,
        "relevance": a.relevance,
        "reason": a.reason,
        "author": a.author__username,
        "updated_at": _time(a.updated_at),
    }


AUTOMATIC_KINDS = frozenset(kind.value for kind in StatusUpdate.Kind if kind.is_automatic)


def _timeline_document(u: Any) -> dict[str, Any]:
    return {
        "id": u.id,
        "at": _time(u.created_at),
        "kind": u.kind,
        "automatic": u.kind in AUTOMATIC_KINDS,
        "author": u.author__username,
        "body": u.body,
        "hypothesis_id": u.hypothesis_id,
        "evidence_id": u.evidence_id,
        "tlp": u.tlp,
    }


def _grouped(rows: Iterable[Any], parent: str) -> dict[int, list[Any]]:
    """ROWS in their order, listed under their PARENT id (an attribute name).

    The export reads the child rows of a list this way rather than with
    ``prefetch_related``, in as many queries: a prefetch links every child
    back to its parent and hangs a queryset on the parent, reference cycles
    that only the garbage collector frees, so each list's rows would outlive
    their section of the document by several requests. Grouped rows are
    freed as soon as their section is written.
    """
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, parent)].append(row)
    return groups


def _collapsed(rows: Iterable[Any], many: str) -> Iterator[tuple[Any, list[Any]]]:
    """Each entry of ROWS once, with its values of the to-many field MANY.

    ROWS come from a query that joins a to-many relation: a row per related
    value, or a single row with None when there is none. The query orders by
    ``id`` before MANY, so the rows of an entry are adjacent and its values in
    order. This reads an entry and its related values in one query.
    """
    for _, same in itertools.groupby(rows, key=attrgetter("id")):
        entry = list(same)
        yield entry[0], [value for row in entry if (value := getattr(row, many)) is not None]


def _hypotheses(
    incident: Incident, hypotheses: list[Any], scores: CaseScores
) -> Iterator[dict[str, Any]]:
    """Each hypothesis with its confidence history and its moves.

    The evidence the moves cite comes with them, a row per (move, cited
    item) collapsed by ``_collapsed``: neither a query of its own nor a
    queryset for each move, about 2.5 kB, spent on moves that mostly cite
    nothing.
    """
    history = _grouped(
        _confidence_rows.lazy(incident.pk),
        "hypothesis_id",
    )
    rows = _move_rows.lazy(incident.pk)
    moves: dict[int, list[tuple[Any, list[int]]]] = defaultdict(list)
    for move, cited in _collapsed(rows, "cited_evidence"):
        moves[move.hypothesis_id].append((move, cited))
    for h in hypotheses:
        yield _hypothesis_document(h, scores, history[h.id], moves[h.id])


def _evidence(incident: Incident, scores: CaseScores) -> Iterator[dict[str, Any]]:
    custody = _grouped(
        _custody_rows.lazy(incident.pk),
        "item_id",
    )
    items = _evidence_rows.lazy(incident.pk)
    for item in items:
        yield _evidence_document(item, scores, custody[item.id])


def _annotations(incident: Incident) -> Iterator[dict[str, Any]]:
    """Each annotation with its tags: a row per (annotation, tag), collapsed.
    Each author's Agent is made once and shared by their annotations."""
    rows = _annotation_rows.lazy(incident.pk)
    agents: dict[int, dict[str, Any]] = {}
    for a, tags in _collapsed(rows, "tags__name"):
        creator = agents.get(a.author_id)
        if creator is None:
            name = f"{a.author__first_name} {a.author__last_name}".strip()
            creator = agents[a.author_id] = anno.agent(a.author_id, a.author__username, name)
        yield _annotation_document(a, incident, tags, creator)


def _hypothesis_document(
    h: Any,
    scores: CaseScores,
    history: list[Any],
    moves: list[tuple[Any, list[int]]],
) -> dict[str, Any]:
    score = scores.hypotheses[h.id]
    return {
        "id": h.id,
        "kind": h.kind,
        "statement": h.statement,
        "description": h.description,
        "status": h.status,
        "confidence": _band(h.confidence),
        "score": round(score.score, 6),
        "rank": score.rank,
        "rated_items": score.rated_items,
        "created_by": h.created_by__username,
        "created_at": _time(h.created_at),
        "updated_at": _time(h.updated_at),
        "confidence_history": [
            {
                "at": _time(c.created_at),
                "previous": c.previous,
                "band": c.band,
                "reason": c.reason,
                "author": c.author__username,
            }
            for c in history
        ],
        "moves": [
            {
                "at": _time(m.created_at),
                "from": m.from_status,
                "to": m.to_status,
                "rationale": m.rationale,
                "author": m.author__username,
                "cited_evidence": cited,
            }
            for m, cited in moves
        ],
    }


def _custody_head(custody: list[Any]) -> dict[str, Any] | None:
    """The last entry of the item's custody chain, followed link by link from the first:
    its place in the chain (1 for the first entry), hash and time (docs/export.md)."""
    following = {c.previous_hash: c for c in custody}
    head, sequence = None, 0
    while sequence < len(custody) and (entry := following.get(head.entry_hash if head else "")):
        head, sequence = entry, sequence + 1
    if head is None:
        return None
    return {"sequence": sequence, "entry_hash": head.entry_hash, "at": _time(head.at)}


def _evidence_document(item: Any, scores: CaseScores, custody: list[Any]) -> dict[str, Any]:
    score = scores.items.get(item.id)
    weight, _ = credibility_weight(item.reliability, item.credibility)
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "url": item.url or None,
        "grade": f"{item.reliability}{item.credibility}",
        "reliability": item.reliability,
        "credibility": item.credibility,
        "credibility_weight": round(weight, 6),
        "diagnosticity": round(score.diagnosticity, 6) if score else 0.0,
        "language": item.language,
        "text_body": item.text_body,
        "event_at": _time(item.event_at),
        "event_uncertainty_seconds": _seconds(item.event_uncertainty),
        "collected_at": _time(item.collected_at),
        "collected_by": item.collected_by__username,
        "obtained_from": item.obtained_from,
        "is_illustrative": item.is_illustrative,
        # Withdrawn: out of the matrix and the scores (no diagnosticity, no contribution).
        "withdrawn": item.withdrawn_at is not None,
        "withdrawal": (
            {
                "by": item.withdrawn_by__username,
                "at": _time(item.withdrawn_at),
                "reason": item.withdrawal_reason,
                "note": item.withdrawal_note,
            }
            if item.withdrawn_at is not None
            else None
        ),
        "tlp": item.tlp,
        "file": (
            {
                "original_name": item.original_name,
                "sha256": item.file_sha256,
                "size": item.file_size,
                "type": item.file_type,
            }
            if item.file
            else None
        ),
        "verification": {
            "status": item.verification,
            "last_verified_at": _time(item.last_verified_at),
        },
        "metadata": item.extracted_metadata,
        "custody": [
            {
                "at": _time(c.at),
                "action": c.action,
                "actor": c.actor__username,
                "reason": c.reason,
                "place": c.place,
                "recipient": c.recipient,
                "sha256": c.sha256,
                "previous_hash": c.previous_hash,
                "entry_hash": c.entry_hash,
            }
            for c in custody
        ],
        "custody_head": _custody_head(custody),
    }


def _annotation_document(
    a: Any, incident: Incident, tags: list[str], creator: dict[str, Any]
) -> dict[str, Any]:
    """A W3C Web Annotation (JSON-LD) as annotations.jsonld writes it, with
    ``urn:inquest:`` ids and our extensions under ``inquest:``."""
    urn = f"urn:inquest:{incident.reference}"
    source = f"{urn}:evidence:{a.item_id}"
    if a.region:
        target = anno.specific_resource(
            source,
            format=a.item__file_type,
            language=a.item__language,
            selector=anno.region_selectors(a.region),
        )
    else:
        target = anno.specific_resource(
            source,
            format=anno.text_format(a.item__file_type),
            language=a.item__language,
            selector=anno.text_selectors(
                a.quote_exact, a.quote_prefix, a.quote_suffix, a.position_start, a.position_end
            ),
        )
    assessment = None
    if a.stance and a.hypothesis_id is not None:
        assessment = (
            f"{a.stance}: {a.hypothesis__statement}",
            f"{urn}:hypothesis:{a.hypothesis_id}",
        )
    return {
        "@context": anno.ANNO_CONTEXT,
        **anno.web_annotation(
            id=f"{urn}:annotation:{a.id}",
            created=_time(a.created_at),
            modified=_time(a.updated_at),
            creator=creator,
            note=a.body,
            tags=tags,
            assessment=assessment,
            target=target,
        ),
        "inquest:evidence_id": a.item_id,
        "inquest:stance": a.stance or None,
        "inquest:hypothesis_id": a.hypothesis_id,
        "inquest:tlp": a.tlp,
    }


ENTRIES_PER_PIECE = 100
INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z


def _encode(value: Any) -> bytes:
    """VALUE as indented JSON (UTF-8), as ``json.dumps(value, indent=2)`` writes
    it; a time in UTC (``_time``) as ISO 8601 with ``Z``.

    orjson writes it several times faster than the standard library, whose C
    encoder does not indent. The two differ only in the exponent of very
    small or large floats (``5e-6`` for ``5e-06``): the same numbers. What
    orjson refuses (an integer beyond 64 bits in a file's free-form metadata)
    goes through the standard library instead.
    """
    try:
        return orjson.dumps(value, option=INDENTED)
    except orjson.JSONEncodeError:
        return json.dumps(value, indent=2, ensure_ascii=False, default=_utc_text).encode()


def _utc_text(value: Any) -> str:
    """A time as orjson writes it with ``OPT_UTC_Z``, for the standard library."""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def json_chunks(document: dict[str, Any]) -> Iterator[bytes]:
    """The text of ``_encode(document)``, in pieces of UTF-8.

    A value that is an iterator (a generator of list entries) is written as a
    list, ``ENTRIES_PER_PIECE`` entries at a time, so that only those entries
    are held (one encoder call per entry would cost more time). The text is
    the same as one ``_encode`` of the document with every iterator made a
    list: values are encoded by the same encoder and indented by their depth
    (JSON text has no newline inside a string, so every newline in an
    encoded value starts an indented line).
    """

    def at_depth(value: Any, depth: int) -> bytes:
        return _encode(value).replace(b"\n", b"\n" + b"  " * depth)

    if not document:
        yield b"{}"
        return
    separator = b"{\n  "
    for key, value in document.items():
        yield separator + _encode(key) + b": "
        separator = b",\n  "
        if not isinstance(value, Iterator):
            yield at_depth(value, 1)
            continue
        # A piece is written as a list at depth 1, "[\n    {…},\n    {…}\n  ]",
        # and joined to the others without its brackets.
        opening = b"["
        for piece in itertools.batched(value, ENTRIES_PER_PIECE):
            yield opening + at_depth(list(piece), 1).removeprefix(b"[").removesuffix(b"\n  ]")
            opening = b","
        yield b"[]" if opening == b"[" else b"\n  ]"
    yield b"\n}"


@require_GET
@never_cache
@login_required
def case_export(request: HttpRequest, reference: str) -> HttpResponse:
    """The whole case as JSON, as an attachment named <reference>.json."""
    access = get_case_for_user(request, reference)
    incident = access.incident
    files = list(
        EvidenceItem.objects.filter(incident=incident)
        .exclude(file="")
        .only("id", "file", "file_sha256")
    )
    record_exported(files, request.user)
    document = {
        "schema_version": SCHEMA_VERSION,
        "exported_at": _time(timezone.now()),
        "exported_by": request.user.get_username(),
        **case_document(incident),
    }
    # HttpResponse joins the pieces into one body as it is made: every query
    # has run and the response is complete before it leaves the view.
    response = HttpResponse(json_chunks(document), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}.json"'
    return response

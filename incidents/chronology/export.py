"""The chronology as data: the export's ``clocks[]`` and ``chronology[]`` (docs/export.md), and CSV.

Both read the chronology once (``chronicle.load``: five queries whatever its
size). Times are UTC; durations are seconds, to the millisecond.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from incidents.cases.models import Incident
from incidents.chronology.chronicle import Chronology, Entry, load
from incidents.chronology.intervals import UNBOUNDED, US


def seconds(value: int) -> int | float:
    """Microseconds as seconds: an integer when whole, else to the millisecond."""
    if value % US == 0:
        return value // US
    return round(value / US, 3)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def _time(value: int | None) -> dt.datetime | None:
    """A time in microseconds as an aware UTC datetime (the export writes it with
    ``Z``); None for an unknown or unbounded one."""
    if value is None or not -UNBOUNDED < value < UNBOUNDED:
        return None
    return _EPOCH + value * _MICROSECOND


def _window(bounds: tuple[int, int]) -> dict[str, Any]:
    return {"earliest": _time(bounds[0]), "latest": _time(bounds[1])}


def sections(incident: Incident) -> dict[str, Any]:
    """``clocks`` and ``chronology`` for the case's export document."""
    chronology = load(incident)
    return {"clocks": clocks_document(chronology), "chronology": chronology_document(chronology)}


def clocks_document(chronology: Chronology) -> list[dict[str, Any]]:
    items: dict[int, list[int]] = defaultdict(list)
    for entry in chronology.entries:
        if entry.type == "source" and entry.clock is not None and entry.id is not None:
            items[entry.clock.id].append(entry.id)
    return [
        {
            "id": c.id,
            "name": c.name,
            "kind": c.kind,
            "offset_seconds": seconds(c.offset),
            "offset_uncertainty_seconds": seconds(c.offset_uncertainty),
            "method": c.method,
            "time_zone": c.time_zone or None,
            "note": c.note,
            "evidence_ids": sorted(items[c.id]),
        }
        for c in chronology.clocks
    ]


def chronology_document(chronology: Chronology) -> list[dict[str, Any]]:
    stated: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in chronology.orderings:
        stated[o.a].append(
            {
                "id": o.id,
                "relation": o.relation,
                "other": o.b,
                "note": o.note,
                "contradicted": o.contradicted,
            }
        )
    said: dict[str, list[str]] = defaultdict(list)
    for c in chronology.contradictions:
        for key in c.entries:
            said[key].append(c.sentence)
    return [_entry_document(e, stated[e.key], said[e.key]) for e in chronology.entries]


def _entry_document(
    entry: Entry, constraints: list[dict[str, Any]], contradictions: list[str]
) -> dict[str, Any]:
    return {
        "id": entry.key,
        "type": entry.type,
        "evidence_id": entry.id if entry.type == "source" else None,
        "event_id": entry.id if entry.type == "event" else None,
        "title": entry.title,
        "description": entry.description,
        "clock_id": entry.clock.id if entry.clock else None,
        "recorded_start": _time(entry.recorded_start),
        "recorded_end": _time(entry.recorded_end),
        "recorded_uncertainty_seconds": seconds(entry.reading_uncertainty)
        if entry.uncertainty_stated
        else None,
        "offset_seconds": seconds(entry.offset),
        "offset_uncertainty_seconds": seconds(entry.offset_uncertainty),
        "corrected_start": _time(entry.corrected_start),
        "corrected_end": _time(entry.corrected_end),
        "uncertainty_seconds": seconds(entry.uncertainty),
        "window": _window(entry.start_window),
        "end_window": _window(entry.end_window) if entry.is_interval else None,
        "supporting_evidence": entry.sources,
        "constraints": constraints,
        "contradictions": contradictions,
        "is_illustrative": entry.illustrative,
    }


CSV_HEADER = (
    "entry",
    "type",
    "title",
    "clock_id",
    "clock",
    "recorded_start_utc",
    "recorded_end_utc",
    "recorded_uncertainty_s",
    "clock_offset_s",
    "clock_offset_uncertainty_s",
    "corrected_start_utc",
    "corrected_end_utc",
    "uncertainty_s",
    "earliest_utc",
    "latest_utc",
    "orderings",
    "contradiction",
    "supporting_sources",
)


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _iso(value: int | None) -> str:
    """ISO 8601 in UTC with ``Z``; empty for an unknown time."""
    if value is None or not -UNBOUNDED < value < UNBOUNDED:
        return ""
    return (_NAIVE_EPOCH + value * _MICROSECOND).isoformat() + "Z"


def csv_rows(chronology: Chronology) -> Iterator[tuple[Any, ...]]:
    yield CSV_HEADER
    stated: dict[str, list[str]] = defaultdict(list)
    for o in chronology.orderings:
        stated[o.a].append(f"{o.relation} {o.b}" + (" (contradicted)" if o.contradicted else ""))
    for e in chronology.entries:
        span = e.span
        yield (
            e.key,
            e.type,
            _cell(e.title),
            e.clock.id if e.clock else "",
            _cell(e.clock.name) if e.clock else "",
            _iso(e.recorded_start),
            _iso(e.recorded_end),
            seconds(e.reading_uncertainty) if e.uncertainty_stated else "",
            seconds(e.offset),
            seconds(e.offset_uncertainty),
            _iso(e.corrected_start),
            _iso(e.corrected_end),
            seconds(e.uncertainty),
            _iso(span[0]) if span else "",
            _iso(span[1]) if span else "",
            "; ".join(stated[e.key]),
            "yes" if e.conflict else "",
            " ".join(f"source:{pk}" for pk in e.sources),
        )

"""What the chronology page shows: the figure, the table's rows, the clocks, the orderings.

Built from a loaded ``Chronology`` and the query string (the range, the
table's page); no query of its own. Times are written here once, as text,
for the rows on the page only.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from incidents.chronology.chronicle import (
    MONTHS,
    Chronology,
    ClockRow,
    Entry,
    OrderingRow,
    ceil_second,
    floor_second,
    zone_label,
)
from incidents.chronology.figure import (
    PAGE_ROWS,
    Figure,
    Span,
    build_figure,
    chosen_span,
    entry_anchor,
    local_param,
)
from incidents.chronology.intervals import format_uncertainty, from_us
from incidents.params import parse_count


@dataclass(slots=True)
class Row:
    entry: Entry
    anchor: str
    type_label: str
    url: str
    corrected: str
    corrected_iso: str
    window: str
    recorded: str
    clock: str
    uncertainty_note: str
    sources: list[tuple[str, str]] = field(default_factory=list)
    edit_url: str = ""
    clock_url: str = ""
    order_url: str = ""


class IdUrls:
    """The URLs of a page's rows, reversed once each with a placeholder id:
    a hundred rows would otherwise reverse three hundred times."""

    MARK = "2147483647"

    def __init__(self, reference: str) -> None:
        self.reference = reference
        self.parts: dict[str, tuple[str, str]] = {}

    def __call__(self, name: str, pk: int | None) -> str:
        parts = self.parts.get(name)
        if parts is None:
            if name == "evidence:detail":
                path = reverse(name, args=[self.MARK])
            else:
                path = reverse(name, args=[self.reference, self.MARK])
            before, _, after = path.partition(self.MARK)
            parts = self.parts[name] = (before, after)
        return f"{parts[0]}{pk}{parts[1]}"


@dataclass(slots=True)
class OrderingLine:
    row: OrderingRow
    a: str
    b: str
    a_anchor: str
    b_anchor: str
    edit_url: str


class Writer:
    """Times as the page writes them, in the case's zone: the time alone when
    the whole chronology falls on one day, the day and month when it falls in
    one year, the full date otherwise. Windows are rounded outward to whole
    seconds."""

    def __init__(self, zone: zoneinfo.ZoneInfo, span: tuple[int, int] | None) -> None:
        self.zone = zone
        moments = [from_us(v).astimezone(zone) for v in span] if span else []
        days = {m.date() for m in moments}
        years = {m.year for m in moments}
        self.mode = "time" if len(days) == 1 else "day" if len(years) == 1 else "year"

    def _day(self, local: dt.datetime) -> str:
        day = f"{local.day} {MONTHS[local.month - 1]}"
        return f"{day} {local.year}" if self.mode == "year" else day

    def _clock(self, local: dt.datetime) -> str:
        text = f"{local:%H:%M:%S}"
        return text + (f".{local.microsecond // 1000:03d}" if local.microsecond else "")

    def at(self, value: int, zone: zoneinfo.ZoneInfo | None = None) -> str:
        local = from_us(value).astimezone(zone or self.zone)
        if self.mode == "time":
            return self._clock(local)
        return f"{self._day(local)} {self._clock(local)}"

    def between(self, start: int, end: int, zone: zoneinfo.ZoneInfo | None = None) -> str:
        """``27 Nov 20:14:05–20:14:26``: the end's date only when it differs."""
        first = from_us(start).astimezone(zone or self.zone)
        last = from_us(end).astimezone(zone or self.zone)
        if first.date() == last.date():
            return f"{self.at(start, zone)}–{self._clock(last)}"
        return f"{self.at(start, zone)} – {self.at(end, zone)}"

    def window(self, lo: int, hi: int) -> str:
        return self.between(floor_second(lo), ceil_second(hi))


SOURCE_KINDS: dict[str, str] = {}


def _kind_label(entry: Entry) -> str:
    if entry.type == "incident":
        return "Incident"
    if entry.type == "event":
        return "Event"
    if not SOURCE_KINDS:
        from incidents.evidence.models import EvidenceItem

        SOURCE_KINDS.update(dict(EvidenceItem.Kind.choices))
    return f"Source · {SOURCE_KINDS.get(entry.kind, entry.kind)}"


@dataclass
class ChronologyPage:
    chronology: Chronology
    can_write: bool
    params: Mapping[str, str]
    reference: str = ""
    span: Span | None = None
    whole: Span | None = None
    range_message: str = ""
    figure: Figure | None = None
    rows: list[Row] = field(default_factory=list)
    unknown: list[Row] = field(default_factory=list)
    in_range: int = 0
    page: int = 1
    pages: int = 1
    page_links: dict[str, str] = field(default_factory=dict)
    writer: Writer | None = None
    urls: IdUrls | None = None
    order_url: str = ""

    def __post_init__(self) -> None:
        chronology = self.chronology
        self.reference = chronology.incident.reference
        self.urls = IdUrls(self.reference)
        self.order_url = reverse("chronology:ordering_new", args=[self.reference])
        self.span, self.whole, self.range_message = chosen_span(chronology, self.params)
        self.writer = Writer(chronology.zone, chronology.bounds())
        dated = [e for e in chronology.entries if e.span is not None]
        if self.span is not None:
            span = self.span
            first, last = span.start, span.end
            shown = [e for e in dated if e.span[1] >= first and e.span[0] <= last]  # type: ignore[index]
        else:
            shown = []
        self.in_range = len(shown)
        self.pages = max(1, -(-len(shown) // PAGE_ROWS))
        self.page = min(parse_count(self.params.get("page", ""), maximum=10**6) or 1, self.pages)
        first = (self.page - 1) * PAGE_ROWS
        on_page = shown[first : first + PAGE_ROWS]
        index = {entry.key: i for i, entry in enumerate(shown)}
        queries: dict[int, str] = {}

        def href(entry: Entry) -> str:
            """Where a mark leads: its row, on this page of the table or another."""
            anchor = "#" + entry_anchor(entry)
            page = index[entry.key] // PAGE_ROWS + 1
            if page == self.page:
                return anchor
            if page not in queries:
                queries[page] = self._query(page=page)
            return queries[page] + anchor

        if self.span is not None:
            self.figure = build_figure(chronology, self.span, self.whole, shown, href)
        self.rows = [self._row(e) for e in on_page]
        self.unknown = [self._row(e) for e in chronology.entries if e.span is None]
        if self.page > 1:
            self.page_links["previous"] = self._query(page=self.page - 1)
        if self.page < self.pages:
            self.page_links["next"] = self._query(page=self.page + 1)

    # -- the query string --------------------------------------------------------------

    def _query(self, **changes: Any) -> str:
        params = {k: self.params[k] for k in ("from", "to") if self.params.get(k)}
        if not self.range_message and self.span is not None and params:
            zone = self.chronology.zone
            params = {
                "from": local_param(self.span.start, zone),
                "to": local_param(self.span.end, zone),
            }
        else:
            params = {}
        for key, value in changes.items():
            if value not in (None, 1):
                params[key] = str(value)
        return "?" + urlencode(params) if params else "?"

    @property
    def range_params(self) -> dict[str, str]:
        if self.span is None:
            return {"from": "", "to": ""}
        zone = self.chronology.zone
        return {
            "from": local_param(self.span.start, zone),
            "to": local_param(self.span.end, zone),
        }

    @property
    def zone_text(self) -> str:
        return zone_label(self.chronology.zone, self.chronology.incident.occurred_at)

    # -- rows ------------------------------------------------------------------------------

    def _row(self, entry: Entry) -> Row:
        writer = self.writer
        assert writer is not None
        u = format_uncertainty(entry.uncertainty)
        start, end = entry.corrected_start, entry.corrected_end
        if start is None:
            corrected, iso = "unknown", ""
        else:
            corrected = writer.at(start) if end is None else writer.between(start, end)
            if u:
                corrected += f" {u}"
            iso = from_us(start).isoformat()
        window = ""
        span = entry.span
        if span is not None and entry.tightened:
            window = writer.window(*span)
        recorded = "—"
        if entry.recorded_start is not None:
            clock_zone = entry.clock.zone if entry.clock else self.chronology.zone
            if entry.recorded_end is None:
                recorded = writer.at(entry.recorded_start, clock_zone)
            else:
                recorded = writer.between(entry.recorded_start, entry.recorded_end, clock_zone)
            spread = format_uncertainty(entry.reading_uncertainty)
            if spread:
                recorded += f" {spread}"
            if clock_zone != self.chronology.zone:
                recorded += f" ({clock_zone.key})"
        clock = "—"
        if entry.clock is not None:
            clock = f"{entry.clock.name}: {entry.clock.offset_text}"
            if entry.clock.uncertainty_text:
                clock += f" {entry.clock.uncertainty_text}"
        note = ""
        if entry.known and not entry.uncertainty_stated:
            note = "no uncertainty stated (taken as 0)"
        urls = self.urls
        assert urls is not None
        row = Row(
            entry=entry,
            anchor=entry_anchor(entry),
            type_label=_kind_label(entry),
            url=urls("evidence:detail", entry.id) if entry.type == "source" else "",
            corrected=corrected,
            corrected_iso=iso,
            window=window,
            recorded=recorded,
            clock=clock,
            uncertainty_note=note,
        )
        if entry.type == "event":
            row.sources = [
                (self.chronology.title_of(f"source:{pk}"), urls("evidence:detail", pk))
                for pk in entry.sources
            ]
            if self.can_write:
                row.edit_url = urls("chronology:event_edit", entry.id)
        if entry.type == "source" and self.can_write:
            row.clock_url = urls("chronology:source_clock", entry.id)
        if self.can_write:
            row.order_url = f"{self.order_url}?{urlencode({'a': entry.key})}"
        return row

    # -- the other sections ----------------------------------------------------------------

    @property
    def clocks(self) -> list[tuple[ClockRow, str]]:
        urls = self.urls
        assert urls is not None
        return [
            (c, urls("chronology:clock_edit", c.id) if self.can_write else "")
            for c in self.chronology.clocks
        ]

    @property
    def orderings(self) -> list[OrderingLine]:
        chronology = self.chronology
        urls = self.urls
        assert urls is not None
        lines = []
        for row in chronology.orderings:
            a, b = chronology.by_key.get(row.a), chronology.by_key.get(row.b)
            lines.append(
                OrderingLine(
                    row=row,
                    a="the incident" if row.a == "incident" else chronology.title_of(row.a),
                    b="the incident" if row.b == "incident" else chronology.title_of(row.b),
                    a_anchor=entry_anchor(a) if a else "",
                    b_anchor=entry_anchor(b) if b else "",
                    edit_url=urls("chronology:ordering_edit", row.id) if self.can_write else "",
                )
            )
        return lines

    @property
    def contradictions(self) -> list[tuple[str, list[tuple[str, str]]]]:
        chronology = self.chronology
        out = []
        for c in chronology.contradictions:
            links = []
            for key in c.entries:
                entry = chronology.by_key.get(key)
                if entry is not None:
                    links.append((entry.title, "#" + entry_anchor(entry)))
            out.append((c.sentence, links))
        return out

    def context(self) -> dict[str, Any]:
        return {"page": self, "chronology": self.chronology, "figure": self.figure}

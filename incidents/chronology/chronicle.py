"""A case's chronology: its entries with raw and corrected times, their windows, the contradictions.

``load(incident)`` reads the case's clocks, dated sources, events and
orderings in five queries (whatever their number), corrects every time by its
clock, propagates the orderings (``intervals.propagate``) and words each
contradiction. Rows are read as tuples (``values_list``), not model
instances: the heavy case has thousands of entries and the page, the CSV, the
export and the case page's summary all read them this way.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from django.db.models import BigIntegerField, Func, OuterRef, Q

from incidents.cases.models import Incident
from incidents.chronology.intervals import (
    UNBOUNDED,
    US,
    Conflict,
    Edge,
    Reading,
    after,
    duration_us,
    format_offset,
    format_uncertainty,
    from_us,
    propagate,
    quadrature,
    to_us,
)
from incidents.chronology.models import (
    INCIDENT_KEY,
    ChronologyEvent,
    Clock,
    OffsetMethod,
    OrderingConstraint,
    OrderingRelation,
    entry_key,
)


class Microseconds(Func):
    """A datetime (since the epoch) or a duration as whole microseconds,
    computed by the database: the heavy case's 10,000 times are read as
    integers, without a datetime made and converted for each.

    SQLite keeps a datetime as text, ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC
    (the whole seconds are read without the fraction, which ``unixepoch``
    would round through milliseconds), and a duration as an integer of
    microseconds already; PostgreSQL's
    ``EXTRACT(EPOCH …)`` is an exact numeric. ``tests/chronology/test_chronology.py``
    checks both against the ORM's values.
    """

    output_field = BigIntegerField()

    def __init__(self, expression: Any, *, duration: bool = False) -> None:
        super().__init__(expression)
        self.duration = duration

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        if self.duration:
            template = "%(expressions)s"
        else:
            template = (
                "(unixepoch(substr(%(expressions)s, 1, 19)) * 1000000"
                " + CAST(substr(%(expressions)s || '.000000', 21, 6) AS INTEGER))"
            )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Methods from the most to the least trusted, for "check this clock" hints.
_TRUST: dict[str, int] = {OffsetMethod.NTP: 0, OffsetMethod.EXIF: 1, OffsetMethod.KNOWN_EVENT: 2}


def time_words(moment: dt.datetime, zone: dt.tzinfo, *, date: bool = True) -> str:
    """``27 Nov 2024 20:14:05`` (or ``20:14:05`` without DATE) in ZONE; milliseconds when any."""
    local = moment.astimezone(zone)
    clock = f"{local:%H:%M:%S}"
    if local.microsecond:
        clock += f".{local.microsecond // 1000:03d}"
    if not date:
        return clock
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {clock}"


def floor_second(value: int) -> int:
    return value - value % US


def ceil_second(value: int) -> int:
    return value if value % US == 0 else value - value % US + US


def span_words(start: int, end: int, zone: dt.tzinfo) -> str:
    """``27 Nov 2024 20:05:00 – 20:35:00``, or with both dates when they differ;
    whole seconds, rounded outward."""
    first = from_us(floor_second(start)).astimezone(zone)
    last = from_us(ceil_second(end)).astimezone(zone)
    if first.date() == last.date():
        return f"{time_words(first, zone)} – {last:%H:%M:%S}"
    return f"{time_words(first, zone)} – {time_words(last, zone)}"


def zone_label(zone: zoneinfo.ZoneInfo, at: dt.datetime | None = None) -> str:
    """``Asia/Almaty (UTC+05:00)``."""
    moment = at or dt.datetime.now(dt.UTC)
    offset = moment.astimezone(zone).strftime("%z")
    sign, hours, minutes = offset[0], offset[1:3], offset[3:5]
    return f"{zone.key} (UTC{sign}{hours}:{minutes})"


@dataclass(slots=True)
class ClockRow:
    id: int
    name: str
    kind: str
    kind_label: str
    offset: int  # µs
    offset_uncertainty: int  # µs
    method: str
    method_label: str
    note: str
    time_zone: str
    zone: zoneinfo.ZoneInfo
    version: int
    sources: int = 0
    events: int = 0

    @property
    def offset_text(self) -> str:
        return format_offset(self.offset)

    @property
    def uncertainty_text(self) -> str:
        return format_uncertainty(self.offset_uncertainty)

    @property
    def trust(self) -> tuple[int, int]:
        """Larger is less trusted: by the offset's uncertainty, then by how it was found."""
        return self.offset_uncertainty, _TRUST.get(self.method, 3)


class Entry:
    """One line of the chronology: a source's event time, an event, or the incident.

    Times are microseconds since the epoch (UTC). The corrected times and the
    uncertainty are computed once, when the entry is made; the windows, the
    span and the sort key once the orderings are propagated (``_settle``).
    """

    __slots__ = (
        "clock",
        "conflict",
        "corrected_end",
        "corrected_start",
        "description",
        "end_point",
        "end_window",
        "id",
        "illustrative",
        "key",
        "kind",
        "reading_uncertainty",
        "recorded_end",
        "recorded_start",
        "sort_key",
        "sources",
        "span",
        "start_point",
        "start_window",
        "title",
        "type",
        "uncertainty",
        "uncertainty_stated",
        "version",
    )

    def __init__(
        self,
        key: str,
        type: str,
        id: int | None,
        title: str,
        kind: str,
        clock: ClockRow | None,
        recorded_start: int | None,
        recorded_end: int | None,
        reading_uncertainty: int,
        uncertainty_stated: bool,
        uncertainty: int | None = None,
        description: str = "",
        illustrative: bool = False,
        version: int = 0,
        sources: list[int] | None = None,
    ) -> None:
        self.key, self.type, self.id, self.title, self.kind = key, type, id, title, kind
        self.clock = clock
        self.recorded_start, self.recorded_end = recorded_start, recorded_end
        self.reading_uncertainty = reading_uncertainty
        self.uncertainty_stated = uncertainty_stated
        self.description, self.illustrative, self.version = description, illustrative, version
        self.sources = sources if sources is not None else []
        offset = clock.offset if clock is not None else 0
        self.corrected_start = None if recorded_start is None else recorded_start - offset
        self.corrected_end = None if recorded_end is None else recorded_end - offset
        if uncertainty is None:
            uncertainty = quadrature(reading_uncertainty, self.offset_uncertainty)
        self.uncertainty = uncertainty  # the corrected time's: reading and clock in quadrature
        self.start_point = self.end_point = -1
        # Windows after propagation, [lo, hi] of the start and of the end (µs).
        self.start_window = self.end_window = (-UNBOUNDED, UNBOUNDED)
        self.span: tuple[int, int] | None = None  # the whole extent to draw; None if unbounded
        self.sort_key: tuple[int, int, str] = (1, 0, key)
        self.conflict = False

    def __repr__(self) -> str:
        return f"<Entry {self.key} {self.title!r}>"

    @property
    def known(self) -> bool:
        return self.recorded_start is not None

    @property
    def is_interval(self) -> bool:
        return self.recorded_end is not None

    @property
    def offset(self) -> int:
        return self.clock.offset if self.clock else 0

    @property
    def offset_uncertainty(self) -> int:
        return self.clock.offset_uncertainty if self.clock else 0

    def reading(self, recorded: int) -> Reading:
        return Reading(recorded, self.reading_uncertainty, self.offset, self.offset_uncertainty)

    def window(self, corrected: int | None) -> tuple[int, int]:
        """corrected ± uncertainty; unbounded for an unknown time."""
        if corrected is None:
            return -UNBOUNDED, UNBOUNDED
        return corrected - self.uncertainty, corrected + self.uncertainty

    def _settle(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        self.start_window, self.end_window = start, end
        lo, hi = start[0], end[1]
        bounded = lo > -UNBOUNDED and hi < UNBOUNDED
        self.span = (lo, hi) if bounded else None
        if self.corrected_start is not None:
            self.sort_key = (0, self.corrected_start, self.key)
        elif bounded and start[1] < UNBOUNDED:
            self.sort_key = (0, (lo + start[1]) // 2, self.key)

    @property
    def tightened(self) -> bool:
        """Whether an ordering narrowed the window below the corrected ± uncertainty."""
        if self.corrected_start is None:
            return self.span is not None
        last = self.corrected_end if self.corrected_end is not None else self.corrected_start
        return self.start_window != self.window(self.corrected_start) or (
            self.end_window != self.window(last)
        )


@dataclass(slots=True)
class OrderingRow:
    id: int
    a: str
    relation: str
    b: str
    note: str
    version: int
    contradicted: bool = False

    @property
    def relation_label(self) -> str:
        return OrderingRelation(self.relation).label


@dataclass(slots=True)
class Contradiction:
    sentence: str
    entries: list[str]  # entry keys
    orderings: list[int]  # ids of the orderings left out
    clocks: list[str]  # names of the clocks worth checking


@dataclass(slots=True)
class Chronology:
    incident: Incident
    zone: zoneinfo.ZoneInfo
    clocks: list[ClockRow]
    entries: list[Entry]  # by corrected time; unknown times last
    orderings: list[OrderingRow]
    contradictions: list[Contradiction]
    by_key: dict[str, Entry]
    source_count: int = 0  # dated sources (in a summary: counted, not loaded)
    event_count: int = 0
    extent: tuple[int, int] | None = None

    @property
    def incident_entry(self) -> Entry:
        return self.by_key[INCIDENT_KEY]

    def bounds(self) -> tuple[int, int] | None:
        """The earliest and latest time of every entry that has a bounded span."""
        return self.extent

    def title_of(self, key: str) -> str:
        entry = self.by_key.get(key)
        return entry.title if entry else "(removed)"


# -- reading the case ---------------------------------------------------------------------


def _clock_rows(incident: Incident) -> list[ClockRow]:
    kinds = dict(Clock.Kind.choices)
    methods = dict(Clock.Method.choices)
    rows = Clock.objects.filter(incident=incident).values_list(
        "id",
        "name",
        "kind",
        Microseconds("offset", duration=True),
        Microseconds("offset_uncertainty", duration=True),
        "method",
        "note",
        "time_zone",
        "version",
    )
    case_zone = incident.zone
    return [
        ClockRow(
            id=pk,
            name=name,
            kind=kind,
            kind_label=kinds.get(kind, kind),
            offset=offset,
            offset_uncertainty=spread,
            method=method,
            method_label=methods.get(method, method),
            note=note,
            time_zone=zone_name,
            zone=zoneinfo.ZoneInfo(zone_name) if zone_name else case_zone,
            version=version,
        )
        for pk, name, kind, offset, spread, method, note, zone_name, version in rows
    ]


def _ordering_rows(incident: Incident) -> list[OrderingRow]:
    rows = OrderingConstraint.objects.filter(incident=incident).values_list(
        "id", "a_item_id", "a_event_id", "relation", "b_item_id", "b_event_id", "note", "version"
    )
    return [
        OrderingRow(pk, entry_key(ai, ae), relation, entry_key(bi, be), note, version)
        for pk, ai, ae, relation, bi, be, note, version in rows
    ]


def _named(orderings: list[OrderingRow], kind: str) -> list[int]:
    """The ids of the sources (KIND "source") or events ("event") the orderings name."""
    prefix = kind + ":"
    return sorted({int(k[len(prefix) :]) for o in orderings for k in (o.a, o.b) if k[0] == kind[0]})


def _source_rows(
    incident: Incident, named: list[int], *, named_only: bool = False
) -> Iterable[tuple[Any, ...]]:
    """The sources with an event time, and those an ordering names (NAMED: dated or not)."""
    from incidents.evidence.models import EvidenceItem

    wanted = Q(pk__in=named) if named_only else Q(event_at__isnull=False) | Q(pk__in=named)
    return (
        EvidenceItem.objects.filter(incident=incident)
        .filter(wanted)
        .order_by()
        .values_list(
            "id",
            "title",
            "kind",
            Microseconds("event_at"),
            Microseconds("event_uncertainty", duration=True),
            "clock_id",
            "is_illustrative",
            "version",
        )
    )


def _event_rows(incident: Incident, *, where: Q | None = None) -> list[tuple[Any, ...]]:
    events = ChronologyEvent.objects.filter(incident=incident).order_by("start_at", "id")
    if where is not None:
        events = events.filter(where)
    return list(
        events.values_list(
            "id",
            "title",
            "description",
            Microseconds("start_at"),
            Microseconds("end_at"),
            Microseconds("uncertainty", duration=True),
            "clock_id",
            "version",
        )
    )


def _event_sources(incident: Incident) -> dict[int, list[int]]:
    through = ChronologyEvent.sources.through
    cited: dict[int, list[int]] = defaultdict(list)
    rows = (
        through.objects.filter(chronologyevent__incident=incident)
        .order_by("chronologyevent_id", "evidenceitem_id")
        .values_list("chronologyevent_id", "evidenceitem_id")
    )
    for event_id, item_id in rows:
        cited[event_id].append(item_id)
    return cited


def load(incident: Incident) -> Chronology:
    """The whole chronology of INCIDENT, in five queries."""
    clocks = _clock_rows(incident)
    orderings = _ordering_rows(incident)
    sources = list(_source_rows(incident, _named(orderings, "source")))
    events = _event_rows(incident)
    cited = _event_sources(incident) if events else {}
    chronology = _build(incident, clocks, sources, events, cited, orderings)
    chronology.source_count = sum(1 for e in chronology.entries if e.type == "source" and e.known)
    chronology.event_count = len(events)
    return chronology


def load_summary(incident: Incident, key_events: int = 8) -> Chronology:
    """What the case page's summary needs, without reading every entry.

    Only the entries an ordering names can be in a contradiction or have
    their window narrowed, so only they are read (with the incident and the
    first KEY_EVENTS events); the numbers of dated sources and events are
    counted. At most five queries, whatever the size of the case (four
    when nothing is ordered, three when there is no event either).
    """
    from incidents.evidence.models import EvidenceItem

    counts = (
        Incident.objects.filter(pk=incident.pk)
        .order_by()
        .values_list(
            _count_of(EvidenceItem.objects.filter(event_at__isnull=False)),
            _count_of(ChronologyEvent.objects.all()),
        )
        .first()
    ) or (0, 0)
    clocks = _clock_rows(incident)
    orderings = _ordering_rows(incident)
    event_ids = _named(orderings, "event")
    named = _named(orderings, "source")
    sources = list(_source_rows(incident, named, named_only=True)) if named else []
    events: list[tuple[Any, ...]] = []
    if counts[1]:
        first = ChronologyEvent.objects.filter(incident=incident).order_by("start_at", "id")
        wanted = Q(pk__in=first.values("pk")[:key_events]) | Q(pk__in=event_ids)
        events = _event_rows(incident, where=wanted)
    chronology = _build(incident, clocks, sources, events, {}, orderings)
    chronology.source_count, chronology.event_count = counts
    return chronology


def _count_of(queryset: Any) -> Any:
    from django.db.models import Count, IntegerField, Subquery
    from django.db.models.functions import Coalesce

    counted = (
        queryset.filter(incident=OuterRef("pk"))
        .order_by()
        .values("incident")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _build(
    incident: Incident,
    clocks: list[ClockRow],
    sources: Iterable[tuple[Any, ...]],
    events: Iterable[tuple[Any, ...]],
    cited: dict[int, list[int]],
    orderings: list[OrderingRow],
) -> Chronology:
    """The entries of the rows read (times in microseconds), corrected, then propagated."""
    by_clock = {c.id: c for c in clocks}
    spreads: dict[tuple[int, int], int] = {}  # quadrature, once per pair of uncertainties

    def spread(reading: int, clock: ClockRow | None) -> int:
        pair = (reading, clock.offset_uncertainty if clock is not None else 0)
        value = spreads.get(pair)
        if value is None:
            value = spreads[pair] = quadrature(*pair)
        return value

    entries: list[Entry] = []
    add = entries.append
    for pk, title, kind, at, reading, clock_id, illustrative, version in sources:
        clock = by_clock.get(clock_id) if clock_id else None
        if clock is not None and at is not None:
            clock.sources += 1
        add(
            Entry(
                f"source:{pk}",
                "source",
                pk,
                title,
                kind,
                clock,
                at,
                None,
                reading or 0,
                reading is not None,
                spread(reading or 0, clock),
                "",
                illustrative,
                version,
            )
        )
    for pk, title, description, start, end, reading, clock_id, version in events:
        clock = by_clock.get(clock_id) if clock_id else None
        if clock is not None:
            clock.events += 1
        add(
            Entry(
                f"event:{pk}",
                "event",
                pk,
                title,
                "event",
                clock,
                start,
                end,
                reading,
                True,
                spread(reading, clock),
                description,
                False,
                version,
                cited.get(pk),
            )
        )
    occurred = incident.occurred_at
    add(
        Entry(
            key=INCIDENT_KEY,
            type="incident",
            id=None,
            title="The incident",
            kind="incident",
            clock=None,
            recorded_start=to_us(occurred) if occurred else None,
            recorded_end=None,
            reading_uncertainty=duration_us(incident.occurred_uncertainty),
            uncertainty_stated=incident.occurred_uncertainty is not None,
        )
    )
    by_key = {e.key: e for e in entries}
    contradictions = _propagate(entries, by_key, orderings, incident.zone)
    entries.sort(key=attrgetter("sort_key"))
    spans = [e.span for e in entries if e.span is not None]
    chronology = Chronology(
        incident=incident,
        zone=incident.zone,
        clocks=clocks,
        entries=entries,
        orderings=orderings,
        contradictions=contradictions,
        by_key=by_key,
        extent=(min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None,
    )
    mark_conflicts(chronology)
    return chronology


# -- propagation and contradictions ----------------------------------------------------------


def _propagate(
    entries: list[Entry],
    by_key: dict[str, Entry],
    orderings: list[OrderingRow],
    zone: zoneinfo.ZoneInfo,
) -> list[Contradiction]:
    """Each entry's points (a moment one, an interval two) with their windows,
    the orderings as edges between them, and the windows propagated."""
    lo: list[int] = []
    hi: list[int] = []
    owner: list[Entry] = []  # the entry of each point (an interval's end: its end_point)
    edges: list[Edge] = []
    add_lo, add_hi, add_owner = lo.append, hi.append, owner.append
    for entry in entries:
        u = entry.uncertainty
        at = entry.corrected_start
        entry.start_point = entry.end_point = len(lo)
        if at is None:
            add_lo(-UNBOUNDED)
            add_hi(UNBOUNDED)
        else:
            add_lo(at - u)
            add_hi(at + u)
        add_owner(entry)
        end = entry.corrected_end
        if end is not None:
            entry.end_point = len(lo)
            add_lo(end - u)
            add_hi(end + u)
            add_owner(entry)
            edges.append(Edge(entry.end_point, entry.start_point, 0))  # start not after end
    for ordering in orderings:
        a, b = by_key.get(ordering.a), by_key.get(ordering.b)
        if a is None or b is None:
            continue
        if ordering.relation == OrderingRelation.AFTER:
            edges.append(after(a.start_point, b.end_point, ordering.id))
        elif ordering.relation == OrderingRelation.BEFORE:
            edges.append(after(b.start_point, a.end_point, ordering.id))
        else:  # during: within b, from its start to its end
            edges.append(after(a.start_point, b.start_point, ordering.id))
            edges.append(after(b.end_point, a.end_point, ordering.id))
    result = propagate(lo, hi, edges)
    low_bounds, high_bounds = result.lo, result.hi
    for entry in entries:
        start, end = entry.start_point, entry.end_point
        window = (low_bounds[start], high_bounds[start])
        entry._settle(window, window if end == start else (low_bounds[end], high_bounds[end]))
    by_id = {o.id: o for o in orderings}
    contradictions = [_word(c, owner, by_id, by_key, zone) for c in result.conflicts]
    for ordering_id in result.dropped:
        by_id[ordering_id].contradicted = True  # type: ignore[index]
    return contradictions


def _point_words(entry: Entry, end: str, zone: zoneinfo.ZoneInfo, date: bool) -> str:
    if entry.type == "incident":
        name = "the incident"
    elif entry.is_interval:
        name = f"the {end} of “{entry.title}”"
    else:
        name = f"“{entry.title}”"
    recorded = entry.recorded_start if end == "start" else entry.recorded_end
    if recorded is None:
        return name
    when = time_words(from_us(recorded - entry.offset), zone, date=date)
    spread = format_uncertainty(entry.uncertainty)
    return f"{name} at {when}{' ' + spread if spread else ''}"


def _word(
    conflict: Conflict,
    owner: list[Entry],
    orderings: dict[int, OrderingRow],
    by_key: dict[str, Entry],
    zone: zoneinfo.ZoneInfo,
) -> Contradiction:
    """The contradiction in a sentence: what is after what, what was stated, what to check."""
    later, earlier = owner[conflict.point], owner[conflict.origin]
    later_end = "end" if conflict.point != later.start_point else "start"
    earlier_end = "end" if conflict.origin != earlier.start_point else "start"
    involved = list(dict.fromkeys(owner[p].key for p in conflict.points))
    times = [e.corrected_start for e in (later, earlier) if e.corrected_start is not None]
    days = {from_us(t).astimezone(zone).date() for t in times}
    date = len(days) > 1
    first = _point_words(later, later_end, zone, date)
    second = _point_words(earlier, earlier_end, zone, date)
    stated = []
    for tag in conflict.tags:
        ordering = orderings.get(tag)  # type: ignore[call-overload]
        if ordering is not None:
            stated.append(
                f"“{_title(by_key, ordering.a)}” {ordering.relation_label} "
                f"“{_title(by_key, ordering.b)}”"
            )
    sentence = f"{first[0].upper()}{first[1:]} is after {second}"
    if stated:
        sentence += ", yet the ordering says " + "; and ".join(stated)
    else:
        sentence += ", yet an interval cannot end before it starts"
    found = {c.id: c for k in involved if (c := by_key[k].clock) is not None}
    clocks = sorted(found.values(), key=lambda c: c.trust, reverse=True)
    if clocks:
        sentence += f": check the clock “{clocks[0].name}”."
    else:
        sentence += ": check the stated times and the ordering."
    return Contradiction(
        sentence=sentence,
        entries=involved,
        orderings=[t for t in conflict.tags if isinstance(t, int)],
        clocks=[c.name for c in clocks[:1]],
    )


def _title(by_key: dict[str, Entry], key: str) -> str:
    entry = by_key.get(key)
    if entry is None:
        return "(removed)"
    return "the incident" if entry.type == "incident" else entry.title


def entry_titles(incident_id: int, keys: Sequence[str]) -> dict[str, str]:
    """The titles of the entries KEYS (for the activity log's sentences)."""
    from incidents.evidence.models import EvidenceItem

    items = [int(k.split(":")[1]) for k in keys if k.startswith("source:")]
    events = [int(k.split(":")[1]) for k in keys if k.startswith("event:")]
    titles = {INCIDENT_KEY: "the incident"}
    if items:
        titles.update(
            (f"source:{pk}", title)
            for pk, title in EvidenceItem.objects.filter(
                incident_id=incident_id, pk__in=items
            ).values_list("id", "title")
        )
    if events:
        titles.update(
            (f"event:{pk}", title)
            for pk, title in ChronologyEvent.objects.filter(
                incident_id=incident_id, pk__in=events
            ).values_list("id", "title")
        )
    return {k: titles.get(k, "(removed)") for k in keys}


def mark_conflicts(chronology: Chronology) -> None:
    for contradiction in chronology.contradictions:
        for key in contradiction.entries:
            entry = chronology.by_key.get(key)
            if entry is not None:
                entry.conflict = True

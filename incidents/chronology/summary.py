"""The case page's short summary of the chronology (``templates/chronology/summary.jinja``).

``case_summary(incident)`` computes what the macro ``chronology_summary``
draws, from ``chronicle.load_summary``: at most five queries whatever the
size of the case, reading only the entries an ordering names and the first
events (every contradiction and the incident's narrowed window come from
those alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from incidents.cases.models import Incident
from incidents.chronology.chronicle import (
    ceil_second,
    floor_second,
    load_summary,
    time_words,
    zone_label,
)
from incidents.chronology.figure import entry_anchor
from incidents.chronology.intervals import format_uncertainty, from_us

MOMENTS = 6


@dataclass(frozen=True, slots=True)
class Moment:
    when: str
    iso: str
    title: str
    href: str
    conflict: bool


@dataclass(slots=True)
class Summary:
    url: str
    csv_url: str
    zone: str
    sources: int
    events: int
    clocks: int
    orderings: int
    incident: str  # the incident's time, corrected window, or ""
    narrowed: bool
    contradictions: list[str] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.sources or self.events or self.incident)


def case_summary(incident: Incident, moments: int = MOMENTS) -> Summary:
    """What ``chronology_summary(summary)`` shows for INCIDENT."""
    chronology = load_summary(incident, key_events=moments)
    zone = chronology.zone
    url = reverse("chronology:page", args=[incident.reference])
    entry = chronology.incident_entry
    text = ""
    if entry.corrected_start is not None:
        text = time_words(from_us(entry.corrected_start), zone)
        spread = format_uncertainty(entry.uncertainty)
        text += f" {spread}" if spread else ""
    span = entry.span
    narrowed = entry.tightened and span is not None
    if narrowed and span is not None:
        text = (
            f"between {time_words(from_us(floor_second(span[0])), zone)} and "
            f"{time_words(from_us(ceil_second(span[1])), zone, date=False)}"
        )
    shown = [e for e in chronology.entries if e.type == "event" and e.known][:moments]
    return Summary(
        url=url,
        csv_url=reverse("chronology:csv", args=[incident.reference]),
        zone=zone_label(zone, incident.occurred_at),
        sources=chronology.source_count,
        events=chronology.event_count,
        clocks=len(chronology.clocks),
        orderings=len(chronology.orderings),
        incident=text,
        narrowed=narrowed,
        contradictions=[c.sentence for c in chronology.contradictions],
        moments=[
            Moment(
                when=time_words(from_us(e.corrected_start), zone),  # type: ignore[arg-type]
                iso=from_us(e.corrected_start).isoformat(),  # type: ignore[arg-type]
                title=e.title,
                href=f"{url}#{entry_anchor(e)}",
                conflict=e.conflict,
            )
            for e in shown
        ],
    )

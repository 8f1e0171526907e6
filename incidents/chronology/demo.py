"""The demo case's chronology (``manage.py load_demo`` calls ``add_demo_chronology``).

Four clocks: the operator's log server (checked against NTP), two bystander
phones (phone A runs four minutes fast, found against a known event; phone
B's offset is not established yet) and a witness's estimate. Events read off
the log and the two videos, and the orderings the investigators state. Phone
B's clip puts the flag before the override that showed it: the one
contradiction left to resolve (establish phone B's offset). Everything here
is invented for the demo and says so, as the demo's illustrative sources do.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from incidents.cases.models import Incident
from incidents.chronology.models import ChronologyEvent, Clock, OrderingConstraint

ZONE = zoneinfo.ZoneInfo("Asia/Almaty")
ILLUSTRATIVE = "Illustrative: written for the Inquest demo, not public record. "


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE)


def seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


CLOCKS: dict[str, dict[str, Any]] = {
    "server": {
        "name": "Operator's log server",
        "kind": Clock.Kind.SERVER,
        "offset": seconds(0),
        "offset_uncertainty": seconds(2),
        "method": Clock.Method.NTP,
        "note": ILLUSTRATIVE + "The operator's IT department compared the server's clock "
        "with NTP when it handed the extract over: within two seconds. The extract's times "
        "are local (+05).",
    },
    "phone-a": {
        "name": "Phone A (first bystander video)",
        "kind": Clock.Kind.PHONE,
        "offset": seconds(4 * 60 + 10),
        "offset_uncertainty": seconds(5),
        "method": Clock.Method.KNOWN_EVENT,
        "note": ILLUSTRATIVE + "Its earlier clip shows the playlist change that the log "
        "puts at 20:02:11; the phone stamped it 20:06:21. The phone runs 4 min 10 s fast.",
    },
    "phone-b": {
        "name": "Phone B (second bystander video)",
        "kind": Clock.Kind.PHONE,
        "offset": seconds(0),
        "offset_uncertainty": seconds(60),
        "method": Clock.Method.OTHER,
        "note": ILLUSTRATIVE + "Not checked yet: taken as right, give or take a minute. "
        "To do: compare it with a known event (the clip's first seconds show the screen).",
    },
    "witness": {
        "name": "Witness A's estimate",
        "kind": Clock.Kind.WITNESS_ESTIMATE,
        "offset": seconds(0),
        "offset_uncertainty": seconds(5 * 60),
        "method": Clock.Method.OTHER,
        "note": ILLUSTRATIVE + "“Around quarter past eight”, from memory; no watch checked.",
    },
}

# key: (title, start, end or None, ± seconds, clock key, source kinds, description)
EVENTS: dict[str, tuple[str, str, str | None, float, str, tuple[str, ...], str]] = {
    "sign-in": (
        "Account op-07 signs in on workstation WS-3",
        "2024-11-27T20:13:48",
        None,
        1,
        "server",
        ("log_extract",),
        "From the operator log extract.",
    ),
    "override": (
        "Manual override: the flag on the screen",
        "2024-11-27T20:14:05",
        "2024-11-27T20:14:26",
        1,
        "server",
        ("log_extract",),
        "The log's manual playlist override by op-07 inserted custom-0412.png; the "
        "playlist resumed 20 s later.",
    ),
    "phone-a": (
        "Flag first seen in phone A's video",
        "2024-11-27T20:18:16",
        None,
        1,
        "phone-a",
        ("video",),
        "The first frame showing the flag, by the phone's own time stamp.",
    ),
    "phone-b": (
        "Flag first seen in phone B's video",
        "2024-11-27T20:11:40",
        None,
        1,
        "phone-b",
        ("video",),
        "The first frame showing the flag, by the phone's own time stamp.",
    ),
    "dark": (
        "Screen output disabled by the supervisor",
        "2024-11-27T20:31:02",
        None,
        1,
        "server",
        ("log_extract",),
        "From the operator log extract.",
    ),
}

# (a: event key, "source:<kind>" or "incident"; relation; b; why)
ORDERINGS: tuple[tuple[str, str, str, str], ...] = (
    ("phone-a", "during", "override", "Phone A's clip shows the flag while the override ran."),
    ("phone-b", "during", "override", "Phone B's clip shows the same flag, so the same override."),
    ("incident", "during", "override", "The flag on the screen is the incident itself."),
    ("source:social_media_post", "after", "override", "The post refers to the flag shown."),
)


def add_demo_chronology(incident: Incident, users: dict[str, Any]) -> None:
    """Clocks, events and orderings of the demo case, through the models' methods."""
    lead, investigator = users["lead"], users["investigator"]
    items = {item.kind: item for item in incident.evidence.order_by("id")}
    clocks: dict[str, Clock] = {}
    for key, fields in CLOCKS.items():
        sources = []
        if key == "server":
            sources = [items["log_extract"]]
        elif key == "witness":
            sources = [items["witness_statement"]]
        clocks[key] = Clock.add(incident, by=investigator, sources=sources, **fields)
    events: dict[str, ChronologyEvent] = {}
    for key, (title, start, end, spread, clock, kinds, text) in EVENTS.items():
        events[key] = ChronologyEvent.add(
            incident,
            by=investigator,
            sources=[items[kind] for kind in kinds],
            title=title,
            description=ILLUSTRATIVE + text,
            start_at=local(start),
            end_at=local(end) if end else None,
            uncertainty=seconds(spread),
            clock=clocks[clock],
        )

    def entry(key: str) -> str:
        if key == "incident":
            return key
        if key.startswith("source:"):
            return f"source:{items[key.split(':', 1)[1]].pk}"
        return f"event:{events[key].pk}"

    for a, relation, b, note in ORDERINGS:
        OrderingConstraint.state(
            incident, by=lead, a=entry(a), relation=relation, b=entry(b), note=note
        )

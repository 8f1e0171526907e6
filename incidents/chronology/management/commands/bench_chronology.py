"""``manage.py bench_chronology``: the heavy case's chronology, timed (docs/performance.md).

Builds a throwaway case in the configured database, inside a transaction
that is rolled back at the end (nothing is left behind): by default 2,000
sources with event times on 12 clocks and 3,000 events (every fourth an
interval, each citing a source): 5,000 entries with the incident; 300
orderings drawn from a true timeline, so they hold, and one that does not
(one contradiction). Then it times, in this process, what a request does
(the page, a zoom, the htmx zoom, the CSV, the export's sections, the case
page's summary), each ``--runs`` times, and prints the median and the
slowest, the queries, and the size of the page and of its SVG.

    manage.py bench_chronology                 # SQLite file of DATABASE_URL
    .ci/with-postgres manage.py bench_chronology
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import random
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.cases.models import Incident
from incidents.chronology import chronicle
from incidents.chronology.export import sections
from incidents.chronology.models import ChronologyEvent, Clock, OrderingConstraint
from incidents.chronology.summary import case_summary

START = dt.datetime(2024, 11, 27, 14, 0, tzinfo=dt.UTC)
SVG = re.compile(rb'<svg class="chrono-svg".*?</svg>', re.S)


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the heavy case's chronology (built in a transaction, rolled back)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sources", type=int, default=2000)
        parser.add_argument("--events", type=int, default=3000)
        parser.add_argument("--orderings", type=int, default=300)
        parser.add_argument("--clocks", type=int, default=12)
        parser.add_argument("--runs", type=int, default=7)
        parser.add_argument("--seed", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        load = os.getloadavg()[0]
        self.stdout.write(f"Load average at the start: {load:.2f} ({os.cpu_count()} CPUs).")
        try:
            with transaction.atomic():
                self.run(options)
                raise Rollback
        except Rollback:
            self.stdout.write("Rolled back: nothing was kept.")
        self.stdout.write(f"Load average at the end: {os.getloadavg()[0]:.2f}.")

    def run(self, options: dict[str, Any]) -> None:
        rng = random.Random(options["seed"])
        began = time.perf_counter()
        incident, user = build(rng, options)
        self.stdout.write(
            f"Built {options['sources']:,} sources, {options['events']:,} events, "
            f"{options['orderings']:,} orderings on {options['clocks']} clocks "
            f"in {time.perf_counter() - began:.1f} s ({connection.vendor})."
        )
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        # The garbage collector as a worker runs it (incidents/wsgi.py): what was
        # loaded before the first request frozen.
        client.get(reverse("chronology:page", args=[incident.reference]))
        gc.collect()
        gc.freeze()
        page = reverse("chronology:page", args=[incident.reference])
        zoom = page + "?from=2024-11-27T20:00:00&to=2024-11-27T20:30:00"
        csv = reverse("chronology:csv", args=[incident.reference])
        htmx = {"HX-Request": "true", "HX-Target": "chronology-view"}
        loaded = chronicle.load(incident)
        self.stdout.write(
            f"{len(loaded.entries):,} entries, {len(loaded.contradictions)} contradiction(s)."
        )
        rows = [
            ("load + propagate (no page)", lambda: chronicle.load(incident)),
            ("page, whole chronology", lambda: self.get(client, page)),
            ("page, 30 min zoom", lambda: self.get(client, zoom)),
            ("htmx zoom (view alone)", lambda: self.get(client, zoom, htmx)),
            ("CSV", lambda: self.get(client, csv)),
            ("export sections", lambda: sections(incident)),
            ("case page summary", lambda: case_summary(incident)),
        ]
        self.stdout.write(
            f"{'what':32} {'median':>9} {'slowest':>9} {'CPU':>9} {'queries':>8} {'bytes':>10}"
        )
        for name, call in rows:
            self.measure(name, call, options["runs"])
        body = client.get(page).content
        svg = SVG.search(body)
        zoomed = SVG.search(client.get(zoom).content)
        self.stdout.write(
            f"SVG: {len(svg.group(0)) if svg else 0:,} bytes whole, "
            f"{len(zoomed.group(0)) if zoomed else 0:,} bytes zoomed; page {len(body):,} bytes."
        )

    def get(self, client: Client, path: str, headers: dict[str, str] | None = None) -> Any:
        response = client.get(path, headers=headers or {})
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
        return response

    def measure(self, name: str, call: Callable[[], Any], runs: int) -> None:
        call()  # warm: templates compiled, the connection's statements prepared
        times, cpu = [], []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                began, began_cpu = time.perf_counter(), time.process_time()
                result = call()
                times.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
        size = len(result.content) if hasattr(result, "content") else 0
        self.stdout.write(
            f"{name:32} {statistics.median(times):7.1f}ms {max(times):7.1f}ms "
            f"{statistics.median(cpu):7.1f}ms {len(queries):>8} {size:>10,}"
        )


def build(rng: random.Random, options: dict[str, Any]) -> tuple[Incident, Any]:
    """The heavy case: true times, clocks with offsets, readings within their uncertainties."""
    from incidents.evidence.models import EvidenceItem

    user = get_user_model().objects.create(username=f"bench-chronology-{rng.random():.9f}")
    incident = Incident.open_case(
        by=user,
        title="Chronology benchmark",
        time_zone="Asia/Almaty",
        occurred_at=START + dt.timedelta(minutes=20),
        occurred_uncertainty=dt.timedelta(minutes=10),
    )
    clocks = Clock.objects.bulk_create(
        Clock(
            incident=incident,
            name=f"Clock {i}",
            kind=Clock.Kind.PHONE,
            offset=dt.timedelta(seconds=rng.randint(-300, 300)),
            offset_uncertainty=dt.timedelta(seconds=rng.randint(1, 30)),
            created_by=user,
        )
        for i in range(options["clocks"])
    )
    span = 6 * 3600  # the sources' events fall within six hours

    def reading(true: dt.datetime, clock: Clock | None) -> dt.datetime:
        return true + (clock.offset if clock else dt.timedelta(0))

    truths: list[tuple[str, dt.datetime]] = []
    items = []
    for i in range(options["sources"]):
        true = START + dt.timedelta(seconds=rng.uniform(0, span))
        clock = rng.choice(clocks) if i % 5 else None
        items.append(
            EvidenceItem(
                incident=incident,
                kind=EvidenceItem.Kind.VIDEO,
                title=f"Source {i}: a bystander's clip",
                url=f"https://example.org/{i}",
                event_at=reading(true, clock),
                event_uncertainty=dt.timedelta(seconds=rng.choice([1, 5, 30, 120])),
                clock=clock,
                collected_by=user,
            )
        )
    items = EvidenceItem.objects.bulk_create(items)
    for item in items:
        assert item.event_at is not None
        offset = item.clock.offset if item.clock else dt.timedelta(0)
        truths.append((f"source:{item.pk}", item.event_at - offset))
    events = []
    for i in range(options["events"]):
        true = START + dt.timedelta(seconds=rng.uniform(0, span))
        clock = rng.choice(clocks) if i % 3 else None
        start = reading(true, clock)
        events.append(
            ChronologyEvent(
                incident=incident,
                title=f"Event {i}: something seen",
                start_at=start,
                end_at=start + dt.timedelta(seconds=rng.randint(5, 600)) if i % 4 == 0 else None,
                uncertainty=dt.timedelta(seconds=rng.choice([1, 2, 10])),
                clock=clock,
                created_by=user,
            )
        )
    events = ChronologyEvent.objects.bulk_create(events)
    through = ChronologyEvent.sources.through
    through.objects.bulk_create(
        through(chronologyevent_id=event.pk, evidenceitem_id=rng.choice(items).pk)
        for event in events
    )
    truths += [
        (f"event:{e.pk}", e.start_at - (e.clock.offset if e.clock else dt.timedelta(0)))
        for e in events
        if e.end_at is None
    ]
    orderings = []
    for _ in range(options["orderings"]):
        (a, ta), (b, tb) = rng.sample(truths, 2)
        later, earlier = (a, b) if ta >= tb else (b, a)
        orderings.append((later, earlier))
    ordered = [
        OrderingConstraint(incident=incident, relation="after", created_by=user, **sides(a, b))
        for a, b in orderings
    ]
    # One ordering against the true order, far apart: the contradiction to find.
    truths.sort(key=lambda pair: pair[1])
    ordered.append(
        OrderingConstraint(
            incident=incident,
            relation="after",
            created_by=user,
            **sides(truths[0][0], truths[-1][0]),
        )
    )
    OrderingConstraint.objects.bulk_create(ordered)
    return incident, user


def sides(a: str, b: str) -> dict[str, int | None]:
    def side(key: str, name: str) -> dict[str, int | None]:
        kind, _, number = key.partition(":")
        return {
            f"{name}_item_id": int(number) if kind == "source" else None,
            f"{name}_event_id": int(number) if kind == "event" else None,
        }

    return side(a, "a") | side(b, "b")

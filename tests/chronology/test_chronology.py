"""The chronology: clocks, events, orderings, the page, its forms, the CSV, the export, the demo.

The arithmetic's own properties are in tests/chronology/test_chronology_rules.py; the
browser test in tests/browser/test_chronology.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.template import engines
from django.urls import reverse

from incidents.audit.models import AuditEvent
from incidents.cases.models import Incident, StatusUpdate
from incidents.chronology import chronicle
from incidents.chronology.intervals import US, to_us
from incidents.chronology.models import ChronologyEvent, Clock, OrderingConstraint
from incidents.chronology.summary import case_summary
from incidents.evidence.models import EvidenceItem
from tests.factories import EvidenceItemFactory

pytestmark = pytest.mark.django_db

ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ALMATY)


def source(incident: Incident, title: str, at: str | None, minutes: float | None = 1) -> Any:
    return EvidenceItemFactory(
        incident=incident,
        title=title,
        event_at=local(at) if at else None,
        event_uncertainty=dt.timedelta(minutes=minutes) if minutes is not None else None,
        by=incident.lead,
    )


def page_url(incident: Incident, **query: str) -> str:
    url = reverse("chronology:page", args=[incident.reference])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def url(name: str, incident: Incident, *args: Any) -> str:
    return reverse(f"chronology:{name}", args=[incident.reference, *args])


@pytest.fixture
def phone(incident: Incident, lead: Any) -> Clock:
    return Clock.add(
        incident,
        by=lead,
        name="Phone A",
        kind=Clock.Kind.PHONE,
        offset=dt.timedelta(minutes=4, seconds=10),
        offset_uncertainty=dt.timedelta(seconds=5),
        method=Clock.Method.KNOWN_EVENT,
    )


# -- for the route walks of tests/guards/test_access_matrix.py and test_properties.py --


def probe_args(world: Any, what: str) -> dict[str, Any]:
    """Path parameters of a chronology route for the access matrix's WORLD: its case, and
    a clock, an event or an ordering of it (made once, on first use)."""
    incident = world.incident
    lead = incident.lead
    args: dict[str, Any] = {"reference": incident.reference}
    if what == "clock":
        clock = Clock.objects.filter(incident=incident).first() or Clock.add(
            incident, by=lead, name="Probe clock"
        )
        args["pk"] = clock.pk
    elif what == "event":
        event = ChronologyEvent.objects.filter(incident=incident).first() or (
            ChronologyEvent.add(
                incident, by=lead, title="Probe", start_at=local("2024-11-27T20:00")
            )
        )
        args["pk"] = event.pk
    elif what == "ordering":
        ordering = OrderingConstraint.objects.filter(incident=incident).first() or (
            OrderingConstraint.state(
                incident, by=lead, a=f"source:{world.item.pk}", relation="after", b="incident"
            )
        )
        args["pk"] = ordering.pk
    elif what == "source":
        args["item_pk"] = world.item.pk
    return args


# -- the rules on the models ------------------------------------------------------------------


def test_a_clock_corrects_its_sources_and_says_so(incident: Incident, lead: Any) -> None:
    video = source(incident, "Video of the screen", "2024-11-27T20:18:16", minutes=None)
    video.event_uncertainty = dt.timedelta(seconds=1)
    EvidenceItem.objects.filter(pk=video.pk).update(event_uncertainty=dt.timedelta(seconds=1))
    clock = Clock.add(
        incident,
        by=lead,
        sources=[video],
        name="Phone A",
        kind=Clock.Kind.PHONE,
        offset=dt.timedelta(minutes=4, seconds=10),
        offset_uncertainty=dt.timedelta(seconds=5),
        method=Clock.Method.KNOWN_EVENT,
    )
    video.refresh_from_db()
    assert video.clock_id == clock.pk and video.version == 2  # a change of the item
    entry = chronicle.load(incident).by_key[f"source:{video.pk}"]
    assert entry.recorded_start == to_us(local("2024-11-27T20:18:16"))
    assert entry.corrected_start == to_us(local("2024-11-27T20:14:06"))
    # √(1² + 5²) s, rounded up to the microsecond.
    assert entry.uncertainty == 5_099_020
    entry_body = incident.updates.filter(kind=StatusUpdate.Kind.CHRONOLOGY_CHANGED).first()
    assert entry_body is not None
    assert "Clock added: “Phone A”" in entry_body.body and "+4 min 10 s ± 5 s" in entry_body.body
    # The audit trail has the clock and the item's change, written by the triggers.
    tables = set(AuditEvent.objects.for_incident(incident).values_list("table_name", flat=True))
    assert {"chronology_clock", "evidence_evidenceitem", "cases_statusupdate"} <= tables


def test_clock_rules(incident: Incident, lead: Any, phone: Clock) -> None:
    with pytest.raises(ValidationError, match="already has a clock"):
        Clock.add(incident, by=lead, name="Phone A")
    with pytest.raises(ValidationError, match="cannot be negative"):
        Clock.add(incident, by=lead, name="B", offset_uncertainty=dt.timedelta(seconds=-1))
    other = Incident.open_case(by=lead, title="Another case")
    elsewhere = source(other, "Elsewhere", "2024-11-27T20:00")
    with pytest.raises(ValidationError, match="another case"):
        Clock.add(incident, by=lead, name="C", sources=[elsewhere])
    # In use: not removed.
    item = source(incident, "Log", "2024-11-27T20:00")
    Clock.set_for_source(item, phone, by=lead)
    with pytest.raises(ValidationError, match="is the clock of 1 source"):
        phone.remove(by=lead)
    Clock.set_for_source(item, None, by=lead)
    phone.remove(by=lead)
    assert not Clock.objects.filter(pk=phone.pk).exists()


def test_a_closed_case_refuses_chronology_changes(incident: Incident, lead: Any) -> None:
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.CLOSED_INCONCLUSIVE)
    incident.refresh_from_db()
    with pytest.raises(ValidationError, match="closed"):
        Clock.add(incident, by=lead, name="Phone")


def test_events_and_orderings_propagate_and_contradict(
    incident: Incident, lead: Any, phone: Clock
) -> None:
    log = Clock.add(
        incident, by=lead, name="Log server", offset_uncertainty=dt.timedelta(seconds=2)
    )
    override = ChronologyEvent.add(
        incident,
        by=lead,
        title="Override",
        start_at=local("2024-11-27T20:14:05"),
        end_at=local("2024-11-27T20:14:26"),
        uncertainty=dt.timedelta(seconds=1),
        clock=log,
    )
    seen_a = ChronologyEvent.add(
        incident,
        by=lead,
        title="Seen on phone A",
        start_at=local("2024-11-27T20:18:16"),
        uncertainty=dt.timedelta(seconds=1),
        clock=phone,
    )
    OrderingConstraint.state(
        incident, by=lead, a=f"event:{seen_a.pk}", relation="during", b=f"event:{override.pk}"
    )
    OrderingConstraint.state(
        incident, by=lead, a="incident", relation="during", b=f"event:{override.pk}"
    )
    loaded = chronicle.load(incident)
    assert loaded.contradictions == []
    # The incident (20:14 ± 10 min, from the fixture? no time: unbounded) is placed by the ordering.
    lo, hi = loaded.incident_entry.start_window
    assert lo >= to_us(local("2024-11-27T20:14:02")) and hi <= to_us(local("2024-11-27T20:14:29"))
    assert loaded.by_key[f"event:{seen_a.pk}"].tightened

    # A phone B assumed right, whose clip puts the flag before the override.
    phone_b = Clock.add(
        incident, by=lead, name="Phone B", offset_uncertainty=dt.timedelta(minutes=1)
    )
    seen_b = ChronologyEvent.add(
        incident,
        by=lead,
        title="Seen on phone B",
        start_at=local("2024-11-27T20:11:40"),
        clock=phone_b,
    )
    wrong = OrderingConstraint.state(
        incident, by=lead, a=f"event:{seen_b.pk}", relation="during", b=f"event:{override.pk}"
    )
    loaded = chronicle.load(incident)
    [contradiction] = loaded.contradictions
    assert contradiction.sentence == (
        "The start of “Override” at 20:14:05 ± 2.2 s is after “Seen on phone B” at "
        "20:11:40 ± 1 min, yet the ordering says “Seen on phone B” happened during "
        "“Override”: check the clock “Phone B”."
    )
    assert contradiction.orderings == [wrong.pk]
    assert set(contradiction.entries) == {f"event:{seen_b.pk}", f"event:{override.pk}"}
    assert [o.contradicted for o in loaded.orderings] == [False, False, True]
    # Resolved by establishing phone B's offset: it ran 2 min 30 s slow.
    phone_b.change(by=lead, offset=dt.timedelta(minutes=-2, seconds=-30))
    assert chronicle.load(incident).contradictions == []


def test_removing_an_event_takes_its_orderings(incident: Incident, lead: Any) -> None:
    event = ChronologyEvent.add(incident, by=lead, title="A", start_at=local("2024-11-27T20:00"))
    OrderingConstraint.state(
        incident, by=lead, a=f"event:{event.pk}", relation="after", b="incident"
    )
    event.remove(by=lead)
    assert not OrderingConstraint.objects.exists()
    body = incident.updates.filter(kind=StatusUpdate.Kind.CHRONOLOGY_CHANGED).first().body
    assert "1 ordering stated on it went with it" in body


def test_orderings_refuse_entries_of_other_cases(incident: Incident, lead: Any) -> None:
    other = Incident.open_case(by=lead, title="Another case")
    elsewhere = source(other, "Elsewhere", "2024-11-27T20:00")
    with pytest.raises(ValidationError):
        OrderingConstraint.state(
            incident, by=lead, a=f"source:{elsewhere.pk}", relation="after", b="incident"
        )
    with pytest.raises(ValidationError):
        OrderingConstraint.state(incident, by=lead, a="incident", relation="after", b="incident")
    with pytest.raises(ValidationError):
        OrderingConstraint.state(incident, by=lead, a="event:x", relation="after", b="incident")


def test_times_read_as_integers_match_the_orm(incident: Incident, lead: Any) -> None:
    """``chronicle.Microseconds``: the database's integer equals Python's, on either database."""
    from incidents.chronology.chronicle import Microseconds
    from incidents.chronology.intervals import duration_us

    moments = [
        dt.datetime(2024, 11, 27, 15, 14, 5, tzinfo=dt.UTC),
        dt.datetime(2024, 11, 27, 15, 14, 5, 500, tzinfo=dt.UTC),
        dt.datetime(2024, 11, 27, 15, 14, 5, 999_999, tzinfo=dt.UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=dt.UTC),
        dt.datetime(1900, 1, 1, tzinfo=dt.UTC),
    ]
    spans = [
        dt.timedelta(0),
        dt.timedelta(minutes=-4, seconds=-10),
        dt.timedelta(days=3, microseconds=7),
        dt.timedelta(microseconds=-1),
    ]
    for moment, spread in zip(moments, [*spans, dt.timedelta(hours=1)], strict=True):
        clock = Clock.add(incident, by=lead, name=f"C {moment}", offset=spread)
        event = ChronologyEvent.add(incident, by=lead, title="E", start_at=moment, clock=clock)
        start, end = (
            ChronologyEvent.objects.filter(pk=event.pk)
            .values_list(Microseconds("start_at"), Microseconds("end_at"))
            .get()
        )
        assert (start, end) == (to_us(moment), None)
        offset = (
            Clock.objects.filter(pk=clock.pk)
            .values_list(Microseconds("offset", duration=True), flat=True)
            .get()
        )
        assert offset == duration_us(spread)


# -- access ----------------------------------------------------------------------------------


WRITES = [
    ("clock_new", ()),
    ("event_new", ()),
    ("ordering_new", ()),
]


def test_outsiders_get_404_everywhere(
    client: Any, incident: Incident, outsider: Any, phone: Clock
) -> None:
    item = source(incident, "Log", "2024-11-27T20:00")
    client.force_login(outsider)
    for path in (
        page_url(incident),
        url("csv", incident),
        url("clock_new", incident),
        url("clock_edit", incident, phone.pk),
        url("source_clock", incident, item.pk),
        url("event_new", incident),
        url("ordering_new", incident),
    ):
        assert client.get(path).status_code == 404, path
        assert client.post(path, {}).status_code in (404, 405), path
    assert client.post(url("clock_delete", incident, phone.pk)).status_code == 404
    assert Clock.objects.filter(pk=phone.pk).exists()


def test_observers_read_but_cannot_write(
    client: Any, incident: Incident, observer: Any, phone: Clock
) -> None:
    item = source(incident, "Log", "2024-11-27T20:00")
    client.force_login(observer)
    page = client.get(page_url(incident))
    assert page.status_code == 200
    assert b"Add a clock" not in page.content and b"Set clock" not in page.content
    assert client.get(url("csv", incident)).status_code == 200
    for name, args in WRITES:
        assert client.get(url(name, incident, *args)).status_code == 403
        assert client.post(url(name, incident, *args), {"name": "X"}).status_code == 403
    assert client.post(url("clock_edit", incident, phone.pk), {"name": "X"}).status_code == 403
    assert client.post(url("clock_delete", incident, phone.pk)).status_code == 403
    assert client.post(url("source_clock", incident, item.pk), {"clock": ""}).status_code == 403
    assert Clock.objects.get(pk=phone.pk).name == "Phone A"


def test_signed_out_visitors_are_sent_to_sign_in(client: Any, incident: Incident) -> None:
    response = client.get(page_url(incident))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_missing_object_is_404(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    assert client.get(url("clock_edit", incident, 987654)).status_code == 404
    assert client.get(url("event_edit", incident, 987654)).status_code == 404
    assert client.get(url("source_clock", incident, 987654)).status_code == 404
    assert (
        client.get("/cases/INC-2024-0001/chronology/clocks/99999999999999999999/").status_code
        == 404
    )


# -- the forms -------------------------------------------------------------------------------


def test_adding_a_clock_through_the_form_corrects_its_source(
    client: Any, incident: Incident, investigator: Any
) -> None:
    video = source(incident, "Video", "2024-11-27T20:18:16", minutes=None)
    client.force_login(investigator)
    form = client.get(url("clock_new", incident))
    assert form.status_code == 200 and b"Video (27 Nov 20:18)" in form.content
    response = client.post(
        url("clock_new", incident),
        {
            "name": "Phone A",
            "kind": "phone",
            "offset": "+4 min 10 s",
            "offset_uncertainty": "5 s",
            "method": "known_event",
            "time_zone": "",
            "note": "Compared with the playlist change.",
            "sources": [str(video.pk)],
            "version": "0",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("/chronology/#clocks")
    page = client.get(response["Location"]).content.decode()
    assert "Clock “Phone A” added." in page
    assert "20:14:06 ± 5 s" in page  # corrected; the reading's own uncertainty not stated
    assert "20:18:16" in page  # raw


def test_bad_input_gives_clear_form_errors_never_500(
    client: Any, incident: Incident, lead: Any, phone: Clock
) -> None:
    other = Incident.open_case(by=lead, title="Another case")
    elsewhere = source(other, "Elsewhere", "2024-11-27T20:00")
    client.force_login(lead)
    cases = [
        (
            url("clock_new", incident),
            {"name": "X", "offset": "4 parsecs", "kind": "phone", "method": "ntp"},
            "“parsecs” is not a unit",
        ),
        (
            url("clock_new", incident),
            {"name": "", "offset": "0", "kind": "phone", "method": "ntp"},
            "This field is required",
        ),
        (
            url("clock_new", incident),
            {"name": "Phone A", "offset": "0", "kind": "phone", "method": "ntp"},
            "already has a clock of that name",
        ),
        (
            url("clock_new", incident),
            {
                "name": "Y",
                "offset": "0",
                "kind": "phone",
                "method": "ntp",
                "time_zone": "Mars/Olympus",
            },
            "not a known time zone",
        ),
        (
            url("clock_new", incident),
            {"name": "Z", "offset": "0", "kind": "sundial", "method": "ntp"},
            "Select a valid choice",
        ),
        (
            url("clock_new", incident),
            {
                "name": "Z",
                "offset": "0",
                "kind": "phone",
                "method": "ntp",
                "sources": [str(elsewhere.pk)],
            },
            "Select a valid choice",
        ),
        (
            url("clock_new", incident),
            {
                "name": "Z",
                "offset": "0",
                "kind": "phone",
                "method": "ntp",
                "sources": ["99999999999999999999"],
            },
            "Select a valid choice",
        ),
        (
            url("clock_new", incident),
            {"name": "Z\x00", "offset": "0", "kind": "phone", "method": "ntp"},
            "Null characters are not allowed",
        ),
        (
            url("event_new", incident),
            {"title": "A", "start_at": "yesterday"},
            "Write a date and time",
        ),
        (
            url("event_new", incident),
            {"title": "A", "start_at": "2024-11-27T20:14:05", "end_at": "2024-11-27T20:14:00"},
            "The end comes before the start",
        ),
        (
            url("event_new", incident),
            {"title": "A", "start_at": "2024-11-27T20:14:05", "uncertainty": "-3 s"},
            "cannot be negative",
        ),
        (
            url("event_new", incident),
            {"title": "A", "start_at": "0001-01-01T00:00:00"},
            "out of range",
        ),
        (
            url("event_new", incident),
            {"title": "A", "start_at": "2024-11-27T20:14:05", "clock": "987654"},
            "Select a valid choice",
        ),
        (
            url("ordering_new", incident),
            {"a": "incident", "relation": "after", "b": "incident"},
            "Choose two different entries",
        ),
        (
            url("ordering_new", incident),
            {"a": f"source:{elsewhere.pk}", "relation": "after", "b": "incident"},
            "Select a valid choice",
        ),
        (
            url("ordering_new", incident),
            {"a": "incident", "relation": "sideways", "b": "event:1"},
            "Select a valid choice",
        ),
        (
            url("clock_edit", incident, phone.pk),
            {"name": "P", "offset": "0", "kind": "phone", "method": "ntp", "version": "x"},
            "Reload the page",
        ),
    ]
    for path, data, message in cases:
        response = client.post(path, {"version": "0", **data})  # the pages post the version
        assert response.status_code == 422, (path, data, response.status_code)
        assert message in response.content.decode(), (data, message)
        assert b'class="form-errors" role="alert"' in response.content
    # A wall time that did not exist in the clock's zone (clocks changed in Berlin).
    berlin = Clock.add(incident, by=lead, name="Berlin server", time_zone="Europe/Berlin")
    response = client.post(
        url("event_new", incident),
        {"title": "A", "start_at": "2024-03-31T02:30:00", "clock": str(berlin.pk), "version": "0"},
    )
    assert response.status_code == 422 and b"did not exist in Europe/Berlin" in response.content
    assert ChronologyEvent.objects.count() == 0


def test_an_event_read_on_a_utc_server_is_entered_in_utc(
    client: Any, incident: Incident, lead: Any
) -> None:
    server = Clock.add(incident, by=lead, name="Server", time_zone="UTC")
    client.force_login(lead)
    response = client.post(
        url("event_new", incident),
        {
            "title": "Override",
            "start_at": "2024-11-27T15:14:05",
            "end_at": "2024-11-27T15:14:26.500",
            "uncertainty": "1 s",
            "clock": str(server.pk),
            "version": "0",
        },
    )
    assert response.status_code == 302
    event = ChronologyEvent.objects.get()
    assert event.start_at == local("2024-11-27T20:14:05")
    assert event.end_at == local("2024-11-27T20:14:26.5")
    edit = client.get(url("event_edit", incident, event.pk)).content.decode()
    assert 'value="2024-11-27T15:14:05"' in edit and "2024-11-27T15:14:26.500" in edit
    page = client.get(page_url(incident)).content.decode()
    assert "15:14:05–15:14:26.500 ± 1 s (UTC)" in page  # recorded, on the server's clock


def test_a_post_without_its_version_is_refused(
    client: Any, incident: Incident, lead: Any, phone: Clock
) -> None:
    client.force_login(lead)
    response = client.post(
        url("clock_edit", incident, phone.pk),
        {"name": "Phone A", "kind": "phone", "offset": "+5 min", "method": "ntp"},
    )
    assert response.status_code == 422
    assert "This form is out of date: reload the page." in response.content.decode()
    phone.refresh_from_db()
    assert phone.offset == dt.timedelta(minutes=4, seconds=10)


def test_a_stale_edit_is_refused_with_409(
    client: Any, incident: Incident, lead: Any, investigator: Any, phone: Clock
) -> None:
    phone.change(by=investigator, offset=dt.timedelta(minutes=4))
    client.force_login(lead)
    response = client.post(
        url("clock_edit", incident, phone.pk),
        {"name": "Phone A", "kind": "phone", "offset": "+5 min", "method": "ntp", "version": "1"},
    )
    assert response.status_code == 409
    assert "This clock was changed" in response.content.decode()
    assert "Changed meanwhile: offset" in response.content.decode()
    phone.refresh_from_db()
    assert phone.offset == dt.timedelta(minutes=4)


def test_a_source_gets_its_clock(client: Any, incident: Incident, lead: Any, phone: Clock) -> None:
    item = source(incident, "Log", "2024-11-27T20:18:00")
    client.force_login(lead)
    form = client.get(url("source_clock", incident, item.pk))
    assert form.status_code == 200
    response = client.post(
        url("source_clock", incident, item.pk), {"clock": str(phone.pk), "version": "1"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.clock_id == phone.pk
    update = incident.updates.filter(evidence=item, kind="chronology_changed").get()
    assert update.body == "Clock of the source “Log”: none → “Phone A”."


def test_deleting_an_ordering_and_a_clock_in_use(
    client: Any, incident: Incident, lead: Any, phone: Clock
) -> None:
    item = source(incident, "Log", "2024-11-27T20:18:00")
    Clock.set_for_source(item, phone, by=lead)
    ordering = OrderingConstraint.state(
        incident, by=lead, a=f"source:{item.pk}", relation="after", b="incident"
    )
    client.force_login(lead)
    response = client.post(url("clock_delete", incident, phone.pk), follow=True)
    assert "is the clock of 1 source" in response.content.decode()
    assert Clock.objects.filter(pk=phone.pk).exists()
    response = client.post(url("ordering_delete", incident, ordering.pk))
    assert response.status_code == 302 and not OrderingConstraint.objects.exists()


# -- the page --------------------------------------------------------------------------------


def build(incident: Incident, lead: Any, size: int) -> None:
    clocks = [
        Clock.add(incident, by=lead, name=f"Clock {i}", offset=dt.timedelta(seconds=i))
        for i in range(max(1, size // 10))
    ]
    items = [source(incident, f"Source {i}", f"2024-11-27T20:{i % 60:02d}:00") for i in range(size)]
    for i, item in enumerate(items):
        if i % 2:
            Clock.set_for_source(item, clocks[i % len(clocks)], by=lead)
    events = [
        ChronologyEvent.add(
            incident,
            by=lead,
            sources=items[i : i + 2],
            title=f"Event {i}",
            start_at=local(f"2024-11-27T21:{i % 60:02d}:00"),
            end_at=local(f"2024-11-27T21:{i % 60:02d}:30") if i % 3 == 0 else None,
            clock=clocks[i % len(clocks)],
        )
        for i in range(size // 2 + 1)
    ]
    for i in range(size // 3 + 1):
        OrderingConstraint.state(
            incident,
            by=lead,
            a=f"event:{events[i % len(events)].pk}",
            relation="after",
            b=f"source:{items[i % len(items)].pk}",
        )


def test_the_page_reads_in_a_fixed_number_of_queries(
    client: Any, incident: Incident, lead: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(lead)
    build(incident, lead, 2)
    with django_assert_max_num_queries(9) as small:
        assert client.get(page_url(incident)).status_code == 200
    other = Incident.open_case(by=lead, title="Bigger", time_zone="Asia/Almaty")
    build(other, lead, 40)
    with django_assert_max_num_queries(9) as large:
        response = client.get(page_url(other))
    assert response.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    with django_assert_max_num_queries(9) as csv_queries:
        assert client.get(url("csv", other)).status_code == 200
    assert len(csv_queries.captured_queries) <= len(large.captured_queries)
    with django_assert_max_num_queries(5):
        case_summary(other)


def test_htmx_zoom_answers_the_view_alone(client: Any, incident: Incident, lead: Any) -> None:
    build(incident, lead, 4)
    client.force_login(lead)
    response = client.get(
        page_url(incident, **{"from": "2024-11-27T20:00:00", "to": "2024-11-27T20:30:00"}),
        headers={"HX-Request": "true", "HX-Target": "chronology-view"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="chronology-view"')
    assert "<html" not in body and "<svg" in body
    assert "20:00:00 – 20:30:00" in body


@pytest.mark.parametrize(
    "query",
    [
        {"from": "garbage", "to": "2024-11-27T20:30:00"},
        {"from": "2024-11-27T20:30:00", "to": "2024-11-27T20:00:00"},
        {"from": "0001-01-01T00:00:00", "to": "9999-12-31T23:59:59"},
        {"from": "2024-11-27T20:00:00", "to": "2024-11-27T20:00:00"},
        {"page": "abc"},
        {"page": "99999999999999999999999"},
        {"from": "2024-11-27T20:00:00\x00"},
    ],
)
def test_odd_query_strings_never_fail(
    client: Any, incident: Incident, lead: Any, query: dict[str, str]
) -> None:
    build(incident, lead, 3)
    client.force_login(lead)
    response = client.get(reverse("chronology:page", args=[incident.reference]), query)
    assert response.status_code == 200


def test_the_page_shows_the_contradiction_and_the_table(
    client: Any, incident: Incident, lead: Any, observer: Any
) -> None:
    early = ChronologyEvent.add(
        incident, by=lead, title="Early", start_at=local("2024-11-27T20:00")
    )
    late = ChronologyEvent.add(incident, by=lead, title="Late", start_at=local("2024-11-27T21:00"))
    OrderingConstraint.state(
        incident, by=lead, a=f"event:{early.pk}", relation="after", b=f"event:{late.pk}"
    )
    client.force_login(observer)
    page = client.get(page_url(incident)).content.decode()
    assert "1 contradiction to resolve" in page
    assert "“Late” at 21:00:00 is after “Early” at 20:00:00" in page
    assert "check the stated times and the ordering" in page
    assert page.count('class="badge conflict-badge">Contradiction<') == 2
    assert '<svg class="chrono-svg"' in page and 'aria-label="Timeline from' in page
    assert f'id="entry-event-{early.pk}"' in page and f'href="#entry-event-{early.pk}"' in page


def test_the_csv(client: Any, incident: Incident, lead: Any, phone: Clock) -> None:
    item = source(incident, '=HYPERLINK("http://evil")', "2024-11-27T20:18:16", minutes=None)
    Clock.set_for_source(item, phone, by=lead)
    client.force_login(lead)
    response = client.get(url("csv", incident))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="{incident.reference}-chronology.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    row = next(r for r in rows if r["entry"] == f"source:{item.pk}")
    assert row["title"].startswith("'=HYPERLINK")  # never run as a formula
    assert row["recorded_start_utc"] == "2024-11-27T15:18:16Z"
    assert row["corrected_start_utc"] == "2024-11-27T15:14:06Z"
    assert row["clock_offset_s"] == "250" and row["uncertainty_s"] == "5"
    assert row["clock"] == "Phone A" and row["clock_id"] == str(phone.pk)
    assert any(r["entry"] == "incident" for r in rows)


def test_the_export_has_clocks_and_the_chronology(
    client: Any, incident: Incident, lead: Any, phone: Clock
) -> None:
    item = source(incident, "Video", "2024-11-27T20:18:16", minutes=None)
    Clock.set_for_source(item, phone, by=lead)
    event = ChronologyEvent.add(
        incident,
        by=lead,
        sources=[item],
        title="Seen",
        start_at=local("2024-11-27T20:18:16"),
        uncertainty=dt.timedelta(milliseconds=500),
        clock=phone,
    )
    OrderingConstraint.state(
        incident, by=lead, a=f"event:{event.pk}", relation="after", b="incident", note="Why"
    )
    client.force_login(lead)
    doc = json.loads(client.get(reverse("cases:export", args=[incident.reference])).content)
    [clock] = doc["clocks"]
    assert clock == {
        "id": phone.pk,
        "name": "Phone A",
        "kind": "phone",
        "offset_seconds": 250,
        "offset_uncertainty_seconds": 5,
        "method": "known_event",
        "time_zone": None,
        "note": "",
        "evidence_ids": [item.pk],
    }
    entries = {e["id"]: e for e in doc["chronology"]}
    seen = entries[f"event:{event.pk}"]
    assert seen["recorded_start"] == "2024-11-27T15:18:16Z"
    assert seen["corrected_start"] == "2024-11-27T15:14:06Z"
    assert seen["clock_id"] == phone.pk and seen["supporting_evidence"] == [item.pk]
    assert seen["uncertainty_seconds"] == 5.025
    assert seen["constraints"] == [
        {
            "id": OrderingConstraint.objects.get().pk,
            "relation": "after",
            "other": "incident",
            "note": "Why",
            "contradicted": False,
        }
    ]
    assert entries[f"source:{item.pk}"]["evidence_id"] == item.pk
    assert "incident" in entries


# -- the dense drawing, the summary, the demo --------------------------------------------------


def dense_chronology(
    incident: Incident, sources: int, events: int, clocks_count: int = 12, spread: int = 7
) -> chronicle.Chronology:
    """A chronology built in memory (no rows): SOURCES sources on CLOCKS_COUNT clocks,
    SPREAD seconds apart, and EVENTS events."""
    clocks = [
        chronicle.ClockRow(
            i, f"Clock {i}", "phone", "Phone", i * US, US, "ntp", "NTP", "", "", ALMATY, 1
        )
        for i in range(1, clocks_count + 1)
    ]
    start = to_us(local("2024-11-27T20:00"))
    source_rows = [
        (
            i,
            f"Source {i}",
            "video",
            start + spread * i * US,
            30 * US,
            1 + i % clocks_count,
            False,
            1,
        )
        for i in range(1, sources + 1)
    ]
    event_rows = [
        (
            i,
            f"Event {i}",
            "",
            start + 11 * i * US,
            start + (11 * i + 40) * US if i % 4 == 0 else None,
            2 * US,
            1 + i % clocks_count if i % 3 else None,
            1,
        )
        for i in range(1, events + 1)
    ]
    orderings = [
        chronicle.OrderingRow(i, f"event:{i * 5}", "after", f"source:{i}", "", 1)
        for i in range(1, 200)
    ]
    return chronicle._build(incident, clocks, source_rows, event_rows, {}, orderings)


def test_a_dense_svg_stays_small(incident: Incident) -> None:
    from incidents.chronology.page import ChronologyPage

    Incident.objects.filter(pk=incident.pk).update(occurred_at=local("2024-11-27T20:30"))
    incident.refresh_from_db()
    page = ChronologyPage(dense_chronology(incident, 2000, 3000), True, {})
    figure = page.figure
    assert figure is not None and figure.binned > 4000
    template = engines["jinja2"].from_string(
        '{% from "chronology/figure.jinja" import timeline_svg %}{{ timeline_svg(fig, "T") }}'
    )
    svg = template.render({"fig": figure})
    assert len(svg.encode()) < 300_000
    assert 'class="bin"' in svg and ": zoom in</title>" in svg
    assert len(page.rows) == 100 and page.pages == 51


@pytest.mark.parametrize(
    ("sources", "events", "clocks", "spread"),
    [(2000, 3000, 40, 7), (900, 0, 16, 40), (16 * 59, 0, 16, 20), (300, 0, 300, 60)],
)
def test_the_svg_stays_within_its_budget_whatever_the_shape(
    incident: Incident, sources: int, events: int, clocks: int, spread: int
) -> None:
    """Many clocks, marks spread so that none overlap, lanes just under the limit:
    the drawing stays under 300 kB (lanes beyond 16 share one)."""
    from incidents.chronology.page import ChronologyPage

    page = ChronologyPage(dense_chronology(incident, sources, events, clocks, spread), True, {})
    assert page.figure is not None and len(page.figure.lanes) <= 17
    template = engines["jinja2"].from_string(
        '{% from "chronology/figure.jinja" import timeline_svg %}{{ timeline_svg(fig, "T") }}'
    )
    size = len(template.render({"fig": page.figure}).encode())
    assert size < 300_000, (size, page.figure.drawn, page.figure.binned)


def test_the_summary_macro(incident: Incident, lead: Any, phone: Clock) -> None:
    item = source(incident, "Video", "2024-11-27T20:18:16")
    Clock.set_for_source(item, phone, by=lead)
    ChronologyEvent.add(incident, by=lead, title="Seen", start_at=local("2024-11-27T20:14:06"))
    summary = case_summary(incident)
    assert (summary.sources, summary.events, summary.clocks) == (1, 1, 1)
    html = (
        engines["jinja2"]
        .from_string(
            '{% from "chronology/summary.jinja" import chronology_summary %}'
            "{{ chronology_summary(summary) }}"
        )
        .render({"summary": summary})
    )
    assert 'id="chronology-summary"' in html and "Open the chronology" in html
    assert "1 dated source, 1 event, 1 clock, 0 orderings" in html
    assert "27 Nov 2024 20:14:06</time>" in html and ">Seen</a>" in html


def test_the_demo_has_its_clocks_and_one_contradiction(settings: Any) -> None:
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo", force=True, stdout=io.StringIO())
    case = Incident.objects.get(reference="INC-2024-0001")
    names = set(case.clocks.values_list("name", flat=True))
    assert names == {
        "Operator's log server",
        "Phone A (first bystander video)",
        "Phone B (second bystander video)",
        "Witness A's estimate",
    }
    assert all(n.startswith("Illustrative") for n in case.clocks.values_list("note", flat=True))
    loaded = chronicle.load(case)
    [contradiction] = loaded.contradictions
    assert "check the clock “Phone B (second bystander video)”" in contradiction.sentence
    fast = case.clocks.get(name__startswith="Phone A")
    assert fast.offset == dt.timedelta(minutes=4, seconds=10)


def test_the_case_page_loads_the_chronology_summary_on_demand(
    client: Any, incident: Any, django_assert_max_num_queries: Any
) -> None:
    """The case page carries a panel that asks the chronology page for its summary
    (HX-Target chronology-summary) when it scrolls into view: the case page itself
    runs none of the chronology's queries."""
    client.force_login(incident.lead)
    page = client.get(f"/cases/{incident.reference}/").content.decode()
    assert 'id="chronology-summary"' in page
    assert f'hx-get="/cases/{incident.reference}/chronology/"' in page
    with django_assert_max_num_queries(12):
        summary = client.get(
            f"/cases/{incident.reference}/chronology/",
            headers={"HX-Request": "true", "HX-Target": "chronology-summary"},
        )
    assert summary.status_code == 200
    body = summary.content.decode()
    assert body.lstrip().startswith("<section") and 'id="chronology-summary"' in body
    assert "<html" not in body

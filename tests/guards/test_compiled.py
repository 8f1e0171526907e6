"""``incidents.compiled``: a read written with the ORM, compiled once per
connection, gives what the ORM gives, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import collections.abc
import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Count, F, FloatField, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.cases.models import Incident, StatusUpdate
from incidents.cases.search import seek
from incidents.compiled import PLACEHOLDER_BASE, CompiledQuery, compiled
from incidents.evidence.models import EvidenceItem
from incidents.lookups import AnyOf
from tests.evidence_factories import attach, fast_hashing  # noqa: F401

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "title", "event_at", "event_uncertainty", "is_illustrative", "extracted_metadata")


@compiled
def items(case: int) -> QuerySet[Any]:
    return EvidenceItem.objects.filter(incident=case).order_by("id").values_list(*COLUMNS)


@compiled(tuples=True)
def items_with_total(case: int, limit: int | None) -> QuerySet[Any]:
    # The case's id twice (in the subquery too), and LIMIT as a parameter.
    total = EvidenceItem.objects.filter(incident=case).order_by().values("incident")
    rows = (
        EvidenceItem.objects.filter(incident=case)
        .order_by("id")
        .annotate(total=Subquery(total.annotate(n=Count("id")).values("n")))
        .values_list("id", "total")
    )
    return rows if limit is None else rows[:limit]


@compiled
def entries(
    case: int, kind: str | None, at: dt.datetime | None, before: int | None
) -> QuerySet[Any]:
    found = StatusUpdate.objects.filter(incident=case)
    if kind is not None:
        found = found.filter(kind=kind)
    if at is not None:
        found = found.filter(seek(("created_at", "id"), (at, before), forward_desc=True))
    return found.order_by("-created_at", "-id").values_list("id", "kind", "created_at")


@compiled
def titles(ids: list[int]) -> QuerySet[Any]:
    return EvidenceItem.objects.filter(AnyOf(F("id"), ids)).order_by("id").values_list("title")


@pytest.fixture
def two_cases(incident: Incident, lead: Any) -> tuple[Incident, Incident]:
    other = Incident.open_case(by=lead, title="Another case")
    attach(incident, lead, title="Plain", text_body="text")
    attach(
        incident,
        lead,
        title="Photo",
        text_body="text",
        event_at=timezone.now() - dt.timedelta(days=1),
        event_uncertainty=dt.timedelta(minutes=10),
        is_illustrative=True,
    )
    EvidenceItem.objects.filter(title="Photo").update(extracted_metadata={"exif": {"Make": "X"}})
    attach(other, lead, title="Elsewhere", text_body="text")
    for n in range(4):
        StatusUpdate.objects.post(
            incident, kind="note" if n % 2 else "finding", body=f"{n}", by=lead
        )
    return incident, other


def test_rows_are_converted_as_the_orm_converts_them(two_cases: Any) -> None:
    incident, other = two_cases
    for case in (incident, other):
        orm = list(EvidenceItem.objects.filter(incident=case).order_by("id").values_list(*COLUMNS))
        rows = items(case.pk)
        assert rows == orm
    photo = next(row for row in items(incident.pk) if row.title == "Photo")
    assert isinstance(photo.event_at, dt.datetime) and photo.event_at.tzinfo is not None
    assert photo.event_uncertainty == dt.timedelta(minutes=10)
    assert photo.is_illustrative is True
    assert photo.extracted_metadata == {"exif": {"Make": "X"}}
    assert photo._fields == COLUMNS  # named tuples


def test_every_position_of_a_placeholder_is_filled(two_cases: Any) -> None:
    incident, other = two_cases
    ids = list(incident.evidence.order_by("id").values_list("id", flat=True))
    assert items_with_total(incident.pk, None) == [(pk, 2) for pk in ids]
    assert items_with_total(incident.pk, 1) == [(ids[0], 2)]
    assert items_with_total(other.pk, 5) == [(other.evidence.get().pk, 1)]
    assert type(items_with_total(incident.pk, 1)[0]) is tuple  # tuples=True


def test_strings_datetimes_and_variants(two_cases: Any) -> None:
    incident, _ = two_cases
    newest = list(
        incident.updates.order_by("-created_at", "-id").values_list("id", "kind", "created_at")
    )
    assert entries(incident.pk, None, None, None) == newest
    assert entries(incident.pk, "note", None, None) == [r for r in newest if r[1] == "note"]
    pk, _, at = newest[1]
    assert entries(incident.pk, None, at, pk) == newest[2:]
    assert entries(incident.pk, "finding", at, pk) == [r for r in newest[2:] if r[1] == "finding"]
    # Each variant (which arguments are None) is a statement of its own.
    assert len(entries.statements[connections["default"]]) == 4
    # A datetime in another time zone is the same instant.
    local = at.astimezone(dt.timezone(dt.timedelta(hours=5)))
    assert entries(incident.pk, None, local, pk) == newest[2:]


def test_lists_of_ids_are_one_parameter(two_cases: Any) -> None:
    incident, other = two_cases
    ids = list(EvidenceItem.objects.order_by("id").values_list("id", flat=True))
    assert [t for (t,) in titles(ids)] == ["Plain", "Photo", "Elsewhere"]
    assert [t for (t,) in titles(ids[1:])] == ["Photo", "Elsewhere"]
    assert titles([]) == []
    with CaptureQueriesContext(connection) as queries:
        titles(ids)
    assert queries[0]["sql"].count(str(ids[0])) == 1  # the list, bound once


def test_statements_are_seen_by_the_query_log_and_wrappers(
    two_cases: Any, django_assert_num_queries: Any
) -> None:
    incident, _ = two_cases
    seen = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(params)
        return execute(sql, params, many, context)

    with django_assert_num_queries(1) as queries, connection.execute_wrapper(wrapper):
        items(incident.pk)
    assert str(incident.pk) in queries[0]["sql"]
    assert str(PLACEHOLDER_BASE) not in queries[0]["sql"]
    assert list(seen[0]) == [incident.pk]


def test_lazy_rows_are_read_when_asked_for(two_cases: Any, django_assert_num_queries: Any) -> None:
    incident, _ = two_cases
    items(incident.pk)  # compiled
    with django_assert_num_queries(0):
        rows = items.lazy(incident.pk)
    with django_assert_num_queries(1):
        assert [row.title for row in rows] == ["Plain", "Photo"]


def test_a_read_must_depend_on_each_argument(db: Any) -> None:
    @compiled
    def every_case(case: int) -> QuerySet[Any]:
        return Incident.objects.values_list("id")

    with pytest.raises(ValueError, match="'case' is not a parameter"):
        every_case(1)

    @compiled
    def by_in(ids: list[int]) -> QuerySet[Any]:  # one parameter per id: no list can replace it
        return Incident.objects.filter(id__in=ids).values_list("id")

    with pytest.raises(ValueError, match="'ids' is not a parameter"):
        by_in([1, 2])


def test_columns_are_named_in_the_order_the_values_list_gives(two_cases: Any) -> None:
    """Annotated in one order, selected in another: each value under its name."""

    @compiled
    def reversed_names(case: int) -> QuerySet[Any]:
        return (
            Incident.objects.filter(pk=case)
            .annotate(first=F("id"), second=F("title"))
            .values_list("second", "first")
        )

    case = Incident.objects.order_by("id").first()
    assert case is not None
    (row,) = reversed_names(case.pk)
    assert (row.second, row.first) == (case.title, case.pk)


def test_the_suite_checks_each_statement_against_the_orms(db: Any, settings: Any) -> None:
    """INQUEST_CHECK_COMPILED (on in tests): a read whose SQL depends on an
    argument's value fails instead of answering for the wrong value."""

    @compiled
    def by_status(status: str) -> QuerySet[Any]:
        cases = Incident.objects.all()
        if status == "active":  # wrong: a value that changes the statement
            return cases.filter(status__in=["open", "investigating"]).values_list("id")
        return cases.filter(status=status).values_list("id")

    assert settings.INQUEST_CHECK_COMPILED
    assert by_status("open") == []
    with pytest.raises(AssertionError, match="differs from the ORM's"):
        by_status("active")


def test_shapes_floats_and_the_orm_fallback(two_cases: Any) -> None:
    """Structural arguments compile a variant per value; a float is a parameter;
    a read that cannot be compiled is read through the ORM (fallback=True)."""
    from incidents.compiled import Shape

    @compiled
    def ordered(direction: Shape, newest: bool, above: float) -> QuerySet[Any]:
        order = "-id" if newest else "id"
        score = Cast(F("id"), FloatField())  # a float column, as a rank is
        qs = Incident.objects.annotate(score=score).filter(score__gt=above).order_by(order)
        return qs.values_list("id") if direction == "ids" else qs.values_list("title")

    ids = sorted(Incident.objects.values_list("id", flat=True))
    assert [r.id for r in ordered("ids", False, 0.5)] == ids
    assert [r.id for r in ordered("ids", True, 0.5)] == ids[::-1]
    assert [r.id for r in ordered("ids", False, ids[0] + 0.5)] == ids[1:]
    assert len(ordered("titles", True, 0.5)) == len(ids)

    @compiled(fallback=True)
    def by_reference(text: str) -> QuerySet[Any]:
        return Incident.objects.filter(reference=text.upper()).values_list("reference")

    case = Incident.objects.order_by("id").first()
    assert case is not None
    assert [r.reference for r in by_reference(case.reference.lower())] == [case.reference]


def test_a_value_computed_from_an_argument_is_refused(db: Any) -> None:
    """Compiled in, it would be the placeholder's value for every call."""

    @compiled
    def by_reference(reference: str) -> QuerySet[Any]:
        # As the case search does: the text as it is, and upper-cased for the reference.
        wanted = Q(title=reference) | Q(reference=reference.upper())
        return Incident.objects.filter(wanted).values_list("id")

    with pytest.raises(ValueError, match="computed from an argument"):
        by_reference("inc-2026-1")

    @compiled
    def next_one(case: int) -> QuerySet[Any]:
        return Incident.objects.filter(pk__gte=case, pk__lt=case + 1).values_list("id")

    with pytest.raises(ValueError, match="computed from an argument"):
        next_one(1)

    @compiled
    def the_day_after(at: dt.datetime) -> QuerySet[Any]:
        return Incident.objects.filter(
            created_at__gt=at, created_at__lt=at + dt.timedelta(days=1)
        ).values_list("id")

    with pytest.raises(ValueError, match="computed from an argument"):
        the_day_after(timezone.now())


def test_only_values_lists_and_known_arguments(db: Any) -> None:
    @compiled
    def instances(case: int) -> QuerySet[Any]:
        return Incident.objects.filter(pk=case)

    with pytest.raises(TypeError, match="values_list"):
        instances(1)
    with pytest.raises(TypeError, match="cannot be a parameter"):

        @compiled
        def odd(case: bytes) -> QuerySet[Any]:
            return Incident.objects.filter(pk=case).values_list("id")

    with pytest.raises(TypeError, match="items: .*unexpected keyword argument 'cases'"):
        items(case=1, cases=1)
    with pytest.raises(TypeError, match="items: missing a required argument"):
        items()
    assert isinstance(items, CompiledQuery) and items.__name__ == "items"


# -- keyword arguments, dataclass arguments, values the ORM would refuse, empty reads --


def test_keyword_arguments_are_the_positions_they_name(two_cases: Any) -> None:
    incident, _ = two_cases
    assert entries(case=incident.pk, kind="note", at=None, before=None) == entries(
        incident.pk, "note", None, None
    )
    assert items_with_total(limit=1, case=incident.pk) == items_with_total(incident.pk, 1)


@dataclass(frozen=True)
class Among:
    """A filter as one value: a kind (None: any), newer than a moment, and a direction."""

    kind: str | None
    since: dt.datetime | None
    oldest_first: bool


@compiled
def filtered(case: int, among: Among, limit: int) -> QuerySet[Any]:
    found = StatusUpdate.objects.filter(incident=case)
    if among.kind is not None:
        found = found.filter(kind=among.kind)
    if among.since is not None:
        found = found.filter(created_at__gt=among.since)
    order = ("created_at", "id") if among.oldest_first else ("-created_at", "-id")
    return found.order_by(*order).values_list("id", "kind")[:limit]


def test_a_dataclass_argument_stands_for_its_fields(two_cases: Any) -> None:
    incident, _ = two_cases
    every = list(incident.updates.order_by("-created_at", "-id").values_list("id", "kind"))
    assert filtered(case=incident.pk, among=Among(None, None, False), limit=50) == every
    notes = [row for row in every if row[1] == "note"]
    assert filtered(case=incident.pk, among=Among("note", None, True), limit=50) == notes[::-1]
    since = incident.updates.order_by("created_at", "id")[1].created_at
    newer = list(
        incident.updates.filter(created_at__gt=since)
        .order_by("-created_at", "-id")
        .values_list("id", "kind")
    )
    assert filtered(case=incident.pk, among=Among(None, since, False), limit=2) == newer[:2]
    # Its fields are leaves: None or given, a shape (the bool) per value.
    assert filtered.leaf_names == [
        "case",
        "among.kind",
        "among.since",
        "among.oldest_first",
        "limit",
    ]
    assert filtered.kinds == ["int", "str", "datetime", "bool", "int"]
    assert len(filtered.statements[connections["default"]]) == 3


@pytest.mark.parametrize(
    "call, why",
    [
        (lambda: items(case=2**63), "case=9223372036854775808 is outside a 64-bit"),
        (lambda: items(case=-(2**63) - 1), "outside a 64-bit"),
        (lambda: titles(ids=[1, 10**20]), "holds an id outside a 64-bit"),
        (
            lambda: entries(
                1,
                None,
                dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(-dt.timedelta(hours=12))),
                1,
            ),
            "outside the calendar once converted to UTC",
        ),
        (lambda: entries(1, "no\x00te", None, None), "holds a NUL"),
        (lambda: entries(1, "\ud800", None, None), "lone surrogate"),
    ],
)
def test_a_value_the_orm_would_refuse_never_reaches_the_database(
    db: Any, call: Any, why: str, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0), pytest.raises(ValueError, match=why):
        call()


def test_the_edges_of_the_range_are_read(two_cases: Any) -> None:
    assert items(case=2**63 - 1) == [] and items(case=-(2**63)) == []
    assert titles(ids=[2**63 - 1]) == []


@compiled(tuples=True)
def visible_titles(case: int, sees: bool) -> QuerySet[Any]:
    found = EvidenceItem.objects.filter(incident=case) if sees else EvidenceItem.objects.none()
    return found.order_by("id").values_list("title")


def test_an_empty_queryset_runs_no_statement(
    two_cases: Any, django_assert_num_queries: Any
) -> None:
    incident, _ = two_cases
    with django_assert_num_queries(0):
        assert visible_titles(case=incident.pk, sees=False) == []
    with django_assert_num_queries(1):
        assert visible_titles(case=incident.pk, sees=True) == [("Plain",), ("Photo",)]


def test_annotations_as_objects_or_as_text() -> None:
    def read(ids: Any, at: Any, kind: Any) -> Any:
        return None

    read.__annotations__ = {
        "ids": collections.abc.Sequence[int],
        "at": dt.datetime | None,
        "kind": "str | None",
    }
    assert CompiledQuery(read).kinds == ["Sequence[int]", "datetime", "str"]
    assert entries.kinds == ["int", "str", "datetime", "int"]


@pytest.mark.django_db(transaction=True)
def test_each_thread_has_its_own_connection_and_statement(lead: Any, monkeypatch: Any) -> None:
    cases = [Incident.open_case(by=lead, title=f"Case {n}") for n in range(2)]
    for n, case in enumerate(cases):
        for i in range(n + 1):
            attach(case, lead, title=f"{n}.{i}", text_body="text")
    read = CompiledQuery(items.build)
    compiled_for: list[Any] = []
    compile = CompiledQuery._compile

    def spy(self: CompiledQuery[Any], conn: Any, variant: Any) -> Any:
        compiled_for.append(conn)
        return compile(self, conn, variant)

    monkeypatch.setattr(CompiledQuery, "_compile", spy)
    assert [r.title for r in read(cases[0].pk)] == ["0.0"]
    found: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(case: Incident) -> None:
        try:
            barrier.wait(timeout=10)  # both threads at once, each with its connection
            found[case.pk] = [r.title for r in read(case.pk)]
            found[-case.pk] = [r.title for r in read(case.pk)]  # compiled already
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert found[cases[0].pk] == found[-cases[0].pk] == ["0.0"]
    assert found[cases[1].pk] == found[-cases[1].pk] == ["1.0", "1.1"]
    # Once for this thread's connection and once for each other thread's.
    assert len(compiled_for) == 3 and len({id(c) for c in compiled_for}) == 3
    assert compiled_for[0] is connections["default"]


def test_the_case_lists_reads_ask_the_one_visibility_rule(
    two_cases: Any, lead: Any, outsider: Any, staff: Any, django_assert_num_queries: Any
) -> None:
    """``_case_page`` takes who reads as a ``Viewer`` and asks ``visible_to``: the same
    cases for every kind of user, and none, without a statement, for who may see none."""
    from django.contrib.auth.models import AnonymousUser

    from incidents.cases.search import Viewer
    from incidents.cases.views.listing import CaseFilter, Position, _case_page

    first = Position(sort="activity", segment="0", backwards=False)

    def listed(user: Any) -> set[str]:
        rows = _case_page(viewer=Viewer.of(user), match=CaseFilter(), position=first, limit=50)
        return {row.reference for row in rows}

    def visible(user: Any) -> set[str]:
        return set(Incident.objects.visible_to(user).values_list("reference", flat=True))

    Incident.open_case(by=outsider, title="The outsider's own case")
    for user in (lead, outsider, staff):
        assert listed(user) == visible(user) and listed(user)
    assert len(listed(staff)) == Incident.objects.count() == 3
    lead.is_active = False
    with django_assert_num_queries(0):
        assert listed(lead) == set() == listed(AnonymousUser())

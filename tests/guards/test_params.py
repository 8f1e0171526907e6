"""``incidents.params``: what the edges accept (ids, counts, moments, days, text), the
URL converters and form fields built on it, and the page cursors held to the same rules."""

from __future__ import annotations

import base64
import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from incidents import params
from incidents.cases.search import BadCursor, Cursor, Segment, segments_for
from incidents.params import (
    DAY_MAX,
    DAY_MIN,
    ID_MAX,
    MOMENT_MAX,
    MOMENT_MIN,
    BoundedDateField,
    BoundedDateTimeField,
    BoundedModelMultipleChoiceField,
    IdField,
    is_clean_text,
    is_id,
    is_reference,
    is_storable,
    is_storable_day,
    parse_count,
    parse_id,
)

NOT_ASCII_DIGITS = [
    "²",
    "١٢",
    "１２",
    "٣",
    "12²",
    "1\n",
    " 1",
    "1 ",
    "+1",
    "-1",
    "1_000",
    "0x1",
    "",
]


# -- ids -------------------------------------------------------------------------------


def test_an_id_is_ascii_digits_within_64_bits() -> None:
    assert parse_id("1") == 1
    assert parse_id(str(ID_MAX)) == ID_MAX == 2**63 - 1
    assert parse_id("0042") == 42
    for text in [*NOT_ASCII_DIGITS, "0", str(ID_MAX + 1), "99999999999999999999", "9" * 10_000]:
        assert parse_id(text) is None, text
    assert parse_id(12) is None and parse_id(None) is None  # only text is parsed
    assert is_id(1) and is_id(ID_MAX)
    assert not any(is_id(v) for v in (0, -1, ID_MAX + 1, True, 1.0, "1", None))


@given(st.text())
def test_any_text_is_an_id_or_none_never_an_error(text: str) -> None:
    parsed = parse_id(text)
    assert parsed is None or (is_id(parsed) and text.isascii() and text.isdigit())


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_an_integer_as_text_is_an_id_exactly_when_in_range(number: int) -> None:
    assert (parse_id(str(number)) == number) == (1 <= number <= ID_MAX)


# -- counts ------------------------------------------------------------------------------


def test_a_count_is_ascii_digits_at_least_one_capped() -> None:
    assert parse_count("25", maximum=100) == 25
    assert parse_count("100", maximum=100) == 100
    assert parse_count("101", maximum=100) == 100
    assert parse_count("99999999999999999999", maximum=100) == 100
    assert parse_count("9" * 10_000, maximum=100) == 100  # never int() of 10,000 digits
    assert parse_count("0" * 9_999 + "7", maximum=100) == 7
    for text in [*NOT_ASCII_DIGITS, "0", "000", "all", None]:
        assert parse_count(text, maximum=100) is None, text


# -- moments and days --------------------------------------------------------------------


def test_a_moment_is_storable_in_any_zone() -> None:
    minus_12 = zoneinfo.ZoneInfo("Etc/GMT+12")  # sic: POSIX signs, UTC-12
    plus_14 = zoneinfo.ZoneInfo("Pacific/Kiritimati")
    assert is_storable(dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC))
    assert is_storable(MOMENT_MIN) and is_storable(MOMENT_MAX)
    assert not is_storable(MOMENT_MIN - dt.timedelta(microseconds=1))
    assert not is_storable(MOMENT_MAX + dt.timedelta(microseconds=1))
    # The probe's case: a UTC moment in the year 10000.
    assert not is_storable(dt.datetime(9999, 12, 31, 23, 59, tzinfo=minus_12))
    assert not is_storable(dt.datetime(1, 1, 1, 0, 0, tzinfo=plus_14))
    assert not is_storable(dt.datetime(2024, 5, 1))  # naive: no moment at all
    assert not is_storable("2024-05-01T00:00Z") and not is_storable(None)
    # Every storable moment can be shown in any zone, both ways.
    for zone in (minus_12, plus_14, zoneinfo.ZoneInfo("America/St_Johns")):
        for moment in (MOMENT_MIN, MOMENT_MAX):
            assert moment.astimezone(zone).astimezone(dt.UTC) == moment


@given(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)),
    st.sampled_from(["Etc/GMT+12", "Etc/GMT-14", "Asia/Almaty", "UTC", "America/Adak"]),
)
def test_a_storable_moment_survives_every_zone(local: dt.datetime, zone_name: str) -> None:
    moment = local.replace(tzinfo=zoneinfo.ZoneInfo(zone_name))
    if is_storable(moment):
        utc = moment.astimezone(dt.UTC)
        for shown in ("Etc/GMT+12", "Etc/GMT-14"):
            assert utc.astimezone(zoneinfo.ZoneInfo(shown)).astimezone(dt.UTC) == utc


def test_a_day_starts_and_is_followed_by_storable_moments() -> None:
    assert is_storable_day(DAY_MIN) and is_storable_day(DAY_MAX)
    assert is_storable_day(dt.date(2024, 2, 29))
    assert not is_storable_day(dt.date(9999, 12, 31)) and not is_storable_day(dt.date(1, 1, 1))
    start = dt.datetime.combine(DAY_MAX + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    assert is_storable(start)  # the list's "occurred to" filter ends at the next day's start


# -- text ----------------------------------------------------------------------------------


def test_a_clean_text_has_no_nul_and_no_lone_surrogate() -> None:
    assert is_clean_text("") and is_clean_text("Ünïcødé ² ١٢ \ufffd")
    assert not is_clean_text("a\x00b") and not is_clean_text("\ud800")
    assert not is_clean_text(None) and not is_clean_text(b"bytes")


def test_a_reference_has_the_constraints_shape() -> None:
    assert is_reference("INC-2024-0001") and is_reference("INC-2024-10000")
    for text in ("inc-2024-0001", "INC-24-0001", "INC-2024-001", "INC-2024-0001\n", "\x00"):
        assert not is_reference(text), text
    assert not is_reference("INC-2024-" + "1" * 12)  # longer than the column


# -- URL converters --------------------------------------------------------------------------


def test_an_id_out_of_range_in_a_path_is_no_match() -> None:
    assert resolve(f"/evidence/{ID_MAX}/").kwargs == {"pk": ID_MAX}
    for bad in ("99999999999999999999", str(ID_MAX + 1), "0", "%C2%B2", "%D9%A1", "9" * 10_000):
        with pytest.raises(Resolver404):
            resolve(f"/evidence/{bad}/")
    assert reverse("evidence:detail", kwargs={"pk": 7}) == "/evidence/7/"
    for bad in (0, -1, ID_MAX + 1, "²", "x"):
        with pytest.raises(NoReverseMatch):
            reverse("evidence:detail", kwargs={"pk": bad})


def test_a_reference_that_cannot_exist_in_a_path_is_no_match() -> None:
    assert resolve("/cases/INC-2024-0001/").kwargs == {"reference": "INC-2024-0001"}
    for bad in ("INC-2024-0001%00", "%00", "new2", "INC-2024-" + "1" * 12):
        with pytest.raises(Resolver404):
            resolve(f"/cases/{bad}/")
    with pytest.raises(NoReverseMatch):
        reverse("cases:detail", kwargs={"reference": "nope\x00"})


@pytest.mark.django_db
def test_a_path_that_cannot_exist_answers_404(client: Client, lead: Any) -> None:
    client.force_login(lead)
    for path in (
        "/evidence/99999999999999999999/",
        f"/evidence/{2**63}/download/",
        "/evidence/%C2%B2/",
        "/cases/INC-2024-0001%00/",
        "/cases/INC-2024-0001/hypotheses/99999999999999999999/move/",
    ):
        assert client.get(path).status_code == 404, path


# -- form fields ----------------------------------------------------------------------------


def test_an_id_field_takes_ascii_digits_in_range() -> None:
    field = IdField()
    assert field.clean("12") == 12 and field.clean(" 12 ") == 12 and field.clean(12) == 12
    for bad in ["99999999999999999999", "²", "١٢", "0", "-3", "9" * 10_000, ID_MAX + 1]:
        with pytest.raises(ValidationError):
            field.clean(bad)


def test_a_date_field_refuses_the_calendars_last_days() -> None:
    field = BoundedDateField()
    assert field.clean("2024-02-29") == dt.date(2024, 2, 29)
    assert field.clean(DAY_MAX.isoformat()) == DAY_MAX
    for bad in ("9999-12-31", "9999-12-30", "0001-01-01", "0001-01-02"):
        with pytest.raises(ValidationError, match="Give a time between"):
            field.clean(bad)


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Etc/GMT-14", "Pacific/Kiritimati", "UTC"])
def test_a_datetime_field_refuses_a_moment_past_the_calendar_in_its_zone(zone: str) -> None:
    field = BoundedDateTimeField(input_formats=["%Y-%m-%dT%H:%M"])
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        assert field.clean("2024-05-01T12:00").tzinfo is not None
        for bad in ("9999-12-31T23:59", "0001-01-01T00:00"):
            with pytest.raises(ValidationError):
                field.clean(bad)


@pytest.mark.django_db
def test_a_huge_pk_in_a_model_multiple_choice_is_a_validation_error(lead: Any) -> None:
    users = get_user_model().objects.all()
    field = BoundedModelMultipleChoiceField(queryset=users)
    assert list(field.clean([str(lead.pk)])) == [lead]
    for bad in ("99999999999999999999", str(ID_MAX + 1), "²", "١٢", "-1", "0"):
        with pytest.raises(ValidationError):
            field.clean([str(lead.pk), bad])
    # Django 6.1's own field runs ``pk__in`` with the value as it is: SQLite cannot
    # bind it (a 500), PostgreSQL compares it as a numeric and finds nothing.
    plain = forms.ModelMultipleChoiceField(queryset=users)
    if connection.vendor == "sqlite":
        with pytest.raises(OverflowError):
            plain.clean(["99999999999999999999"])
    else:
        with pytest.raises(ValidationError):
            plain.clean(["99999999999999999999"])


# -- page cursors ---------------------------------------------------------------------------


def _token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "raw, segments",
    [
        ('[0,["2024-01-01T00:00:00+00:00",99999999999999999999]]', "activity"),
        ('[0,["2024-01-01T00:00:00+00:00",-5]]', "activity"),
        ('[0,["2024-01-01T00:00:00+00:00",0]]', "activity"),
        ('[0,["9999-12-31T23:59:59-12:00",1]]', "activity"),
        ('[0,["0001-01-01T00:00:00+14:00",1]]', "activity"),
        ('[0,["2024-02-30T00:00:00+00:00",1]]', "activity"),
        ('[0,["2024-01-01T00:00:00",1]]', "activity"),  # naive
        ('[0,["\\u0000"]]', "reference"),
        ('[0,["\\ud800"]]', "reference"),
        ('[0,["' + "A" * 50 + '"]]', "reference"),
        ("[0,[1e999,1]]", "rank"),
        ("[0,[NaN,1]]", "rank"),
        ("[0,[" + "9" * 400 + ",1]]", "rank"),
    ],
)
def test_a_cursor_with_a_value_the_database_would_refuse_is_bad(raw: str, segments: str) -> None:
    by_name = {
        "activity": segments_for("activity"),
        "reference": segments_for("reference"),
        "rank": [Segment(("rank", "id"))],
    }
    with pytest.raises(BadCursor):
        Cursor.decode(_token(raw), by_name[segments])


def test_a_cursor_within_the_rules_is_read() -> None:
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    token = Cursor(0, (at, ID_MAX)).encode()
    assert Cursor.decode(token, segments_for("activity")).values == (at, ID_MAX)
    assert Cursor.decode(_token("[0,[0.5,3]]"), [Segment(("rank", "id"))]).values == (0.5, 3)


def test_the_converters_are_registered_once() -> None:
    from django.urls.converters import get_converters

    converters = get_converters()
    assert isinstance(converters["id"], params.IdConverter)
    assert isinstance(converters["ref"], params.ReferenceConverter)

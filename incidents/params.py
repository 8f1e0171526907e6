"""What the edges accept: the few rules every URL, query string, cursor and form
applies before a value reaches a query (docs/security.md, "Input at the edges").

A value the ORM or the database would refuse must be stopped here, as a 404 (a
path that cannot exist) or a form error / 400 (a bad parameter), never a 500:

- an **id** is ASCII digits within a 64-bit signed column, 1 .. ``ID_MAX``
  (``str.isdigit()`` also accepts ``²`` and ``١٢``, which ``int()`` refuses or
  reads as another number; 20 digits overflow the column);
- a **count** (rows to show, a page) is ASCII digits, at least 1, and is
  capped by the caller's maximum;
- a **moment** is one that Python and the database can both hold once
  converted to UTC and back to any zone: within ``MOMENT_MIN`` ..
  ``MOMENT_MAX``, two days inside the calendar's years 1 .. 9999, so
  ``9999-12-31T23:59`` in ``Etc/GMT+12`` (a UTC moment in the year 10000) is
  refused rather than overflowing; a **day** is one whose start and next
  day's start are such moments;
- a **text** compared with a column holds no NUL (PostgreSQL cannot store one)
  and no lone surrogate (it cannot be encoded as UTF-8).

``IdConverter`` (``<id:pk>``) and ``ReferenceConverter`` (``<ref:reference>``)
apply the rules in the URLconf: importing this module registers them. The
form fields (``IdField``, ``BoundedDateField``, ``BoundedDateTimeField``,
``BoundedModelMultipleChoiceField``) apply them in forms.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import register_converter

# The largest value of a 64-bit signed column (bigint, SQLite's INTEGER).
ID_MAX = 2**63 - 1
# The largest value of a 32-bit signed column (integer: versions, positions).
INT_MAX = 2**31 - 1
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: used with fullmatch (``$`` would allow "1\n")

# Two days inside the years 1 .. 9999: every zone's offset (local mean times
# included) is well under a day, so a moment in this range stays within
# Python's calendar in any zone it is shown in, and the day after a date in
# range starts within it too.
MOMENT_MIN = dt.datetime(1, 1, 3, tzinfo=dt.UTC)
MOMENT_MAX = dt.datetime(9999, 12, 29, 23, 59, 59, 999999, tzinfo=dt.UTC)
DAY_MIN = MOMENT_MIN.date()
DAY_MAX = MOMENT_MAX.date() - dt.timedelta(days=1)

OUT_OF_RANGE = (
    f"Give a time between {DAY_MIN:%Y-%m-%d} and {DAY_MAX:%Y-%m-%d} (the calendar's edges, "
    "after time-zone conversion)."
)
NOT_AN_ID = "Not a valid id."


def is_id(value: Any) -> bool:
    """Whether VALUE is an ``int`` (not a bool) a 64-bit id column can hold, 1 .. ID_MAX."""
    return type(value) is int and 1 <= value <= ID_MAX


def parse_id(text: Any) -> int | None:
    """TEXT as an id: ASCII digits only, 1 .. ID_MAX; None for anything else
    (``²``, ``١٢``, ``-1``, ``0``, 20 digits, ``"12\\n"``, not a string)."""
    if not isinstance(text, str) or len(text) > len(str(ID_MAX)) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= ID_MAX else None


def parse_count(text: Any, *, maximum: int) -> int | None:
    """TEXT as a positive count: ASCII digits only, at least 1, MAXIMUM at most
    (a bigger number asks for everything there is: it is MAXIMUM); None for
    anything else, so the caller uses its default."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    digits = text.lstrip("0")
    if not digits:
        return None
    # Never int() an arbitrarily long string (Python refuses over 4,300 digits).
    if len(digits) > len(str(maximum)):
        return maximum
    return min(int(digits), maximum)


def is_storable(moment: Any) -> bool:
    """Whether MOMENT (an aware datetime) can be stored and shown back in any
    zone: in UTC it is within MOMENT_MIN .. MOMENT_MAX. A naive datetime, or
    one whose conversion to UTC overflows the calendar, is not."""
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        return False
    try:
        utc = moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return False
    return MOMENT_MIN <= utc <= MOMENT_MAX


def is_storable_day(day: Any) -> bool:
    """Whether DAY (a date) starts, and is followed by a day that starts, at a
    storable moment: DAY_MIN .. DAY_MAX."""
    return isinstance(day, dt.date) and DAY_MIN <= day <= DAY_MAX


def is_clean_text(text: Any) -> bool:
    """Whether TEXT is a string a text column can be compared with: no NUL
    (PostgreSQL refuses it), no lone surrogate (not encodable as UTF-8)."""
    if not isinstance(text, str) or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- URL converters ------------------------------------------------------------------


class IdConverter:
    """``<id:pk>``: an id (``parse_id``); anything else is no match, a 404."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        parsed = parse_id(value)
        if parsed is None:
            raise ValueError(NOT_AN_ID)  # the resolver tries the next pattern, then 404
        return parsed

    def to_url(self, value: Any) -> str:
        if isinstance(value, str):
            value = parse_id(value)
        if not is_id(value):
            raise ValueError(NOT_AN_ID)  # reverse() answers NoReverseMatch
        return str(value)


# A case's reference, as the database's check constraint has it (``INC-2024-0001``),
# no longer than its column (20 characters).
REFERENCE_MAX = 20
_REFERENCE = re.compile(r"INC-[0-9]{4}-[0-9]{4,}")


def is_reference(text: Any) -> bool:
    """Whether TEXT has a case reference's shape (``INC-2024-0001``, at most
    REFERENCE_MAX characters): anything else names no case."""
    return isinstance(text, str) and len(text) <= REFERENCE_MAX and bool(_REFERENCE.fullmatch(text))


class ReferenceConverter:
    """``<ref:reference>``: a case reference, ``INC-YYYY-NNNN`` with 4 or more
    digits, at most REFERENCE_MAX characters; anything else is a 404."""

    regex = _REFERENCE.pattern

    def to_python(self, value: str) -> str:
        if not is_reference(value):
            raise ValueError("Not a case reference.")
        return value

    def to_url(self, value: Any) -> str:
        value = str(value)
        if not is_reference(value):
            raise ValueError("Not a case reference.")  # reverse() answers NoReverseMatch
        return value


register_converter(IdConverter, "id")
register_converter(ReferenceConverter, "ref")


# -- form fields ---------------------------------------------------------------------


class IdField(forms.IntegerField):
    """An id posted in a form (a hidden user id): ASCII digits, 1 .. ID_MAX."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            parsed: int | None = value if is_id(value) else None
        else:
            parsed = parse_id(str(value).strip())
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class BoundedDateField(forms.DateField):
    """A date whose day starts at a storable moment, and its next day too (DAY_MIN .. DAY_MAX)."""

    def to_python(self, value: Any) -> dt.date | None:
        day = super().to_python(value)
        if day is not None and not is_storable_day(day):
            raise ValidationError(OUT_OF_RANGE, code="out_of_range")
        return day


class BoundedDateTimeField(forms.DateTimeField):
    """A date and time read in the current time zone (as Django's field does)
    that is a storable moment once converted to UTC (``is_storable``)."""

    def to_python(self, value: Any) -> dt.datetime | None:
        try:
            moment = super().to_python(value)
        except OverflowError:  # a zone's conversion past the calendar's edge
            raise ValidationError(OUT_OF_RANGE, code="out_of_range") from None
        if moment is not None and not is_storable(moment):
            raise ValidationError(OUT_OF_RANGE, code="out_of_range")
        return moment


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's field, but an id out of a 64-bit column's range (or not ASCII
    digits) is refused before any query: Django 6.1 checks ``pk=value`` lazily
    and then runs ``pk__in=[...]`` with the value as it is, which SQLite
    refuses with an OverflowError (a 500; PostgreSQL compares it as a numeric
    and finds nothing)."""

    def _check_values(self, value: Any) -> Any:
        if self.to_field_name is None:
            for pk in value:
                if (pk if is_id(pk) else parse_id(str(pk))) is None:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": pk},
                    )
        return super()._check_values(value)  # type: ignore[misc]  # not in django-stubs

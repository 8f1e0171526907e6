"""The chronology's arithmetic, in plain Python: clock corrections and interval propagation.

Nothing here knows Django; ``docs/chronology.md`` states the rules and the
tests drive them with generated timelines (``tests/chronology/test_chronology_rules.py``).

Times are integers, microseconds since the Unix epoch (UTC); durations are
integers of microseconds. Integers keep every comparison exact: a
contradiction is never an artefact of rounding.

**Correction.** A clock that runs ahead of true time has a positive offset:
it shows ``true + offset``. A time read on it is corrected by subtracting the
offset, ``corrected = recorded − offset``, and its uncertainty combines the
reading's own uncertainty ``a`` and the offset's ``b`` in quadrature,
``u = √(a² + b²)`` (rounded up to the microsecond): the two errors are
independent, and both at their worst at once is the exception. The bound is
exact for errors whose normalised sizes lie within the unit circle,
``(e_a/a)² + (e_b/b)² ≤ 1`` (Cauchy-Schwarz); when both errors are at their
extremes together the true time can lie outside it by up to ``a + b − u``.

**Propagation.** Each entry of the chronology is one time point (a moment)
or two (an interval's start and end), each with a window ``[lo, hi]``. An
ordering stated by an investigator, and the start of an interval before its
end, are difference constraints ``t_target − t_source ≤ weight`` (a simple
temporal network). The tightest windows consistent with every window and
every constraint are shortest-path distances in the distance graph, with a
virtual origin linked to each point by its window: ``hi`` is tightened along
the edges (``hi[target] ≤ hi[source] + weight``, Bellman-Ford with a queue)
and ``lo`` backwards along them (``lo[source] ≥ lo[target] − weight``). A
contradiction is a negative cycle through the origin, seen as an upper bound
that falls below the point's own lower bound; its constraints are reported,
left out, and the propagation runs again without them, so one wrong ordering
does not hide every window.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

US = 1_000_000  # microseconds per second
# A bound beyond any real time (about 31,700 years from 1970): an unknown time.
UNBOUNDED = 10**18
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_us(moment: dt.datetime) -> int:
    """An aware datetime as microseconds since the epoch."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def from_us(value: int) -> dt.datetime:
    """Microseconds since the epoch as an aware datetime in UTC."""
    return _EPOCH + dt.timedelta(microseconds=value)


def duration_us(value: dt.timedelta | None) -> int:
    """A duration as microseconds; None (not stated) as 0."""
    if value is None:
        return 0
    return (value.days * 86_400 + value.seconds) * US + value.microseconds


def is_bounded(value: int) -> bool:
    return -UNBOUNDED < value < UNBOUNDED


# -- correction -----------------------------------------------------------------------


def corrected(recorded: int, offset: int) -> int:
    """The true time of a reading RECORDED on a clock that runs OFFSET ahead."""
    return recorded - offset


def quadrature(*uncertainties: int) -> int:
    """√(a² + b² + …), rounded up to a whole microsecond (exact integer square root)."""
    total = sum(u * u for u in uncertainties)
    root = math.isqrt(total)
    return root if root * root == total else root + 1


@dataclass(frozen=True, slots=True)
class Reading:
    """A time as read on a clock: RECORDED ± UNCERTAINTY, on a clock that runs
    OFFSET ± OFFSET_UNCERTAINTY ahead of true time (0 ± 0: no clock)."""

    recorded: int
    uncertainty: int = 0
    offset: int = 0
    offset_uncertainty: int = 0

    @property
    def corrected(self) -> int:
        return corrected(self.recorded, self.offset)

    @property
    def combined_uncertainty(self) -> int:
        return quadrature(self.uncertainty, self.offset_uncertainty)

    @property
    def window(self) -> tuple[int, int]:
        u = self.combined_uncertainty
        return self.corrected - u, self.corrected + u


# -- propagation ------------------------------------------------------------------------


class Edge(NamedTuple):
    """``t[target] − t[source] ≤ weight``; TAG names the stated constraint it
    comes from (None: a rule of the model, such as an interval's start before
    its end, which is never left out)."""

    source: int
    target: int
    weight: int
    tag: Hashable | None = None


def after(later: int, earlier: int, tag: Hashable | None = None, gap: int = 0) -> Edge:
    """LATER is at least GAP after EARLIER: ``t[earlier] − t[later] ≤ −gap``."""
    return Edge(later, earlier, -gap, tag)


@dataclass(frozen=True, slots=True)
class Conflict:
    """A contradiction: the constraints along PATH (from the point ORIGIN to the
    point POINT) say POINT is no later than ORIGIN, yet ORIGIN's window ends
    before POINT's begins."""

    point: int
    origin: int
    path: tuple[Edge, ...]

    @property
    def tags(self) -> tuple[Hashable, ...]:
        return tuple(dict.fromkeys(e.tag for e in self.path if e.tag is not None))

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys([self.origin, *(e.target for e in self.path)]))


@dataclass(slots=True)
class Propagation:
    lo: list[int]
    hi: list[int]
    conflicts: list[Conflict] = field(default_factory=list)
    dropped: set[Hashable] = field(default_factory=set)

    @property
    def consistent(self) -> bool:
        return not self.conflicts


def propagate(lo: Sequence[int], hi: Sequence[int], edges: Iterable[Edge]) -> Propagation:
    """The tightest windows of the points given their windows [LO, HI] and EDGES.

    Each contradiction found is reported with the stated constraints behind it,
    which are then left out, and the propagation starts again; an edge without
    a tag cannot be left out, so a contradiction made of untagged edges alone
    (an interval whose own windows cross) stops the search and is reported.
    """
    if len(lo) != len(hi):
        raise ValueError("lo and hi must have one bound per point")
    for low, high in zip(lo, hi, strict=True):
        if low > high:
            raise ValueError("a window ends before it starts")
    remaining = list(edges)
    for edge in remaining:
        if not (0 <= edge.source < len(lo) and 0 <= edge.target < len(lo)):
            raise ValueError(f"edge {edge} names a point that does not exist")
    result = Propagation(list(lo), list(hi))
    while True:
        upper, conflict = _upper_bounds(lo, hi, remaining)
        if conflict is None:
            break
        result.conflicts.append(conflict)
        tags = set(conflict.tags)
        if not tags:
            return result  # nothing stated to leave out: the windows stay as given
        result.dropped |= tags
        remaining = [e for e in remaining if e.tag not in tags]
    result.hi = upper
    result.lo = _lower_bounds(lo, remaining)
    return result


def _adjacency(edges: Sequence[Edge], reverse: bool) -> dict[int, list[Edge]]:
    """The edges by the point they leave (REVERSE: the point they reach); only
    points with an edge are keys: most of a chronology's points have none."""
    table: dict[int, list[Edge]] = defaultdict(list)
    for edge in edges:
        table[edge.target if reverse else edge.source].append(edge)
    return table


def _upper_bounds(
    lo: Sequence[int], hi: Sequence[int], edges: Sequence[Edge]
) -> tuple[list[int], Conflict | None]:
    """Bellman-Ford with a queue (SPFA) from the origin: ``hi`` along EDGES.
    The first upper bound that falls below its point's lower bound is a
    contradiction, traced back through the edges that lowered it."""
    upper = list(hi)
    if not edges:
        return upper, None
    outgoing = _adjacency(edges, reverse=False)
    through: dict[int, Edge] = {}
    queue = deque(dict.fromkeys(e.source for e in edges))
    queued = set(queue)
    while queue:
        node = queue.popleft()
        queued.discard(node)
        bound = upper[node]
        for edge in outgoing.get(node, ()):
            candidate = bound + edge.weight
            target = edge.target
            if candidate < upper[target]:
                upper[target] = candidate
                through[target] = edge
                if candidate < lo[target]:
                    return upper, _trace(target, through)
                if target not in queued:
                    queued.add(target)
                    queue.append(target)
    return upper, None


def _trace(point: int, through: dict[int, Edge]) -> Conflict:
    path: list[Edge] = []
    seen = {point}
    node = point
    while (edge := through.get(node)) is not None:
        path.append(edge)
        node = edge.source
        if node in seen:  # a cycle of edges alone (negative weights): stop there
            break
        seen.add(node)
    path.reverse()
    return Conflict(point=point, origin=node, path=tuple(path))


def _lower_bounds(lo: Sequence[int], edges: Sequence[Edge]) -> list[int]:
    """``lo`` backwards along EDGES: ``lo[source] ≥ lo[target] − weight``. Run
    only on a consistent set of edges (after ``_upper_bounds`` found none)."""
    lower = list(lo)
    if not edges:
        return lower
    incoming = _adjacency(edges, reverse=True)
    queue = deque(dict.fromkeys(e.target for e in edges))
    queued = set(queue)
    while queue:
        node = queue.popleft()
        queued.discard(node)
        bound = lower[node]
        for edge in incoming.get(node, ()):
            candidate = bound - edge.weight
            source = edge.source
            if candidate > lower[source]:
                lower[source] = candidate
                if source not in queued:
                    queued.add(source)
                    queue.append(source)
    return lower


# -- reading and writing durations ---------------------------------------------------------

_UNITS = {
    "d": 86_400 * US,
    "day": 86_400 * US,
    "days": 86_400 * US,
    "h": 3600 * US,
    "hr": 3600 * US,
    "hour": 3600 * US,
    "hours": 3600 * US,
    "m": 60 * US,
    "min": 60 * US,
    "mins": 60 * US,
    "minute": 60 * US,
    "minutes": 60 * US,
    "s": US,
    "sec": US,
    "secs": US,
    "second": US,
    "seconds": US,
    "ms": 1000,
}


class DurationError(ValueError):
    pass


def parse_duration(text: str, *, signed: bool = True) -> int:
    """A duration as people write it, in microseconds (to the millisecond).

    ``+4 min 10 s``, ``-2m30s``, ``1 h 5 min``, ``90 s``, ``0.5 s``, ``250 ms``,
    ``+00:04:10`` or ``-04:10`` (h:mm:ss or mm:ss), or a bare number of
    seconds. A leading ``±`` is read as no sign (an uncertainty). SIGNED:
    whether a minus sign is allowed.
    """
    raw = text.strip().replace("−", "-").replace(",", " ")
    if raw.startswith("±"):
        raw = raw[1:].strip()
    if not raw:
        raise DurationError("Give a duration, such as 4 min 10 s.")
    sign = 1
    if raw[0] in "+-":
        if raw[0] == "-":
            if not signed:
                raise DurationError("A duration here cannot be negative.")
            sign = -1
        raw = raw[1:].strip()
    total = _clock_notation(raw) if ":" in raw else _unit_notation(raw)
    if total > 366 * 86_400 * US:
        raise DurationError("That is more than a year: check the duration.")
    return sign * total


def _seconds_value(number: str) -> float:
    try:
        value = float(number)
    except ValueError:
        raise DurationError(f"“{number}” is not a number.") from None
    if not math.isfinite(value) or value < 0:
        raise DurationError(f"“{number}” is not a usable number.")
    return value


def _clock_notation(raw: str) -> int:
    parts = raw.split(":")
    if len(parts) not in (2, 3) or any(not p.strip() for p in parts):
        raise DurationError("Write a duration as h:mm:ss or mm:ss, such as 0:04:10.")
    numbers = [_seconds_value(p.strip()) for p in parts]
    if any(n != int(n) for n in numbers[:-1]):
        raise DurationError("Only the seconds may have a fraction, as in 4:10.5.")
    if len(numbers) == 3:
        hours, minutes, seconds = numbers
    else:
        hours, (minutes, seconds) = 0, numbers
    if minutes >= 60 and len(numbers) == 3 or seconds >= 60:
        raise DurationError("Minutes and seconds go up to 59.")
    return round((hours * 3600 + minutes * 60 + seconds) * 1000) * 1000


def _unit_notation(raw: str) -> int:
    tokens: list[str] = []
    current = ""
    for char in raw:
        if char.isspace():
            if current:
                tokens.append(current)
            current = ""
        elif current and (char.isalpha() != current[-1].isalpha()):
            tokens.append(current)
            current = char
        else:
            current += char
    if current:
        tokens.append(current)
    if len(tokens) == 1:
        return round(_seconds_value(tokens[0]) * 1000) * 1000
    if len(tokens) % 2:
        raise DurationError("Put a unit after each number, as in 4 min 10 s.")
    total_ms = 0.0
    for number, unit in zip(tokens[::2], tokens[1::2], strict=True):
        scale = _UNITS.get(unit.lower())
        if scale is None:
            raise DurationError(f"“{unit}” is not a unit: use h, min, s or ms.")
        total_ms += _seconds_value(number) * scale / 1000
    return round(total_ms) * 1000


def _parts(value: int) -> list[str]:
    """|VALUE| in words: 1 h 5 min, 4 min 10 s, 2.5 s, 250 ms."""
    value = abs(value)
    if value == 0:
        return ["0 s"]
    if value < US:
        ms = value / 1000
        return [f"{ms:g} ms"]
    if value < 10 * US and value % US:
        return [f"{round(value / US, 1):g} s"]
    seconds = round(value / US)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} d")
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs and not days:
        parts.append(f"{secs} s")
    return parts


def format_offset(value: int) -> str:
    """A clock's offset with its sign: ``+4 min 10 s``, ``−2 min 30 s``, ``0 s``."""
    words = " ".join(_parts(value))
    if value > 0:
        return "+" + words
    if value < 0:
        return "−" + words
    return words


def format_duration(value: int) -> str:
    """A duration without sign: ``1 min``, ``2.2 s``."""
    return " ".join(_parts(value))


def format_uncertainty(value: int) -> str:
    """``± 2 s``; an empty text for 0."""
    return f"± {format_duration(value)}" if value else ""


def input_duration(value: int) -> str:
    """VALUE written back into a form field as ``parse_duration`` reads it."""
    if value == 0:
        return "0 s"
    sign = "-" if value < 0 else ""
    value = abs(value)
    seconds, micro = divmod(value, US)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or micro or not parts:
        number = f"{secs}.{micro // 1000:03d}".rstrip("0").rstrip(".") if micro else str(secs)
        parts.append(f"{number} s")
    return sign + " ".join(parts)

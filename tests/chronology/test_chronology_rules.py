"""The chronology's rules as properties (incidents/chronology/intervals.py, docs/chronology.md).

From a known true timeline, clocks with random offsets, and reading and
offset errors within the stated uncertainties: every true time lies within
its corrected window, and within its window after propagation; no
contradiction is reported. An ordering that contradicts the true order by
more than the windows allow, or a clock offset stated wrong by as much, is
reported, naming the ordering. No database: these run in milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from incidents.chronology.intervals import (
    UNBOUNDED,
    US,
    DurationError,
    Edge,
    Reading,
    after,
    format_offset,
    format_uncertainty,
    input_duration,
    parse_duration,
    propagate,
    quadrature,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = 1_732_720_000 * US  # 2024-11-27, 15:06:40 UTC


# -- correction ----------------------------------------------------------------------------


def test_corrected_time_is_recorded_minus_offset() -> None:
    # A phone 4 min 10 s fast stamped 20:18:16: it happened at 20:14:06.
    reading = Reading(recorded=T0 + 250 * US, uncertainty=1 * US, offset=250 * US)
    assert reading.corrected == T0
    # A clock 30 s slow (negative offset) shows earlier than the truth.
    assert Reading(recorded=T0 - 30 * US, offset=-30 * US).corrected == T0


def test_uncertainties_add_in_quadrature() -> None:
    assert quadrature(3 * US, 4 * US) == 5 * US
    assert Reading(T0, 1 * US, 0, 2 * US).combined_uncertainty == math.isqrt(5 * US * US) + 1
    assert quadrature(0, 7) == 7
    assert quadrature() == 0
    # Rounded up: never narrower than the exact root.
    for a, b in ((1, 1), (2, 3), (10**6, 10**6 + 1)):
        assert quadrature(a, b) >= math.hypot(a, b)
        assert quadrature(a, b) - 1 < math.hypot(a, b)


def test_the_linear_worst_case_can_fall_outside_the_quadrature_window() -> None:
    """Documented limit: both errors at their extremes at once exceed √(a² + b²)."""
    a, b = 60 * US, 60 * US
    # True time T0, true offset 0: the clock read a late, its offset stated b too low.
    window = Reading(T0 + a, a, -b, b).window
    assert not window[0] <= T0 <= window[1]
    assert quadrature(a, b) < a + b


@st.composite
def joint_errors(draw: st.DrawFn, count: int) -> tuple[float, list[float]]:
    """A clock's offset error s and each reading's error t_i (as fractions of
    their uncertainties) with s² + t_i² ≤ 1: within the stated uncertainties
    jointly, the case the quadrature rule bounds exactly."""
    s = draw(st.floats(-1, 1))
    room = math.sqrt(max(0.0, 1 - s * s))
    ts = [draw(st.floats(-1, 1)) * room for _ in range(count)]
    return s, ts


@dataclass
class Truth:
    """A generated case: true times, clocks and what was recorded on them."""

    true: list[int]  # per point
    lo: list[int]
    hi: list[int]
    clock_of: list[int]
    order: list[int]  # point indexes in true order


@st.composite
def timelines(draw: st.DrawFn) -> Truth:
    clocks = draw(st.integers(1, 4))
    offsets = [draw(st.integers(-600 * US, 600 * US)) for _ in range(clocks)]
    offset_u = [draw(st.integers(0, 90 * US)) for _ in range(clocks)]
    errors = [draw(joint_errors(12)) for _ in range(clocks)]
    n = draw(st.integers(2, 12))
    true = sorted(T0 + draw(st.integers(0, 3600 * US)) for _ in range(n))
    clock_of, lo, hi = [], [], []
    for i, t in enumerate(true):
        c = draw(st.integers(0, clocks - 1))
        s, ts = errors[c]
        reading_u = draw(st.integers(0, 120 * US))
        # What the clock showed (its offset, plus a reading error) and what we
        # believe its offset is (the truth plus an error): within the ellipse.
        reading_error = int(ts[i] * reading_u)
        offset_error = int(s * offset_u[c])
        recorded = t + offsets[c] + reading_error
        stated_offset = offsets[c] + offset_error
        low, high = Reading(recorded, reading_u, stated_offset, offset_u[c]).window
        clock_of.append(c)
        lo.append(low)
        hi.append(high)
    return Truth(true, lo, hi, clock_of, list(range(n)))


@FAST
@given(timelines())
def test_every_true_time_lies_within_its_corrected_window(case: Truth) -> None:
    for t, low, high in zip(case.true, case.lo, case.hi, strict=True):
        assert low <= t <= high


@FAST
@given(timelines(), st.data())
def test_propagation_keeps_every_true_time_and_finds_no_contradiction(
    case: Truth, data: st.DataObject
) -> None:
    n = len(case.true)
    pairs = data.draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=15)
    )
    edges = []
    for tag, (i, j) in enumerate(pairs):
        if case.true[i] >= case.true[j] and i != j:
            edges.append(after(i, j, tag))  # i truly came after j: a true ordering
    result = propagate(case.lo, case.hi, edges)
    assert result.consistent and not result.dropped
    for i, t in enumerate(case.true):
        assert result.lo[i] <= t <= result.hi[i]
        assert case.lo[i] <= result.lo[i] and result.hi[i] <= case.hi[i]  # never wider


@FAST
@given(timelines(), st.data())
def test_propagation_gives_the_tightest_windows(case: Truth, data: st.DataObject) -> None:
    """Each bound is reached by some assignment satisfying every window and
    ordering: the window cannot be narrower (checked on a chain of orderings)."""
    n = len(case.true)
    edges = [after(i + 1, i, i) for i in range(n - 1)]  # the true order, as a chain
    result = propagate(case.lo, case.hi, edges)
    assert result.consistent
    for k in range(n):
        # The earliest assignment: every point at its propagated lower bound
        # satisfies the chain; likewise the latest.
        for bounds in (result.lo, result.hi):
            assert all(bounds[i + 1] >= bounds[i] for i in range(n - 1))
            assert all(case.lo[i] <= bounds[i] <= case.hi[i] for i in range(n))
        assert result.lo[k] <= result.hi[k]


@FAST
@given(timelines(), st.data())
def test_an_ordering_against_the_true_order_is_reported(case: Truth, data: st.DataObject) -> None:
    n = len(case.true)
    # Pairs where j truly came after i, by more than both windows can absorb.
    apart = [(i, j) for i in range(n) for j in range(n) if case.hi[i] < case.lo[j]]
    assume(apart)
    i, j = data.draw(st.sampled_from(apart))
    result = propagate(case.lo, case.hi, [after(i, j, "wrong")])
    assert not result.consistent
    assert result.dropped == {"wrong"}
    conflict = result.conflicts[0]
    assert conflict.tags == ("wrong",)
    assert set(conflict.points) == {i, j}
    # Left out, the rest is propagated as if it had not been stated.
    assert result.lo == case.lo and result.hi == case.hi


@FAST
@given(
    st.integers(-600, 600).map(lambda s: s * US),
    st.integers(0, 60).map(lambda s: s * US),
    st.integers(0, 60).map(lambda s: s * US),
)
def test_a_clock_offset_stated_wrong_is_reported(wrong_by: int, log_u: int, phone_u: int) -> None:
    """The log's override ran from T0 to T0 + 20 s (± log_u); a phone 4 min 10 s
    fast shows the flag 5 s into it, and the flag is stated to be seen during
    the override. With the phone's offset stated WRONG_BY off, a contradiction
    is reported exactly when its window leaves the override's, naming the ordering."""
    start, end = Reading(T0, 0, 0, log_u).window, Reading(T0 + 20 * US, 0, 0, log_u).window
    phone_offset = 250 * US
    recorded = T0 + 5 * US + phone_offset
    phone = Reading(recorded, 0, phone_offset - wrong_by, phone_u).window
    lo, hi = [start[0], end[0], phone[0]], [start[1], end[1], phone[1]]
    edges = [after(1, 0), after(2, 0, "during"), after(1, 2, "during")]
    result = propagate(lo, hi, edges)
    inside = phone[1] >= start[0] and phone[0] <= end[1]
    assert result.consistent == inside
    if not inside:
        assert result.dropped == {"during"}
    if abs(wrong_by) > 20 * US + log_u + phone_u:
        assert not result.consistent
    if wrong_by == 0:
        assert result.consistent


def test_a_chain_is_traced_and_each_contradiction_reported_on_its_own() -> None:
    # Three points in a chain a ≤ b ≤ c stated, but c's window ends before a's.
    lo = [T0 + 100 * US, T0 - 100 * US, T0 - 50 * US, T0 + 1000 * US, T0]
    hi = [T0 + 110 * US, T0 + 200 * US, T0 - 40 * US, T0 + 1010 * US, T0 + 10 * US]
    edges = [
        after(1, 0, "b after a"),
        after(2, 1, "c after b"),
        after(4, 3, "e after d"),  # another, independent contradiction
    ]
    result = propagate(lo, hi, edges)
    assert len(result.conflicts) == 2
    assert result.dropped == {"b after a", "c after b", "e after d"}
    first = next(c for c in result.conflicts if "c after b" in c.tags)
    assert first.tags == ("c after b", "b after a")  # from c, whose window ends too early
    assert set(first.points) == {0, 1, 2}


def test_unknown_times_get_windows_from_their_orderings() -> None:
    lo = [T0, -UNBOUNDED, T0 + 60 * US]
    hi = [T0 + 10 * US, UNBOUNDED, T0 + 70 * US]
    result = propagate(lo, hi, [after(1, 0, 1), after(2, 1, 2)])
    assert result.consistent
    assert (result.lo[1], result.hi[1]) == (T0, T0 + 70 * US)


def test_an_interval_keeps_its_start_before_its_end() -> None:
    # start window [0, 100], end window [-50, 50]: the start is at most 50.
    result = propagate([T0, T0 - 50 * US], [T0 + 100 * US, T0 + 50 * US], [after(1, 0)])
    assert result.consistent
    assert result.hi[0] == T0 + 50 * US and result.lo[1] == T0


def test_propagate_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        propagate([1], [0], [])
    with pytest.raises(ValueError):
        propagate([0], [1], [Edge(0, 3, 0)])


# -- reading and writing durations ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("+4 min 10 s", 250 * US),
        ("4m10s", 250 * US),
        ("-2 min 30 s", -150 * US),
        ("−30 s", -30 * US),
        ("90", 90 * US),
        ("0.5 s", US // 2),
        ("250 ms", 250_000),
        ("1 h 5 min", 3900 * US),
        ("+00:04:10", 250 * US),
        ("-04:10", -250 * US),
        ("4:10.5", 250 * US + US // 2),
        ("± 2 s", 2 * US),
        ("2 days", 2 * 86400 * US),
    ],
)
def test_durations_as_people_write_them(text: str, micro: int) -> None:
    assert parse_duration(text) == micro


@pytest.mark.parametrize(
    "text", ["", "abc", "4 parsecs", "4 min 10", "1:2:3:4", "1:75", "nan", "inf s", "400 days"]
)
def test_unreadable_durations_say_why(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_an_uncertainty_cannot_be_negative() -> None:
    with pytest.raises(DurationError):
        parse_duration("-2 s", signed=False)


@FAST
@given(st.integers(-300 * 86400 * 1000, 300 * 86400 * 1000).map(lambda ms: ms * 1000))
def test_a_duration_written_back_reads_the_same(micro: int) -> None:
    assert parse_duration(input_duration(micro)) == micro


def test_durations_in_words() -> None:
    assert format_offset(250 * US) == "+4 min 10 s"
    assert format_offset(-150 * US) == "−2 min 30 s"
    assert format_offset(0) == "0 s"
    assert format_uncertainty(2_236_068) == "± 2.2 s"
    assert format_uncertainty(60 * US) == "± 1 min"
    assert format_uncertainty(0) == ""
    assert format_uncertainty(500_000) == "± 500 ms"

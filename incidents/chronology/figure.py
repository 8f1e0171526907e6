"""The geometry of the chronology's SVG timeline: numbers only.

``templates/chronology/figure.jinja`` turns a ``Figure`` into markup. A lane
per clock (and one for the incident, one for entries read on no clock);
moments are dots on their uncertainty window, intervals bars; a window an
ordering narrowed is drawn darker; an entry in a contradiction is outlined.

Dense data is aggregated, not drawn mark by mark: a lane with more than
``LANE_MARKS`` entries in the range, or whose marks do not fit in
``MAX_ROWS`` rows, and the busiest lanes until at most ``MAX_MARKS`` marks
are drawn in all, become rows of bins (``BIN_PX`` wide) shaded by how many
entries each holds; each bin links to the range it covers (zoom in). So the
drawing stays within a bounded size whatever the size of the case
(``docs/performance.md``: the heavy case's SVG).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from incidents.chronology.chronicle import (
    MONTHS,
    Chronology,
    Entry,
    ceil_second,
    floor_second,
    span_words,
    time_words,
)
from incidents.chronology.intervals import US, format_uncertainty, from_us, to_us

WIDTH = 1000
LEFT = 230  # lane labels to the left of it
RIGHT = 990
AXIS_Y = 34
ROW_H = 18
LANE_PAD = 5
MAX_ROWS = 4
LANE_MARKS = 60
MAX_MARKS = 300
MAX_LANES = 16
BIN_PX = 12
COLUMNS = -(-(RIGHT - LEFT) // BIN_PX)
# What a mark and a bin weigh in the SVG at most (bytes, about), and the
# drawing's budget: the heavy case's SVG stays under 300 kB.
MARK_BYTES = 480
BIN_BYTES = 230
BUDGET = 260_000
LABEL_CHARS = 30
CHAR_PX = 6.2
MIN_SPAN = 2 * US
MAX_SPAN = 200 * 366 * 86_400 * US
PAGE_ROWS = 100

STEPS = [
    s * US
    for s in (
        1,
        2,
        5,
        10,
        15,
        30,
        60,
        120,
        300,
        600,
        900,
        1800,
        3600,
        7200,
        10800,
        21600,
        43200,
        86400,
        2 * 86400,
        7 * 86400,
        14 * 86400,
        30 * 86400,
        91 * 86400,
        182 * 86400,
        365 * 86400,
    )
]


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int

    @property
    def width(self) -> int:
        return self.end - self.start

    def contains(self, lo: int, hi: int) -> bool:
        return hi >= self.start and lo <= self.end


def local_param(value: int, zone: zoneinfo.ZoneInfo) -> str:
    """A time as the ``from`` / ``to`` query parameters carry it: local wall time, seconds."""
    return from_us(value).astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


def read_param(text: str, zone: zoneinfo.ZoneInfo) -> int | None:
    """A ``from`` / ``to`` parameter back to microseconds; None if unreadable."""
    if not text or len(text) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if not dt.datetime(2, 1, 1, tzinfo=dt.UTC) <= moment <= dt.datetime(9998, 1, 1, tzinfo=dt.UTC):
        return None
    return to_us(moment)


def whole_span(chronology: Chronology) -> Span | None:
    bounds = chronology.bounds()
    if bounds is None:
        return None
    lo, hi = bounds
    pad = max((hi - lo) // 30, 30 * US)
    lo, hi = floor_second(lo - pad), ceil_second(hi + pad)
    if hi - lo > 20 * 60 * US:  # whole minutes
        lo, hi = lo - lo % (60 * US), hi + (-hi) % (60 * US)
    return Span(lo, hi)


def incident_span(chronology: Chronology) -> Span | None:
    span = chronology.incident_entry.span
    if span is None:
        return None
    lo, hi = span
    margin = max(hi - lo, 5 * 60 * US)
    return Span(lo - margin, hi + margin)


def chosen_span(
    chronology: Chronology, params: Mapping[str, str]
) -> tuple[Span | None, Span | None, str]:
    """(the range to draw, the whole range, a message when the asked range is unreadable)."""
    whole = whole_span(chronology)
    asked_from, asked_to = params.get("from", ""), params.get("to", "")
    if not asked_from and not asked_to:
        return whole, whole, ""
    zone = chronology.zone
    start, end = read_param(asked_from, zone), read_param(asked_to, zone)
    if start is None or end is None or end <= start:
        return whole, whole, "That range could not be read: the whole chronology is shown."
    if end - start < MIN_SPAN:
        middle = (start + end) // 2
        start, end = middle - MIN_SPAN // 2, middle + MIN_SPAN // 2
    if end - start > MAX_SPAN:
        return whole, whole, "That range is too long: the whole chronology is shown."
    return Span(start, end), whole, ""


def span_query(span: Span, zone: zoneinfo.ZoneInfo) -> str:
    """``?from=…&to=…`` (a colon needs no escaping in a query string)."""
    return f"?from={local_param(span.start, zone)}&to={local_param(span.end, zone)}"


@dataclass(slots=True)
class Mark:
    href: str
    title: str
    y: float
    classes: str
    dot_x: float | None = None  # a moment's corrected time
    bar_x: float = 0.0  # an interval's corrected extent
    bar_w: float = 0.0
    win_x: float = 0.0  # the uncertainty window
    win_w: float = 0.0
    tight_x: float = 0.0  # the window after the orderings, when narrower
    tight_w: float = 0.0
    label: str = ""
    label_x: float = 0.0


@dataclass(slots=True)
class Bin:
    href: str
    title: str
    x: float
    w: float
    y: float
    h: float
    level: int


@dataclass(slots=True)
class Lane:
    key: str
    label: str
    title: str
    y: float = 0.0
    height: float = ROW_H + 2 * LANE_PAD
    entries: list[Entry] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    bins: list[Bin] = field(default_factory=list)
    aggregated: bool = False


@dataclass(slots=True)
class Tick:
    x: float
    label: str
    anchor: str = "middle"  # the first and last may lean inwards to stay in the picture


@dataclass(slots=True)
class Zoom:
    zoom_in: str
    zoom_out: str
    earlier: str
    later: str
    whole: str
    incident: str | None


@dataclass(slots=True)
class Figure:
    span: Span
    zone: zoneinfo.ZoneInfo
    lanes: list[Lane]
    ticks: list[Tick]
    height: float
    caption: str
    zoom: Zoom
    band: tuple[float, float] | None = None
    band_title: str = ""
    drawn: int = 0  # entries drawn one by one
    binned: int = 0  # entries drawn as bins
    width: int = WIDTH
    left: int = LEFT
    right: int = RIGHT
    axis_y: int = AXIS_Y


def entry_anchor(entry: Entry) -> str:
    return "entry-incident" if entry.id is None else f"entry-{entry.type}-{entry.id}"


class Scale:
    def __init__(self, span: Span) -> None:
        self.start = span.start
        self.factor = (RIGHT - LEFT) / span.width

    def __call__(self, value: int) -> float:
        return LEFT + (value - self.start) * self.factor

    def clip(self, value: int) -> float:
        return min(max(self(value), LEFT), RIGHT)


def _r(value: float) -> float:
    return round(value, 1)


def mark_title(entry: Entry, zone: zoneinfo.ZoneInfo) -> str:
    start = entry.corrected_start
    spread = format_uncertainty(entry.uncertainty)
    if start is None:
        when = "between " + span_words(*entry.start_window, zone).replace(" – ", " and ")
    elif entry.is_interval:
        assert entry.corrected_end is not None
        when = (
            f"from {time_words(from_us(start), zone)} to "
            f"{time_words(from_us(entry.corrected_end), zone)}"
        )
    else:
        when = time_words(from_us(start), zone)
    text = f"{entry.title}: {when}{' ' + spread if spread else ''}"
    if entry.conflict:
        text += " (in a contradiction)"
    return text


def build_figure(
    chronology: Chronology,
    span: Span,
    whole: Span | None,
    in_range: list[Entry],
    row_href: Callable[[Entry], str],
) -> Figure:
    """The figure of the entries IN_RANGE of SPAN; ROW_HREF: where each entry's mark links."""
    zone = chronology.zone
    scale = Scale(span)
    lanes = _lanes(chronology, in_range)
    # Lanes too full, then the fullest, become bins until the drawing fits its budget.
    drawn = sum(len(lane.entries) for lane in lanes)
    bins = 0
    for lane in sorted(lanes, key=lambda lane: len(lane.entries), reverse=True):
        size = drawn * MARK_BYTES + bins * BIN_BYTES
        if len(lane.entries) > LANE_MARKS or drawn > MAX_MARKS or size > BUDGET:
            lane.aggregated = True
            drawn -= len(lane.entries)
            bins += min(len(lane.entries), COLUMNS)
    y = float(AXIS_Y + 6)
    binned = 0
    columns = Columns(span, zone)
    for lane in lanes:
        lane.y = y
        if lane.aggregated or not _place_marks(lane, scale, zone, row_href):
            lane.aggregated = True
            lane.marks = []
            _place_bins(lane, scale, columns)
            binned += len(lane.entries)
        y += lane.height
    band, band_title = _band(chronology, scale, span, zone)
    figure = Figure(
        span=span,
        zone=zone,
        lanes=lanes,
        ticks=_ticks(span, scale, zone),
        height=_r(y + 8),
        caption=_caption(span, zone),
        zoom=_zoom(chronology, span, whole, zone),
        band=band,
        band_title=band_title,
        drawn=sum(len(lane.marks) for lane in lanes),
        binned=binned,
    )
    return figure


def _lanes(chronology: Chronology, in_range: list[Entry]) -> list[Lane]:
    incident = Lane("incident", "The incident", "The incident's own occurrence")
    clocks = {
        c.id: Lane(
            f"clock-{c.id}",
            _short(c.name, 34),
            f"{c.name}: {c.kind_label.lower()}, offset {c.offset_text}"
            + (f" {c.uncertainty_text}" if c.uncertainty_text else ""),
        )
        for c in chronology.clocks
    }
    none = Lane("none", "No clock", "Entries read on no clock: their times are taken as true")
    for entry in in_range:
        if entry.type == "incident":
            incident.entries.append(entry)
        elif entry.clock is not None:
            clocks[entry.clock.id].entries.append(entry)
        else:
            none.entries.append(entry)
    used = [lane for lane in clocks.values() if lane.entries]
    if len(used) > MAX_LANES - 2:  # the busiest clocks keep their lane; the rest share one
        keep = {id(lane) for lane in sorted(used, key=lambda x: -len(x.entries))[: MAX_LANES - 3]}
        others = [lane for lane in used if id(lane) not in keep]
        shared = Lane(
            "other-clocks",
            f"{len(others)} other clocks",
            "Entries of the clocks with fewest entries here: "
            + ", ".join(lane.label for lane in others),
        )
        shared.entries = sorted(
            (e for lane in others for e in lane.entries), key=lambda e: e.sort_key
        )
        used = [lane for lane in used if id(lane) in keep] + [shared]
    lanes = [incident, *used]
    if none.entries:
        lanes.append(none)
    return lanes


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _place_marks(
    lane: Lane, scale: Scale, zone: zoneinfo.ZoneInfo, row_href: Callable[[Entry], str]
) -> bool:
    """Each entry of LANE as a mark, packed in rows; False when they do not fit."""
    rows_end: list[float] = []
    labelled = len(lane.entries) <= 12
    marks: list[tuple[Mark, int]] = []
    for entry in sorted(lane.entries, key=lambda e: e.span[0]):  # type: ignore[index]
        mark = _mark(entry, scale, zone, row_href(entry))
        start = min(mark.win_x, mark.dot_x if mark.dot_x is not None else mark.bar_x)
        end = mark.win_x + mark.win_w
        label = ""
        if labelled:
            label = _short(entry.title, LABEL_CHARS)
            label_end = end + 5 + len(label) * CHAR_PX
        else:
            label_end = end
        row = next((i for i, last in enumerate(rows_end) if last + 6 <= start), None)
        if row is None and len(rows_end) < MAX_ROWS:
            row = len(rows_end)
            rows_end.append(-1.0)
        if row is None:
            return False
        if label and label_end <= RIGHT + 4:
            mark.label, mark.label_x = label, _r(end + 5)
            rows_end[row] = label_end
        elif label:  # no room to the right: put it to the left of the mark
            left_start = start - 5 - len(label) * CHAR_PX
            fits_left = left_start >= LEFT and all(
                last + 6 <= left_start for last in rows_end[row : row + 1] if last >= 0
            )
            if fits_left:
                mark.label, mark.label_x = label, _r(start - 5)
                mark.classes += " label-left"
            rows_end[row] = end
        else:
            rows_end[row] = end
        marks.append((mark, row))
    rows = max(1, len(rows_end))
    lane.height = rows * ROW_H + 2 * LANE_PAD
    for mark, row in marks:
        mark.y = _r(lane.y + LANE_PAD + row * ROW_H + ROW_H / 2)
        lane.marks.append(mark)
    return True


def _mark(entry: Entry, scale: Scale, zone: zoneinfo.ZoneInfo, href: str) -> Mark:
    classes = f"mark mark-{entry.type}"
    if entry.conflict:
        classes += " conflict"
    mark = Mark(href=href, title=mark_title(entry, zone), y=0.0, classes=classes)
    u = entry.uncertainty
    start, end = entry.corrected_start, entry.corrected_end
    if start is not None:
        last = end if end is not None else start
        mark.win_x = _r(scale.clip(start - u))
        mark.win_w = _r(max(scale.clip(last + u) - mark.win_x, 1.5))
        if end is not None:
            mark.bar_x = _r(scale.clip(start))
            mark.bar_w = _r(max(scale.clip(end) - mark.bar_x, 3.0))
            mark.classes += " interval"
        elif LEFT <= scale(start) <= RIGHT:
            mark.dot_x = _r(scale(start))
        else:
            mark.bar_x = mark.win_x  # the dot is out of range: the window alone shows
    span = entry.span
    if span is not None and (entry.tightened or start is None):
        mark.tight_x = _r(scale.clip(span[0]))
        mark.tight_w = _r(max(scale.clip(span[1]) - mark.tight_x, 2.0))
        if start is None:
            mark.win_x, mark.win_w = mark.tight_x, mark.tight_w
            mark.bar_x = mark.tight_x
            mark.classes += " inferred"
    return mark


class Columns:
    """The bins' columns of a figure: each column's range, link and words are
    the same in every lane, so they are written once per figure."""

    def __init__(self, span: Span, zone: zoneinfo.ZoneInfo) -> None:
        self.span, self.zone = span, zone
        self.per_px = span.width / (RIGHT - LEFT)
        self.done: dict[int, tuple[str, str]] = {}

    def __call__(self, column: int, width: float) -> tuple[str, str]:
        """The link of COLUMN and the words of its range."""
        found = self.done.get(column)
        if found is None:
            first = int(self.span.start + column * BIN_PX * self.per_px)
            last = max(int(first + width * self.per_px), first + MIN_SPAN)
            local_first = from_us(first).astimezone(self.zone)
            local_last = from_us(last).astimezone(self.zone)
            found = self.done[column] = (
                f"?from={local_first:%Y-%m-%dT%H:%M:%S}&to={local_last:%Y-%m-%dT%H:%M:%S}",
                f"from {time_words(local_first, self.zone)} to "
                f"{time_words(local_last, self.zone, date=False)}: zoom in",
            )
        return found


def _place_bins(lane: Lane, scale: Scale, columns: Columns) -> None:
    """LANE's entries counted in columns BIN_PX wide; each column a shaded link to its range."""
    counts: dict[int, int] = {}
    start, factor, widest = scale.start, scale.factor, RIGHT - LEFT - 0.001
    for entry in lane.entries:
        at = entry.corrected_start
        if at is None:
            bounds = entry.span
            if bounds is None:
                continue
            at = (bounds[0] + bounds[1]) // 2
        column = int(min(max((at - start) * factor, 0), widest) // BIN_PX)
        counts[column] = counts.get(column, 0) + 1
    lane.height = ROW_H + 2 * LANE_PAD
    y = _r(lane.y + LANE_PAD)
    for column in sorted(counts):
        count = counts[column]
        x = LEFT + column * BIN_PX
        w = min(BIN_PX, RIGHT - x)
        if w <= 0:
            continue
        href, words = columns(column, w)
        lane.bins.append(
            Bin(
                href=href,
                title=f"{count} {'entry' if count == 1 else 'entries'} {words}",
                x=_r(x + 0.5),
                w=_r(w - 1),
                y=y,
                h=ROW_H,
                level=min(5, count.bit_length()),  # 1, 2-3, 4-7, 8-15, 16 or more
            )
        )


def _band(
    chronology: Chronology, scale: Scale, span: Span, zone: zoneinfo.ZoneInfo
) -> tuple[tuple[float, float] | None, str]:
    entry = chronology.incident_entry
    bounds = entry.span
    if bounds is None or not span.contains(*bounds):
        return None, ""
    x = scale.clip(bounds[0])
    w = max(scale.clip(bounds[1]) - x, 2.0)
    title = f"The incident's window: {span_words(bounds[0], bounds[1], zone)}"
    return (_r(x), _r(w)), title


def _ticks(span: Span, scale: Scale, zone: zoneinfo.ZoneInfo) -> list[Tick]:
    ticks = _tick_marks(span, scale, zone)
    for tick in ticks:
        half = len(tick.label) * CHAR_PX / 2
        if tick.x + half > WIDTH - 2:
            tick.anchor = "end"
        elif tick.x - half < LEFT - 40:
            tick.anchor = "start"
    return ticks


def _tick_marks(span: Span, scale: Scale, zone: zoneinfo.ZoneInfo) -> list[Tick]:
    step = next((s for s in STEPS if span.width / s <= 8), STEPS[-1])
    first_local = from_us(span.start).astimezone(zone)
    offset = to_us(first_local.replace(tzinfo=dt.UTC)) - span.start  # local wall − UTC
    if step >= 86_400 * US:
        day = first_local.replace(hour=0, minute=0, second=0, microsecond=0)
        moment = to_us(day)
        days = step // (86_400 * US)
        ticks = []
        while moment <= span.end:
            if moment >= span.start:
                local = from_us(moment).astimezone(zone)
                ticks.append(Tick(_r(scale(moment)), _day_label(local, days)))
            moment = to_us(
                (from_us(moment).astimezone(zone) + dt.timedelta(days=days)).replace(
                    hour=0, minute=0, second=0
                )
            )
        return ticks
    wall = span.start + offset
    first = (wall // step + 1) * step - offset if wall % step else span.start
    ticks = []
    moment = first
    previous_day = None
    while moment <= span.end:
        local = from_us(moment).astimezone(zone)
        text = f"{local:%H:%M:%S}" if step < 60 * US else f"{local:%H:%M}"
        if previous_day is not None and local.date() != previous_day:
            text = f"{local.day} {MONTHS[local.month - 1]} {text}"
        previous_day = local.date()
        ticks.append(Tick(_r(scale(moment)), text))
        moment += step
    return ticks


def _day_label(local: dt.datetime, days: int) -> str:
    if days >= 365:
        return str(local.year)
    if days >= 30:
        return f"{MONTHS[local.month - 1]} {local.year}"
    return f"{local.day} {MONTHS[local.month - 1]}"


def _caption(span: Span, zone: zoneinfo.ZoneInfo) -> str:
    return span_words(span.start, span.end, zone)


def _zoom(chronology: Chronology, span: Span, whole: Span | None, zone: zoneinfo.ZoneInfo) -> Zoom:
    width = span.width
    middle = span.start + width // 2
    quarter = max(width // 4, MIN_SPAN // 2)
    around = incident_span(chronology)
    return Zoom(
        zoom_in=span_query(Span(middle - quarter, middle + quarter), zone),
        zoom_out=span_query(Span(middle - width, middle + width), zone)
        if width * 2 <= MAX_SPAN
        else "?",
        earlier=span_query(Span(span.start - width // 2, span.end - width // 2), zone),
        later=span_query(Span(span.start + width // 2, span.end + width // 2), zone),
        whole="?" if whole else "?",
        incident=span_query(around, zone) if around else None,
    )

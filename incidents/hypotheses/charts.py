"""Small server-rendered SVG charts for the case page.

Presentation attributes only (``fill=``, ``stroke=``): the Content-Security-
Policy forbids ``style=``. Every chart carries a <title> and <desc> so a
screen reader announces what it shows.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString

from incidents.hypotheses.models import ConfidenceBand

WIDTH = 240
HEIGHT = 72
PAD_LEFT = 30
PAD_RIGHT = 8
PAD_Y = 8
BANDS = list(ConfidenceBand)
INK = "#2f5d8a"
GRID = "#e6e9ee"
AXIS = "#55606e"
BAND_FILL = "#eef2f7"


def _y(ordinal: int) -> float:
    usable = HEIGHT - 2 * PAD_Y
    return round(HEIGHT - PAD_Y - usable * ordinal / (len(BANDS) - 1), 1)


def _axis() -> SafeString:
    """Three labels on the left: the top, middle and bottom bands in per cent."""
    marks = ((len(BANDS) - 1, "95 %"), (ConfidenceBand.ROUGHLY_EVEN.ordinal, "50 %"), (0, "1 %"))
    return format_html_join(
        "",
        '<text x="{}" y="{}" font-size="9" text-anchor="end" fill="{}" '
        'font-family="system-ui, sans-serif">{}</text>',
        ((PAD_LEFT - 4, _y(i) + 3, AXIS, label) for i, label in marks),
    )


def _grid() -> SafeString:
    """The band lines and the axis labels: the same on every chart."""
    return (
        format_html_join(
            "",
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>',
            ((PAD_LEFT, _y(i), WIDTH - PAD_RIGHT, _y(i), GRID) for i in range(len(BANDS))),
        )
        + _axis()
    )


_GRID = _grid()
# Each band's height on the chart, its short label as the dots' tooltips write
# it (escaped) and in lower case as the description writes it: the page draws
# a chart per hypothesis, and the enum's properties were most of each.
_BAND_MARKS = {
    band.value: (_y(band.ordinal), escape(band.short_label), band.short_label.lower())
    for band in BANDS
}
# The "roughly even" band's height: a faint reference strip.
_EVEN = _y(ConfidenceBand.ROUGHLY_EVEN.ordinal)


def confidence_history_svg(
    changes: Sequence[Any], *, element_id: str, now: dt.datetime | None = None
) -> SafeString:
    """A step chart of the confidence bands in CHANGES (oldest first).

    Each change needs ``band`` and ``created_at``. The line is held level
    from the last change to NOW.
    """
    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    if not changes:
        return format_html(
            '<svg class="confidence-chart is-empty" width="{w}" height="{h}" '
            'viewBox="0 0 {w} {h}" role="img" aria-labelledby="{t} {d}">'
            '<title id="{t}">Confidence history</title>'
            '<desc id="{d}">No confidence has been stated yet.</desc>'
            '<line x1="{l}" y1="{mid}" x2="{r}" y2="{mid}" stroke="{grid}" '
            'stroke-dasharray="4 4"/></svg>',
            w=WIDTH,
            h=HEIGHT,
            t=title_id,
            d=desc_id,
            l=PAD_LEFT,
            r=WIDTH - PAD_RIGHT,
            mid=HEIGHT // 2,
            grid=GRID,
        )
    now = now or dt.datetime.now(dt.UTC)
    start = changes[0].created_at
    end = max(now, changes[-1].created_at)
    span = (end - start).total_seconds() or 1.0
    usable = WIDTH - PAD_LEFT - PAD_RIGHT

    def x(moment: dt.datetime) -> float:
        return round(PAD_LEFT + usable * (moment - start).total_seconds() / span, 1)

    points: list[tuple[float, float]] = []
    dots: list[tuple[float, float, str]] = []
    for change in changes:
        y, label, _ = _BAND_MARKS[change.band]
        px = x(change.created_at)
        if points:
            points.append((px, points[-1][1]))  # hold the previous band until now
        points.append((px, y))
        dots.append((px, y, label))
    points.append((x(end), points[-1][1]))

    path = " ".join(f"{px},{py}" for px, py in points)
    # Drawn with f-strings (the case page draws a chart per hypothesis, and
    # format_html's escaping of every number was most of its time): the text
    # goes through ``escape`` (the labels in ``_BAND_MARKS`` already); the
    # rest are numbers and the constants above.
    circles = "".join(
        f'<circle cx="{px}" cy="{py}" r="3" fill="{INK}"><title>{label}</title></circle>'
        for px, py, label in dots
    )
    steps = "; ".join(f"{c.created_at:%Y-%m-%d}: {_BAND_MARKS[c.band][2]}" for c in changes)
    current = _BAND_MARKS[changes[-1].band][2]
    # html.escape: Django's escape without its lazy-string wrapper (four calls a chart).
    t, d, n = html.escape(title_id), html.escape(desc_id), len(changes)
    return SafeString(
        f'<svg class="confidence-chart" width="{WIDTH}" height="{HEIGHT}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{t} {d}">'
        f'<title id="{t}">Confidence history: now {html.escape(current)}</title>'
        f'<desc id="{d}">{n} statement{"" if n == 1 else "s"} of confidence, from the lowest'
        " band (bottom, almost no chance) to the highest (top, almost certain):"
        f" {html.escape(steps)}.</desc>"
        f'<rect x="{PAD_LEFT}" y="{_EVEN - 3}" width="{usable}" height="6" fill="{BAND_FILL}"/>'
        f'{_GRID}<polyline points="{path}" fill="none" stroke="{INK}" stroke-width="2"'
        f' stroke-linejoin="round"/>{circles}</svg>'
    )

"""The hot rows of the case page and the case list, drawn in Python rather
than with template tags.

The matrix body (400 to 24,000 cells), the source list, the timeline entries,
the head of each hypothesis card, and the rows of the case list and of the
source search repeat per row; drawn with template tags they were most of the
page's time. Here every text value goes through ``esc``
(or ``format_html``); only integers, fixed names and parts drawn here go in
unescaped. The output is the markup the template wrote before (tests compare
it). Everything else stays in the templates (the case page's
``templates/jinja2/cases/detail.jinja``, ``cases/list.html``).
"""

from __future__ import annotations

import datetime as dt
import html
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template import engines
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import (
    Truncator,
    add_truncation_text,
    calculate_truncate_chars_length,
    capfirst,
)
from django.utils.timesince import timesince

from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses import scoring
from incidents.hypotheses.models import Assessment, Hypothesis
from incidents.jinja import url as path_of

if TYPE_CHECKING:
    from incidents.cases.views.case import CasePage, ItemRow


MONTH_NAMES = {n: str(name).title() for n, name in MONTHS_3.items()}


def time_tag(value: dt.datetime) -> SafeString:
    """``<time datetime="…">20 Nov 2026, 14:42</time>`` in the current time zone
    (the case's), as the template's ``date:"j M Y, H:i"`` writes it; drawn here
    for the lists of the page, where the template filter was a measurable cost.

    A moment and a zone always give the same tag, and a page shows the same
    ones at every view (the timeline's entries, the sources' dates: 80 on the
    benchmark's case page, a quarter of a millisecond): each is drawn once and
    kept (a bounded cache, keyed by both)."""
    return _time_tag(value, timezone.get_current_timezone())


@lru_cache(maxsize=4096)
def _time_tag(value: dt.datetime, zone: dt.tzinfo) -> SafeString:
    local = timezone.localtime(value, zone)  # refuses a naive datetime, as the filter does
    month = MONTH_NAMES[local.month]
    # Only digits and fixed names go in: nothing to escape.
    return SafeString(
        f'<time datetime="{local.isoformat()}">{local.day} {month} {local.year}, '
        f"{local.hour:02d}:{local.minute:02d}</time>"
    )


def duration_label(value: dt.timedelta | None) -> str:
    """“± 10 min”, “± 2 h”, “± 3 days”; empty when unknown."""
    if value is None:
        return ""
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"± {minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"± {hours} h" + (f" {rest} min" if rest else "")
    days = round(minutes / 1440)
    return f"± {days} days"


def _around(name: str, args: tuple[Any, ...], probe: str) -> tuple[str, str]:
    """What the URL NAME reverses to with ARGS and PROBE has before and after PROBE."""
    head, sep, tail = path_of(name, *args, probe).rpartition(f"/{probe}/")
    assert sep, (name, probe)
    return f"{head}/", f"/{tail}"


def id_url(name: str, *args: Any, escaped: bool = False) -> Any:
    """A function of one id that gives the URL NAME reverses to with ARGS and
    that id, from one ``reverse()``: the page links to dozens of items and
    hypotheses, and reversing each was a measurable cost. ESCAPED: as HTML
    writes it in an attribute (escaped once here, not at every link)."""
    head, tail = _around(name, args, "0")
    if escaped:
        head, tail = esc(head), esc(tail)
    return lambda pk: f"{head}{int(pk)}{tail}"


@cache
def choice_labels(model: Any, field: str) -> dict[Any, str]:
    """The display labels of a choices field, as plain strings (no lazy objects in loops)."""
    return {value: str(label) for value, label in model._meta.get_field(field).flatchoices}


def truncate(text: str, length: int) -> str:
    """``Truncator(text).chars(length)`` (the ``truncatechars`` filter) without
    its cost per call (it walks every character first). The same result: in
    NFC; whole when it fits (combining characters only shorten the count);
    else, when no combining character comes before the cut, the first
    characters and Django's ending (``add_truncation_text``); in the rare
    other case, Truncator itself."""
    plain = text.isascii()  # already NFC, and no combining character
    if not plain:
        text = unicodedata.normalize("NFC", text)
    if len(text) <= length:
        return text
    if length <= 0 or (not plain and any(map(unicodedata.combining, text[: length + 1]))):
        return Truncator(text).chars(length)
    keep = _kept(translation.get_language(), length)
    return add_truncation_text(text[:keep])


def truncate_words(text: str, length: int) -> str:
    """``Truncator(text).words(length)`` (the ``truncatewords`` filter) without
    its lazy object: the same words, joined by single spaces, and Django's
    ending (``add_truncation_text``) when some were left out."""
    if length <= 0:
        return ""
    words = text.split()
    if len(words) > length:
        return add_truncation_text(" ".join(words[:length]))
    return " ".join(words)


@cache
def _kept(language: str | None, length: int) -> int:
    """How many plain characters Truncator keeps of a longer text cut to
    LENGTH in LANGUAGE."""
    with translation.override(language):
        return calculate_truncate_chars_length(length, None)


def person_name(username: str, first_name: str, last_name: str) -> str:
    """A user as the pages name them, from a row's columns: the full name (as
    ``User.get_full_name`` writes it), or the username without one."""
    return f"{first_name} {last_name}".strip() or username


def esc(value: Any) -> str:
    """``django.utils.html.escape`` without its lazy-string wrapper (a cost in loops)."""
    return html.escape(str(value))


def reference_url(name: str) -> Any:
    """A function of a case reference that gives the URL NAME reverses to with
    it, from one ``reverse()`` (see ``id_url``). References are letters, digits
    and dashes (a database constraint): nothing to quote."""
    head, tail = _around(name, (), "INC-0000-0")
    return lambda reference: f"{head}{esc(reference)}{tail}"


def case_rows(cases: Iterable[Any], tags: Mapping[int, list[str]]) -> SafeString:
    """The rows of the case list (a page of 25), from its value rows
    (``listing.LIST_FIELDS``) and each case's tag names by id: reference and
    title with the tags, status, severity, lead, when it occurred in its own
    time zone, and its last activity (UTC in the title)."""
    url = reference_url("cases:detail")
    statuses = choice_labels(Incident, "status")
    severities = choice_labels(Incident, "severity")
    rows = []
    for case in cases:
        names = tags.get(case.id, [])
        badges = ""
        if names or case.confirmed_id:
            badge = '<span class="badge status-confirmed">Confirmed hypothesis</span>'
            badges = (
                '<span class="tags">'
                + (badge if case.confirmed_id else "")
                + "".join(f'<span class="tag">{esc(name)}</span>' for name in names)
                + "</span>"
            )
        lead = person_name(case.lead__username, case.lead__first_name, case.lead__last_name)
        occurred_at = case.occurred_at
        occurred = (
            f'<time datetime="{occurred_at.isoformat()}">'
            f"{occurred_at.astimezone(zoneinfo.ZoneInfo(case.time_zone)):%Y-%m-%d %H:%M}</time>"
            f'<br><span class="small muted">{esc(case.time_zone)}</span>'
            if occurred_at
            else '<span class="muted">Unknown</span>'
        )
        rows.append(
            f'<tr>\n<td><div class="case-cell">'
            f'<span class="case-ref">{esc(case.reference)}</span> '
            f'<a class="case-title" href="{url(case.reference)}">{esc(case.title)}</a>{badges}'
            f"</div></td>\n"
            f"{_status_cells(case, statuses, severities)}"
            f'<td class="hide-narrow nowrap">{esc(lead)}</td>\n'
            f'<td class="nowrap">{occurred}</td>\n'
            f'<td class="nowrap">{_ago(case.last_activity_at, utc_title=True)}</td>\n</tr>\n'
        )
    return SafeString("".join(rows))


def _status_cells(case: Incident, statuses: dict[Any, str], severities: dict[Any, str]) -> str:
    """A case's status and severity badges, each in its table cell."""
    return (
        f'<td><span class="badge status-{esc(case.status)}">'
        f"{esc(statuses.get(case.status, case.status))}</span></td>\n"
        f'<td><span class="badge severity-{esc(case.severity)}">'
        f"{esc(severities.get(case.severity, case.severity))}</span></td>\n"
    )


def _ago(value: dt.datetime, *, utc_title: bool = False) -> str:
    """``<time>`` saying how long ago VALUE was ("5 hours ago"), optionally
    with the exact time in UTC as its title (whatever ``TIME_ZONE`` says)."""
    title = f' title="{value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"' if utc_title else ""
    return f'<time datetime="{value.isoformat()}"{title}>{esc(ago(value))}</time>'


class _English:
    """A unit's singular and plural ("%(num)d day", "%(num)d days"), picked by
    ``num`` as ngettext picks in English: a plain string where ``timesince``
    expects a lazy translation."""

    __slots__ = ("one", "other")

    def __init__(self, unit: str) -> None:
        self.one, self.other = f"%(num)d {unit}", f"%(num)d {unit}s"

    def __mod__(self, values: dict[str, int]) -> str:
        return (self.one if values["num"] == 1 else self.other) % values


PAST_UNITS = {unit: _English(unit) for unit in ("year", "month", "week", "day", "hour", "minute")}


def ago(value: dt.datetime, now: dt.datetime | None = None) -> str:
    """What humanize's ``naturaltime`` says of a past VALUE ("now", "5\xa0minutes
    ago", "2\xa0days, 3\xa0hours ago"), word for word (a test compares them),
    without its lazy translation objects: they were most of a list row's time
    (Inquest is English only). Django's ``timesince`` still does the calendar."""
    now = now or dt.datetime.now(dt.UTC)
    if value >= now:
        return str(naturaltime(value))  # the future (clock skew): Django's words
    delta = now - value
    if delta.days:
        return f"{timesince(value, now, time_strings=PAST_UNITS)} ago"
    seconds = delta.seconds
    if seconds == 0:
        return "now"
    if seconds < 60:
        return "a second ago" if seconds == 1 else f"{seconds}\xa0seconds ago"
    minutes = seconds // 60
    if minutes < 60:
        return "a minute ago" if minutes == 1 else f"{minutes}\xa0minutes ago"
    hours = minutes // 60
    return "an hour ago" if hours == 1 else f"{hours}\xa0hours ago"


def home_rows(cases: Iterable[Incident]) -> SafeString:
    """The rows of the home page's "My cases" (up to 20): reference and title,
    status, severity, the user's role (``my_role``) and the last activity."""
    url = reference_url("cases:detail")
    statuses = choice_labels(Incident, "status")
    severities = choice_labels(Incident, "severity")
    return SafeString(
        "".join(
            f'<tr>\n<td><div class="case-cell"><span class="case-ref">{esc(case.reference)}'
            f'</span><a class="case-title" href="{url(case.reference)}">{esc(case.title)}</a>'
            f"</div></td>\n"
            f"{_status_cells(case, statuses, severities)}"
            f'<td><span class="badge role-{esc(case.my_role)}">'
            f"{esc(capfirst(case.my_role))}</span></td>\n"
            f'<td class="nowrap">{_ago(case.last_activity_at, utc_title=True)}</td>\n</tr>\n'
            for case in cases
        )
    )


def activity_items(entries: Iterable[StatusUpdate]) -> SafeString:
    """The home page's "Recent activity" (10 entries): the case, the kind, when,
    and the start of the text with its author."""
    url = reference_url("cases:detail")
    kinds = choice_labels(StatusUpdate, "kind")
    items = []
    for entry in entries:
        case, author = entry.incident, entry.author
        who = (
            f"<strong>{esc(author.get_full_name() or author.get_username())}:</strong> "
            if author is not None
            else ""
        )
        items.append(
            f'<li>\n<div class="feed-meta">\n'
            f'<a href="{url(case.reference)}">{esc(case.reference)}</a>\n'
            f"· {esc(kinds.get(entry.kind, entry.kind))}\n"
            f"· {_ago(entry.created_at)}\n</div>\n"
            f'<p class="feed-body">{who}{esc(Truncator(entry.body).chars(110))}</p>\n</li>\n'
        )
    return SafeString("".join(items))


def source_rows(items: Iterable[EvidenceItem]) -> SafeString:
    """The rows of a search over the sources: title with the matched passage
    (``snippet``, already escaped with its ``<mark>``s), grade, and case."""
    item_url = id_url("evidence:detail")
    case_url = reference_url("cases:detail")
    rows = []
    for item in items:
        snippet = getattr(item, "snippet", "")
        case = item.incident
        rows.append(
            f'<tr>\n<td><a class="source-title" href="{item_url(item.pk)}">{esc(item.title)}</a>'
            + (f'<p class="snippet">{snippet}</p>' if snippet else "")
            + "</td>\n"
            f'<td><span class="badge grade grade-{esc(item.reliability)}"'
            f' title="Source {esc(item.reliability)}, information {int(item.credibility)}">'
            f"{esc(item.reliability)}{int(item.credibility)}</span></td>\n"
            f'<td><span class="case-ref">{esc(case.reference)}</span> '
            f'<a href="{case_url(case.reference)}">{esc(case.title)}</a></td>\n</tr>\n'
        )
    return SafeString("".join(rows))


@cache
def grade_badge(reliability: str, credibility: int, titled: bool) -> str:
    """An item's Admiralty grade as a badge ("B2"), drawn once per grade;
    TITLED, with the words of both halves as its title (the source list)."""
    title = ""
    if titled:
        source = choice_labels(EvidenceItem, "reliability").get(reliability, "")
        information = choice_labels(EvidenceItem, "credibility").get(credibility, "")
        title = f' title="{esc(source)}; {esc(information)}"'
    return (
        f'<span class="badge grade grade-{esc(reliability)}"{title}>'
        f"{esc(reliability)}{esc(credibility)}</span>"
    )


@cache
def _kind_span(kind: str) -> str:
    label = choice_labels(EvidenceItem, "kind").get(kind, kind)
    return f'<span class="evidence-kind">{esc(label)}</span>'


def source_html(item: EvidenceItem | ItemRow, url: str) -> str:
    """One entry of the source list, drawn here (25 to hundreds a page). Every
    text value goes through ``esc``; the rest are integers and prepared tags.
    URL is the item's link as HTML writes it (``id_url(..., escaped=True)``)."""
    meta = [_kind_span(item.kind)]
    if item.language:
        meta.append(f"<span>{esc(item.language)}</span>")
    if item.event_at:
        uncertainty = duration_label(item.event_uncertainty)
        meta.append(
            f"<span>event {time_tag(item.event_at)}{' ' if uncertainty else ''}{uncertainty}</span>"
        )
    else:
        meta.append("<span>event unknown</span>")
    meta.append(f"<span>collected {time_tag(item.collected_at)}</span>")
    if item.obtained_from:
        meta.append(f"<span>from {esc(item.obtained_from)}</span>")
    if item.url:
        meta.append(
            f'<a class="source-link" href="{esc(item.url)}" rel="noopener noreferrer nofollow">'
            f"{esc(truncate(item.url, 40))}</a>"
        )
    if item.file:
        name = esc(truncate(item.original_name, 30))
        size = f" · {esc(filesizeformat(item.file_size))}" if item.file_size else ""
        meta.append(f"<span>file {name}{size}</span>")
    illustrative = ' <span class="illustrative">illustrative</span>' if item.is_illustrative else ""
    lines = "\n".join(meta)
    return (
        f'<li class="evidence-item" id="item-{int(item.pk)}">'
        f"{grade_badge(item.reliability, item.credibility, True)}\n"
        f'<div class="evidence-main"><p class="evidence-title">'
        f'<a href="{url}">{esc(item.title)}</a>{illustrative}</p>\n'
        f'<p class="evidence-meta">{lines}</p></div></li>\n'
    )


class Entry(NamedTuple):
    """A timeline entry as the page lists it: its id and its drawn <li> (a
    named tuple: a frozen dataclass cost three times as much to make, 30 a page)."""

    pk: int
    html: SafeString


def entry_html(entry: StatusUpdate) -> SafeString:
    """One timeline entry, drawn here (the entry just posted)."""
    author = entry.author.get_username() if entry.author_id else ""
    return entry_li(entry.pk, entry.kind, author, entry.created_at, entry.body_html)


def entry_li(
    pk: int, kind: str, author: str | None, created_at: dt.datetime, body_html: str
) -> SafeString:
    """One timeline entry's <li> (30 a page); the body is the stored, sanitised
    Markdown rendering, the rest goes through ``esc``."""
    classes, label = _entry_kind(kind)
    return SafeString(
        f'<li class="{classes}" id="entry-{int(pk)}">\n'
        f'  <div class="entry-meta">\n'
        f'    <span class="entry-kind">{label}</span>\n'
        f'    <span class="entry-who">{esc(author or "system")}</span>\n'
        f"    {time_tag(created_at)}\n  </div>\n"
        f'  <div class="entry-body prose">{body_html}</div>\n</li>\n'
    )


@cache
def _entry_kind(kind: str) -> tuple[str, str]:
    """An entry's classes and its kind's label, escaped, drawn once per kind."""
    automatic = " automatic" if StatusUpdate.Kind(kind).is_automatic else ""
    label = choice_labels(StatusUpdate, "kind").get(kind, kind)
    return f"entry kind-{esc(kind)}{automatic}", esc(label)


def card_head(h: Any, count: int, *, kept: bool = False) -> SafeString:
    """A hypothesis card up to its actions: number, kind, rank, statement,
    figures and confidence chart, drawn here (text through ``esc``).

    KEPT (the answer to a move, which changes no score, rank, annotation or
    confidence): the rank, the score, the annotation counts and the chart are
    empty placeholders marked ``hx-preserve``, and htmx keeps the ones the page
    shows; H then needs none of ``score_info``, ``score_text``, ``stances`` or ``chart``.
    """
    pk = int(h.pk)
    kind = choice_labels(Hypothesis, "kind").get(h.kind, h.kind)
    status = choice_labels(Hypothesis, "status").get(h.status, h.status)
    description = (
        f'<p class="hyp-description">{esc(truncate_words(h.description, 40))}</p>'
        if h.description
        else ""
    )
    band = h.band
    if band:
        low, high = band.percent_range
        confidence = (
            f'<span class="badge confidence-{esc(h.confidence)}">{esc(band.short_label)}</span>'
            f' <span class="muted nowrap">{low}–{high} %</span>'
        )
    else:
        confidence = '<span class="muted">not stated</span>'
    if kept:
        rank = score = stance_links = chart = ""
        keep = ' hx-preserve="true"'
    else:
        info, stances, url = h.score_info, h.stances, esc(h.annotations_url)
        rank = f'Rank {info.rank}<span class="of"> of {count}</span>'
        score = (
            f'<span class="score">{esc(h.score_text)}</span>'
            f' <span class="muted">over {int(info.rated_items)} rated</span>'
        )
        stance_links = (
            f'<a href="{url}?hypothesis={pk}&amp;stance=supports">{int(stances["supports"])}'
            f' supporting</a> · <a href="{url}?hypothesis={pk}&amp;stance=contradicts">'
            f"{int(stances['contradicts'])} contradicting</a>"
        )
        chart, keep = h.chart, ""
    return SafeString(
        f'<header class="hyp-top">\n        <span class="hyp-num">H{h.number}</span>\n'
        f'        <span class="hyp-kind">{esc(kind)}</span>\n'
        f'        <span class="hyp-rank" id="hyp-{pk}-rank"{keep}'
        f' title="Rank by inconsistency score">{rank}</span>\n      </header>\n'
        f'      <p class="hyp-statement" id="hyp-{pk}-statement">{esc(h.statement)}</p>\n'
        f"      {description}\n"
        f'      <dl class="hyp-figures">\n'
        f'        <div><dt>Status</dt><dd><span class="badge status-{esc(h.status)}">'
        f"{esc(status)}</span></dd></div>\n"
        f"        <div><dt>Confidence</dt><dd>{confidence}</dd></div>\n"
        f'        <div><dt>Inconsistency</dt><dd id="hyp-{pk}-score"{keep}>{score}</dd></div>\n'
        f"        <div><dt>Annotated passages</dt>"
        f'<dd id="hyp-{pk}-stances"{keep}>{stance_links}</dd></div>\n'
        f"      </dl>\n"
        f'      <figure class="hyp-chart" id="hyp-{pk}-chart"{keep}>{chart}</figure>\n'
    )


def _badge(rating: str, relevance: str) -> SafeString:
    badge = format_html('<span class="badge rating-{}">{}</span>', rating, rating)
    if relevance == "medium":
        return badge
    return badge + format_html(
        '<span class="relevance relevance-{}" title="{} relevance">{}</span>',
        relevance,
        Assessment.Relevance(relevance).label,
        "▲" if relevance == "high" else "▽",
    )


# The inside of a matrix cell for every rating and relevance, drawn once.
BADGES = {
    (rating, relevance): _badge(rating, relevance)
    for rating in Assessment.Rating.values
    for relevance in Assessment.Relevance.values
}
UNRATED = mark_safe(
    '<span class="unrated" aria-hidden="true">+</span>'
    '<span class="visually-hidden">not rated</span>'
)
# The same as plain strings, for the matrix's hot loop: formatting a SafeString
# into an f-string calls its ``__str__``, twice per cell.
PLAIN_BADGES = {key: str.__str__(badge) for key, badge in BADGES.items()}
PLAIN_UNRATED = str.__str__(UNRATED)


class MatrixHtml:
    """The matrix body drawn in Python: 400 to 24,000 cells are too many for
    template tags. Every value goes through ``format_html`` / ``escape``;
    the cell links carry one URL (``href``), which case.js turns into an
    HTMX request, and no per-cell label: the row and column headers
    (``th scope``) name a cell for a screen reader."""

    def __init__(
        self,
        page: CasePage,
        cells: Mapping[tuple[int, int], tuple[str, str, str]],
        items: Mapping[int, scoring.ItemScore],
    ) -> None:
        self.page, self.cells, self.items = page, cells, items
        self.hypotheses = page.hypotheses
        # Each hypothesis's id as an integer (the cells' key) and as text (the ids and URLs).
        self.hypothesis_keys = [(int(h.pk), str(int(h.pk))) for h in page.hypotheses]
        self.can_write = page.access.can_write
        probe = path_of("hypotheses:cell", page.incident.reference, 0, 0)
        assert probe.endswith("/0/0/")
        self.cell_prefix = probe[: -len("0/0/")]
        self.query = escape(f"?{page.matrix_query}") if page.matrix_query else ""
        self.cell_prefix = escape(self.cell_prefix)
        self.item_url = id_url("evidence:detail", escaped=True)
        self.editing = page.editing
        self.focus = page.focus

    def inside(self, item_pk: int, h_pk: int) -> SafeString:
        """The inside of one cell's <td>: a link that opens its editor (a badge
        for an observer)."""
        a = self.cells.get((item_pk, h_pk))
        if a is None:
            badge, rated, title = UNRATED, "", ""
        else:
            badge, rated = BADGES[a[0], a[1]], " rated"
            title = f' title="{esc(a[2])}"' if a[2] else ""
        if not self.can_write:
            return SafeString(f'<span class="cell-btn{rated}"{title}>{badge}</span>')
        focus = " autofocus" if self.focus == f"cell-{item_pk}-{h_pk}" else ""
        # Only integers, escaped text and the prepared badges go in.
        return SafeString(
            f'<a class="cell-btn{rated}" id="cell-{item_pk}-{h_pk}" role="button" '
            f'href="{self.cell_prefix}{item_pk}/{h_pk}/{self.query}#td-{item_pk}-{h_pk}"'
            f"{title}{focus}>{badge}</a>"
        )

    def cell(self, item_pk: int, h_pk: int) -> SafeString:
        return SafeString(f'<td id="td-{item_pk}-{h_pk}">{self.inside(item_pk, h_pk)}</td>')

    def editor(self, item: EvidenceItem | ItemRow, h_pk: int) -> str:
        """The open editor of one cell (no JavaScript): the template's partial."""
        from incidents.cases.views.case import TEMPLATE

        template = engines["jinja2"].get_template(f"{TEMPLATE}#matrix_cell_form")
        html = template.render(self.page.context(), self.page.request)
        return format_html('<td id="td-{}-{}" class="editing">{}</td>', item.pk, h_pk, html)

    def row(self, item: EvidenceItem | ItemRow) -> str:
        score, pk, editing = self.items[item.pk], int(item.pk), self.editing
        if editing is not None and editing[0] == pk:
            cells = "".join(
                self.editor(item, h.pk) if editing == (pk, h.pk) else self.cell(pk, h.pk)
                for h in self.hypotheses
            )
        else:
            cells = self.cells_of_row(pk)
        if score.is_diagnostic:
            tr, diag = "", f"{score.diagnosticity:.2f}"
        else:
            tr, diag = (
                ' class="non-diagnostic"',
                '<span class="non-diag-label">non-diagnostic</span>',
            )
        # Only integers, escaped text (``esc``), the prepared grade badge, the link
        # (escaped once by ``id_url``) and the cells drawn above go in.
        return SafeString(
            f'<tr id="row-{pk}"{tr}><th scope="row" class="item-col">'
            f"{grade_badge(item.reliability, item.credibility, False)}"
            f' <a href="{self.item_url(pk)}">{esc(truncate(item.title, 60))}</a></th>'
            f'{cells}<td class="diag-col">{diag}</td></tr>\n'
        )

    def cells_of_row(self, pk: int) -> str:
        """The <td> cells of one row (none being edited): the hot path of the
        matrix, so ``cell`` and ``inside`` written out in one loop."""
        cells, out, row = self.cells, [], str(pk)
        write, prefix, query, focus = self.can_write, self.cell_prefix, self.query, self.focus
        for h_pk, column in self.hypothesis_keys:
            a = cells.get((pk, h_pk))
            if a is None:
                badge, rated, title = PLAIN_UNRATED, "", ""
            else:
                badge, rated = PLAIN_BADGES[a[0], a[1]], " rated"
                title = f' title="{esc(a[2])}"' if a[2] else ""
            ij = f"{row}-{column}"
            if write:
                autofocus = " autofocus" if focus and focus == f"cell-{ij}" else ""
                out.append(
                    f'<td id="td-{ij}"><a class="cell-btn{rated}" id="cell-{ij}" role="button"'
                    f' href="{prefix}{row}/{column}/{query}#td-{ij}"{title}{autofocus}>'
                    f"{badge}</a></td>"
                )
            else:
                out.append(
                    f'<td id="td-{ij}"><span class="cell-btn{rated}"{title}>{badge}</span></td>'
                )
        return "".join(out)

"""What a case report holds, for one audience: read with the export's queries.

``gather`` reads the whole case with the reads of ``export.json``
(``incidents.cases.views.export``: each compiled once per connection, a
fixed number of queries whatever the size of the case) and keeps what an
audience of the report's TLP level may receive:

- sources, findings and official statements marked above the level are left
  out, and so are annotations whose own level or whose source's is above it;
  they are only counted (``withheld``), never named;
- the hypotheses, their moves and confidence history, the key judgements and
  the summary carry the case's own level, which the audience must reach
  (``models.check_audience``);
- the ACH matrix and the scores count the sources in the report only, so a
  reader can check every score from the matrix printed beside it.

Everything is plain data for the template (``templates/reports/case_report.jinja``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from incidents.cases.markdown import render_markdown
from incidents.cases.models import Incident, StatusUpdate
from incidents.cases.views import export
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses import charts
from incidents.hypotheses.models import ConfidenceBand, Hypothesis
from incidents.hypotheses.scoring import (
    BAND_WEIGHT,
    FORMULA,
    CaseScores,
    Cell,
    Item,
    compute,
    credibility_weight,
)
from incidents.reports import matrix, wep
from incidents.reports.tlp import RANK, TLP

# The timeline entries the chronology shows: what people found and what
# authorities said, and the case's own moves; not every automatic entry.
CHRONOLOGY_KINDS = frozenset(
    {StatusUpdate.Kind.FINDING, StatusUpdate.Kind.OFFICIAL_STATEMENT, StatusUpdate.Kind.CASE_STATUS}
)
# Entries that carry a level of their own (the case's status moves carry the case's).
MARKED_KINDS = frozenset({StatusUpdate.Kind.FINDING, StatusUpdate.Kind.OFFICIAL_STATEMENT})

KIND_LABELS = dict(EvidenceItem.Kind.choices)
RELIABILITY_LABELS = {k: v.split(" — ", 1)[1] for k, v in EvidenceItem.Reliability.choices}
CREDIBILITY_LABELS = {k: v.split(" — ", 1)[1] for k, v in EvidenceItem.Credibility.choices}
STATUS_LABELS = dict(Hypothesis.Status.choices)
HYPOTHESIS_KIND_LABELS = dict(Hypothesis.Kind.choices)
ENTRY_LABELS = dict(StatusUpdate.Kind.choices)
VERIFICATION_LABELS = dict(EvidenceItem.Verification.choices)
CUSTODY_LABELS = {
    "collected": "collected",
    "uploaded": "uploaded",
    "downloaded": "downloaded",
    "exported": "exported",
    "verified": "verified",
    "verification_failed": "verification failed",
    "transferred": "transferred",
}
RATINGS = (
    ("CC", "Very consistent"),
    ("C", "Consistent"),
    ("N", "Neutral"),
    ("NA", "Not applicable"),
    ("I", "Inconsistent"),
    ("II", "Very inconsistent"),
)


# -- the pieces the template draws ------------------------------------------------


@dataclass
class Move:
    at: dt.datetime
    from_label: str
    to_label: str
    rationale: str
    author: str
    cited: list[str]  # codes of the cited sources in the report (S3, S7)
    cited_withheld: int


@dataclass
class ConfidenceStep:
    at: dt.datetime
    previous: str
    band: str
    reason: str
    author: str


@dataclass
class HypothesisEntry:
    id: int
    code: str  # H1, H2… in the order of their rank
    statement: str
    description: str
    kind: str
    status: str
    status_value: str
    confidence: str  # "Likely (55–80 %)" or ""
    score: float
    rank: int
    rated: int
    chart: SafeString
    moves: list[Move]
    history: list[ConfidenceStep]
    supports: int = 0
    contradicts: int = 0


@dataclass
class Source:
    id: int
    code: str  # S1, S2… in the order they were added to the case
    title: str
    kind: str
    grade: str
    reliability: str
    credibility: str
    reliability_label: str
    credibility_label: str
    weight_band: str
    diagnosticity: float
    event_at: dt.datetime | None
    event_uncertainty: str
    collected_at: dt.datetime
    collected_by: str
    obtained_from: str
    url: str
    original_name: str
    sha256: str
    size: int | None
    file_type: str
    verification: str
    last_verified_at: dt.datetime | None
    language: str
    illustrative: bool
    tlp: TLP
    withdrawn: bool = False  # kept on record, out of the matrix and the scores


@dataclass
class MatrixRow:
    source: Source
    cells: list[tuple[str, str]]  # (rating, relevance) per column; ("", "") when not rated


@dataclass
class Matrix:
    columns: list[HypothesisEntry]
    rows: list[MatrixRow]
    printed: matrix.Layout  # the rows as the report prints them (incidents/reports/matrix.py)

    @property
    def wide(self) -> bool:
        return self.printed.wide


@dataclass
class Cited:
    id: int
    source: Source
    stance: str  # supports / contradicts
    passage: str
    prefix: str
    suffix: str
    region: str
    note: str
    author: str
    at: dt.datetime
    tags: list[str]


@dataclass
class CitedGroup:
    hypothesis: HypothesisEntry
    supports: list[Cited]
    contradicts: list[Cited]


@dataclass
class ChronologyEntry:
    at: dt.datetime
    kind: str  # finding / official_statement / case_status / hypothesis_moved
    label: str
    body: SafeString
    author: str
    about: str  # the hypothesis (code) or source (code) it is about
    move: Move | None = None  # a hypothesis's move: drawn from the move itself


@dataclass
class CustodySummary:
    source: Source
    entries: int
    actions: list[tuple[str, int]]
    first_at: dt.datetime | None
    first_by: str
    last_at: dt.datetime | None
    last_action: str
    linked: bool  # each entry names the hash of the one before it
    head: str


@dataclass
class Withheld:
    sources: int = 0
    findings: int = 0
    official_statements: int = 0
    annotations: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "sources": self.sources,
            "findings": self.findings,
            "official_statements": self.official_statements,
            "annotations": self.annotations,
        }

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())

    def phrases(self) -> list[str]:
        """ "2 sources", "1 finding"…: the counts that are not zero."""
        words = (
            (self.sources, "source", "sources"),
            (self.findings, "finding", "findings"),
            (self.official_statements, "official statement", "official statements"),
            (self.annotations, "annotation", "annotations"),
        )
        return [f"{n} {one if n == 1 else many}" for n, one, many in words if n]


@dataclass
class ReportContent:
    incident: Incident
    audience: TLP
    number: int | None
    requested_by: str
    made_at: dt.datetime
    lead: str
    tags: list[str]
    members: list[tuple[str, str]]
    summary: SafeString
    judgements: SafeString
    judgements_by: str
    hypotheses: list[HypothesisEntry]
    matrix: Matrix
    sources: list[Source]
    cited: list[CitedGroup]
    cited_count: int
    uncited_annotations: int
    chronology: list[ChronologyEntry]
    custody: list[CustodySummary]
    withheld: Withheld
    sources_total: int
    formula: str = FORMULA
    wep_bands: list[wep.Band] = field(default_factory=wep.bands)
    ratings: tuple[tuple[str, str], ...] = RATINGS
    reliability_scale: list[tuple[str, str]] = field(
        default_factory=lambda: list(RELIABILITY_LABELS.items())
    )
    credibility_scale: list[tuple[int, str]] = field(
        default_factory=lambda: list(CREDIBILITY_LABELS.items())
    )
    weights: dict[str, float] = field(default_factory=lambda: dict(BAND_WEIGHT))

    @property
    def levels(self) -> list[TLP]:
        return list(TLP)

    @property
    def case_level(self) -> TLP:
        return TLP(self.incident.tlp)

    @property
    def occurred_uncertainty(self) -> str:
        return _duration(self.incident.occurred_uncertainty)

    @property
    def zone_name(self) -> str:
        return self.incident.time_zone

    @property
    def zone_offset(self) -> str:
        offset = timezone.localtime(self.made_at, self.incident.zone).strftime("%z")
        return f"UTC{offset[:3]}:{offset[3:]}"


# -- reading -------------------------------------------------------------------------


def gather(
    incident: Incident, *, audience: str, number: int | None, requested_by: str
) -> ReportContent:
    """Everything a report of INCIDENT for AUDIENCE shows, in a fixed number of queries."""
    level = TLP(audience)
    allowed = frozenset(TLP.up_to(level))
    now = timezone.now()
    withheld = Withheld()

    people = list(export._people_and_tags.lazy(incident.pk))
    lead_username = people[0][0]
    tags = [name for _, _, name in people if name is not None]
    members = []
    names: dict[str, str] = {}
    for m in export._member_rows.lazy(incident.pk):
        name = f"{m.user__first_name} {m.user__last_name}".strip() or m.user__username
        names[m.user__username] = name
        members.append((name, m.role))

    def person(username: str | None) -> str:
        if username is None:
            return "Inquest"
        return names.get(username, username)

    # Sources: those the audience may receive, numbered in the case's order.
    sources: list[Source] = []
    by_id: dict[int, Source] = {}
    total = 0
    for row in export._evidence_rows.lazy(incident.pk):
        total += 1
        if row.tlp not in allowed:
            withheld.sources += 1
            continue
        _, band = credibility_weight(row.reliability, row.credibility)
        source = Source(
            id=row.id,
            code=f"S{total}",
            title=row.title,
            kind=KIND_LABELS.get(row.kind, row.kind),
            grade=f"{row.reliability}{row.credibility}",
            reliability=row.reliability,
            credibility=str(row.credibility),
            reliability_label=RELIABILITY_LABELS.get(row.reliability, ""),
            credibility_label=CREDIBILITY_LABELS.get(row.credibility, ""),
            weight_band=band,
            diagnosticity=0.0,
            event_at=row.event_at,
            event_uncertainty=_duration(row.event_uncertainty),
            collected_at=row.collected_at,
            collected_by=person(row.collected_by__username),
            obtained_from=row.obtained_from,
            url=row.url,
            original_name=row.original_name if row.file else "",
            sha256=row.file_sha256 if row.file else "",
            size=row.file_size if row.file else None,
            file_type=row.file_type if row.file else "",
            verification=VERIFICATION_LABELS.get(row.verification, row.verification)
            if row.file
            else "",
            last_verified_at=row.last_verified_at,
            language=row.language,
            illustrative=row.is_illustrative,
            tlp=TLP(row.tlp),
            withdrawn=getattr(row, "withdrawn_at", None) is not None,
        )
        sources.append(source)
        by_id[row.id] = source

    # Scores and the matrix: the cells of the sources in the report.
    hypothesis_rows = list(export._hypothesis_rows.lazy(incident.pk))
    hypothesis_ids = [h.id for h in hypothesis_rows]
    grades = {
        s.id: Item(s.id, s.reliability, int(s.credibility)) for s in sources if not s.withdrawn
    }
    cells: list[Cell] = []
    for row in export._matrix_rows.lazy(incident.pk):
        if row.evidence_id in grades:
            cells.append(Cell(row.evidence_id, row.hypothesis_id, row.rating, row.relevance))
    scores = compute(hypothesis_ids, grades.values(), cells, contributions=False)
    for source in sources:
        item_score = scores.items.get(source.id)
        source.diagnosticity = item_score.diagnosticity if item_score else 0.0

    hypotheses = _hypotheses(incident, hypothesis_rows, scores, by_id, person, now)
    matrix = _matrix(hypotheses, [s for s in sources if not s.withdrawn], cells)
    cited, cited_count, uncited = _cited(incident, hypotheses, by_id, allowed, withheld, person)
    chronology = _chronology(incident, hypotheses, by_id, allowed, withheld, person)
    custody = _custody(incident, sources, person)

    return ReportContent(
        incident=incident,
        audience=level,
        number=number,
        requested_by=requested_by,
        made_at=now,
        lead=person(lead_username),
        tags=tags,
        members=members,
        summary=_markdown(incident.summary),
        judgements=wep.judgements_html(incident.key_judgements),
        judgements_by=person(lead_username),
        hypotheses=hypotheses,
        matrix=matrix,
        sources=sources,
        cited=cited,
        cited_count=cited_count,
        uncited_annotations=uncited,
        chronology=chronology,
        custody=custody,
        withheld=withheld,
        sources_total=total,
    )


def _markdown(text: str) -> SafeString:
    return mark_safe(render_markdown(text)) if text.strip() else mark_safe("")  # noqa: S308


def _duration(value: dt.timedelta | None) -> str:
    """ "± 10 min", "± 3 h", "± 2 days": an uncertainty as people say it."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    if seconds < 3600:
        return f"± {max(1, round(seconds / 60))} min"
    if seconds < 2 * 86400:
        hours = seconds / 3600
        return f"± {hours:.0f} h" if hours == int(hours) else f"± {hours:.1f} h"
    return f"± {round(seconds / 86400)} days"


def _band_label(value: str | None) -> str:
    return ConfidenceBand(value).label if value else ""


def _hypotheses(
    incident: Incident,
    rows: list[Any],
    scores: CaseScores,
    sources: dict[int, Source],
    person: Any,
    now: dt.datetime,
) -> list[HypothesisEntry]:
    """The hypotheses in the order of their rank, each with its history and moves."""
    history = export._grouped(export._confidence_rows.lazy(incident.pk), "hypothesis_id")
    moves: dict[int, list[Move]] = defaultdict(list)
    for move, cited_ids in export._collapsed(export._move_rows.lazy(incident.pk), "cited_evidence"):
        shown = [sources[i].code for i in cited_ids if i in sources]
        moves[move.hypothesis_id].append(
            Move(
                at=move.created_at,
                from_label=STATUS_LABELS.get(move.from_status, move.from_status),
                to_label=STATUS_LABELS.get(move.to_status, move.to_status),
                rationale=move.rationale,
                author=person(move.author__username),
                cited=shown,
                cited_withheld=len(cited_ids) - len(shown),
            )
        )
    ranked = sorted(rows, key=lambda h: (scores.hypotheses[h.id].rank, h.created_at, h.id))
    entries = []
    for position, h in enumerate(ranked, start=1):
        score = scores.hypotheses[h.id]
        changes = history[h.id]
        entries.append(
            HypothesisEntry(
                id=h.id,
                code=f"H{position}",
                statement=h.statement,
                description=h.description,
                kind=HYPOTHESIS_KIND_LABELS.get(h.kind, h.kind),
                status=STATUS_LABELS.get(h.status, h.status),
                status_value=h.status,
                confidence=_band_label(h.confidence),
                score=score.score,
                rank=score.rank,
                rated=score.rated_items,
                chart=charts.confidence_history_svg(
                    changes, element_id=f"chart-h{position}", now=now
                ),
                moves=moves[h.id],
                history=[
                    ConfidenceStep(
                        at=c.created_at,
                        previous=ConfidenceBand(c.previous).short_label if c.previous else "",
                        band=ConfidenceBand(c.band).short_label,
                        reason=c.reason,
                        author=person(c.author__username),
                    )
                    for c in changes
                ],
            )
        )
    return entries


def _matrix(hypotheses: list[HypothesisEntry], sources: list[Source], cells: list[Cell]) -> Matrix:
    """Rows by diagnosticity (most telling first), columns by rank."""
    column = {h.id: i for i, h in enumerate(hypotheses)}
    grid: dict[int, list[tuple[str, str]]] = {s.id: [("", "")] * len(hypotheses) for s in sources}
    for cell in cells:
        row = grid.get(cell.evidence_id)
        if row is not None and cell.hypothesis_id in column:
            row[column[cell.hypothesis_id]] = (cell.rating, cell.relevance)
    ordered = sorted(sources, key=lambda s: (-round(s.diagnosticity, 9), int(s.code[1:])))
    rows = [MatrixRow(s, grid[s.id]) for s in ordered]
    return Matrix(columns=hypotheses, rows=rows, printed=matrix.layout(hypotheses, rows))


def _cited(
    incident: Incident,
    hypotheses: list[HypothesisEntry],
    sources: dict[int, Source],
    allowed: frozenset[str],
    withheld: Withheld,
    person: Any,
) -> tuple[list[CitedGroup], int, int]:
    """The annotations that take a stance on a hypothesis: its evidence, passage by passage.

    An annotation is no wider than its source: either marked above the
    audience, it is withheld."""
    groups = {h.id: CitedGroup(h, [], []) for h in hypotheses}
    count = uncited = 0
    for a, tags in export._collapsed(export._annotation_rows.lazy(incident.pk), "tags__name"):
        if not a.stance or a.hypothesis_id not in groups:
            uncited += 1
            continue
        if TLP.highest(a.tlp, a.item__tlp) not in allowed or a.item_id not in sources:
            withheld.annotations += 1
            continue
        entry = Cited(
            id=a.id,
            source=sources[a.item_id],
            stance=a.stance,
            passage=a.quote_exact,
            prefix=a.quote_prefix,
            suffix=a.quote_suffix,
            region=a.region,
            note=a.body,
            author=person(a.author__username),
            at=a.created_at,
            tags=tags,
        )
        group = groups[a.hypothesis_id]
        (group.supports if a.stance == "supports" else group.contradicts).append(entry)
        count += 1
    for group in groups.values():
        group.hypothesis.supports = len(group.supports)
        group.hypothesis.contradicts = len(group.contradicts)
    shown = [g for g in groups.values() if g.supports or g.contradicts]
    return shown, count, uncited


def _chronology(
    incident: Incident,
    hypotheses: list[HypothesisEntry],
    sources: dict[int, Source],
    allowed: frozenset[str],
    withheld: Withheld,
    person: Any,
) -> list[ChronologyEntry]:
    """Findings, official statements, the case's status moves and the hypotheses' moves."""
    codes = {h.id: h for h in hypotheses}
    entries: list[ChronologyEntry] = []
    for u in export._timeline_rows.lazy(incident.pk):
        if u.kind not in CHRONOLOGY_KINDS:
            continue
        if u.kind in MARKED_KINDS and u.tlp not in allowed:
            if u.kind == StatusUpdate.Kind.FINDING:
                withheld.findings += 1
            else:
                withheld.official_statements += 1
            continue
        about = ""
        if u.evidence_id in sources:
            about = sources[u.evidence_id].code
        elif u.hypothesis_id in codes:
            about = codes[u.hypothesis_id].code
        entries.append(
            ChronologyEntry(
                at=u.created_at,
                kind=u.kind,
                label=ENTRY_LABELS.get(u.kind, u.kind),
                body=_markdown(u.body),
                author=person(u.author__username),
                about=about,
            )
        )
    for h in hypotheses:
        for move in h.moves:
            entries.append(
                ChronologyEntry(
                    at=move.at,
                    kind="hypothesis_moved",
                    label="Hypothesis moved",
                    body=mark_safe(""),
                    author=move.author,
                    about=h.code,
                    move=move,
                )
            )
    entries.sort(key=lambda e: e.at)
    return entries


def _custody(incident: Incident, sources: list[Source], person: Any) -> list[CustodySummary]:
    """For each file in the report: how often it was handled, by whom first, and
    whether each entry names the hash of the one before it."""
    with_files = {s.id: s for s in sources if s.sha256}
    rows = export._grouped(export._custody_rows.lazy(incident.pk), "item_id")
    summaries = []
    for source in sorted(with_files.values(), key=lambda s: int(s.code[1:])):
        entries = rows.get(source.id, [])
        actions = Counter(e.action for e in entries)
        previous = ""
        linked = True
        for e in entries:
            if e.previous_hash != previous:
                linked = False
            previous = e.entry_hash
        summaries.append(
            CustodySummary(
                source=source,
                entries=len(entries),
                actions=[(CUSTODY_LABELS.get(a, a), n) for a, n in actions.items()],
                first_at=entries[0].at if entries else None,
                first_by=person(entries[0].actor__username) if entries else "",
                last_at=entries[-1].at if entries else None,
                last_action=CUSTODY_LABELS.get(entries[-1].action, "") if entries else "",
                linked=linked,
                head=previous,
            )
        )
    return summaries


def withheld_preview(incident: Incident) -> dict[str, int]:
    """How many items a report for each level would leave out: the reports page's hint.

    Counted in four small queries (by level), not read item by item."""
    from django.db.models import Count

    from incidents.evidence.models import Annotation

    counts: Counter[str] = Counter()
    for level, n in (
        EvidenceItem.objects.filter(incident=incident)
        .order_by()
        .values_list("tlp")
        .annotate(n=Count("id"))
    ):
        counts[level] += n
    for level, n in (
        StatusUpdate.objects.filter(incident=incident, kind__in=MARKED_KINDS)
        .order_by()
        .values_list("tlp")
        .annotate(n=Count("id"))
    ):
        counts[level] += n
    for own, source, n in (
        Annotation.objects.live()
        .filter(item__incident=incident)
        .exclude(stance="")
        .order_by()
        .values_list("tlp", "item__tlp")
        .annotate(n=Count("id"))
    ):
        counts[TLP.highest(own, source)] += n
    return {
        level: sum(n for marked, n in counts.items() if RANK[marked] > RANK[level])
        for level in TLP.values
    }

"""Analysis of Competing Hypotheses: weighted inconsistency scoring.

Follows PARC ACH (see docs/architecture.md):

- rating value: II = -2, I = -1, every other rating 0;
- credibility weight of an item from its Admiralty grade: high (√2) when the
  source is A or B and the information 1 or 2; low (1/√2) when the source is
  D or E or the information 4 or 5; medium (1) otherwise;
- relevance weight of a cell: low 1/√2, medium 1, high √2;
- inconsistency of a hypothesis = Σ credibility × relevance × rating value;
- hypotheses ranked least inconsistent first (ties share a rank);
- diagnosticity of an item = population standard deviation of its
  consistency values (CC +2, C +1, N 0, I -1, II -2; NA left out) across the
  hypotheses it is rated against; 0 means non-diagnostic.

The arithmetic is pure (``compute``) so it can be tested on hand-made
matrices; ``score_case`` loads a whole case in three queries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from incidents.compiled import compiled

SQRT2 = math.sqrt(2)

RATING_VALUE = {"II": -2, "I": -1}
CONSISTENCY_VALUE = {"CC": 2, "C": 1, "N": 0, "I": -1, "II": -2}
# The weight of a band, for credibility and for relevance alike.
BAND_WEIGHT = {"low": 1 / SQRT2, "medium": 1.0, "high": SQRT2}
RELEVANCE_WEIGHT = BAND_WEIGHT

FORMULA = (
    "score(h) = Σ over items rated against h of "
    "credibility weight × relevance weight × rating value "
    "(II = −2, I = −1, others 0). Nearer 0 is better."
)


# The credibility band of an Admiralty grade: high when both the source and the
# information are among the best, low when either is among the worst (F and 6,
# "cannot be judged", stay medium). Used here and, as SQL, by ``credibility_band``.
HIGH_RELIABILITY, HIGH_CREDIBILITY = ("A", "B"), (1, 2)
LOW_RELIABILITY, LOW_CREDIBILITY = ("D", "E"), (4, 5)


def credibility_weight(reliability: str, credibility: int | str) -> tuple[float, str]:
    """The weight and its band (high / medium / low) for an Admiralty grade."""
    cred = int(credibility)
    if reliability in HIGH_RELIABILITY and cred in HIGH_CREDIBILITY:
        band = "high"
    elif reliability in LOW_RELIABILITY or cred in LOW_CREDIBILITY:
        band = "low"
    else:
        band = "medium"
    return BAND_WEIGHT[band], band


def rating_value(rating: str) -> int:
    return RATING_VALUE.get(rating, 0)


def diagnosticity(ratings: Iterable[str]) -> float:
    """Population standard deviation of the consistency values. Plain float
    arithmetic (``statistics.pstdev`` works in exact fractions, slow on a
    page of rows); identical values still give exactly 0."""
    values = [CONSISTENCY_VALUE[r] for r in ratings if r in CONSISTENCY_VALUE]
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / n)


# Named tuples, not frozen dataclasses: the case page builds one per cell of
# its matrix (up to 1,200), and a frozen dataclass costs five times as much.
class Cell(NamedTuple):
    evidence_id: int
    hypothesis_id: int
    rating: str
    relevance: str


class Item(NamedTuple):
    id: int
    reliability: str
    credibility: int


@dataclass
class Contribution:
    """One cell's part in a hypothesis's score, for the explanation."""

    evidence_id: int
    rating: str
    credibility_weight: float
    credibility_band: str
    relevance: str
    relevance_weight: float
    value: float


@dataclass
class HypothesisScore:
    hypothesis_id: int
    score: float = 0.0
    rank: int = 0
    rated_items: int = 0
    contributions: list[Contribution] = field(default_factory=list)


@dataclass
class ItemScore:
    evidence_id: int
    credibility_weight: float
    credibility_band: str
    diagnosticity: float = 0.0
    rated: int = 0

    @property
    def is_diagnostic(self) -> bool:
        return self.diagnosticity > 1e-9


@dataclass
class CaseScores:
    hypotheses: dict[int, HypothesisScore]
    items: dict[int, ItemScore]
    formula: str = FORMULA

    def ranking(self) -> list[HypothesisScore]:
        return sorted(self.hypotheses.values(), key=lambda s: (s.rank, s.hypothesis_id))


def compute(
    hypothesis_ids: Iterable[int],
    items: Iterable[Item],
    cells: Iterable[tuple[int, int, str, str]],
    *,
    contributions: bool = True,
) -> CaseScores:
    """Scores, ranks and diagnosticities of CELLS (``Cell``s, or plain tuples
    in its order); with CONTRIBUTIONS, each cell's part in its hypothesis's
    score too (the explanation's tables; the matrix alone does without them)."""
    hyp_scores = {hid: HypothesisScore(hid) for hid in hypothesis_ids}
    item_scores: dict[int, ItemScore] = {}
    for item in items:
        weight, band = credibility_weight(item.reliability, item.credibility)
        item_scores[item.id] = ItemScore(item.id, weight, band)
    ratings_by_item: dict[int, list[str]] = {iid: [] for iid in item_scores}
    # Up to 1,200 cells a page: names bound once, each cell unpacked once.
    item_score_of, hyp_score_of = item_scores.get, hyp_scores.get
    for evidence_id, hypothesis_id, rating, relevance in cells:
        item_score = item_score_of(evidence_id)
        hyp = hyp_score_of(hypothesis_id)
        if item_score is None or hyp is None:
            continue
        rel_weight = RELEVANCE_WEIGHT[relevance]
        value = item_score.credibility_weight * rel_weight * RATING_VALUE.get(rating, 0)
        hyp.score += value
        hyp.rated_items += 1
        if contributions:
            hyp.contributions.append(
                Contribution(
                    evidence_id=evidence_id,
                    rating=rating,
                    credibility_weight=item_score.credibility_weight,
                    credibility_band=item_score.credibility_band,
                    relevance=relevance,
                    relevance_weight=rel_weight,
                    value=value,
                )
            )
        ratings_by_item[evidence_id].append(rating)
        item_score.rated += 1
    for iid, ratings in ratings_by_item.items():
        item_scores[iid].diagnosticity = diagnosticity(ratings)
    rank(hyp_scores.values())
    return CaseScores(hypotheses=hyp_scores, items=item_scores)


def rank(scores: Iterable[HypothesisScore]) -> None:
    """Competition ranking ("1, 1, 3"), least inconsistent (highest score) first;
    scores are rounded so floating-point noise never splits a tie."""
    ordered = sorted(scores, key=lambda s: -round(s.score, 9))
    previous: float | None = None
    for position, score in enumerate(ordered, start=1):
        rounded = round(score.score, 9)
        if rounded != previous:
            score.rank = position
            previous = rounded
        else:
            score.rank = ordered[position - 2].rank


def tally(
    hypothesis_ids: Iterable[int], groups: Iterable[tuple[int, str, str, str, int]]
) -> CaseScores:
    """Scores and ranks from counted groups of cells: (hypothesis id, rating,
    relevance, credibility band, number of cells). Same arithmetic as
    ``compute``, without the per-cell contributions or the items."""
    hyp_scores = {hid: HypothesisScore(hid) for hid in hypothesis_ids}
    for hid, rating, relevance, band, count in groups:
        hyp = hyp_scores.get(hid)
        if hyp is None:
            continue
        weight = BAND_WEIGHT[band] * RELEVANCE_WEIGHT[relevance] * rating_value(rating)
        hyp.score += count * weight
        hyp.rated_items += count
    rank(hyp_scores.values())
    return CaseScores(hypotheses=hyp_scores, items={})


def credibility_band(item: str = "") -> Any:
    """``credibility_weight``'s band as an SQL expression over the grade of
    the item at ITEM (a relation path ending in ``__``, or empty for an item
    itself): the same constants, for the GROUP BY of ``case_scores``."""
    from django.db.models import Case, Q, Value, When

    high = Q(
        **{f"{item}reliability__in": HIGH_RELIABILITY, f"{item}credibility__in": HIGH_CREDIBILITY}
    )
    low = Q(**{f"{item}reliability__in": LOW_RELIABILITY}) | Q(
        **{f"{item}credibility__in": LOW_CREDIBILITY}
    )
    return Case(
        When(high, then=Value("high")), When(low, then=Value("low")), default=Value("medium")
    )


@compiled(tuples=True)
def _score_groups(case: int) -> Any:
    """The GROUP BY of ``case_scores``, compiled once per connection: building
    it through the ORM took longer (1.6 ms) than running it."""
    from django.db.models import Count

    from incidents.hypotheses.models import Assessment

    return (
        Assessment.objects.filter(evidence__incident=case, evidence__withdrawn_at=None)
        .order_by()
        .annotate(band=credibility_band("evidence__"))
        .values("hypothesis", "rating", "relevance", "band")
        .annotate(n=Count("*"))
        .values_list("hypothesis", "rating", "relevance", "band", "n")
    )


def case_scores(incident: Any, hypothesis_ids: Iterable[int]) -> CaseScores:
    """Score and rank the hypotheses of INCIDENT in one GROUP BY query: the
    cells are counted per hypothesis, rating, relevance and credibility band
    (a few hundred groups at most, whatever the size of the case).

    Through the case's items (the band needs them anyway): PostgreSQL joins
    them to their assessments by an index, whatever the size of the table."""
    return tally(hypothesis_ids, _score_groups(incident.pk))


def diagnosticity_by_item(incident: Any) -> dict[int, float]:
    """``diagnosticity`` of every rated item of INCIDENT, in one query
    (population standard deviation of the consistency values, NA left out,
    items rated against fewer than two hypotheses absent: 0)."""
    from django.db.models import Case, Count, FloatField, StdDev, Value, When

    from incidents.hypotheses.models import Assessment

    consistency = Case(
        *(When(rating=r, then=Value(float(v))) for r, v in CONSISTENCY_VALUE.items()),
        output_field=FloatField(),
    )
    rows = (
        Assessment.objects.filter(
            evidence__incident=incident, evidence__withdrawn_at=None, rating__in=CONSISTENCY_VALUE
        )
        .order_by()
        .values("evidence_id")
        .annotate(n=Count("id"), spread=StdDev(consistency, sample=False))
        .filter(n__gte=2)
        .values_list("evidence_id", "spread")
    )
    return {pk: float(spread or 0.0) for pk, spread in rows}


def score_case(incident: Any) -> CaseScores:
    """Score every hypothesis and item of INCIDENT in three queries."""
    from incidents.evidence.models import EvidenceItem
    from incidents.hypotheses.models import Assessment, Hypothesis

    hypothesis_ids = list(Hypothesis.objects.filter(incident=incident).values_list("id", flat=True))
    items = [
        Item(id=i, reliability=r, credibility=c)
        for i, r, c in EvidenceItem.objects.filter(
            incident=incident, withdrawn_at=None
        ).values_list("id", "reliability", "credibility")
    ]
    cells = [
        Cell(e, h, r, rel)
        for e, h, r, rel in Assessment.objects.filter(
            hypothesis__incident=incident, evidence__withdrawn_at=None
        ).values_list("evidence_id", "hypothesis_id", "rating", "relevance")
    ]
    return compute(hypothesis_ids, items, cells)

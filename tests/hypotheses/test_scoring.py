"""ACH scoring against matrices computed by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest

from incidents.hypotheses.scoring import (
    FORMULA,
    Cell,
    Item,
    case_scores,
    compute,
    credibility_weight,
    diagnosticity,
    diagnosticity_by_item,
    score_case,
)
from tests.factories import EvidenceItemFactory, HypothesisFactory, IncidentFactory, rate

R2 = math.sqrt(2)


@pytest.mark.parametrize(
    ("grade", "weight", "band"),
    [
        # high: source A or B and information 1 or 2
        ("A1", R2, "high"),
        ("A2", R2, "high"),
        ("B1", R2, "high"),
        ("B2", R2, "high"),
        # low: source D or E, or information 4 or 5
        ("D1", 1 / R2, "low"),
        ("D3", 1 / R2, "low"),
        ("E2", 1 / R2, "low"),
        ("E6", 1 / R2, "low"),
        ("A4", 1 / R2, "low"),
        ("B5", 1 / R2, "low"),
        ("C4", 1 / R2, "low"),
        ("F5", 1 / R2, "low"),
        # medium: everything else
        ("C3", 1.0, "medium"),
        ("F6", 1.0, "medium"),
        ("A3", 1.0, "medium"),
        ("C1", 1.0, "medium"),
        ("B6", 1.0, "medium"),
        ("F1", 1.0, "medium"),
    ],
)
def test_credibility_weight_from_each_admiralty_band(grade: str, weight: float, band: str) -> None:
    value, name = credibility_weight(grade[0], int(grade[1]))
    assert value == pytest.approx(weight)
    assert name == band
    assert credibility_weight(grade[0], grade[1]) == (value, name)  # "3" as well as 3


@pytest.mark.parametrize(
    ("relevance", "expected"), [("low", -2 / R2), ("medium", -2.0), ("high", -2 * R2)]
)
def test_each_relevance_weight(relevance: str, expected: float) -> None:
    scores = compute([1], [Item(10, "C", 3)], [Cell(10, 1, "II", relevance)])
    assert scores.hypotheses[1].score == pytest.approx(expected)
    assert scores.hypotheses[1].contributions[0].relevance_weight == pytest.approx(-expected / 2)


@pytest.mark.parametrize(
    ("rating", "value"), [("CC", 0), ("C", 0), ("N", 0), ("NA", 0), ("I", -1), ("II", -2)]
)
def test_only_inconsistency_counts(rating: str, value: int) -> None:
    scores = compute([1], [Item(10, "C", 3)], [Cell(10, 1, rating, "medium")])
    assert scores.hypotheses[1].score == value


def test_a_hand_computed_matrix() -> None:
    #            h1             h2             h3
    # item 10 A1 II high        C  medium      I  low
    # item 20 D3 I  medium      II high        NA medium
    # item 30 C3 N  medium      I  medium      CC high
    items = [Item(10, "A", 1), Item(20, "D", 3), Item(30, "C", 3)]
    cells = [
        Cell(10, 1, "II", "high"),
        Cell(10, 2, "C", "medium"),
        Cell(10, 3, "I", "low"),
        Cell(20, 1, "I", "medium"),
        Cell(20, 2, "II", "high"),
        Cell(20, 3, "NA", "medium"),
        Cell(30, 1, "N", "medium"),
        Cell(30, 2, "I", "medium"),
        Cell(30, 3, "CC", "high"),
    ]
    scores = compute([1, 2, 3], items, cells)

    # h1: √2·√2·(−2) + (1/√2)·1·(−1) + 0 = −4 − 0.7071
    assert scores.hypotheses[1].score == pytest.approx(-4 - 1 / R2)
    # h2: 0 + (1/√2)·√2·(−2) + 1·1·(−1) = −3
    assert scores.hypotheses[2].score == pytest.approx(-3)
    # h3: √2·(1/√2)·(−1) + 0 + 0 = −1
    assert scores.hypotheses[3].score == pytest.approx(-1)
    assert [s.hypothesis_id for s in scores.ranking()] == [3, 2, 1]
    assert [scores.hypotheses[h].rank for h in (1, 2, 3)] == [3, 2, 1]
    assert [scores.hypotheses[h].rated_items for h in (1, 2, 3)] == [3, 3, 3]

    # Diagnosticity: population standard deviation of CC +2, C +1, N 0, I −1, II −2.
    # item 10: (−2, +1, −1), mean −2/3, variance 14/9
    assert scores.items[10].diagnosticity == pytest.approx(math.sqrt(14 / 9))
    # item 20: NA left out, so (−1, −2): standard deviation 0.5
    assert scores.items[20].diagnosticity == pytest.approx(0.5)
    # item 30: (0, −1, +2), mean 1/3, variance 14/9
    assert scores.items[30].diagnosticity == pytest.approx(math.sqrt(14 / 9))
    assert scores.items[10].credibility_band == "high"
    assert scores.items[20].credibility_band == "low"
    assert scores.items[30].credibility_band == "medium"

    first = scores.hypotheses[1].contributions[0]
    assert (first.evidence_id, first.rating, first.credibility_band, first.relevance) == (
        10,
        "II",
        "high",
        "high",
    )
    assert first.value == pytest.approx(-4)
    assert scores.formula == FORMULA


def test_a_row_rated_alike_everywhere_is_not_diagnostic() -> None:
    items = [Item(10, "B", 2), Item(20, "C", 3)]
    cells = [
        Cell(10, 1, "C", "medium"),
        Cell(10, 2, "C", "high"),
        Cell(10, 3, "C", "low"),
        Cell(20, 1, "I", "medium"),
        Cell(20, 2, "NA", "medium"),
        Cell(20, 3, "I", "medium"),
    ]
    scores = compute([1, 2, 3], items, cells)
    assert scores.items[10].diagnosticity == 0
    assert not scores.items[10].is_diagnostic
    assert scores.items[20].diagnosticity == 0  # NA is left out: I, I
    assert not scores.items[20].is_diagnostic
    assert diagnosticity(["CC", "II"]) == pytest.approx(2.0)
    assert diagnosticity(["NA", "NA"]) == 0
    assert diagnosticity([]) == 0


@pytest.mark.parametrize(
    ("cells", "ranks"),
    [
        # h1 −1, h2 −1, h3 0: the tie shares second place
        ([Cell(10, 1, "I", "medium"), Cell(10, 2, "I", "medium")], [2, 2, 1]),
        # h1 0, h2 0, h3 −2: competition ranking 1, 1, 3
        ([Cell(10, 3, "II", "medium")], [1, 1, 3]),
        # nothing rated: all tie for first
        ([], [1, 1, 1]),
        # −(√2 · 1/√2) is −1.0000000000000002 in floating point: still a tie with −1
        ([Cell(20, 1, "I", "low"), Cell(10, 2, "I", "medium")], [2, 2, 1]),
    ],
)
def test_ranks_with_ties(cells: list[Cell], ranks: list[int]) -> None:
    scores = compute([1, 2, 3], [Item(10, "C", 3), Item(20, "A", 1)], cells)
    assert [scores.hypotheses[h].rank for h in (1, 2, 3)] == ranks


def test_cells_of_unknown_items_or_hypotheses_are_ignored() -> None:
    scores = compute([1], [Item(10, "C", 3)], [Cell(99, 1, "II", "high"), Cell(10, 7, "I", "low")])
    assert scores.hypotheses[1].score == 0
    assert scores.items[10].rated == 0


@pytest.mark.django_db
def test_score_case_reads_the_database_and_grading_moves_the_score() -> None:
    incident = IncidentFactory()
    fault = HypothesisFactory(incident=incident)
    insider = HypothesisFactory(incident=incident)
    log = EvidenceItemFactory(incident=incident, reliability="C", credibility=3)
    rate(log, fault, "II", "high")
    rate(log, insider, "CC", "high")
    other_case_item = EvidenceItemFactory()  # never counted here
    rate(other_case_item, HypothesisFactory(incident=other_case_item.incident), "II")

    scores = score_case(incident)
    assert scores.hypotheses[fault.pk].score == pytest.approx(-2 * R2)
    assert scores.hypotheses[insider.pk].score == 0
    assert [s.hypothesis_id for s in scores.ranking()] == [insider.pk, fault.pk]
    assert scores.items[log.pk].diagnosticity == pytest.approx(2.0)
    assert set(scores.items) == {log.pk}

    log.reliability, log.credibility = "A", 1
    log.save()
    assert score_case(incident).hypotheses[fault.pk].score == pytest.approx(-4)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 8])
def test_score_case_takes_three_queries_whatever_the_size(
    size: int, django_assert_num_queries: Any
) -> None:
    incident = IncidentFactory()
    hypotheses = [HypothesisFactory(incident=incident) for _ in range(3)]
    for n in range(size):
        item = EvidenceItemFactory(incident=incident)
        for h in hypotheses:
            rate(item, h, ["I", "C", "II"][n % 3])
    with django_assert_num_queries(3):
        scores = score_case(incident)
    assert len(scores.items) == size
    assert sum(s.rated_items for s in scores.hypotheses.values()) == 3 * size


@pytest.mark.django_db
def test_scores_in_sql_agree_with_compute(django_assert_num_queries: Any) -> None:
    """The case page's GROUP BY (``case_scores``) and StdDev
    (``diagnosticity_by_item``) give what ``compute`` gives over every cell:
    every grade band, relevance and rating, NA left out of the spread."""
    incident = IncidentFactory()
    hypotheses = [HypothesisFactory(incident=incident) for _ in range(3)]
    grades = [("A", 1), ("B", 2), ("C", 3), ("D", 1), ("A", 4), ("F", 6), ("E", 5)]
    ratings = ["CC", "C", "N", "NA", "I", "II"]
    relevances = ["low", "medium", "high"]
    for n, (reliability, credibility) in enumerate(grades):
        item = EvidenceItemFactory(
            incident=incident, reliability=reliability, credibility=credibility
        )
        for j, h in enumerate(hypotheses[: 1 + n % 3]):  # rows of 1, 2 and 3 cells
            rate(item, h, ratings[(n + 2 * j) % 6], relevances[(n + j) % 3])
    other = EvidenceItemFactory()  # another case's cell is never counted
    rate(other, HypothesisFactory(incident=other.incident), "II")

    expected = score_case(incident)
    with django_assert_num_queries(1):
        scores = case_scores(incident, [h.pk for h in hypotheses])
    for h in hypotheses:
        got, want = scores.hypotheses[h.pk], expected.hypotheses[h.pk]
        assert got.score == pytest.approx(want.score)
        assert (got.rank, got.rated_items) == (want.rank, want.rated_items)
    with django_assert_num_queries(1):
        spread = diagnosticity_by_item(incident)
    for pk, item_score in expected.items.items():
        assert spread.get(pk, 0.0) == pytest.approx(item_score.diagnosticity)
    assert any(v > 0 for v in spread.values())

"""Editing a matrix cell in place: the editor, the rating, the scores that follow."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from incidents.cases.models import Incident
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(incident: Incident, lead: Any) -> tuple[EvidenceItem, Hypothesis, Hypothesis]:
    h1 = Hypothesis.propose(incident, by=lead, statement="A fault.", kind="technical_fault")
    h2 = Hypothesis.propose(incident, by=lead, statement="An attack.", kind="cyberattack")
    item = EvidenceItem.attach(
        incident,
        by=lead,
        title="CMS login log",
        url="https://e.org/log",
        reliability="A",
        credibility=1,
    )
    return item, h1, h2


def cell_url(item: EvidenceItem, h: Hypothesis) -> str:
    return reverse("hypotheses:cell", args=[item.incident.reference, item.pk, h.pk])


def test_put_is_405(client: Any, pair: Any, lead: Any) -> None:
    item, h1, _ = pair
    client.force_login(lead)
    assert client.put(cell_url(item, h1)).status_code == 405


def test_access(client: Any, pair: Any, outsider: Any, observer: Any) -> None:
    item, h1, _ = pair
    data = {"rating": "II", "relevance": "high"}
    assert client.post(cell_url(item, h1), data).status_code == 302
    client.force_login(outsider)
    assert client.post(cell_url(item, h1), data).status_code == 404
    assert client.get(cell_url(item, h1), HTTP_HX_REQUEST="true").status_code == 404
    client.force_login(observer)
    assert client.post(cell_url(item, h1), data).status_code == 403
    assert client.get(cell_url(item, h1), HTTP_HX_REQUEST="true").status_code == 403
    assert not Assessment.objects.exists()


def test_pair_from_another_case_is_404(client: Any, pair: Any, lead: Any) -> None:
    item, _, _ = pair
    other = Incident.open_case(by=lead, title="Other")
    foreign = Hypothesis.propose(other, by=lead, statement="Elsewhere.", kind="other")
    client.force_login(lead)
    response = client.post(cell_url(item, foreign), {"rating": "C", "relevance": "medium"})
    assert response.status_code == 404


def test_get_with_htmx_opens_the_editor(client: Any, pair: Any, lead: Any) -> None:
    item, h1, _ = pair
    Assessment.rate(item, h1, by=lead, rating="I", relevance="low", reason="Odd timing.")
    client.force_login(lead)
    response = client.get(cell_url(item, h1), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form class="cell-form"' in html
    assert "<html" not in html
    assert '<option value="I" selected>' in html
    assert "Odd timing." in html
    assert "autofocus" in html  # the rating select takes the focus
    # Cancel gives back the plain cell.
    cancel = client.get(cell_url(item, h1) + "?cancel=1", HTTP_HX_REQUEST="true")
    assert 'class="badge rating-I"' in cancel.content.decode()
    assert "cell-form" not in cancel.content.decode()


def test_get_without_htmx_shows_the_page_with_the_editor_open(
    client: Any, pair: Any, lead: Any
) -> None:
    item, h1, _ = pair
    client.force_login(lead)
    response = client.get(cell_url(item, h1))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert html.count('<form class="cell-form"') == 1


def test_rating_updates_scores_ranks_and_diagnosticity(client: Any, pair: Any, lead: Any) -> None:
    item, h1, h2 = pair
    client.force_login(lead)
    response = client.post(
        cell_url(item, h1),
        {"rating": "II", "relevance": "high", "reason": "Logged in from abroad.", "version": 0},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    cell = Assessment.objects.get(evidence=item, hypothesis=h1)
    assert (cell.rating, cell.relevance, cell.reason, cell.author) == (
        "II",
        "high",
        "Logged in from abroad.",
        lead,
    )
    html = response.content.decode()
    # The cell's row, with the score and rank rows out of band; an open
    # explanation reloads itself on scores-changed (it is not sent along).
    assert html.lstrip().startswith(f'<tr id="row-{item.pk}"')
    assert '<section id="matrix"' not in html
    assert '<tfoot id="matrix-foot" hx-swap-oob="true">' in html
    assert 'id="matrix-explain"' not in html
    assert "scores-changed" in response["HX-Trigger"]
    # A1 (√2) × high (√2) × −2 = −4.00; H2 unrated: 0.00 and now first.
    score_row = html[html.index('class="score-row"') : html.index('class="rank-row"')]
    assert "-4.00" in score_row and "0.00" in score_row
    rank_row = html[html.index('class="rank-row"') :]
    assert '<span class="rank">2</span>' in rank_row
    assert "rank-first" in rank_row
    assert "hypotheses-changed" in response["HX-Trigger"]
    assert f'id="cell-{item.pk}-{h1.pk}"' in html and "autofocus" in html
    # Only one hypothesis rated: not yet diagnostic. Rating the other one makes it so.
    assert "non-diagnostic" in html
    response = client.post(
        cell_url(item, h2),
        {"rating": "CC", "relevance": "medium", "reason": "", "version": 0},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    row = html[: html.index("</tr>")]
    assert "non-diagnostic" not in row
    assert "2.00" in row  # pstdev of (−2, +2)


def test_rating_in_a_matrix_sorted_by_diagnosticity_returns_the_matrix(
    client: Any, pair: Any, lead: Any
) -> None:
    item, h1, _ = pair
    client.force_login(lead)
    response = client.post(
        cell_url(item, h1) + "?sort=diagnosticity",
        {"rating": "II", "relevance": "high", "reason": "", "sort": "diagnosticity", "version": 0},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="matrix"')  # rows may change order
    assert "hx-swap-oob" not in html
    assert "hypotheses-changed" in response["HX-Trigger"]


def test_rating_again_updates_in_place(client: Any, pair: Any, lead: Any) -> None:
    item, h1, _ = pair
    cell = Assessment.rate(item, h1, by=lead, rating="C")
    client.force_login(lead)
    client.post(cell_url(item, h1), {"rating": "N", "relevance": "low", "version": cell.version})
    assert Assessment.objects.filter(evidence=item, hypothesis=h1).count() == 1
    assert Assessment.objects.get(evidence=item, hypothesis=h1).rating == "N"


def test_plain_post_redirects_to_the_cell_keeping_sort(client: Any, pair: Any, lead: Any) -> None:
    item, h1, _ = pair
    client.force_login(lead)
    response = client.post(
        cell_url(item, h1),
        {"rating": "C", "relevance": "medium", "sort": "diagnosticity", "version": 0},
    )
    assert response.status_code == 302
    assert response["Location"].endswith(
        f"/cases/{item.incident.reference}/?sort=diagnosticity#cell-{item.pk}-{h1.pk}"
    )


def test_invalid_rating_shows_error_in_the_cell(client: Any, pair: Any, lead: Any) -> None:
    item, h1, _ = pair
    client.force_login(lead)
    response = client.post(
        cell_url(item, h1), {"rating": "ZZ", "relevance": "medium"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#td-{item.pk}-{h1.pk}"
    assert response["HX-Reswap"] == "innerHTML"
    assert "Select a valid choice" in response.content.decode()
    assert not Assessment.objects.exists()
    plain = client.post(cell_url(item, h1), {"rating": "ZZ", "relevance": "medium"})
    assert plain.status_code == 422
    assert "Select a valid choice" in plain.content.decode()
    assert not Assessment.objects.exists()


def test_grading_a_source_moves_the_scores(client: Any, pair: Any, lead: Any) -> None:
    """DESIGN.md: grading a source must move the scores."""
    item, h1, _ = pair
    Assessment.rate(item, h1, by=lead, rating="I")
    client.force_login(lead)
    url = reverse("cases:detail", args=[item.incident.reference])
    html = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="matrix").content.decode()
    assert "-1.41" in html  # A1: √2
    EvidenceItem.objects.filter(pk=item.pk).update(reliability="E", credibility=5)
    html = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="matrix").content.decode()
    assert "-0.71" in html  # E5: 1/√2


def test_stale_cell_edit_is_refused(client: Any, pair: Any, lead: Any, investigator: Any) -> None:
    item, h1, _ = pair
    client.force_login(lead)
    editor = client.get(cell_url(item, h1), HTTP_HX_REQUEST="true").content.decode()
    assert 'name="version" value="0"' in editor  # not rated when the editor opened
    Assessment.rate(item, h1, by=investigator, rating="C", reason="Bob was first.")
    response = client.post(
        cell_url(item, h1),
        {"rating": "II", "relevance": "high", "version": "0"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409  # a stale copy: conflict
    assert response["HX-Retarget"] == f"#td-{item.pk}-{h1.pk}"
    assert "nothing was saved" in response.content.decode().lower()
    assert Assessment.objects.get(evidence=item, hypothesis=h1).rating == "C"

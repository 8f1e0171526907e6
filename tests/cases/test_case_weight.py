"""A big case stays light: the move form's citations load on demand, the
matrix and the source list are paged, and the scores still cover every row."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse

from incidents.cases.models import Incident
from incidents.cases.views.page_data import PAGE_ROWS, SOURCE_ROWS
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis

pytestmark = pytest.mark.django_db


def page_url(incident: Incident, query: str = "") -> str:
    return reverse("cases:detail", args=[incident.reference]) + (f"?{query}" if query else "")


def move_url(h: Hypothesis) -> str:
    return reverse("hypotheses:move", args=[h.incident.reference, h.pk])


def bulk_items(incident: Incident, by: Any, n: int) -> list[EvidenceItem]:
    now = dt.datetime(2026, 11, 20, 9, 42, tzinfo=dt.UTC)
    EvidenceItem.objects.bulk_create(
        EvidenceItem(
            incident=incident,
            title=f"Source {i:04d}",
            url=f"https://example.org/{i}",
            reliability="B",
            credibility=2,
            collected_at=now + dt.timedelta(seconds=i),
            created_at=now + dt.timedelta(seconds=i),
            collected_by=by,
        )
        for i in range(n)
    )
    return list(incident.evidence.order_by("created_at", "id"))


@pytest.fixture
def two(incident: Incident, lead: Any) -> list[Hypothesis]:
    return [
        Hypothesis.propose(incident, by=lead, statement=f"Hypothesis {i}", kind="other")
        for i in range(2)
    ]


# -- the move form's citations, on demand --------------------------------------


def test_case_page_does_not_list_citations_in_every_card(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis]
) -> None:
    items = bulk_items(incident, lead, 3)
    client.force_login(lead)
    html = client.get(page_url(incident)).content.decode()
    assert "cited_evidence" not in html
    # No card carries its move form: a link loads it (the page, without JavaScript).
    assert "-rationale" not in html
    for h in two:
        assert f'href="{move_url(h)}#hyp-{h.pk}"' in html
        assert f'hx-get="{move_url(h)}"' in html
    assert items[0].title in html  # in the matrix and the list, not as a checkbox
    # The form, loaded, offers the citations on demand in turn.
    form = client.get(move_url(two[0]), HTTP_HX_REQUEST="true").content.decode()
    assert form.lstrip().startswith("<form")
    assert f'name="move-{two[0].pk}-rationale"' in form
    assert "Choose among the 3 sources" in form
    assert "cited_evidence" not in form


def test_move_get_access(
    client: Any, incident: Incident, two: list[Hypothesis], outsider: Any, observer: Any
) -> None:
    url = move_url(two[0])
    assert client.get(url).status_code == 302  # anonymous -> login
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404
    client.force_login(observer)
    assert client.get(url).status_code == 403
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 403


def test_move_get_of_another_cases_hypothesis_is_404(
    client: Any, incident: Incident, lead: Any
) -> None:
    other = Incident.open_case(by=lead, title="Another", severity="low")
    foreign = Hypothesis.propose(other, by=lead, statement="Elsewhere.", kind="other")
    client.force_login(lead)
    url = reverse("hypotheses:move", args=[incident.reference, foreign.pk])
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_move_get_with_htmx_is_the_citation_list_alone(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis]
) -> None:
    items = bulk_items(incident, lead, 3)
    h = two[1]
    client.force_login(lead)
    response = client.get(move_url(h), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"cite-{h.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<fieldset class="citations" id="cite-{h.pk}">')
    assert "<html" not in html and 'id="matrix"' not in html
    assert html.count(f'name="move-{h.pk}-cited_evidence"') == 3
    assert f'value="{items[2].pk}"' in html and "B2 · Source 0002" in html
    assert "HX-Request" in response["Vary"]


def test_move_get_without_htmx_is_the_page_with_that_form_open(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis]
) -> None:
    bulk_items(incident, lead, 2)
    h, other = two[1], two[0]
    client.force_login(lead)
    response = client.get(move_url(h))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert html.count(f'name="move-{h.pk}-cited_evidence"') == 2
    assert f"move-{other.pk}-cited_evidence" not in html  # only the opened card
    card = html[html.index(f'id="hyp-{h.pk}"') :]
    card = card[: card.index("</article>")]
    assert '<details class="action" data-load-on-open open>' in card
    assert f'name="move-{h.pk}-rationale"' in card


def test_move_with_citation_still_works(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis]
) -> None:
    items = bulk_items(incident, lead, 2)
    h = two[0]
    client.force_login(lead)
    p = f"move-{h.pk}"
    data = {
        f"{p}-status": "under_evaluation",
        f"{p}-rationale": "Look closer.",
        f"{p}-cited_evidence": [str(items[1].pk)],
        f"{p}-version": str(h.version),
    }
    assert client.post(move_url(h), data).status_code == 302
    h.refresh_from_db()
    assert h.status == "under_evaluation"
    assert list(h.moves.last().cited_evidence.all()) == [items[1]]


def test_invalid_move_shows_the_citations_with_the_choice_kept(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis]
) -> None:
    items = bulk_items(incident, lead, 2)
    h = two[0]
    client.force_login(lead)
    p = f"move-{h.pk}"
    data = {f"{p}-status": "under_evaluation", f"{p}-cited_evidence": [str(items[0].pk)]}
    response = client.post(move_url(h), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count(f'name="{p}-cited_evidence"') == 2
    assert re.search(rf'<input[^>]*value="{items[0].pk}"[^>]*checked', html)
    assert not re.search(rf'<input[^>]*value="{items[1].pk}"[^>]*checked', html)
    h.refresh_from_db()
    assert h.status == "proposed"


# -- paged matrix and source list ------------------------------------------


@pytest.fixture
def big(incident: Incident, lead: Any, two: list[Hypothesis]) -> list[EvidenceItem]:
    """PAGE_ROWS + 30 sources (B2: weight √2); only the last one tells the hypotheses apart."""
    items = bulk_items(incident, lead, PAGE_ROWS + 30)
    cells = [
        Assessment(evidence=i, hypothesis=h, rating="N", author=lead) for i in items for h in two
    ]
    cells[-2].rating = "II"  # the last item against H1
    Assessment.objects.bulk_create(cells)
    return items


def matrix_of(html: str) -> str:
    start = html.index('id="matrix"')
    return html[start : html.index('id="evidence"', start)]


def test_matrix_shows_one_page_of_rows_and_links_to_more(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis], big: list[EvidenceItem]
) -> None:
    client.force_login(lead)
    html = client.get(page_url(incident)).content.decode()
    matrix = matrix_of(html)
    assert matrix.count('<tr id="row-') == PAGE_ROWS
    assert f'id="td-{big[PAGE_ROWS - 1].pk}-{two[0].pk}"' in matrix
    assert f'id="td-{big[PAGE_ROWS].pk}-{two[0].pk}"' not in matrix
    assert f"{PAGE_ROWS} of {PAGE_ROWS + 30} sources shown" in matrix
    assert f'href="{page_url(incident)}?rows={2 * PAGE_ROWS}#matrix"' in matrix
    assert "Show the next 30" in matrix and f"Show all {PAGE_ROWS + 30}" in matrix
    # The scores cover every row, the hidden last one included.
    score_row = matrix[matrix.index('class="score-row"') :]
    assert '<span class="score">-2.83</span>' in score_row[: score_row.index("</tr>")]
    # The source list is paged the same way, by shorter pages.
    evidence = html[html.index('id="evidence"') :]
    assert evidence.count('<li class="evidence-item"') == SOURCE_ROWS
    assert f'id="item-{big[SOURCE_ROWS - 1].pk}"' in evidence
    assert f'id="item-{big[SOURCE_ROWS].pk}"' not in evidence
    assert f'<span class="count">{PAGE_ROWS + 30}</span>' in evidence
    assert f"?sources={2 * SOURCE_ROWS}#evidence" in evidence
    assert f"Show the next {SOURCE_ROWS}" in evidence
    # Alone (its own request), the list is the same.
    alone = client.get(page_url(incident), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="evidence")
    assert alone.content.decode().count('<li class="evidence-item"') == SOURCE_ROWS


def test_more_rows_shows_the_rest(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis], big: list[EvidenceItem]
) -> None:
    client.force_login(lead)
    for query in (f"rows={2 * PAGE_ROWS}", "rows=all"):
        response = client.get(
            page_url(incident, query), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="matrix"
        )
        html = response.content.decode()
        assert html.lstrip().startswith('<section id="matrix"')
        assert f'id="td-{big[-1].pk}-{two[1].pk}"' in html
        assert "Show the next" not in html
        assert html.count('<tr id="row-') == PAGE_ROWS + 30
        # The region reloads itself with the same rows.
        assert f'hx-get="{page_url(incident)}?rows=all"' in html
        # and the cells carry it, so editing keeps the rows on the page.
        cell_url = reverse("hypotheses:cell", args=[incident.reference, big[-1].pk, two[0].pk])
        assert f"{cell_url}?rows=all" in html


def test_sort_by_diagnosticity_sorts_all_rows_before_the_cut(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis], big: list[EvidenceItem]
) -> None:
    client.force_login(lead)
    matrix = matrix_of(client.get(page_url(incident, "sort=diagnosticity")).content.decode())
    last = big[-1]
    rows = matrix.index("<tbody>")
    assert matrix.index(f'id="td-{last.pk}-{two[0].pk}"') > rows
    # The only diagnostic source comes first though it was attached last.
    assert matrix.index(f'id="td-{last.pk}-{two[0].pk}"') < matrix.index(
        f'id="td-{big[0].pk}-{two[0].pk}"'
    )
    assert matrix.count('class="non-diagnostic"') == PAGE_ROWS - 1
    assert "?sort=diagnosticity&amp;rows=200#matrix" in matrix


def test_bad_rows_value_is_one_page(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis], big: list[EvidenceItem]
) -> None:
    client.force_login(lead)
    for value in ("abc", "-5", "0", "3"):
        response = client.get(page_url(incident, f"rows={value}&sources={value}"))
        assert response.status_code == 200
        html = response.content.decode()
        assert f'id="td-{big[PAGE_ROWS - 1].pk}-{two[0].pk}"' in html
        assert f'id="td-{big[PAGE_ROWS].pk}-{two[0].pk}"' not in html


def test_editing_a_cell_beyond_the_page_shows_its_row(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis], big: list[EvidenceItem]
) -> None:
    client.force_login(lead)
    far = big[-1]
    url = reverse("hypotheses:cell", args=[incident.reference, far.pk, two[0].pk])
    html = client.get(url).content.decode()
    assert 'class="cell-form"' in html
    assert f'id="td-{far.pk}-{two[0].pk}"' in html


def test_rating_with_rows_redirects_back_to_the_same_rows(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis], big: list[EvidenceItem]
) -> None:
    client.force_login(lead)
    far = big[-1]
    url = reverse("hypotheses:cell", args=[incident.reference, far.pk, two[0].pk])
    cell = Assessment.objects.get(evidence=far, hypothesis=two[0])
    data = {
        "rating": "C",
        "relevance": "medium",
        "reason": "",
        "version": cell.version,
        "rows": "all",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    assert "?rows=all#cell-" in response["Location"]
    cell.refresh_from_db()
    assert cell.rating == "C"


def test_query_count_does_not_grow_with_shown_rows(
    client: Any,
    incident: Incident,
    lead: Any,
    two: list[Hypothesis],
    big: list[EvidenceItem],
    django_assert_num_queries: Any,
) -> None:
    from tests.cases.test_case_page import QUERIES

    client.force_login(lead)
    client.get(page_url(incident))
    with django_assert_num_queries(QUERIES):
        assert client.get(page_url(incident, "rows=all&sources=all")).status_code == 200


def test_rating_a_cell_with_htmx_answers_its_row_and_the_scores_out_of_band(
    client: Any, incident: Incident, lead: Any, two: list[Hypothesis], big: list[EvidenceItem]
) -> None:
    client.force_login(lead)
    far = big[-1]  # beyond the first page
    cell = Assessment.objects.get(evidence=far, hypothesis=two[1])
    url = reverse("hypotheses:cell", args=[incident.reference, far.pk, two[1].pk])
    data = {"rating": "I", "relevance": "medium", "reason": "", "version": cell.version}
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="row-{far.pk}"')
    assert html.count('<tr id="row-') == 1
    assert 'id="matrix-foot" hx-swap-oob="true"' in html
    foot = html[html.index('id="matrix-foot"') :]
    # B2 weight √2: H1 −2 × √2 = −2.83, H2 −1 × √2 = −1.41, over all 130 rows.
    assert '<span class="score">-2.83</span>' in foot and '<span class="score">-1.41</span>' in foot
    assert "hypotheses-changed" in response["HX-Trigger"]
    assert len(html) < 60_000

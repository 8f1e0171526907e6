"""The case page: access, regions as partials, write controls by role, query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis

pytestmark = pytest.mark.django_db


def url(incident: Incident) -> str:
    return reverse("cases:detail", args=[incident.reference])


def fill(incident: Incident, by: Any, n: int) -> None:
    """N hypotheses, N items, every cell rated, a confidence history, N notes."""
    hyps = [
        Hypothesis.propose(incident, by=by, statement=f"Hypothesis {i}", kind="other")
        for i in range(n)
    ]
    items = [
        EvidenceItem.attach(
            incident,
            by=by,
            title=f"Item {i}",
            url=f"https://example.org/{i}",
            reliability="B",
            credibility=2,
            event_at=dt.datetime(2026, 11, 20, 9, 42, tzinfo=dt.UTC),
            event_uncertainty=dt.timedelta(minutes=5),
        )
        for i in range(n)
    ]
    for h in hyps:
        h.set_confidence("likely", by=by, reason="Why not.")
        h.set_confidence("unlikely", by=by, reason="Second thoughts.")
    # Every cell rated (in bulk: Assessment.rate is tested in test_matrix.py).
    Assessment.objects.bulk_create(
        Assessment(evidence=item, hypothesis=h, rating="I" if j % 2 else "C", author=by)
        for item in items
        for j, h in enumerate(hyps)
    )
    for i in range(n):
        StatusUpdate.objects.post(incident, kind="note", by=by, body=f"Note {i}")


def test_anonymous_is_sent_to_login(client: Any, incident: Incident) -> None:
    response = client.get(url(incident))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_outsider_gets_404(client: Any, incident: Incident, outsider: Any) -> None:
    client.force_login(outsider)
    assert client.get(url(incident)).status_code == 404


def test_unknown_case_is_404(client: Any, lead: Any) -> None:
    client.force_login(lead)
    assert client.get("/cases/INC-2026-9999/").status_code == 404


def test_post_is_405(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    assert client.post(url(incident)).status_code == 405


def test_full_page_shows_every_region(client: Any, incident: Incident, lead: Any) -> None:
    incident.occurred_at = dt.datetime(2026, 11, 20, 9, 42, tzinfo=dt.UTC)
    incident.occurred_uncertainty = dt.timedelta(minutes=10)
    incident.place_name = "Astana"
    incident.save()
    fill(incident, lead, 2)
    client.force_login(lead)
    response = client.get(url(incident))
    assert response.status_code == 200
    html = response.content.decode()
    for region in (
        'id="header"',
        'id="hypotheses"',
        'id="evidence"',
        'id="matrix"',
        'id="timeline"',
    ):
        assert region in html
    # Occurrence in the case's local time (Asia/Almaty is UTC+5) with its uncertainty.
    assert "20 Nov 2026, 14:42" in html
    assert "± 10 min" in html
    assert "Astana" in html
    # Members with role badges.
    assert 'class="badge role-observer"' in html
    assert "<!doctype html>" in html.lower()
    assert response["Vary"].count("HX-Request") == 1


@pytest.mark.parametrize(
    ("target", "marker"),
    [
        ("header", 'id="header"'),
        ("hypotheses", 'id="hypotheses"'),
        ("evidence", 'id="evidence"'),
        ("matrix", 'id="matrix"'),
        ("timeline", 'id="timeline"'),
        ("timeline-list", 'id="timeline-list"'),
    ],
)
def test_region_partial_with_htmx(
    client: Any, incident: Incident, lead: Any, target: str, marker: str
) -> None:
    fill(incident, lead, 2)
    client.force_login(lead)
    response = client.get(url(incident), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<")
    assert marker in html
    assert "<html" not in html
    assert "site-header" not in html


def test_htmx_without_a_known_target_gets_the_page(
    client: Any, incident: Incident, lead: Any
) -> None:
    client.force_login(lead)
    response = client.get(url(incident), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="nonsense")
    assert response.status_code == 200
    assert "<html" in response.content.decode()


def test_observer_sees_no_write_controls(
    client: Any, incident: Incident, observer: Any, lead: Any
) -> None:
    fill(incident, lead, 2)
    client.force_login(observer)
    html = client.get(url(incident)).content.decode()
    assert "Attach a source" not in html
    assert "Add a hypothesis" not in html
    assert 'name="update-body"' not in html
    assert reverse("cases:status", args=[incident.reference]) not in html
    assert "hypotheses/cell/" not in html  # cells are plain badges
    assert "Move</summary>" not in html


def test_investigator_writes_but_may_not_change_case_status(
    client: Any, incident: Incident, investigator: Any
) -> None:
    client.force_login(investigator)
    html = client.get(url(incident)).content.decode()
    assert "Attach a source" in html
    assert "Add a hypothesis" in html
    assert reverse("cases:status", args=[incident.reference]) not in html


def test_add_hypothesis_form_loads_on_demand(
    client: Any, incident: Incident, investigator: Any
) -> None:
    client.force_login(investigator)
    page_url = url(incident)
    add_url = reverse("hypotheses:add", args=[incident.reference])
    html = client.get(page_url).content.decode()
    # The panel carries a link, not the form: htmx loads it when opened.
    assert f'href="{page_url}?add=1#hypotheses"' in html
    assert f'action="{add_url}"' not in html
    alone = client.get(page_url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="hypothesis-add-load")
    body = alone.content.decode()
    assert alone.status_code == 200 and "<html" not in body
    assert f'action="{add_url}"' in body and 'name="hyp-statement"' in body
    # Without JavaScript, the link opens the page with the form open.
    html = client.get(f"{page_url}?add=1").content.decode()
    assert f'action="{add_url}"' in html
    assert '<details class="add-panel" data-load-on-open open>' in html


def test_lead_sees_only_legal_status_actions(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    html = client.get(url(incident)).content.decode()
    assert "Start investigating" in html
    assert "Resolve case" not in html  # open -> investigating only
    incident.move_to("investigating", by=lead, reason="Go.")
    html = client.get(url(incident)).content.decode()
    assert "Start investigating" not in html
    assert "Close as inconclusive" in html
    # Resolve is offered but disabled, with what blocks it.
    assert "Resolve case" in html
    assert "Resolution is blocked" in html
    assert "No hypothesis is confirmed" in html


def test_matrix_sort_by_diagnosticity(client: Any, incident: Incident, lead: Any) -> None:
    h1 = Hypothesis.propose(incident, by=lead, statement="One", kind="other")
    h2 = Hypothesis.propose(incident, by=lead, statement="Two", kind="other")
    flat = EvidenceItem.attach(incident, by=lead, title="Flat item", url="https://e.org/1")
    sharp = EvidenceItem.attach(incident, by=lead, title="Sharp item", url="https://e.org/2")
    for h in (h1, h2):
        Assessment.rate(flat, h, by=lead, rating="C")
    Assessment.rate(sharp, h1, by=lead, rating="CC")
    Assessment.rate(sharp, h2, by=lead, rating="II")
    client.force_login(lead)
    html = client.get(url(incident)).content.decode()
    assert html.index("Flat item", html.index('id="matrix"')) < html.index(
        "Sharp item", html.index('id="matrix"')
    )
    html = client.get(url(incident) + "?sort=diagnosticity").content.decode()
    matrix = html[html.index('id="matrix"') :]
    assert matrix.index("Sharp item") < matrix.index("Flat item")
    assert "non-diagnostic" in matrix
    # The explanation names the formula and each contribution.
    assert "score(h) = Σ" in matrix
    assert "-2.00" in matrix  # 1 (F6: medium) × 1 (medium) × −2 for "Sharp item" against H2


@pytest.mark.parametrize("size", [5, 50])
def test_query_count_is_constant(
    client: Any,
    incident: Incident,
    lead: Any,
    size: int,
    django_assert_num_queries: Any,
) -> None:
    fill(incident, lead, size)
    client.force_login(lead)
    client.get(url(incident))  # warm the session
    with django_assert_num_queries(QUERIES):
        response = client.get(url(incident))
    assert response.status_code == 200
    assert f"Item {size - 1}" in response.content.decode()


# Session, user, case (with the user's role), members, tags, hypotheses (+
# confidence history), annotation stances per hypothesis, the first page of
# items with the number of items (the source list and the matrix share it), the
# cells of the rows on the page, timeline entries (with their authors' names).
# The scores come from the cells of the page when it shows every row; else one
# GROUP BY over every cell of the case (QUERIES + 1, see below).
QUERIES = 11


def test_scores_from_the_page_or_from_sql_are_the_same(
    client: Any, incident: Incident, lead: Any, django_assert_num_queries: Any
) -> None:
    """A matrix that shows every row scores the hypotheses from its own cells;
    one that does not runs the GROUP BY over the whole case. Both agree."""
    from incidents.cases.views.page_data import PAGE_ROWS
    from incidents.hypotheses import scoring

    fill(incident, lead, 3)
    h1 = incident.hypotheses.order_by("id").first()
    assert h1 is not None
    for i in range(PAGE_ROWS):  # more rows than a page: 3 + 100
        item = EvidenceItem.attach(
            incident, by=lead, title=f"Extra {i}", url=f"https://example.org/x{i}", reliability="A"
        )
        Assessment.objects.create(evidence=item, hypothesis=h1, rating="II", author=lead)
    expected = scoring.score_case(incident)
    client.force_login(lead)
    client.get(url(incident))
    with django_assert_num_queries(QUERIES + 1):  # the GROUP BY: not every row is shown
        paged = client.get(url(incident)).content.decode()
    with django_assert_num_queries(QUERIES):  # every row shown: scored from its cells
        whole = client.get(url(incident) + "?rows=all").content.decode()
    for html in (paged, whole):
        foot = html[html.index('<tr class="score-row">') : html.index('<tr class="rank-row">')]
        for h in incident.hypotheses.all():
            assert f"{expected.hypotheses[h.pk].score:.2f}" in foot


def test_hypothesis_cards_count_annotated_passages_by_stance(
    client: Any, incident: Incident, lead: Any
) -> None:
    from incidents.evidence.models import Annotation

    glitch = Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")
    text = "The operator said the image was not scheduled. The vendor blamed a cable."
    item = EvidenceItem.attach(incident, by=lead, title="Report", text_body=text)
    for exact, stance in [
        ("the image was not scheduled", "contradicts"),
        ("The vendor blamed a cable", "supports"),
        ("The operator said", "contradicts"),
    ]:
        start = text.index(exact)
        Annotation.create_for(
            item,
            by=lead,
            body="Note.",
            stance=stance,
            hypothesis=glitch,
            exact=exact,
            start=start,
            end=start + len(exact),
        )
    client.force_login(lead)
    html = client.get(url(incident)).content.decode()
    listing = reverse("evidence:case_annotations", args=[incident.reference])
    assert f'href="{listing}?hypothesis={glitch.pk}&amp;stance=supports">1 supporting</a>' in html
    assert (
        f'href="{listing}?hypothesis={glitch.pk}&amp;stance=contradicts">2 contradicting</a>'
        in html
    )


def test_every_text_the_page_shows_is_escaped(client: Any, incident: Incident, lead: Any) -> None:
    """Card heads, sources, matrix rows and cells, and timeline entries are
    drawn by templates with autoescape: text written by people comes out as
    text, whichever part shows it (the stored Markdown rendering aside)."""
    evil = '<script>alert("x")</script>'
    h = Hypothesis.propose(incident, by=lead, statement=f"H {evil}", kind="other")
    h.description = f"Said {evil}"
    h.save(update_fields=["description"])
    item = EvidenceItem.attach(
        incident,
        by=lead,
        title=f"Item {evil}",
        url="https://example.org/?a=1&b=2",
        obtained_from=f"From {evil}",
        language="kk",
    )
    Assessment.rate(item, h, by=lead, rating="C", reason=f"Because {evil}")
    lead.username = "eve<b>"
    lead.save(update_fields=["username"])
    StatusUpdate.objects.post(incident, kind="note", by=lead, body="A note.")
    client.force_login(lead)
    html = client.get(url(incident)).content.decode()
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 6
    assert "eve&lt;b&gt;" in html and "eve<b>" not in html
    assert 'href="https://example.org/?a=1&amp;b=2"' in html


@pytest.mark.django_db
def test_one_csrf_token_for_the_whole_page_and_it_posts(incident: Incident, lead: Any) -> None:
    """The frame's token (hx-headers, Sign out) and the body's forms carry one
    token, as one Django template did; HTMX and plain forms post with it."""
    import re

    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    html = client.get(url(incident)).content.decode()
    header = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    fields = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
    assert header is not None and fields == {header.group(1)}
    posted = client.post(
        reverse("cases:timeline", args=[incident.reference]),
        {"update-kind": "note", "update-body": "With the page's token."},
        HTTP_X_CSRFTOKEN=header.group(1),
        HTTP_HX_REQUEST="true",
    )
    assert posted.status_code == 200
    assert incident.updates.filter(body="With the page's token.").exists()

"""Each region of the case page rendered alone (a block or a macro of
``templates/cases/detail.jinja``) is exactly its part of the whole page, and
the repeated parts (matrix rows, sources) are in place in every answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.sessions.backends.base import SessionBase
from django.template import engines
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxDetails

from incidents.accounts.access import Need, get_case_for_user
from incidents.cases.models import Incident, StatusUpdate
from incidents.cases.views.case import REGIONS, TEMPLATE, render_case
from incidents.evidence.models import EvidenceItem
from tests.cases.test_case_page import fill, url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """One "now" for every render compared: a confidence chart ends at now."""
    from django.utils import timezone

    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)


# The regions that are part of every whole page (for a member who may write).
IN_PAGE = [
    "header",
    "hypotheses",
    "matrix",
    "matrix_foot",
    "matrix_explain",
    "matrix_explain_body",
    "evidence",
    "timeline",
    "timeline_composer",
    "timeline_list",
    "timeline_entries",
]


def same_tokens(html: str) -> str:
    """HTML with its CSRF tokens blanked: each form's is masked afresh."""
    return re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1-", html)


class Renderer:
    """``render_case`` for USER on INCIDENT at QUERY, whole or one region."""

    def __init__(self, user: Any, incident: Incident, query: str = "") -> None:
        self.user, self.incident, self.query = user, incident, query

    def __call__(self, region: str | None = None, **state: Any) -> str:
        request = RequestFactory().get(url(self.incident) + self.query)
        request.user, request.session = self.user, SessionBase()
        request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
        access = get_case_for_user(request, self.incident.reference, Need.READ)
        response = render_case(request, access, region, **state)  # type: ignore[arg-type]
        assert response.status_code == 200
        return same_tokens(response.content.decode())


ALONE = [
    "hypothesis_card_alone",
    "confidence_form_alone",
    "move_form_alone",
    "move_citations_alone",
    "matrix_cell_form",
    "matrix_cell",
    "matrix_row_saved",
    "timeline_posted",
]


def test_every_region_the_views_name_is_a_part_of_the_template() -> None:
    engine = engines["jinja2"]
    for name in {*REGIONS.values(), *IN_PAGE, *ALONE, "body"}:
        assert engine.get_template(f"{TEMPLATE}#{name}").origin.template_name == (
            f"{TEMPLATE}#{name}"
        )


@pytest.mark.parametrize("role", ["lead", "investigator", "observer"])
@pytest.mark.parametrize(
    "query", ["", "?add=1&attach=1&explain=1", "?sort=diagnosticity&rows=1&sources=1&kind=note"]
)
def test_each_region_alone_is_its_part_of_the_page(
    request: pytest.FixtureRequest, incident: Incident, lead: Any, role: str, query: str
) -> None:
    fill(incident, lead, 3)
    render = Renderer(request.getfixturevalue(role), incident, query)
    whole = render()
    writes = role != "observer"
    regions = [r for r in IN_PAGE if writes or r != "timeline_composer"]
    if writes and query.startswith("?add"):
        regions += ["attach_form_body", "hypothesis_form_body"]
    for region in regions:
        alone = render(region)
        assert alone.strip(), region
        assert alone in whole, region
    # The body is the whole page's content, inside the site frame.
    body = render("body")
    assert body in whole
    assert whole.startswith("<!doctype html>") and not body.lstrip().startswith("<!doctype")
    assert body.strip().startswith('<div class="case-page">')


def test_a_card_and_its_forms_alone_are_those_of_the_page(incident: Incident, lead: Any) -> None:
    fill(incident, lead, 2)
    render = Renderer(lead, incident)
    h = incident.hypotheses.order_by("pk").first()
    assert h is not None
    whole = render()
    card = render("hypothesis_card_alone", card=h.pk)
    assert card.strip().startswith(f'<article class="hyp-card hyp-{h.status}" id="hyp-{h.pk}"')
    assert card in whole
    # The page with the form open (no JavaScript) holds the form the card loads.
    confidence = render("confidence_form_alone", card=h.pk)
    assert "<form" in confidence and confidence in render(opening=("confidence", h.pk))
    move = render("move_form_alone", card=h.pk)
    assert "<form" in move and move in render(opening=("move", h.pk))
    citations = render("move_citations_alone", citing=h.pk)
    assert 'name="move-' in citations and citations in render(citing=h.pk)


def test_a_cell_and_its_editor_alone_are_those_of_the_page(incident: Incident, lead: Any) -> None:
    fill(incident, lead, 2)
    render = Renderer(lead, incident)
    item = EvidenceItem.objects.filter(incident=incident).order_by("pk").first()
    h = incident.hypotheses.order_by("pk").first()
    assert item is not None and h is not None
    pair = (item.pk, h.pk)
    editor = render("matrix_cell_form", editing=pair)
    assert 'class="cell-form"' in editor
    assert editor in render(editing=pair)
    closed = render("matrix_cell", editing=pair)
    assert f'<td id="td-{item.pk}-{h.pk}">{closed}</td>' in render()


def test_a_saved_row_and_a_posted_entry_alone_are_those_of_the_page(
    incident: Incident, lead: Any
) -> None:
    fill(incident, lead, 2)
    render = Renderer(lead, incident)
    item = EvidenceItem.objects.filter(incident=incident).order_by("pk").first()
    assert item is not None
    whole = render()
    saved = render("matrix_row_saved", saved=item.pk)
    row, foot = saved.split("<template>")
    assert row.strip() in whole
    foot = foot.removesuffix("\n").removesuffix("</template>")
    assert foot.replace(' hx-swap-oob="true"', "") in whole
    entry = StatusUpdate.objects.post(incident, kind="note", by=lead, body="Just *posted*.")
    posted = render("timeline_posted", posted=entry)
    composer, _, entries = posted.partition('<ol hx-swap-oob="afterbegin:#timeline-entries">')
    after = render()
    assert composer.strip() in after
    assert entries.removesuffix("\n").removesuffix("</ol>").strip() in after


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, ""),
        ({}, "?sort=diagnosticity&rows=all&sources=all"),
        ({"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "matrix"}, ""),
        ({"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "evidence"}, ""),
    ],
)
def test_drawn_parts_are_in_place(
    client: Client, incident: Incident, lead: Any, headers: dict[str, str], query: str
) -> None:
    """The matrix's rows and the source list are in every answer that shows them."""
    fill(incident, lead, 3)
    client.force_login(lead)
    response = client.get(url(incident) + query, **headers)
    html = response.content.decode()
    assert response.status_code == 200
    region = headers.get("HTTP_HX_TARGET")
    items = list(EvidenceItem.objects.filter(incident=incident))
    for item in items:
        if region != "evidence":
            assert f'<tr id="row-{item.pk}"' in html
        if region != "matrix":
            assert f'<li class="evidence-item" id="item-{item.pk}">' in html


def test_a_title_written_as_markup_stays_text(
    client: Client, incident: Incident, lead: Any
) -> None:
    fill(incident, lead, 1)
    EvidenceItem.objects.filter(incident=incident).update(title="<!--matrix_rows:0--><b>x</b>")
    client.force_login(lead)
    html = client.get(url(incident)).content.decode()
    # The matrix row and the source list, escaped; never as markup.
    assert html.count("&lt;!--matrix_rows:0--&gt;&lt;b&gt;x&lt;/b&gt;") == 2
    assert "<b>x</b>" not in html


def test_nothing_keeps_a_page_once_answered(
    monkeypatch: pytest.MonkeyPatch, incident: Incident, lead: Any
) -> None:
    """No cache or module keeps a page, its rows or its forms once the answer
    is rendered: the page is freed with everything it read (Jinja2's own
    context holds it in a cycle until the collector's next pass)."""
    import gc
    import weakref

    from incidents.cases.views import case

    fill(incident, lead, 3)
    pages: list[weakref.ref[Any]] = []

    class Watched(case.CasePage):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            pages.append(weakref.ref(self))

    monkeypatch.setattr(case, "CasePage", Watched)
    render = Renderer(lead, incident, "?explain=1")
    for region in (None, "hypotheses", "matrix", "timeline"):
        assert render(region)
    h = incident.hypotheses.order_by("pk").first()
    assert h is not None
    assert render("hypothesis_card_alone", card=h.pk, citing=h.pk)
    gc.collect()
    assert len(pages) == 5 and all(page() is None for page in pages)

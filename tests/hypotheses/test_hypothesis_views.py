"""Adding, moving and re-estimating hypotheses from the case page."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.cases.models import Incident
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses import charts
from incidents.hypotheses.models import ConfidenceChange, Hypothesis, HypothesisMove

pytestmark = pytest.mark.django_db


def add_url(incident: Incident) -> str:
    return reverse("hypotheses:add", args=[incident.reference])


def move_url(h: Hypothesis) -> str:
    return reverse("hypotheses:move", args=[h.incident.reference, h.pk])


def conf_url(h: Hypothesis) -> str:
    return reverse("hypotheses:confidence", args=[h.incident.reference, h.pk])


@pytest.fixture
def hypothesis(incident: Incident, lead: Any) -> Hypothesis:
    return Hypothesis.propose(
        incident, by=lead, statement="A playlist fault.", kind="technical_fault"
    )


def advance(h: Hypothesis, by: Any, *statuses: str) -> None:
    for status in statuses:
        h.move_to(status, by=by, rationale=f"To {status}.")


# -- add ---------------------------------------------------------------------


def test_add_get_is_405(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    assert client.get(add_url(incident)).status_code == 405


def test_add_anonymous_redirects(client: Any, incident: Incident) -> None:
    response = client.post(add_url(incident), {"hyp-statement": "X", "hyp-kind": "other"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not Hypothesis.objects.exists()


def test_add_outsider_404_observer_403(
    client: Any, incident: Incident, outsider: Any, observer: Any
) -> None:
    data = {"hyp-statement": "X", "hyp-kind": "other"}
    client.force_login(outsider)
    assert client.post(add_url(incident), data).status_code == 404
    client.force_login(observer)
    assert client.post(add_url(incident), data).status_code == 403
    assert not Hypothesis.objects.exists()


def test_add_plain_form_redirects_to_case(
    client: Any, incident: Incident, investigator: Any
) -> None:
    client.force_login(investigator)
    response = client.post(
        add_url(incident),
        {"hyp-statement": "An attacker pushed the image.", "hyp-kind": "cyberattack"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{incident.reference}/#hypotheses")
    h = incident.hypotheses.get()
    assert (h.statement, h.kind, h.created_by) == (
        "An attacker pushed the image.",
        "cyberattack",
        investigator,
    )
    assert incident.updates.filter(kind="hypothesis_added").exists()


def test_add_with_htmx_returns_region_and_events(
    client: Any, incident: Incident, lead: Any
) -> None:
    client.force_login(lead)
    response = client.post(
        add_url(incident),
        {"hyp-statement": "An insider did it.", "hyp-kind": "deliberate_act"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="hypotheses"' in html and "<html" not in html
    assert "An insider did it." in html
    events = response["HX-Trigger"]
    for event in ("matrix-changed", "timeline-changed", "case-changed"):
        assert event in events
    assert "hypotheses-changed" not in events  # the region came back already


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"hyp-statement": "", "hyp-kind": "other"}, "This field is required."),
        ({"hyp-statement": "X", "hyp-kind": "astrology"}, "Select a valid choice."),
        ({"hyp-statement": "x" * 301, "hyp-kind": "other"}, "at most 300 characters"),
    ],
)
def test_add_invalid_shows_errors_and_changes_nothing(
    client: Any, incident: Incident, lead: Any, data: dict[str, str], field_error: str
) -> None:
    client.force_login(lead)
    response = client.post(add_url(incident), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert field_error in html
    assert "<html" in html  # the whole page, the form open with its errors
    assert not Hypothesis.objects.exists()
    partial = client.post(add_url(incident), data, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert field_error in partial.content.decode()
    assert "HX-Trigger" not in partial
    assert not Hypothesis.objects.exists()


# -- move --------------------------------------------------------------------


def test_move_put_is_405(client: Any, hypothesis: Hypothesis, lead: Any) -> None:
    # GET opens the form (see test_case_weight.py); only GET and POST are allowed.
    client.force_login(lead)
    assert client.put(move_url(hypothesis)).status_code == 405


def test_move_access(client: Any, hypothesis: Hypothesis, outsider: Any, observer: Any) -> None:
    data = {
        f"move-{hypothesis.pk}-status": "under_evaluation",
        f"move-{hypothesis.pk}-rationale": "x",
    }
    assert client.post(move_url(hypothesis), data).status_code == 302  # anonymous -> login
    client.force_login(outsider)
    assert client.post(move_url(hypothesis), data).status_code == 404
    client.force_login(observer)
    assert client.post(move_url(hypothesis), data).status_code == 403
    hypothesis.refresh_from_db()
    assert hypothesis.status == "proposed"


def test_move_of_another_cases_hypothesis_is_404(
    client: Any, incident: Incident, lead: Any
) -> None:
    other = Incident.open_case(by=lead, title="Another case")
    foreign = Hypothesis.propose(other, by=lead, statement="Elsewhere.", kind="other")
    client.force_login(lead)
    response = client.post(
        reverse("hypotheses:move", args=[incident.reference, foreign.pk]),
        {f"move-{foreign.pk}-status": "under_evaluation", f"move-{foreign.pk}-rationale": "x"},
    )
    assert response.status_code == 404


def test_move_offers_only_legal_next_states(
    client: Any, incident: Incident, hypothesis: Hypothesis, lead: Any
) -> None:
    client.force_login(lead)
    card = client.get(move_url(hypothesis), HTTP_HX_REQUEST="true").content.decode()
    assert 'value="under_evaluation"' in card
    assert 'value="withdrawn"' in card
    assert 'value="confirmed"' not in card
    assert 'value="refuted"' not in card


def test_move_with_rationale_and_citation(
    client: Any, incident: Incident, hypothesis: Hypothesis, lead: Any
) -> None:
    item = EvidenceItem.attach(incident, by=lead, title="Log", url="https://e.org/log")
    advance(hypothesis, lead, "under_evaluation", "supported")
    client.force_login(lead)
    p = f"move-{hypothesis.pk}"
    response = client.post(
        move_url(hypothesis),
        {
            f"{p}-status": "confirmed",
            f"{p}-rationale": "The log shows it.",
            f"{p}-cited_evidence": [item.pk],
            f"{p}-version": str(Hypothesis.objects.get(pk=hypothesis.pk).version),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    hypothesis.refresh_from_db()
    assert hypothesis.status == "confirmed"
    move = HypothesisMove.objects.get(hypothesis=hypothesis, to_status="confirmed")
    assert list(move.cited_evidence.all()) == [item]
    assert "case-changed" in response["HX-Trigger"]


def test_illegal_move_shows_message_next_to_field(
    client: Any, hypothesis: Hypothesis, lead: Any
) -> None:
    client.force_login(lead)
    p = f"move-{hypothesis.pk}"
    response = client.post(
        move_url(hypothesis), {f"{p}-status": "confirmed", f"{p}-rationale": "Sure."}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "A proposed hypothesis cannot make that move" in html
    assert "under evaluation, withdrawn" in html
    hypothesis.refresh_from_db()
    assert hypothesis.status == "proposed"
    assert not HypothesisMove.objects.exists()


def test_move_without_rationale_is_refused(client: Any, hypothesis: Hypothesis, lead: Any) -> None:
    client.force_login(lead)
    p = f"move-{hypothesis.pk}"
    response = client.post(
        move_url(hypothesis),
        {f"{p}-status": "under_evaluation", f"{p}-rationale": "   "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    hypothesis.refresh_from_db()
    assert hypothesis.status == "proposed"


def test_model_refusal_is_shown_not_500(
    client: Any, incident: Incident, hypothesis: Hypothesis, lead: Any
) -> None:
    """A case closed between page load and submit: the model's message, on the form."""
    advance(hypothesis, lead, "under_evaluation")
    incident.move_to("investigating", by=lead, reason="Go.")
    incident.move_to("closed_inconclusive", by=lead, reason="Nothing more to learn.")
    client.force_login(lead)
    p = f"move-{hypothesis.pk}"
    response = client.post(
        move_url(hypothesis),
        {
            f"{p}-status": "weakened",
            f"{p}-rationale": "Meh.",
            f"{p}-version": str(Hypothesis.objects.get(pk=hypothesis.pk).version),
        },
    )
    assert response.status_code == 422
    assert (
        "The case is closed: reopen it before moving its hypotheses." in response.content.decode()
    )
    hypothesis.refresh_from_db()
    assert hypothesis.status == "under_evaluation"


def test_investigator_may_not_confirm(
    client: Any, hypothesis: Hypothesis, lead: Any, investigator: Any
) -> None:
    advance(hypothesis, lead, "under_evaluation", "supported")
    client.force_login(investigator)
    p = f"move-{hypothesis.pk}"
    response = client.post(
        move_url(hypothesis),
        {
            f"{p}-status": "confirmed",
            f"{p}-rationale": "Yes.",
            f"{p}-version": str(Hypothesis.objects.get(pk=hypothesis.pk).version),
        },
    )
    # The model refuses (Hypothesis.move_to); the page says why, next to the choice.
    assert response.status_code == 422
    assert "Only the case lead confirms or refutes a hypothesis." in response.content.decode()
    hypothesis.refresh_from_db()
    assert hypothesis.status == "supported"
    # ...but may withdraw it.
    response = client.post(
        move_url(hypothesis),
        {
            f"{p}-status": "withdrawn",
            f"{p}-rationale": "Dup.",
            f"{p}-version": str(Hypothesis.objects.get(pk=hypothesis.pk).version),
        },
    )
    assert response.status_code == 302
    hypothesis.refresh_from_db()
    assert hypothesis.status == "withdrawn"


def test_the_move_form_offers_confirm_and_refute_to_the_lead_only(
    client: Any, hypothesis: Hypothesis, lead: Any, investigator: Any
) -> None:
    advance(hypothesis, lead, "under_evaluation", "supported")
    for user, offered in [(lead, True), (investigator, False)]:
        client.force_login(user)
        form = client.get(move_url(hypothesis), HTTP_HX_REQUEST="true").content.decode()
        assert 'value="withdrawn"' in form
        assert ('value="confirmed"' in form) is offered
        assert ('value="refuted"' in form) is offered


def test_an_investigators_confirm_with_htmx_answers_the_card_with_why(
    client: Any, hypothesis: Hypothesis, lead: Any, investigator: Any
) -> None:
    advance(hypothesis, lead, "under_evaluation", "supported")
    client.force_login(investigator)
    p = f"move-{hypothesis.pk}"
    response = client.post(
        move_url(hypothesis),
        {
            f"{p}-status": "confirmed",
            f"{p}-rationale": "Yes.",
            f"{p}-version": str(Hypothesis.objects.get(pk=hypothesis.pk).version),
        },
        HTTP_HX_REQUEST="true",
    )
    card = response.content.decode()
    assert response.status_code == 200
    assert card.lstrip().startswith(
        f'<article class="hyp-card hyp-supported" id="hyp-{hypothesis.pk}"'
    )
    assert "Only the case lead confirms or refutes a hypothesis." in card
    hypothesis.refresh_from_db()
    assert hypothesis.status == "supported"


def test_citing_evidence_of_another_case_is_refused(
    client: Any, hypothesis: Hypothesis, lead: Any
) -> None:
    other = Incident.open_case(by=lead, title="Another case")
    foreign = EvidenceItem.attach(other, by=lead, title="Foreign", url="https://e.org/f")
    client.force_login(lead)
    p = f"move-{hypothesis.pk}"
    response = client.post(
        move_url(hypothesis),
        {
            f"{p}-status": "under_evaluation",
            f"{p}-rationale": "x",
            f"{p}-cited_evidence": [foreign.pk],
        },
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    hypothesis.refresh_from_db()
    assert hypothesis.status == "proposed"


# -- confidence ----------------------------------------------------------------


def test_confidence_put_is_405(client: Any, hypothesis: Hypothesis, lead: Any) -> None:
    client.force_login(lead)
    assert client.put(conf_url(hypothesis)).status_code == 405


def test_confidence_get_opens_the_form(
    client: Any, incident: Incident, hypothesis: Hypothesis, lead: Any, observer: Any
) -> None:
    """The page does not carry the form: HTMX loads it alone when the panel
    opens; without JavaScript the link opens the page with that form open."""
    client.force_login(lead)
    page = client.get(reverse("cases:detail", args=[incident.reference])).content.decode()
    assert f"conf-{hypothesis.pk}-reason" not in page
    assert f'href="{conf_url(hypothesis)}#hyp-{hypothesis.pk}"' in page
    part = client.get(conf_url(hypothesis), HTTP_HX_REQUEST="true")
    html = part.content.decode()
    assert part.status_code == 200 and "HX-Request" in part["Vary"]
    assert html.lstrip().startswith("<form") and "<html" not in html
    assert f'name="conf-{hypothesis.pk}-reason"' in html
    full = client.get(conf_url(hypothesis)).content.decode()
    assert "<html" in full
    card = full[full.index(f'id="hyp-{hypothesis.pk}"') :]
    card = card[: card.index("</article>")]
    assert f'name="conf-{hypothesis.pk}-reason"' in card
    assert f"move-{hypothesis.pk}-rationale" not in card  # only the form asked for
    client.force_login(observer)
    assert client.get(conf_url(hypothesis), HTTP_HX_REQUEST="true").status_code == 403


def test_move_and_confidence_answer_their_card_alone(
    client: Any, incident: Incident, hypothesis: Hypothesis, lead: Any
) -> None:
    other = Hypothesis.propose(incident, by=lead, statement="Another idea.", kind="other")
    client.force_login(lead)
    p = f"move-{hypothesis.pk}"
    data = {f"{p}-status": "under_evaluation", f"{p}-rationale": "Go.", f"{p}-version": "1"}
    response = client.post(move_url(hypothesis), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(
        f'<article class="hyp-card hyp-under_evaluation" id="hyp-{hypothesis.pk}"'
    )
    assert f'id="hyp-{other.pk}"' not in html and 'id="hypotheses"' not in html
    assert "case-changed" in response["HX-Trigger"] and "timeline-changed" in response["HX-Trigger"]
    c = f"conf-{hypothesis.pk}"
    data = {f"{c}-confidence": "likely", f"{c}-reason": "", f"{c}-version": "2"}
    response = client.post(conf_url(hypothesis), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200  # invalid: the card with the form open and the error
    assert html.lstrip().startswith('<article class="hyp-card')
    assert f'name="{c}-reason"' in html and "This field is required." in html
    assert f'id="hyp-{other.pk}"' not in html


def test_confidence_access(
    client: Any, hypothesis: Hypothesis, outsider: Any, observer: Any
) -> None:
    p = f"conf-{hypothesis.pk}"
    data = {f"{p}-confidence": "likely", f"{p}-reason": "x"}
    assert client.post(conf_url(hypothesis), data).status_code == 302
    client.force_login(outsider)
    assert client.post(conf_url(hypothesis), data).status_code == 404
    client.force_login(observer)
    assert client.post(conf_url(hypothesis), data).status_code == 403
    assert not ConfidenceChange.objects.exists()


def test_change_confidence_with_reason(
    client: Any, hypothesis: Hypothesis, investigator: Any
) -> None:
    client.force_login(investigator)
    p = f"conf-{hypothesis.pk}"
    response = client.post(
        conf_url(hypothesis),
        {
            f"{p}-confidence": "likely",
            f"{p}-reason": "The login log.",
            f"{p}-version": str(Hypothesis.objects.get(pk=hypothesis.pk).version),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    hypothesis.refresh_from_db()
    assert hypothesis.confidence == "likely"
    html = response.content.decode()
    assert "Confidence history: now likely" in html  # the chart's accessible title
    assert "timeline-changed" in response["HX-Trigger"]
    assert "hypotheses-changed" not in response["HX-Trigger"]


def test_same_confidence_or_no_reason_is_refused(
    client: Any, hypothesis: Hypothesis, lead: Any
) -> None:
    hypothesis.set_confidence("likely", by=lead, reason="First.")
    client.force_login(lead)
    p = f"conf-{hypothesis.pk}"
    response = client.post(
        conf_url(hypothesis),
        {
            f"{p}-confidence": "likely",
            f"{p}-reason": "Again.",
            f"{p}-version": str(Hypothesis.objects.get(pk=hypothesis.pk).version),
        },
    )
    assert response.status_code == 422
    assert "That is already the stated confidence." in response.content.decode()
    response = client.post(conf_url(hypothesis), {f"{p}-confidence": "unlikely", f"{p}-reason": ""})
    assert response.status_code == 422
    assert ConfidenceChange.objects.count() == 1


# -- chart -----------------------------------------------------------------------


def test_chart_is_accessible_svg_without_style(hypothesis: Hypothesis, lead: Any) -> None:
    hypothesis.set_confidence("unlikely", by=lead, reason="a")
    hypothesis.set_confidence("very_likely", by=lead, reason="b")
    svg = charts.confidence_history_svg(
        list(hypothesis.confidence_history.order_by("created_at")), element_id="c1"
    )
    assert svg.startswith("<svg")
    assert 'role="img"' in svg and 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Confidence history: now very likely</title>' in svg
    assert "unlikely; " in svg or "unlikely" in svg
    assert "style=" not in svg
    assert svg.count("<circle") == 2


def test_empty_chart_says_so() -> None:
    svg = charts.confidence_history_svg([], element_id="c2")
    assert "No confidence has been stated yet." in svg
    assert "style=" not in svg


# -- no lost edits -----------------------------------------------------------------


def test_stale_move_is_refused_with_the_input_kept(
    client: Any, hypothesis: Hypothesis, lead: Any, investigator: Any
) -> None:
    loaded = hypothesis.version
    hypothesis.set_confidence("likely", by=investigator, reason="Meanwhile.")  # bumps the version
    client.force_login(lead)
    p = f"move-{hypothesis.pk}"
    data = {
        f"{p}-status": "under_evaluation",
        f"{p}-rationale": "My careful rationale.",
        f"{p}-version": str(loaded),
    }
    response = client.post(move_url(hypothesis), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 409  # a stale copy: conflict, input kept
    html = response.content.decode()
    assert "was changed" in html and "Nothing was saved" in html
    assert "My careful rationale." in html
    hypothesis.refresh_from_db()
    assert hypothesis.status == "proposed"
    # The re-rendered form carries the current version: a second submit applies it.
    assert f'name="{p}-version" value="{hypothesis.version}"' in html
    data[f"{p}-version"] = str(hypothesis.version)
    assert client.post(move_url(hypothesis), data).status_code == 302
    hypothesis.refresh_from_db()
    assert hypothesis.status == "under_evaluation"


def test_page_forms_carry_versions(
    client: Any, incident: Incident, hypothesis: Hypothesis, lead: Any
) -> None:
    client.force_login(lead)
    # The case's status form (loaded when its panel opens) carries the case's.
    status = client.get(
        reverse("cases:detail", args=[incident.reference]),
        {"status_form": "investigating"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="status-load-investigating",
    ).content.decode()
    assert f'name="version" value="{incident.version}"' in status
    # The card's forms carry the version they were loaded with.
    move = client.get(move_url(hypothesis), HTTP_HX_REQUEST="true").content.decode()
    assert f'name="move-{hypothesis.pk}-version" value="{hypothesis.version}"' in move
    conf = client.get(conf_url(hypothesis), HTTP_HX_REQUEST="true").content.decode()
    assert f'name="conf-{hypothesis.pk}-version" value="{hypothesis.version}"' in conf


@pytest.mark.parametrize("url", [move_url, conf_url])
def test_a_hypothesis_form_asks_the_case_and_the_role_in_one_read(
    client: Any,
    incident: Incident,
    hypothesis: Hypothesis,
    outsider: Any,
    observer: Any,
    url: Any,
) -> None:
    """The hypothesis views read the case, the user's role and the case's
    hypotheses in one query, with the same answers as the case page's check:
    an outsider does not learn the case exists, an observer may not write, and
    a case without that hypothesis has none to show."""
    client.force_login(outsider)
    assert client.get(url(hypothesis)).status_code == 404
    client.force_login(observer)
    assert client.get(url(hypothesis), HTTP_HX_REQUEST="true").status_code == 403
    empty = Incident.open_case(by=incident.lead, title="No hypotheses yet")
    client.force_login(incident.lead)
    missing = reverse("hypotheses:move", args=[empty.reference, hypothesis.pk])
    assert client.get(missing).status_code == 404
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url(hypothesis), HTTP_HX_REQUEST="true").status_code == 200
    reads = [q["sql"] for q in captured.captured_queries if '"cases_incident"' in q["sql"]]
    assert len(reads) == 1  # the case comes once, with the hypotheses and the role
    assert '"hypotheses_hypothesis"' in reads[0] and '"cases_membership"' in reads[0]

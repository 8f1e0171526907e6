"""With JavaScript off, the case page's forms still work: plain POST, redirect, errors in place."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from incidents.cases.models import Incident
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import Hypothesis
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def nojs(browser: Browser) -> Any:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))


def test_attach_and_post_without_javascript(
    nojs: Page, live_server: Any, incident: Incident, lead: Any
) -> None:
    page = nojs
    base = live_server.url
    sign_in(page, base, lead.username)
    case_url = f"{base}/cases/{incident.reference}/"
    page.goto(case_url)

    # The attach form is not in the page: its panel's link opens the page with it.
    page.locator("#evidence summary", has_text="Attach a source").click()
    page.get_by_role("link", name="Open the attach form").click()
    # A bad URL: the whole page comes back with the error next to the field.
    form = page.locator("#attach-form")
    form.locator("input[name=ev-url]").fill("javascript:alert(1)")
    form.locator("input[name=ev-title]").fill("Bystander video")
    form.get_by_role("button", name="Attach source").click()
    expect(page.locator("#attach-form .field.has-error")).to_contain_text("Enter a valid URL.")
    expect(page.locator("#attach-form input[name=ev-title]")).to_have_value("Bystander video")
    assert not EvidenceItem.objects.exists()

    # Corrected: attached, back on the case page with a message.
    form = page.locator("#attach-form")
    form.locator("input[name=ev-url]").fill("https://example.org/video")
    form.locator("select[name=ev-kind]").select_option("video")
    form.locator("input[name=ev-reliability][value=B]").check()
    form.locator("input[name=ev-credibility][value='2']").check()
    form.get_by_role("button", name="Attach source").click()
    expect(page).to_have_url(re.compile(r"/cases/INC-\d{4}-\d{4}/#evidence$"))
    expect(page.locator(".messages")).to_contain_text("Attached “Bystander video” (B2).")
    expect(page.locator("#evidence .evidence-item", has_text="Bystander video")).to_be_visible()

    # A witness statement pasted as text.
    page.locator("#evidence summary", has_text="Attach a source").click()
    page.get_by_role("link", name="Open the attach form").click()
    form = page.locator("#attach-form")
    form.locator("input[name=ev-source][value=text]").check()
    form.locator("textarea[name=ev-text_body]").fill("I saw the screen change at 14:42.")
    form.locator("select[name=ev-kind]").select_option("witness_statement")
    form.locator("input[name=ev-title]").fill("Passer-by")
    form.get_by_role("button", name="Attach source").click()
    expect(page.locator("#evidence .evidence-item", has_text="Passer-by")).to_be_visible()

    # Post an update; an empty one is refused in place.
    composer = page.locator("form.composer")
    composer.get_by_role("button", name="Post").click()  # empty: the browser's own check
    composer.locator("textarea[name=update-body]").fill("The operator **confirms** the time.")
    composer.locator("input[name=update-kind][value=finding]").check()
    composer.get_by_role("button", name="Post").click()
    expect(page).to_have_url(re.compile(r"#timeline$"))
    expect(page.locator("#timeline .entry.kind-finding").first).to_contain_text(
        "The operator confirms the time."
    )
    expect(page.locator("#timeline .entry.kind-finding strong").first).to_have_text("confirms")

    # Timeline filter without JavaScript: a plain GET form.
    page.select_option("#timeline-kind", "evidence_added")
    page.locator(".timeline-filter").get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"\?kind=evidence_added"))
    expect(page.locator("#timeline .entry")).to_have_count(2)


def test_move_a_hypothesis_and_rate_a_cell_without_javascript(
    nojs: Page, live_server: Any, incident: Incident, lead: Any
) -> None:
    h = Hypothesis.propose(incident, by=lead, statement="A playlist fault.", kind="technical_fault")
    item = EvidenceItem.attach(incident, by=lead, title="CMS log", url="https://e.org/log")
    page = nojs
    sign_in(page, live_server.url, lead.username)
    page.goto(f"{live_server.url}/cases/{incident.reference}/")

    # The card's move form is not in the page: its link opens the page with it.
    the_card = page.locator(f"#hyp-{h.pk}")
    the_card.locator("summary", has_text="Move").click()
    the_card.get_by_role("link", name="Open the move form").click()
    the_card = page.locator(f"#hyp-{h.pk}")
    the_card.locator("input[type=radio][value=under_evaluation]").check()
    the_card.locator("textarea[name$=-rationale]").fill("Start evaluating.")
    the_card.get_by_role("button", name="Move hypothesis").click()
    expect(page.locator(f"#hyp-{h.pk} .badge.status-under_evaluation")).to_be_visible()

    # Its confidence form, likewise.
    the_card = page.locator(f"#hyp-{h.pk}")
    the_card.locator("summary", has_text="Confidence").click()
    the_card.get_by_role("link", name="Open the confidence form").click()
    the_card = page.locator(f"#hyp-{h.pk}")
    the_card.locator("select[name$=-confidence]").select_option("likely")
    the_card.locator("textarea[name$=-reason]").fill("The log fits.")
    the_card.get_by_role("button", name="Change confidence").click()
    expect(page.locator(f"#hyp-{h.pk} .badge.confidence-likely")).to_be_visible()

    # A matrix cell: the link opens the page with the cell's editor; saving comes back.
    page.locator(f"#cell-{item.pk}-{h.pk}").click()
    form = page.locator("form.cell-form")
    expect(form).to_be_visible()
    form.locator("select[name=rating]").select_option("II")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(f"#cell-{item.pk}-{h.pk} .badge")).to_have_text("II")
    expect(page.locator("#matrix .score-row")).to_contain_text("-2.00")

    # The score explanation: without JavaScript, a link opens it with its tables.
    page.locator("#matrix summary", has_text="How the score is computed").click()
    page.get_by_role("link", name="Show what each source contributes").click()
    expect(page.locator("#matrix-explain")).to_have_attribute("open", "")
    expect(page.locator("#matrix-explain table.explain-table")).to_contain_text("CMS log")
    expect(page.locator("#matrix-explain table.explain-table")).to_contain_text("-2.00")


def test_add_a_hypothesis_without_javascript(
    nojs: Page, live_server: Any, incident: Incident, investigator: Any
) -> None:
    page = nojs
    base = live_server.url
    sign_in(page, base, investigator.username)
    page.goto(f"{base}/cases/{incident.reference}/")
    # The form is not in the page: its panel's link opens the page with it.
    assert page.locator("form.add-hypothesis").count() == 0
    page.locator("#hypotheses summary", has_text="Add a hypothesis").click()
    page.get_by_role("link", name="Open the form").click()
    expect(page).to_have_url(re.compile(r"\?add=1#hypotheses$"))
    form = page.locator("form.add-hypothesis")
    form.locator("select[name=hyp-kind]").select_option("technical_fault")
    form.locator("input[name=hyp-statement], textarea[name=hyp-statement]").fill(
        "The player fell back to a cached test image."
    )
    form.get_by_role("button", name="Add hypothesis").click()
    expect(page.locator(".messages")).to_contain_text("Hypothesis added.")
    expect(page.locator("#hypotheses .hyp-card")).to_contain_text(
        "The player fell back to a cached test image."
    )
    assert Hypothesis.objects.filter(incident=incident).count() == 1


def test_case_status_without_javascript(
    nojs: Page, live_server: Any, incident: Incident, lead: Any
) -> None:
    """A status panel's link opens the page with that panel's form."""
    page = nojs
    sign_in(page, live_server.url, lead.username)
    page.goto(f"{live_server.url}/cases/{incident.reference}/")
    expect(page.locator("#header textarea[name=reason]")).to_have_count(0)
    page.locator("#header summary", has_text="Start investigating").click()
    page.locator("#header").get_by_role("link", name="Open the form").click()
    expect(page).to_have_url(re.compile(r"\?status_form=investigating#header$"))
    page.locator("#header details[open] textarea[name=reason]").fill("Videos are spreading.")
    page.locator("#header").get_by_role("button", name=re.compile("Investigating")).click()
    expect(page.locator("#header .badge.status-investigating")).to_be_visible()
    incident.refresh_from_db()
    assert incident.status == "investigating"

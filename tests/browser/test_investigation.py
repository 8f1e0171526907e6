"""The whole investigation, as a lead runs it, in Chromium on a live server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from incidents.cases.models import Incident, Membership
from incidents.hypotheses.models import Hypothesis
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))


def add_members(case: Incident, investigator: Any, observer: Any) -> None:
    Membership.objects.create(incident=case, user=investigator, role=Membership.Role.INVESTIGATOR)
    Membership.objects.create(incident=case, user=observer, role=Membership.Role.OBSERVER)


def open_case_as_lead(lead: Any, investigator: Any, observer: Any) -> Incident:
    """A case opened directly (for tests that are not about opening it)."""
    case = Incident.open_case(
        by=lead,
        title="Flag shown on an LED screen",
        summary="A public LED screen showed an unexpected flag during a state visit.",
        time_zone="Asia/Almaty",
        place_name="Astana",
    )
    add_members(case, investigator, observer)
    return case


def settle(page: Page) -> None:
    """Wait until htmx has no request in flight and nothing left to swap.

    A write reloads other regions through events; acting on a region while
    it is being replaced would click an element that is about to vanish.
    """
    page.wait_for_timeout(50)
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def card(page: Page, statement: str) -> Any:
    return page.locator("article.hyp-card", has_text=statement)


def add_hypothesis(page: Page, kind: str, statement: str) -> None:
    settle(page)
    hypotheses = page.locator("#hypotheses")
    hypotheses.locator("summary", has_text="Add a hypothesis").click()
    hypotheses.locator("select[name=hyp-kind]").select_option(kind)
    hypotheses.locator("input[name=hyp-statement]").fill(statement)
    hypotheses.get_by_role("button", name="Add hypothesis").click()
    expect(card(page, statement)).to_be_visible()


def attach(page: Page, source: str, title: str, kind: str, grade: str, **fields: str) -> None:
    settle(page)
    evidence = page.locator("#evidence")
    evidence.locator("summary", has_text="Attach a source").click()
    form = evidence.locator("#attach-form")
    form.locator(f"input[name=ev-source][value={source}]").check()
    if source == "url":
        form.locator("input[name=ev-url]").fill(fields["url"])
    elif source == "file":
        form.locator("input[name=ev-file]").set_input_files(fields["path"])
    else:
        form.locator("textarea[name=ev-text_body]").fill(fields["text"])
    form.locator("select[name=ev-kind]").select_option(kind)
    form.locator("input[name=ev-title]").fill(title)
    form.locator("input[name=ev-event_at]").fill("2026-11-20T14:42")
    form.locator("input[name=ev-event_uncertainty_minutes]").fill("10")
    form.locator("input[name=ev-obtained_from]").fill(fields.get("obtained_from", "Open source"))
    form.locator(f"input[name=ev-reliability][value={grade[0]}]").check()
    form.locator(f"input[name=ev-credibility][value='{grade[1]}']").check()
    form.get_by_role("button", name="Attach source").click()
    expect(page.locator("#evidence .evidence-item", has_text=title)).to_be_visible()
    expect(page.locator("#matrix tbody th", has_text=title)).to_be_visible()


def rate(
    page: Page, item_title: str, h: Hypothesis, rating: str, relevance: str = "medium"
) -> None:
    settle(page)
    from incidents.evidence.models import EvidenceItem

    item = EvidenceItem.objects.get(title=item_title)
    page.locator(f"#cell-{item.pk}-{h.pk}").click()
    form = page.locator("#matrix form.cell-form")
    expect(form).to_be_visible()
    form.locator("select[name=rating]").select_option(rating)
    form.locator("select[name=relevance]").select_option(relevance)
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#matrix form.cell-form")).to_have_count(0)
    expect(page.locator(f"#cell-{item.pk}-{h.pk} .badge")).to_have_text(rating)


def move(page: Page, statement: str, status: str, rationale: str, cite: str = "") -> None:
    settle(page)
    the_card = card(page, statement)
    the_card.locator("summary", has_text="Move").click()
    the_card.locator(f"input[type=radio][value={status}]").check()
    the_card.locator("textarea[name$=-rationale]").fill(rationale)
    if cite:
        # The list of sources to cite loads on demand (HTMX fills the fieldset).
        the_card.locator("a.cite-open").click()
        the_card.locator("label.choice", has_text=cite).locator("input").check()
        # What was typed before the list came is still there.
        expect(the_card.locator("textarea[name$=-rationale]")).to_have_value(rationale)
    the_card.get_by_role("button", name="Move hypothesis").click()
    label = Hypothesis.Status(status).label
    expect(card(page, statement).locator(".badge", has_text=label).first).to_be_visible()


def test_lead_runs_an_investigation(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any, tmp_path: Any
) -> None:
    base = live_server.url
    sign_in(page, base, lead.username)

    # Open the case through the New case form.
    page.goto(f"{base}/cases/new/")
    page.fill("input[name=title]", "Flag shown on an LED screen")
    page.fill("textarea[name=summary]", "A public LED screen showed an unexpected flag.")
    page.fill("input[name=occurred_at]", "2026-11-20T14:42")
    page.fill("input[name=uncertainty_minutes]", "10")
    page.select_option("select[name=time_zone]", "Asia/Almaty")
    page.fill("input[name=place_name]", "Astana")
    page.get_by_role("button", name="Open case").click()
    page.wait_for_url(re.compile(r"/cases/INC-\d{4}-\d{4,}/$"))
    case = Incident.objects.get(title="Flag shown on an LED screen")
    add_members(case, investigator, observer)
    page.reload()
    expect(page.locator("h1")).to_have_text(case.title)
    expect(page.locator("#header")).to_contain_text("20 Nov 2026, 14:42")
    expect(page.locator("#header")).to_contain_text("± 10 min")
    expect(page.locator("#header .badge.role-observer")).to_be_visible()

    # Start investigating, with a reason: the form loads when its panel opens.
    expect(page.locator("#header textarea[name=reason]")).to_have_count(0)
    page.locator("#header summary", has_text="Start investigating").click()
    page.locator("#header details[open] textarea[name=reason]").fill("Videos are spreading.")
    page.locator("#header").get_by_role("button", name=re.compile("Investigating")).click()
    expect(page.locator("#header .badge.status-investigating")).to_be_visible()
    settle(page)

    fault = "A playlist fault showed a stored image."
    attack = "An outside attacker pushed the image."
    insider = "Someone with access displayed the flag on purpose."
    add_hypothesis(page, "technical_fault", fault)
    add_hypothesis(page, "cyberattack", attack)
    add_hypothesis(page, "deliberate_act", insider)
    h_fault, h_attack, h_insider = (
        Hypothesis.objects.get(statement=s) for s in (fault, attack, insider)
    )
    # Nothing rated: every hypothesis shares rank 1.
    expect(card(page, fault).locator(".hyp-rank")).to_contain_text("Rank 1")

    log = tmp_path / "cms-login.log"
    log.write_text("09:40 admin login from 203.0.113.7\n")
    attach(page, "url", "Bystander video", "video", "B2", url="https://example.org/video")
    attach(page, "file", "CMS login log", "log_extract", "A1", path=str(log))
    attach(
        page,
        "text",
        "Statement of the night operator",
        "witness_statement",
        "C3",
        text="I was not on shift that morning.",
        obtained_from="The operator, in person",
    )

    settle(page)
    # Rate the matrix and watch the ranking change.
    rate(page, "CMS login log", h_fault, "II", "high")
    rate(page, "CMS login log", h_attack, "CC")
    rate(page, "CMS login log", h_insider, "I")
    rate(page, "Statement of the night operator", h_insider, "II")
    rate(page, "Statement of the night operator", h_attack, "C")
    expect(card(page, attack).locator(".hyp-rank")).to_contain_text("Rank 1")
    expect(card(page, fault).locator(".hyp-rank")).to_contain_text("Rank 3")
    expect(card(page, insider).locator(".hyp-rank")).to_contain_text("Rank 2")
    expect(page.locator("#matrix .rank-row")).to_contain_text("1")
    # Saving a cell swapped its row; the scores came out of band (all were 0.00
    # before), and nothing was duplicated.
    expect(page.locator("#matrix .score-row")).to_contain_text("-")
    expect(page.locator("#matrix tfoot")).to_have_count(1)
    expect(page.locator("#matrix details.explain")).to_have_count(1)
    expect(page.locator("#matrix table.matrix > tbody > tr")).to_have_count(
        page.locator("#evidence .evidence-item").count()
    )
    # Most diagnostic rows first; the URL says so (linkable, survives a reload).
    page.locator("#matrix .sort a", has_text="Most diagnostic first").click()
    expect(page).to_have_url(re.compile(r"\?sort=diagnosticity$"))
    expect(page.locator("#matrix table.matrix > tbody > tr").first).to_contain_text("CMS login log")
    expect(page.locator("#matrix table.matrix > tbody > tr").last).to_contain_text("non-diagnostic")
    settle(page)
    # The score is explained on demand.
    page.locator("#matrix summary", has_text="How the score is computed").click()
    expect(page.locator("#matrix .formula")).to_contain_text("credibility weight")
    # Opening it loads what each source contributes (not sent with the page).
    explain = page.locator("#matrix-explain-body[data-loaded]")
    expect(explain.locator("table.explain-table")).to_have_count(3)
    expect(explain.locator("caption").first).to_contain_text("score")
    expect(explain).to_contain_text("CMS login log")
    # Rating a cell while it is open reloads it with the new contribution.
    settle(page)
    rate(page, "Statement of the night operator", h_fault, "I")
    expect(page.locator("#matrix-explain-body[data-loaded]")).to_contain_text(
        "Statement of the night operator"
    )
    expect(
        page.locator("#matrix-explain-body table.explain-table").first.locator("tbody tr")
    ).to_have_count(2)

    # Keyboard: open a cell with Enter, close it with Escape.
    settle(page)
    from incidents.evidence.models import EvidenceItem

    video = EvidenceItem.objects.get(title="Bystander video")
    page.locator(f"#cell-{video.pk}-{h_fault.pk}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#matrix form.cell-form select[name=rating]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#matrix form.cell-form")).to_have_count(0)
    expect(page.locator(f"#cell-{video.pk}-{h_fault.pk}")).to_be_focused()

    # Confidence with a reason; the chart follows.
    settle(page)
    the_card = card(page, attack)
    the_card.locator("summary", has_text="Confidence").click()
    the_card.locator("select[name$=-confidence]").select_option("likely")
    the_card.locator("textarea[name$=-reason]").fill("The login log.")
    the_card.get_by_role("button", name="Change confidence").click()
    expect(card(page, attack).locator(".badge.confidence-likely")).to_be_visible()

    # Refute one, confirm another, withdraw the third.
    move(page, fault, "under_evaluation", "Checking the playlist.")
    move(page, fault, "weakened", "The playlist has no such image.")
    move(page, fault, "refuted", "The CMS log shows a remote login.", cite="CMS login log")
    move(page, attack, "under_evaluation", "Checking the log.")
    move(page, attack, "supported", "Remote login at 09:40.")
    move(page, attack, "confirmed", "The log and the vendor agree.", cite="CMS login log")
    move(page, insider, "withdrawn", "The operator was off shift.")
    # A move's answer leaves the card's figures to the page (hx-preserve): they
    # are still there, once each, after the card was swapped six times.
    moved = card(page, attack)
    expect(moved.locator(".badge.status-confirmed")).to_be_visible()
    expect(moved.locator(".hyp-rank")).to_contain_text("Rank 1")
    expect(moved.locator(".hyp-rank")).to_have_count(1)
    expect(moved.locator(".hyp-chart svg")).to_have_count(1)
    expect(moved.locator(".badge.confidence-likely")).to_be_visible()
    expect(moved.locator(".hyp-figures .score")).not_to_be_empty()
    expect(card(page, fault).locator(".hyp-figures")).to_contain_text("contradicting")

    # An illegal move is not even offered.
    expect(card(page, attack).locator("input[value=refuted]")).to_have_count(0)

    # Resolve: the header reloads on case-changed and now offers it.
    settle(page)
    page.locator("#header summary", has_text="Resolve case").click()
    page.locator("#header details[open] textarea[name=reason]").fill(
        "A cyberattack, confirmed by the log."
    )
    page.locator("#header").get_by_role("button", name=re.compile("Resolved")).click()
    expect(page.locator("#header .badge.status-resolved")).to_be_visible()

    # Every step is on the timeline.
    timeline = page.locator("#timeline")
    for text in (
        f"Case {case.reference} opened.",
        "Open → Investigating",
        "Investigating → Resolved",
        "Hypothesis added (technical fault)",
        "Hypothesis added (cyberattack)",
        "Hypothesis added (deliberate act)",
        "Evidence added (video, graded B2): Bystander video",
        "Evidence added (log extract, graded A1): CMS login log",
        "Evidence added (witness statement, graded C3)",
        "Weakened → Refuted",
        "Supported → Confirmed",
        "Proposed → Withdrawn",
        "not stated → likely",
    ):
        expect(timeline).to_contain_text(text)
    # Filter the timeline by kind (no reload of the page).
    settle(page)
    page.select_option("#timeline-kind", "case_status")
    expect(page.locator("#timeline .entry")).to_have_count(3)
    case.refresh_from_db()
    assert case.status == "resolved"


def test_case_page_has_no_serious_accessibility_violations(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any
) -> None:
    from incidents.evidence.models import EvidenceItem
    from incidents.hypotheses.models import Assessment

    case = open_case_as_lead(lead, investigator, observer)
    hyps = [
        Hypothesis.propose(case, by=lead, statement=f"Explanation {i}.", kind="other")
        for i in range(3)
    ]
    hyps[0].set_confidence("likely", by=lead, reason="A reason.")
    items = [
        EvidenceItem.attach(
            case,
            by=lead,
            title=f"Source {i}",
            url=f"https://e.org/{i}",
            reliability="ABCDEF"[i % 6],
            credibility=1 + i % 6,
        )
        for i in range(8)
    ]
    for i, item in enumerate(items):
        Assessment.rate(item, hyps[i % 3], by=lead, rating=["CC", "I", "II", "N"][i % 4])
    sign_in(page, live_server.url, lead.username)
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    # Open the panels so their forms are checked too.
    for summary in page.locator("summary").all():
        summary.click()
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert serious == [], results.generate_report()


def test_drop_a_file_on_the_drop_zone_and_see_the_upload_progress(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any
) -> None:
    from incidents.evidence.models import EvidenceItem

    case = open_case_as_lead(lead, investigator, observer)
    sign_in(page, live_server.url, lead.username)
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    page.locator("#evidence summary", has_text="Attach a source").click()
    # Opening the panel loads the form.
    expect(page.locator("#attach-form [data-drop-zone]")).to_be_attached()
    # Drop a file (about 1.5 MB, so the upload reports progress) on the zone.
    page.evaluate(
        """() => {
          const data = new DataTransfer();
          const body = new Uint8Array(1500000).fill(65);
          const file = new File([body], "screen-capture.txt", {type: "text/plain"});
          data.items.add(file);
          const zone = document.querySelector("[data-drop-zone]");
          const init = {bubbles: true, cancelable: true, dataTransfer: data};
          zone.dispatchEvent(new DragEvent("dragover", init));
          zone.dispatchEvent(new DragEvent("drop", init));
        }"""
    )
    form = page.locator("#attach-form")
    expect(form.locator("input[name=ev-source][value=file]")).to_be_checked()
    expect(form.locator("[data-drop-name]")).to_have_text("screen-capture.txt")
    form.locator("input[name=ev-title]").fill("Screen capture")
    form.locator("select[name=ev-kind]").select_option("document")
    form.get_by_role("button", name="Attach source").click()
    expect(page.locator("#evidence .evidence-item", has_text="Screen capture")).to_be_visible()
    item = EvidenceItem.objects.get(title="Screen capture")
    assert item.original_name == "screen-capture.txt"
    assert item.file_size == 1500000


def test_upload_progress_bar_follows_htmx_progress_events(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any
) -> None:
    case = open_case_as_lead(lead, investigator, observer)
    sign_in(page, live_server.url, lead.username)
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    page.locator("#evidence summary", has_text="Attach a source").click()
    page.locator("#attach-form input[name=ev-source][value=file]").check()
    bar = page.locator("[data-upload-progress]")
    expect(bar).to_be_hidden()
    page.evaluate(
        """() => {
          const form = document.querySelector("#attach-form");
          form.dispatchEvent(new CustomEvent("htmx:xhr:progress", {
            bubbles: true, detail: {lengthComputable: true, loaded: 42, total: 100}}));
        }"""
    )
    expect(bar).to_be_visible()
    assert bar.evaluate("el => el.value") == 42


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_posting_to_the_timeline_puts_the_entry_on_top_and_clears_the_composer(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any
) -> None:
    from incidents.cases.models import StatusUpdate

    case = open_case_as_lead(lead, investigator, observer)
    StatusUpdate.objects.post(case, kind="note", by=lead, body="An older note.")
    sign_in(page, live_server.url, lead.username)
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    settle(page)
    composer = page.locator("form.composer")
    composer.locator("input[name=update-kind][value=finding]").check()
    composer.locator("textarea[name=update-body]").fill("The screen was **rebooted** at 20:56.")
    composer.get_by_role("button", name="Post").click()
    first = page.locator("#timeline-entries > li.entry").first
    expect(first).to_contain_text("The screen was rebooted at 20:56.")
    expect(first.locator("strong")).to_have_text("rebooted")
    expect(first).to_contain_text("Finding")
    expect(page.locator("#timeline-entries > li.entry", has_text="An older note.")).to_have_count(1)
    expect(page.locator("form.composer textarea[name=update-body]")).to_have_value("")
    # An empty post (past the browser's own check) shows the error in the composer.
    page.locator("form.composer textarea[name=update-body]").evaluate(
        "el => el.removeAttribute('required')"
    )
    page.locator("form.composer").get_by_role("button", name="Post").click()
    expect(page.locator("form.composer .error")).to_contain_text("This field is required.")
    expect(page.locator("#timeline-entries > li.entry")).to_have_count(
        StatusUpdate.objects.filter(incident=case).count()
    )

"""Correcting a case and its sources in Chromium (issue 15.1), as lead and as investigator."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from incidents.cases.models import Incident
from tests.browser.test_investigation import open_case_as_lead, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("who", ["lead", "investigator"])
def test_edit_the_case(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any, who: str
) -> None:
    case = open_case_as_lead(lead, investigator, observer)
    user = {"lead": lead, "investigator": investigator}[who]
    sign_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    page.get_by_role("link", name="Edit case").click()
    page.wait_for_url(re.compile(r"/edit/$"))
    page.fill("input[name=title]", "Flag of Ukraine shown on an LED screen")
    page.fill("textarea[name=summary]", "A screen showed a **flag**.\n\n- first video at 21:40")
    page.fill("input[name=latitude]", "51.128207")
    page.fill("input[name=longitude]", "71.430411")
    page.fill("input[name=time_zone]", "Asia/Alm")  # the datalist offers the match
    page.fill("input[name=time_zone]", "Asia/Almaty")
    page.select_option("select[name=severity]", "critical")
    page.fill("input[name=tags]", "astana, led-screen")
    page.get_by_role("button", name="Save case").click()
    page.wait_for_url(re.compile(rf"/cases/{case.reference}/$"))
    header = page.locator("#header")
    expect(header.locator("h1")).to_have_text("Flag of Ukraine shown on an LED screen")
    expect(header.locator(".summary strong")).to_have_text("flag")
    expect(header.locator("a.geo")).to_have_attribute("href", "geo:51.128207,71.430411")
    expect(header).to_contain_text("Critical severity")
    expect(page.locator("#timeline")).to_contain_text(
        f"{user.username} edited the case: title, summary, coordinates, "
        "severity (Moderate → Critical), tags."
    )
    assert Incident.objects.get(pk=case.pk).version == 2


def test_observer_is_refused_the_edit_page(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any, outsider: Any
) -> None:
    case = open_case_as_lead(lead, investigator, observer)
    sign_in(page, live_server.url, observer.username)
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    expect(page.get_by_role("link", name="Edit case")).to_have_count(0)
    response = page.goto(f"{live_server.url}/cases/{case.reference}/edit/")
    assert response is not None and response.status == 403


@pytest.mark.parametrize("who", ["lead", "investigator"])
def test_edit_and_regrade_a_source(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any, who: str
) -> None:
    from incidents.evidence.models import EvidenceItem

    case = open_case_as_lead(lead, investigator, observer)
    item = EvidenceItem.attach(
        case,
        by=lead,
        title="News report",
        url="https://example.org/n",
        reliability="C",
        credibility=3,
    )
    user = {"lead": lead, "investigator": investigator}[who]
    sign_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/evidence/{item.pk}/")
    page.get_by_role("link", name="Edit details or grade").click()
    page.wait_for_url(re.compile(r"/edit/$"))
    details = page.locator("form.source-edit-form")
    details.locator("input[name=title]").fill("News report (Tengri)")
    details.locator("input[name=language]").fill("ru")
    details.get_by_role("button", name="Save details").click()
    page.wait_for_url(re.compile(rf"/evidence/{item.pk}/$"))
    expect(page.locator("h1")).to_have_text("News report (Tengri)")
    page.get_by_role("link", name="Edit details or grade").click()
    grade = page.locator("form.regrade-form")
    grade.locator("select[name=grade-reliability]").select_option("B")
    grade.locator("textarea[name=grade-reason]").fill("second outlet confirmed")
    grade.get_by_role("button", name="Regrade").click()
    page.wait_for_url(re.compile(rf"/evidence/{item.pk}/$"))
    expect(page.locator("#custody")).to_contain_text("C3 → B3")
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    expect(page.locator("#timeline")).to_contain_text(
        f"{user.username} regraded ‘News report (Tengri)’ C3 → B3: second outlet confirmed"
    )


@pytest.mark.parametrize("who", ["lead", "investigator"])
def test_withdraw_and_restore_a_source(
    page: Page, live_server: Any, lead: Any, investigator: Any, observer: Any, who: str
) -> None:
    from incidents.evidence.models import EvidenceItem

    case = open_case_as_lead(lead, investigator, observer)
    item = EvidenceItem.attach(case, by=lead, title="Test row", text_body="x")
    user = {"lead": lead, "investigator": investigator}[who]
    sign_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/evidence/{item.pk}/edit/")
    form = page.locator("form.withdraw-form")
    form.locator("select[name=withdraw-reason]").select_option("mistake")
    form.locator("textarea[name=withdraw-note]").fill("a test row")
    form.get_by_role("button", name="Withdraw").click()
    page.wait_for_url(re.compile(rf"/evidence/{item.pk}/$"))
    expect(page.locator(".withdrawn-note")).to_contain_text("Attached by mistake: a test row")
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    expect(page.locator(".withdrawn-list")).to_contain_text("Test row")
    expect(page.locator("#timeline")).to_contain_text(f"{user.username} withdrew ‘Test row’")
    page.locator(".withdrawn-list a", has_text="Test row").click()
    page.get_by_role("button", name="Restore").click()
    page.wait_for_url(re.compile(rf"/evidence/{item.pk}/$"))
    expect(page.locator(".withdrawn-note")).to_have_count(0)
    page.goto(f"{live_server.url}/cases/{case.reference}/")
    expect(page.locator(".withdrawn-list")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text(f"{user.username} restored ‘Test row’")

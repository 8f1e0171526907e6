"""Searching sources from the case list and opening a result, in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from incidents.cases.models import Incident
from tests.browser.test_case_list import assert_accessible, sign_in
from tests.evidence_factories import attach

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed_sources(lead: Any, outsider: Any) -> tuple[Incident, Any]:
    case = Incident.open_case(by=lead, title="Flag shown on an LED screen", time_zone="Asia/Almaty")
    log = attach(
        case,
        lead,
        title="Operator log",
        text_body="21:14 content changed: the tachograph of the playlist server was reset.",
        reliability="B",
        credibility=2,
    )
    attach(case, lead, title="Bystander video", url="https://example.org/video/1")
    other = Incident.open_case(by=outsider, title="Unrelated case", time_zone="UTC")
    attach(other, outsider, title="Hidden tachograph report", text_body="tachograph")
    return case, log


def test_search_sources_and_open_a_result(
    page: Page, live_server: Any, lead: Any, outsider: Any
) -> None:
    case, log = seed_sources(lead, outsider)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/cases/")
    page.get_by_label("Sources").check()
    page.get_by_label("Search", exact=True).fill("tachograph")
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(1)
    expect(page).to_have_url(re.compile(r"scope=sources.*q=tachograph|q=tachograph.*scope=sources"))
    row = results.first
    expect(row.locator("mark")).to_have_text(re.compile("tachograph", re.I))
    expect(row.locator(".badge.grade")).to_have_text("B2")
    expect(row).to_contain_text(case.reference)
    expect(page.locator("#results")).not_to_contain_text("Hidden tachograph report")
    assert_accessible(page)
    row.get_by_role("link", name="Operator log").click()
    expect(page).to_have_url(re.compile(rf"/evidence/{log.pk}/$"))
    expect(page.get_by_role("heading", name="Operator log")).to_be_visible()
    # Back to the results, as they were.
    page.go_back()
    expect(page.get_by_label("Sources")).to_be_checked()
    expect(page.locator("#results tbody tr")).to_have_count(1)


def test_sources_without_javascript(
    browser: Any, live_server: Any, lead: Any, outsider: Any
) -> None:
    seed_sources(lead, outsider)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/cases/")
    page.get_by_label("Sources").check()
    page.get_by_label("Search", exact=True).fill("operator")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("Operator log")
    context.close()

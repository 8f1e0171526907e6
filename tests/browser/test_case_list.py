"""The case list, home, sign-in and new-case pages in a real browser (Debian's Chromium)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from incidents.cases.models import Incident, Membership
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BASE = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def sign_in(page: Page, live_server: Any, username: str = "alice") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()


def seed(lead: Any, n: int = 30) -> list[Incident]:
    titles = [
        "Flag shown on LED screen",
        "Billboard went dark",
        "Traffic lights failed downtown",
        "Radio broadcast interrupted",
        "Website defaced",
    ]
    cases = [
        Incident(
            reference=f"INC-2026-{i + 1:04d}",
            title=f"{titles[i % len(titles)]} ({i + 1})",
            summary="Reported by the interior ministry." if i % 2 else "Seen by bystanders.",
            lead=lead,
            created_by=lead,
            severity=["low", "moderate", "high", "critical"][i % 4],
            time_zone="Asia/Almaty",
            place_name="Astana",
            occurred_at=BASE - dt.timedelta(days=i),
            last_activity_at=BASE - dt.timedelta(hours=i),
        )
        for i in range(n)
    ]
    Incident.objects.bulk_create(cases)
    created = list(Incident.objects.all())
    Membership.objects.bulk_create(
        [Membership(incident=c, user=lead, role=Membership.Role.LEAD) for c in created]
    )
    for c in created[:3]:
        c.set_tags(["astana", "screens"])
    return created


def rows(page: Page):
    return page.locator("#results tbody tr")


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert bad == []


def test_live_search_filters_and_back(page: Page, live_server: Any, lead: Any) -> None:
    seed(lead)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/cases/")
    expect(rows(page)).to_have_count(25)
    expect(page.locator(".pager-next")).to_be_visible()

    page.get_by_role("searchbox", name="Search").press_sequentially("billboard", delay=40)
    expect(rows(page)).to_have_count(6)
    expect(page).to_have_url(re.compile(r"/cases/\?scope=cases&q=billboard"))
    expect(page.locator("#results-count")).to_contain_text("6 matches")
    assert "status=" not in page.url  # empty fields are not in the URL

    page.get_by_label("Severity").select_option("high")
    expect(page).to_have_url(re.compile(r"severity=high"))
    # billboard: cases 2, 7, 12, 17, 22, 27; high: 3, 7, 11, 15, 19, 23, 27
    expect(rows(page)).to_have_count(2)
    expect(page.locator("#results tbody")).to_contain_text("Billboard went dark (7)")
    expect(page.locator("#results tbody")).to_contain_text("Billboard went dark (27)")
    assert "sort=" not in page.url

    page.get_by_role("searchbox", name="Search").fill("zebra crossing")
    expect(page.locator("#results .empty")).to_contain_text("No cases match “zebra crossing”")

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=billboard&severity=high$"))
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("billboard")
    expect(page.get_by_label("Severity")).to_have_value("high")

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=billboard$"))
    expect(rows(page)).to_have_count(6)


def test_pages_forward_and_back(page: Page, live_server: Any, lead: Any) -> None:
    seed(lead)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/cases/?sort=reference")
    expect(rows(page).first).to_contain_text("INC-2026-0001")
    page.locator(".pager-next").click()
    expect(rows(page)).to_have_count(5)
    expect(rows(page).first).to_contain_text("INC-2026-0026")
    expect(page).to_have_url(re.compile(r"after="))
    page.locator(".pager-prev").click()
    expect(rows(page)).to_have_count(25)
    expect(rows(page).first).to_contain_text("INC-2026-0001")


def test_new_case_lands_on_its_page(page: Page, live_server: Any, lead: Any) -> None:
    sign_in(page, live_server)
    page.get_by_role("link", name="New case").first.click()
    expect(page.get_by_role("heading", name="Open a new case")).to_be_visible()
    page.get_by_role("button", name="Open case").click()  # empty: errors next to fields
    expect(page.locator("#id_title_error")).to_contain_text("This field is required.")
    expect(page.get_by_label("Title")).to_be_focused()
    page.get_by_label("Title").fill("Screen showed a foreign flag")
    page.get_by_label("Occurred at (local time)").fill("2026-11-20T14:30")
    page.get_by_label("Time zone of the place").select_option("Asia/Almaty")
    page.get_by_label("Severity").select_option("high")
    page.get_by_label("Tags").fill("astana, led screen")
    page.get_by_role("button", name="Open case").click()
    expect(page).to_have_url(re.compile(r"/cases/INC-\d{4}-\d{4}/$"))
    case = Incident.objects.get()
    assert case.title == "Screen showed a foreign flag"
    assert case.occurred_at == dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    assert case.lead.username == "alice"


def test_accessibility(page: Page, live_server: Any, lead: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(page)
    page.get_by_role("button", name="Sign in").click()  # with errors shown
    assert_accessible(page)
    seed(lead)
    sign_in(page, live_server)
    assert_accessible(page)
    page.goto(f"{live_server.url}/cases/")
    assert_accessible(page)
    page.goto(f"{live_server.url}/cases/?q=nothing-matches-this")
    assert_accessible(page)
    page.goto(f"{live_server.url}/cases/new/")
    assert_accessible(page)
    page.get_by_role("button", name="Open case").click()
    assert_accessible(page)

"""The chronology in Chromium: add a clock and see the corrected times; zoom through htmx;
no serious accessibility violations (axe)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from incidents.cases.models import Incident, Membership
from incidents.chronology.models import ChronologyEvent, Clock, OrderingConstraint
from incidents.evidence.models import EvidenceItem
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ALMATY)


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))


@pytest.fixture
def case(lead: Any, investigator: Any, observer: Any) -> dict[str, Any]:
    incident = Incident.open_case(
        by=lead,
        title="Flag shown on an LED screen",
        time_zone="Asia/Almaty",
        occurred_at=local("2024-11-27T20:14"),
        occurred_uncertainty=dt.timedelta(minutes=10),
    )
    Membership.objects.create(incident=incident, user=investigator, role="investigator")
    Membership.objects.create(incident=incident, user=observer, role="observer")
    video = EvidenceItem.attach(
        incident,
        by=lead,
        kind=EvidenceItem.Kind.VIDEO,
        title="Bystander video",
        url="https://video.example.org/1",
        event_at=local("2024-11-27T20:18:16"),
        event_uncertainty=dt.timedelta(seconds=1),
    )
    log = EvidenceItem.attach(
        incident,
        by=lead,
        kind=EvidenceItem.Kind.LOG_EXTRACT,
        title="Operator log",
        text_body="20:14:05 override",
        event_at=local("2024-11-27T20:14:05"),
        event_uncertainty=dt.timedelta(seconds=1),
    )
    return {"incident": incident, "video": video, "log": log}


def chronology_url(base: str, incident: Incident) -> str:
    return f"{base}/cases/{incident.reference}/chronology/"


def test_add_a_clock_and_see_the_corrected_times(
    page: Page, live_server: Any, case: dict[str, Any]
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    incident, video = case["incident"], case["video"]
    sign_in(page, live_server.url, "bob")
    page.goto(chronology_url(live_server.url, incident))
    row = page.locator(f"#entry-source-{video.pk}")
    expect(row.locator("td.when")).to_contain_text("20:18:16")  # no clock yet: as recorded

    page.locator("summary", has_text="Add a clock").click()
    form = page.locator("form.chrono-form")
    expect(form.locator("#id_name")).to_be_visible()  # loaded by htmx when opened
    form.locator("#id_name").fill("Phone A")
    form.locator("#id_kind").select_option("phone")
    form.locator("#id_offset").fill("+4 min 10 s")
    form.locator("#id_offset_uncertainty").fill("5 s")
    form.locator("#id_method").select_option("known_event")
    form.locator("#id_sources").select_option(str(video.pk))
    form.locator("button[type=submit]").click()

    expect(page.locator(".messages")).to_contain_text("Clock “Phone A” added.")
    row = page.locator(f"#entry-source-{video.pk}")
    expect(row.locator("td.when")).to_contain_text("20:14:06 ± 5.1 s")  # corrected
    expect(row.locator("td.recorded")).to_contain_text("20:18:16 ± 1 s")  # raw
    expect(row.locator("td.clock")).to_contain_text("Phone A: +4 min 10 s ± 5 s")
    expect(page.locator("#clocks")).to_contain_text("Compared with a known event")
    # The timeline draws it in the clock's lane, and the mark names its corrected time.
    mark = page.locator(f'svg a[href="#entry-source-{video.pk}"] title')
    expect(mark).to_have_text(re.compile(r"Bystander video: 27 Nov 2024 20:14:06 ± 5.1 s"))
    assert Clock.objects.get().sources.get() == video
    assert errors == []


def test_a_bad_offset_is_explained_next_to_its_field(
    page: Page, live_server: Any, case: dict[str, Any]
) -> None:
    sign_in(page, live_server.url, "bob")
    page.goto(chronology_url(live_server.url, case["incident"]) + "clocks/new/")
    page.fill("#id_name", "Phone A")
    page.fill("#id_offset", "four minutes")
    page.click("form.chrono-form button[type=submit]")
    expect(page.locator("#id_offset_error")).to_contain_text("is not a number")
    expect(page.locator("#id_offset")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_name")).to_have_value("Phone A")  # the input is kept


def test_zoom_through_htmx_keeps_the_page_and_the_address(
    page: Page, live_server: Any, case: dict[str, Any]
) -> None:
    incident = case["incident"]
    sign_in(page, live_server.url, "charlie")  # an observer reads it
    page.goto(chronology_url(live_server.url, incident))
    page.evaluate("window.notReloaded = true")
    before = page.locator(".chrono-figure figcaption p").inner_text()
    page.click("#zoom-in")
    expect(page).to_have_url(re.compile(r"\?from=.*&to="))
    expect(page.locator(".chrono-figure figcaption p")).not_to_have_text(before)
    assert page.evaluate("window.notReloaded === true")  # swapped in place, not reloaded
    expect(page.locator("#zoom-in")).to_be_focused()  # focus stays on the control
    page.go_back()
    expect(page.locator(".chrono-figure figcaption p")).to_have_text(before)
    # Keyboard: the marks are links in the tab order, named by their <title>.
    page.locator("svg.chrono-svg a").first.focus()
    expect(page.locator("svg.chrono-svg a").first).to_be_focused()


def test_the_chronology_page_has_no_serious_accessibility_violations(
    page: Page, live_server: Any, case: dict[str, Any], lead: Any
) -> None:
    incident, video, log = case["incident"], case["video"], case["log"]
    phone = Clock.add(incident, by=lead, name="Phone B", offset_uncertainty=dt.timedelta(minutes=1))
    Clock.set_for_source(video, phone, by=lead)
    override = ChronologyEvent.add(
        incident,
        by=lead,
        sources=[log],
        title="Override",
        start_at=local("2024-11-27T20:14:05"),
        end_at=local("2024-11-27T20:14:26"),
    )
    OrderingConstraint.state(  # a contradiction: the video's flag before the override
        incident, by=lead, a=f"source:{video.pk}", relation="during", b=f"event:{override.pk}"
    )
    sign_in(page, live_server.url, "alice")
    page.goto(chronology_url(live_server.url, incident))
    expect(page.locator(".chrono-contradictions")).to_contain_text("check the clock “Phone B”")
    for summary in page.locator(".chrono-add summary").all():
        summary.click()
    expect(page.locator("form.chrono-form")).to_have_count(3)
    results = Axe().run(page, context={"include": [["main"]]})
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert serious == [], [(v["id"], v["nodes"][0]["html"][:200]) for v in serious]

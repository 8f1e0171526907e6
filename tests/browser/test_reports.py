"""Asking for a case report in a real browser (Debian's Chromium): the reports
page, the new row, the report becoming ready, its download (issue 17)."""

from __future__ import annotations

import hashlib
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from incidents.reports.models import Report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFERENCE = "INC-2024-0001"


@pytest.fixture
def demo(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The report is made in the request, as a one-process demo would (docs/reports.md).
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    call_command("load_demo", force=True, stdout=StringIO())


def sign_in(page: Page, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("inquest-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_lead_asks_for_a_report_and_downloads_it(
    page: Page, live_server: Any, demo: None
) -> None:
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/cases/{REFERENCE}/reports/")
    expect(page.get_by_role("heading", name="Reports", exact=False).first).to_be_visible()
    expect(page.get_by_text("No report has been made of this case yet.")).to_be_visible()

    # The levels offered, each saying how much it leaves out.
    choices = page.locator(".tlp-option")
    expect(choices).to_have_count(5)
    expect(choices.filter(has_text="TLP:CLEAR")).to_contain_text("leaves out 5 items")
    choices.filter(has_text="TLP:GREEN").get_by_role("radio").check()
    page.get_by_role("button", name="Make the report").click()

    row = page.locator("#report-1")
    expect(row).to_contain_text("TLP:GREEN")
    expect(row).to_contain_text("Ready", timeout=60_000)
    expect(row).to_contain_text("4 items withheld")
    link = row.get_by_role("link", name="Download PDF")
    expect(link).to_be_visible()
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == f"{REFERENCE}-report-1-TLP-GREEN.pdf"
    data = Path(download.path()).read_bytes()
    report = Report.objects.get(number=1)
    assert hashlib.sha256(data).hexdigest() == report.sha256
    assert data.startswith(b"%PDF")


def test_an_observer_reads_reports_but_does_not_make_them(
    page: Page, live_server: Any, demo: None
) -> None:
    from incidents.cases.models import Incident

    incident = Incident.objects.get(reference=REFERENCE)
    Report.request(incident, by=incident.lead, audience="red")
    sign_in(page, live_server, "observer")
    page.goto(f"{live_server.url}/cases/{REFERENCE}/reports/")
    expect(page.locator("#report-1")).to_contain_text("Ready")
    expect(page.get_by_role("button", name="Make the report")).to_have_count(0)
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()

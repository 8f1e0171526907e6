"""The account pages in Chromium: turning on two-step sign-in and signing in
with it, and changing one's password."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """What the authenticator app shows (django-otp's own TOTP over the device's key)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))


def test_enrol_totp_then_sign_in_with_it(page: Page, live_server: Any, lead: Any) -> None:
    base = live_server.url
    sign_in(page, base, lead.username)
    page.get_by_role("link", name="alice").click()  # the header's user name: the account page
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    page.get_by_role("link", name="Set up two-step sign-in").click()
    expect(page.locator("figure.qr-code svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7 ]+", secret)

    device = TOTPDevice.objects.get(user=lead, confirmed=False)
    page.get_by_label("Code").fill(code_for(device))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("10 recovery codes left")).to_be_visible()

    # Sign out, sign in: the password, then the code.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, lead.username)
    expect(page).to_have_url(re.compile(r"/accounts/two-step/verify/\?next=%2F$"))
    page.get_by_label("Code").fill("000000" if code_for(device, 1) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".field.has-error")).to_contain_text("not right")
    page.get_by_label("Code").fill(codes[0])  # a recovery code (TOTP waits out its back-off)
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator(".messages")).to_contain_text("9 left")

    # Once more, with the app's code.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, lead.username)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    page.get_by_label("Code").fill(code_for(device, 1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/accounts/")
    expect(page.get_by_text("Second factor verified")).to_be_visible()


def test_change_password(page: Page, live_server: Any, lead: Any) -> None:
    base = live_server.url
    sign_in(page, base, lead.username)
    page.goto(f"{base}/accounts/")
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Old password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("fresh-long-passphrase-31")
    page.get_by_label("New password confirmation").fill("fresh-long-passphrase-31")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".field.has-error")).to_contain_text("incorrectly")

    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("fresh-long-passphrase-31")
    page.get_by_label("New password confirmation").fill("fresh-long-passphrase-31")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, lead.username, "fresh-long-passphrase-31")
    expect(page).to_have_url(f"{base}/")

"""Accounts (issue 16, item 5): password reset and change, the second factor,
the sessions list. One test per rule; docs/security.md, "Accounts"."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DbStore
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from incidents.accounts.models import (
    AccountEvent,
    RecoveryCode,
    RecoveryCodeDevice,
    UserSession,
    digest_of,
    normalise_code,
)
from incidents.accounts.twofactor import PENDING_KEY
from incidents.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
VERIFY = "/accounts/two-step/verify/"
SETUP = "/accounts/two-step/set-up/"
MANAGE = "/accounts/two-step/"
SESSIONS = "/accounts/sessions/"


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code DEVICE's app shows now (or STEPS_AHEAD periods later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(user: Any) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    recovery = RecoveryCodeDevice.objects.create(user=user, name="Recovery codes")
    return device, recovery.replace_codes()


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def events(kind: str, **filters: Any) -> int:
    return AccountEvent.objects.filter(kind=kind, **filters).count()


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    cache.clear()


# -- password reset -------------------------------------------------------------------


def test_reset_pages_answer_404_without_mail(client: Client, lead: Any, settings: Any) -> None:
    settings.INQUEST_EMAIL_ENABLED = False
    for path in (RESET, f"{RESET}sent/", f"{RESET}MQ/some-token/", f"{RESET}done/"):
        assert client.get(path).status_code == 404, path
    assert client.post(RESET, {"email": lead.email}).status_code == 404
    assert "Forgot your password" not in client.get("/accounts/login/").content.decode()


def test_mail_is_configured_by_the_environment() -> None:
    """EMAIL_HOST or EMAIL_BACKEND in the environment turns reset on; EMAIL_ENABLED decides."""

    def enabled(**env: str) -> str:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
        clean.update({"DEBUG": "true", **env})
        script = "import incidents.settings as s; print(s.INQUEST_EMAIL_ENABLED)"
        run = subprocess.run(
            [sys.executable, "-c", script], env=clean, capture_output=True, text=True
        )
        return run.stdout.strip() or run.stderr.strip().splitlines()[-1]

    assert enabled() == "False"
    assert enabled(EMAIL_HOST="smtp.example.org") == "True"
    assert enabled(EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend") == "True"
    assert enabled(EMAIL_HOST="smtp.example.org", EMAIL_ENABLED="false") == "False"
    assert "DEFAULT_FROM_EMAIL" in enabled(EMAIL_HOST="smtp.example.org", DEBUG="false")


def test_reset_gives_the_same_answer_for_known_and_unknown_addresses(
    client: Client, lead: Any, settings: Any, mailoutbox: list[Any]
) -> None:
    settings.INQUEST_EMAIL_ENABLED = True
    known = client.post(RESET, {"email": lead.email})
    unknown = client.post(RESET, {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password/reset/sent/"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [lead.email]
    # Both are counted (and recorded) alike.
    assert events("password_reset_requested", subject=lead.email) == 1
    assert events("password_reset_requested", subject="nobody@example.org") == 1
    page = client.get(known["Location"]).content.decode()
    assert "If an account has that address" in page
    assert "Forgot your password" in client.get("/accounts/login/").content.decode()


def test_reset_is_throttled_per_address(
    client: Client, lead: Any, investigator: Any, settings: Any, mailoutbox: list[Any]
) -> None:
    settings.INQUEST_EMAIL_ENABLED = True
    settings.INQUEST_PASSWORD_RESETS_PER_HOUR = 3
    answers = {
        client.post(RESET, {"email": address})["Location"]
        for address in [lead.email, lead.email.upper(), f" {lead.email}", lead.email, lead.email]
    }
    assert answers == {"/accounts/password/reset/sent/"}  # throttled or not, the same answer
    assert len(mailoutbox) == 3
    assert events("password_reset_requested", subject=lead.email) == 3  # refusals are not stored
    # Another address has its own count; an hour later the address has its share again.
    client.post(RESET, {"email": investigator.email})
    assert len(mailoutbox) == 4
    AccountEvent.objects.filter(subject=lead.email).update(
        at=timezone.now() - timedelta(minutes=61)
    )
    client.post(RESET, {"email": lead.email})
    assert len(mailoutbox) == 5


def test_reset_link_sets_a_password_once_and_ends_every_session(
    client: Client, lead: Any, settings: Any, mailoutbox: list[Any]
) -> None:
    settings.INQUEST_EMAIL_ENABLED = True
    elsewhere = Client()
    sign_in(elsewhere, "alice")
    client.post(RESET, {"email": lead.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mailoutbox[0].body)
    assert link is not None, mailoutbox[0].body
    assert "Inquest" in mailoutbox[0].subject
    form = client.get(link[1], follow=True)
    assert "Choose a new password" in form.content.decode()
    new = "a-brand-new-passphrase-77"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/done/"
    lead.refresh_from_db()
    assert lead.check_password(new)
    assert elsewhere.get("/").status_code == 302  # signed out
    assert not UserSession.objects.filter(user=lead).exists()
    assert events("password_reset_done", user=lead) == 1
    # The link worked once.
    again = client.get(link[1], follow=True).content.decode()
    assert "This link no longer works" in again


# -- password change --------------------------------------------------------------------


def test_users_change_their_own_password(client: Client, lead: Any) -> None:
    elsewhere = Client()
    sign_in(elsewhere, "alice")
    sign_in(client, "alice")
    page = client.get("/accounts/password/")
    assert page.status_code == 200
    assert 'name="old_password"' in page.content.decode()
    wrong = client.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password1": "x-new-pass-9", "new_password2": "x-new-pass-9"},
    )
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    new = "another-long-passphrase-42"
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password/changed/"
    lead.refresh_from_db()
    assert lead.check_password(new)
    assert client.get("/").status_code == 200  # this session goes on, under a new key
    assert elsewhere.get("/").status_code == 302  # the other one is over
    (row,) = UserSession.objects.filter(user=lead)
    assert row.session_key == client.session.session_key
    assert events("password_changed", user=lead) == 1


def test_guessing_the_old_password_is_throttled_as_sign_in_is(client: Client, lead: Any) -> None:
    client.force_login(lead)
    new = "another-long-passphrase-42"
    answers = [
        client.post(
            "/accounts/password/",
            {"old_password": f"guess-{i}", "new_password1": new, "new_password2": new},
        ).status_code
        for i in range(5)
    ]
    assert answers[:4] == [200] * 4 and answers[4] == 429  # django-axes' lock-out
    right = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert right.status_code == 429
    lead.refresh_from_db()
    assert lead.check_password(PASSWORD)


# -- the second factor ------------------------------------------------------------------


def test_enrolment_confirms_with_a_code_and_shows_recovery_codes_once(
    client: Client, lead: Any
) -> None:
    elsewhere = Client()
    sign_in(elsewhere, "alice")
    sign_in(client, "alice")
    page = client.get(SETUP)
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "QR code for your authenticator app" in body
    device = TOTPDevice.objects.get(user=lead)
    assert not device.confirmed
    secret = re.search(r'<code id="totp-secret" class="secret">([A-Z2-7 ]+)</code>', body)
    assert secret is not None
    assert client.get(SETUP).status_code == 200
    assert TOTPDevice.objects.filter(user=lead).count() == 1  # the pending device is reused

    wrong = client.post(SETUP, {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 422
    device.refresh_from_db()
    assert not device.confirmed
    device.throttle_reset()

    done = client.post(SETUP, {"code": code_for(device)})
    assert done.status_code == 200
    shown = r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code></li>"
    codes = re.findall(shown, done.content.decode())
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert stored == {hashlib.sha256(normalise_code(c).encode()).hexdigest() for c in codes}
    assert not stored & {normalise_code(c) for c in codes}  # hashed at rest
    assert client.get("/").status_code == 200  # this session is verified
    assert elsewhere.get("/").status_code == 302  # the password-only one was ended
    assert events("two_factor_enabled", user=lead) == 1
    assert client.get(SETUP)["Location"] == MANAGE  # already on


def test_sign_in_asks_for_the_code_and_verifies_it_with_the_device(
    client: Client, lead: Any
) -> None:
    device, _ = enrol(lead)
    assert sign_in(client, "alice").status_code == 302
    assert client.session[PENDING_KEY] is True
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == f"{VERIFY}?next=%2F"
    assert client.post("/cases/new/", {"title": "x"})["Location"] == VERIFY
    page = client.get(home["Location"])
    assert page.status_code == 200 and 'name="code"' in page.content.decode()

    wrong = client.post(VERIFY, {"code": "12345", "next": "/"})
    assert wrong.status_code == 422 and "not right" in wrong.content.decode()
    waiting = client.post(VERIFY, {"code": code_for(device), "next": "/"})
    assert "wait 1 second and try again" in waiting.content.decode()  # django-otp's back-off
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    ok = client.post(VERIFY, {"code": code_for(device), "next": "/cases/"})
    assert ok.status_code == 302 and ok["Location"] == "/cases/"
    assert client.get("/").status_code == 200
    assert PENDING_KEY not in client.session
    assert events("two_factor_verified", user=lead) == 1


def test_a_code_is_not_taken_twice_and_failures_are_throttled(client: Client, lead: Any) -> None:
    device, _ = enrol(lead)
    sign_in(client, "alice")
    code = code_for(device)
    assert client.post(VERIFY, {"code": code})["Location"] == "/"
    other = Client()
    sign_in(other, "alice")
    assert other.post(VERIFY, {"code": code}).status_code == 422  # the same code again
    # After a failure, even the right code waits its turn (django-otp's back-off).
    refused = other.post(VERIFY, {"code": code_for(device, 1)})
    assert refused.status_code == 422 and "Too many wrong codes" in refused.content.decode()
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=5)
    )
    assert other.post(VERIFY, {"code": code_for(device, 1)}).status_code == 302


def test_a_recovery_code_works_once(client: Client, lead: Any) -> None:
    _, codes = enrol(lead)
    sign_in(client, "alice")
    response = client.post(VERIFY, {"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert "9 left" in client.get("/").content.decode()
    assert RecoveryCode.objects.count() == 9
    assert not RecoveryCode.objects.filter(digest=digest_of(normalise_code(codes[0]))).exists()
    assert events("recovery_code_used", user=lead) == 1

    again = Client()
    sign_in(again, "alice")
    assert again.post(VERIFY, {"code": codes[0]}).status_code == 422
    RecoveryCodeDevice.objects.update(throttling_failure_timestamp=None)
    assert again.post(VERIFY, {"code": codes[1]}).status_code == 302


def test_new_recovery_codes_replace_the_old_and_need_the_password(
    client: Client, lead: Any
) -> None:
    device, codes = enrol(lead)
    sign_in(client, "alice")
    client.post(VERIFY, {"code": code_for(device)})
    refused = client.post(MANAGE, {"action": "regenerate", "password": "wrong"})
    assert refused.status_code == 422 and "That is not your password" in refused.content.decode()
    made = client.post(MANAGE, {"action": "regenerate", "password": PASSWORD})
    new = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", made.content.decode())
    assert len(new) == 10 and not set(new) & set(codes)
    other = Client()
    sign_in(other, "alice")
    assert other.post(VERIFY, {"code": codes[2]}).status_code == 422
    RecoveryCodeDevice.objects.update(throttling_failure_timestamp=None)
    assert other.post(VERIFY, {"code": new[0]}).status_code == 302


def test_turning_it_off_needs_the_password(client: Client, lead: Any) -> None:
    device, _ = enrol(lead)
    sign_in(client, "alice")
    client.post(VERIFY, {"code": code_for(device)})
    assert client.post(MANAGE, {"action": "disable", "password": "wrong"}).status_code == 422
    assert TOTPDevice.objects.filter(user=lead).exists()
    response = client.post(MANAGE, {"action": "disable", "password": PASSWORD})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=lead).exists()
    assert not RecoveryCodeDevice.objects.filter(user=lead).exists()
    assert events("two_factor_disabled", user=lead) == 1
    fresh = Client()
    sign_in(fresh, "alice")
    assert fresh.get("/").status_code == 200  # the password alone again


# -- requiring it -----------------------------------------------------------------------


@pytest.fixture
def required(settings: Any) -> None:
    settings.INQUEST_REQUIRE_2FA_FOR = frozenset({"staff", "leads"})


def test_required_users_are_sent_to_enrolment_until_they_enrol(
    client: Client, incident: Any, lead: Any, investigator: Any, staff: Any, required: None
) -> None:
    for user in (lead, staff):
        client.force_login(user)
        response = client.get("/cases/")
        assert response.status_code == 302, user
        assert response["Location"] == f"{SETUP}?next=%2Fcases%2F"
        assert client.get(SETUP).status_code == 200
    client.force_login(investigator)  # neither staff nor a lead
    assert client.get("/cases/").status_code == 200
    # Enrolled and verified: through.
    client.force_login(lead)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=lead)
    client.post(SETUP, {"code": code_for(device)})
    assert client.get("/cases/").status_code == 200
    # Required: it cannot be turned off.
    refused = client.post(MANAGE, {"action": "disable", "password": PASSWORD})
    assert refused.status_code == 422 and "required" in refused.content.decode()
    assert TOTPDevice.objects.filter(user=lead, confirmed=True).exists()


def test_requirement_is_off_by_default(
    client: Client, staff: Any, incident: Any, lead: Any
) -> None:
    for user in (staff, lead):
        client.force_login(user)
        assert client.get("/").status_code == 200


def test_required_user_with_a_device_is_asked_for_the_code(
    client: Client, staff: Any, required: None
) -> None:
    enrol(staff)
    client.force_login(staff)
    session = client.session
    session.pop(PENDING_KEY, None)  # even without the sign-in's mark
    session.save()
    assert client.get("/")["Location"] == f"{VERIFY}?next=%2F"


def test_the_admin_sits_behind_the_second_factor(client: Client, superuser: Any) -> None:
    device, _ = enrol(superuser)
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302  # the password is right…
    for path in ("/admin/", "/admin/auth/user/", "/admin/audit/auditevent/"):
        denied = client.get(path)
        assert denied.status_code == 302 and denied["Location"].startswith(VERIFY), path
    assert client.post("/admin/auth/user/1/delete/", {"post": "yes"})["Location"] == VERIFY
    assert client.get("/admin/", headers={"HX-Request": "true"})["HX-Redirect"] == VERIFY
    client.post(VERIFY, {"code": code_for(device)})
    assert client.get("/admin/").status_code == 200


def test_required_admin_without_a_device_cannot_use_the_admin(
    client: Client, staff: Any, required: None
) -> None:
    client.post("/admin/login/", {"username": "stella", "password": PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(SETUP)


# -- sessions ---------------------------------------------------------------------------


def test_user_sees_their_sessions_and_ends_the_others(
    client: Client, lead: Any, investigator: Any
) -> None:
    phone = Client(headers={"User-Agent": "PhoneBrowser/1.0"}, REMOTE_ADDR="203.0.113.7")
    sign_in(phone, "alice")
    sign_in(client, "alice", headers={"User-Agent": "DeskBrowser/2.0"})
    someone_else = Client()
    sign_in(someone_else, "bob")
    page = client.get(SESSIONS).content.decode()
    assert "PhoneBrowser/1.0" in page and "203.0.113.7" in page
    assert "DeskBrowser/2.0" in page and "This session" in page
    assert page.count("<tr") == 3  # the header and alice's two, not bob's

    response = client.post(SESSIONS, {"action": "others"})
    assert response.status_code == 302
    assert phone.get("/").status_code == 302  # signed out
    assert client.get("/").status_code == 200
    assert someone_else.get("/").status_code == 200
    assert UserSession.objects.filter(user=lead).count() == 1
    assert events("sessions_ended", user=lead) == 1


def test_ending_all_sessions_ends_this_one_and_untracked_ones(client: Client, lead: Any) -> None:
    sign_in(client, "alice")
    # A session from before the table (no row), signed in as alice.
    old = DbStore()
    old[SESSION_KEY] = str(lead.pk)
    old["_auth_user_backend"] = "incidents.accounts.backends.UserBackend"
    old.create()
    response = client.post(SESSIONS, {"action": "all"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302
    assert not Session.objects.filter(session_key=old.session_key).exists()
    assert not UserSession.objects.filter(user=lead).exists()


def test_a_session_without_a_row_gets_one_and_last_activity_moves_quietly(
    client: Client, lead: Any
) -> None:
    client.force_login(lead)
    UserSession.objects.all().delete()
    session = client.session
    session.pop("_inquest_session")
    session.save()
    client.get("/")
    row = UserSession.objects.get(user=lead)
    assert row.session_key == client.session.session_key
    records = AuditEvent.objects.count()
    UserSession.objects.filter(pk=row.pk).update(last_seen=timezone.now() - timedelta(hours=1))
    records = AuditEvent.objects.count()
    cache.clear()  # five minutes later
    client.get("/")
    row.refresh_from_db()
    assert timezone.now() - row.last_seen < timedelta(minutes=1)
    assert AuditEvent.objects.count() == records  # last activity alone is not a record


# -- the audit trail --------------------------------------------------------------------


def test_account_changes_are_in_the_audit_trail_without_secrets(client: Client, lead: Any) -> None:
    sign_in(client, "alice", headers={"User-Agent": "AuditBrowser"})
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=lead)
    client.post(SETUP, {"code": code_for(device)})
    enabled = AccountEvent.objects.get(kind="two_factor_enabled")
    (record,) = AuditEvent.objects.filter(
        table_name="accounts_accountevent", object_pk=str(enabled.pk)
    )
    assert record.actor == "alice" and record.source.startswith("web POST /accounts/two-step/")
    sessions = AuditEvent.objects.filter(table_name="accounts_usersession", action="insert")
    assert sessions and all("session_key" not in e.after_data for e in sessions)
    assert sessions.last().after_data["user_agent"] == "AuditBrowser"
    codes = AuditEvent.objects.filter(table_name="accounts_recoverycode")
    assert codes.count() == 10 and all("digest" not in e.after_data for e in codes)


def test_account_page_links_everything(client: Client, lead: Any) -> None:
    client.force_login(lead)
    home = client.get("/").content.decode()
    assert 'href="/accounts/"' in home
    page = client.get("/accounts/").content.decode()
    for link in ("/accounts/password/", SETUP, SESSIONS):
        assert f'href="{link}"' in page, link


def test_require_setting_is_checked_at_start() -> None:
    env = {**os.environ, "DEBUG": "true", "REQUIRE_2FA_FOR": "staff,managers"}
    run = subprocess.run(
        [sys.executable, "-c", "import incidents.settings"], env=env, capture_output=True, text=True
    )
    assert run.returncode != 0 and "REQUIRE_2FA_FOR" in run.stderr

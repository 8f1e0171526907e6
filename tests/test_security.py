"""Hardening: CSP everywhere, deploy checks, throttled log-in, CSRF, sessions, error pages."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client

from incidents.cases.models import Incident
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def assert_csp(response: Any) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    assert policy, f"no CSP on {response.request['PATH_INFO']} ({response.status_code})"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.django_db
def test_csp_on_pages_partials_and_errors(
    client: Client, incident: Incident, lead: Any, observer: Any, staff: Any
) -> None:
    assert_csp(client.get("/accounts/login/"))
    assert_csp(client.get("/healthz"))
    client.force_login(lead)
    for path in (
        "/",
        "/cases/",
        f"/cases/{incident.reference}/",
        f"/cases/{incident.reference}/members/",
        f"/cases/{incident.reference}/history/",
    ):
        assert_csp(client.get(path))
        assert_csp(client.get(path, HTTP_HX_REQUEST="true"))
    assert_csp(client.get("/cases/INC-1999-0001/"))  # 404
    client.force_login(observer)
    forbidden = client.get(f"/cases/{incident.reference}/members/")
    assert forbidden.status_code == 403
    assert_csp(forbidden)
    client.force_login(staff)
    assert_csp(client.get("/admin/"))


@pytest.mark.django_db
def test_nonce_is_used_for_the_only_inline_scripts(client: Client, lead: Any) -> None:
    client.force_login(lead)
    response = client.get("/")
    html = response.content.decode()
    policy = response.headers["Content-Security-Policy"]
    import re

    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or "nonce=" in tag, tag
        if "nonce=" in tag:
            nonce = re.search(r'nonce="([^"]+)"', tag).group(1)
            assert f"'nonce-{nonce}'" in policy
    assert ' style="' not in html and " hx-on" not in html and "onclick=" not in html


@pytest.mark.django_db
def test_htmx_is_configured_for_the_csp(client: Client, lead: Any) -> None:
    client.force_login(lead)
    html = client.get("/").content.decode()
    assert '<meta name="htmx-config"' in html
    assert '"selfRequestsOnly":true' in html and '"allowEval":false' in html
    assert '"includeIndicatorStyles":false' in html  # htmx would inject a <style> otherwise


@pytest.mark.django_db
def test_friendly_500_and_503_pages_carry_csp(
    client: Client, monkeypatch: pytest.MonkeyPatch, lead: Any, settings: Any
) -> None:
    from incidents.cases.views import listing

    client.force_login(lead)
    client.raise_request_exception = False

    def broken_db(request: Any) -> Any:
        raise OperationalError("connection refused")

    def broken_code(request: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(listing, "case_list", broken_db)
    import importlib

    import incidents.cases.urls
    import incidents.urls

    importlib.reload(incidents.cases.urls)
    importlib.reload(incidents.urls)
    from django.urls import clear_url_caches

    clear_url_caches()
    try:
        response = client.get("/cases/")
        assert response.status_code == 503
        assert "temporarily unavailable" in response.content.decode()
        assert_csp(response)
        monkeypatch.setattr(listing, "case_list", broken_code)
        importlib.reload(incidents.cases.urls)
        importlib.reload(incidents.urls)
        clear_url_caches()
        response = client.get("/cases/")
        assert response.status_code == 500
        assert "Something went wrong" in response.content.decode()
        assert_csp(response)
    finally:
        monkeypatch.undo()
        importlib.reload(incidents.cases.urls)
        importlib.reload(incidents.urls)
        clear_url_caches()


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "inquest.example.org",
        "INQUEST_VAR_DIR": str(tmp_path),
        "BEHIND_TLS_PROXY": "true",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_refuse_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "DEBUG": "false", "INQUEST_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "SECRET_KEY is required" in result.stderr


def test_password_storage_and_sessions() -> None:
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    names = {v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert {
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "UserAttributeSimilarityValidator",
    } <= names
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE and settings.SESSION_COOKIE_HTTPONLY


@pytest.mark.django_db
def test_argon2_hash_is_stored(lead: Any) -> None:
    assert lead.password.startswith("argon2")


# -- log-in throttling --------------------------------------------------------------------


def _login(client: Client, username: str, password: str) -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR="198.51.100.7"
    )


@pytest.mark.django_db
def test_unknown_user_and_wrong_password_answer_alike(client: Client, lead: Any) -> None:
    unknown = _login(client, "nobody-here", "whatever-password")
    wrong = _login(client, lead.username, "not-the-password")
    assert unknown.status_code == wrong.status_code == 200
    strip = lambda r: r.content.decode().replace("nobody-here", "X").replace(lead.username, "X")  # noqa: E731
    import re

    token = re.compile(r'[A-Za-z0-9]{64}|nonce="[^"]+"')
    assert token.sub("", strip(unknown)) == token.sub("", strip(wrong))


@pytest.mark.django_db
def test_lockout_after_failures_then_message(client: Client, lead: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, lead.username, "wrong-password").status_code == 200
    locked = _login(client, lead.username, "wrong-password")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert_csp(locked)
    # Even the right password is refused while locked out; the unknown user behaves alike.
    assert _login(client, lead.username, PASSWORD).status_code == 429
    for _ in range(settings.AXES_FAILURE_LIMIT):
        ghost = _login(client, "ghost", "wrong-password")
    assert ghost.status_code == 429
    # Another address is not locked out of the same account.
    other = client.post(
        "/accounts/login/",
        {"username": lead.username, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.8",
    )
    assert other.status_code == 302


@pytest.mark.django_db
def test_successful_login_works(client: Client, lead: Any) -> None:
    response = _login(client, lead.username, PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


# -- CSRF ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_post_without_csrf_token_is_refused_and_changes_nothing(
    incident: Incident, lead: Any, outsider: Any
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    url = f"/cases/{incident.reference}/members/"
    data = {"action": "add", "username": outsider.username, "role": "observer"}
    for extra in (
        {},
        {"HTTP_HX_REQUEST": "true"},
        {"HTTP_HX_REQUEST": "true", "HTTP_X_CSRFTOKEN": "forged" * 6},
    ):
        response = client.post(url, data, **extra)
        assert response.status_code == 403
        assert "expired" in response.content.decode()
        assert_csp(response)
    assert not incident.memberships.filter(user=outsider).exists()
    # With the token from the page, as HTMX sends it (hx-headers on <body>), it works.
    import re

    page = client.get(url).content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([A-Za-z0-9]+)"\}\'', page)[1]
    response = client.post(url, data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=str(token))
    assert response.status_code == 200
    assert incident.memberships.filter(user=outsider).exists()


@pytest.mark.django_db
def test_request_id_header(client: Client) -> None:
    response = client.get("/healthz")
    assert len(response.headers["X-Request-ID"]) == 32
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_friendly_400_403_404_pages(client: Client, incident: Incident, observer: Any) -> None:
    client.raise_request_exception = False
    bad = client.get("/", HTTP_HOST="evil.example")
    assert bad.status_code == 400 and "Bad request" in bad.content.decode()
    assert_csp(bad)
    client.force_login(observer)
    missing = client.get("/cases/INC-1999-0001/")
    assert missing.status_code == 404 and "Not found" in missing.content.decode()
    forbidden = client.get(f"/cases/{incident.reference}/history/")
    assert forbidden.status_code == 403 and "Nothing was changed" in forbidden.content.decode()
    for response in (missing, forbidden):
        assert_csp(response)
        assert "Traceback" not in response.content.decode()

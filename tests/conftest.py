"""Shared fixtures: named users per role (as healthchecks' alice, bob, charlie)."""

from __future__ import annotations

import functools
import tempfile
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from incidents.cases.models import Incident, Membership

PASSWORD = "correct-horse-battery-staple"

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """On SQLite, test in a file rather than in memory.

    With an in-memory database Django hands the live server's thread the test
    thread's own connection. The audit triggers call back into Python from
    inside SQLite, so a write in one thread and a query in the other on that
    one connection could wait on each other for good (SQLite's lock against
    Python's), and a browser test hung. With a file each thread has its own
    connection, as the site has in production.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture(autouse=True)
def _media_root(settings: Any) -> Any:
    """Each test writes uploaded files to its own throwaway folder."""
    with tempfile.TemporaryDirectory(prefix="inquest-media-") as folder:
        settings.MEDIA_ROOT = folder
        yield folder


def password_hash() -> str:
    """PASSWORD hashed once per run with the configured (Argon2) hasher.

    Argon2 is slow on purpose; hashing it for every named user of every test
    dominated the suite's set-up time. The stored hash is the real thing, so
    signing in through the login form still checks it. Kept per hasher: a
    test that switches to a fast one must not leave its hash to the others.
    """
    return _hashed_with(settings.PASSWORD_HASHERS[0])


@functools.cache
def _hashed_with(hasher: str) -> str:
    return make_password(PASSWORD)


def make_user(username: str, **extra: Any) -> Any:
    user = get_user_model()(username=username, email=f"{username}@example.org", **extra)
    user.password = password_hash()
    user.save()
    return user


@pytest.fixture
def lead(db: Any) -> Any:
    """Alice leads the case."""
    return make_user("alice")


@pytest.fixture
def investigator(db: Any) -> Any:
    """Bob investigates it."""
    return make_user("bob")


@pytest.fixture
def observer(db: Any) -> Any:
    """Charlie may only read it."""
    return make_user("charlie")


@pytest.fixture
def outsider(db: Any) -> Any:
    """Mallory belongs to no case."""
    return make_user("mallory")


@pytest.fixture
def staff(db: Any) -> Any:
    return make_user("stella", is_staff=True)


@pytest.fixture
def superuser(db: Any) -> Any:
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def incident(lead: Any, investigator: Any, observer: Any) -> Incident:
    """A case with one member of each role."""
    case = Incident.open_case(
        by=lead,
        title="Flag shown on an LED screen",
        summary="A public screen showed an unexpected flag.",
        time_zone="Asia/Almaty",
    )
    Membership.objects.create(incident=case, user=investigator, role=Membership.Role.INVESTIGATOR)
    Membership.objects.create(incident=case, user=observer, role=Membership.Role.OBSERVER)
    return case


# -- Playwright: Debian's Chromium, never a downloaded browser -------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on a live server (the browser tests, ``transaction=True``) run last.

    Their writes are committed, and the audit trail is append-only: a flush
    after each such test empties every table but the trail. Run before the
    others, they would leave trail rows (and, with the flush's restarted ids,
    after-images of rows that no longer exist) to tests that read the trail.
    pytest-django orders them so, but only by the fixtures it can see at
    collection; this keeps the order whatever fixture brings the live server.
    """
    items.sort(key=lambda item: "live_server" in getattr(item, "fixturenames", ()))

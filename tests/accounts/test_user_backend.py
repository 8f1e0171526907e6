"""The signed-in user's compiled read (incidents.accounts.backends.UserBackend)
and the migration that moves sessions to it, so nobody is signed out."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.accounts.backends import UserBackend
from incidents.accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db

migration = importlib.import_module("incidents.accounts.migrations.0001_session_backend")


def test_the_user_is_the_one_djangos_backend_reads(lead) -> None:
    lead.first_name, lead.last_name = "Aigerim", "Sadykova"
    lead.save()
    ours, django = UserBackend().get_user(lead.pk), ModelBackend().get_user(lead.pk)
    assert ours == django
    fields = [f.attname for f in type(lead)._meta.concrete_fields]
    assert [getattr(ours, f) for f in fields] == [getattr(django, f) for f in fields]
    assert ours._state.adding is False and ours._state.db == django._state.db
    assert ours.get_session_auth_hash() == django.get_session_auth_hash()


def test_the_user_is_read_in_one_statement(lead) -> None:
    with CaptureQueriesContext(connection) as queries:
        UserBackend().get_user(lead.pk)
    assert len(queries) == 1


def test_no_user_for_an_unknown_id() -> None:
    assert UserBackend().get_user(987654321) is None


def test_an_inactive_user_is_no_user(lead) -> None:
    lead.is_active = False
    lead.save()
    assert UserBackend().get_user(lead.pk) is None


def test_an_inactive_user_is_signed_out(client: Client, lead) -> None:
    client.force_login(lead)
    assert client.get(reverse("home")).status_code == 200
    type(lead).objects.filter(pk=lead.pk).update(is_active=False)
    assert client.get(reverse("home")).status_code == 302


def _session(user, backend: str) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = backend
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _signed_in(key: str) -> bool:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client.get(reverse("home")).status_code == 200


def test_sessions_of_djangos_backend_move_to_ours_and_back(lead, observer) -> None:
    old = _session(lead, migration.DJANGO)
    other = _session(observer, migration.DJANGO)
    assert not _signed_in(old)  # Django's backend is no longer configured

    migration.forward(apps, None)
    assert SessionStore(old).load()[BACKEND_SESSION_KEY] == migration.OURS
    assert _signed_in(old) and _signed_in(other)

    migration.backward(apps, None)
    assert SessionStore(old).load()[BACKEND_SESSION_KEY] == migration.DJANGO


def test_the_migration_leaves_other_sessions_alone(lead) -> None:
    ours = _session(lead, migration.OURS)
    store = SessionStore()
    store["flag"] = "Ukrainian"
    store.create()
    migration.forward(apps, None)
    assert SessionStore(ours).load()[BACKEND_SESSION_KEY] == migration.OURS
    assert SessionStore(store.session_key).load() == {"flag": "Ukrainian"}

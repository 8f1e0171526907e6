"""The session store's plain read (incidents/accounts/sessions.py) and AnyOf
(incidents/lookups.py): the same answers as Django's own, in fewer steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.accounts.sessions import SessionStore
from incidents.cases.models import Incident
from incidents.lookups import AnyOf

pytestmark = pytest.mark.django_db


def test_the_store_is_the_configured_engine() -> None:
    assert settings.SESSION_ENGINE == "incidents.accounts.sessions"


def test_a_saved_session_reads_back_in_one_statement() -> None:
    store = SessionStore()
    store["flag"] = "Ukrainian"
    store.save()
    with CaptureQueriesContext(connection) as queries:
        again = SessionStore(store.session_key)
        assert again["flag"] == "Ukrainian"
    assert len(queries) == 1
    assert again.session_key == store.session_key


def test_an_expired_session_is_empty_and_its_key_dropped() -> None:
    store = SessionStore()
    store["flag"] = "x"
    store.save()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    again = SessionStore(store.session_key)
    assert again.load() == {}
    assert again.session_key is None


@pytest.mark.parametrize("key", ["no-such-session-key-at-all", "short", None])
def test_an_unknown_or_malformed_key_is_an_empty_session(key: str | None) -> None:
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None


def test_tampered_data_is_an_empty_session() -> None:
    store = SessionStore()
    store["flag"] = "x"
    store.save()
    Session.objects.filter(session_key=store.session_key).update(session_data="forged:data")
    assert SessionStore(store.session_key).load() == {}


def test_signing_in_and_out_still_works(client, lead) -> None:
    client.force_login(lead)
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_any_of_selects_the_listed_rows(lead) -> None:
    cases = [Incident.open_case(by=lead, title=f"Case {i}") for i in range(4)]
    wanted = [cases[0].pk, cases[2].pk]
    found = Incident.objects.filter(AnyOf(F("id"), wanted)).order_by("id")
    assert list(found.values_list("id", flat=True)) == wanted
    assert not Incident.objects.filter(AnyOf(F("id"), [])).exists()
    with CaptureQueriesContext(connection) as queries:
        list(Incident.objects.filter(AnyOf(F("id"), wanted)))
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"]
    else:
        assert " IN (" in queries[0]["sql"]


def test_any_of_takes_integers_only() -> None:
    with pytest.raises(ValueError):
        AnyOf(F("id"), ["1); DROP TABLE cases_incident; --"])


def test_any_of_binds_the_list_as_one_parameter_and_keeps_the_index(lead) -> None:
    cases = [Incident.open_case(by=lead, title=f"Case {i}") for i in range(3)]
    wanted = [cases[0].pk, cases[2].pk]
    qs = Incident.objects.filter(AnyOf(F("id"), wanted)).order_by("id").values_list("id")
    sql, params = qs.query.sql_with_params()
    assert len(params) == 1  # the whole list
    assert [pk for (pk,) in qs] == wanted
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            assert "json_each(%s)" in sql
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "SEARCH" in plan and "INTEGER PRIMARY KEY" in plan, plan
        else:
            assert "= ANY(%s::bigint[])" in sql
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "Index" in plan and "ANY" in plan, plan

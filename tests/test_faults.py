"""Faults: the database goes away, an error strikes mid-change, the database restarts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from incidents.audit.models import AuditEvent
from incidents.cases.models import Incident, StatusUpdate
from incidents.hypotheses.models import Hypothesis, HypothesisMove


def _unreachable(self: Any) -> None:
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


@pytest.mark.django_db
def test_database_unreachable_gives_503_json_and_friendly_pages(
    client: Client, monkeypatch: pytest.MonkeyPatch, incident: Incident, lead: Any
) -> None:
    client.force_login(lead)
    client.raise_request_exception = False
    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", _unreachable)
    monkeypatch.setattr(type(connection), "ensure_connection", _unreachable, raising=False)
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "database": "unavailable"}
    for path in (
        "/",
        "/cases/",
        f"/cases/{incident.reference}/",
        f"/cases/{incident.reference}/history/",
    ):
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(path, **headers)
            assert response.status_code == 503, path
            html = response.content.decode()
            assert "temporarily unavailable" in html and "Traceback" not in html
            assert response.headers["Retry-After"] == "30"
            assert "Content-Security-Policy" in response.headers
    monkeypatch.undo()
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_error_mid_change_leaves_nothing_written(
    monkeypatch: pytest.MonkeyPatch, incident: Incident, lead: Any
) -> None:
    hypothesis = Hypothesis.propose(
        incident, by=lead, statement="A glitch.", kind="technical_fault"
    )
    audit_before = AuditEvent.objects.count()
    updates_before = StatusUpdate.objects.count()

    def failing_post(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full while writing the timeline")

    # The move row and the hypothesis update are written (and audited) before the timeline entry.
    monkeypatch.setattr(StatusUpdate.objects, "post", failing_post)
    with pytest.raises(RuntimeError):
        hypothesis.move_to("under_evaluation", by=lead, rationale="Start.")
    monkeypatch.undo()
    hypothesis.refresh_from_db()
    assert hypothesis.status == "proposed" and hypothesis.version == 1
    assert HypothesisMove.objects.count() == 0
    assert StatusUpdate.objects.count() == updates_before
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.django_db
def test_error_mid_change_through_the_site_answers_500_and_writes_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch, incident: Incident, lead: Any
) -> None:
    hypothesis = Hypothesis.propose(
        incident, by=lead, statement="A glitch.", kind="technical_fault"
    )
    client.force_login(lead)  # (records the log-in time: before counting)
    client.raise_request_exception = False
    audit_before = AuditEvent.objects.count()

    def failing_post(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(StatusUpdate.objects, "post", failing_post)
    response = client.post(
        f"/cases/{incident.reference}/hypotheses/{hypothesis.pk}/move/",
        {
            f"move-{hypothesis.pk}-status": "under_evaluation",
            f"move-{hypothesis.pk}-rationale": "Go.",
            f"move-{hypothesis.pk}-version": hypothesis.version,
        },
    )
    monkeypatch.undo()
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    hypothesis.refresh_from_db()
    assert hypothesis.status == "proposed"
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.django_db(transaction=True)
def test_restarted_database_is_used_again_without_restarting_the_app(
    client: Client, lead: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server to restart")
    import psycopg
    from django.db import close_old_connections

    def get(path: str) -> Any:
        # What Django's handler does at the start of every real request (the
        # test client skips it): hand the connection back to the pool.
        close_old_connections()
        return client.get(path)

    client.force_login(lead)
    assert get("/cases/").status_code == 200
    close_old_connections()
    settings = connection.settings_dict
    name = settings["NAME"]
    admin = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchone()[0]
    assert killed >= 1  # the app's pooled connections are gone, as after a restart
    # pg_terminate_backend only signals: wait until the backends have exited, as
    # they have once a restart is over (the pool's check sees their closed sockets).
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as watcher:
        for _ in range(100):
            left = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                [name],
            ).fetchone()[0]
            if left == 0:
                break
            time.sleep(0.02)
    # The very next requests work: the pool checks connections before handing them out.
    assert get("/healthz").status_code == 200
    assert get("/cases/").status_code == 200
    close_old_connections()
    assert Incident.objects.count() == 0

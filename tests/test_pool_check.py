"""The pool's connection check (incidents.settings.check_pooled_connection): no round trip
for a live idle connection, the real check (which fails) once the server dropped it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from incidents.settings import check_pooled_connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def raw() -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("the connection pool is PostgreSQL's")
    import psycopg

    settings = connection.settings_dict
    conn = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )
    yield conn
    conn.close()


@pytest.fixture
def real_checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The connections that went through psycopg_pool's own (round-trip) check."""
    from psycopg_pool import ConnectionPool

    checked: list[Any] = []
    original = ConnectionPool.check_connection

    def spy(conn: Any) -> None:
        checked.append(conn)
        original(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(spy))
    return checked


def test_a_live_idle_connection_passes_without_a_query(raw: Any, real_checks: list) -> None:
    check_pooled_connection(raw)
    assert real_checks == []  # nothing to read on the socket: no round trip
    assert raw.execute("SELECT 1").fetchone() == (1,)


def test_a_dropped_connection_fails_the_check(raw: Any, real_checks: list) -> None:
    import select
    import time

    import psycopg

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [raw.info.backend_pid])
    for _ in range(50):  # until the server's goodbye reaches the socket
        if select.select([raw.fileno()], [], [], 0)[0]:
            break
        time.sleep(0.02)
    with pytest.raises(psycopg.OperationalError):
        check_pooled_connection(raw)
    assert real_checks == [raw]

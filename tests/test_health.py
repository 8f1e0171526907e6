"""GET /healthz: no login, 200 when the database answers, 503 when it does not."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError, connection


@pytest.mark.django_db
def test_healthy(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_database_unreachable(client: Any) -> None:
    with mock.patch.object(
        connection, "cursor", side_effect=OperationalError("could not connect to server")
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
    assert response.json()["status"] != "ok"


@pytest.mark.django_db
def test_only_get(client: Any) -> None:
    assert client.post("/healthz").status_code == 405

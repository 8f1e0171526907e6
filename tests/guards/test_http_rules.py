"""Site-wide response rules (incidents/middleware.py): nothing a view answers is
cached, a missing page looks the same in every mode, and /favicon.ico exists."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.staticfiles import finders


def no_store(response: Any) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_case_page_its_fragments_and_exports_are_never_stored(client: Any, incident: Any) -> None:
    client.force_login(incident.lead)
    url = f"/cases/{incident.reference}/"
    for response in (
        client.get(url),
        client.get(url, headers={"HX-Request": "true", "HX-Target": "timeline"}),
        client.get(f"{url}export.json"),
        client.get("/cases/"),
        client.get("/"),
    ):
        assert response.status_code == 200
        assert no_store(response), response.get("Cache-Control")


@pytest.mark.django_db
def test_a_post_answer_is_never_stored(client: Any, incident: Any) -> None:
    client.force_login(incident.lead)
    response = client.post(
        f"/cases/{incident.reference}/timeline/",
        {"update-kind": "note", "update-body": "Seen on the live feed."},
    )
    assert response.status_code in (200, 302)
    assert no_store(response)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_hidden_case_and_a_missing_one_get_the_same_404(
    client: Any, incident: Any, outsider: Any, settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    client.force_login(outsider)
    hidden = client.get(f"/cases/{incident.reference}/")
    missing = client.get("/cases/INC-1999-0001/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    assert b"There is nothing here, or you do not have access to it." in hidden.content
    assert no_store(hidden)


@pytest.mark.django_db
def test_favicon_ico_is_served(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith(".ico")
    assert finders.find("favicon.ico")

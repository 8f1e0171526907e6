"""``incidents.static_storage.StaticStorage``: WhiteNoise's URLs, each looked up once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from incidents.static_storage import StaticStorage


@pytest.fixture
def storage(tmp_path: Path) -> StaticStorage:
    manifest = {"paths": {"css/site.css": "css/site.0123abcd.css"}, "version": "1.1"}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    return StaticStorage(location=str(tmp_path), base_url="/static/")


@override_settings(DEBUG=False)
def test_the_hashed_url_is_looked_up_once(storage: StaticStorage, monkeypatch: Any) -> None:
    lookups: list[str] = []
    real = storage.stored_name

    def counted(name: str) -> str:
        lookups.append(name)
        return real(name)

    monkeypatch.setattr(storage, "stored_name", counted)
    for _ in range(3):
        assert storage.url("css/site.css") == "/static/css/site.0123abcd.css"
    assert lookups == ["css/site.css"]


@override_settings(DEBUG=False)
def test_a_file_missing_from_the_manifest_is_an_error_every_time(storage: StaticStorage) -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("css/missing.css")


@override_settings(DEBUG=True)
def test_under_debug_the_plain_name_as_django_gives_it(storage: StaticStorage) -> None:
    assert storage.url("css/site.css") == "/static/css/site.css"


@override_settings(DEBUG=True)
def test_forced_the_hashed_name_even_under_debug(storage: StaticStorage) -> None:
    assert storage.url("css/site.css", force=True) == "/static/css/site.0123abcd.css"

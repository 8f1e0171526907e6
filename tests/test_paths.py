"""``incidents.paths.path_of``: ``reverse()`` remembered, never wrong."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import NoReverseMatch, path, reverse, set_script_prefix
from django.utils.functional import lazy

from incidents import paths
from incidents.paths import path_of

# A URLconf of its own for the test that swaps it in.
urlpatterns = [
    path("elsewhere/<str:reference>/", lambda request: HttpResponse(), name="case"),
]


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    paths._cached.cache_clear()
    yield
    paths._cached.cache_clear()
    set_script_prefix("/")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("cases:detail", ("INC-2026-0001",)),
        ("hypotheses:cell", ("INC-2026-0001", 12, 34)),
        ("evidence:detail", (7,)),
        ("cases:list", ()),
    ],
)
def test_same_as_reverse(name: str, args: tuple[Any, ...]) -> None:
    expected = reverse(name, args=args)
    assert path_of(name, *args) == expected
    assert path_of(name, *args) == expected  # from the cache


def test_second_call_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = paths.reverse

    def counting(name: str, args: Any = None) -> str:
        calls.append(name)
        return real(name, args=args)

    monkeypatch.setattr(paths, "reverse", counting)
    for _ in range(3):
        assert path_of("cases:detail", "INC-2026-0002") == "/cases/INC-2026-0002/"
    assert calls == ["cases:detail"]
    path_of("cases:detail", "INC-2026-0003")  # other arguments: another entry
    assert calls == ["cases:detail", "cases:detail"]


def test_follows_the_script_prefix() -> None:
    assert path_of("cases:detail", "INC-2026-0001") == "/cases/INC-2026-0001/"
    set_script_prefix("/inquest/")
    assert path_of("cases:detail", "INC-2026-0001") == "/inquest/cases/INC-2026-0001/"


def test_follows_a_swapped_urlconf() -> None:
    assert path_of("cases:detail", "INC-2026-0001") == "/cases/INC-2026-0001/"
    with override_settings(ROOT_URLCONF=__name__):
        assert path_of("case", "INC-2026-0001") == "/elsewhere/INC-2026-0001/"
        with pytest.raises(NoReverseMatch):
            path_of("cases:detail", "INC-2026-0001")
    assert path_of("cases:detail", "INC-2026-0001") == "/cases/INC-2026-0001/"


def test_unknown_name_raises_every_time() -> None:
    for _ in range(2):
        with pytest.raises(NoReverseMatch):
            path_of("cases:no-such-view", "x")


def test_other_argument_types_go_to_reverse() -> None:
    lazy_ref = lazy(lambda: "INC-2026-0004", str)()
    assert path_of("cases:detail", lazy_ref) == "/cases/INC-2026-0004/"
    assert paths._cached.cache_info().currsize == 0


def test_site_paths_are_the_frames_links() -> None:
    from incidents.paths import SITE_PATHS

    assert SITE_PATHS["home"] == reverse("home")
    assert SITE_PATHS["cases"] == reverse("cases:list")
    assert SITE_PATHS["new_case"] == reverse("cases:new")
    assert SITE_PATHS["logout"] == reverse("logout")
    assert SITE_PATHS["admin"] == reverse("admin:index")


def test_site_paths_are_empty_under_a_urlconf_without_them() -> None:
    from incidents.paths import SITE_PATHS

    with override_settings(ROOT_URLCONF=__name__):
        assert SITE_PATHS["home"] == "" and SITE_PATHS["admin"] == ""


@pytest.mark.django_db
def test_the_frame_links_to_the_site(client: Any, staff: Any) -> None:
    client.force_login(staff)
    html = client.get(reverse("cases:list")).content.decode()
    for name in ("home", "cases:list", "cases:new", "admin:index"):
        assert f'href="{reverse(name)}"' in html
    assert f'<form method="post" action="{reverse("logout")}">' in html
    assert 'href="/cases/" aria-current="page">Cases</a>' in html


def test_kept_per_language(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inquest runs with USE_I18N off; the key holds the language in case it
    # is turned on (i18n_patterns would make paths depend on it).
    english = path_of("cases:detail", "INC-2026-0001")
    monkeypatch.setattr(paths, "get_language", lambda: "de")
    assert path_of("cases:detail", "INC-2026-0001") == english
    assert paths._cached.cache_info().currsize == 2

"""``reverse()`` remembered between requests.

The case page names about twenty URLs per request (its header's links, its
forms' actions, the templates from which ``drawing.id_url`` makes the rows'
links), and each ``reverse()`` walks the URL patterns again: about 20 µs,
0.4 ms a page, for answers that never change while the process runs.

``path_of`` answers from a bounded cache keyed by everything ``reverse``
reads besides its arguments: the URLconf in force (a new resolver object
whenever Django clears its URL caches, as ``override_settings(ROOT_URLCONF=…)``
does), the script prefix, and the active language (``i18n_patterns`` would
make the paths depend on it). Only positional arguments of plain types are
cached; anything else goes to ``reverse`` itself, as does an error.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

PLAIN = (str, int)


@lru_cache(maxsize=4096)
def _cached(
    resolver: Any, prefix: str, language: str | None, name: str, args: tuple[Any, ...]
) -> str:
    # RESOLVER, PREFIX and LANGUAGE are only the key: reverse() reads the same
    # from the current thread, which set them.
    return reverse(name, args=args)


def path_of(name: str, *args: Any) -> str:
    """``reverse(name, args=args)``, from the cache when seen before."""
    if not all(type(arg) in PLAIN for arg in args):
        return reverse(name, args=args)
    key = (get_resolver(get_urlconf()), get_script_prefix(), get_language())
    return _cached(*key, name, args)


class SitePaths:
    """The site frame's links (``templates/base.html``) by short name, each from
    ``path_of``: empty where the URLconf in force has no such view (an error
    page under another URLconf), as ``{% url … as name %}`` would give."""

    NAMES = {
        "home": "home",
        "cases": "cases:list",
        "new_case": "cases:new",
        "logout": "logout",
        "admin": "admin:index",
    }

    def __getitem__(self, key: str) -> str:
        try:
            return path_of(self.NAMES[key])
        except NoReverseMatch:
            return ""


SITE_PATHS = SitePaths()


def site_paths(request: HttpRequest) -> dict[str, SitePaths]:
    """Context processor: ``site_paths.home``… in every Django template."""
    return {"site_paths": SITE_PATHS}

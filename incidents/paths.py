"""``reverse()`` remembered between requests.

The case page names about twenty URLs per request (its header's links, its
forms' actions, the templates from which ``drawing.id_url`` makes the rows'
links), and each ``reverse()`` walks the URL patterns again: about 20 µs,
0.4 ms a page, for answers that never change while the process runs.

``path_of`` answers from a bounded cache keyed by everything ``reverse``
reads besides its arguments: the URLconf in force (a new resolver object
whenever Django clears its URL caches, as ``override_settings(ROOT_URLCONF=…)``
does) and the script prefix. Only positional arguments of plain types are
cached; anything else goes to ``reverse`` itself, as does an error.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse

PLAIN = (str, int)


@lru_cache(maxsize=4096)
def _cached(resolver: Any, prefix: str, name: str, args: tuple[Any, ...]) -> str:
    # RESOLVER and PREFIX are only the key: reverse() reads the same from the
    # current thread, which set them.
    return reverse(name, args=args)


def path_of(name: str, *args: Any) -> str:
    """``reverse(name, args=args)``, from the cache when seen before."""
    if not all(type(arg) in PLAIN for arg in args):
        return reverse(name, args=args)
    return _cached(get_resolver(get_urlconf()), get_script_prefix(), name, args)

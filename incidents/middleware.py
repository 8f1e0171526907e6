"""Site-wide response rules: nothing a view answers is stored by a browser or a
proxy, and a missing page looks the same in every mode."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from incidents import errors


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response of the site's views.

    Case pages, their HTMX fragments, exports and files show case data: a
    shared computer's Back button or disk cache must never show them again
    (a note just posted missing from a cached page, or a page a signed-out
    user can still reach). A view that says otherwise keeps its own header.
    Static files never reach this: WhiteNoise answers them first, with its
    long cache lifetimes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class NotFoundMiddleware:
    """Every 404 is the same page with the same words, DEBUG or not.

    Under DEBUG Django would draw its technical 404 page, which shows the
    view's own message ("No such case." and others), so a person could tell
    a case that exists but is hidden from one that does not.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return errors.page_not_found(request, exception)
        return None

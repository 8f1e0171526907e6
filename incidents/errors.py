"""Friendly error pages, and a 503 instead of a 500 when the database is unreachable.

400, 403, 404 and the CSRF failure are Django's default views with the
templates in ``templates/errors/`` (``incidents/urls.py`` names them). The 500
and 503 pages are rendered without the request context, because the
database (sessions, the user) may be what failed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader
from django.views import csrf, defaults
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger("inquest.errors")

DATABASE_ERRORS = (OperationalError, InterfaceError)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    template = loader.get_template("errors/503.jinja")
    response = HttpResponse(template.render({}), status=503)
    response["Retry-After"] = "30"
    return response


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection into a friendly 503 page (``/healthz`` keeps its JSON)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            logger.error("Database unavailable: %s", exception)
            return database_unavailable(request)
        return None


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 when the cause is the database, else the friendly 500 page."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_ERRORS):
        return database_unavailable(request)
    return HttpResponseServerError(loader.get_template("errors/500.jinja").render({}))


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return defaults.bad_request(request, exception, template_name="errors/400.jinja")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return defaults.permission_denied(request, exception, template_name="errors/403.jinja")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return defaults.page_not_found(request, exception, template_name="errors/404.jinja")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the form expired."""
    return csrf.csrf_failure(request, reason, template_name="errors/403_csrf.jinja")

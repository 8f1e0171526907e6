"""Per-request audit context (request id, client address, actor) and the 409 for stale edits."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme

from incidents.audit.context import REQUEST_ID_HEADER, request_context
from incidents.audit.versioning import Conflict

# Form fields never echoed back on the conflict page.
_NOT_ECHOED = {"csrfmiddlewaretoken", "version", "expected_version", "password"}


class AuditContextMiddleware:
    """Every write made while handling a request is recorded with its id, address and user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_context(request) as context:
            request.request_id = context.request_id  # type: ignore[attr-defined]
            request.client_addr = context.client_addr  # type: ignore[attr-defined]
            response = self.get_response(request)
        response.headers.setdefault(REQUEST_ID_HEADER, context.request_id)
        if context.conflicts and response.status_code in (200, 400, 422):
            # The view showed the refused stale edit next to its form: say so in the status.
            response.status_code = 409
        return response


def _back(request: HttpRequest) -> str:
    """The page the stale form was on (same site only), else the URL it posted to."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return request.get_full_path()


class ConflictMiddleware:
    """A stale edit that a view did not handle itself answers 409 with what changed.

    The page lists the person's own input, so nothing they typed is lost.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Conflict):
            return None
        submitted = [
            (key, value)
            for key, values in request.POST.lists()
            if key not in _NOT_ECHOED
            for value in values
        ]
        template = "409.jinja#conflict" if getattr(request, "htmx", False) else "409.jinja"
        response = TemplateResponse(
            request,
            template,
            {"conflict": exception, "submitted": submitted, "back": _back(request)},
            status=409,
        )
        return response.render()

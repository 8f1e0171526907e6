"""X-Query-Count on every response, in benchmark mode only (INQUEST_BENCH_FLOOR)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connection
from django.http import HttpRequest, HttpResponse

from incidents.perf import capture


class QueryCountMiddleware:
    """Count the statements each request runs; record them when the benchmark asks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not getattr(settings, "INQUEST_BENCH_FLOOR", False):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("X-Bench-Capture")
        keep = capture.valid_key(key) and not request.path.startswith("/_bench/")
        recorder = capture.QueryRecorder(keep=keep)
        # Not connection.execute_wrapper(): it pops the *last* wrapper on exit, and
        # the audit app appends its own when a connection opens during the request.
        connection.execute_wrappers.insert(0, recorder)
        try:
            response = self.get_response(request)
        finally:
            connection.execute_wrappers[:] = [
                w for w in connection.execute_wrappers if w is not recorder
            ]
        response["X-Query-Count"] = str(recorder.count)
        if keep and key:
            capture.save(key, recorder.statements)
        return response

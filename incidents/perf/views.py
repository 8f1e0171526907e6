"""Floor views: the same SQL as a measured page, with the least Django around it.

Mounted under ``/_bench/`` only when INQUEST_BENCH_FLOOR is on (see
incidents/urls.py). A page's floor is what its queries alone cost through
Django's connection, its middleware and a minimal response; the ratio of a
page to its floor is the price of the ORM, the templates and the view logic.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from incidents.perf import capture

READ_PREFIXES = ("SELECT", "WITH", "SAVEPOINT", "RELEASE")


@csrf_exempt
def floor(request: HttpRequest, key: str) -> HttpResponse:
    """Replay the statements captured for KEY; answer with how many rows they returned."""
    if not capture.valid_key(key):
        raise Http404("No such capture.")
    statements = capture.load(key)
    if statements is None:
        raise Http404("No such capture.")
    writes = any(not sql.lstrip().upper().startswith(READ_PREFIXES) for sql, _, _ in statements)
    if writes:
        # Rolled back: a replayed write must not land twice (a second timeline
        # entry, an older version written back over the page's own write). The
        # floor of a write therefore leaves out the commit's WAL flush.
        with transaction.atomic():
            rows = _replay(statements)
            transaction.set_rollback(True)
    else:
        rows = _replay(statements)
    return HttpResponse(f"{len(statements)} statements, {rows} rows\n", content_type="text/plain")


def _replay(statements: list) -> int:
    rows = 0
    with connection.cursor() as cursor:
        for sql, params, many in statements:
            if many:
                cursor.executemany(sql, params)
                continue
            cursor.execute(sql, params)
            if cursor.description is not None:
                rows += len(cursor.fetchall())
    return rows

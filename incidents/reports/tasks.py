"""The background task that makes a report (django.tasks; docs/reports.md).

Queued by ``Report.request`` and ``Report.retry`` once their transaction
commits, and run by django-tasks-db's worker (``manage.py db_worker``) in its
own process, or at once by the immediate backend. The worker writes as the
person who asked for the report (the audit trail's actor), its source naming
the task.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from django.tasks import task

from incidents.audit.context import audit_context
from incidents.reports import render
from incidents.reports.models import Report

logger = logging.getLogger(__name__)
_niced = False


def _yield_to_the_site() -> None:
    """In the worker's own process (``manage.py db_worker``), lower its CPU
    priority once (``REPORT_WORKER_NICE``, default 10): a report takes seconds
    of CPU and the site's requests come first (docs/performance.md). Never in a
    web process (the immediate backend makes reports in the request)."""
    global _niced
    if _niced or "db_worker" not in sys.argv[1:2]:
        return
    _niced = True
    try:
        os.nice(int(os.environ.get("REPORT_WORKER_NICE", "10")))
    except (OSError, ValueError):
        logger.warning("Could not lower the report worker's priority.")


@task()
def generate_report(report_id: int) -> dict[str, Any]:
    """Make report REPORT_ID: its PDF stored with its hash, or the reason it failed."""
    _yield_to_the_site()
    report = Report.objects.select_related("incident", "requested_by").get(pk=report_id)
    source = f"task generate_report: {report.incident.reference} report {report.number}"
    with audit_context(actor=report.requested_by, source=source):
        if not report.start():
            return {"report": report.pk, "skipped": report.status}
        requester = report.requested_by
        try:
            made = render.build_report(
                report.incident,
                audience=report.audience,
                requested_by=requester.get_full_name() or requester.get_username(),
                number=report.number,
            )
        except Exception as exc:
            logger.exception("Report %s of %s failed", report.number, report.incident.reference)
            report.fail(render.describe_failure(exc))
            raise
        report.finish(
            made.pdf,
            pages=made.pages,
            withheld=made.withheld,
            case_version=made.case_version,
            case_as_of=made.case_as_of,
        )
    return {"report": report.pk, "sha256": report.sha256, "pages": report.pages}

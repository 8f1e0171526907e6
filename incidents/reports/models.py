"""Case reports: each PDF made of a case, on record (docs/reports.md).

A report is asked for (``Report.request``), made in the background by the
``generate_report`` task (``start``, then ``finish`` or ``fail``), and read
(``open``). Each of these is one transaction; making and each download also
write the case's activity log, and the audit trail records every change of
the row (the reports app is audited like the case's own apps). A report is
never changed after it is made: making it again gives the next number, and
the old ones stay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, models, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from incidents.cases.models import Incident, StatusUpdate, choices_constraint
from incidents.reports.tlp import RANK, TLP

# A run that has not finished this long after it started is taken to have died
# with its worker (killed, out of memory): it can be tried again.
STUCK_AFTER = dt.timedelta(minutes=15)
# A report queued this long without a worker taking it: the page says so.
WAIT_NOTE = dt.timedelta(minutes=1)
# What a failure may keep of its message.
ERROR_LIMIT = 2000


def report_upload_to(instance: Any, filename: str) -> str:
    """A generated name, as evidence files have: the record holds the meaning."""
    return f"reports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.pdf"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being made"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class TamperedReport(Exception):
    """The stored bytes of a report no longer match the hash on its record."""


class Report(models.Model):
    Status = ReportStatus

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reports")
    number = models.PositiveIntegerField(editable=False, help_text="1, 2, 3… within its case.")
    audience = models.CharField(
        max_length=12,
        choices=TLP,
        help_text="The TLP level it is made for: content marked above it is left out.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now, editable=False)
    # The case as the report shows it: its version and last activity when it was read.
    case_version = models.PositiveIntegerField(editable=False)
    case_as_of = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED, editable=False)
    error = models.TextField(blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    file = models.FileField(upload_to=report_upload_to, blank=True, max_length=255, editable=False)
    sha256 = models.CharField(max_length=64, blank=True, editable=False)
    size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    pages = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # How many items of each kind were left out for the audience ({"sources": 2, …}).
    withheld = models.JSONField(default=dict, blank=True, editable=False)
    downloads = models.PositiveIntegerField(default=0, editable=False)
    last_downloaded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["incident_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "number"], name="report_number_once"),
            choices_constraint("status", ReportStatus, "report"),
            choices_constraint("audience", TLP, "report"),
            models.CheckConstraint(
                condition=~Q(status="done") | (Q(sha256__regex=r"^[0-9a-f]{64}$") & ~Q(file="")),
                name="report_done_has_file",
            ),
        ]
        indexes = [models.Index(fields=["incident", "-number"], name="report_case_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id} report {self.number} ({self.get_audience_display()})"

    def get_absolute_url(self) -> str:
        reference = self.__dict__.get("reference") or self.incident.reference
        return reverse("reports:download", args=[reference, self.number])

    # -- presentation ----------------------------------------------------------

    @property
    def level(self) -> TLP:
        return TLP(self.audience)

    @property
    def filename(self) -> str:
        reference = self.__dict__.get("reference") or self.incident.reference
        level = self.audience.upper().replace("+", "-")
        return f"{reference}-report-{self.number}-TLP-{level}.pdf"

    @property
    def is_pending(self) -> bool:
        return self.status in {ReportStatus.QUEUED, ReportStatus.RUNNING}

    @property
    def is_stuck(self) -> bool:
        """Running for longer than any report takes: its worker died."""
        return (
            self.status == ReportStatus.RUNNING
            and self.started_at is not None
            and timezone.now() - self.started_at > STUCK_AFTER
        )

    @property
    def is_waiting_long(self) -> bool:
        """Queued for over a minute: no worker is taking reports."""
        return self.status == ReportStatus.QUEUED and timezone.now() - self.requested_at > WAIT_NOTE

    @property
    def can_retry(self) -> bool:
        return self.status == ReportStatus.FAILED or self.is_stuck

    @property
    def withheld_total(self) -> int:
        return sum(self.withheld.values()) if self.withheld else 0

    # -- requesting ------------------------------------------------------------

    @classmethod
    def request(cls, incident: Incident, *, by: Any, audience: str, enqueue: bool = True) -> Report:
        """Ask for a new report of INCIDENT for AUDIENCE; it is made in the background.

        The audience must be at least the case's own level: the case's
        summary, hypotheses and matrix carry its level, and a report without
        them would say nothing.
        """
        if audience not in RANK:
            raise ValidationError({"audience": f"“{audience}” is not a TLP level."})
        check_audience(incident, audience)
        for attempt in range(5):
            try:
                with transaction.atomic():
                    number = (
                        cls.objects.filter(incident=incident).aggregate(n=Max("number"))["n"] or 0
                    ) + 1
                    report = cls.objects.create(
                        incident=incident,
                        number=number,
                        audience=audience,
                        requested_by=by,
                        case_version=incident.version,
                    )
                    if enqueue:
                        transaction.on_commit(report.enqueue)
                    return report
            except IntegrityError:
                # Two requests took the same number at the same instant: try again.
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def enqueue(self) -> None:
        """Hand the report to the task queue (``incidents.reports.tasks``)."""
        from incidents.reports.tasks import generate_report

        result = generate_report.enqueue(self.pk)
        # An immediate backend has made it already; otherwise note the task's id.
        Report.objects.filter(pk=self.pk, task_id="").update(task_id=str(result.id)[:64])

    def retry(self, *, by: Any) -> None:
        """Queue a failed (or stuck) run again: the same report, another attempt."""
        with transaction.atomic():
            locked = Report.objects.select_for_update().get(pk=self.pk)
            if not locked.can_retry:
                raise ValidationError("Only a report that failed can be tried again.")
            locked.status = ReportStatus.QUEUED
            locked.error = ""
            locked.task_id = ""
            locked.started_at = locked.finished_at = None
            locked.save(update_fields=["status", "error", "task_id", "started_at", "finished_at"])
            self.status, self.error = locked.status, locked.error
            transaction.on_commit(self.enqueue)

    # -- making (the worker) ---------------------------------------------------

    def start(self) -> bool:
        """Mark the run as started; False when it is not queued (made already, or
        taken by another worker)."""
        with transaction.atomic():
            updated = Report.objects.filter(pk=self.pk, status=ReportStatus.QUEUED).update(
                status=ReportStatus.RUNNING,
                started_at=timezone.now(),
                attempts=models.F("attempts") + 1,
            )
        if updated:
            self.refresh_from_db()
        return bool(updated)

    def finish(
        self,
        pdf: bytes,
        *,
        pages: int,
        withheld: dict[str, int],
        case_version: int,
        case_as_of: dt.datetime | None,
    ) -> None:
        """Store the PDF and its hash, mark the report done, say so on the case's
        activity log: one transaction (the file is removed again if it fails)."""
        digest = hashlib.sha256(pdf).hexdigest()
        name = self.file.storage.save(report_upload_to(self, ""), ContentFile(pdf))
        try:
            with transaction.atomic():
                updated = Report.objects.filter(pk=self.pk, status=ReportStatus.RUNNING).update(
                    status=ReportStatus.DONE,
                    file=name,
                    sha256=digest,
                    size=len(pdf),
                    pages=pages,
                    withheld=withheld,
                    case_version=case_version,
                    case_as_of=case_as_of,
                    finished_at=timezone.now(),
                    error="",
                )
                if not updated:
                    raise ValidationError("The report is no longer being made.")
                self.refresh_from_db()
                left_out = self.withheld_total
                StatusUpdate.objects.post(
                    self.incident,
                    kind=StatusUpdate.Kind.REPORT,
                    by=self.requested_by,
                    body=(
                        f"Report {self.number} made for {self.get_audience_display()}: "
                        f"{pages} page{'s' if pages != 1 else ''}, "
                        f"{left_out} item{'s' if left_out != 1 else ''} withheld; "
                        f"SHA-256 {digest}."
                    ),
                )
        except BaseException:
            self.file.storage.delete(name)
            raise

    def fail(self, error: str) -> None:
        """Record why the run failed; the report can then be tried again."""
        Report.objects.filter(pk=self.pk).update(
            status=ReportStatus.FAILED,
            error=(error or "The report could not be made.")[:ERROR_LIMIT],
            finished_at=timezone.now(),
        )
        self.refresh_from_db()

    # -- reading ---------------------------------------------------------------

    def read_verified(self) -> bytes:
        """The stored PDF, checked against the hash on record (``TamperedReport``)."""
        name = self.file.name
        if self.status != ReportStatus.DONE or not name:
            raise ValidationError("This report is not ready.")
        with self.file.storage.open(name, "rb") as stored:
            data = stored.read()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise TamperedReport(
                f"The stored file of report {self.number} does not match its SHA-256 on record."
            )
        return data

    def open(self, *, by: Any) -> bytes:
        """The verified PDF, its download counted and on the activity log (one transaction)."""
        data = self.read_verified()
        with transaction.atomic():
            Report.objects.filter(pk=self.pk).update(
                downloads=models.F("downloads") + 1, last_downloaded_at=timezone.now()
            )
            StatusUpdate.objects.post(
                self.incident,
                kind=StatusUpdate.Kind.REPORT,
                by=by,
                body=(
                    f"Report {self.number} ({self.get_audience_display()}) downloaded "
                    f"by {by.get_username()}."
                ),
            )
        return data


def check_audience(incident: Incident, audience: str) -> None:
    """Refuse a report for an audience wider than the case's own level."""
    if RANK[audience] < RANK[incident.tlp]:
        case_level = TLP(incident.tlp).label
        raise ValidationError(
            {
                "audience": (
                    f"This case is marked {case_level}: a report can be made for "
                    f"{case_level} or a narrower audience. The lead can change the "
                    "case's marking."
                )
            }
        )

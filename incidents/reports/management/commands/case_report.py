"""``manage.py case_report <reference> --tlp <level> --out FILE.pdf``: a case report, now.

For scripts: the report is made in this process (no worker), written to
FILE and its SHA-256 printed. With ``--record USERNAME`` it is also kept as a
report of the case (listed on its reports page, on the audit trail and the
activity log as asked by USERNAME), exactly as one asked for on the site.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.audit.context import audit_context
from incidents.cases.models import Incident
from incidents.reports import render
from incidents.reports.models import Report
from incidents.reports.tlp import TLP


def level(text: str) -> str:
    try:
        return TLP.parse(text).value
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = "Make a case's PDF report for one TLP level and write it to a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="The case, e.g. INC-2024-0001.")
        parser.add_argument(
            "--tlp",
            required=True,
            help="The audience: clear, green, amber, amber+strict or red. "
            "Content marked above it is left out.",
        )
        parser.add_argument("--out", required=True, type=Path, help="Where to write the PDF.")
        parser.add_argument(
            "--record",
            metavar="USERNAME",
            default="",
            help="Also keep it as a report of the case, asked for by USERNAME.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("weasyprint").setLevel(logging.WARNING)
        audience = level(options["tlp"])
        out: Path = options["out"]
        incident = Incident.objects.filter(reference=options["reference"]).first()
        if incident is None:
            raise CommandError(f"No case {options['reference']!r}.")
        if out.parent and not out.parent.exists():
            raise CommandError(f"The folder {out.parent} does not exist.")
        try:
            if options["record"]:
                pdf, pages, withheld = self._recorded(incident, audience, options["record"])
            else:
                made = render.build_report(
                    incident, audience=audience, requested_by="manage.py case_report"
                )
                pdf, pages, withheld = made.pdf, made.pages, made.withheld
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        out.write_bytes(pdf)
        left_out = sum(withheld.values())
        self.stdout.write(
            f"{out}: {incident.reference} for {TLP(audience).label}, {pages} pages, "
            f"{len(pdf):,} bytes, {left_out} item{'s' if left_out != 1 else ''} withheld; "
            f"SHA-256 {hashlib.sha256(pdf).hexdigest()}"
        )

    def _recorded(
        self, incident: Incident, audience: str, username: str
    ) -> tuple[bytes, int, dict[str, int]]:
        from incidents.reports.tasks import generate_report

        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        with audit_context(actor=user, source="manage.py case_report"):
            report = Report.request(incident, by=user, audience=audience, enqueue=False)
        generate_report.call(report.pk)
        report.refresh_from_db()
        self.stdout.write(f"Kept as report {report.number} of {incident.reference}.")
        return report.read_verified(), report.pages or 0, report.withheld

"""``manage.py bench_report``: how long a case report takes, and how much memory.

Each report is made in a fresh child process (``--one``), as a worker would
make it, and measured there: wall and CPU time (reading the case, drawing the
HTML, laying out the PDF), pages, bytes, and the process's peak RSS. A warm
run follows the cold one in the same child (a worker makes many reports, and
its fonts and stylesheets are loaded by then). Without references, the
normal and the heavy case of the generated data set are measured
(``generate_data``, docs/performance.md). Nothing is stored: no report
record, no activity-log entry.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.cases.models import Incident
from incidents.reports import render
from incidents.reports.tlp import TLP


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(reference: str, audience: str) -> dict[str, Any]:
    """Make the report of REFERENCE twice in this process; the figures of each."""
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    incident = Incident.objects.get(reference=reference)
    before = _peak_mib()
    runs = []
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        made = render.build_report(incident, audience=audience, requested_by="bench_report")
        runs.append(
            {
                "wall_s": round(time.perf_counter() - wall, 2),
                "cpu_s": round(time.process_time() - cpu, 2),
                "pages": made.pages,
                "bytes": len(made.pdf),
                "peak_rss_mib": round(_peak_mib(), 1),
            }
        )
    return {
        "reference": reference,
        "audience": audience,
        "sources": incident.evidence.count(),
        "hypotheses": incident.hypotheses.count(),
        "timeline": incident.updates.count(),
        "baseline_rss_mib": round(before, 1),
        "cold": runs[0],
        "warm": runs[1],
    }


class Command(BaseCommand):
    help = "Measure how long case reports take and how much memory they need."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("references", nargs="*", help="Cases (default: the data set's two).")
        parser.add_argument("--tlp", default="red", help="The audience (default red: everything).")
        parser.add_argument("--one", action="store_true", help=argparse_hidden())
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        audience = TLP.parse(options["tlp"]).value
        references = options["references"] or self._dataset()
        if options["one"]:
            self.stdout.write(json.dumps(measure(references[0], audience)))
            return
        results = [self._child(reference, audience) for reference in references]
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=2))
            return
        self.stdout.write(
            f"Case reports for {TLP(audience).label}; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs."
        )
        self.stdout.write(
            "| case | sources × hypotheses, timeline | pages | cold wall / CPU | "
            "warm wall / CPU | PDF | peak RSS |"
        )
        self.stdout.write("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in results:
            cold, warm = r["cold"], r["warm"]
            self.stdout.write(
                f"| {r['reference']} | {r['sources']:,} × {r['hypotheses']}, {r['timeline']:,} | "
                f"{warm['pages']} | {cold['wall_s']} s / {cold['cpu_s']} s | "
                f"{warm['wall_s']} s / {warm['cpu_s']} s | {warm['bytes'] / 1e6:.2f} MB | "
                f"{warm['peak_rss_mib']:.0f} MiB |"
            )

    def _dataset(self) -> list[str]:
        if "incidents.perf" not in settings.INSTALLED_APPS:
            raise CommandError("Name the cases, or run with INQUEST_BENCH=true and generated data.")
        from incidents.perf.models import Dataset

        dataset = Dataset.objects.order_by("-created_at").first()
        if dataset is None:
            raise CommandError("No generated data set here: run generate_data first.")
        return [dataset.normal_reference, dataset.heavy_reference]

    def _child(self, reference: str, audience: str) -> dict[str, Any]:
        command = [sys.executable, sys.argv[0], "bench_report", reference, "--tlp", audience]
        done = subprocess.run(
            [*command, "--one"], capture_output=True, text=True, check=False, env=os.environ
        )
        if done.returncode != 0:
            raise CommandError(f"{reference}: {done.stderr.strip()[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS

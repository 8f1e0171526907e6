"""manage.py bench: measure a running Inquest server (``make bench`` runs everything)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.perf.benchmark import Bench
from incidents.perf.models import Dataset
from incidents.perf.report import markdown, write_report


class Command(BaseCommand):
    help = (
        "Measure every page of a running server (median, p95, queries, size, floor ratio, "
        "worker memory, wrk throughput) and write Markdown and JSON reports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--size", default="", help="Use the dataset of this size.")
        parser.add_argument("--requests", type=int, default=30)
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument("--deep-hops", type=int, default=40)
        parser.add_argument("--gunicorn-pid", type=int, default=0)
        parser.add_argument(
            "--budget",
            type=float,
            default=90.0,
            help="Seconds per page after which fewer requests are measured (at least 3).",
        )
        parser.add_argument(
            "--only",
            default="",
            help="Measure only the pages whose name contains this text, or one of these "
            "comma-separated texts (e.g. 'search,sources').",
        )
        parser.add_argument("--wrk-seconds", type=int, default=10)
        parser.add_argument("--wrk-connections", type=int, default=4)
        parser.add_argument("--out", default=os.environ.get("BENCH_OUT") or "bench-out")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["requests"] < 1:
            raise CommandError("--requests must be at least 1.")
        datasets = Dataset.objects.all()
        if options["size"]:
            datasets = datasets.filter(size=options["size"])
        dataset = datasets.first()
        if dataset is None:
            raise CommandError("No generated data here: run manage.py generate_data first.")
        bench = Bench(
            options["base_url"],
            requests=options["requests"],
            warmup=options["warmup"],
            log=self.stdout.write,
            gunicorn_pid=options["gunicorn_pid"] or None,
            deep_hops=options["deep_hops"],
            budget=options["budget"],
            only=options["only"],
        )
        self.stdout.write(f"Benchmarking {options['base_url']} on {dataset}.")
        report = bench.run(
            dataset, wrk_seconds=options["wrk_seconds"], wrk_connections=options["wrk_connections"]
        )
        md_path, json_path = write_report(report, Path(options["out"]))
        self.stdout.write("")
        self.stdout.write(markdown(report))
        self.stdout.write(f"Written {md_path} and {json_path}.")

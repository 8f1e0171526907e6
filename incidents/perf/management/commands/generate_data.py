"""manage.py generate_data --size XS|S|M|L: fill the database for the benchmark."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.perf.generator import SIZES, Generator
from incidents.perf.models import Dataset


class Command(BaseCommand):
    help = (
        "Generate realistic cases, sources, assessments and timelines "
        "(S 1k cases, M 10k, L 100k; XS is a few dozen rows for tests)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=list(SIZES), default="S")
        parser.add_argument("--tiny", action="store_true", help="Same as --size XS.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--scale", type=int, default=1, help="Multiply every count (tests use 2)."
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing when a dataset of this size was already generated here.",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        size = "XS" if options["tiny"] else options["size"]
        if options["scale"] < 1:
            raise CommandError("--scale must be 1 or more.")
        if options["if_missing"]:
            existing = (
                Dataset.objects.using(options["database"])
                .filter(size=size, scale=options["scale"])
                .first()
            )
            if existing is not None:
                self.stdout.write(f"Dataset already present: {existing}.")
                return
        Generator(
            size,
            seed=options["seed"],
            scale=options["scale"],
            using=options["database"],
            log=self.stdout.write,
        ).run()

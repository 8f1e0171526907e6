"""Fill the database with realistic cases, fast and deterministically.

Cases are generated in chunks; each chunk's rows for every table are built in
memory from one seeded random stream and written with PostgreSQL ``COPY``
(psycopg's ``cursor.copy()``), or with ``bulk_create`` on SQLite (tests use
the tiny XS size). Ids are allocated here, after the current maximum of each
table, so a second run appends instead of colliding; sequences are reset at
the end. Every row respects the models' CheckConstraints and unique
constraints (choices, reference format, one membership per user and case,
one assessment per pair, annotation positions in order).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from incidents.cases.models import REFERENCE_PREFIX, Incident, Membership, StatusUpdate, Tag
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, ConfidenceChange, Hypothesis
from incidents.perf import textgen
from incidents.perf.case_rows import CasePlan, CaseRows
from incidents.perf.models import Dataset
from incidents.perf.rows import (
    ANNOTATION_COLS,
    ASSESSMENT_COLS,
    CONFIDENCE_COLS,
    CUSTODY_COLS,
    EVIDENCE_COLS,
    HYPOTHESIS_COLS,
    INCIDENT_COLS,
    MEMBERSHIP_COLS,
    MODELS,
    TAG_COLS,
    TIMELINE_COLS,
    Chunk,
    Writer,
    _max_ids,
)

BENCH_PASSWORD = "bench-password-not-secret"  # only ever used on a throwaway database
MEMBER_USERNAME = "bench-member"
STAFF_USERNAME = "bench-staff"
# Keep every year's case numbers below 10,000 (see docs/performance.md: the
# reference allocator orders references as strings).
CASES_PER_YEAR = 9000


@dataclass(frozen=True)
class Special:
    evidence: int
    hypotheses: int
    timeline: int
    annotations: int


@dataclass(frozen=True)
class Size:
    cases: int
    evidence: int
    timeline: int
    normal: Special
    heavy: Special

    def scaled(self, factor: int) -> Size:
        def sp(s: Special) -> Special:
            return Special(
                s.evidence * factor,
                s.hypotheses * factor,
                s.timeline * factor,
                s.annotations * factor,
            )

        return Size(
            self.cases * factor,
            self.evidence * factor,
            self.timeline * factor,
            sp(self.normal),
            sp(self.heavy),
        )


NORMAL = Special(evidence=50, hypotheses=8, timeline=100, annotations=20)
HEAVY = Special(evidence=2000, hypotheses=12, timeline=5000, annotations=500)
SIZES: dict[str, Size] = {
    "XS": Size(20, 100, 200, Special(5, 3, 10, 2), Special(20, 4, 40, 10)),
    "S": Size(1_000, 10_000, 20_000, NORMAL, HEAVY),
    "M": Size(10_000, 100_000, 200_000, NORMAL, HEAVY),
    "L": Size(100_000, 1_000_000, 2_000_000, NORMAL, HEAVY),
}

CHUNK_CASES = 2_000


def spread(total: int, buckets: int, rng: random.Random) -> list[int]:
    """TOTAL items dropped at random into BUCKETS (about Poisson around the mean)."""
    counts = [0] * buckets
    if buckets:
        randrange = rng.randrange
        for _ in range(total):
            counts[randrange(buckets)] += 1
    return counts


class Generator(CaseRows):
    def __init__(
        self,
        size: str,
        *,
        seed: int = 1,
        scale: int = 1,
        using: str = "default",
        log: Callable[[str], None] = print,
        now: dt.datetime | None = None,
    ) -> None:
        self.size_name = size
        self.size = SIZES[size].scaled(scale)
        self.scale = scale
        self.seed = seed
        self.using = using
        self.log = log
        self.now = now or dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        self.writer = Writer(using)
        self.rng = random.Random(f"inquest:{seed}:{size}:{scale}")

    # -- entry point -------------------------------------------------------

    def run(self) -> Dataset:
        started = time.monotonic()
        size = self.size
        rng = self.rng
        self.log(
            f"Generating {self.size_name} (x{self.scale}, seed {self.seed}) on "
            f"{self.writer.connection.vendor}: {size.cases:,} cases, {size.evidence:,} evidence "
            f"items, {size.timeline:,} timeline entries."
        )
        self.ids = _max_ids(MODELS, self.using)
        self.member_cases = 0
        self.users = self._users()
        self.tag_ids = self._tags()
        plans = self._plan()
        self.log(f"  planned in {time.monotonic() - started:.1f}s")
        if self.writer.postgres:
            with self.writer.connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
                # The evidence items' BEFORE INSERT trigger fills their search vector
                # during COPY (evidence/0006); a larger GIN pending list merges those
                # vectors into the index in fewer, bigger steps (VACUUM flushes it).
                cursor.execute("SET gin_pending_list_limit = '64MB'")
        done_cases = 0
        for start in range(0, len(plans), CHUNK_CASES):
            batch = plans[start : start + CHUNK_CASES]
            chunk = Chunk()
            for plan in batch:
                self._case(plan, chunk, rng)
            with transaction.atomic(using=self.using):
                self._flush(chunk)
            done_cases += len(batch)
            elapsed = time.monotonic() - started
            rate = done_cases / elapsed if elapsed else 0
            self.log(
                f"  {done_cases:>9,}/{len(plans):,} cases  "
                f"{self.writer.rows.get(EvidenceItem._meta.label, 0):>11,} evidence  "
                f"{self.writer.rows.get(Assessment._meta.label, 0):>11,} assessments  "
                f"{elapsed:7.1f}s  ({rate:,.0f} cases/s)"
            )
        with transaction.atomic(using=self.using):
            self.writer.reset_sequences(MODELS)
            dataset = Dataset.objects.using(self.using).create(
                size=self.size_name,
                scale=self.scale,
                seed=self.seed,
                cases=len(plans),
                evidence=self.writer.rows.get(EvidenceItem._meta.label, 0),
                timeline=self.writer.rows.get(StatusUpdate._meta.label, 0),
                normal_reference=self.normal_reference,
                heavy_reference=self.heavy_reference,
                member_username=MEMBER_USERNAME,
                staff_username=STAFF_USERNAME,
                terms={
                    "rare": textgen.RARE_TERM,
                    "common": textgen.COMMON_TERM,
                    "two": f"{textgen.COMMON_TERM} {textgen.SECOND_TERM}",
                    "none": textgen.NO_MATCH_TERM,
                },
                seconds=0,
            )
        if self.writer.postgres:
            # VACUUM sets the visibility map (index-only scans) and ANALYZE the
            # statistics, as autovacuum would after a while; in a transaction
            # (tests) only ANALYZE is possible.
            verb = "ANALYZE" if self.writer.connection.in_atomic_block else "VACUUM ANALYZE"
            self.log(f"  {verb} ...")
            t = time.monotonic()
            with self.writer.connection.cursor() as cursor:
                for model in MODELS:
                    cursor.execute(f"{verb} {model._meta.db_table}")
            self.log(f"  {verb} done in {time.monotonic() - t:.1f}s")
        dataset.seconds = round(time.monotonic() - started, 1)
        dataset.save(update_fields=["seconds"])
        for label, n in sorted(self.writer.rows.items()):
            self.log(f"  {label:<32} {n:>12,} rows")
        self.log(
            f"Done in {dataset.seconds:.1f}s. Normal case {dataset.normal_reference}, heavy case "
            f"{dataset.heavy_reference}; {MEMBER_USERNAME} belongs to "
            f"{self.member_cases:,} cases ({self.member_cases / max(1, len(plans)):.0%})."
        )
        return dataset

    # -- users, tags, plan ---------------------------------------------------

    def _users(self) -> list[int]:
        User = get_user_model()
        manager = User._default_manager.db_manager(self.using)
        run = Dataset.objects.using(self.using).count() + 1
        n = max(8, self.size.cases // 50)
        unusable = make_password(None)
        prefix = f"gen{run}s{self.seed}x{self.scale}-"
        existing = set(
            manager.filter(username__startswith=prefix).values_list("username", flat=True)
        )
        manager.bulk_create(
            [
                User(
                    username=f"{prefix}{i:05d}",
                    password=unusable,
                    email=f"{prefix}{i:05d}@example.org",
                    first_name=self.rng.choice(["Aigerim", "Dmitri", "Sara", "Nurlan", "Olga"]),
                    last_name=self.rng.choice(["Sadykova", "Ivanov", "Miller", "Akhmetov"]),
                )
                for i in range(n)
                if f"{prefix}{i:05d}" not in existing
            ],
            batch_size=1000,
        )
        ids = list(
            manager.filter(username__startswith=prefix).order_by("id").values_list("id", flat=True)
        )
        member, _ = manager.get_or_create(
            username=MEMBER_USERNAME, defaults={"email": "member@example.org"}
        )
        staff, _ = manager.get_or_create(
            username=STAFF_USERNAME, defaults={"email": "staff@example.org", "is_staff": True}
        )
        for user in (member, staff):
            # Only when needed: a new hash would sign out existing sessions.
            if not user.check_password(BENCH_PASSWORD):
                user.set_password(BENCH_PASSWORD)
                user.save(update_fields=["password"])
        self.member_id = member.pk
        self.staff_id = staff.pk
        return ids

    def _tags(self) -> list[int]:
        Tag.objects.using(self.using).bulk_create(
            [Tag(name=name) for name in textgen.TAGS], ignore_conflicts=True
        )
        return list(
            Tag.objects.using(self.using)
            .filter(name__in=textgen.TAGS)
            .order_by("id")
            .values_list("id", flat=True)
        )

    def _plan(self) -> list[CasePlan]:
        size, rng = self.size, self.rng
        regular = max(0, size.cases - 2)
        years = max(1, math.ceil(size.cases / CASES_PER_YEAR))
        span = dt.timedelta(days=365 * years)
        start = self.now - span
        plans = []
        for i in range(regular):
            created = start + dt.timedelta(seconds=rng.random() * span.total_seconds())
            active = created + dt.timedelta(
                seconds=rng.random() * (self.now - created).total_seconds() * 0.5
            )
            plans.append(CasePlan(i, created, active, hypotheses=rng.choice((3, 3, 4))))
        spare_ev = max(0, size.evidence - size.normal.evidence - size.heavy.evidence)
        spare_tl = max(0, size.timeline - size.normal.timeline - size.heavy.timeline)
        for plan, n in zip(plans, spread(spare_ev, regular, rng), strict=True):
            plan.evidence = n
        for plan, n in zip(plans, spread(max(0, spare_tl - regular), regular, rng), strict=True):
            plan.timeline = 1 + n
        for kind, sp in (("normal", size.normal), ("heavy", size.heavy)):
            created = self.now - dt.timedelta(days=rng.randint(20, 60))
            plans.append(
                CasePlan(
                    len(plans),
                    created,
                    self.now - dt.timedelta(minutes=rng.randint(5, 600)),
                    evidence=sp.evidence,
                    hypotheses=sp.hypotheses,
                    timeline=sp.timeline,
                    annotations=sp.annotations,
                    special=kind,
                )
            )
        # References are numbered per year in the order cases were opened.
        by_year: dict[int, list[CasePlan]] = {}
        for plan in sorted(plans, key=lambda p: p.created_at):
            by_year.setdefault(plan.created_at.year, []).append(plan)
        for year, group in by_year.items():
            number = self._last_number(year)
            for plan in group:
                number += 1
                plan.reference = f"{REFERENCE_PREFIX}-{year:04d}-{number:04d}"
        self.normal_reference = next(p.reference for p in plans if p.special == "normal")
        self.heavy_reference = next(p.reference for p in plans if p.special == "heavy")
        return plans

    def _last_number(self, year: int) -> int:
        prefix = f"{REFERENCE_PREFIX}-{year:04d}-"
        refs = Incident.objects.using(self.using).filter(reference__startswith=prefix)
        return max(
            (int(r.rsplit("-", 1)[1]) for r in refs.values_list("reference", flat=True)), default=0
        )

    # -- writing (one case's rows: incidents.perf.case_rows) ------------------

    def _flush(self, chunk: Chunk) -> None:
        w = self.writer
        disabled = self._disable_after_triggers() if w.postgres else []
        # Hypotheses before their cases (foreign keys are checked at commit): the
        # cases' BEFORE INSERT trigger then indexes their statements for search.
        w.write(Hypothesis, HYPOTHESIS_COLS, chunk.hypotheses)
        w.write(Incident, INCIDENT_COLS, chunk.incidents)
        w.write(Incident.tags.through, TAG_COLS, chunk.tags)
        w.write(Membership, MEMBERSHIP_COLS, chunk.memberships)
        w.write(ConfidenceChange, CONFIDENCE_COLS, chunk.confidence)
        w.write(EvidenceItem, EVIDENCE_COLS, chunk.evidence)
        w.write(CustodyEntry, CUSTODY_COLS, chunk.custody)
        w.write(Assessment, ASSESSMENT_COLS, chunk.assessments)
        w.write(StatusUpdate, TIMELINE_COLS, chunk.timeline)
        w.write(Annotation, ANNOTATION_COLS, chunk.annotations)
        self._enable(disabled)

    def _disable_after_triggers(self) -> list[tuple[str, str]]:
        """Switch off AFTER triggers on the generated tables, inside this chunk's transaction.

        Those are the audit trail (one hash-chained record per row: generated rows
        are synthetic, not anything anyone did) and statement-level search
        refreshes, which the order of the writes makes unnecessary. BEFORE ROW
        triggers stay on: they compute columns, such as the cases' search vector.
        Foreign keys are internal triggers and always stay on. The switch is
        part of the transaction: if the chunk fails, the triggers were never off.
        """
        connection = self.writer.connection
        tables = [m._meta.db_table for m in MODELS]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND (t.tgtype & 2) = 0"
                " AND c.relname = ANY(%s)",
                [tables],
            )
            found = cursor.fetchall()
            self._alter(found, "DISABLE")
        return found

    def _alter(self, triggers: list[tuple[str, str]], verb: str) -> None:
        # ALTER TABLE refuses while deferred foreign-key checks are pending: run
        # them first, then defer again (Django's foreign keys are all deferrable).
        if not triggers:
            return
        q = self.writer.connection.ops.quote_name
        with self.writer.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table, name in triggers:
                cursor.execute(f"ALTER TABLE {q(table)} {verb} TRIGGER {q(name)}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def _enable(self, triggers: list[tuple[str, str]]) -> None:
        self._alter(triggers, "ENABLE")

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
import html
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connections, models, transaction
from django.db.models import Max

from incidents.cases.models import REFERENCE_PREFIX, Incident, Membership, StatusUpdate, Tag
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, ConfidenceBand, ConfidenceChange, Hypothesis
from incidents.perf import textgen
from incidents.perf.models import Dataset

BENCH_PASSWORD = "bench-password-not-secret"  # only ever used on a throwaway database
MEMBER_USERNAME = "bench-member"
STAFF_USERNAME = "bench-staff"
MEMBER_SHARE = 0.10
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

KINDS_BY_CASE_STATUS = {
    "open": ["proposed"],
    "investigating": ["proposed", "under_evaluation", "supported", "weakened", "refuted"],
    "closed_inconclusive": ["weakened", "supported", "refuted", "withdrawn"],
}
RATINGS = ["CC", "C", "N", "NA", "I", "II"]
RATING_WEIGHTS = [8, 22, 35, 10, 18, 7]
RELEVANCES = ["low", "medium", "high"]
RELEVANCE_WEIGHTS = [2, 6, 2]
WRITTEN_KINDS = ["note", "finding", "official_statement"]
AUTO_KINDS = ["hypothesis_moved", "confidence_changed", "evidence_added", "members_changed"]
URL_HOSTS = ["tengrinews.kz", "kazinform.kz", "inform.kz", "example.org", "t.me", "youtube.com"]


# -- writing -----------------------------------------------------------------


class Writer:
    """COPY on PostgreSQL, bulk_create elsewhere; fills fields the caller left out."""

    def __init__(self, using: str = "default") -> None:
        self.using = using
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        self.rows: dict[str, int] = {}

    def _extras(self, model: type[models.Model], columns: Sequence[str]) -> list[tuple[str, Any]]:
        """Defaults for concrete fields added to MODEL after this generator was written."""
        extras = []
        for f in model._meta.concrete_fields:
            if f.attname in columns or f.primary_key or f.null:
                continue
            if getattr(f, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED:
                continue
            extras.append((f.attname, f.get_default()))
        return extras

    def write(
        self, model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        extras = self._extras(model, columns)
        names = list(columns) + [name for name, _ in extras]
        tail = tuple(value for _, value in extras)
        self.rows[model._meta.label] = self.rows.get(model._meta.label, 0) + len(rows)
        if self.postgres:
            tail = tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in tail)
            cols = ", ".join(
                self.connection.ops.quote_name(model._meta.get_field(n).column) for n in names
            )
            table = self.connection.ops.quote_name(model._meta.db_table)
            json_at = [
                i
                for i, n in enumerate(columns)
                if isinstance(model._meta.get_field(n), models.JSONField)
            ]
            sql = f"COPY {table} ({cols}) FROM STDIN"
            with self.connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    if json_at:
                        row = list(row)
                        for i in json_at:
                            row[i] = json.dumps(row[i])
                    copy.write_row(tuple(row) + tail)
        else:
            objs = [model(**dict(zip(names, tuple(row) + tail, strict=True))) for row in rows]
            model.objects.using(self.using).bulk_create(objs, batch_size=500)

    def reset_sequences(self, model_list: Iterable[type[models.Model]]) -> None:
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(model_list))
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


CUSTODY_REASON = "Collected during the investigation."


def custody_row(entry_id: int, item_id: int, actor_id: int, at: dt.datetime) -> tuple:
    """The first link of an item's custody chain, hashed by the model's own rule."""
    entry = SimpleNamespace(
        item_id=item_id,
        action="collected",
        actor_id=actor_id,
        at=at,
        reason=CUSTODY_REASON,
        place="",
        recipient="",
        sha256="",
        previous_hash="",
    )
    entry.hashed_fields = partial(CustodyEntry.hashed_fields, entry)
    digest = CustodyEntry.compute_hash(entry)  # type: ignore[arg-type]
    return (entry_id, item_id, "collected", actor_id, at, CUSTODY_REASON, "", "", "", "", digest)


# -- the plan ------------------------------------------------------------------


@dataclass
class Ids:
    """Next free id per table."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, model: type[models.Model], n: int = 1) -> int:
        label = model._meta.label
        first = self.next[label]
        self.next[label] = first + n
        return first


def _max_ids(model_list: Iterable[type[models.Model]], using: str) -> Ids:
    ids = Ids()
    for model in model_list:
        top = model.objects.using(using).aggregate(m=Max("pk"))["m"] or 0
        ids.next[model._meta.label] = top + 1
    return ids


def spread(total: int, buckets: int, rng: random.Random) -> list[int]:
    """TOTAL items dropped at random into BUCKETS (about Poisson around the mean)."""
    counts = [0] * buckets
    if buckets:
        randrange = rng.randrange
        for _ in range(total):
            counts[randrange(buckets)] += 1
    return counts


@dataclass
class CasePlan:
    index: int
    created_at: dt.datetime
    last_activity_at: dt.datetime
    reference: str = ""
    evidence: int = 0
    hypotheses: int = 3
    timeline: int = 1
    annotations: int = 0
    special: str = ""  # "", "normal" or "heavy"


@dataclass
class Chunk:
    incidents: list[tuple] = field(default_factory=list)
    tags: list[tuple] = field(default_factory=list)
    memberships: list[tuple] = field(default_factory=list)
    hypotheses: list[tuple] = field(default_factory=list)
    confidence: list[tuple] = field(default_factory=list)
    evidence: list[tuple] = field(default_factory=list)
    custody: list[tuple] = field(default_factory=list)
    assessments: list[tuple] = field(default_factory=list)
    timeline: list[tuple] = field(default_factory=list)
    annotations: list[tuple] = field(default_factory=list)


INCIDENT_COLS = [
    "id",
    "reference",
    "title",
    "summary",
    "occurred_at",
    "occurred_uncertainty",
    "place_name",
    "latitude",
    "longitude",
    "time_zone",
    "severity",
    "status",
    "lead_id",
    "created_by_id",
    "created_at",
    "updated_at",
    "last_activity_at",
    "version",
]
TAG_COLS = ["id", "incident_id", "tag_id"]
MEMBERSHIP_COLS = ["id", "incident_id", "user_id", "role", "created_at"]
HYPOTHESIS_COLS = [
    "id",
    "incident_id",
    "kind",
    "statement",
    "description",
    "status",
    "confidence",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
]
CONFIDENCE_COLS = ["id", "hypothesis_id", "previous", "band", "reason", "author_id", "created_at"]
EVIDENCE_COLS = [
    "id",
    "incident_id",
    "kind",
    "title",
    "description",
    "url",
    "file",
    "original_name",
    "file_sha256",
    "file_size",
    "file_type",
    "text_body",
    "language",
    "reliability",
    "credibility",
    "event_at",
    "event_uncertainty",
    "collected_at",
    "collected_by_id",
    "obtained_from",
    "is_illustrative",
    "extracted_metadata",
    "verification",
    "last_verified_at",
    "created_at",
    "updated_at",
    "version",
    "custody_head",
]
CUSTODY_COLS = [
    "id",
    "item_id",
    "action",
    "actor_id",
    "at",
    "reason",
    "place",
    "recipient",
    "sha256",
    "previous_hash",
    "entry_hash",
]
ASSESSMENT_COLS = [
    "id",
    "evidence_id",
    "hypothesis_id",
    "rating",
    "relevance",
    "reason",
    "author_id",
    "created_at",
    "updated_at",
    "version",
]
TIMELINE_COLS = [
    "id",
    "incident_id",
    "kind",
    "body",
    "body_html",
    "author_id",
    "hypothesis_id",
    "evidence_id",
    "created_at",
]
ANNOTATION_COLS = [
    "id",
    "item_id",
    "author_id",
    "body",
    "stance",
    "hypothesis_id",
    "quote_exact",
    "quote_prefix",
    "quote_suffix",
    "position_start",
    "position_end",
    "region",
    "created_at",
    "updated_at",
    "deleted_at",
    "version",
]

MODELS: list[type[models.Model]] = [
    Incident,
    Incident.tags.through,
    Membership,
    Hypothesis,
    ConfidenceChange,
    EvidenceItem,
    CustodyEntry,
    Assessment,
    StatusUpdate,
    Annotation,
]


class Generator:
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

    # -- one case ------------------------------------------------------------

    def _case(self, plan: CasePlan, out: Chunk, rng: random.Random) -> None:
        ids, users = self.ids, self.users
        lang = textgen.language(rng)
        created, active = plan.created_at, plan.last_activity_at
        if plan.special:
            status = "investigating"
        else:
            status = rng.choices(
                ["open", "investigating", "resolved", "closed_inconclusive"], [15, 50, 25, 10]
            )[0]
        # Members: the lead, one to three others, the 10 % user on one case in ten.
        lead = rng.choice(users)
        others = rng.sample(users, k=min(len(users), rng.randint(1, 3)))
        roles: dict[int, str] = {lead: "lead"}
        for uid in others:
            roles.setdefault(uid, rng.choice(["investigator", "investigator", "observer"]))
        if plan.special or rng.random() < MEMBER_SHARE:
            if plan.special:
                lead = self.member_id
                roles = {lead: "lead", **{u: r for u, r in roles.items() if r != "lead"}}
                roles[self.staff_id] = "investigator"
            else:
                roles[self.member_id] = rng.choice(["lead", "investigator", "observer"])
                if roles[self.member_id] == "lead":
                    lead = self.member_id
                    roles = {
                        u: ("investigator" if r == "lead" and u != lead else r)
                        for u, r in roles.items()
                    }
        if self.member_id in roles:
            self.member_cases += 1
        writers = [u for u, r in roles.items() if r != "observer"]

        case_id = ids.take(Incident)
        occurred = created - dt.timedelta(hours=rng.randint(1, 72))
        has_coords = rng.random() < 0.6
        summary = textgen.paragraph(lang, rng, 1, 3)
        if plan.special:
            title = f"Bench {plan.special} case: " + textgen.title(lang, rng)
        else:
            title = textgen.title(lang, rng)
        out.incidents.append(
            (
                case_id,
                plan.reference,
                title[:200],
                summary,
                occurred,
                dt.timedelta(minutes=rng.choice([5, 15, 60, 240])) if rng.random() < 0.7 else None,
                rng.choice(textgen.PLACES["en"]),
                Decimal(f"{rng.uniform(40.5, 55.4):.6f}") if has_coords else None,
                Decimal(f"{rng.uniform(46.5, 87.3):.6f}") if has_coords else None,
                rng.choice(["Asia/Almaty", "Asia/Aqtobe", "Asia/Qyzylorda", "UTC"]),
                rng.choices(["low", "moderate", "high", "critical"], [25, 40, 25, 10])[0],
                status,
                lead,
                lead,
                created,
                active,
                active,
                1 + rng.randint(0, 6),
            )
        )
        for tag in rng.sample(self.tag_ids, k=min(len(self.tag_ids), rng.randint(0, 3))):
            out.tags.append((ids.take(Incident.tags.through), case_id, tag))
        for uid, role in roles.items():
            out.memberships.append((ids.take(Membership), case_id, uid, role, created))

        # Hypotheses.
        hyp_first = ids.take(Hypothesis, plan.hypotheses)
        hyp_ids = list(range(hyp_first, hyp_first + plan.hypotheses))
        kinds = ["technical_fault", "cyberattack", "deliberate_act", "other"]
        if status == "resolved":
            statuses = ["confirmed"] + [rng.choice(["refuted", "withdrawn"]) for _ in hyp_ids[1:]]
            rng.shuffle(statuses)
        elif plan.special:
            # Movable both ways by the benchmark: under evaluation <-> supported.
            statuses = [
                ["under_evaluation", "supported", "weakened"][k % 3] for k in range(len(hyp_ids))
            ]
        else:
            statuses = [rng.choice(KINDS_BY_CASE_STATUS[status]) for _ in hyp_ids]
        bands = ConfidenceBand.values
        for k, hid in enumerate(hyp_ids):
            kind = kinds[k % 4]
            confidence = None if statuses[k] == "proposed" else rng.choice(bands)
            out.hypotheses.append(
                (
                    hid,
                    case_id,
                    kind,
                    textgen.hypothesis_statement(kind, rng)[:300],
                    textgen.sentence("en", rng),
                    statuses[k],
                    confidence,
                    lead,
                    created,
                    active,
                    1 + rng.randint(0, 3),
                )
            )
            if plan.special and confidence:
                previous = None
                for _ in range(rng.randint(1, 3)):
                    band = rng.choice([b for b in bands if b != previous])
                    out.confidence.append(
                        (
                            ids.take(ConfidenceChange),
                            hid,
                            previous,
                            band,
                            textgen.sentence("en", rng),
                            lead,
                            created + dt.timedelta(hours=rng.randint(1, 400)),
                        )
                    )
                    previous = band

        # Evidence, its custody entry and its row of the matrix.
        ev_first = ids.take(EvidenceItem, plan.evidence)
        ev_kinds = EvidenceItem.Kind.values
        annotate_every = max(1, plan.evidence // plan.annotations) if plan.annotations else 0
        annotations_left = plan.annotations
        for j in range(plan.evidence):
            eid = ev_first + j
            item_lang = lang if rng.random() < 0.7 else textgen.language(rng)
            body = textgen.paragraph(item_lang, rng, 2, 6)
            collected = created + dt.timedelta(minutes=rng.randint(1, 60 * 24 * 30))
            by = rng.choice(writers)
            url = (
                f"https://{rng.choice(URL_HOSTS)}/{plan.reference.lower()}/{j}"
                if rng.random() < 0.5
                else ""
            )
            custody = custody_row(ids.take(CustodyEntry), eid, by, collected)
            out.custody.append(custody)
            out.evidence.append(
                (
                    eid,
                    case_id,
                    rng.choice(ev_kinds),
                    textgen.sentence(item_lang, rng)[:300],
                    textgen.sentence(item_lang, rng),
                    url,
                    "",
                    "",
                    "",
                    None,
                    "",
                    body,
                    item_lang,
                    rng.choice("ABCDEF"),
                    rng.randint(1, 6),
                    occurred + dt.timedelta(minutes=rng.randint(-30, 30)),
                    dt.timedelta(minutes=rng.choice([1, 5, 30])) if rng.random() < 0.5 else None,
                    collected,
                    by,
                    rng.choice(textgen.ACTORS["en"]),
                    False,
                    {},
                    "unverified",
                    None,
                    collected,
                    collected,
                    1,
                    custody[-1],
                )
            )
            ratings = rng.choices(RATINGS, RATING_WEIGHTS, k=len(hyp_ids))
            relevances = rng.choices(RELEVANCES, RELEVANCE_WEIGHTS, k=len(hyp_ids))
            aid = ids.take(Assessment, len(hyp_ids))
            for k, hid in enumerate(hyp_ids):
                out.assessments.append(
                    (
                        aid + k,
                        eid,
                        hid,
                        ratings[k],
                        relevances[k],
                        "",
                        by,
                        collected,
                        collected,
                        1,
                    )
                )
            if annotations_left and j % annotate_every == 0:
                per_item = max(1, plan.annotations // max(1, plan.evidence // annotate_every))
                for _ in range(min(per_item, annotations_left)):
                    annotations_left -= 1
                    start = rng.randint(0, max(0, len(body) - 40))
                    end = min(len(body), start + rng.randint(10, 40))
                    stance = rng.choice(["", "supports", "contradicts"])
                    out.annotations.append(
                        (
                            ids.take(Annotation),
                            eid,
                            by,
                            textgen.sentence("en", rng),
                            stance,
                            rng.choice(hyp_ids) if stance else None,
                            body[start:end],
                            body[max(0, start - 32) : start],
                            body[end : end + 32],
                            start,
                            end,
                            "",
                            collected,
                            collected,
                            None,
                            1,
                        )
                    )

        # Timeline: the opening entry, then notes and automatic entries up to the last activity.
        window = max(1.0, (active - created).total_seconds())
        stamps = sorted(
            created + dt.timedelta(seconds=rng.random() * window) for _ in range(plan.timeline - 1)
        )
        if plan.timeline > 1:
            stamps[-1] = active
        tl_first = ids.take(StatusUpdate, plan.timeline)
        opened = f"Case {plan.reference} opened."
        out.timeline.append(
            (
                tl_first,
                case_id,
                "case_status",
                opened,
                f"<p>{opened}</p>",
                lead,
                None,
                None,
                created,
            )
        )
        for k, at in enumerate(stamps, start=1):
            kind = rng.choice(WRITTEN_KINDS if rng.random() < 0.6 else AUTO_KINDS)
            body = textgen.sentence(lang, rng)
            hyp = (
                rng.choice(hyp_ids) if kind in {"hypothesis_moved", "confidence_changed"} else None
            )
            ev = (
                ev_first + rng.randrange(plan.evidence)
                if kind == "evidence_added" and plan.evidence
                else None
            )
            out.timeline.append(
                (
                    tl_first + k,
                    case_id,
                    kind,
                    body,
                    f"<p>{html.escape(body, quote=False)}</p>",
                    rng.choice(writers),
                    hyp,
                    ev,
                    at,
                )
            )

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

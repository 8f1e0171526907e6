"""The rows of one generated case: its members, hypotheses, evidence, custody,
matrix, annotations and timeline, drawn from the generator's seeded stream.

``CaseRows`` is the part of ``incidents.perf.generator.Generator`` that makes
one case; the generator plans the cases and writes the rows.
"""

from __future__ import annotations

import datetime as dt
import html
import random
from dataclasses import dataclass
from decimal import Decimal

from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, ConfidenceBand, ConfidenceChange, Hypothesis
from incidents.perf import textgen
from incidents.perf.rows import Chunk, Ids, custody_row

MEMBER_SHARE = 0.10  # the share of cases the bench member (MEMBER_USERNAME) belongs to

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


class CaseRows:
    """Generator's rows for one case (a base of Generator, which sets these attributes)."""

    ids: Ids
    users: list[int]
    tag_ids: list[int]
    member_id: int
    staff_id: int
    member_cases: int

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

"""``manage.py load_demo``: the demo case INC-2024-0001 and its users.

The case retells, in our own words, the incident that shaped Inquest: an LED
screen on a main avenue of Astana that briefly showed the flag of Ukraine
during a state visit in 2024. Everything below is data; ``build`` replays it
through the models' own methods (``open_case``, ``propose``, ``move_to``,
``set_confidence``, ``attach``, ``rate``, ``verify``, ``transfer``,
``Annotation.create_for``) so the timeline, the confidence history, the
custody log and the annotations' anchors are real.

Idempotent by skipping: when INC-2024-0001 already holds the demo case, the
case is left untouched and only the demo users are checked (created if
missing, password reset to the demo password if it was changed). A case
with that reference and other content is refused, never overwritten.

Timeline entries are dated when the demo is loaded (they record when things
were entered into Inquest); the story's own times are the case's occurrence
time and each item's event and collection times. The data is in
``incidents/cases/demo.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from incidents.cases.demo import (
    ANNOTATIONS,
    CASE,
    HYPOTHESES,
    PASSWORD,
    REFERENCE,
    SOURCES,
    STORY,
    USERS,
    Source,
    local,
)
from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis


def text_selectors(text: str, exact: str, context: int = 32) -> dict[str, Any]:
    """W3C TextQuoteSelector and TextPositionSelector fields for EXACT in TEXT.

    Positions count Unicode code points, as the W3C model says, which is what
    Python's string indexes count.
    """
    if text.count(exact) != 1:
        raise CommandError(f"Demo annotation passage must occur exactly once: {exact!r}")
    start = text.index(exact)
    end = start + len(exact)
    return {
        "quote_exact": exact,
        "quote_prefix": text[max(0, start - context) : start],
        "quote_suffix": text[end : end + context],
        "position_start": start,
        "position_end": end,
    }


# -- the command --------------------------------------------------------------------


class Command(BaseCommand):
    help = f"Create the demo case {REFERENCE} and its users (password {PASSWORD!r})."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo even with DEBUG off (it creates users with a known password).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off: load_demo creates users with a published password. "
                "Run it with DEBUG=true, or pass --force if you really mean it."
            )
        with transaction.atomic():
            users = ensure_users()
            existing = Incident.objects.filter(reference=REFERENCE).first()
            if existing is None:
                incident = build(users)
                self.stdout.write(self.style.SUCCESS(f"Created the demo case {REFERENCE}."))
            else:
                check_is_demo(existing)
                incident = existing
                self.stdout.write(f"The demo case {REFERENCE} is already loaded; left as is.")
        self.stdout.write(
            f"{incident.hypotheses.count()} hypotheses, {incident.evidence.count()} sources, "
            f"{Assessment.objects.filter(hypothesis__incident=incident).count()} assessments."
        )
        self.stdout.write("Demo users (password " + PASSWORD + "): " + ", ".join(USERS) + ".")


def ensure_users() -> dict[str, Any]:
    User = get_user_model()
    users = {}
    for username, (first, last, _role, is_super) in USERS.items():
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.org",
                "is_staff": is_super,
                "is_superuser": is_super,
            },
        )
        if created or not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        users[username] = user
    return users


def check_is_demo(incident: Incident) -> None:
    """Refuse to touch a case with the demo's reference that is not the demo case."""
    statements = set(incident.hypotheses.values_list("statement", flat=True))
    titles = set(incident.evidence.values_list("title", flat=True))
    if (
        incident.title != CASE["title"]
        or statements != {h["statement"] for h in HYPOTHESES.values()}
        or titles != {s.title for s in SOURCES}
    ):
        raise CommandError(
            f"{REFERENCE} exists but is not the demo case; load the demo into an empty database."
        )


def build(users: dict[str, Any]) -> Incident:
    """Replay the demo investigation through the models' methods."""
    fields = {k: v for k, v in CASE.items() if k not in {"title", "tags"}}
    incident = Incident.open_case(
        by=users["lead"], title=CASE["title"], tags=CASE["tags"], year=2024, **fields
    )
    if incident.reference != REFERENCE:
        raise CommandError(
            f"The demo case would be {incident.reference}, not {REFERENCE}: "
            "load the demo into an empty database."
        )
    for username, (_first, _last, role, _super) in USERS.items():
        if role and role != Membership.Role.LEAD:
            Membership.objects.create(incident=incident, user=users[username], role=role)

    hypotheses: dict[str, Hypothesis] = {}
    items: dict[str, EvidenceItem] = {}
    sources = {s.key: s for s in SOURCES}
    for action, *args in STORY:
        if action == "propose":
            who, key = args
            hypotheses[key] = Hypothesis.propose(incident, by=users[who], **HYPOTHESES[key])
        elif action == "case":
            who, status, reason = args
            incident.move_to(status, by=users[who], reason=reason)
        elif action == "attach":
            (key,) = args
            items[key] = attach(incident, sources[key], users)
        elif action == "confidence":
            who, key, band, reason = args
            hypotheses[key].set_confidence(band, by=users[who], reason=reason)
        elif action == "move":
            who, key, status, rationale = args
            hypotheses[key].move_to(status, by=users[who], rationale=rationale)
        elif action == "post":
            who, kind, body = args
            StatusUpdate.objects.post(incident, kind=kind, by=users[who], body=body)
        elif action == "rate-all":
            for source in SOURCES:
                for hyp_key, rating, relevance, reason in source.ratings:
                    Assessment.rate(
                        items[source.key],
                        hypotheses[hyp_key],
                        by=users[source.collected_by],
                        rating=rating,
                        relevance=relevance,
                        reason=reason,
                    )
        elif action == "verify":
            who, key, reason = args
            if not items[key].verify(by=users[who], reason=reason):
                raise CommandError(f"The demo item {key!r} failed verification.")
        elif action == "transfer":
            who, key, recipient, reason = args
            items[key].transfer(by=users[who], recipient=recipient, reason=reason)
        else:
            raise CommandError(f"Unknown demo step {action!r}")

    for key, who, exact, body, stance, hyp_key, tags in ANNOTATIONS:
        item = items[key]
        selectors = text_selectors(item.annotation_text, exact)
        Annotation.create_for(
            item,
            by=users[who],
            body=body,
            tags=list(tags),
            stance=stance,
            hypothesis=hypotheses[hyp_key] if hyp_key else None,
            exact=selectors["quote_exact"],
            prefix=selectors["quote_prefix"],
            suffix=selectors["quote_suffix"],
            start=selectors["position_start"],
            end=selectors["position_end"],
        )
    from incidents.chronology.demo import add_demo_chronology  # clocks, events, orderings

    add_demo_chronology(incident, users)
    from incidents.reports.demo import mark_demo  # TLP markings, key judgements

    mark_demo(incident)
    return incident


def attach(incident: Incident, source: Source, users: dict[str, Any]) -> EvidenceItem:
    fields: dict[str, Any] = {
        "kind": source.kind,
        "title": source.title,
        "description": source.description,
        "reliability": source.grade[0],
        "credibility": int(source.grade[1]),
        "is_illustrative": source.illustrative,
        "collected_at": local(source.collected_at),
        "collected_by": users[source.collected_by],
        "obtained_from": source.obtained_from,
        "text_body": source.text,
        "language": source.language,
        "url": source.url,
    }
    if source.event_at:
        fields["event_at"] = local(source.event_at)
    if source.event_minutes is not None:
        fields["event_uncertainty"] = dt.timedelta(minutes=source.event_minutes)
    upload = ContentFile(source.text.encode(), name=source.file_name) if source.file_name else None
    return EvidenceItem.attach(
        incident,
        by=users[source.collected_by],
        upload=upload,
        reason=f"Collected from {source.obtained_from}.",
        **fields,
    )

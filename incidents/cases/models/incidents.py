"""Cases (incidents) and their members.

Every state change of a case is a method here that runs in one transaction
and writes its timeline entry; views only call these methods.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone

from incidents.cases.models.common import (
    SearchVectorDeferred,
    Tag,
    choices_constraint,
    validate_time_zone,
    written_text,
)
from incidents.reports.tlp import TLP
from incidents.reports.tlp import field as tlp_field

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser

    from incidents.cases.models.timeline import StatusUpdate
    from incidents.hypotheses.models import Hypothesis


REFERENCE_PREFIX = "INC"
# How an edited field is named on the timeline ("lead edited the case: title, place").
EDIT_LABELS = {
    "title": "title",
    "summary": "summary",
    "place_name": "place",
    "occurred_at": "time of occurrence",
    "occurred_uncertainty": "uncertainty of that time",
}


class IncidentQuerySet(models.QuerySet["Incident"]):
    def visible_to(self, user: AbstractUser | AnonymousUser) -> IncidentQuerySet:
        """The cases USER may see: every case for staff, their own cases for members."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        member = member_scope(user)
        return self if member is None else self.of_member(member)

    def of_member(self, user_id: int) -> IncidentQuerySet:
        """The cases the user USER_ID is a member of (in any role)."""
        return self.filter(Exists(Membership.objects.filter(incident=OuterRef("pk"), user=user_id)))


def member_scope(user: AbstractUser | AnonymousUser) -> int | None:
    """Whose memberships bound the cases a signed-in USER sees (``visible_to``):
    None for staff, who see every case; the user's own id otherwise."""
    return None if user.is_staff else user.pk


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    RESOLVED = "resolved", "Resolved"
    CLOSED_INCONCLUSIVE = "closed_inconclusive", "Closed, inconclusive"

    @property
    def is_closed(self) -> bool:
        return self in {self.RESOLVED, self.CLOSED_INCONCLUSIVE}


class IncidentSeverity(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Incident(models.Model):
    Status = IncidentStatus
    Severity = IncidentSeverity
    # Legal case moves; reopening goes back to "investigating".
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.OPEN: (Status.INVESTIGATING,),
        Status.INVESTIGATING: (Status.RESOLVED, Status.CLOSED_INCONCLUSIVE),
        Status.RESOLVED: (Status.INVESTIGATING,),
        Status.CLOSED_INCONCLUSIVE: (Status.INVESTIGATING,),
    }

    reference = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, max_length=20000)
    occurred_at = models.DateTimeField(null=True, blank=True, help_text="Best estimate, in UTC.")
    occurred_uncertainty = models.DurationField(
        null=True,
        blank=True,
        help_text="Plus or minus this much around the best estimate; empty when unknown.",
    )
    place_name = models.CharField(max_length=200, blank=True)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone of the place, e.g. Asia/Almaty.",
    )
    severity = models.CharField(max_length=16, choices=Severity, default=Severity.MODERATE)
    tlp = tlp_field()  # the case's own level, and its new items' (incidents/reports/tlp.py)
    key_judgements = models.TextField(blank=True, max_length=20000)  # Markdown, by the lead
    status = models.CharField(max_length=24, choices=Status, default=Status.OPEN, editable=False)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_incidents"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="incidents")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    last_activity_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    # Full-text search (PostgreSQL only): reference, title, summary and the
    # statements of the case's hypotheses, kept current by database triggers
    # (migration cases/0003_incident_search); always NULL on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = SearchVectorDeferred.from_queryset(IncidentQuerySet)()

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            choices_constraint("status", IncidentStatus, "incident"),
            choices_constraint("severity", IncidentSeverity, "incident"),
            choices_constraint("tlp", TLP, "incident"),
            models.CheckConstraint(
                condition=Q(reference__regex=r"^INC-[0-9]{4}-[0-9]{4,}$"),
                name="incident_reference_format",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="incident_coordinates_together",
            ),
        ]
        indexes = [
            models.Index(fields=["-last_activity_at", "-id"], name="incident_activity_idx"),
            models.Index(fields=["-occurred_at", "-id"], name="incident_occurred_idx"),
            models.Index(fields=["status", "-last_activity_at"], name="incident_status_idx"),
            models.Index(fields=["lead", "-last_activity_at"], name="incident_lead_idx"),
            # Keyset pagination of the case list sorted by severity, one severity at a time.
            models.Index(
                fields=["severity", "-last_activity_at", "-id"], name="incident_severity_idx"
            ),
            # The list filtered by status and severity together, walked in list order.
            models.Index(
                fields=["status", "severity", "-last_activity_at", "-id"],
                name="incident_status_severity_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("cases:detail", args=[self.reference])

    # -- creation ---------------------------------------------------------

    @classmethod
    def next_reference(cls, year: int) -> str:
        """The next free reference of YEAR: INC-YYYY-NNNN, numbered from 0001.

        Longer references sort after shorter ones, so INC-2026-10000 follows
        INC-2026-9999 (plain string order would put it first).
        """
        prefix = f"{REFERENCE_PREFIX}-{year:04d}-"
        last = (
            cls.objects.filter(reference__startswith=prefix)
            .order_by(Length("reference").desc(), "-reference")
            .values_list("reference", flat=True)
            .first()
        )
        number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
        return f"{prefix}{number:04d}"

    @classmethod
    def open_case(
        cls,
        *,
        by: Any,
        title: str,
        tags: Iterable[str] = (),
        year: int | None = None,
        **fields: Any,
    ) -> Incident:
        """Open a new case led by BY, with a fresh reference and its first timeline entry.

        The reference carries the current year unless YEAR is given (a case
        recorded after the fact, such as the demo case of 2024).
        """
        from incidents.cases.models.timeline import StatusUpdate

        fields.setdefault("lead", by)
        for attempt in range(5):
            try:
                with transaction.atomic():
                    now = timezone.now()
                    incident = cls(
                        title=title,
                        created_by=by,
                        reference=cls.next_reference(year or timezone.localdate(now).year),
                        **fields,
                    )
                    incident.full_clean(exclude=["reference", "lead", "created_by"])
                    incident.save()
                    incident.set_tags(tags)
                    Membership.objects.create(
                        incident=incident, user=incident.lead, role=Membership.Role.LEAD
                    )
                    if by != incident.lead and getattr(by, "pk", None):
                        Membership.objects.get_or_create(
                            incident=incident,
                            user=by,
                            defaults={"role": Membership.Role.INVESTIGATOR},
                        )
                    StatusUpdate.objects.post(
                        incident,
                        kind=StatusUpdate.Kind.CASE_STATUS,
                        by=by,
                        body=f"Case {incident.reference} opened.",
                    )
                    return incident
            except IntegrityError:
                # Two cases opened at the same instant took the same number: try again.
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def set_tags(self, names: Iterable[str]) -> None:
        from django.utils.text import slugify

        wanted = {slugify(n, allow_unicode=True) for n in names if n and n.strip()}
        wanted.discard("")
        tags = [Tag.objects.get_or_create(name=n)[0] for n in sorted(wanted)]
        self.tags.set(tags)

    # -- editing ------------------------------------------------------------

    EDITABLE = (
        "title",
        "summary",
        "place_name",
        "latitude",
        "longitude",
        "occurred_at",
        "occurred_uncertainty",
        "time_zone",
        "severity",
    )

    def edit(
        self,
        *,
        by: Any,
        changes: dict[str, Any],
        expected_version: int | None,
        tags: Iterable[str] | None = None,
    ) -> StatusUpdate | None:
        """Edit the case's description (``EDITABLE`` fields, and TAGS when given).

        In one transaction holding the row lock: a stale EXPECTED_VERSION
        raises ``Conflict``; the fields are validated by the model; the
        version goes up; an automatic timeline entry says in words what
        changed ("lead edited the case: title, severity (High → Critical)").
        Nothing changed: nothing is written and None is returned.
        """
        from django.utils.text import slugify

        from incidents.audit.versioning import refuse_stale
        from incidents.cases.models.timeline import StatusUpdate

        unknown = set(changes) - set(self.EDITABLE)
        if unknown:
            raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
        with transaction.atomic():
            locked = Incident.objects.select_for_update().get(pk=self.pk)
            refuse_stale(self, locked, expected_version)
            if "title" in changes:
                changes = {**changes, "title": written_text(changes["title"], "title")}
            if "summary" in changes:
                changes = {**changes, "summary": written_text(changes["summary"], "summary")}
            said: list[str] = []
            before = {name: getattr(locked, name) for name in changes}
            old_severity = locked.get_severity_display()
            for name, value in changes.items():
                setattr(locked, name, value)
            locked.full_clean(exclude=["reference", "lead", "created_by", "tags"])
            for name in self.EDITABLE:
                if name in changes and before[name] != getattr(locked, name):
                    if name == "severity":
                        said.append(f"severity ({old_severity} → {locked.get_severity_display()})")
                    elif name == "time_zone":
                        said.append(f"time zone ({before[name]} → {locked.time_zone})")
                    elif name in {"latitude", "longitude"}:
                        if "coordinates" not in said:
                            said.append("coordinates")
                    else:
                        said.append(EDIT_LABELS.get(name, name))
            if tags is not None:
                wanted = {slugify(n, allow_unicode=True) for n in tags if n and n.strip()}
                wanted.discard("")
                current = set(locked.tags.values_list("name", flat=True))
                if wanted != current:
                    locked.set_tags(wanted)
                    said.append("tags")
            if not said:
                return None
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=[*changes, "version", "updated_at"])
            for name in (*changes, "version", "updated_at"):
                setattr(self, name, getattr(locked, name))
            who = getattr(by, "username", "") or "someone"
            return StatusUpdate.objects.post(
                locked,
                kind=StatusUpdate.Kind.CASE_EDITED,
                by=by,
                body=f"{who} edited the case: {', '.join(said)}.",
            )

    # -- local time ---------------------------------------------------------

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def occurred_local(self) -> dt.datetime | None:
        return self.occurred_at.astimezone(self.zone) if self.occurred_at else None

    # -- status -------------------------------------------------------------

    def allowed_statuses(self) -> tuple[str, ...]:
        return self.TRANSITIONS.get(self.status, ())

    @property
    def is_closed(self) -> bool:
        return self.Status(self.status).is_closed

    def resolution_blockers(self, hypotheses: Iterable[Hypothesis] | None = None) -> list[str]:
        """Why the case cannot be resolved now; empty when it can."""
        from incidents.hypotheses.models import Hypothesis

        hyps = list(hypotheses if hypotheses is not None else self.hypotheses.all())
        confirmed = [h for h in hyps if h.status == Hypothesis.Status.CONFIRMED]
        problems: list[str] = []
        if not confirmed:
            problems.append("No hypothesis is confirmed: confirm exactly one first.")
        elif len(confirmed) > 1:
            names = ", ".join(f"“{h.statement}”" for h in confirmed)
            problems.append(
                f"{len(confirmed)} hypotheses are confirmed ({names}): keep exactly one."
            )
        for h in hyps:
            if h.status not in Hypothesis.CONCLUDED_STATUSES:
                problems.append(
                    f"“{h.statement}” is still {h.get_status_display().lower()}: "
                    "refute or withdraw it."
                )
        return problems

    def move_to(
        self, status: str, *, by: Any, reason: str, expected_version: int | None = None
    ) -> StatusUpdate:
        """Move the case to STATUS, with a reason, on the timeline.

        EXPECTED_VERSION: the version the form was loaded with; ``Conflict``
        if someone saved the case since (see incidents.audit.versioning).
        """
        from incidents.audit.versioning import check_version
        from incidents.cases.models.timeline import StatusUpdate

        reason = written_text(reason, "reason")
        with transaction.atomic():
            locked = Incident.objects.select_for_update().get(pk=self.pk)
            check_version(locked, expected_version)
            if status not in Incident.Status.values:
                raise ValidationError({"status": f"“{status}” is not a case status."})
            if status not in locked.allowed_statuses():
                allowed = ", ".join(
                    Incident.Status(s).label.lower() for s in locked.allowed_statuses()
                )
                raise ValidationError(
                    {
                        "status": f"A case that is {locked.get_status_display().lower()} "
                        f"cannot become {Incident.Status(status).label.lower()}"
                        + (f"; it can become {allowed}." if allowed else ".")
                    }
                )
            if not reason:
                raise ValidationError({"reason": "Give a reason for this change of status."})
            if status == Incident.Status.RESOLVED:
                blockers = locked.resolution_blockers()
                if blockers:
                    raise ValidationError({"status": blockers})
            old = locked.get_status_display()
            locked.status = status
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save(update_fields=["status", "version", "updated_at"])
            self.status, self.version, self.updated_at = (
                locked.status,
                locked.version,
                locked.updated_at,
            )
            return StatusUpdate.objects.post(
                locked,
                kind=StatusUpdate.Kind.CASE_STATUS,
                by=by,
                body=f"Case status: {old} → {locked.get_status_display()}.\n\n{reason}",
            )

    # -- members ------------------------------------------------------------

    def role_of(self, user: Any) -> str | None:
        if not getattr(user, "is_authenticated", False):
            return None
        # Unordered (one row at most): Membership's default order joins two tables.
        return self.memberships.filter(user=user).order_by().values_list("role", flat=True).first()

    # Membership changes (leads only, checked by the view): each in one
    # transaction holding the case's row lock, so two leads demoting each
    # other at once cannot leave the case without a lead.

    def _members_changed(self, by: Any, body: str) -> StatusUpdate:
        from incidents.cases.models.timeline import StatusUpdate

        return StatusUpdate.objects.post(
            self, kind=StatusUpdate.Kind.MEMBERS_CHANGED, by=by, body=body
        )

    def _other_leads(self, locked: Incident, user: Any) -> list[Any]:
        return [
            m.user
            for m in locked.memberships.select_related("user")
            .filter(role=Membership.Role.LEAD)
            .exclude(user=user)
        ]

    def add_member(self, user: Any, *, role: str, by: Any) -> Membership:
        if role not in Membership.Role.values:
            raise ValidationError({"role": f"“{role}” is not a role."})
        if not user.is_active:
            raise ValidationError({"username": f"{user.get_username()} cannot sign in."})
        with transaction.atomic():
            locked = Incident.objects.select_for_update().get(pk=self.pk)
            if locked.memberships.filter(user=user).exists():
                raise ValidationError(
                    {"username": f"{user.get_username()} is already a member of this case."}
                )
            membership = Membership.objects.create(incident=locked, user=user, role=role)
            self._members_changed(
                by,
                f"{user.get_username()} added as {Membership.Role(role).label.lower()}.",
            )
            return membership

    def change_member_role(self, user: Any, *, role: str, by: Any) -> Membership:
        if role not in Membership.Role.values:
            raise ValidationError({"role": f"“{role}” is not a role."})
        with transaction.atomic():
            locked = Incident.objects.select_for_update().get(pk=self.pk)
            membership = locked.memberships.filter(user=user).first()
            if membership is None:
                raise ValidationError({"user": "That person is not a member of this case."})
            if membership.role == role:
                current = membership.get_role_display().lower()
                raise ValidationError({"role": f"{user.get_username()} is already {current}."})
            others = self._other_leads(locked, user)
            if membership.role == Membership.Role.LEAD and not others:
                raise ValidationError(
                    {"role": "The case needs a lead: make someone else lead first."}
                )
            old = membership.get_role_display().lower()
            membership.role = role
            membership.save(update_fields=["role"])
            if locked.lead_id == user.pk and role != Membership.Role.LEAD:
                Incident.objects.filter(pk=locked.pk).update(lead=others[0])
                self.lead = others[0]
            self._members_changed(
                by, f"{user.get_username()}: {old} → {Membership.Role(role).label.lower()}."
            )
            return membership

    def remove_member(self, user: Any, *, by: Any) -> None:
        with transaction.atomic():
            locked = Incident.objects.select_for_update().get(pk=self.pk)
            membership = locked.memberships.filter(user=user).first()
            if membership is None:
                raise ValidationError({"user": "That person is not a member of this case."})
            others = self._other_leads(locked, user)
            if membership.role == Membership.Role.LEAD and not others:
                raise ValidationError(
                    {"user": "The last lead cannot be removed: make someone else lead first."}
                )
            membership.delete()
            if locked.lead_id == user.pk:
                Incident.objects.filter(pk=locked.pk).update(lead=others[0])
                self.lead = others[0]
            self._members_changed(by, f"{user.get_username()} removed from the case.")


class MembershipRole(models.TextChoices):
    LEAD = "lead", "Lead"
    INVESTIGATOR = "investigator", "Investigator"
    OBSERVER = "observer", "Observer"

    @property
    def can_write(self) -> bool:
        return self in {self.LEAD, self.INVESTIGATOR}

    @property
    def can_lead(self) -> bool:
        return self == self.LEAD


class Membership(models.Model):
    Role = MembershipRole
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role, default=Role.INVESTIGATOR)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        # By the column: ordering by the relation would join its table to sort by its order.
        ordering = ["incident_id", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="membership_once_per_case"),
            choices_constraint("role", MembershipRole, "membership"),
        ]
        indexes = [models.Index(fields=["user", "incident"], name="membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.incident.reference}"

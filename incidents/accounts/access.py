"""One access helper per object type.

Every view, partial, download and export fetches its object through one of
these. A user who may not see the case gets 404 (its existence is not
revealed); one who may read but not write gets 403.

Roles: observers read; investigators read and write; leads also manage
members and the case's status. Staff read every case; superusers may also
write to every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest

from incidents.cases.models import Incident, Membership


class Need(IntEnum):
    READ = 0
    WRITE = 1
    LEAD = 2


ROLE_LEVEL = {
    Membership.Role.OBSERVER: Need.READ,
    Membership.Role.INVESTIGATOR: Need.WRITE,
    Membership.Role.LEAD: Need.LEAD,
}


@dataclass(frozen=True)
class CaseAccess:
    """An incident together with what the current user may do with it."""

    incident: Incident
    role: str | None
    level: Need

    @property
    def can_write(self) -> bool:
        return self.level >= Need.WRITE

    @property
    def can_lead(self) -> bool:
        return self.level >= Need.LEAD


def access_level(user: Any, role: str | None) -> Need | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Need.LEAD
    if role is not None:
        return ROLE_LEVEL[Membership.Role(role)]
    if user.is_staff:
        return Need.READ
    return None


def role_of_user(user: Any, case: str = "pk") -> Subquery:
    """The USER's role on the case named by the outer query's CASE column, as a
    subquery: the role comes with the object, in the same statement."""
    return Subquery(
        # No ordering: a user has one membership per case, and Membership's
        # default order would join the case and the user into the subquery.
        Membership.objects.filter(incident=OuterRef(case), user=user).order_by().values("role")[:1]
    )


def get_case_for_user(request: HttpRequest, reference: str, need: Need = Need.READ) -> CaseAccess:
    """The case REFERENCE, if the user may see it: 404 otherwise, 403 if NEED is not met."""
    user = request.user
    if not user.is_authenticated:
        raise Http404("No such case.")
    incident = (
        Incident.objects.select_related("lead")
        .annotate(role_of_user=role_of_user(user))
        .filter(reference=reference)
        .first()
    )
    if incident is None:
        raise Http404("No such case.")
    return check_case_access(request, incident, need, role=incident.role_of_user)


UNKNOWN = object()


def check_case_access(
    request: HttpRequest, incident: Incident, need: Need = Need.READ, *, role: Any = UNKNOWN
) -> CaseAccess:
    """The same rules for an object reached through another one (an item, a
    hypothesis). ROLE: the user's role when the caller fetched it with the
    object (``role_of_user``); otherwise it is read here."""
    if role is UNKNOWN:
        role = incident.role_of(request.user)
    level = access_level(request.user, role)
    if level is None:
        raise Http404("Not found.")
    if level < need:
        raise PermissionDenied("Your role on this case does not allow this.")
    return CaseAccess(incident=incident, role=role, level=level)

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

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest

from incidents.cases.models import Incident, Membership
from incidents.compiled import compiled
from incidents.params import is_reference


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
    # A reference the URL converter (``<ref:…>``) would not pass cannot exist.
    if not user.is_authenticated or not is_reference(reference):
        raise Http404("No such case.")
    rows = _case_with_role(reference=reference, user=user.pk)
    if not rows:
        raise Http404("No such case.")
    incident, role = case_of(rows[0])
    return check_case_access(request, incident, need, role=role)


# The columns of the case and of its lead (a user: every column) that the
# access checks read: all but the case's search vector (its manager defers it).
_CASE_FIELDS = tuple(f.attname for f in Incident._meta.concrete_fields if f.name != "search_vector")
USER_FIELDS = tuple(f.attname for f in get_user_model()._meta.concrete_fields)


def case_columns(path: str = "") -> tuple[str, ...]:
    """The ``values_list`` names of the case at PATH (``"incident__"`` from a
    row of the case's; empty from the case), its lead and the user's role
    (annotated ``role_of_user``): the end of a row ``case_of`` reads."""
    return (
        *(f"{path}{name}" for name in _CASE_FIELDS),
        *(f"{path}lead__{name}" for name in USER_FIELDS),
        "role_of_user",
    )


@compiled(tuples=True)
def _case_with_role(reference: str, user: int) -> QuerySet[Any]:
    """The case REFERENCE, its lead and the role of the user USER on it (None:
    not a member), compiled once per connection: every case page and write
    starts with it."""
    return (
        Incident.objects.annotate(role_of_user=role_of_user(user))
        .filter(reference=reference)
        .order_by()
        .values_list(*case_columns())
    )


def case_of(row: tuple[Any, ...]) -> tuple[Incident, str | None]:
    """The case, with its lead, and the role, of a row that ends with
    ``case_columns()``: model instances as the ORM makes them (``from_db``)."""
    start = len(row) - len(_CASE_FIELDS) - len(USER_FIELDS) - 1
    lead_start = start + len(_CASE_FIELDS)
    incident = Incident.from_db(DEFAULT_DB_ALIAS, _CASE_FIELDS, row[start:lead_start])
    incident.lead = get_user_model().from_db(DEFAULT_DB_ALIAS, USER_FIELDS, row[lead_start:-1])
    return incident, row[-1]


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

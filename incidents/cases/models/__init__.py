"""Cases (incidents), their members and their timeline.

``common`` holds what every app's models share (``written_text``,
``choices_constraint``, ``Tag``, ``SearchVectorDeferred``), ``incidents`` the
case and its memberships, ``timeline`` its entries. Every public name is
importable from here, as before the split; migrations name
``incidents.cases.models.validate_time_zone``.
"""

from incidents.cases.models.common import (
    SearchVectorDeferred,
    Tag,
    choices_constraint,
    validate_time_zone,
    written_text,
)
from incidents.cases.models.incidents import (
    REFERENCE_PREFIX,
    Incident,
    IncidentQuerySet,
    IncidentSeverity,
    IncidentStatus,
    Membership,
    MembershipRole,
    member_scope,
)
from incidents.cases.models.timeline import StatusUpdate, StatusUpdateKind, StatusUpdateQuerySet

__all__ = [
    "REFERENCE_PREFIX",
    "Incident",
    "IncidentQuerySet",
    "IncidentSeverity",
    "IncidentStatus",
    "Membership",
    "MembershipRole",
    "SearchVectorDeferred",
    "StatusUpdate",
    "StatusUpdateKind",
    "StatusUpdateQuerySet",
    "Tag",
    "choices_constraint",
    "member_scope",
    "validate_time_zone",
    "written_text",
]

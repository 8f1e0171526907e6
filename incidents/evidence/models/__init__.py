"""Evidence items (sources), their chain of custody and their annotations.

One module a model family: ``items`` (EvidenceItem and its grading choices),
``custody`` (CustodyEntry, the hash-chained log) and ``annotations``
(Annotation and its anchors). Every public name is importable from here, as
before the split; migrations name ``incidents.evidence.models.evidence_upload_to``.
"""

from incidents.evidence.models.annotations import (
    Annotation,
    AnnotationAnchor,
    AnnotationQuerySet,
    AnnotationStance,
    stance_dict,
)
from incidents.evidence.models.custody import (
    CustodyEntry,
    CustodyEntryAction,
    CustodyEntryQuerySet,
    canonical_json,
    utc_iso,
)
from incidents.evidence.models.items import (
    EvidenceItem,
    EvidenceItemCredibility,
    EvidenceItemKind,
    EvidenceItemReliability,
    EvidenceItemVerification,
    evidence_upload_to,
    max_upload_bytes,
)

__all__ = [
    "Annotation",
    "AnnotationAnchor",
    "AnnotationQuerySet",
    "AnnotationStance",
    "CustodyEntry",
    "CustodyEntryAction",
    "CustodyEntryQuerySet",
    "EvidenceItem",
    "EvidenceItemCredibility",
    "EvidenceItemKind",
    "EvidenceItemReliability",
    "EvidenceItemVerification",
    "canonical_json",
    "evidence_upload_to",
    "max_upload_bytes",
    "stance_dict",
    "utc_iso",
]

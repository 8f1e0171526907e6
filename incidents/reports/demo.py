"""The demo case's TLP markings and key judgements (called by ``load_demo``).

The case is TLP:CLEAR (a public incident retold) and its items take that
level; a few are then marked for narrower audiences, as an investigation
would mark them, so that a report for a wide audience shows what withholding
does:

- the operator's log extract, and the finding drawn from it: TLP:AMBER (the
  operator's internal records);
- the witness statement: TLP:AMBER+STRICT (protects the witness);
- the anonymous forum post: TLP:GREEN (an unsourced rumour about a person);
- the working note naming the operator account: TLP:RED;
- the annotation on the Russian news report: TLP:GREEN.

Marked as recorded (the demo is loaded by a script, not worked through the
site), so they add no activity-log entries: the audit trail has them.
"""

from __future__ import annotations

from typing import Any

from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.reports.tlp import TLP

KEY_JUDGEMENTS = """\
- It is **likely** that someone with legitimate access to the screen's content system \
put the image on the screen on purpose. The image came through the operator's own \
system, and the police questioned the operator's staff.
- An outside intrusion is **unlikely**. The claim of responsibility offers no proof, and \
the other screens of the same network were not affected.
- A fault in the playback equipment is **very unlikely**. A fault does not produce a \
clean, full-frame image, and the operator says the image was not in its playlist.

The evidence behind the first judgement is held at TLP:AMBER: a report for a wider \
audience leaves it out.
"""

# (the source's kind, its level): each kind occurs once in the demo.
SOURCE_LEVELS = (
    (EvidenceItem.Kind.LOG_EXTRACT, TLP.AMBER),
    (EvidenceItem.Kind.WITNESS_STATEMENT, TLP.AMBER_STRICT),
    (EvidenceItem.Kind.OTHER, TLP.GREEN),
)
ENTRY_LEVELS = (
    (StatusUpdate.Kind.FINDING, TLP.AMBER),
    (StatusUpdate.Kind.NOTE, TLP.RED),
)


def mark_demo(incident: Incident, *_: Any) -> None:
    """Give the demo case its markings and key judgements."""
    Incident.objects.filter(pk=incident.pk).update(tlp=TLP.CLEAR, key_judgements=KEY_JUDGEMENTS)
    incident.tlp, incident.key_judgements = TLP.CLEAR, KEY_JUDGEMENTS
    # Everything was recorded at the case's first level; the case is public.
    EvidenceItem.objects.filter(incident=incident).update(tlp=TLP.CLEAR)
    StatusUpdate.objects.filter(incident=incident).update(tlp=TLP.CLEAR)
    Annotation.objects.filter(item__incident=incident).update(tlp=TLP.CLEAR)
    for kind, level in SOURCE_LEVELS:
        EvidenceItem.objects.filter(incident=incident, kind=kind).update(tlp=level)
    for entry_kind, entry_level in ENTRY_LEVELS:
        StatusUpdate.objects.filter(incident=incident, kind=entry_kind).update(tlp=entry_level)
    Annotation.objects.filter(item__incident=incident, item__language="ru").update(tlp=TLP.GREEN)

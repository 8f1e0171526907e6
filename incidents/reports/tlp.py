"""The Traffic Light Protocol (TLP 2.0, FIRST): who may receive a piece of content.

One ``TextChoices`` and one order for the whole project: cases, sources,
timeline entries and annotations carry a level (``field()``), and a report is
made for one level, leaving out whatever is marked above it
(docs/reports.md). The order, from the widest audience to the narrowest, is
the order of the declaration::

    CLEAR < GREEN < AMBER < AMBER+STRICT < RED

A new item takes its case's level (``inherited``); a case starts at AMBER,
so nothing reaches a wider audience until someone says it may.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Subquery


class TLP(models.TextChoices):
    """TLP 2.0 levels, widest audience first (the order is the declaration's)."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"

    @property
    def rank(self) -> int:
        """0 for CLEAR up to 4 for RED: a higher rank is a narrower audience."""
        return RANK[self.value]

    @property
    def css(self) -> str:
        """The label's CSS class: ``tlp-clear`` … ``tlp-amber-strict``, ``tlp-red``."""
        return "tlp-" + self.value.replace("+", "-")

    @property
    def audience(self) -> str:
        """Who may receive content at this level (FIRST's TLP 2.0 definitions, shortened)."""
        return AUDIENCES[self.value]

    def allows(self, level: str | None) -> bool:
        """Whether content marked LEVEL may go to an audience of this level."""
        return level is not None and RANK[level] <= RANK[self.value]

    @classmethod
    def up_to(cls, level: str) -> list[str]:
        """The levels an audience of LEVEL may receive: LEVEL and every wider one."""
        return [value for value in cls.values if RANK[value] <= RANK[level]]

    @classmethod
    def highest(cls, *levels: str) -> str:
        """The narrowest of LEVELS (an annotation is no wider than its source)."""
        return max(levels, key=RANK.__getitem__)

    @classmethod
    def parse(cls, text: str) -> TLP:
        """A level from what a person or a script writes: ``amber+strict``,
        ``TLP:AMBER+STRICT``, ``amber_strict``; ValueError otherwise."""
        value = text.strip().lower().removeprefix("tlp:").replace("_", "+").replace(" ", "+")
        if value not in RANK:
            names = ", ".join(cls.values)
            raise ValueError(f"“{text}” is not a TLP level; use one of {names}.")
        return cls(value)


RANK: dict[str, int] = {value: index for index, value in enumerate(TLP.values)}

# FIRST's official colours: the label's text in its colour on black.
COLOURS: dict[str, str] = {
    TLP.CLEAR: "#FFFFFF",
    TLP.GREEN: "#33FF00",
    TLP.AMBER: "#FFC000",
    TLP.AMBER_STRICT: "#FFC000",
    TLP.RED: "#FF2B2B",
}
BACKGROUND = "#000000"

AUDIENCES: dict[str, str] = {
    TLP.CLEAR: "Recipients may share it without limit, subject to copyright.",
    TLP.GREEN: "Recipients may share it within their community, not publicly.",
    TLP.AMBER: "Recipients may share it within their organisation and its clients, "
    "on a need-to-know basis.",
    TLP.AMBER_STRICT: "Recipients may share it within their own organisation only, "
    "on a need-to-know basis.",
    TLP.RED: "For the named recipients only: no further sharing.",
}

DEFAULT = TLP.AMBER
HELP = "Traffic Light Protocol: who may receive it (CLEAR widest … RED narrowest)."


def field() -> models.CharField:
    """The ``tlp`` field of a marked model (its choices kept by a named constraint)."""
    return models.CharField("TLP", max_length=12, choices=TLP, default=DEFAULT, help_text=HELP)


def level_of(incident: Any) -> str:
    """INCIDENT's level, read from the database when its object was read without it."""
    if "tlp" in getattr(incident, "__dict__", {}):
        return incident.tlp
    from incidents.cases.models import Incident

    return Incident.objects.filter(pk=incident.pk).values_list("tlp", flat=True).get()


def inherited(incident: Any) -> Any:
    """The level a new item of INCIDENT takes: the case's own.

    When the caller's case object was read without its level (a move reads
    only the case's id and status) the level is read in the INSERT itself,
    as a subquery: no statement of its own.
    """
    if "tlp" in getattr(incident, "__dict__", {}):
        return incident.tlp
    from incidents.cases.models import Incident

    case_id = incident if isinstance(incident, int) else incident.pk
    return Subquery(Incident.objects.filter(pk=case_id).values("tlp")[:1])

"""Words of estimative probability in the key judgements, tied to their bands.

The lead writes the key judgements in Markdown with the words of ICD 203
("likely", "very unlikely"…). In the report each such word is followed by its
band ("likely 55–80 %"), so a reader never has to guess what "likely" meant
to the writer. The bands are the project's own (``ConfidenceBand``), the
words those of the standard, longest first so that "very unlikely" is never
read as "unlikely" or "likely".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from incidents.cases.markdown import render_markdown
from incidents.hypotheses.models import BAND_RANGES, ConfidenceBand

# Each band's words: its own name first (as the table in the appendix shows), then
# the synonyms ICD 203 allows. "Remote" is left out: it is far more often a place.
WORDS: dict[str, tuple[str, ...]] = {
    ConfidenceBand.ALMOST_NO_CHANCE: ("almost no chance",),
    ConfidenceBand.VERY_UNLIKELY: ("very unlikely", "highly unlikely", "highly improbable"),
    ConfidenceBand.UNLIKELY: ("unlikely", "improbable", "improbably"),
    ConfidenceBand.ROUGHLY_EVEN: ("roughly even chance", "roughly even odds", "roughly even"),
    ConfidenceBand.LIKELY: ("likely", "probable", "probably"),
    ConfidenceBand.VERY_LIKELY: ("very likely", "highly likely", "highly probable"),
    ConfidenceBand.ALMOST_CERTAIN: ("almost certain", "almost certainly", "nearly certain"),
}
_BAND_OF = {word: band for band, words in WORDS.items() for word in words}
_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in sorted(_BAND_OF, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# Text between tags; the tags themselves, and code, are left alone.
_TAG = re.compile(r"(<[^>]*>)")


@dataclass(frozen=True)
class Band:
    value: str
    label: str
    low: int
    high: int
    words: tuple[str, ...]

    @property
    def percent(self) -> str:
        return f"{self.low}–{self.high} %"


def bands() -> list[Band]:
    """The scale, lowest band first: the appendix's table."""
    return [
        Band(band.value, band.short_label, *BAND_RANGES[band.value], WORDS[band])
        for band in ConfidenceBand
    ]


def _tie(match: re.Match[str]) -> str:
    word = match.group(0)
    band = _BAND_OF[word.lower()]
    low, high = BAND_RANGES[band]
    return format_html(
        '<span class="wep wep-{}">{}<span class="wep-band"> {}–{}&#8239;%</span></span>',
        band,
        word,
        low,
        high,
    )


def tie_words(html: str) -> str:
    """HTML (already sanitised) with every probability word followed by its band;
    not inside ``<code>``, ``<pre>`` or a link."""
    out: list[str] = []
    skip = 0
    for piece in _TAG.split(html):
        if piece.startswith("<"):
            name = piece[1:].lstrip("/").split(None, 1)[0].rstrip(">").lower() if piece else ""
            if name in {"code", "pre", "a"}:
                skip += -1 if piece.startswith("</") else 1
            out.append(piece)
        elif skip > 0:
            out.append(piece)
        else:
            out.append(_PATTERN.sub(_tie, piece))
    return "".join(out)


def judgements_html(markdown_text: str) -> SafeString:
    """The key judgements as the report prints them: Markdown, sanitised, words tied."""
    if not markdown_text.strip():
        return mark_safe("")
    return mark_safe(tie_words(render_markdown(markdown_text)))  # noqa: S308 (sanitised by nh3)

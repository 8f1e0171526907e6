"""Annotation anchoring, highlight rendering and W3C Web Annotation export.

Positions are counted in Unicode code points over the item's normalised text
(``EvidenceItem.annotation_text``), as the W3C TextPositionSelector asks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from incidents.evidence.models import Annotation, EvidenceItem

CONTEXT = 32  # characters of prefix and suffix kept with a quote
ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
ANNO_PROFILE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
MEDIA_FRAGMENTS = "http://www.w3.org/TR/media-frags/"


@dataclass(frozen=True)
class Anchor:
    start: int | None
    end: int | None
    state: str
    exact: str = ""
    prefix: str | None = None
    suffix: str | None = None


def _context(text: str, start: int, end: int) -> tuple[str, str]:
    return text[max(0, start - CONTEXT) : start], text[end : end + CONTEXT]


def _common_suffix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        n += 1
    return n


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _occurrences(text: str, exact: str) -> Iterable[int]:
    at = text.find(exact)
    while at != -1:
        yield at
        at = text.find(exact, at + 1)


def find_quote(
    text: str, exact: str, prefix: str = "", suffix: str = "", hint: int | None = None
) -> int | None:
    """The start of the occurrence of EXACT whose context best matches PREFIX/SUFFIX.

    Ties go to the occurrence nearest HINT (the old position), then the first.
    """
    best: tuple[int, int] | None = None
    best_at = None
    for at in _occurrences(text, exact):
        score = _common_suffix(prefix, text[max(0, at - len(prefix)) : at]) + _common_prefix(
            suffix, text[at + len(exact) : at + len(exact) + len(suffix)]
        )
        distance = abs(at - hint) if hint is not None else 0
        key = (score, -distance)
        if best is None or key > best:
            best, best_at = key, at
    return best_at


def reanchor(text: str, annotation: Annotation) -> Anchor:
    """Place ANNOTATION in TEXT: its exact position, else its quote in the best context, else
    orphaned (kept, shown as orphaned, never dropped)."""
    from incidents.evidence.models import AnnotationAnchor

    exact = annotation.quote_exact
    start, end = annotation.position_start, annotation.position_end
    if exact and start is not None and end is not None and text[start:end] == exact:
        prefix, suffix = _context(text, start, end)
        if (prefix, suffix) == (annotation.quote_prefix, annotation.quote_suffix) or (
            annotation.anchor_state == AnnotationAnchor.ANCHORED and text.count(exact) == 1
        ):
            return Anchor(start, end, annotation.anchor_state, exact, prefix, suffix)
    if exact:
        at = find_quote(text, exact, annotation.quote_prefix, annotation.quote_suffix, start)
        if at is not None:
            end = at + len(exact)
            prefix, suffix = _context(text, at, end)
            state = (
                AnnotationAnchor.ANCHORED
                if at == start and annotation.anchor_state == AnnotationAnchor.ANCHORED
                else AnnotationAnchor.REANCHORED
            )
            return Anchor(at, end, state, exact, prefix, suffix)
    return Anchor(None, None, AnnotationAnchor.ORPHANED, exact)


def validate_quote(
    text: str,
    *,
    exact: str,
    prefix: str = "",
    suffix: str = "",
    start: int | None = None,
    end: int | None = None,
) -> Anchor:
    """Check a selector sent by the browser against the stored text; refuse a quote not there.

    A position that holds the quote is taken as is; otherwise the quote is
    looked up by its context (the browser may count differently). The prefix
    and suffix are then recomputed from the stored text.
    """
    from incidents.evidence.models import AnnotationAnchor

    if not exact or not exact.strip():
        raise ValidationError({"exact": "Select (or paste) the passage you want to annotate."})
    if len(exact) > 10000:
        raise ValidationError({"exact": "Annotate a passage of at most 10,000 characters."})
    exact = exact.replace("\r\n", "\n").replace("\r", "\n")
    at: int | None = None
    if start is not None and end is not None and 0 <= start <= end and text[start:end] == exact:
        at = start
    else:
        at = find_quote(text, exact, prefix or "", suffix or "", start)
    if at is None:
        raise ValidationError(
            {"exact": "That passage is not in this item's text; select it again."}
        )
    before, after = _context(text, at, at + len(exact))
    return Anchor(at, at + len(exact), AnnotationAnchor.ANCHORED, exact, before, after)


_XYWH = re.compile(r"^xywh=(?:pixel:)?(\d{1,6}),(\d{1,6}),(\d{1,6}),(\d{1,6})$")


def parse_xywh(value: str) -> tuple[int, int, int, int] | None:
    match = _XYWH.match(value.strip())
    if not match:
        return None
    x, y, w, h = (int(part) for part in match.groups())
    return x, y, w, h


def validate_region(item: EvidenceItem, value: str) -> str:
    """An ``xywh=x,y,w,h`` region in image pixels, inside the image and not empty."""
    if not item.is_image:
        raise ValidationError({"region": "Regions can only be drawn on an image."})
    box = parse_xywh(value or "")
    if box is None:
        raise ValidationError({"region": "Drag a rectangle on the image to mark a region."})
    x, y, w, h = box
    image = (item.extracted_metadata or {}).get("image") or {}
    width, height = image.get("width"), image.get("height")
    if w < 1 or h < 1:
        raise ValidationError({"region": "The region is empty: drag a larger rectangle."})
    if width and height and (x + w > width or y + h > height):
        raise ValidationError({"region": "The region goes outside the image."})
    return f"xywh={x},{y},{w},{h}"


# -- Highlights ---------------------------------------------------------------


def render_highlights(text: str, annotations: Iterable[Annotation]) -> SafeString:
    """TEXT escaped, with each anchored passage wrapped in ``<mark>``.

    Overlapping passages are split at every boundary; each piece lists the
    annotations covering it in ``data-annotations``. Only text and our own
    markup come out: the text itself is always escaped.
    """
    spans = [
        (a.position_start, a.position_end, a.pk)
        for a in annotations
        if a.position_start is not None
        and a.position_end is not None
        and a.position_end > a.position_start
        and not a.region
    ]
    bounds = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    parts: list[str] = []
    for left, right in zip(bounds, bounds[1:], strict=False):
        if right <= left or left >= len(text):
            continue
        piece = escape(text[left:right])
        covering = [pk for s, e, pk in spans if s <= left and right <= e]
        if covering:
            ids = " ".join(str(pk) for pk in covering)
            first = covering[0]
            parts.append(
                f'<mark class="anno" data-annotations="{ids}" '
                f'aria-describedby="annotation-{first}">{piece}</mark>'
            )
        else:
            parts.append(piece)
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text is escaped above)


# -- Export -------------------------------------------------------------------


def as_web_annotation(
    annotation: Annotation, *, item_url: str, file_url: str, absolute: Any
) -> dict:
    """One annotation in the W3C Web Annotation Data Model."""
    bodies: list[dict[str, Any]] = [
        {
            "type": "TextualBody",
            "value": annotation.body,
            "format": "text/plain",
            "purpose": "commenting",
        }
    ]
    bodies += [
        {"type": "TextualBody", "value": tag.name, "purpose": "tagging"}
        for tag in annotation.tags.all()
    ]
    hypothesis = annotation.hypothesis if annotation.hypothesis_id else None
    if annotation.stance and hypothesis is not None:
        bodies.append(
            {
                "type": "TextualBody",
                "value": f"{annotation.stance}: {hypothesis.statement}",
                "purpose": "assessing",
            }
        )
        bodies.append(
            {
                "type": "SpecificResource",
                "source": absolute(
                    f"{annotation.item.incident.get_absolute_url()}"
                    f"#hypothesis-{annotation.hypothesis_id}"
                ),
                "purpose": "linking",
            }
        )
    if annotation.region:
        target: dict[str, Any] = {
            "source": file_url,
            "selector": {
                "type": "FragmentSelector",
                "conformsTo": MEDIA_FRAGMENTS,
                "value": annotation.region,
            },
        }
        if annotation.item.file_type:
            target["format"] = annotation.item.file_type
    else:
        selectors: list[dict[str, Any]] = [
            {
                "type": "TextQuoteSelector",
                "exact": annotation.quote_exact,
                "prefix": annotation.quote_prefix,
                "suffix": annotation.quote_suffix,
            }
        ]
        if annotation.position_start is not None and annotation.position_end is not None:
            selectors.append(
                {
                    "type": "TextPositionSelector",
                    "start": annotation.position_start,
                    "end": annotation.position_end,
                }
            )
        target = {"source": item_url, "format": "text/plain", "selector": selectors}
    author = annotation.author
    return {
        "id": absolute(f"{item_url}#annotation-{annotation.pk}"),
        "type": "Annotation",
        "motivation": "commenting",
        "created": annotation.created_at.isoformat(),
        "modified": annotation.updated_at.isoformat(),
        "creator": {
            "type": "Person",
            "nickname": author.get_username(),
            **({"name": author.get_full_name()} if author.get_full_name() else {}),
        },
        "body": bodies,
        "target": target,
    }


def as_collection(
    item: EvidenceItem, annotations: list[Annotation], *, absolute: Any, collection_url: str
) -> dict:
    """The item's annotations as an ``AnnotationCollection`` with one embedded page."""
    from django.urls import reverse

    item_url = absolute(item.get_absolute_url())
    file_url = absolute(reverse("evidence:download", args=[item.pk]))
    items = [
        as_web_annotation(a, item_url=item_url, file_url=file_url, absolute=absolute)
        for a in annotations
    ]
    return {
        "@context": ANNO_CONTEXT,
        "id": collection_url,
        "type": "AnnotationCollection",
        "label": f"Annotations on “{item.title}” ({item.incident.reference})",
        "total": len(items),
        "first": {
            "id": f"{collection_url}#page-1",
            "type": "AnnotationPage",
            "startIndex": 0,
            "items": items,
        },
    }

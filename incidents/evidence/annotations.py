"""Annotation anchoring, highlight rendering and W3C Web Annotation export.

Positions are counted in Unicode code points over the item's normalised text
(``EvidenceItem.annotation_text``), as the W3C TextPositionSelector asks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents.evidence import files

if TYPE_CHECKING:
    from django.db.models import QuerySet

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
#
# The W3C Web Annotation Data Model (https://www.w3.org/TR/annotation-model/),
# written for ``/evidence/<id>/annotations.jsonld`` (``as_collection``) and for
# the ``annotations`` of ``export.json`` (incidents.cases.views.export), which
# both build each annotation with ``web_annotation``. docs/evidence.md shows
# the shapes; tests/evidence/test_annotations.py checks them against the model's rules.

PAGE_SIZE = 100  # annotations per AnnotationPage of annotations.jsonld
PLAIN_TEXT = "text/plain"  # the notes, and an item's pasted or transcribed text


def utc(value: dt.datetime) -> str:
    """An aware time as an xsd:dateTime in UTC written with ``Z`` (model 3.3.1)."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def deployment_host() -> str:
    """This deployment's name in the IRIs of its people: the first name in
    ``ALLOWED_HOSTS`` that is a plain host (not ``*``, not a ``.domain``
    pattern), else ``localhost``. List the public name first and keep it."""
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and not host.startswith("."):
            return quote(host.lower(), safe=".-_~")
    return "localhost"


def agent_iri(user_id: int) -> str:
    """A person's stable IRI: ``urn:inquest:<host>:user:<id>``. By the user's
    id, which never changes (a username can), and the deployment's name, so
    that two deployments' user 7 are not one person."""
    return f"urn:inquest:{deployment_host()}:user:{user_id}"


def agent(user_id: int, username: str, full_name: str = "") -> dict[str, Any]:
    """A person as a W3C Agent (model 3.3.2): id, type, nickname, name when known."""
    person: dict[str, Any] = {"id": agent_iri(user_id), "type": "Person", "nickname": username}
    if full_name:
        person["name"] = full_name
    return person


def notes_language() -> str:
    """The language of the notes, tags and stances: the deployment's
    ``LANGUAGE_CODE``. Inquest records no language per person or per case;
    the language of the annotated text is the item's own (on the target)."""
    return settings.LANGUAGE_CODE


def motivation(note: str, tags: Sequence[str], assessing: bool) -> str | list[str]:
    """``commenting`` (a note), or ``tagging`` (tags and no note), and also
    ``assessing`` (a stance on a hypothesis); ``highlighting`` when none of
    these. One value as a string, several as a list, as JSON-LD compacts them."""
    reasons = ["commenting"] if note.strip() else ["tagging"] if tags else []
    if assessing:
        reasons.append("assessing")
    if not reasons:
        return "highlighting"
    return reasons[0] if len(reasons) == 1 else reasons


def text_is_from_file(file_type: str) -> bool:
    """Whether an item's text was read from its file (a textual type or a PDF)
    rather than pasted or transcribed (an image, a video, no file)."""
    return bool(file_type) and (files.is_textual(file_type) or file_type == "application/pdf")


def text_format(file_type: str) -> str:
    """The format of the text an annotation's selectors count in: the file's
    detected type when the text was read from it, else ``text/plain``."""
    return file_type if text_is_from_file(file_type) else PLAIN_TEXT


def text_selectors(
    exact: str, prefix: str, suffix: str, start: int | None, end: int | None
) -> list[dict[str, Any]]:
    """A TextQuoteSelector, and a TextPositionSelector when the passage has a
    place (an orphaned annotation keeps its quote only)."""
    selectors: list[dict[str, Any]] = []
    if exact:
        selectors.append(
            {"type": "TextQuoteSelector", "exact": exact, "prefix": prefix, "suffix": suffix}
        )
    if start is not None and end is not None:
        selectors.append({"type": "TextPositionSelector", "start": start, "end": end})
    return selectors


def region_selectors(region: str) -> list[dict[str, Any]]:
    return [{"type": "FragmentSelector", "conformsTo": MEDIA_FRAGMENTS, "value": region}]


def specific_resource(
    source: str, *, format: str, language: str, selector: list[dict[str, Any]]
) -> dict[str, Any]:
    """The target: SOURCE with its format, its language (BCP 47, left out
    when the item has none) and the selectors of the passage or region."""
    target: dict[str, Any] = {"type": "SpecificResource", "source": source}
    if format:
        target["format"] = format
    if language:
        target["language"] = language
    target["selector"] = selector
    return target


def web_annotation(
    *,
    id: str,
    created: Any,
    modified: Any,
    creator: dict[str, Any],
    note: str,
    tags: Sequence[str],
    assessment: tuple[str, str] | None,
    target: dict[str, Any],
) -> dict[str, Any]:
    """One annotation. CREATED and MODIFIED are UTC times (``utc``, or aware
    datetimes the export's encoder writes with ``Z``); ASSESSMENT is the
    stance as text and the hypothesis's IRI. Each TextualBody carries its
    format, language, creator and created; a tag stays ``purpose: tagging``."""
    language = notes_language()

    def textual(value: str, purpose: str) -> dict[str, Any]:
        return {
            "type": "TextualBody",
            "value": value,
            "format": PLAIN_TEXT,
            "language": language,
            "purpose": purpose,
            "creator": creator,
            "created": created,
        }

    bodies = [textual(note, "commenting")] if note.strip() else []
    bodies += [textual(tag, "tagging") for tag in tags]
    if assessment is not None:
        stance, hypothesis = assessment
        bodies.append(textual(stance, "assessing"))
        bodies.append({"type": "SpecificResource", "source": hypothesis, "purpose": "linking"})
    document: dict[str, Any] = {
        "id": id,
        "type": "Annotation",
        "motivation": motivation(note, tags, assessment is not None),
        "created": created,
        "modified": modified,
        "creator": creator,
    }
    if bodies:
        document["body"] = bodies
    document["target"] = target
    return document


def as_web_annotation(
    annotation: Annotation, *, item_url: str, file_url: str, absolute: Any
) -> dict[str, Any]:
    """ANNOTATION (its item, author, hypothesis and tags loaded) for annotations.jsonld.

    A region targets the item's file. A passage targets the file when the
    item's text was read from it, and the item's page otherwise.
    """
    item = annotation.item
    if annotation.region:
        target = specific_resource(
            file_url,
            format=item.file_type,
            language=item.language,
            selector=region_selectors(annotation.region),
        )
    else:
        target = specific_resource(
            file_url if item.file and text_is_from_file(item.file_type) else item_url,
            format=text_format(item.file_type),
            language=item.language,
            selector=text_selectors(
                annotation.quote_exact,
                annotation.quote_prefix,
                annotation.quote_suffix,
                annotation.position_start,
                annotation.position_end,
            ),
        )
    hypothesis = annotation.hypothesis if annotation.hypothesis_id else None
    assessment = None
    if annotation.stance and hypothesis is not None:
        assessment = (
            f"{annotation.stance}: {hypothesis.statement}",
            absolute(f"{item.incident.get_absolute_url()}#hypothesis-{hypothesis.pk}"),
        )
    author = annotation.author
    return web_annotation(
        id=absolute(f"{item_url}#annotation-{annotation.pk}"),
        created=utc(annotation.created_at),
        modified=utc(annotation.updated_at),
        creator=agent(author.pk, author.get_username(), author.get_full_name()),
        note=annotation.body,
        tags=[tag.name for tag in annotation.tags.all()],
        assessment=assessment,
        target=target,
    )


_PAGE = re.compile(r"[1-9][0-9]{0,8}")


def page_number(value: str | None) -> int | None:
    """The ``?page=`` asked for (1, 2, …), None for the collection itself; 404 otherwise."""
    if value is None or value == "":
        return None
    if not _PAGE.fullmatch(value):
        raise Http404("No such page.")
    return int(value)


def as_collection(
    item: EvidenceItem,
    annotations: QuerySet[Annotation],
    *,
    page: int | None,
    absolute: Any,
    collection_url: str,
) -> tuple[dict[str, Any], int]:
    """The item's ANNOTATIONS (a queryset in their order) as an
    ``AnnotationCollection`` whose first page is embedded, or, with PAGE, that
    ``AnnotationPage`` alone; with how many annotations it holds.

    ``PAGE_SIZE`` annotations a page, at ``<collection>?page=<n>`` from 1. An
    empty collection has ``total: 0`` and no pages (a page holds at least one
    annotation). Two queries and a prefetch whatever the size: the count and
    the page's rows.
    """
    from django.urls import reverse

    total = annotations.count()
    pages = -(-total // PAGE_SIZE)
    if page is not None and not 1 <= page <= pages:
        raise Http404("No such page.")
    number = page or 1
    start = (number - 1) * PAGE_SIZE
    item_url = absolute(item.get_absolute_url())
    file_url = absolute(reverse("evidence:download", args=[item.pk]))
    rows = list(annotations[start : start + PAGE_SIZE]) if total else []
    items = [
        as_web_annotation(a, item_url=item_url, file_url=file_url, absolute=absolute) for a in rows
    ]

    def page_url(n: int) -> str:
        return f"{collection_url}?page={n}"

    page_document: dict[str, Any] = {
        "id": page_url(number),
        "type": "AnnotationPage",
        "partOf": collection_url,
        "startIndex": start,
    }
    if number > 1:
        page_document["prev"] = page_url(number - 1)
    if number < pages:
        page_document["next"] = page_url(number + 1)
    page_document["items"] = items
    if page is not None:
        return {"@context": ANNO_CONTEXT, **page_document}, len(items)
    collection: dict[str, Any] = {
        "@context": ANNO_CONTEXT,
        "id": collection_url,
        "type": "AnnotationCollection",
        "label": f"Annotations on “{item.title}” ({item.incident.reference})",
        "total": total,
    }
    if total:
        collection["first"] = page_document
        collection["last"] = page_url(pages)
    return collection, len(items)

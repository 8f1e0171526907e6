"""Markdown for timeline entries and notes, sanitised with nh3.

Raw HTML in the source is escaped by Markdown's own rule, and whatever
Markdown produces passes through nh3's allow-list, so nothing a user writes
can run as script or carry an ``hx-*`` or event-handler attribute.
"""

from __future__ import annotations

import threading

import markdown
import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


EXTENSIONS = ["extra", "sane_lists"]

_local = threading.local()


def _converter() -> markdown.Markdown:
    """This thread's Markdown converter. Building one loads and registers its
    extensions, about 0.8 ms: most of a timeline post's Python. Python-Markdown
    reuses an instance across documents when it is reset between them; one
    per thread, because a conversion keeps state on it."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = markdown.Markdown(
            extensions=EXTENSIONS, output_format="html"
        )
    return converter


def render_markdown(source: str) -> str:
    converter = _converter()
    try:
        html = converter.convert(source)
    finally:
        converter.reset()  # no footnote, abbreviation or reference carries over
    return sanitise(html)


def sanitise(html: str) -> str:
    """HTML reduced to the allowed tags, attributes and link schemes."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )

"""Evidence file types: what a file is, from its bytes.

The type comes from the bytes (puremagic, plus a sniff for markup that a
browser would render), never from the name or the browser's claim. Used by
``incidents.evidence.files``, which re-exports the functions.
"""

from __future__ import annotations

import re

import puremagic

# Types a browser would render as a document or run as code: never inline,
# never through an <img>; served as attachments, previewed as text at most.
MARKUP_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
    }
)
# Raster images Pillow may re-encode into a thumbnail.
RASTER_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff", "image/bmp"}
)
TEXTUAL_PREFIXES = ("text/",)
TEXTUAL_TYPES = frozenset({"application/json", "application/csv", *MARKUP_TYPES})

_MARKUP_SNIFF = (
    (
        re.compile(rb"^\s*<\?xml[^>]*>\s*(<!--.*?-->\s*)*(<!doctype\s+svg|<svg\b)", re.I | re.S),
        "image/svg+xml",
    ),
    (re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype\s+svg|<svg\b)", re.I | re.S), "image/svg+xml"),
    (
        re.compile(
            rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|script|iframe|"
            rb"meta|title|style|div|p|a|img|table|h1|br|b|font)\b",
            re.I | re.S,
        ),
        "text/html",
    ),
    (re.compile(rb"^\s*<\?xml\b", re.I), "application/xml"),
)


def detect_type(head: bytes) -> str:
    """The MIME type of a file from its first bytes (the name and the browser's claim ignored)."""
    if not head:
        return "application/x-empty"
    sniff = head.removeprefix(b"\xef\xbb\xbf")[:4096]
    for pattern, mime in _MARKUP_SNIFF:
        if pattern.match(sniff):
            return mime
    try:
        matches = [m for m in puremagic.magic_string(head) if m.mime_type and m.offset >= 0]
    except (puremagic.PureError, ValueError):
        matches = []
    if matches:
        best = max(matches, key=lambda m: (m.confidence, len(m.byte_match)))
        return best.mime_type
    if _looks_like_text(head):
        return "text/plain"
    return "application/octet-stream"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head.removeprefix(b"\xff\xfe").removeprefix(b"\xfe\xff")[:8192] and not (
        head.startswith((b"\xff\xfe", b"\xfe\xff"))
    ):
        return False
    from charset_normalizer import from_bytes

    best = from_bytes(head[:16384]).best()
    return best is not None


def is_markup(mime: str) -> bool:
    return mime in MARKUP_TYPES


def is_raster_image(mime: str) -> bool:
    return mime in RASTER_TYPES


def is_textual(mime: str) -> bool:
    return mime.startswith(TEXTUAL_PREFIXES) or mime in TEXTUAL_TYPES


def kind_for_type(mime: str) -> str | None:
    """The evidence kind a detected type suggests (None: no opinion)."""
    if is_raster_image(mime):
        return "photo"
    if mime.startswith("video/"):
        return "video"
    if mime == "application/pdf":
        return "document"
    return None

"""The case report as a PDF: a Jinja2 template, its print stylesheet, WeasyPrint.

``build_report`` reads the case (``content.gather``), draws
``templates/reports/case_report.jinja`` in the case's time zone and lays it
out with ``static/css/report.css``. Fonts come from the system (Debian's
fonts-noto-core, with DejaVu as the fallback: both cover Cyrillic, Kazakh
letters included); nothing is fetched while rendering (``_no_fetch``).
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from incidents.cases.models import Incident
from incidents.reports import content, matrix
from incidents.reports.models import check_audience

logger = logging.getLogger(__name__)

TEMPLATE = "reports/case_report.jinja"
STYLESHEET = Path(settings.BASE_DIR) / "static" / "css" / "report.css"


@dataclass(frozen=True)
class Made:
    pdf: bytes
    pages: int
    withheld: dict[str, int]
    case_version: int
    case_as_of: dt.datetime | None


UA_STYLESHEET = Path(__file__).with_name("ua.css")


@cache
def _fetcher() -> Any:
    """WeasyPrint's URL fetcher: ``data:`` URIs only (the matrix's cells); nothing
    outside the document is ever loaded, whatever a source's text links to."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False)


@cache
def _stylesheet() -> Any:
    from weasyprint import CSS

    return CSS(string=STYLESHEET.read_text(encoding="utf-8"), url_fetcher=_fetcher())


@cache
def _document_class() -> Any:
    """WeasyPrint's HTML with a small user-agent stylesheet (``ua.css``): the
    stock one matches every element against rules for forms, ``dir``
    attributes and elements a report never has, a large part of laying out
    a long report."""
    from weasyprint import CSS, HTML

    ua = CSS(string=UA_STYLESHEET.read_text(encoding="utf-8"), url_fetcher=_fetcher())

    class ReportHTML(HTML):
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [ua]

    return ReportHTML


# The chapters, in their order (the template's ids).
CHAPTERS = (
    "judgements",
    "case",
    "hypotheses",
    "matrix",
    "sources",
    "annotations",
    "chronology",
    "custody",
    "method",
)
# A report estimated longer than this is laid out in parts of about
# PART_PAGES pages each, one after the other, and joined: WeasyPrint holds a
# whole document's layout in memory (about 1 MiB a page), and the worker
# must stay within its memory (docs/performance.md).
SINGLE_PAGES = 80
PART_PAGES = 60


def html_of(
    report: content.ReportContent,
    *,
    parts: tuple[str, ...] = CHAPTERS,
    front: bool = True,
    first_page: int | None = None,
    toc: dict[str, int] | None = None,
    total_pages: int | None = None,
) -> str:
    """The report's HTML (or a part of it: ``parts``, ``front``), times in the case's zone."""
    with timezone.override(report.incident.zone):
        return render_to_string(
            TEMPLATE,
            {
                "r": report,
                "parts": parts,
                "front": front,
                "first_page": first_page,
                "toc": toc,
                "total_pages": total_pages,
            },
        )


def estimated_pages(report: content.ReportContent) -> dict[str, float]:
    """About how many pages each chapter takes: enough to plan the parts."""
    rows = len(report.matrix.rows)
    per_page = matrix.ROWS_LANDSCAPE if report.matrix.wide else matrix.ROWS_PORTRAIT
    groups = max(1, len(report.matrix.printed.groups))
    return {
        "judgements": 1.5,
        "case": 1,
        "hypotheses": 1 + len(report.hypotheses) / 2,
        "matrix": 1 + groups * rows / per_page,
        "sources": 1 + len(report.sources) / 21,
        "annotations": 1 + report.cited_count / 9,
        "chronology": 1 + len(report.chronology) / 25,
        "custody": 1 + len(report.custody) / 25,
        "method": 2,
    }


def plan(report: content.ReportContent) -> list[tuple[str, ...]]:
    """The parts to lay out one after the other: one, unless the report is long."""
    pages = estimated_pages(report)
    if sum(pages.values()) <= SINGLE_PAGES:
        return [CHAPTERS]
    parts: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 0.0
    for chapter in CHAPTERS:
        if current and size + pages[chapter] > PART_PAGES:
            parts.append(tuple(current))
            current, size = [], 0.0
        current.append(chapter)
        size += pages[chapter]
    parts.append(tuple(current))
    return parts


def build_pdf(report: content.ReportContent) -> tuple[bytes, int]:
    """REPORT as PDF: the bytes and the number of pages.

    A short report is one WeasyPrint document. A long one is laid out part by
    part (``plan``), each part's layout dropped once its PDF is written, and
    the PDFs joined (pypdf, with their bookmarks); the cover and contents come
    last, when every chapter's first page and the length are known. Its pages
    then read "Page N" (the cover gives the length) rather than "Page N of M".
    """
    parts = plan(report)
    if len(parts) == 1:
        return pdf_of(html_of(report))
    # The cover and the contents first, with placeholder numbers: their length.
    placeholders = dict.fromkeys(_anchors(report), 9999)
    front = _layout(html_of(report, parts=(), toc=placeholders, total_pages=9999))
    front_pages = len(front.pages)
    del front
    pieces: list[bytes] = []
    toc: dict[str, int] = {}
    page = front_pages + 1
    for chapters in parts:
        document = _layout(html_of(report, parts=chapters, front=False, first_page=page))
        for index, laid in enumerate(document.pages):
            for anchor in laid.anchors:
                toc.setdefault(anchor, page + index)
        pieces.append(document.write_pdf())
        page += len(document.pages)
        del document
        gc.collect()
    total = page - 1
    cover = _layout(html_of(report, parts=(), toc=toc, total_pages=total, first_page=1))
    pieces.insert(0, cover.write_pdf())
    return _joined(pieces, report), total


def _anchors(report: content.ReportContent) -> list[str]:
    names = [*CHAPTERS, "method-ach", "method-admiralty", "method-wep", "method-tlp"]
    return names + [f"hyp-{h.id}" for h in report.hypotheses]


def _joined(pieces: list[bytes], report: content.ReportContent) -> bytes:
    """The parts' PDFs as one, with their bookmarks and the report's metadata."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for piece in pieces:
        writer.append(PdfReader(io.BytesIO(piece)))
    case = report.incident
    number = f" {report.number}" if report.number else ""
    writer.add_metadata(
        {
            "/Title": f"{case.reference}: {case.title}",
            "/Author": report.requested_by,
            "/Subject": f"Case report{number} of {case.reference}, for {report.audience.label}",
            "/Keywords": f"{report.audience.label}, {case.reference}, case report",
            "/Creator": "Inquest",
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build_report(
    incident: Incident, *, audience: str, requested_by: str, number: int | None = None
) -> Made:
    """The PDF of INCIDENT for AUDIENCE.

    On PostgreSQL the case is read in one REPEATABLE READ, read-only
    transaction, so the report shows the case at one moment even while
    people keep working on it. (On SQLite the reads run as they are: a
    transaction there would take the database's write lock for the length of
    the reading.)
    """
    check_audience(incident, audience)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            data, version, as_of = _read(incident, audience, requested_by, number)
    else:
        data, version, as_of = _read(incident, audience, requested_by, number)
    pdf, pages = build_pdf(data)
    return Made(pdf, pages, data.withheld.as_dict(), version, as_of)


def _read(
    incident: Incident, audience: str, requested_by: str, number: int | None
) -> tuple[content.ReportContent, int, dt.datetime | None]:
    # The case row as of this read (its version and last activity), then the rest.
    fresh = Incident.objects.get(pk=incident.pk)
    check_audience(fresh, audience)
    data = content.gather(fresh, audience=audience, number=number, requested_by=requested_by)
    return data, fresh.version, fresh.last_activity_at


def _layout(html: str) -> Any:
    """HTML laid out in pages (a WeasyPrint ``Document``)."""
    source = _document_class()(string=html, url_fetcher=_fetcher(), base_url="about:blank")
    return source.render(stylesheets=[_stylesheet()])


def pdf_of(html: str) -> tuple[bytes, int]:
    """HTML laid out as PDF: the bytes and the number of pages."""
    document = _layout(html)
    return document.write_pdf(), len(document.pages)


def warm_up() -> None:
    """Load what the first report would: WeasyPrint, the stylesheets, the fonts
    (text, bold, monospaced) and the template. The worker does it when it starts
    (``ReportsConfig.ready``), so its first report takes as long as the others."""
    from django.template.loader import get_template

    get_template(TEMPLATE)
    pdf_of(WARM_UP)


# A page with every face the report sets (text, bold, italic, monospaced; Cyrillic and
# Kazakh letters): laying it out once loads WeasyPrint's fonts. A constant, no data.
WARM_UP = (
    '<html><body><h2>Warm</h2><p class="src"><b>S1 · B2 · Қазақ</b> Русский <i>text</i></p>'
    '<div class="mx-lines">S1 ▲ ▽ CC</div><p class="lead-in">Noto Sans</p></body></html>'
)


def describe_failure(exc: BaseException) -> str:
    """What the reports page says about a failed run: the error, not a traceback."""
    from django.core.exceptions import ValidationError

    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name

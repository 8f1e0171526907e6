"""The demo case's page and its regions render as they did before the case
page's markup moved from Python into templates (issue 14).

``tests/cases/snapshots/`` holds the pages as the code before that change
drew them (the commit before it, checked out apart, with this same file:
``INQUEST_SNAPSHOT_WRITE=<folder> pytest tests/cases/test_case_page_snapshot.py``
writes them there). Each is the demo case (``manage.py load_demo``) with its
moments set to fixed ones, seen by its lead and by its observer at a fixed
"now", normalised by ``normalise``: CSRF tokens and CSP nonces blanked, one
entity for one character, each run of whitespace made one space, one tag a
line, and of a whole page its title and ``<main>``. Nothing else is
normalised away: a real difference in the markup fails here.

A later change that alters these pages on purpose (a new region, a new kind
of entry in the demo) writes them again from its own code:
``INQUEST_SNAPSHOT_WRITE=tests/cases/snapshots pytest tests/cases/test_case_page_snapshot.py``,
and the diff of tests/cases/snapshots/ shows what it changed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import ConfidenceChange, Hypothesis, HypothesisMove

SNAPSHOTS = Path(__file__).parent / "snapshots"
REFERENCE = "INC-2024-0001"
# The moment the pages are drawn at, and the one the demo's records are dated back from.
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)

# Sequences start again for this test (ids are in the markup, and
# PostgreSQL's sequences do not roll back with a test's transaction).
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def normalise(html: str) -> str:
    """HTML without what differs from one rendering to the next (CSRF tokens,
    CSP nonces), with the same entity for the same character (``&#39;`` and
    ``&#x27;`` alike), and with its whitespace made regular: each run of it
    one space, one tag a line (a space kept where there was one between
    tags). Of a whole page, its title and its ``<main>``: the site frame
    around them (``base.jinja``: the menu, the user's menu, the icon) is the
    frame's own, drawn alike for every page."""
    title = re.search(r"<title>.*?</title>", html, re.S)
    main = re.search(r"<main\b.*</main>", html, re.S)
    if title and main:
        html = f"{title.group(0)}\n{main.group(0)}"
    html = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]*"', r'\1CSRF"', html)
    html = re.sub(r'\snonce="[^"]*"', "", html)
    html = html.replace("&#x27;", "&#39;").replace("&quot;", "&#34;")
    html = re.sub(r"\s+", " ", html).strip()
    return re.sub(r"> ?<", lambda m: ">\n" + m.group(0)[1:-1] + "<", html) + "\n"


def date_the_demo() -> None:
    """The demo's records dated at fixed moments before NOW, in the order they
    were made (the loader dates them when it runs)."""
    moments = {
        StatusUpdate: ("created_at",),
        ConfidenceChange: ("created_at",),
        HypothesisMove: ("created_at",),
        Hypothesis: ("created_at", "updated_at"),
        EvidenceItem: ("created_at",),
    }
    start = NOW - dt.timedelta(days=9)
    for model, fields in moments.items():
        for n, pk in enumerate(model.objects.order_by("pk").values_list("pk", flat=True)):
            at = start + dt.timedelta(hours=3 * n, minutes=7 * n)
            model.objects.filter(pk=pk).update(**dict.fromkeys(fields, at))
    Incident.objects.filter(reference=REFERENCE).update(last_activity_at=NOW, updated_at=NOW)


def pages() -> dict[str, tuple[str, str, dict[str, str]]]:
    """Name -> (user, path, headers) of each page and region compared."""
    case = Incident.objects.get(reference=REFERENCE)
    page = reverse("cases:detail", args=[REFERENCE])
    first, *_ = case.hypotheses.order_by("pk")
    item = case.evidence.order_by("pk").first()
    assert item is not None
    entries = list(case.updates.order_by("-created_at", "-id").values_list("pk", flat=True))
    move = reverse("hypotheses:move", args=[REFERENCE, first.pk])
    confidence = reverse("hypotheses:confidence", args=[REFERENCE, first.pk])
    cell = reverse("hypotheses:cell", args=[REFERENCE, item.pk, first.pk])
    htmx = {"HX-Request": "true"}
    out: dict[str, tuple[str, str, dict[str, str]]] = {}
    regions = [
        "header",
        "hypotheses",
        "evidence",
        "matrix",
        "timeline",
        "timeline-list",
        "matrix-explain-body",
        "attach-load",
        "hypothesis-add-load",
        *(f"status-load-{value}" for value in case.allowed_statuses()),
    ]
    for user in ("lead", "observer"):
        for name, query in [
            ("page", ""),
            ("page-sorted-explained", "?sort=diagnosticity&explain=1"),
            ("page-forms-open", "?add=1&attach=1"),
            ("page-short", "?kind=note&rows=2&sources=2"),
            ("page-status-form", "?status_form=resolved"),
        ]:
            out[f"{user}-{name}"] = (user, page + query, {})
        for region in regions:
            out[f"{user}-region-{region}"] = (user, page, {**htmx, "HX-Target": region})
        out[f"{user}-region-timeline-more"] = (
            user,
            f"{page}?before={entries[4]}",
            {**htmx, "HX-Target": "timeline-more"},
        )
        out[f"{user}-region-matrix-sorted"] = (
            user,
            f"{page}?sort=diagnosticity&rows=3",
            {**htmx, "HX-Target": "matrix"},
        )
        out[f"{user}-cell-cancel"] = (user, f"{cell}?cancel=1", htmx)
    lead = {
        "move-form": (move, htmx),
        "move-citations": (move, {**htmx, "HX-Target": f"cite-{first.pk}"}),
        "move-page": (move, {}),
        "confidence-form": (confidence, htmx),
        "confidence-page": (confidence, {}),
        "cell-editor": (cell, htmx),
        "cell-page": (cell, {}),
    }
    for name, (path, headers) in lead.items():
        out[f"lead-{name}"] = ("lead", path, headers)
    return out


def render_all() -> dict[str, str]:
    """Every page of ``pages()``, normalised, by name."""
    clients = {}
    for user in get_user_model().objects.filter(username__in=["lead", "observer"]):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    out = {}
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        for name, (user, path, headers) in pages().items():
            response = clients[user].get(path, headers=headers)
            assert response.status_code == 200, (name, response.status_code)
            out[name] = normalise(response.content.decode())
    return out


@pytest.fixture
def demo(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo", force=True, stdout=StringIO())
    date_the_demo()


def test_the_demo_case_renders_as_before(demo: None) -> None:
    drawn = render_all()
    folder = os.environ.get("INQUEST_SNAPSHOT_WRITE")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for name, html in drawn.items():
            (Path(folder) / f"{name}.html").write_text(html)
        return
    stored = {path.stem: path.read_text() for path in SNAPSHOTS.glob("*.html")}
    assert sorted(drawn) == sorted(stored)
    differ = []
    for name, html in drawn.items():
        if html != stored[name]:
            diff = difflib.unified_diff(
                stored[name].splitlines(), html.splitlines(), "before", "now", lineterm="", n=1
            )
            differ.append(f"{name}:\n" + "\n".join(list(diff)[:40]))
    assert not differ, "\n\n".join(differ)

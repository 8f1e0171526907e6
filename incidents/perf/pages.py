"""The pages the benchmark measures, and how to reach each one.

Kept apart from the measuring code because it follows the pages as they are
built: a route that does not exist (yet) becomes "not measured: route
missing" instead of an error.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from incidents.perf.benchmark import RouteMissing, Target, first_route, url_or_missing
from incidents.perf.client import csrf_token, next_link
from incidents.perf.generator import BENCH_PASSWORD

if TYPE_CHECKING:
    from incidents.perf.benchmark import Bench
    from incidents.perf.client import Client

PASSWORD = BENCH_PASSWORD
HTMX = {"HX-Request": "true"}


def _target(name: str, group: str, user: str, build: Any, **extra: Any) -> Target:
    try:
        path = build()
    except RouteMissing as exc:
        return Target(name, group, user, missing=f"route missing ({exc})", **extra)
    return Target(name, group, user, path=path, **extra)


def deep_list_path(bench: Bench, client: Client, first: str) -> tuple[str, int]:
    """Follow the list's "next" links from page 1; return the last page reached and its depth."""
    path, hops = first, 0
    for _ in range(bench.deep_hops):
        page = client.request("GET", path)
        if page.status != 200:
            break
        href = next_link(page.body.decode("utf-8", "replace"))
        if not href:
            break
        path = urllib.parse.urljoin(path, href)
        hops += 1
    return path, hops


def deep_list_target(
    bench: Bench, client: Client, user: str, dataset: Any, list_path: str
) -> Target:
    """A page 90 % of the way down the user's list, through the list's own keyset cursor.

    The cursor is built the way the list builds its "next" links (from the row
    the previous page ended on); without the list's cursor class, the "next"
    links are followed from page 1 instead.
    """
    from django.contrib.auth import get_user_model

    from incidents.cases.models import Incident

    try:
        from incidents.cases.search import PAGE_SIZE, Cursor
    except ImportError:
        deep, hops = deep_list_path(bench, client, list_path)
        if not hops:
            return Target("case list, deep page", "list", user, missing="no next link")
        return Target(f"case list, page {hops + 1} (keyset)", "list", user, path=deep)
    username = dataset.member_username if user == "member" else dataset.staff_username
    account = get_user_model()._default_manager.get(username=username)
    visible = Incident.objects.visible_to(account).order_by("-last_activity_at", "-id")
    total = visible.count()
    depth = max(0, int(total * 0.9) - 1)
    row = visible.values_list("last_activity_at", "id")[depth : depth + 1].first()
    if row is None:
        return Target("case list, deep page", "list", user, missing="no cases")
    cursor = Cursor(0, (row[0], row[1])).encode()
    page = (depth + 1) // PAGE_SIZE + 1
    query = urllib.parse.urlencode({"after": cursor})
    return Target(
        f"case list, page {page:,} of {-(-total // PAGE_SIZE):,} (keyset)",
        "list",
        user,
        path=f"{list_path}?{query}",
    )


def targets(bench: Bench, client: Client, user: str, dataset: Any) -> list[Target]:
    terms = dataset.terms
    out: list[Target] = [_target("home", "other", user, lambda: url_or_missing("home"))]

    # The case list.
    try:
        list_path = url_or_missing("cases:list")
    except RouteMissing as exc:
        list_path = ""
        missing = f"route missing ({exc})"
    if list_path:
        out.append(Target("case list, page 1", "list", user, path=list_path))
        out.append(deep_list_target(bench, client, user, dataset, list_path))
        query = urllib.parse.urlencode(
            {"status": "investigating", "severity": "high", "tag": "screen"}
        )
        out.append(Target("case list, 3 filters", "list", user, path=f"{list_path}?{query}"))
        for label, key in (
            ("rare term", "rare"),
            ("common term", "common"),
            ("two terms", "two"),
            ("no match", "none"),
        ):
            q = urllib.parse.urlencode({"q": terms[key]})
            out.append(
                Target(f"search, {label} “{terms[key]}”", "search", user, path=f"{list_path}?{q}")
            )
        # The same terms over the evidence texts (the list's "Sources" scope).
        for label, key in (
            ("rare term", "rare"),
            ("common term", "common"),
            ("two terms", "two"),
            ("no match", "none"),
        ):
            q = urllib.parse.urlencode({"scope": "sources", "q": terms[key]})
            out.append(
                Target(f"sources, {label} “{terms[key]}”", "search", user, path=f"{list_path}?{q}")
            )
    else:
        out.append(Target("case list", "list", user, missing=missing))

    # The case pages.
    normal, heavy = dataset.normal_reference, dataset.heavy_reference
    out.append(
        _target(
            "case page, normal (50 × 8)",
            "case",
            user,
            lambda: url_or_missing("cases:detail", normal),
        )
    )
    out.append(
        _target(
            "case page, heavy (2000 × 12)",
            "heavy",
            user,
            lambda: url_or_missing("cases:detail", heavy),
        )
    )
    out.append(
        _target(
            "export.json, normal case",
            "other",
            user,
            lambda: first_route(["cases:export", "cases:export_json"], normal),
        )
    )

    # The HTMX writes, on the normal case, with the CSRF token from its page.
    try:
        page = client.request("GET", url_or_missing("cases:detail", normal))
        bench.csrf[user] = csrf_token(page.body.decode("utf-8", "replace"), client.cookies)
    except RouteMissing:
        bench.csrf[user] = client.cookies.get("csrftoken", "")
    out.extend(write_targets(user, dataset))
    return out


def write_targets(user: str, dataset: Any) -> list[Target]:
    """The four HTMX writes, on the normal case, as HTMX sends them."""
    from incidents.cases.models import Incident, StatusUpdate
    from incidents.evidence.models import Annotation, EvidenceItem
    from incidents.hypotheses.models import Assessment, Hypothesis, HypothesisMove

    incident = Incident.objects.get(reference=dataset.normal_reference)
    ref = incident.reference
    items = list(EvidenceItem.objects.filter(incident=incident).order_by("id")[:2])
    hypotheses = list(Hypothesis.objects.filter(incident=incident).order_by("id")[:2])
    item = items[0] if items else None
    # The member and staff each work on their own cell and hypothesis.
    own = 0 if user == "member" else 1
    hypothesis = hypotheses[own % len(hypotheses)] if hypotheses else None
    cell_item = items[own % len(items)] if items else None
    writes = [
        _target(
            "write: timeline post",
            "write",
            user,
            lambda: first_route(["cases:timeline", "cases:post_update"], ref),
            method="POST",
            headers=HTMX,
            data=lambda i: {
                "update-kind": "note",
                "update-body": f"Benchmark note {i}: nothing to add.",
            },
            effect=lambda: StatusUpdate.objects.filter(incident=incident).count(),
            cleanup=lambda: StatusUpdate.objects.filter(
                incident=incident, body__startswith="Benchmark note"
            ).delete(),
        )
    ]
    if cell_item and hypothesis:
        writes.append(
            _target(
                "write: matrix cell",
                "write",
                user,
                lambda: url_or_missing("hypotheses:cell", ref, cell_item.pk, hypothesis.pk),
                method="POST",
                headers=HTMX,
                data=lambda i: {
                    "rating": "I" if i % 2 else "C",
                    "relevance": "medium",
                    "reason": f"Benchmark rating {i}.",
                    # The version the editor was loaded with (no lost edits), read untimed.
                    "version": Assessment.objects.filter(evidence=cell_item, hypothesis=hypothesis)
                    .values_list("version", flat=True)
                    .first()
                    or 0,
                },
                effect=lambda: (
                    Assessment.objects.filter(evidence=cell_item, hypothesis=hypothesis)
                    .values_list("version", flat=True)
                    .first()
                    or 0
                ),
            )
        )
    if item:
        text = item.text_body
        start, end = 0, min(len(text), 24)
        writes.append(
            _target(
                "write: annotation",
                "write",
                user,
                lambda: url_or_missing("evidence:annotate", item.pk),
                method="POST",
                headers=HTMX,
                data=lambda i: {
                    "new-body": f"Benchmark annotation {i}.",
                    "new-tags": "",
                    "new-stance": "",
                    "new-hypothesis": "",
                    "new-exact": text[start:end],
                    "new-prefix": "",
                    "new-suffix": text[end : end + 32],
                    "new-start": str(start),
                    "new-end": str(end),
                    "new-region": "",
                },
                effect=lambda: Annotation.objects.filter(item=item).count(),
                # The answer draws every highlight of the item: keep their number.
                cleanup=lambda: Annotation.objects.filter(
                    item=item, body__startswith="Benchmark annotation"
                ).delete(),
            )
        )
    if hypothesis:

        def move(i: int) -> dict[str, Any]:
            # Back and forth between two legal states, read (untimed) just before.
            status, version = Hypothesis.objects.values_list("status", "version").get(
                pk=hypothesis.pk
            )
            target = {"under_evaluation": "supported"}.get(status, "under_evaluation")
            prefix = f"move-{hypothesis.pk}"
            return {
                f"{prefix}-status": target,
                f"{prefix}-rationale": f"Benchmark move {i}.",
                f"{prefix}-version": version,
            }

        writes.append(
            _target(
                "write: hypothesis move",
                "write",
                user,
                lambda: url_or_missing("hypotheses:move", ref, hypothesis.pk),
                method="POST",
                headers=HTMX,
                data=move,
                effect=lambda: HypothesisMove.objects.filter(hypothesis=hypothesis).count(),
                cleanup=lambda: (
                    HypothesisMove.objects.filter(
                        hypothesis=hypothesis, rationale__startswith="Benchmark move"
                    ).delete(),
                    StatusUpdate.objects.filter(
                        hypothesis=hypothesis, body__contains="Benchmark move"
                    ).delete(),
                ),
            )
        )
    return writes

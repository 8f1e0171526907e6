"""The pages the benchmark measures, and how to reach each one.

Kept apart from the measuring code because it follows the pages as they are
built: a route that does not exist (yet) becomes "not measured: route
missing" instead of an error.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from incidents.perf.benchmark import (
    RouteMissing,
    Target,
    csrf_token,
    first_route,
    next_link,
    url_or_missing,
)
from incidents.perf.generator import BENCH_PASSWORD

if TYPE_CHECKING:
    from incidents.perf.benchmark import Bench, Client

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
        deep, hops = deep_list_path(bench, client, list_path)
        if hops:
            out.append(Target(f"case list, page {hops + 1} (keyset)", "list", user, path=deep))
        else:
            out.append(Target("case list, deep page", "list", user, missing="no next link"))
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
    from incidents.cases.models import Incident

    incident = Incident.objects.get(reference=dataset.normal_reference)
    writes: list[Target] = []
    writes.append(
        _target(
            "write: timeline post",
            "write",
            user,
            lambda: first_route(
                ["cases:post_update", "cases:timeline_post", "cases:timeline"],
                incident.reference,
            ),
            method="POST",
            headers=HTMX,
            data=lambda i: {"kind": "note", "body": f"Benchmark note {i}."},
        )
    )
    writes.append(
        Target("write: matrix cell", "write", user, missing="route missing (not wired yet)")
    )
    writes.append(
        Target("write: annotation", "write", user, missing="route missing (not wired yet)")
    )
    writes.append(
        Target("write: hypothesis move", "write", user, missing="route missing (not wired yet)")
    )
    return writes

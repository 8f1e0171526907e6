"""Guard: every page makes the same number of queries whatever the size of the data.

The generator's XS data is made twice (the second time twice as large, with a
normal and a heavy case twice as wide and deep); each page must make exactly
the same number of queries both times, as the 10 % member and as staff. A page
whose route does not exist yet is left out (and the test says so); once it
exists, it is guarded. Timings are never asserted here: ``make bench`` prints
them.

Also: the benchmark's X-Query-Count middleware and floor view, and the pure
helpers of the benchmark client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import MiddlewareNotUsed
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from incidents import urls as project_urls
from incidents.perf import capture
from incidents.perf.benchmark import (
    Result,
    RouteMissing,
    first_route,
    percentile,
    url_or_missing,
)
from incidents.perf.client import csrf_token, next_link
from incidents.perf.generator import MEMBER_USERNAME, STAFF_USERNAME, Generator
from incidents.perf.middleware import QueryCountMiddleware
from incidents.perf.models import Dataset
from incidents.perf.report import markdown

BASE_SCALE = 2  # 40 cases: more than one page of the list (25) for staff

PAGES: dict[str, Callable[[Dataset], str]] = {
    "home": lambda ds: url_or_missing("home"),
    "case list": lambda ds: url_or_missing("cases:list"),
    # Three filters that always match (the normal and heavy cases): an empty page
    # skips its prefetch and would make one query fewer.
    "case list, filtered": lambda ds: url_or_missing(
        "cases:list", query=f"?status=investigating&lead={ds.member_username}&confirmed=no"
    ),
    "search, common term": lambda ds: url_or_missing("cases:list", query="?q=screen"),
    "search, two terms": lambda ds: url_or_missing("cases:list", query="?q=screen+operator"),
    "search, no match": lambda ds: url_or_missing("cases:list", query="?q=zyzzyvaquark"),
    "sources, common term": lambda ds: url_or_missing(
        "cases:list", query="?scope=sources&q=screen"
    ),
    "sources, two terms": lambda ds: url_or_missing(
        "cases:list", query="?scope=sources&q=screen+operator"
    ),
    "sources, no match": lambda ds: url_or_missing(
        "cases:list", query="?scope=sources&q=zyzzyvaquark"
    ),
    "sources, no text": lambda ds: url_or_missing("cases:list", query="?scope=sources"),
    "case page, normal": lambda ds: url_or_missing("cases:detail", ds.normal_reference),
    "case page, heavy": lambda ds: url_or_missing("cases:detail", ds.heavy_reference),
    "export": lambda ds: first_route(["cases:export", "cases:export_json"], ds.normal_reference),
}


def quiet(_: str) -> None:
    pass


@pytest.fixture(autouse=True)
def _no_login_throttling(settings: Any) -> None:
    # force_login has no client address; django-axes would record "unknown" in an
    # inet column, which PostgreSQL refuses.
    settings.AXES_ENABLED = False


def query_counts(client: Any, dataset: Dataset, htmx: bool = False) -> dict[str, int]:
    counts = {}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for name, build in PAGES.items():
        try:
            url = build(dataset)
        except RouteMissing:
            continue
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
        assert response.status_code == 200, f"{name}: HTTP {response.status_code}"
        counts[name] = len(queries)
    return counts


@pytest.mark.django_db
def test_query_counts_do_not_grow_with_the_data(client: Any) -> None:
    """Home, list, search, case pages and export: as the member and staff, page and partial."""
    small = Generator("XS", scale=BASE_SCALE, log=quiet).run()
    before = counts_for_both_users(client, small)
    large = Generator("XS", scale=2 * BASE_SCALE, log=quiet).run()
    after = counts_for_both_users(client, large)
    assert before[(MEMBER_USERNAME, False)], "no page to guard: is cases:list routed?"
    for key, counts in before.items():
        assert after[key] == counts, key


def counts_for_both_users(client: Any, dataset: Dataset) -> dict[tuple[str, bool], dict]:
    found = {}
    for username in (MEMBER_USERNAME, STAFF_USERNAME):
        client.force_login(get_user_model().objects.get(username=username))
        for htmx in (False, True):
            found[(username, htmx)] = query_counts(client, dataset, htmx)
    return found


@pytest.mark.django_db
def test_the_case_list_stays_within_five_queries(client: Any) -> None:
    Generator("XS", scale=BASE_SCALE, log=quiet).run()
    client.force_login(get_user_model().objects.get(username=STAFF_USERNAME))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url_or_missing("cases:list"))
    assert response.status_code == 200
    # Session and user, then the page's own queries.
    assert len(queries) <= 5, [q["sql"][:120] for q in queries]


# -- benchmark mode: query-count header and floor view ------------------------------

urlpatterns = [
    *project_urls.urlpatterns,
    path("_bench/", include("incidents.perf.urls")),
    path(
        "page/",
        lambda request: HttpResponse(
            str(get_user_model().objects.filter(username__startswith="zz").count())
        ),
    ),
]


def test_middleware_is_off_unless_the_bench_setting_is_on(settings: Any) -> None:
    settings.INQUEST_BENCH_FLOOR = False
    with pytest.raises(MiddlewareNotUsed):
        QueryCountMiddleware(lambda request: HttpResponse())


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, INQUEST_BENCH_FLOOR=True)
def test_query_count_header_and_floor_replay(settings: Any, tmp_path: Any) -> None:
    settings.MIDDLEWARE = ["incidents.perf.middleware.QueryCountMiddleware", *settings.MIDDLEWARE]
    from django.test import Client

    client = Client()
    response = client.get("/page/", headers={"X-Bench-Capture": "test-key-1"})
    assert response.status_code == 200
    assert response["X-Query-Count"] == "1"
    assert capture.load("test-key-1") is not None
    floor = client.get("/_bench/floor/test-key-1/")
    assert floor.status_code == 200
    assert floor.content.decode().startswith("1 statements, 1 rows")
    # Unknown and malformed keys are 404, never a file read outside the folder.
    assert client.get("/_bench/floor/no-such-key/").status_code == 404
    assert client.get("/_bench/floor/..%2F..%2Fetc/").status_code == 404


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, INQUEST_BENCH_FLOOR=True)
def test_floor_replays_writes_in_one_transaction_and_rolls_it_back(settings: Any) -> None:
    from incidents.cases.models import Tag

    capture.save(
        "test-write-key",
        [("INSERT INTO cases_tag (name) VALUES (%s)", ["bench-floor-tag"], False)],
    )
    capture._loaded.pop("test-write-key", None)
    from django.test import Client

    response = Client().post("/_bench/floor/test-write-key/")
    assert response.status_code == 200
    assert response.content.decode().startswith("1 statements, 0 rows")
    # The statement ran (a failing one would answer 500) but nothing stays: a
    # replayed write must not land a second time.
    assert not Tag.objects.filter(name="bench-floor-tag").exists()


def test_middleware_ignores_a_bad_capture_key(settings: Any) -> None:
    settings.INQUEST_BENCH_FLOOR = True
    middleware = QueryCountMiddleware(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/", headers={"X-Bench-Capture": "../../etc/passwd"})
    response = middleware(request)
    assert response["X-Query-Count"] == "0"
    assert not (capture.capture_dir() / "../../etc/passwd.pickle").exists()


# -- the client's helpers --------------------------------------------------------------


def test_next_link_prefers_rel_next_and_falls_back_to_the_label() -> None:
    assert next_link('<a href="/cases/?after=abc" rel="next">Next</a>') == "/cases/?after=abc"
    assert next_link('<a href="/x">Case</a><a class="b" href="/cases/?c=1">Next page</a>') == (
        "/cases/?c=1"
    )
    assert next_link('<a href="/cases/?a&amp;b" rel="prev next">›</a>') == "/cases/?a&b"
    assert next_link("<p>No more cases.</p>") is None


def test_csrf_token_from_the_form_then_hx_headers_then_the_cookie() -> None:
    form = '<input type="hidden" name="csrfmiddlewaretoken" value="abc">'
    assert csrf_token(form, {}) == "abc"
    body = '<body hx-headers=\'{"X-CSRFToken": "def"}\'>'
    assert csrf_token(body, {}) == "def"
    assert csrf_token("<p></p>", {"csrftoken": "ghi"}) == "ghi"


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile([3.0], 95) == 3.0


def test_markdown_report_says_not_measured_for_a_missing_route() -> None:
    missing = Result("write: annotation", "write", "member", "POST", "", measured=False)
    missing.note = "not measured: route missing"
    measured = Result(
        "case list, page 1",
        "list",
        "staff",
        "GET",
        "/cases/",
        measured=True,
        median_ms=10.0,
        p95_ms=12.0,
        queries=[3],
        bytes=1000,
        floor_median_ms=5.0,
        ratio=2.0,
        target_ms=25.0,
        met={"time": True, "floor": True, "queries": True},
    )
    report = {
        "meta": {
            "date": "2026-11-25",
            "host": "h",
            "cpu": "c",
            "cpus": 2,
            "database": "PostgreSQL 15",
            "commit": "abc",
            "dataset": {
                "size": "S",
                "cases": 1,
                "evidence": 1,
                "timeline": 1,
                "generated_in_seconds": 1,
            },
        },
        "pages": [vars(missing), vars(measured)],
        "throughput": [{"user": "staff", "note": "not measured: wrk is not installed"}],
        "memory": {
            "workers_mib_before": [],
            "workers_mib_after_pages": [],
            "workers_mib_after_wrk": [],
            "peak_mib": 0,
            "target_mib": 80,
            "met": False,
        },
    }
    text = markdown(report)
    assert "| member | write: annotation | not measured: route missing |" in text
    assert "| staff | case list, page 1 | 10.0 | 12.0 | 3 | 1000 | 5.0 | 2.0 |" in text


def test_middleware_leaves_wrappers_added_during_the_request(settings: Any) -> None:
    """The audit app adds its wrapper when a connection opens mid-request: keep it, drop ours."""
    settings.INQUEST_BENCH_FLOOR = True

    def other(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        return execute(sql, params, many, context)

    def view(request: Any) -> HttpResponse:
        connection.execute_wrappers.append(other)
        return HttpResponse("ok")

    before = list(connection.execute_wrappers)
    try:
        QueryCountMiddleware(view)(RequestFactory().get("/"))
        assert connection.execute_wrappers == [*before, other]
    finally:
        connection.execute_wrappers[:] = before


@pytest.mark.parametrize(("lands", "met"), [(True, True), (False, False)])
def test_a_write_counts_only_if_it_took_effect(monkeypatch: Any, lands: bool, met: bool) -> None:
    """A write that answers 200 with a form error must not pass for a fast write."""
    from incidents.perf import benchmark

    landed = [0]

    def request(self: Any, method: str, path: str, data: Any = None, headers: Any = None) -> Any:
        if lands and not path.startswith("/_bench/"):
            landed[0] += 1
        return benchmark.Response(200, {}, b"1 statements, 0 rows", 0.001)

    monkeypatch.setattr(benchmark.Client, "request", request)
    bench = benchmark.Bench("http://127.0.0.1:9", requests=3, warmup=1, log=lambda _: None)
    bench.results, bench.csrf = [], {}
    target = benchmark.Target(
        "write: x", "write", "member", method="POST", path="/x/", data=lambda i: {}
    )
    target.effect = lambda: landed[0]
    result = bench.measure(benchmark.Client(bench.base_url), target)
    assert result.met["time"] is met, result
    # One capture request, one warm-up and three measured: five writes sent.
    assert ("only 0 of 5 writes took effect" in result.note) is not met


def test_only_picks_the_pages_whose_name_holds_the_text() -> None:
    from incidents.perf import benchmark

    names = ["case list, page 1", "search, rare term", "sources, rare term", "write: annotation"]
    targets = [benchmark.Target(n, "x", "member", method="GET", path="/") for n in names]
    every = benchmark.Bench("http://127.0.0.1:9", log=lambda _: None)
    assert every.chosen(targets) == targets
    some = benchmark.Bench("http://127.0.0.1:9", log=lambda _: None, only="Rare Term")
    assert [t.name for t in some.chosen(targets)] == names[1:3]
    two = benchmark.Bench("http://127.0.0.1:9", log=lambda _: None, only="page 1, WRITE")
    assert [t.name for t in two.chosen(targets)] == [names[0], names[3]]
    none = benchmark.Bench("http://127.0.0.1:9", log=lambda _: None, only="nothing")
    assert none.chosen(targets) == []

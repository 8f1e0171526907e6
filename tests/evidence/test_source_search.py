"""Searching sources (evidence items) from the case list: rules, access, bad input, paging."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from incidents.cases import search
from incidents.cases.models import Incident
from incidents.cases.search import highlight
from incidents.evidence.models import EvidenceItem
from tests.evidence_factories import attach

POSTGRES = connection.vendor == "postgresql"


def items(response: Any) -> list[str]:
    return re.findall(r'class="source-title" href="/evidence/(\d+)/"', response.content.decode())


def ids(*objs: EvidenceItem) -> list[str]:
    return [str(o.pk) for o in objs]


@pytest.fixture
def sources(incident: Incident, lead: Any) -> dict[str, EvidenceItem]:
    return {
        "log": attach(
            incident,
            lead,
            title="Operator log of the screen",
            text_body="21:14 content changed: a flag image was shown for forty seconds.",
        ),
        "video": attach(
            incident,
            lead,
            title="Bystander video",
            description="Filmed from the avenue",
            url="https://tengrinews.kz/video/1",
            obtained_from="A passer-by",
        ),
    }


@pytest.fixture
def other_case(outsider: Any) -> EvidenceItem:
    case = Incident.open_case(by=outsider, title="Another case", time_zone="UTC")
    return attach(case, outsider, title="Secret flag report", text_body="The flag was secret.")


# -- access and methods ----------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/cases/?scope=sources&q=flag")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_wrong_method(client, lead):
    client.force_login(lead)
    assert client.post("/cases/?scope=sources&q=flag").status_code == 405


def test_member_sees_only_sources_of_their_cases(client, lead, sources, other_case):
    client.force_login(lead)
    response = client.get("/cases/?scope=sources&q=flag")
    assert response.status_code == 200
    assert items(response) == ids(sources["log"])
    assert "Secret flag report" not in response.content.decode()


def test_outsider_never_sees_another_case_s_sources(client, outsider, sources, other_case):
    client.force_login(outsider)
    for query in ("flag", "operator", "screen", ""):
        response = client.get(f"/cases/?scope=sources&q={query}")
        assert str(sources["log"].pk) not in items(response)
        assert "Operator log" not in response.content.decode()
    assert items(client.get("/cases/?scope=sources&q=flag")) == ids(other_case)


def test_staff_see_every_case_s_sources(client, staff, sources, other_case):
    client.force_login(staff)
    found = items(client.get("/cases/?scope=sources&q=flag"))
    assert sorted(found) == sorted(ids(sources["log"], other_case))


def test_observer_may_search_the_sources(client, observer, sources):
    client.force_login(observer)
    assert items(client.get("/cases/?scope=sources&q=operator")) == ids(sources["log"])


# -- what is searched ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, key",
    [
        ("Operator", "log"),  # title
        ("seconds", "log"),  # text body
        ("avenue", "video"),  # description
        ("passer", "video"),  # obtained from
        ("tengrinews", "video"),  # URL
    ],
)
def test_searches_title_text_description_origin_and_url(client, lead, sources, query, key):
    client.force_login(lead)
    assert items(client.get(f"/cases/?scope=sources&q={query}")) == ids(sources[key])


def test_cases_scope_is_the_default_and_unchanged(client, lead, incident, sources):
    client.force_login(lead)
    body = client.get("/cases/?q=flag").content.decode()
    assert incident.reference in body
    assert 'class="source-title"' not in body


def test_edited_text_is_searchable_at_once(client, lead, sources):
    EvidenceItem.objects.filter(pk=sources["video"].pk).update(text_body="A tachograph print.")
    client.force_login(lead)
    assert items(client.get("/cases/?scope=sources&q=tachograph")) == ids(sources["video"])


def test_no_text_lists_the_sources_newest_case_first(client, lead, sources, other_case):
    client.force_login(lead)
    response = client.get("/cases/?scope=sources")
    assert sorted(items(response)) == sorted(ids(*sources.values()))


def test_result_row_shows_grade_case_and_snippet(client, lead, incident, sources):
    EvidenceItem.objects.filter(pk=sources["log"].pk).update(reliability="B", credibility=2)
    client.force_login(lead)
    body = client.get("/cases/?scope=sources&q=seconds").content.decode()
    assert 'class="badge grade grade-B"' in body and ">B2<" in body
    assert incident.reference in body and incident.title in body
    assert f'href="/cases/{incident.reference}/"' in body
    assert "<mark>seconds</mark>" in body
    # The whole row (templates/cases/list.jinja, source_row).
    log = sources["log"]
    row = re.search(r"<tr>\s*<td><a class=\"source-title\".*?</tr>", body, re.S)
    assert row is not None
    cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row.group(0), re.S)]
    assert cells == [
        f'<a class="source-title" href="/evidence/{log.pk}/">Operator log of the screen</a>'
        f'<p class="snippet">{cells[0].split('<p class="snippet">')[1]}',
        '<span class="badge grade grade-B" title="Source B, information 2">B2</span>',
        f'<span class="case-ref">{incident.reference}</span> '
        f'<a href="/cases/{incident.reference}/">{incident.title}</a>',
    ]
    assert "<mark>seconds</mark>" in cells[0]


def test_snippet_escapes_the_source_text(client, lead, incident):
    attach(
        incident, lead, title="Hostile", text_body='flag <script>alert("x")</script> <b>bold</b>'
    )
    client.force_login(lead)
    body = client.get("/cases/?scope=sources&q=flag").content.decode()
    assert "<script>alert" not in body and "<b>bold</b>" not in body
    # ts_headline drops what its parser reads as tags; SQLite keeps them, escaped.
    assert "alert(&quot;x&quot;)" in body
    assert "<mark>" in body


def test_highlight_escapes_text_and_balances_markers():
    start, stop = search.SNIPPET_START, search.SNIPPET_STOP
    assert highlight(f"a {start}<i>{stop} b") == "a <mark>&lt;i&gt;</mark> b"
    assert highlight(f"{stop}x{start}y") == "x<mark>y</mark>"
    assert highlight(f"{start}{start}z") == "<mark>z</mark>"
    assert highlight("") == ""


def test_htmx_gets_the_results_region_only(client, lead, sources):
    client.force_login(lead)
    partial = client.get("/cases/?scope=sources&q=flag", HTTP_HX_REQUEST="true")
    full = client.get("/cases/?scope=sources&q=flag")
    assert "<html" not in partial.content.decode() and "<html" in full.content.decode()
    assert items(partial) == items(full) == ids(sources["log"])
    assert partial["Vary"] and "HX-Request" in partial["Vary"]
    assert 'name="scope" value="sources"' in full.content.decode()
    assert re.search(r'value="sources"[^>]*checked', full.content.decode())


def test_case_filters_narrow_the_sources(client, lead, incident, sources):
    client.force_login(lead)
    assert items(client.get("/cases/?scope=sources&q=flag&status=open")) == ids(sources["log"])
    response = client.get("/cases/?scope=sources&q=flag&status=resolved")
    assert items(response) == []
    assert "No sources match" in response.content.decode()


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        '"unclosed',
        "-",
        "or",
        "!!! & | :* <->",
        "()",
        "'; DROP TABLE evidence_evidenceitem; --",
        "\u0000",
        "флаг экран",
    ],
)
def test_odd_search_text_never_fails(client, lead, sources, query):
    client.force_login(lead)
    response = client.get("/cases/", {"scope": "sources", "q": query})
    assert response.status_code == 200


def test_very_long_search_text_is_a_form_error(client, lead, sources):
    client.force_login(lead)
    response = client.get("/cases/", {"scope": "sources", "q": "flag " * 100})
    assert response.status_code == 200
    assert "Ensure this value has at most 200 characters" in response.content.decode()
    assert items(response) == []


@pytest.mark.parametrize("cursor", ["garbage", "W10=", "WzAsWyJ4Il1d", "WzUsWzFdXQ==", "x" * 400])
def test_bad_cursor_is_a_clear_message(client, lead, sources, cursor):
    client.force_login(lead)
    response = client.get("/cases/", {"scope": "sources", "q": "flag", "after": cursor})
    assert response.status_code == 200
    assert "That page link is not valid any more" in response.content.decode()


def test_unknown_scope_is_a_form_error(client, lead):
    client.force_login(lead)
    response = client.get("/cases/?scope=everything&q=flag")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_huge_text_body_is_indexed_in_part_and_still_saved(lead, incident):
    body = ("screen " * 10) + ("lorem ipsum dolor " * 60_000)  # ≈ 1,000,000 characters
    item = attach(incident, lead, title="Big transcript", text_body=body[:1_000_000])
    assert EvidenceItem.objects.filter(pk=item.pk).exists()
    if POSTGRES:
        assert EvidenceItem.objects.filter(
            pk=item.pk, search_vector=search.search_query("screen")
        ).exists()


# -- counts and paging ---------------------------------------------------------------------


def many(incident: Incident, lead: Any, n: int, **fields: Any) -> list[EvidenceItem]:
    """N items; every block of seven shares its created_at (ties for the keyset)."""
    base = timezone.now()
    objs = [
        EvidenceItem(
            incident=incident,
            title=fields.get("title", f"Source {i}"),
            text_body=fields.get("text_body", f"Screen log number {i}."),
            collected_by=lead,
            created_at=base - dt.timedelta(minutes=i // 7),
        )
        for i in range(n)
    ]
    return EvidenceItem.objects.bulk_create(objs)


def walk(client: Any, url: str) -> tuple[list[str], list[str]]:
    forward: list[str] = []
    while True:
        response = client.get(url, HTTP_HX_REQUEST="true")
        forward.extend(items(response))
        match = re.search(r'pager-next" rel="next" href="([^"]+)"', response.content.decode())
        if not match:
            break
        url = "/cases/" + match.group(1).replace("&amp;", "&")
    backward: list[str] = []
    while True:
        response = client.get(url, HTTP_HX_REQUEST="true")
        backward = items(response) + backward
        match = re.search(r'pager-prev" rel="prev" href="([^"]+)"', response.content.decode())
        if not match:
            break
        url = "/cases/" + match.group(1).replace("&amp;", "&")
    return forward, backward


@pytest.mark.parametrize("query", ["scope=sources&q=screen", "scope=sources"])
def test_keyset_pages_have_no_duplicates_or_gaps(client, lead, incident, query):
    second = Incident.open_case(by=lead, title="Second case", time_zone="UTC")
    created = many(incident, lead, 30) + many(second, lead, 25)
    client.force_login(lead)
    forward, backward = walk(client, f"/cases/?{query}")
    assert sorted(forward) == sorted(str(o.pk) for o in created)
    assert len(set(forward)) == len(forward) == 55
    assert backward == forward


def test_count_is_capped(client, lead, incident, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_CAP", 5)
    many(incident, lead, 8)
    client.force_login(lead)
    body = client.get("/cases/?scope=sources&q=screen").content.decode()
    assert "5+ sources match" in body
    assert len(items(client.get("/cases/?scope=sources&q=screen"))) == 5


@pytest.mark.skipif(not POSTGRES, reason="ranking and stemming are PostgreSQL's")
def test_postgres_ranks_title_above_text_and_stems(client, lead, incident):
    text_only = attach(incident, lead, title="Log", text_body="the screens went dark")
    titled = attach(incident, lead, title="Screen report", text_body="nothing else")
    client.force_login(lead)
    assert items(client.get("/cases/?scope=sources&q=screen")) == ids(titled, text_only)
    assert items(client.get("/cases/?scope=sources&q=screen+-dark")) == ids(titled)
    assert items(client.get('/cases/?scope=sources&q="went+dark"')) == ids(text_only)


@pytest.mark.skipif(not POSTGRES, reason="the stored vector is PostgreSQL's")
def test_postgres_vector_is_kept_by_the_trigger(lead, incident):
    item = attach(incident, lead, title="Bystander video", url="https://kazinform.kz/a")
    vector = EvidenceItem.objects.values_list("search_vector", flat=True).get(pk=item.pk)
    assert "bystand" in vector and "kazinform.kz" in vector
    EvidenceItem.objects.filter(pk=item.pk).update(title="Witness account")
    vector = EvidenceItem.objects.values_list("search_vector", flat=True).get(pk=item.pk)
    assert "wit" in vector and "bystand" not in vector


@pytest.mark.skipif(POSTGRES, reason="the SQLite fallback")
def test_sqlite_fallback_is_a_substring_match(client, lead, incident):
    item = attach(incident, lead, title="Log", text_body="Unexpected imagery on the avenue")
    client.force_login(lead)
    assert items(client.get("/cases/?scope=sources&q=xpected+imag")) == ids(item)
    body = client.get("/cases/?scope=sources&q=imagery").content.decode()
    assert "<mark>imagery</mark>" in body


def test_query_count_does_not_grow_with_sources(
    client, lead, incident, django_assert_max_num_queries
):
    many(incident, lead, 3)
    client.force_login(lead)
    client.get("/cases/?scope=sources&q=screen")
    with django_assert_max_num_queries(5):
        client.get("/cases/?scope=sources&q=screen")
    many(incident, lead, 60)
    for case in range(3):
        other = Incident.open_case(by=lead, title=f"More {case}", time_zone="UTC")
        many(other, lead, 10)
    with django_assert_max_num_queries(5):
        client.get("/cases/?scope=sources&q=screen")
    with django_assert_max_num_queries(5):
        client.get("/cases/?scope=sources")


@pytest.mark.skipif(not POSTGRES, reason="the stored vector is PostgreSQL's")
def test_generator_fills_the_vectors_through_copy(client, db):
    from django.contrib.auth import get_user_model

    from incidents.perf.generator import STAFF_USERNAME, Generator
    from incidents.perf.textgen import COMMON_TERM

    Generator("XS", log=lambda _: None).run()
    assert not EvidenceItem.objects.filter(search_vector__isnull=True).exists()
    matches = EvidenceItem.objects.filter(search_vector=search.search_query(COMMON_TERM))
    assert matches.exists()
    client.force_login(get_user_model().objects.get(username=STAFF_USERNAME))
    assert items(client.get(f"/cases/?scope=sources&q={COMMON_TERM}"))


def test_the_derived_vector_stays_out_of_the_audit_trail(lead, sources):
    from incidents.audit.models import AuditEvent

    item = sources["log"]
    EvidenceItem.objects.filter(pk=item.pk).update(title="Operator log, page 2")
    event = AuditEvent.objects.for_object(item).order_by("-id").first()
    assert event.action == "update" and event.after_data["title"] == "Operator log, page 2"
    assert "search_vector" not in event.after_data and "search_vector" not in event.before_data


@pytest.mark.skipif(not POSTGRES, reason="parallel query is PostgreSQL's")
def test_postgres_never_scans_memberships_in_parallel(lead, incident, sources):
    """Starting parallel workers costs more than a member's whole walk (cases/0007).

    The storage parameter is in place, and with parallel plans made free the
    member's candidates still read the memberships serially. (At test sizes
    the planner would not pick the parallel walk it picked at 100,000 cases
    anyway; the figures are in the migration.)
    """
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = 'cases_membership'::regclass")
        assert "parallel_workers=0" in cursor.fetchone()[0]
    qs = search.matching_sources(search.visible_sources(lead), "screen operator")
    with CaptureQueriesContext(connection) as captured:
        assert search.source_candidates(qs, every_case=False)
    with transaction.atomic(), connection.cursor() as cursor:
        for name in ("parallel_setup_cost", "parallel_tuple_cost"):
            cursor.execute(f"SET LOCAL {name} = 0")
        for name in ("min_parallel_table_scan_size", "min_parallel_index_scan_size"):
            cursor.execute(f"SET LOCAL {name} = 0")
        cursor.execute(f"EXPLAIN {captured.captured_queries[-1]['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "cases_membership" in plan
    assert not re.search(r"Parallel .* on cases_membership", plan), plan


@pytest.mark.skipif(not POSTGRES, reason="column statistics targets are PostgreSQL's")
def test_search_vectors_keep_finer_statistics(db):
    """evidence/0008 and cases/0008: a rare word is then estimated rare enough
    that a staff search reads the GIN index instead of walking the key."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attstattarget FROM pg_attribute"
            " WHERE attname = 'search_vector'"
            " AND attrelid IN ('evidence_evidenceitem'::regclass, 'cases_incident'::regclass)"
        )
        targets = dict(cursor.fetchall())
    assert targets == {"evidence_evidenceitem": 1000, "cases_incident": 1000}

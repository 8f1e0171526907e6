"""The case list: access, HTMX partial vs full page, filters, search, keyset paging."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from incidents.cases.models import Incident, Membership
from incidents.cases.search import PAGE_SIZE, Cursor, paginate, segments_for
from incidents.hypotheses.models import Hypothesis

BASE = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def make_cases(n: int, lead: Any, *, start: int = 1, **fields: Any) -> list[Incident]:
    """N cases led by LEAD, inserted in bulk (the search triggers still run on PostgreSQL)."""
    cases = [
        Incident(
            reference=f"INC-2026-{start + i:04d}",
            title=fields.get("title", f"Case number {start + i}"),
            summary=fields.get("summary", ""),
            lead=lead,
            created_by=lead,
            severity=fields.get("severity", "moderate"),
            occurred_at=fields.get("occurred_at", BASE - dt.timedelta(hours=i)),
            last_activity_at=fields.get("last_activity_at", BASE - dt.timedelta(minutes=i)),
        )
        for i in range(n)
    ]
    Incident.objects.bulk_create(cases)
    created = list(Incident.objects.filter(reference__in=[c.reference for c in cases]))
    Membership.objects.bulk_create(
        [Membership(incident=c, user=lead, role=Membership.Role.LEAD) for c in created]
    )
    return created


def refs(response: Any) -> list[str]:
    return re.findall(r'class="case-ref">(INC-\d{4}-\d+)<', response.content.decode())


# -- access and methods ---------------------------------------------------------


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_wrong_method(client, lead):
    client.force_login(lead)
    assert client.post("/cases/").status_code == 405


def test_lists_only_visible_cases(client, incident, outsider, lead):
    other = make_cases(1, outsider, start=500)[0]
    client.force_login(lead)
    response = client.get("/cases/")
    assert response.status_code == 200
    assert refs(response) == [incident.reference]
    assert other.reference not in response.content.decode()


def test_outsider_sees_no_cases(client, incident, outsider):
    client.force_login(outsider)
    response = client.get("/cases/")
    assert refs(response) == []
    assert "No cases yet" in response.content.decode()


def test_staff_sees_every_case(client, incident, staff):
    client.force_login(staff)
    assert refs(client.get("/cases/")) == [incident.reference]


# -- full page and partial --------------------------------------------------------


def test_full_page_without_htmx(client, incident, lead):
    client.force_login(lead)
    response = client.get("/cases/")
    body = response.content.decode()
    assert "<html" in body
    assert 'hx-get="/cases/"' in body
    assert 'hx-push-url="true"' in body
    assert 'hx-trigger="submit, input changed delay:300ms, change, search"' in body
    assert 'id="results"' in body
    assert response["Vary"].count("HX-Request") == 1


def test_partial_with_htmx(client, incident, lead):
    client.force_login(lead)
    response = client.get("/cases/?q=flag", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "<form" not in body
    assert refs(response) == [incident.reference]


def test_history_restore_gets_full_page(client, incident, lead):
    client.force_login(lead)
    response = client.get(
        "/cases/?q=flag", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_filters_are_kept_in_the_form(client, incident, lead):
    client.force_login(lead)
    body = client.get("/cases/?q=flag&status=open&sort=reference").content.decode()
    assert 'value="flag"' in body
    assert '<option value="open" selected>' in body
    assert '<option value="reference" selected>' in body


def test_the_filter_form_shows_each_query_s_own_values(client, incident, lead, staff):
    """Each query shows its own values in the form, the same for whoever asks,
    and errors stay."""

    def form_of(query: str) -> str:
        body = client.get(f"/cases/?{query}").content.decode()
        start = body.index('<form class="card filters"')
        return body[start : body.index("</form>", start)]

    client.force_login(lead)
    first = form_of("q=flag&status=open")
    assert form_of("q=flag&status=open") == first
    assert 'value="flag"' in first and '<option value="open" selected>' in first
    other = form_of("q=glitch&severity=high")
    assert 'value="glitch"' in other and 'value="flag"' not in other
    assert '<option value="open" selected>' not in other
    assert '<option value="high" selected>' in other
    client.force_login(staff)
    assert form_of("q=flag&status=open") == first
    assert form_of("occurred_from=yesterday") == form_of("occurred_from=yesterday")
    assert 'value="yesterday"' in form_of("occurred_from=yesterday")


# -- invalid filters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        ("status=bogus", "Select a valid choice"),
        ("severity=extreme", "Select a valid choice"),
        ("occurred_from=yesterday", "Enter a valid date"),
        ("occurred_from=2026-05-02&occurred_to=2026-05-01", "before the start date"),
        ("tag=%21%21%21", "letters, numbers"),
        ("sort=random", "Select a valid choice"),
        ("after=not-a-cursor", "page link is not valid"),
        ("before=eyJ4IjoxfQ", "page link is not valid"),
        ("q=" + "x" * 300, "at most 200 characters"),
    ],
)
def test_invalid_filters_give_a_form_error(client, incident, lead, query, message):
    client.force_login(lead)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.get(f"/cases/?{query}", **headers)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Check the filters" in body
        assert message in html.unescape(body)
        assert refs(response) == []


def test_cursor_of_another_sort_is_refused(client, incident, lead):
    client.force_login(lead)
    token = Cursor(3, (BASE.isoformat(), 1)).encode()  # "severity" has 4 segments
    assert "page link is not valid" in client.get(f"/cases/?after={token}").content.decode()
    response = client.get(f"/cases/?after={token}&sort=severity")
    assert "page link is not valid" not in response.content.decode()


# -- filters -------------------------------------------------------------------------


def test_filters(client, lead, investigator):
    a, b, c = make_cases(3, lead)
    Incident.objects.filter(pk=a.pk).update(severity="critical", status="investigating")
    Incident.objects.filter(pk=b.pk).update(
        occurred_at=dt.datetime(2025, 1, 10, 23, 30, tzinfo=dt.UTC)
    )
    Incident.objects.filter(pk=c.pk).update(occurred_at=None, lead=investigator)
    a.set_tags(["astana", "led screen"])
    h = Hypothesis.propose(b, by=lead, statement="Glitch", kind="technical_fault")
    Hypothesis.objects.filter(pk=h.pk).update(status="confirmed")
    client.force_login(lead)
    assert refs(client.get("/cases/?severity=critical")) == [a.reference]
    assert refs(client.get("/cases/?status=investigating")) == [a.reference]
    assert refs(client.get("/cases/?tag=led-screen")) == [a.reference]
    assert refs(client.get("/cases/?tag=LED%20Screen")) == [a.reference]
    assert refs(client.get("/cases/?tag=no-such-tag")) == []
    three = "/cases/?status=investigating&severity=critical&tag=astana"
    assert refs(client.get(three)) == [a.reference]
    assert refs(client.get(three.replace("critical", "low"))) == []
    assert refs(client.get("/cases/?lead=bob")) == [c.reference]
    assert refs(client.get("/cases/?lead=nobody")) == []
    assert refs(client.get("/cases/?occurred_from=2025-01-10&occurred_to=2025-01-10")) == [
        b.reference
    ]
    assert refs(client.get("/cases/?occurred_to=2025-12-31")) == [b.reference]
    assert set(refs(client.get("/cases/?occurred_from=2026-01-01"))) == {a.reference}
    assert refs(client.get("/cases/?confirmed=yes")) == [b.reference]
    assert set(refs(client.get("/cases/?confirmed=no"))) == {a.reference, c.reference}
    assert refs(client.get("/cases/?severity=critical&confirmed=yes")) == []


def test_empty_state_offers_to_clear_filters(client, incident, lead):
    client.force_login(lead)
    body = client.get("/cases/?q=zebra", HTTP_HX_REQUEST="true").content.decode()
    assert "No cases match “zebra”" in body
    assert 'href="/cases/">clear filters</a>' in body


# -- search ------------------------------------------------------------------------


def test_search_matches_title_summary_reference_and_hypotheses(client, lead):
    a, b, c, d = make_cases(4, lead)
    Incident.objects.filter(pk=a.pk).update(title="LED screen showed a flag")
    Incident.objects.filter(pk=b.pk).update(summary="The screens went dark on the avenue.")
    Hypothesis.propose(
        c, by=lead, statement="A cyberattack on the content system", kind="cyberattack"
    )
    client.force_login(lead)
    assert refs(client.get("/cases/?q=screen")) == [a.reference, b.reference] or set(
        refs(client.get("/cases/?q=screen"))
    ) == {a.reference, b.reference}
    assert refs(client.get("/cases/?q=cyberattack")) == [c.reference]
    assert refs(client.get(f"/cases/?q={d.reference}")) == [d.reference]
    assert refs(client.get("/cases/?q=nothing-like-this")) == []
    body = client.get("/cases/?q=cyberattack").content.decode()
    assert "1 match" in body


def test_search_sees_statement_changes(client, lead, incident):
    h = Hypothesis.propose(incident, by=lead, statement="Power surge", kind="technical_fault")
    client.force_login(lead)
    assert refs(client.get("/cases/?q=surge")) == [incident.reference]
    Hypothesis.objects.filter(pk=h.pk).update(statement="Operator error")
    assert refs(client.get("/cases/?q=surge")) == []
    assert refs(client.get("/cases/?q=operator")) == [incident.reference]
    h.delete()
    assert refs(client.get("/cases/?q=operator")) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="websearch syntax is PostgreSQL's")
def test_postgres_websearch_syntax_and_stemming(client, lead):
    a, b = make_cases(2, lead)
    Incident.objects.filter(pk=a.pk).update(title="Flag shown on screens", summary="Astana avenue")
    Incident.objects.filter(pk=b.pk).update(title="Flag shown on a billboard", summary="Almaty")
    client.force_login(lead)
    assert set(refs(client.get("/cases/?q=flag"))) == {a.reference, b.reference}
    assert refs(client.get("/cases/?q=screen")) == [a.reference]  # stemmed
    assert refs(client.get("/cases/?q=flag+-astana")) == [b.reference]
    assert refs(client.get('/cases/?q="shown+on+screens"')) == [a.reference]
    assert set(refs(client.get("/cases/?q=astana+or+almaty"))) == {a.reference, b.reference}
    vector = Incident.objects.values_list("search_vector", flat=True).get(pk=a.pk)
    assert "screen" in vector


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ranking is PostgreSQL's")
def test_postgres_relevance_ranks_title_above_summary(client, lead):
    a, b = make_cases(2, lead)
    Incident.objects.filter(pk=a.pk).update(summary="mentions the screen once")
    Incident.objects.filter(pk=b.pk).update(title="Screen incident")
    client.force_login(lead)
    assert refs(client.get("/cases/?q=screen")) == [b.reference, a.reference]
    assert refs(client.get("/cases/?q=screen&sort=reference")) == [a.reference, b.reference]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite fallback")
def test_sqlite_fallback_is_a_substring_match(client, lead):
    (a,) = make_cases(1, lead, title="Unexpected imagery")
    client.force_login(lead)
    assert refs(client.get("/cases/?q=xpected+imag")) == [a.reference]


def test_search_count_is_capped(client, lead, monkeypatch):
    import incidents.cases.search as search

    monkeypatch.setattr(search, "SEARCH_CAP", 5)
    make_cases(8, lead, title="Screen case")
    client.force_login(lead)
    body = client.get("/cases/?q=screen").content.decode()
    assert "5+ matches" in body
    body = client.get("/cases/?q=screen&sort=activity").content.decode()
    assert len(refs(client.get("/cases/?q=screen&sort=activity"))) == 8
    assert "5+ matches" in body


# -- keyset pagination -----------------------------------------------------------------


def walk(client: Any, query: str) -> tuple[list[str], list[str]]:
    """Follow Next to the end, then Previous back to the start."""
    forward: list[str] = []
    pages: list[str] = []
    url = f"/cases/?{query}"
    while True:
        response = client.get(url, HTTP_HX_REQUEST="true")
        forward.extend(refs(response))
        pages.append(url)
        match = re.search(
            r'class="btn btn-secondary btn-small pager-next" rel="next" href="([^"]+)"',
            response.content.decode(),
        )
        if not match:
            break
        url = "/cases/" + match.group(1).replace("&amp;", "&")
    backward: list[str] = []
    while True:
        response = client.get(url, HTTP_HX_REQUEST="true")
        backward = refs(response) + backward
        match = re.search(r'pager-prev" rel="prev" href="([^"]+)"', response.content.decode())
        if not match:
            break
        url = "/cases/" + match.group(1).replace("&amp;", "&")
    return forward, backward


@pytest.mark.parametrize("sort", ["activity", "occurred", "reference", "severity"])
def test_keyset_pages_have_no_duplicates_or_gaps(client, lead, sort):
    n = PAGE_SIZE * 2 + 7
    cases = make_cases(n, lead)
    # Ties on every sort key: blocks of cases share a time; some have no time at all.
    for i, case in enumerate(cases):
        Incident.objects.filter(pk=case.pk).update(
            last_activity_at=BASE - dt.timedelta(minutes=i // 10),
            occurred_at=None if i % 7 == 0 else BASE - dt.timedelta(days=i // 4),
            severity=["low", "moderate", "high", "critical"][i % 4],
        )
    client.force_login(lead)
    forward, backward = walk(client, f"sort={sort}")
    assert len(forward) == n
    assert len(set(forward)) == n
    assert backward == forward
    expected = list(
        Incident.objects.order_by(
            *{
                "activity": ["-last_activity_at", "-id"],
                "reference": ["reference"],
            }.get(sort, ["-id"])
        ).values_list("reference", flat=True)
    )
    if sort in {"activity", "reference"}:
        assert forward == expected


def test_relevance_pages_with_tied_ranks_have_no_gaps(client, lead):
    """Every match ranks the same: the cursor's rank must equal the rank in SQL."""
    n = PAGE_SIZE * 2 + 3
    make_cases(n, lead, title="Screen case")
    client.force_login(lead)
    forward, backward = walk(client, "q=screen")
    assert len(forward) == len(set(forward)) == n
    assert backward == forward


def test_keyset_order_for_occurred_and_severity(lead):
    cases = make_cases(12, lead)
    for i, case in enumerate(cases):
        Incident.objects.filter(pk=case.pk).update(
            occurred_at=None if i % 3 == 0 else BASE - dt.timedelta(days=i % 5),
            severity=["low", "critical", "moderate"][i % 3],
        )
    qs = Incident.objects.all()
    rows = paginate(qs, segments_for("occurred"), size=5).rows
    all_rows: list[Incident] = []
    page = paginate(qs, segments_for("occurred"), size=5)
    all_rows.extend(page.rows)
    while page.next_cursor:
        segs = segments_for("occurred")
        page = paginate(qs, segs, after=Cursor.decode(page.next_cursor, segs), size=5)
        all_rows.extend(page.rows)
    dated = [r for r in all_rows if r.occurred_at]
    undated = [r for r in all_rows if r.occurred_at is None]
    assert all_rows == dated + undated
    assert [(r.occurred_at, r.pk) for r in dated] == sorted(
        ((r.occurred_at, r.pk) for r in dated), reverse=True
    )
    assert [r.pk for r in undated] == sorted((r.pk for r in undated), reverse=True)
    assert rows == all_rows[:5]
    order = {"critical": 0, "high": 1, "moderate": 2, "low": 3}
    segs = segments_for("severity")
    page = paginate(qs, segs, size=50)
    assert [order[r.severity] for r in page.rows] == sorted(order[r.severity] for r in page.rows)


def test_new_case_after_cursor_does_not_shift_pages(client, lead):
    make_cases(PAGE_SIZE + 3, lead)
    client.force_login(lead)
    first = client.get("/cases/", HTTP_HX_REQUEST="true").content.decode()
    next_url = re.search(r'pager-next" rel="next" href="([^"]+)"', first).group(1)
    make_cases(1, lead, start=900, last_activity_at=timezone.now())  # newest, goes on page 1
    second = client.get("/cases/" + next_url.replace("&amp;", "&"), HTTP_HX_REQUEST="true")
    assert len(refs(second)) == 3


# -- query counts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["", "q=case", "status=open&severity=moderate&confirmed=no", "q=case&sort=reference"]
)
def test_query_count_does_not_grow_with_cases(client, lead, query):
    client.force_login(lead)
    make_cases(5, lead)
    for c in Incident.objects.all():
        c.set_tags(["one", "two"])
    client.get(f"/cases/?{query}")  # warm up the session
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(conn) as small:
        client.get(f"/cases/?{query}")
    make_cases(45, lead, start=100)
    for c in Incident.objects.filter(reference__gte="INC-2026-0100"):
        c.set_tags(["three"])
    with CaptureQueriesContext(conn) as large:
        response = client.get(f"/cases/?{query}")
    assert len(refs(response)) > 0
    assert len(small) == len(large)
    # session, user, one page of cases, their tags (+ the capped count of a search)
    assert len(large) == (5 if "q=" in query else 4)


@pytest.mark.parametrize("sort, segments", [("severity", 4), ("occurred", 2)])
def test_segmented_sorts_stay_bounded(client, lead, sort, segments):
    """A page may span several segments (one query each), never more than the sort has."""
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    client.force_login(lead)
    make_cases(50, lead)
    client.get(f"/cases/?sort={sort}")
    with CaptureQueriesContext(conn) as queries:
        client.get(f"/cases/?sort={sort}")
    assert len(queries) <= 3 + segments


def test_deep_page_uses_no_offset(client, lead):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    make_cases(PAGE_SIZE + 2, lead)
    client.force_login(lead)
    first = client.get("/cases/").content.decode()
    next_url = re.search(r'pager-next" rel="next" href="([^"]+)"', first).group(1)
    with CaptureQueriesContext(conn) as queries:
        client.get("/cases/" + next_url.replace("&amp;", "&"))
    assert not any("OFFSET" in q["sql"] for q in queries)
    assert not any("COUNT(" in q["sql"] and "cases_incident" in q["sql"] for q in queries)


def test_a_row_shows_when_the_case_occurred_in_its_own_time_zone(client, lead):
    """10:00 UTC in Astana is 15:00: the row says 15:00 and names the zone; the
    exact instant stays in the machine-readable attribute."""
    (case,) = make_cases(1, lead, occurred_at=dt.datetime(2026, 9, 1, 10, 0, tzinfo=dt.UTC))
    Incident.objects.filter(pk=case.pk).update(time_zone="Asia/Almaty")
    client.force_login(lead)
    html = client.get("/cases/").content.decode()
    assert '<time datetime="2026-09-01T10:00:00+00:00">2026-09-01 15:00</time>' in html
    assert '<span class="small muted">Asia/Almaty</span>' in html


def test_a_row_escapes_what_people_wrote(client, lead):
    (case,) = make_cases(1, lead, title='<script>alert("x")</script> & co')
    lead.first_name, lead.last_name = "<b>Alice</b>", "Lead"
    lead.save()
    client.force_login(lead)
    html = client.get("/cases/").content.decode()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in html  # markupsafe
    assert "<script>alert" not in html
    assert "&lt;b&gt;Alice&lt;/b&gt; Lead" in html
    assert f'href="/cases/{case.reference}/"' in html


def test_the_scope_radio_shows_what_is_searched(client, lead):
    client.force_login(lead)
    html = client.get("/cases/").content.decode()
    assert 'value="cases" id="id_scope_0" checked' in html
    html = client.get("/cases/?scope=sources&q=screen").content.decode()
    assert 'value="sources" id="id_scope_1" checked' in html
    assert 'value="cases" id="id_scope_0" checked' not in html


def test_a_row_shows_the_case_as_the_list_reads_it(client, lead, investigator):
    """One row (templates/cases/list.jinja, case_row): reference and title with
    the confirmed badge and the tags, status, severity, the lead's full name,
    when it occurred in its own zone (UTC in the datetime), the last activity."""
    investigator.first_name, investigator.last_name = "Bob", "Ivanov"
    investigator.save()
    (case, plain) = make_cases(2, lead)
    case.set_tags(["astana", "led screen"])
    h = Hypothesis.propose(case, by=lead, statement="Glitch", kind="technical_fault")
    Hypothesis.objects.filter(pk=h.pk).update(status="confirmed")
    Incident.objects.filter(pk=case.pk).update(
        lead=investigator,
        status="investigating",
        severity="critical",
        time_zone="Asia/Almaty",
        occurred_at=dt.datetime(2026, 9, 1, 22, 30, tzinfo=dt.UTC),
        last_activity_at=dt.datetime(2026, 9, 2, 8, 5, tzinfo=dt.UTC),
    )
    Incident.objects.filter(pk=plain.pk).update(occurred_at=None)
    client.force_login(lead)
    body = client.get("/cases/").content.decode()
    row = re.search(
        rf"<tr>\s*<td><div class=\"case-cell\"><span class=\"case-ref\">{case.reference}<.*?</tr>",
        body,
        re.S,
    )
    assert row is not None
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]
    assert cells == [
        f'<div class="case-cell"><span class="case-ref">{case.reference}</span> '
        f'<a class="case-title" href="/cases/{case.reference}/">{case.title}</a>'
        '<span class="tags"><span class="badge status-confirmed">Confirmed hypothesis</span>'
        '<span class="tag">astana</span><span class="tag">led-screen</span></span></div>',
        '<span class="badge status-investigating">Investigating</span>',
        '<span class="badge severity-critical">Critical</span>',
        "Bob Ivanov",
        '<time datetime="2026-09-01T22:30:00+00:00">2026-09-02 03:30</time>'
        '<br><span class="small muted">Asia/Almaty</span>',
        cells[5],
    ]
    last = (
        r'<time datetime="2026-09-02T08:05:00\+00:00" title="2026-09-02 08:05 UTC">[^<]+ ago</time>'
    )
    assert re.fullmatch(last, cells[5])
    # No tags, nothing confirmed, nothing known of when: no tag list, "Unknown".
    other = body[body.index(f">{plain.reference}<") :]
    other = other[: other.index("</tr>")]
    assert 'class="tags"' not in other
    assert '<td class="nowrap"><span class="muted">Unknown</span></td>' in other
    assert '<td class="hide-narrow nowrap">alice</td>' in other

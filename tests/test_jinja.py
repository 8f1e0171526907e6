"""The Jinja2 environment of the project's pages (``incidents/jinja.py``):
every global and filter the templates use writes what Django's engine
writes, parts of a template render alone, and each engine loads its own
templates only (Jinja2 the project's pages, Django the admin)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import jinja2
import pytest
from django.template import Context, RequestContext, Template, TemplateDoesNotExist, engines
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")


def jinja(source: str, **context: Any) -> str:
    return engines["jinja2"].from_string(source).render(context)


def django(source: str, **context: Any) -> str:
    return Template(source).render(Context(context))


def test_url_is_reverse() -> None:
    path = reverse("cases:members", args=["INC-2026-0001"])
    assert jinja("{{ url('cases:members', ref) }}", ref="INC-2026-0001") == path
    assert django("{% url 'cases:members' ref %}", ref="INC-2026-0001") == path


def test_url_of_an_unknown_view_is_an_error() -> None:
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        jinja("{{ url('cases:nowhere') }}")


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 1, 5, 3, 7, 9, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 20, 23, 42, tzinfo=dt.UTC),  # the next day in Almaty
    ],
)
@pytest.mark.parametrize("fmt", ["c", "j M Y, H:i"])
def test_date_is_djangos_in_the_current_time_zone(moment: dt.datetime, fmt: str) -> None:
    with timezone.override(ALMATY):
        written = jinja("{{ d|date(f) }}", d=moment, f=fmt)
        assert written == django("{{ d|date:f }}", d=moment, f=fmt)
    assert moment.astimezone(ALMATY).strftime("%H") in written


def test_date_of_nothing_is_empty() -> None:
    assert jinja("{{ d|date('c') }}", d=None) == django("{{ d|date:'c' }}", d=None) == ""


@pytest.mark.parametrize("value", [0, 1.005, -14.4, 2.0, 1 / 3, "3.14159", "x"])
def test_floatformat_is_djangos(value: Any) -> None:
    assert jinja("{{ v|floatformat(2) }}", v=value) == django("{{ v|floatformat:2 }}", v=value)


def test_floatformat_is_not_escaped_twice() -> None:
    assert jinja("{{ v|floatformat(2) }}", v=1234.5) == "1234.50"


@pytest.mark.parametrize(
    "value", ["short", "A statement that is rather longer than fifty characters, by far.", ""]
)
def test_truncatechars_is_djangos(value: str) -> None:
    assert jinja("{{ v|truncatechars(50) }}", v=value) == django(
        "{{ v|truncatechars:50 }}", v=value
    )


def test_truncatechars_escapes_text() -> None:
    assert jinja("{{ v|truncatechars(60) }}", v="<b>bold</b> & co") == (
        "&lt;b&gt;bold&lt;/b&gt; &amp; co"
    )


@pytest.mark.parametrize("count", [0, 1, 2, 25])
def test_pluralize_is_djangos(count: int) -> None:
    assert jinja("source{{ n|pluralize }}", n=count) == django("source{{ n|pluralize }}", n=count)


def test_autoescape_is_on_and_safe_strings_stay_safe() -> None:
    assert jinja("{{ v }}", v="<i>") == "&lt;i&gt;"
    assert jinja("{{ v }}", v=mark_safe("<i>x</i>")) == "<i>x</i>"
    assert jinja("{{ v }}", v=SafeString("<b>")) == "<b>"


def test_a_name_the_template_does_not_know_is_an_error() -> None:
    with pytest.raises(jinja2.UndefinedError):
        jinja("{{ nothing }}")
    with pytest.raises(jinja2.UndefinedError):
        jinja("{{ page.nothing }}", page=object())


def test_csrf_input_and_csp_nonce_come_with_the_request() -> None:
    """Through the middleware, as a page gets them: the same nonce as the header's."""
    from django.middleware.csp import ContentSecurityPolicyMiddleware
    from django.middleware.csrf import CsrfViewMiddleware

    template = engines["jinja2"].from_string("{{ csrf_input }}|{{ csp_nonce }}")
    seen: dict[str, str] = {}

    def view(request: Any) -> Any:
        from django.http import HttpResponse

        seen["html"] = template.render({}, request)
        return HttpResponse(seen["html"])

    request = RequestFactory().get("/")
    response = ContentSecurityPolicyMiddleware(CsrfViewMiddleware(view))(request)
    token_input, nonce = seen["html"].split("|")
    assert token_input.startswith('<input type="hidden" name="csrfmiddlewaretoken" value="')
    assert len(nonce) > 10
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_one_csrf_token_per_rendering_as_djangos_engine_gives(rf: RequestFactory) -> None:
    """Django's Jinja2 backend masks a new token at each use of ``csrf_input``."""
    request = rf.get("/")
    template = engines["jinja2"].from_string("{{ csrf_input }}|{{ csrf_input }}")
    first, second = template.render({}, request).split("|")
    assert first == second and 'name="csrfmiddlewaretoken"' in first
    assert template.render({}, request).split("|")[0] != first  # a new one next time
    # csrf_token is the same token, in the field Django's csrf_input writes.
    both = engines["jinja2"].from_string("{{ csrf_input }}|{{ csrf_token }}")
    field, token = both.render({}, request).split("|")
    assert field == f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'


def test_a_block_and_a_macro_render_alone_through_their_names(tmp_path: Any) -> None:
    from incidents.jinja import Jinja2

    (tmp_path / "t.jinja").write_text(
        "{% macro m() %}<m>{{ v }}</m>{% endmacro %}"
        "{% if not alone %}{% block whole %}[{% block b %}{{ m() }}{{ v }}{% endblock %}]"
        "{% endblock %}{% endif %}"
    )
    engine = Jinja2(
        {
            "NAME": "t",
            "DIRS": [tmp_path],
            "APP_DIRS": False,
            "OPTIONS": {"environment": "incidents.jinja.environment"},
        }
    )
    # A block alone still sees the template's macros; nothing else is drawn.
    assert engine.get_template("t.jinja#b").render({"v": "<x>"}) == "<m>&lt;x&gt;</m>&lt;x&gt;"
    assert engine.get_template("t.jinja#m").render({"v": 1}) == "<m>1</m>"
    assert engine.get_template("t.jinja#whole").render({"v": 1}) == "[<m>1</m>1]"
    assert engine.get_template("t.jinja").render({"v": 1}) == "[<m>1</m>1]"
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("t.jinja#nope")


def test_the_pages_parts_render_alone_through_their_names() -> None:
    engine = engines["jinja2"]
    for name in (
        "cases/list.jinja#results",  # a block
        "evidence/detail.jinja#panel",  # a macro
        "accounts/members.jinja#members",
        "409.jinja#conflict",
    ):
        assert engine.get_template(name).template is not None
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("cases/list.jinja#no_such_region")
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("cases/list.jinja#url")  # a global, not a part of the template
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("cases/list.jinja#badge")  # imported, not a part of the template


def test_a_block_alone_sees_the_macros_its_template_imports(tmp_path: Any) -> None:
    from incidents.jinja import Jinja2

    (tmp_path / "m.jinja").write_text("{% macro em(v) %}<em>{{ v }}</em>{% endmacro %}")
    (tmp_path / "t.jinja").write_text(
        '{% from "m.jinja" import em %}'
        "{% if not alone %}[{% block b %}{{ em(v) }}{% endblock %}]{% endif %}"
    )
    engine = Jinja2(
        {
            "NAME": "t",
            "DIRS": [tmp_path],
            "APP_DIRS": False,
            "OPTIONS": {"environment": "incidents.jinja.environment"},
        }
    )
    assert engine.get_template("t.jinja#b").render({"v": "<x>"}) == "<em>&lt;x&gt;</em>"
    assert engine.get_template("t.jinja").render({"v": 1}) == "[<em>1</em>]"


def test_each_engine_loads_its_own_templates_only() -> None:
    """Jinja2 draws the project's pages (templates/), Django the admin (the
    apps' templates): neither finds the other's, so a page cannot be drawn by
    the wrong engine, and no Django-language page is left in templates/."""
    for page in ("base.jinja", "cases/list.jinja", "cases/detail.jinja", "errors/404.jinja"):
        assert engines["jinja2"].get_template(page).template is not None
        with pytest.raises(TemplateDoesNotExist):
            engines["django"].get_template(page)
    for admin in ("admin/base_site.html", "admin/index.html", "admin/login.html"):
        assert engines["django"].get_template(admin).template is not None
        with pytest.raises(TemplateDoesNotExist):
            engines["jinja2"].get_template(admin)
    for gone in ("base.html", "cases/list.html", "registration/login.html"):
        with pytest.raises(TemplateDoesNotExist):
            render_to_string(gone)
    with pytest.raises(TemplateDoesNotExist):
        render_to_string("cases/detail.jinja#no_such_region")


def test_intcomma_utc_and_timezone_are_djangos() -> None:
    moment = dt.datetime(2026, 11, 20, 23, 42, tzinfo=dt.UTC)
    with timezone.override(ALMATY):
        for source, django_source in [
            ("{{ n|intcomma }}", "{% load humanize %}{{ n|intcomma }}"),
            ("{{ d|utc|date('Y-m-d H:i e') }}", "{% load tz %}{{ d|utc|date:'Y-m-d H:i e' }}"),
            (
                "{{ d|timezone('Asia/Tokyo')|date('Y-m-d H:i') }}",
                "{% load tz %}{{ d|timezone:'Asia/Tokyo'|date:'Y-m-d H:i' }}",
            ),
        ]:
            written = jinja(source, n=1234567, d=moment)
            assert written == django(django_source, n=1234567, d=moment)
    assert jinja("{{ d|utc|date('H:i') }}", d=moment) == "23:42"
    assert jinja("{{ d|timezone('Asia/Tokyo')|date('H:i') }}", d=moment) == "08:42"


def test_querystring_is_djangos(rf: RequestFactory) -> None:
    request = rf.get("/cases/", {"q": "a&b", "after": "x", "status": "open"})
    source = "{{ querystring(after=none, before=cursor) }}"
    written = engines["jinja2"].from_string(source).render({"cursor": "c1"}, request)
    expected = Template("{% querystring after=None before=cursor %}").render(
        RequestContext(request, {"cursor": "c1"})
    )
    assert written == expected == "?q=a%26b&amp;status=open&amp;before=c1"


def test_the_shared_macros_escape_what_they_are_given() -> None:
    source = (
        '{% from "macros/common.jinja" import badge, grade, time_tag, ago %}'
        "{{ badge('status', v, v) }}|{{ grade(item, v) }}|{{ time_tag(d) }}|{{ ago(d, true) }}"
    )
    item = type("Item", (), {"reliability": "B", "credibility": 2})()
    moment = dt.datetime(2026, 11, 20, 9, 42, tzinfo=dt.UTC)
    with timezone.override(ALMATY):
        badge, grade, tag, ago = jinja(source, v='<b a="1">', item=item, d=moment).split("|")
    assert (
        badge == '<span class="badge status-&lt;b a=&#34;1&#34;&gt;">&lt;b a=&#34;1&#34;&gt;</span>'
    )
    assert grade == '<span class="badge grade grade-B" title="&lt;b a=&#34;1&#34;&gt;">B2</span>'
    assert tag == '<time datetime="2026-11-20T14:42:00+05:00">20 Nov 2026, 14:42</time>'
    assert ago.startswith(
        '<time datetime="2026-11-20T09:42:00+00:00" title="2026-11-20 09:42 UTC">'
    )

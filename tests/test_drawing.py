"""The case page's parts drawn in Python (``incidents/cases/views/drawing.py``)
write what Django's own helpers and the templates wrote."""

from __future__ import annotations

import pytest
from django.utils.html import escape
from django.utils.text import Truncator
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.cases.models import StatusUpdate
from incidents.cases.views.drawing import (
    _entry_kind,
    entry_li,
    grade_badge,
    id_url,
    truncate,
    truncate_words,
)

# Plain English, Cyrillic and Kazakh, and the awkward: combining marks,
# decomposed letters, ellipses, emoji.
texts = st.one_of(
    st.text(st.characters(codec="ascii"), max_size=120),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=120),
    st.text(st.sampled_from("aé e\u0301қө…😀 -"), max_size=120),
)


@settings(max_examples=300, deadline=None)
@given(text=texts, length=st.integers(min_value=-2, max_value=100))
def test_truncate_is_truncators_chars(text: str, length: int) -> None:
    assert truncate(text, length) == Truncator(text).chars(length)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(texts, st.text(st.sampled_from(" \n\tab…"), max_size=120)),
    length=st.integers(min_value=-2, max_value=50),
)
def test_truncate_words_is_truncators_words(text: str, length: int) -> None:
    assert truncate_words(text, length) == Truncator(text).words(length)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("The vendor says the operator console was unattended during the night", 60),
        ("Короткий", 60),
        ("Оператор пульта сказал, что экран показал флаг примерно десять секунд", 60),
        ("e\u0301" * 70, 60),
        ("x" * 60, 60),
        ("x" * 61, 60),
    ],
)
def test_truncate_examples(text: str, length: int) -> None:
    assert truncate(text, length) == Truncator(text).chars(length)


def test_grade_badge_is_the_templates_markup() -> None:
    assert grade_badge("B", 2, False) == '<span class="badge grade grade-B">B2</span>'
    titled = grade_badge("B", 2, True)
    assert titled.startswith('<span class="badge grade grade-B" title="')
    assert titled.endswith('">B2</span>')
    assert titled == (
        '<span class="badge grade grade-B" title="B — Usually reliable; 2 — Probably true">'
        "B2</span>"
    )


def test_grade_badge_escapes_what_it_does_not_know() -> None:
    badge = grade_badge('"><script>', 9, True)
    assert "<script>" not in badge
    assert escape('"><script>') in badge
    assert 'title="; "' in badge  # no label for an unknown grade


def test_entry_kind_marks_automatic_entries_and_escapes_labels() -> None:
    for kind in StatusUpdate.Kind.values:
        classes, label = _entry_kind(kind)
        automatic = StatusUpdate.Kind(kind).is_automatic
        assert classes == f"entry kind-{kind}" + (" automatic" if automatic else "")
        assert label == escape(StatusUpdate.Kind(kind).label)
    with pytest.raises(ValueError):
        _entry_kind("forged")


def test_entry_li_escapes_the_author_and_keeps_the_stored_html() -> None:
    import datetime as dt

    html = entry_li(7, "note", "<b>eve</b>", dt.datetime(2026, 11, 20, tzinfo=dt.UTC), "<p>x</p>")
    assert '<li class="entry kind-note" id="entry-7">' in html
    assert "&lt;b&gt;eve&lt;/b&gt;" in html and "<p>x</p>" in html


def test_id_url_escaped_once() -> None:
    plain, escaped = id_url("evidence:detail"), id_url("evidence:detail", escaped=True)
    assert plain(12) == "/evidence/12/" == escaped(12)
    assert plain("13") == "/evidence/13/"


def test_time_tag_is_kept_per_moment_and_zone() -> None:
    import datetime as dt
    import zoneinfo

    from django.template import Context, Template
    from django.utils import timezone

    from incidents.cases.views.drawing import time_tag

    moment = dt.datetime(2026, 11, 20, 23, 42, tzinfo=dt.UTC)
    template = Template('<time datetime="{{ d|date:\'c\' }}">{{ d|date:"j M Y, H:i" }}</time>')
    seen = set()
    for zone in ("Asia/Almaty", "Europe/Kyiv", "UTC", "Asia/Almaty"):
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            drawn = str(time_tag(moment))
            assert drawn == template.render(Context({"d": moment}))  # the filter's, each time
            seen.add(drawn)
    assert len(seen) == 3  # one per zone: a kept tag never leaks into another zone


def test_time_tag_refuses_a_naive_datetime() -> None:
    import datetime as dt

    from incidents.cases.views.drawing import time_tag

    with pytest.raises(ValueError):
        time_tag(dt.datetime(2026, 11, 20, 23, 42))

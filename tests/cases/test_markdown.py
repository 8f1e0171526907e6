"""render_markdown (incidents/cases/markdown.py): one reused converter per
thread gives what a fresh one gives, and nothing carries from one entry to
the next."""

from __future__ import annotations

import threading

import markdown

from incidents.cases.markdown import EXTENSIONS, render_markdown, sanitise

SOURCES = [
    "**LED screen** on _Abay Avenue_:\n\n- 14:02 flag shown\n- 14:03 back to the ad loop",
    "The operator[^1] says the feed was local.\n\n[^1]: Interview, 12 May.",
    "| Time | Source |\n| --- | --- |\n| 14:02 | CCTV |",
    "*[CCTV]: closed-circuit television\n\nCCTV shows the screen.",
    "See [the statement][ministry].\n\n[ministry]: https://example.org/statement",
    '<script>alert(1)</script> [x](javascript:alert(1)) <b hx-get="/">b</b>',
    "",
]


def fresh(source: str) -> str:
    """What a converter built for SOURCE alone writes, sanitised the same way."""
    return sanitise(markdown.markdown(source, extensions=EXTENSIONS, output_format="html"))


def test_the_reused_converter_writes_what_a_fresh_one_writes() -> None:
    for _ in range(2):
        for source in SOURCES:
            assert render_markdown(source) == fresh(source)


def test_nothing_carries_over_to_the_next_entry() -> None:
    render_markdown(SOURCES[1])  # a footnote
    render_markdown(SOURCES[3])  # an abbreviation
    render_markdown(SOURCES[4])  # a reference link
    after = render_markdown("CCTV, [ministry] and [^1].")
    assert "<abbr" not in after and "<a " not in after and "footnote" not in after
    assert "[ministry]" in after and "[^1]" in after


def test_threads_convert_with_converters_of_their_own() -> None:
    results: dict[int, list[str]] = {}

    def work(n: int) -> None:
        results[n] = [render_markdown(source) for source in SOURCES * 20]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [fresh(source) for source in SOURCES * 20]
    assert all(results[n] == expected for n in range(4))


def test_markup_that_could_run_is_removed() -> None:
    html = render_markdown(SOURCES[5])
    assert "<script" not in html and "javascript:" not in html and "hx-get" not in html

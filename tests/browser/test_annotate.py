"""Annotating in Chromium: select a passage, write a note in the popover, see the highlight;
drag a rectangle on an image; no serious accessibility violations on the item page."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from incidents.cases.models import Incident, Membership
from incidents.evidence.models import Annotation
from incidents.hypotheses.models import Hypothesis
from tests.conftest import PASSWORD
from tests.evidence_factories import TEXT, attach, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("EVIDENCE_SCREENSHOTS", "")


@pytest.fixture
def case(db: Any) -> dict[str, Any]:
    users = get_user_model().objects
    alice = users.create_user("alice", password=PASSWORD, email="alice@example.org")
    incident = Incident.open_case(by=alice, title="Flag shown on an LED screen")
    bob = users.create_user("bob", password=PASSWORD, email="bob@example.org")
    Membership.objects.create(incident=incident, user=bob, role=Membership.Role.INVESTIGATOR)
    hypothesis = Hypothesis.propose(
        incident, by=alice, statement="The content system was hacked.", kind="cyberattack"
    )
    log = attach(incident, alice, TEXT.encode(), name="log.txt", title="Operator log")
    photo = attach(incident, alice, png_bytes(800, 600), name="screen.png", title="Photo")
    return {"alice": alice, "log": log, "photo": photo, "hypothesis": hypothesis}


def sign_in(page: Any, live_server: Any, username: str = "alice") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit], main input[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


SELECT = """([selector, phrase]) => {
  const box = document.querySelector(selector);
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const at = node.data.indexOf(phrase);
    if (at >= 0) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + phrase.length);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      const rect = range.getBoundingClientRect();
      box.dispatchEvent(new MouseEvent("mouseup", {bubbles: true,
        clientX: rect.right, clientY: rect.bottom}));
      return true;
    }
  }
  return false;
}"""


def test_select_a_passage_and_annotate_it(page: Any, live_server: Any, case: dict) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server)
    log = case["log"]
    page.goto(f"{live_server.url}{log.get_absolute_url()}")
    popover = page.locator("#annotation-form")
    assert not popover.is_visible()  # a popover, until something is selected

    assert page.evaluate(SELECT, ["#evidence-text", "flag image shown"])
    popover.wait_for(state="visible")
    assert page.input_value("#id_new-exact") == "flag image shown"
    assert page.input_value("#id_new-start") == str(TEXT.index("flag image shown"))
    page.fill("#id_new-body", "Forty seconds: too short for a manual edit.")
    page.fill("#id_new-tags", "timing")
    page.select_option("#id_new-stance", "supports")
    page.select_option("#id_new-hypothesis", str(case["hypothesis"].pk))
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/popover.png", full_page=True)
    url_before = page.url
    page.click("#annotation-form button[type=submit]")

    mark = page.locator("mark.anno", has_text="flag image shown")
    mark.wait_for()
    assert page.url == url_before  # never left the page
    annotation = Annotation.objects.get()
    assert (annotation.quote_exact, annotation.stance) == ("flag image shown", "supports")
    assert page.locator("#annotation-panel .annotation .note").inner_text().startswith("Forty")

    mark.click()  # a highlight opens its note
    bubble = page.locator("#note-bubble")
    bubble.wait_for(state="visible")
    assert "Forty seconds" in bubble.inner_text()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/highlight.png", full_page=True)
    assert errors == []


def test_annotations_land_in_text_order_and_edit_in_place(
    page: Any, live_server: Any, case: dict
) -> None:
    """The second annotation's answer carries only its entry: it lands in text order,
    the popover closes, the count and highlights follow; an edit swaps that entry alone."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log = case["log"]
    first_phrase = "flag image shown"
    earlier_phrase = "scheduled playlist"  # before it in the text
    assert TEXT.index(earlier_phrase) < TEXT.index(first_phrase)
    Annotation.create_for(log, by=case["alice"], body="First note.", exact=first_phrase)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{log.get_absolute_url()}")
    assert page.locator("#annotation-count").inner_text().strip() == "1"

    assert page.evaluate(SELECT, ["#evidence-text", earlier_phrase])
    page.locator("#annotation-form").wait_for(state="visible")
    page.fill("#id_new-body", "Earlier note.")
    page.click("#annotation-form button[type=submit]")
    notes = page.locator("#annotation-list .annotation .note")
    page.locator("#annotation-list .annotation").nth(1).wait_for()
    assert [n.strip() for n in notes.all_inner_texts()] == ["Earlier note.", "First note."]
    assert page.locator("#annotation-count").inner_text().strip() == "2"
    assert page.locator("mark.anno").count() == 2
    page.locator("#annotation-form").wait_for(state="hidden")  # the popover closed
    assert page.input_value("#id_new-body") == ""  # and is fresh for the next one
    assert page.input_value("#id_new-exact") == "" and page.input_value("#id_new-start") == ""
    # The same form takes the next annotation.
    assert page.evaluate(SELECT, ["#evidence-text", first_phrase])
    page.locator("#annotation-form").wait_for(state="visible")
    page.fill("#id_new-body", "Third note.")
    page.click("#annotation-form button[type=submit]")
    page.locator("#annotation-list .annotation .note", has_text="Third note.").wait_for()
    assert page.locator("#annotation-count").inner_text().strip() == "3"

    # Edit the new entry in place.
    entry = page.locator("#annotation-list .annotation").first
    entry.locator("summary", has_text="Edit").click()
    entry.locator("textarea").first.fill("Earlier note, edited.")
    entry.locator("button", has_text="Save").click()
    page.locator("#annotation-list .annotation .note", has_text="edited").wait_for()
    assert page.locator("#annotation-list .annotation").count() == 3
    assert Annotation.objects.filter(body="Earlier note, edited.").exists()
    assert errors == []


def test_drag_a_rectangle_on_an_image(page: Any, live_server: Any, case: dict) -> None:
    sign_in(page, live_server)
    photo = case["photo"]
    page.goto(f"{live_server.url}{photo.get_absolute_url()}")
    image = page.locator("[data-region-canvas] img")
    image.wait_for()
    page.wait_for_function("document.querySelector('[data-region-canvas] img').complete")
    box = image.bounding_box()
    scale = 800 / box["width"]
    page.mouse.move(box["x"] + 100, box["y"] + 50)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 120, steps=5)
    page.mouse.up()
    page.locator("#annotation-form").wait_for(state="visible")
    region = page.input_value("#id_new-region")
    assert region.startswith("xywh=")
    page.fill("#id_new-body", "The flag in the frame.")
    page.click("#annotation-form button[type=submit]")
    page.locator("svg.region-layer a rect.region").first.wait_for()
    annotation = Annotation.objects.get()
    x, y, w, h = annotation.xywh
    assert abs(x - 100 * scale) <= 2 and abs(y - 50 * scale) <= 2
    assert abs(w - 100 * scale) <= 2 and abs(h - 70 * scale) <= 2
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/region.png", full_page=True)


def test_item_page_has_no_serious_accessibility_violations(
    page: Any, live_server: Any, case: dict
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    Annotation.create_for(case["log"], by=case["alice"], body="Note", exact="flag image")
    sign_in(page, live_server)
    from django.urls import reverse

    pages = [
        case["log"].get_absolute_url(),
        case["photo"].get_absolute_url(),
        reverse("evidence:case_annotations", args=[case["log"].incident.reference]),
    ]
    for path in pages:
        page.goto(f"{live_server.url}{path}")
        # The page's own content (the site header belongs to the base layout).
        results = Axe().run(page, context={"include": [["main"]]})
        serious = [
            v for v in results.response["violations"] if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], [(v["id"], v["nodes"][0]["html"]) for v in serious]

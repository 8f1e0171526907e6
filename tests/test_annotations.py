"""Annotations: selectors re-validated, re-anchoring, regions, authorship, export, counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from incidents.evidence import annotations as anno
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.hypotheses.models import Hypothesis
from tests.evidence_factories import TEXT, attach, fast_hashing, png_bytes  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(incident: Any, lead: Any) -> EvidenceItem:
    return attach(incident, lead, text_body=TEXT, title="Operator log", url="https://e.org/")


@pytest.fixture
def hypothesis(incident: Any, lead: Any) -> Hypothesis:
    return Hypothesis.propose(
        incident, by=lead, statement="The content system was hacked.", kind="cyberattack"
    )


def quote(text: str, exact: str, occurrence: int = 0) -> dict[str, Any]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(exact, start + 1)
    end = start + len(exact)
    return {
        "exact": exact,
        "prefix": text[max(0, start - 32) : start],
        "suffix": text[end : end + 32],
        "start": start,
        "end": end,
    }


def login(client: Client, user: Any) -> Client:
    client.force_login(user)  # (client.login needs REMOTE_ADDR for login throttling)
    return client


# -- Anchoring ---------------------------------------------------------------


def test_quote_is_validated_against_the_stored_text(item: EvidenceItem, lead: Any) -> None:
    a = Annotation.create_for(item, by=lead, body="Key line", **quote(TEXT, "flag image"))
    assert item.annotation_text[a.position_start : a.position_end] == "flag image"
    assert a.quote_prefix.endswith("content changed: ")


def test_quote_not_in_the_text_is_refused(item: EvidenceItem, lead: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Annotation.create_for(item, by=lead, body="x", exact="Ukraine flag", start=0, end=12)
    assert "not in this item's text" in caught.value.message_dict["exact"][0]
    assert not Annotation.objects.exists()


def test_wrong_position_is_corrected_by_the_quote(item: EvidenceItem, lead: Any) -> None:
    a = Annotation.create_for(item, by=lead, body="x", exact="night operator", start=3, end=17)
    assert TEXT[a.position_start : a.position_end] == "night operator"


def test_second_occurrence_is_chosen_by_its_context(item: EvidenceItem, lead: Any) -> None:
    selector = quote(TEXT, "playlist", occurrence=1)
    del selector["start"], selector["end"]
    a = Annotation.create_for(item, by=lead, body="x", **selector)
    assert a.position_start == TEXT.index("playlist", TEXT.index("playlist") + 1)


def test_astral_characters_count_as_one_code_point(incident: Any, lead: Any) -> None:
    text = "🚩 flag shown 🚩 then removed"
    item = attach(incident, lead, text_body=text, title="Post", url="https://e.org/")
    a = Annotation.create_for(
        item, by=lead, body="x", exact="then", start=text.index("then"), end=text.index("then") + 4
    )
    assert a.position_start == 15  # code points, as the W3C TextPositionSelector counts


def test_reanchors_after_an_edit_that_moves_the_passage(item: EvidenceItem, lead: Any) -> None:
    a = Annotation.create_for(item, by=lead, body="x", **quote(TEXT, "flag image"))
    moved = "Preface added by the translator.\n\n" + TEXT
    assert item.set_text_body(moved, by=lead) == []
    a.refresh_from_db()
    assert a.anchor_state == Annotation.Anchor.REANCHORED
    assert moved[a.position_start : a.position_end] == "flag image"


def test_reanchor_prefers_the_occurrence_with_matching_context(
    item: EvidenceItem, lead: Any
) -> None:
    a = Annotation.create_for(item, by=lead, body="x", **quote(TEXT, "playlist", occurrence=1))
    edited = "The playlist was odd.\n" + TEXT.replace("21:13 scheduled", "21:13 the scheduled")
    item.set_text_body(edited, by=lead)
    a.refresh_from_db()
    assert edited[a.position_start : a.position_end] == "playlist"
    assert edited[: a.position_start].endswith("21:15 ")


def test_orphaned_after_an_edit_that_removes_the_passage(
    item: EvidenceItem, lead: Any, client: Client
) -> None:
    a = Annotation.create_for(item, by=lead, body="Gone note", **quote(TEXT, "night operator"))
    removed = TEXT.replace(" by the night operator", "")
    orphaned = item.set_text_body(removed, by=lead)
    assert [o.pk for o in orphaned] == [a.pk]
    a.refresh_from_db()
    assert a.anchor_state == Annotation.Anchor.ORPHANED
    assert a.position_start is None and a.quote_exact == "night operator"
    html = login(client, lead).get(item.get_absolute_url()).content.decode()
    assert "Orphaned annotations (1)" in html and "Gone note" in html
    assert 'data-annotations="' not in html  # no highlight for it


def test_unchanged_position_stays_anchored(item: EvidenceItem, lead: Any) -> None:
    a = Annotation.create_for(item, by=lead, body="x", **quote(TEXT, "flag image"))
    item.set_text_body(TEXT + "\nAppendix.", by=lead)
    a.refresh_from_db()
    assert a.anchor_state == Annotation.Anchor.ANCHORED


def test_highlights_are_escaped_and_overlaps_split(item: EvidenceItem, lead: Any) -> None:
    text = "a <b>bold</b> claim & more"
    one = Annotation(pk=1, position_start=2, position_end=13)
    two = Annotation(pk=2, position_start=8, position_end=19)
    html = anno.render_highlights(text, [one, two])
    assert "<b>" not in html
    assert '<mark class="anno" data-annotations="1 2"' in html
    assert html.count("<mark") == 3


# -- Regions ---------------------------------------------------------------------


def test_region_on_an_image(incident: Any, lead: Any) -> None:
    photo = attach(incident, lead, png_bytes(400, 300), name="screen.png", title="Photo")
    a = Annotation.create_for(photo, by=lead, body="The flag", region="xywh=10,20,100,50")
    assert a.region == "xywh=10,20,100,50" and a.xywh == (10, 20, 100, 50)
    for bad in ["xywh=390,20,100,50", "xywh=1,1,0,5", "nonsense", "xywh=-1,0,5,5"]:
        with pytest.raises(ValidationError):
            Annotation.create_for(photo, by=lead, body="x", region=bad)


def test_region_refused_on_text(item: EvidenceItem, lead: Any) -> None:
    with pytest.raises(ValidationError):
        Annotation.create_for(item, by=lead, body="x", region="xywh=1,1,5,5")


# -- Stance and authorship ---------------------------------------------------------------


def test_stance_needs_a_hypothesis_of_the_same_case(
    item: EvidenceItem, lead: Any, hypothesis: Hypothesis
) -> None:
    from incidents.cases.models import Incident

    with pytest.raises(ValidationError):
        Annotation.create_for(item, by=lead, body="x", stance="supports", exact="flag image")
    other_case = Incident.open_case(by=lead, title="Other")
    foreign = Hypothesis.propose(other_case, by=lead, statement="Other", kind="other")
    with pytest.raises(ValidationError):
        Annotation.create_for(
            item, by=lead, body="x", stance="supports", hypothesis=foreign, exact="flag image"
        )


def test_only_the_author_edits_and_deletes(
    item: EvidenceItem, lead: Any, investigator: Any
) -> None:
    a = Annotation.create_for(item, by=investigator, body="mine", exact="flag image")
    with pytest.raises(PermissionDenied):
        a.edit(by=lead, body="hijack", tags=[], stance="", hypothesis=None)
    with pytest.raises(PermissionDenied):
        a.soft_delete(by=lead)
    a.edit(
        by=investigator, body="mine, edited", tags=["Timing", "timing"], stance="", hypothesis=None
    )
    assert [t.name for t in a.tags.all()] == ["timing"]
    a.soft_delete(by=investigator)
    a.refresh_from_db()
    assert a.deleted_at is not None and a.body == "mine, edited"  # still on record


def test_stance_counts_in_one_query(
    item: EvidenceItem,
    lead: Any,
    hypothesis: Hypothesis,
    incident: Any,
    django_assert_num_queries: Any,
) -> None:
    other = Hypothesis.propose(
        incident, by=lead, statement="A technical fault.", kind="technical_fault"
    )
    for stance, h in [
        ("supports", hypothesis),
        ("supports", hypothesis),
        ("contradicts", hypothesis),
        ("contradicts", other),
        ("", None),
    ]:
        Annotation.create_for(
            item, by=lead, body="x", stance=stance, hypothesis=h, exact="flag image"
        )
    gone = Annotation.create_for(
        item, by=lead, body="x", stance="supports", hypothesis=other, exact="flag image"
    )
    gone.soft_delete(by=lead)
    with django_assert_num_queries(1):
        counts = Annotation.objects.stance_counts(incident)
    assert counts == {
        hypothesis.pk: {"supports": 2, "contradicts": 1},
        other.pk: {"supports": 0, "contradicts": 1},
    }


# -- Views ----------------------------------------------------------------------------


def form_data(**selector: Any) -> dict[str, Any]:
    data = {
        "new-body": "Shown for 40 seconds.",
        "new-tags": "timing",
        "new-stance": "",
        "new-hypothesis": "",
    }
    names = {"prefix": "quote_prefix", "suffix": "quote_suffix"}
    data.update(
        {f"new-{names.get(k, k)}": "" if v is None else str(v) for k, v in selector.items()}
    )
    return data


def test_annotate_view_with_htmx_returns_the_region(
    client: Client, item: EvidenceItem, investigator: Any, hypothesis: Hypothesis
) -> None:
    login(client, investigator)
    data = form_data(**quote(TEXT, "flag image"))
    data.update({"new-stance": "supports", "new-hypothesis": str(hypothesis.pk)})
    response = client.post(
        reverse("evidence:annotate", args=[item.pk]), data, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    # What changed, not the whole section: a fresh form, the text, and (for the
    # item's first annotation) the panel, swapped out of band.
    assert "<html" not in html and 'id="annotations"' not in html
    assert 'id="annotation-form"' in html and "has-errors" not in html
    assert (
        'id="evidence-text"' in html
        and 'id="panel" hx-target="this" hx-swap="outerHTML" hx-swap-oob="true"' in html
    )
    assert '<mark class="anno"' in html and ">flag image</mark>" in html
    assert "annotations-changed" in response["HX-Trigger"]
    a = item.annotations.get()
    assert (a.stance, a.hypothesis, a.author) == ("supports", hypothesis, investigator)


def test_another_annotation_answers_only_its_entry_in_place(
    client: Client, item: EvidenceItem, investigator: Any, lead: Any
) -> None:
    """With annotations already there, the answer carries the new entry (placed before
    the one that follows it in text order), the count and the highlights: nothing else."""
    later = Annotation.create_for(item, by=lead, body="A later passage.", exact="night operator")
    before_all = TEXT.index("night operator")
    assert TEXT.index("flag image") < before_all
    login(client, investigator)
    url = reverse("evidence:annotate", args=[item.pk])
    response = client.post(url, form_data(**quote(TEXT, "flag image")), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    added = item.annotations.exclude(pk=later.pk).get()
    # The popover's form stays on the page (annotate.js empties and closes it):
    # only the out-of-band parts are swapped.
    assert response["HX-Reswap"] == "none" and 'id="annotation-form"' not in html
    assert f'hx-swap-oob="beforebegin:#annotation-{later.pk}"' in html
    assert f'id="annotation-{added.pk}"' in html and f'id="annotation-{later.pk}"' not in html
    assert 'id="annotation-count" class="count" hx-swap-oob="true">2<' in html
    assert html.count("<mark") == 2 and 'id="panel"' not in html
    assert "A later passage." not in html  # the other entries stay as they are
    # The last one in text order goes at the end of the list.
    html = client.post(
        url, form_data(**quote(TEXT, TEXT.strip()[-8:])), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-swap-oob="beforeend:#annotation-list"' in html
    assert 'hx-swap-oob="true">3<' in html


def test_annotate_invalid_input_with_htmx_answers_the_form_alone(
    client: Client, item: EvidenceItem, investigator: Any
) -> None:
    login(client, investigator)
    data = form_data(exact="not in the text")
    response = client.post(
        reverse("evidence:annotate", args=[item.pk]), data, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="annotation-form"') and "has-errors" in html
    assert "That passage is not in this item" in html and 'id="panel"' not in html
    assert not item.annotations.exists()


def test_annotate_view_without_js_redirects(
    client: Client, item: EvidenceItem, investigator: Any
) -> None:
    login(client, investigator)
    data = form_data(exact="night operator")  # pasted, no positions
    response = client.post(reverse("evidence:annotate", args=[item.pk]), data)
    assert response.status_code == 302
    assert item.annotations.get().position_start == TEXT.index("night operator")


@pytest.mark.parametrize(
    "bad",
    [
        {"exact": "not in the text"},
        {"exact": ""},
        {"exact": "flag image", "start": "-5"},
        {"exact": "flag image", "body": ""},
        {"exact": "flag image", "stance": "supports"},
        {"exact": "flag image", "stance": "bogus"},
        {"exact": "flag image", "hypothesis": "999999"},
    ],
)
def test_annotate_invalid_input(
    client: Client, item: EvidenceItem, investigator: Any, bad: dict[str, str]
) -> None:
    login(client, investigator)
    data = form_data()
    data.update({f"new-{k}": v for k, v in bad.items()})
    response = client.post(reverse("evidence:annotate", args=[item.pk]), data)
    assert response.status_code == 422
    assert "errorlist" in response.content.decode()
    partial = client.post(
        reverse("evidence:annotate", args=[item.pk]), data, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200 and "has-errors" in partial.content.decode()
    assert not item.annotations.exists()


def test_edit_and_delete_views(
    client: Client, item: EvidenceItem, investigator: Any, lead: Any
) -> None:
    a = Annotation.create_for(item, by=investigator, body="mine", exact="flag image")
    edit = reverse("evidence:annotation_edit", args=[item.pk, a.pk])
    delete = reverse("evidence:annotation_delete", args=[item.pk, a.pk])
    login(client, lead)
    assert client.post(edit, {f"a{a.pk}-body": "hijack"}).status_code == 403
    assert client.post(delete).status_code == 403
    client.logout()
    login(client, investigator)
    invalid = client.post(edit, {f"a{a.pk}-body": "", f"a{a.pk}-stance": ""})
    assert invalid.status_code == 422
    assert "Write a note for this annotation." in invalid.content.decode()
    partial = client.post(edit, {f"a{a.pk}-body": ""}, HTTP_HX_REQUEST="true").content.decode()
    assert "Write a note for this annotation." in partial
    assert 'class="annotation-edit" data-load-on-open open' in partial
    response = client.post(
        edit,
        {f"a{a.pk}-body": "edited", f"a{a.pk}-tags": "x, y", f"a{a.pk}-stance": ""},
        HTTP_HX_REQUEST="true",
    )
    entry = response.content.decode()
    assert response.status_code == 200 and "edited" in entry
    assert entry.lstrip().startswith(f'<li id="annotation-{a.pk}"')  # that entry alone
    assert "#x" in entry and "#y" in entry and 'id="panel"' not in entry
    assert client.post(delete, HTTP_HX_REQUEST="true").status_code == 200
    a.refresh_from_db()
    assert a.body == "edited" and a.deleted_at is not None
    html = client.get(item.get_absolute_url()).content.decode()
    assert "Deleted annotations on record (1)" in html


def test_annotation_of_another_item_is_404(
    client: Client, item: EvidenceItem, incident: Any, lead: Any
) -> None:
    other = attach(incident, lead, text_body="flag image", title="Other", url="https://e.org/")
    a = Annotation.create_for(other, by=lead, body="x", exact="flag image")
    login(client, lead)
    url = reverse("evidence:annotation_delete", args=[item.pk, a.pk])
    assert client.post(url).status_code == 404


def test_edit_text_view_reports_orphans(client: Client, item: EvidenceItem, lead: Any) -> None:
    Annotation.create_for(item, by=lead, body="x", exact="night operator")
    login(client, lead)
    response = client.post(
        reverse("evidence:edit_text", args=[item.pk]),
        {"text_body": "Completely different."},
        follow=True,
    )
    assert "1 annotation(s) lost their passage" in response.content.decode()


def test_panel_filters(
    client: Client, item: EvidenceItem, lead: Any, investigator: Any, hypothesis: Hypothesis
) -> None:
    Annotation.create_for(item, by=lead, body="by alice", tags=["timing"], exact="flag image")
    Annotation.create_for(
        item,
        by=investigator,
        body="by bob",
        stance="contradicts",
        hypothesis=hypothesis,
        exact="night operator",
    )
    login(client, lead)
    url = item.get_absolute_url()

    def panel(**params: str) -> str:
        return client.get(
            url, {"region": "panel", **params}, HTTP_HX_REQUEST="true"
        ).content.decode()

    assert "by alice" in panel(tag="timing") and "by bob" not in panel(tag="timing")
    assert "by bob" in panel(hypothesis=str(hypothesis.pk))
    assert "by alice" not in panel(author="bob")
    assert "1 of 2" in panel(author="bob")


def test_case_annotations_page(
    client: Client, item: EvidenceItem, lead: Any, hypothesis: Hypothesis, incident: Any
) -> None:
    Annotation.create_for(
        item, by=lead, body="note-pro", stance="supports", hypothesis=hypothesis, exact="flag image"
    )
    Annotation.create_for(
        item,
        by=lead,
        body="note-contra",
        stance="contradicts",
        hypothesis=hypothesis,
        exact="playlist",
    )
    login(client, lead)
    url = reverse("evidence:case_annotations", args=[incident.reference])
    html = client.get(url, {"hypothesis": hypothesis.pk, "stance": "supports"}).content.decode()
    assert "note-pro" in html and "note-contra" not in html
    summary = client.get(url).content.decode()
    link = f'?hypothesis={hypothesis.pk}&amp;stance=supports">1</a>'
    assert link in summary


# -- Export ---------------------------------------------------------------------------


def test_jsonld_export_follows_the_web_annotation_model(
    client: Client, incident: Any, item: EvidenceItem, lead: Any, hypothesis: Hypothesis
) -> None:
    photo = attach(incident, lead, png_bytes(400, 300), name="screen.png", title="Photo")
    Annotation.create_for(
        item,
        by=lead,
        body="Key",
        tags=["timing"],
        stance="supports",
        hypothesis=hypothesis,
        **quote(TEXT, "flag image"),
    )
    gone = Annotation.create_for(item, by=lead, body="withdrawn", exact="playlist")
    gone.soft_delete(by=lead)
    Annotation.create_for(photo, by=lead, body="Region", region="xywh=1,2,30,40")
    login(client, lead)

    response = client.get(reverse("evidence:jsonld", args=[item.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == (
        'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
    )
    doc = json.loads(response.content)
    assert doc["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert doc["type"] == "AnnotationCollection"
    assert doc["id"].startswith("http://testserver/evidence/")
    assert doc["total"] == 1
    page = doc["first"]
    assert page["type"] == "AnnotationPage" and len(page["items"]) == 1
    annotation = page["items"][0]
    # Required by the data model: id, type "Annotation", target (with source); body optional.
    assert annotation["type"] == "Annotation" and annotation["id"].startswith("http")
    assert annotation["target"]["source"].startswith("http")
    selectors = {s["type"]: s for s in annotation["target"]["selector"]}
    assert selectors["TextQuoteSelector"]["exact"] == "flag image"
    assert selectors["TextQuoteSelector"]["prefix"].endswith("changed: ")
    start = TEXT.index("flag image")
    assert selectors["TextPositionSelector"] == {
        "type": "TextPositionSelector",
        "start": start,
        "end": start + 10,
    }
    purposes = {b.get("purpose") for b in annotation["body"]}
    assert {"commenting", "tagging", "assessing"} <= purposes
    assert annotation["creator"]["nickname"] == "alice"
    assert item.custody.order_by("-id").first().action == "exported"

    region = json.loads(client.get(reverse("evidence:jsonld", args=[photo.pk])).content)
    target = region["first"]["items"][0]["target"]
    assert target["selector"] == {
        "type": "FragmentSelector",
        "conformsTo": "http://www.w3.org/TR/media-frags/",
        "value": "xywh=1,2,30,40",
    }
    assert target["source"].endswith(f"/evidence/{photo.pk}/download/")


def test_edit_form_loads_when_asked_for(
    client: Client, item: EvidenceItem, investigator: Any, lead: Any
) -> None:
    """The item page draws no edit form per annotation: each loads when its panel
    is opened (htmx), or opens with the page through its link (no JavaScript)."""
    mine = Annotation.create_for(item, by=investigator, body="mine", exact="flag image")
    login(client, investigator)
    page = client.get(item.get_absolute_url()).content.decode()
    edit = reverse("evidence:annotation_edit", args=[item.pk, mine.pk])
    assert f'id="id_a{mine.pk}-body"' not in page
    assert f'hx-get="{edit}"' in page and f'href="{edit}#annotation-{mine.pk}"' in page
    alone = client.get(edit, HTTP_HX_REQUEST="true").content.decode()
    assert alone.lstrip().startswith("<form") and "<html" not in alone
    assert f'id="id_a{mine.pk}-body"' in alone and 'name="version" value="1"' in alone
    no_js = client.get(edit).content.decode()
    assert "<html" in no_js and 'class="annotation-edit" data-load-on-open open' in no_js
    assert f'id="id_a{mine.pk}-body"' in no_js
    # Someone else's annotation: no form to open.
    login(client, lead)
    assert client.get(edit, HTTP_HX_REQUEST="true").status_code == 403

"""Annotations: selectors re-validated, re-anchoring, regions, authorship, export, counts."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
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
    # Every field of the form is posted, with the version it was read at (a field
    # left out is refused, tests/audit/test_audit_versions.py).
    fields = {f"a{a.pk}-{name}": "" for name in ("body", "tags", "stance", "hypothesis")}
    fields["version"] = str(a.version)
    invalid = client.post(edit, fields)
    assert invalid.status_code == 422
    assert "Write a note for this annotation." in invalid.content.decode()
    partial = client.post(edit, fields, HTTP_HX_REQUEST="true").content.decode()
    assert "Write a note for this annotation." in partial
    assert 'class="annotation-edit" data-load-on-open open' in partial
    response = client.post(
        edit,
        {**fields, f"a{a.pk}-body": "edited", f"a{a.pk}-tags": "x, y"},
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
        {"text_body": "Completely different.", "version": str(item.version)},
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


# The rules of the W3C Web Annotation Data Model (https://www.w3.org/TR/annotation-model/)
# that Inquest's annotations, collections and pages follow, written out as assertions.
# The terms are those of the model's JSON-LD context, http://www.w3.org/ns/anno.jsonld
# (W3C, Software and Document License), kept here as data: no network in tests.

ANNO_TERMS = frozenset(
    {
        *("id", "type", "body", "target", "source", "selector", "state", "scope", "refinedBy"),
        *("startSelector", "endSelector", "renderedVia", "creator", "generator", "rights"),
        *("homepage", "via", "canonical", "stylesheet", "cached", "conformsTo", "items"),
        *("partOf", "first", "last", "next", "prev", "audience", "motivation", "purpose"),
        *("textDirection", "accessibility", "bodyValue", "format", "language"),
        *("processingLanguage", "value", "exact", "prefix", "suffix", "styleClass", "name"),
        *("email", "email_sha1", "nickname", "label", "created", "modified", "generated"),
        *("sourceDate", "sourceDateStart", "sourceDateEnd", "start", "end", "total"),
        "startIndex",
    }
)
ANNO_CLASSES = frozenset(
    {
        *("Annotation", "Dataset", "Image", "Video", "Audio", "Text", "TextualBody"),
        *("ResourceSelection", "SpecificResource", "FragmentSelector", "CssSelector"),
        *("XPathSelector", "TextQuoteSelector", "TextPositionSelector", "DataPositionSelector"),
        *("SvgSelector", "RangeSelector", "TimeState", "HttpRequestState", "CssStylesheet"),
        *("Choice", "Person", "Software", "Organization", "AnnotationCollection"),
        *("AnnotationPage", "Audience"),
    }
)
MOTIVATIONS = frozenset(
    {
        *("assessing", "bookmarking", "classifying", "commenting", "describing", "editing"),
        *("highlighting", "identifying", "linking", "moderating", "questioning", "replying"),
        "tagging",
    }
)
AGENT_CLASSES = frozenset({"Person", "Organization", "Software"})
SELECTORS = frozenset({"TextQuoteSelector", "TextPositionSelector", "FragmentSelector"})
# xsd:dateTime in UTC with Z (model 3.3.1: "MUST be expressed in the UTC timezone with Z")
UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def assert_terms(node: Any, *, extension: str = "inquest:") -> None:
    """Every key is a term of the anno.jsonld context (or ``@context``, or one of
    our ``inquest:`` extensions), every ``type`` one of its classes, and every
    motivation and purpose one of its motivations: nothing a JSON-LD processor
    would drop or read as a relative IRI."""
    if isinstance(node, list):
        for value in node:
            assert_terms(value, extension=extension)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        assert key in ANNO_TERMS or key == "@context" or key.startswith(extension), key
        if key == "type":
            assert value in ANNO_CLASSES, value
        if key in {"motivation", "purpose"}:
            values = value if isinstance(value, list) else [value]
            assert values and set(values) <= MOTIVATIONS, value
        if not key.startswith(extension):
            assert_terms(value, extension=extension)


def assert_utc(value: Any) -> None:
    assert isinstance(value, str) and UTC_Z.match(value), value
    assert dt.datetime.fromisoformat(value).utcoffset() == dt.timedelta(0)


def assert_iri(value: Any) -> None:
    assert isinstance(value, str) and IRI.match(value), value


def assert_agent(value: Any) -> None:
    """An Agent (3.3.2) with a stable IRI, its class, and a nickname; a name if any."""
    assert isinstance(value, dict), value
    assert_iri(value["id"])
    assert value["type"] in AGENT_CLASSES
    assert isinstance(value["nickname"], str) and value["nickname"]
    if "name" in value:
        assert isinstance(value["name"], str) and value["name"]


def motivations_of(annotation: dict[str, Any]) -> set[str]:
    value = annotation["motivation"]
    assert isinstance(value, str) or (isinstance(value, list) and len(value) > 1), value
    return {value} if isinstance(value, str) else set(value)


def assert_web_annotation(a: dict[str, Any], *, embedded: bool = False) -> None:
    """One annotation against the model's MUSTs (3.1) and the SHOULDs clients rely on."""
    if not embedded:
        assert a["@context"] == anno.ANNO_CONTEXT
    assert_terms(a)
    assert_iri(a["id"])
    assert a["type"] == "Annotation"
    assert_utc(a["created"])
    assert_utc(a["modified"])
    assert a["created"] <= a["modified"]
    assert_agent(a["creator"])
    motivations = motivations_of(a)
    purposes = set()
    for body in a.get("body", []):
        purposes.add(body["purpose"])
        if body["type"] == "TextualBody":
            assert isinstance(body["value"], str) and body["value"]
            assert MEDIA_TYPE.match(body["format"]), body
            assert BCP47.match(body["language"]), body
            assert_agent(body["creator"])
            assert_utc(body["created"])
            assert "items" not in body
        else:
            assert body["type"] == "SpecificResource" and body["purpose"] == "linking"
            assert_iri(body["source"])
            assert "value" not in body and "items" not in body
    # The motivation says what the bodies do: a note comments, tags alone tag,
    # a stance assesses (with a link to its hypothesis).
    assert ("commenting" in motivations) == ("commenting" in purposes)
    assert ("assessing" in motivations) == ("assessing" in purposes) == ("linking" in purposes)
    if "tagging" in motivations:
        assert purposes & {"tagging"} and "commenting" not in purposes
    target = a["target"]
    assert target["type"] == "SpecificResource"
    assert_iri(target["source"])
    assert MEDIA_TYPE.match(target["format"]), target
    if "language" in target:
        assert BCP47.match(target["language"]), target
    selectors = target["selector"]
    assert isinstance(selectors, list) and selectors
    for selector in selectors:
        assert selector["type"] in SELECTORS
        if selector["type"] == "TextQuoteSelector":
            assert isinstance(selector["exact"], str) and selector["exact"]
            assert isinstance(selector["prefix"], str) and isinstance(selector["suffix"], str)
        elif selector["type"] == "TextPositionSelector":
            assert 0 <= selector["start"] <= selector["end"]
        else:
            assert selector["conformsTo"] == anno.MEDIA_FRAGMENTS
            assert anno.parse_xywh(selector["value"]) is not None


def assert_page(page: dict[str, Any], *, collection: str, embedded: bool = False) -> None:
    """An AnnotationPage (5.2): part of COLLECTION, with its place and its annotations."""
    if not embedded:
        assert page["@context"] == anno.ANNO_CONTEXT
    assert_terms(page)
    assert_iri(page["id"])
    assert page["type"] == "AnnotationPage"
    assert page["partOf"] == collection
    assert isinstance(page["startIndex"], int) and page["startIndex"] >= 0
    for link in ("next", "prev"):
        if link in page:
            assert_iri(page[link])
    assert isinstance(page["items"], list) and page["items"]  # at least one item
    for annotation in page["items"]:
        assert_web_annotation(annotation, embedded=True)


def assert_collection(doc: dict[str, Any]) -> None:
    """An AnnotationCollection (5.1): label, total, and first and last pages when not empty."""
    assert doc["@context"] == anno.ANNO_CONTEXT
    assert_terms(doc)
    assert_iri(doc["id"])
    assert doc["type"] == "AnnotationCollection"
    assert isinstance(doc["label"], str) and doc["label"]
    assert isinstance(doc["total"], int) and doc["total"] >= 0
    if doc["total"]:
        assert_page(doc["first"], collection=doc["id"], embedded=True)
        assert doc["first"]["startIndex"] == 0 and "prev" not in doc["first"]
        assert_iri(doc["last"])
    else:
        assert "first" not in doc and "last" not in doc


def walk_collection(client: Client, url: str) -> list[dict[str, Any]]:
    """Every annotation of the collection at URL, page by page, each page checked
    and linked to its neighbours; the pages add up to the collection's total."""
    collection = json.loads(client.get(url).content)
    assert_collection(collection)
    if not collection["total"]:
        return []
    annotations: list[dict[str, Any]] = []
    page, previous = collection["first"], None
    while True:
        assert page["startIndex"] == len(annotations)
        assert page.get("prev") == previous
        annotations += page["items"]
        if "next" not in page:
            break
        previous = page["id"]
        response = client.get(page["next"])
        assert response.status_code == 200
        assert response["Content-Type"] == anno.ANNO_PROFILE
        page = json.loads(response.content)
        assert_page(page, collection=collection["id"])
    assert page["id"] == collection["last"]
    assert len(annotations) == collection["total"]
    assert len({a["id"] for a in annotations}) == len(annotations)
    return annotations


# -- Export: the shapes --------------------------------------------------------------


def test_times_are_utc_with_z() -> None:
    almaty = dt.timezone(dt.timedelta(hours=5))
    assert anno.utc(dt.datetime(2026, 5, 13, 13, 2, 11, tzinfo=almaty)) == "2026-05-13T08:02:11Z"
    assert anno.utc(dt.datetime(2026, 5, 13, 8, 2, 11, 123, tzinfo=dt.UTC)).endswith(".000123Z")


def test_creator_is_an_agent_with_a_stable_iri(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["*", ".example.org", "Inquest.Example.org", "other.example"]
    assert anno.agent(7, "alice", "Alice Adams") == {
        "id": "urn:inquest:inquest.example.org:user:7",
        "type": "Person",
        "nickname": "alice",
        "name": "Alice Adams",
    }
    assert "name" not in anno.agent(7, "alice", "")
    settings.ALLOWED_HOSTS = ["*"]
    assert anno.agent_iri(7) == "urn:inquest:localhost:user:7"
    settings.ALLOWED_HOSTS = ["[::1]"]
    assert_iri(anno.agent_iri(7))
    assert anno.agent_iri(7) == "urn:inquest:%5B%3A%3A1%5D:user:7"


@pytest.mark.parametrize(
    ("note", "tags", "assessing", "expected"),
    [
        ("A note", [], False, "commenting"),
        ("A note", ["timing"], False, "commenting"),
        ("A note", ["timing"], True, ["commenting", "assessing"]),
        ("  ", ["timing"], False, "tagging"),
        ("", ["timing"], True, ["tagging", "assessing"]),
        ("", [], True, "assessing"),
        ("", [], False, "highlighting"),
    ],
)
def test_motivation(note: str, tags: list[str], assessing: bool, expected: Any) -> None:
    assert anno.motivation(note, tags, assessing) == expected


@pytest.mark.parametrize(
    ("file_type", "expected"),
    [
        ("", "text/plain"),  # pasted text
        ("text/plain", "text/plain"),
        ("text/csv", "text/csv"),
        ("application/pdf", "application/pdf"),
        ("text/html", "text/html"),
        ("image/png", "text/plain"),  # the text of an image is transcribed
        ("video/mp4", "text/plain"),
    ],
)
def test_format_of_an_items_text(file_type: str, expected: str) -> None:
    assert anno.text_format(file_type) == expected


def test_textual_bodies_carry_format_language_creator_and_created(settings: Any) -> None:
    settings.LANGUAGE_CODE = "kk"
    creator = anno.agent(3, "bob")
    target = anno.specific_resource(
        "urn:x:1",
        format="text/plain",
        language="ru",
        selector=anno.text_selectors("a", "", "", 0, 1),
    )
    a = anno.web_annotation(
        id="urn:x:annotation:1",
        created="2026-05-13T08:02:11Z",
        modified="2026-05-14T08:02:11Z",
        creator=creator,
        note="Forty seconds",
        tags=["timing", "key-passage"],
        assessment=("supports: Hacked.", "urn:x:hypothesis:4"),
        target=target,
    )
    assert_web_annotation({"@context": anno.ANNO_CONTEXT, **a})
    assert a["motivation"] == ["commenting", "assessing"]
    note, *tags, stance, link = a["body"]
    assert note == {
        "type": "TextualBody",
        "value": "Forty seconds",
        "format": "text/plain",
        "language": "kk",
        "purpose": "commenting",
        "creator": creator,
        "created": "2026-05-13T08:02:11Z",
    }
    assert [(t["value"], t["purpose"]) for t in tags] == [
        ("timing", "tagging"),
        ("key-passage", "tagging"),
    ]
    assert stance["purpose"] == "assessing" and stance["value"] == "supports: Hacked."
    assert link == {
        "type": "SpecificResource",
        "source": "urn:x:hypothesis:4",
        "purpose": "linking",
    }
    assert a["target"] == {
        "type": "SpecificResource",
        "source": "urn:x:1",
        "format": "text/plain",
        "language": "ru",
        "selector": [
            {"type": "TextQuoteSelector", "exact": "a", "prefix": "", "suffix": ""},
            {"type": "TextPositionSelector", "start": 0, "end": 1},
        ],
    }
    # No language known for the item: none claimed.
    assert "language" not in anno.specific_resource("urn:x:1", format="", language="", selector=[])


def test_jsonld_export_follows_the_web_annotation_model(
    client: Client, incident: Any, item: EvidenceItem, lead: Any, hypothesis: Hypothesis
) -> None:
    photo = attach(incident, lead, png_bytes(400, 300), name="screen.png", title="Photo")
    EvidenceItem.objects.filter(pk=photo.pk).update(language="kk")
    EvidenceItem.objects.filter(pk=item.pk).update(language="ru")
    lead.first_name, lead.last_name = "Alice", "Adams"
    lead.save()
    key = Annotation.create_for(
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
    assert_collection(doc)
    assert doc["id"] == f"http://testserver/evidence/{item.pk}/annotations.jsonld"
    assert doc["total"] == 1
    page = doc["first"]
    assert page["id"] == f"{doc['id']}?page=1" == doc["last"]
    assert page["partOf"] == doc["id"] and page["startIndex"] == 0
    assert "next" not in page and "prev" not in page
    annotation = page["items"][0]
    assert annotation["id"] == f"http://testserver/evidence/{item.pk}/#annotation-{key.pk}"
    assert annotation["motivation"] == ["commenting", "assessing"]
    assert annotation["created"].endswith("Z") and annotation["modified"].endswith("Z")
    assert annotation["creator"] == {
        "id": f"urn:inquest:127.0.0.1:user:{lead.pk}",
        "type": "Person",
        "nickname": "alice",
        "name": "Alice Adams",
    }
    bodies = {b["purpose"]: b for b in annotation["body"]}
    assert bodies["commenting"]["value"] == "Key"
    assert bodies["tagging"]["value"] == "timing"
    assert bodies["assessing"]["value"] == "supports: The content system was hacked."
    assert bodies["linking"]["source"] == (
        f"http://testserver/cases/{incident.reference}/#hypothesis-{hypothesis.pk}"
    )
    for body in (bodies["commenting"], bodies["tagging"], bodies["assessing"]):
        assert (body["format"], body["language"]) == ("text/plain", "en")
        assert body["creator"] == annotation["creator"]
        assert body["created"] == annotation["created"]
    target = annotation["target"]
    # Pasted text: the item's page, plain text, in the item's language.
    assert target["source"] == f"http://testserver/evidence/{item.pk}/"
    assert (target["type"], target["format"], target["language"]) == (
        "SpecificResource",
        "text/plain",
        "ru",
    )
    selectors = {s["type"]: s for s in target["selector"]}
    assert selectors["TextQuoteSelector"]["exact"] == "flag image"
    assert selectors["TextQuoteSelector"]["prefix"].endswith("changed: ")
    start = TEXT.index("flag image")
    assert selectors["TextPositionSelector"] == {
        "type": "TextPositionSelector",
        "start": start,
        "end": start + 10,
    }
    assert item.custody.order_by("-id").first().action == "exported"

    region = json.loads(client.get(reverse("evidence:jsonld", args=[photo.pk])).content)
    assert_collection(region)
    target = region["first"]["items"][0]["target"]
    assert target == {
        "type": "SpecificResource",
        "source": f"http://testserver/evidence/{photo.pk}/download/",
        "format": "image/png",
        "language": "kk",
        "selector": [
            {
                "type": "FragmentSelector",
                "conformsTo": "http://www.w3.org/TR/media-frags/",
                "value": "xywh=1,2,30,40",
            }
        ],
    }
    assert region["first"]["items"][0]["motivation"] == "commenting"


def test_passage_of_a_text_file_targets_the_file(client: Client, incident: Any, lead: Any) -> None:
    """Text read from a file: the target is the file, in the file's detected type."""
    log = attach(incident, lead, TEXT.encode(), name="log.txt", title="Log")
    assert log.annotation_text == TEXT
    Annotation.create_for(log, by=lead, body="Here", exact="flag image")
    login(client, lead)
    doc = json.loads(client.get(reverse("evidence:jsonld", args=[log.pk])).content)
    target = doc["first"]["items"][0]["target"]
    assert target["source"] == f"http://testserver/evidence/{log.pk}/download/"
    assert target["format"] == "text/plain"


def test_empty_collection_has_no_pages(client: Client, item: EvidenceItem, lead: Any) -> None:
    login(client, lead)
    url = reverse("evidence:jsonld", args=[item.pk])
    doc = json.loads(client.get(url).content)
    assert_collection(doc)
    assert doc["total"] == 0 and "first" not in doc
    assert client.get(url, {"page": "1"}).status_code == 404


def test_large_collections_page(
    client: Client,
    item: EvidenceItem,
    lead: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_max_num_queries: Any,
) -> None:
    """PAGE_SIZE annotations a page, linked first to last; the same queries for
    one page as for several, and for a small collection as for a large one."""
    monkeypatch.setattr(anno, "PAGE_SIZE", 2)
    words = ["night operator", "flag image", "playlist"]
    for n in range(3):
        Annotation.create_for(item, by=lead, body=f"Note {n}", tags=[f"t{n}"], exact=words[n])
    login(client, lead)
    url = reverse("evidence:jsonld", args=[item.pk])
    client.get(url)  # the session, the compiled reads: warm
    with CaptureQueriesContext(connection) as small:
        client.get(url, {"page": "2"})
    for n in range(4):
        Annotation.create_for(item, by=lead, body=f"More {n}", tags=["x", "y"], exact="playlist")

    with django_assert_max_num_queries(len(small)):
        doc = json.loads(client.get(url).content)
    with django_assert_max_num_queries(len(small)):
        middle = json.loads(client.get(url, {"page": "2"}).content)
    assert doc["total"] == 7 and doc["last"] == f"{doc['id']}?page=4"
    assert [len(p) for p in (doc["first"]["items"], middle["items"])] == [2, 2]
    assert doc["first"]["next"] == middle["id"] == f"{doc['id']}?page=2"
    assert middle["prev"] == f"{doc['id']}?page=1" and middle["next"] == f"{doc['id']}?page=3"
    assert middle["startIndex"] == 2 and middle["partOf"] == doc["id"]
    annotations = walk_collection(client, url)
    assert [a["body"][0]["value"] for a in annotations] == [
        a.body for a in Annotation.objects.filter(item=item).order_by("position_start", "id")
    ]
    last = json.loads(client.get(doc["last"]).content)
    assert len(last["items"]) == 1 and "next" not in last
    for bad in ("5", "0", "-1", "x", "1.0", "²"):
        assert client.get(url, {"page": bad}).status_code == 404, bad


def test_the_docs_examples_follow_the_model() -> None:
    """The shapes docs/evidence.md and docs/export.md show pass the same rules."""
    docs = Path(__file__).resolve().parents[2] / "docs"

    def example(name: str, after: str) -> dict[str, Any]:
        text = (docs / name).read_text().split(after, 1)[1]
        return json.loads(text.split("```json\n", 1)[1].split("\n```", 1)[0])

    collection = example("evidence.md", "## Export")
    assert_collection(collection)
    assert collection["first"]["items"][0]["motivation"] == ["commenting", "assessing"]
    assert_web_annotation(example("export.md", "## `annotations[]`"))


@pytest.fixture
def demo(db: Any, settings: Any) -> Any:
    """The demo case, with an image-region annotation added to it."""
    from django.core.management import call_command

    from incidents.cases.management.commands.load_demo import REFERENCE
    from incidents.cases.models import Incident

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo", force=True, stdout=io.StringIO())
    case = Incident.objects.get(reference=REFERENCE)
    photo = attach(case, case.lead, png_bytes(320, 200), name="frame.png", title="Frame")
    Annotation.create_for(photo, by=case.lead, body="The flag, top left.", region="xywh=0,0,80,40")
    return case


def test_demo_annotations_collections_and_pages_follow_the_model(
    client: Client, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every item of the demo case: its collection, its pages (two a page, so
    some page), its annotations; and the annotations of the case's export."""
    monkeypatch.setattr(anno, "PAGE_SIZE", 2)
    login(client, demo.lead)
    seen = []
    for item in demo.evidence.order_by("id"):
        seen += walk_collection(client, reverse("evidence:jsonld", args=[item.pk]))
    live = Annotation.objects.filter(item__incident=demo, deleted_at__isnull=True)
    assert len(seen) == live.count() == 4
    assert {"commenting", "assessing"} <= set().union(*(motivations_of(a) for a in seen))
    assert any(s["type"] == "FragmentSelector" for a in seen for s in a["target"]["selector"])
    assert {a["target"].get("language") for a in seen} >= {"en", "ru"}

    export = json.loads(client.get(f"/cases/{demo.reference}/export.json").content)
    assert len(export["annotations"]) == 4
    for exported in export["annotations"]:
        assert_web_annotation(exported)
    by_creator = {(a["creator"]["id"], a["created"]) for a in seen}
    assert {(a["creator"]["id"], a["created"]) for a in export["annotations"]} == by_creator


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

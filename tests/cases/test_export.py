"""GET /cases/<reference>/export.json"""

from __future__ import annotations

import datetime as dt
import json

import orjson
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.cases.models import Incident, StatusUpdate, Tag
from incidents.compiled import PLACEHOLDER_BASE
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis
from tests.evidence.test_annotations import assert_web_annotation
from tests.evidence_factories import png_bytes


def url(incident) -> str:
    return f"/cases/{incident.reference}/export.json"


def build(incident, lead, n: int, start: int = 0) -> None:
    hyps = [
        Hypothesis.propose(incident, by=lead, statement=f"Hypothesis {start + i}", kind="other")
        for i in range(n)
    ]
    items = [
        EvidenceItem.attach(
            incident,
            by=lead,
            title=f"Source {start + i}",
            text_body="Some text to quote.",
            reliability="B",
            credibility=2,
        )
        for i in range(n)
    ]
    for h in hyps:
        h.move_to("under_evaluation", by=lead, rationale="Start.", cited_evidence=items[:1])
        h.set_confidence("likely", by=lead, reason="Early read.")
    for item in items:
        for h in hyps[:2]:
            Assessment.rate(item, h, by=lead, rating="I", relevance="high", reason="Because.")
        Annotation.objects.create(
            item=item,
            author=lead,
            body="Look here",
            quote_exact="text",
            quote_prefix="Some ",
            quote_suffix=" to",
            position_start=5,
            position_end=9,
        )


def test_anonymous_is_sent_to_login(client, incident):
    response = client.get(url(incident))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_wrong_method(client, incident, lead):
    client.force_login(lead)
    assert client.post(url(incident)).status_code == 405


def test_outsider_gets_404(client, incident, outsider):
    client.force_login(outsider)
    assert client.get(url(incident)).status_code == 404
    assert client.get("/cases/INC-1999-0001/export.json").status_code == 404


def test_observer_and_staff_may_export(client, incident, observer, staff):
    for user in (observer, staff):
        client.force_login(user)
        assert client.get(url(incident)).status_code == 200


def test_structure(client, incident, lead):
    build(incident, lead, 2)
    client.force_login(lead)
    response = client.get(url(incident))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{incident.reference}.json"'
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    doc = json.loads(response.content)
    assert doc["schema_version"] == 2
    assert doc["exported_by"] == "alice"
    assert set(doc) == {
        "schema_version",
        "exported_at",
        "exported_by",
        "incident",
        "members",
        "scoring",
        "hypotheses",
        "evidence",
        "assessments",
        "timeline",
        "annotations",
        "clocks",  # incidents/chronology (tests/chronology/test_chronology.py checks their content)
        "chronology",
    }
    assert doc["incident"]["reference"] == incident.reference
    assert doc["incident"]["time_zone"] == "Asia/Almaty"
    assert {m["username"]: m["role"] for m in doc["members"]} == {
        "alice": "lead",
        "bob": "investigator",
        "charlie": "observer",
    }
    h = doc["hypotheses"][0]
    assert h["status"] == "under_evaluation"
    assert h["confidence"] == {"band": "likely", "label": "Likely", "percent": [55, 80]}
    assert [c["band"] for c in h["confidence_history"]] == ["likely"]
    assert h["moves"][0]["from"] == "proposed" and h["moves"][0]["to"] == "under_evaluation"
    assert h["moves"][0]["cited_evidence"] == [doc["evidence"][0]["id"]]
    # two items, each rated I (high relevance) by a B2 source: 2 × √2 × √2 × -1 = -4
    assert h["score"] == -4.0 and h["rank"] == 1 and h["rated_items"] == 2
    e = doc["evidence"][0]
    assert e["grade"] == "B2" and e["file"] is None
    assert e["custody"][0]["action"] == "collected"
    assert e["verification"]["status"] == "unverified"
    assert len(doc["assessments"]) == 4
    assert doc["assessments"][0]["rating"] == "I"
    kinds = [t["kind"] for t in doc["timeline"]]
    assert kinds[0] == "case_status"  # oldest first
    assert "hypothesis_moved" in kinds and "evidence_added" in kinds
    a = doc["annotations"][0]
    assert a["type"] == "Annotation"
    assert a["target"]["selector"] == [
        {"type": "TextQuoteSelector", "exact": "text", "prefix": "Some ", "suffix": " to"},
        {"type": "TextPositionSelector", "start": 5, "end": 9},
    ]


def test_file_hashes_and_exported_custody_entry(client, incident, lead):
    upload = SimpleUploadedFile("log.txt", b"operator log line\n", content_type="text/plain")
    item = EvidenceItem.attach(incident, by=lead, title="Log", upload=upload, kind="log_extract")
    client.force_login(lead)
    doc = json.loads(client.get(url(incident)).content)
    exported = doc["evidence"][0]
    assert exported["file"]["original_name"] == "log.txt"
    assert exported["file"]["size"] == len(b"operator log line\n")
    assert len(exported["file"]["sha256"]) == 64
    assert exported["custody"][-1]["action"] == "exported"
    assert CustodyEntry.objects.filter(item=item, action="exported").count() == 1
    # the hash chain still holds after the batch insert
    assert CustodyEntry.objects.first_broken_link(item) is None


def test_exporting_many_files_costs_the_same_queries(client, incident, lead):
    def attach(n: int) -> None:
        for i in range(n):
            upload = SimpleUploadedFile(f"f{i}.txt", f"file {i}\n".encode(), "text/plain")
            EvidenceItem.attach(incident, by=lead, title=f"File {i}", upload=upload)

    attach(2)
    client.force_login(lead)
    client.get(url(incident))
    with CaptureQueriesContext(connection) as small:
        client.get(url(incident))
    attach(6)
    with CaptureQueriesContext(connection) as large:
        doc = json.loads(client.get(url(incident)).content)
    assert len(small) == len(large)
    assert all(e["custody"][-1]["action"] == "exported" for e in doc["evidence"])
    for item in EvidenceItem.objects.filter(incident=incident):
        assert CustodyEntry.objects.first_broken_link(item) is None


def test_query_count_does_not_grow_with_the_case(client, incident, lead):
    build(incident, lead, 2)
    client.force_login(lead)
    client.get(url(incident))
    with CaptureQueriesContext(connection) as small:
        client.get(url(incident))
    build(incident, lead, 8, start=2)
    with CaptureQueriesContext(connection) as large:
        doc = json.loads(client.get(url(incident)).content)
    assert len(doc["hypotheses"]) == 10 and len(doc["evidence"]) == 10
    assert len(small) == len(large)


def test_written_in_pieces_as_one_json_dumps_would(client, incident, lead):
    build(incident, lead, 3)
    client.force_login(lead)
    text = client.get(url(incident)).content
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False).encode()
    assert text == orjson.dumps(json.loads(text), option=orjson.OPT_INDENT_2)


def test_json_chunks_matches_json_dumps():
    from incidents.cases.views.export import ENTRIES_PER_PIECE, json_chunks

    rows = [{"id": i, "text": f"Жолаушы {i}\n«quoted»", "tags": [], "m": {}} for i in range(250)]
    document = {
        "a": 1,
        "nested": {"list": [1, [2, {}]], "none": None, "float": 0.707107},
        "rows": rows,
        "empty": [],
        "one": [{"x": [1, 2]}],
        "exactly_one_piece": list(range(ENTRIES_PER_PIECE)),
    }
    lazy = {k: iter(v) if isinstance(v, list) else v for k, v in document.items()}
    pieces = list(json_chunks(lazy))
    assert b"".join(pieces) == json.dumps(document, indent=2, ensure_ascii=False).encode()
    assert len(pieces) > len(document) + 2  # the 250 rows came in several pieces
    assert b"".join(json_chunks({})) == b"{}"


def test_json_chunks_numbers_and_what_orjson_refuses():
    """The one difference from ``json.dumps``: a float's exponent has no
    leading zero (``5e-6``, not ``5e-06``), the same number. An integer
    beyond 64 bits in free-form metadata is written by the standard library,
    times in UTC as orjson writes them."""
    from incidents.cases.views.export import json_chunks

    at = dt.datetime(2026, 11, 20, 9, 30, 0, 250, tzinfo=dt.UTC)
    rows = [{"big": 2**70, "x": 1.5, "at": at}]
    text = b"".join(
        json_chunks({"tiny": 5e-06, "at": at.replace(microsecond=0), "rows": iter(rows)})
    )
    assert text.decode().splitlines() == [
        "{",
        '  "tiny": 5e-6,',
        '  "at": "2026-11-20T09:30:00Z",',
        '  "rows": [',
        "    {",
        '      "big": 1180591620717411303424,',
        '      "x": 1.5,',
        '      "at": "2026-11-20T09:30:00.000250Z"',
        "    }",
        "  ]",
        "}",
    ]
    assert json.loads(text)["rows"][0]["big"] == 2**70


def test_people_and_derived_fields_of_each_list(client, incident, lead, investigator):
    """Rows are read as tuples: people come out as usernames (or null for the
    system), and the derived fields (grade, automatic, file) as before."""
    build(incident, lead, 1)
    EvidenceItem.attach(
        incident, by=lead, title="Unrated", text_body="x", reliability="D", credibility=4
    )
    StatusUpdate.objects.post(incident, kind="finding", body="Written by Bob.", by=investigator)
    StatusUpdate.objects.post(incident, kind="case_status", body="By the system.")
    investigator.first_name, investigator.last_name = "Bob", "Baker"
    investigator.save()
    client.force_login(investigator)
    doc = json.loads(client.get(url(incident)).content)
    assert doc["incident"]["tags"] == []
    assert (doc["incident"]["lead"], doc["incident"]["created_by"]) == ("alice", "alice")
    names = {m["username"]: m["name"] for m in doc["members"]}
    assert names["bob"] == "Bob Baker" and names["alice"] == ""

    incident.tags.add(*(Tag.objects.create(name=n) for n in ("vendor", "payments", "rail")))
    Incident.objects.filter(pk=incident.pk).update(lead=investigator)
    doc = json.loads(client.get(url(incident)).content)
    assert doc["incident"]["tags"] == ["payments", "rail", "vendor"]
    assert (doc["incident"]["lead"], doc["incident"]["created_by"]) == ("bob", "alice")

    h = doc["hypotheses"][0]
    assert h["created_by"] == "alice"
    assert h["confidence_history"][0]["author"] == "alice"
    assert h["moves"][0]["author"] == "alice"
    e = doc["evidence"][0]
    assert (e["collected_by"], e["grade"], e["url"], e["file"]) == ("alice", "B2", None, None)
    assert e["reliability"] == "B" and e["credibility"] == 2 and e["metadata"] == {}
    assert e["custody"][0]["actor"] == "alice"
    assert e["credibility_weight"] == 1.414214 and e["diagnosticity"] == 0.0
    unrated = doc["evidence"][1]
    assert unrated["title"] == "Unrated" and unrated["grade"] == "D4"
    assert unrated["credibility_weight"] == 0.707107 and unrated["diagnosticity"] == 0.0
    assert doc["assessments"][0]["author"] == "alice"
    assert doc["annotations"][0]["creator"] == {
        "id": f"urn:inquest:127.0.0.1:user:{lead.pk}",
        "type": "Person",
        "nickname": "alice",
    }
    assert doc["annotations"][0]["inquest:evidence_id"] == e["id"]
    timeline = {t["body"]: t for t in doc["timeline"]}
    assert timeline["Written by Bob."]["author"] == "bob"
    assert timeline["Written by Bob."]["automatic"] is False
    assert timeline["By the system."]["author"] is None
    assert timeline["By the system."]["automatic"] is True
    assert all(t["at"].endswith("Z") for t in doc["timeline"])


def test_tags_of_annotations_and_evidence_cited_by_moves(client, incident, lead):
    """Each comes joined to its entry, one row per value: every entry once,
    its values in order, none lost or repeated."""
    build(incident, lead, 3)
    items = list(EvidenceItem.objects.filter(incident=incident).order_by("-id"))
    h = Hypothesis.objects.filter(incident=incident).order_by("id").first()
    h.move_to("supported", by=lead, rationale="Three sources.", cited_evidence=items)
    first, second, third = Annotation.objects.order_by("id")
    first.tags.add(*(Tag.objects.create(name=n) for n in ("zeta", "alpha", "mid")))
    third.tags.add(Tag.objects.get(name="mid"))
    client.force_login(lead)
    doc = json.loads(client.get(url(incident)).content)

    moves = doc["hypotheses"][0]["moves"]
    assert [m["to"] for m in moves] == ["under_evaluation", "supported"]
    assert moves[1]["cited_evidence"] == sorted(item.pk for item in items)
    assert [len(h["moves"]) for h in doc["hypotheses"]] == [2, 1, 1]
    annotations = doc["annotations"]
    assert [a["id"].rsplit(":", 1)[1] for a in annotations] == [
        str(a.pk) for a in (first, second, third)
    ]
    tags = [[b["value"] for b in a["body"] if b["purpose"] == "tagging"] for a in annotations]
    assert tags == [["alpha", "mid", "zeta"], [], ["mid"]]
    assert all(a["body"][0]["value"] == "Look here" for a in annotations)


def test_compiled_queries_read_each_case_its_own_rows(client, incident, lead):
    """The export's SQL is compiled once and reused: the case's id must be
    what changes from one export to the next, and every statement must still
    reach the query log."""
    other = Incident.open_case(by=lead, title="Another case", summary="Elsewhere.")
    build(incident, lead, 2)
    build(other, lead, 3, start=10)
    client.force_login(lead)
    for case, titles in (
        (incident, ["Source 0", "Source 1"]),
        (other, ["Source 10", "Source 11", "Source 12"]),
        (incident, ["Source 0", "Source 1"]),
    ):
        with CaptureQueriesContext(connection) as queries:
            doc = json.loads(client.get(url(case)).content)
        assert doc["incident"]["reference"] == case.reference
        assert [e["title"] for e in doc["evidence"]] == titles
        assert len(doc["assessments"]) == 2 * len(titles)
        assert {a["evidence_id"] for a in doc["assessments"]} == {e["id"] for e in doc["evidence"]}
        assert any('"text_body"' in q["sql"] for q in queries)
        assert all(str(PLACEHOLDER_BASE) not in str(q["sql"]) for q in queries)


def test_annotations_are_web_annotations(client, incident, lead, investigator):
    """Z times, the creator as an Agent, the motivation, bodies with format,
    language, creator and created, and a target with the item's format and
    language: as annotations.jsonld writes them, with urn: ids."""
    investigator.first_name, investigator.last_name = "Bob", "Baker"
    investigator.save()
    text = EvidenceItem.attach(
        incident, by=lead, title="Statement", text_body="Some text to quote.", language="ru"
    )
    photo = EvidenceItem.attach(
        incident,
        by=lead,
        title="Photo",
        upload=SimpleUploadedFile("p.png", png_bytes(100, 80), "image/png"),
    )
    h = Hypothesis.propose(incident, by=lead, statement="It was hacked.", kind="other")
    note = Annotation.create_for(
        text,
        by=investigator,
        body="Look here",
        tags=["timing"],
        stance="supports",
        hypothesis=h,
        exact="text",
    )
    Annotation.create_for(photo, by=lead, body="The flag", region="xywh=1,2,30,40")
    client.force_login(lead)
    doc = json.loads(client.get(url(incident)).content)
    first, region = doc["annotations"]
    for a in (first, region):
        assert_web_annotation(a)
    ref = incident.reference
    assert first["id"] == f"urn:inquest:{ref}:annotation:{note.pk}"
    assert first["creator"] == {
        "id": f"urn:inquest:127.0.0.1:user:{investigator.pk}",
        "type": "Person",
        "nickname": "bob",
        "name": "Bob Baker",
    }
    assert region["creator"]["id"] == f"urn:inquest:127.0.0.1:user:{lead.pk}"
    assert first["motivation"] == ["commenting", "assessing"]
    assert region["motivation"] == "commenting"
    assert first["created"].endswith("Z") and first["modified"].endswith("Z")
    bodies = {b["purpose"]: b for b in first["body"]}
    assert bodies["commenting"] == {
        "type": "TextualBody",
        "value": "Look here",
        "format": "text/plain",
        "language": "en",
        "purpose": "commenting",
        "creator": first["creator"],
        "created": first["created"],
    }
    assert bodies["tagging"]["value"] == "timing"
    assert bodies["assessing"]["value"] == "supports: It was hacked."
    assert bodies["linking"] == {
        "type": "SpecificResource",
        "source": f"urn:inquest:{ref}:hypothesis:{h.pk}",
        "purpose": "linking",
    }
    assert first["target"] == {
        "type": "SpecificResource",
        "source": f"urn:inquest:{ref}:evidence:{text.pk}",
        "format": "text/plain",
        "language": "ru",
        "selector": [
            {
                "type": "TextQuoteSelector",
                "exact": "text",
                "prefix": "Some ",
                "suffix": " to quote.",
            },
            {"type": "TextPositionSelector", "start": 5, "end": 9},
        ],
    }
    assert region["target"]["format"] == "image/png" and "language" not in region["target"]
    assert region["target"]["selector"][0]["value"] == "xywh=1,2,30,40"
    assert (first["inquest:stance"], first["inquest:hypothesis_id"]) == ("supports", h.pk)

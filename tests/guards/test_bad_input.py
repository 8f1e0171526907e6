"""Hostile input through every text field, shown back everywhere: inert, refused when it must be.

``FORMS`` lists every form of the site that takes text, with a valid baseline
and its text fields; a new form is added there. The hostile strings go in,
then every surface that shows them (full pages, HTMX partials, the admin, the
exports) is parsed and checked: no script but our own, no event-handler
attribute, no ``javascript:`` link, no ``hx-*`` attribute from user text.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import NoReverseMatch, reverse

from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.cases.search import Cursor
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis, HypothesisMove

MARK = "evil-marker"
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)><script>alert(2)</script></svg>",
    f'<b hx-get="/{MARK}/" hx-trigger="load" hx-vals=\'{{"p":1}}\'>hx</b>',
    f"[link](javascript:alert(1)) <img src=x onerror=alert(3)>\n\n<iframe src=//{MARK}></iframe>",
    "right\u202eto\u202dleft \u200b\ufeff",
    "bell\x07 escape\x1b[31m tab\t cr\r",
]
# One string holding them all, short enough for a 200-character field.
PAYLOAD = (
    '<script>alert(1)</script>"><img src=x onerror=alert(1)><a href="javascript:alert(1)">j</a>'
    f'<svg onload=alert(1)></svg><b hx-get="/{MARK}/" hx-trigger="load">h</b>'
    "[m](javascript:x)\u202e\x07"
)
assert len(PAYLOAD) <= 200


class InertChecker(HTMLParser):
    """Collects every way markup could run code or call the server on its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith(
            ("/static/", "/admin/jsi18n/")
        ):
            self.problems.append(f"inline or foreign <script {attrs}>")
        if tag in {"iframe", "object", "embed", "base"}:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            text = (value or "").strip().lower()
            if name.startswith("on"):
                self.problems.append(f"event handler {name}= on <{tag}>")
            if name in {"href", "src", "action", "formaction", "xlink:href"} and text.startswith(
                ("javascript:", "data:text/html", "vbscript:")
            ):
                self.problems.append(f"{name}={value!r} on <{tag}>")
            if (name.startswith(("hx-", "data-hx-"))) and MARK in text:
                self.problems.append(f"user-supplied {name}= on <{tag}>")


def assert_inert(response: Any, where: str) -> None:
    assert response.status_code != 500, where
    content_type = response.headers.get("Content-Type", "")
    body = response.content.decode("utf-8", "replace")
    if "html" not in content_type:
        assert "\x00" not in body, where
        return
    checker = InertChecker()
    checker.feed(body)
    assert not checker.problems, f"{where}: {checker.problems}"
    assert "<script>alert" not in body, where


@dataclass
class World:
    incident: Incident
    other: Incident
    hypothesis: Hypothesis
    item: EvidenceItem
    annotation: Annotation
    foreign_hypothesis: Hypothesis
    foreign_item: EvidenceItem
    foreign_annotation: Annotation


@pytest.fixture
def world(incident: Incident, lead: Any, investigator: Any, outsider: Any) -> World:
    hypothesis = Hypothesis.propose(
        incident, by=lead, statement="A glitch.", kind="technical_fault"
    )
    item = EvidenceItem.attach(
        incident, by=lead, title="Log", text_body="The screen showed a flag."
    )
    annotation = Annotation.create_for(
        item, by=lead, body="Note.", exact="showed a flag", start=11, end=24
    )
    other = Incident.open_case(by=outsider, title="Someone else's case")
    foreign_hypothesis = Hypothesis.propose(other, by=outsider, statement="Theirs.", kind="other")
    foreign_item = EvidenceItem.attach(
        other, by=outsider, title="Theirs", text_body="Secret text here."
    )
    foreign_annotation = Annotation.create_for(
        foreign_item, by=outsider, body="Theirs.", exact="Secret", start=0, end=6
    )
    return World(
        incident,
        other,
        hypothesis,
        item,
        annotation,
        foreign_hypothesis,
        foreign_item,
        foreign_annotation,
    )


@dataclass(frozen=True)
class FormSpec:
    route: str
    args: Callable[[World], dict[str, Any]]
    baseline: Callable[[World], dict[str, str]]
    text_fields: dict[str, int]  # posted name -> its maximum length
    count: Callable[[World], Any]  # what a successful post adds or changes


def _ref(w: World) -> dict[str, Any]:
    return {"reference": w.incident.reference}


FORMS = [
    FormSpec(
        "cases:new",
        lambda w: {},
        lambda w: {
            "title": "T",
            "summary": "",
            "time_zone": "UTC",
            "severity": "moderate",
            "place_name": "",
            "tags": "",
        },
        {"title": 200, "summary": 20000, "place_name": 200},
        lambda w: Incident.objects.count(),
    ),
    FormSpec(
        "cases:timeline",
        _ref,
        lambda w: {"update-kind": "note", "update-body": "Note."},
        {"update-body": 20000},
        lambda w: StatusUpdate.objects.count(),
    ),
    FormSpec(
        "hypotheses:add",
        _ref,
        lambda w: {"hyp-kind": "other", "hyp-statement": "S.", "hyp-description": ""},
        {"hyp-statement": 300, "hyp-description": 20000},
        lambda w: Hypothesis.objects.count(),
    ),
    FormSpec(
        "hypotheses:move",
        lambda w: {**_ref(w), "pk": w.hypothesis.pk},
        lambda w: {
            f"move-{w.hypothesis.pk}-status": "under_evaluation",
            f"move-{w.hypothesis.pk}-rationale": "R.",
        },
        {"move-{h}-rationale": 20000},
        lambda w: HypothesisMove.objects.count(),
    ),
    FormSpec(
        "hypotheses:confidence",
        lambda w: {**_ref(w), "pk": w.hypothesis.pk},
        lambda w: {
            f"conf-{w.hypothesis.pk}-confidence": "likely",
            f"conf-{w.hypothesis.pk}-reason": "R.",
        },
        {"conf-{h}-reason": 20000},
        lambda w: Hypothesis.objects.get(pk=w.hypothesis.pk).confidence,
    ),
    FormSpec(
        "hypotheses:cell",
        lambda w: {**_ref(w), "evidence_id": w.item.pk, "hypothesis_id": w.hypothesis.pk},
        lambda w: {"rating": "C", "relevance": "medium", "reason": ""},
        {"reason": 5000},
        lambda w: list(Assessment.objects.values_list("rating", "reason")),
    ),
    FormSpec(
        "cases:status",
        _ref,
        lambda w: {"status": "investigating", "reason": "Start."},
        {"reason": 20000},
        lambda w: Incident.objects.get(pk=w.incident.pk).status,
    ),
    FormSpec(
        "evidence:attach",
        _ref,
        lambda w: {
            "ev-source": "text",
            "ev-text_body": "Text.",
            "ev-kind": "other",
            "ev-title": "T",
            "ev-description": "",
            "ev-language": "en",
            "ev-collected_at": "2026-01-01T10:00",
            "ev-obtained_from": "",
            "ev-reliability": "B",
            "ev-credibility": "2",
        },
        {"ev-title": 300, "ev-description": 20000, "ev-obtained_from": 300, "ev-language": 35},
        lambda w: EvidenceItem.objects.count(),
    ),
    FormSpec(
        "evidence:transfer",
        lambda w: {"pk": w.item.pk},
        lambda w: {"recipient": "Lab", "reason": "Analysis.", "place": ""},
        {"recipient": 200, "reason": 5000, "place": 200},
        lambda w: CustodyEntry.objects.count(),
    ),
    FormSpec(
        "evidence:annotate",
        lambda w: {"pk": w.item.pk},
        lambda w: {
            "new-body": "B.",
            "new-tags": "",
            "new-exact": "showed a flag",
            "new-start": "11",
            "new-end": "24",
        },
        {"new-body": 10000, "new-tags": 500},
        lambda w: Annotation.objects.count(),
    ),
    FormSpec(
        "evidence:annotation_edit",
        lambda w: {"pk": w.item.pk, "annotation_pk": w.annotation.pk},
        lambda w: {
            **{f"a{w.annotation.pk}-{k}": "" for k in ("tags", "stance", "hypothesis")},
            f"a{w.annotation.pk}-body": "B.",
            "version": str(w.annotation.version),  # every field posted (CompletePostMixin)
        },
        {"a{a}-body": 10000, "a{a}-tags": 500},
        lambda w: list(Annotation.objects.values_list("body", flat=True)),
    ),
    FormSpec(
        "evidence:edit_text",
        lambda w: {"pk": w.item.pk},
        lambda w: {"text_body": "The screen showed a flag. More.", "version": str(w.item.version)},
        {"text_body": 1_000_000},
        lambda w: EvidenceItem.objects.get(pk=w.item.pk).text_body,
    ),
    FormSpec(
        "reports:judgements",  # the lead's key judgements (docs/reports.md)
        _ref,
        lambda w: {"key_judgements": "It is likely.", "version": str(w.incident.version)},
        {"key_judgements": 20000},
        lambda w: Incident.objects.get(pk=w.incident.pk).key_judgements,
    ),
    FormSpec(
        "cases:members",
        _ref,
        lambda w: {"action": "add", "username": "nobody", "role": "observer"},
        {"username": 150},
        lambda w: list(Membership.objects.values_list("user_id", "role")),
    ),
    FormSpec(
        "cases:edit",
        _ref,
        lambda w: {
            "title": "T",
            "summary": "",
            "place_name": "",
            "latitude": "",
            "longitude": "",
            "occurred_at": "",
            "uncertainty_minutes": "",
            "time_zone": "UTC",
            "severity": "moderate",
            "tags": "",
            "version": str(Incident.objects.get(pk=w.incident.pk).version),
        },
        {"title": 200, "summary": 20000, "place_name": 200, "tags": 500},
        lambda w: Incident.objects.values_list("title", "summary", "place_name").get(
            pk=w.incident.pk
        ),
    ),
    FormSpec(
        "evidence:edit",
        lambda w: {"pk": w.item.pk},
        lambda w: {
            "what": "details",
            "title": "T",
            "description": "",
            "kind": "other",
            "url": "",
            "event_at": "",
            "event_uncertainty_minutes": "",
            "collected_at": "2026-01-01T10:00",
            "obtained_from": "",
            "language": "en",
            "version": str(EvidenceItem.objects.get(pk=w.item.pk).version),
        },
        {"title": 300, "description": 20000, "obtained_from": 300, "language": 35},
        lambda w: EvidenceItem.objects.values_list("title", "description").get(pk=w.item.pk),
    ),
]


def _name(template: str, w: World) -> str:
    return template.format(h=w.hypothesis.pk, a=w.annotation.pk)


def _url(spec: FormSpec, w: World) -> str:
    return reverse(spec.route, kwargs=spec.args(w) or None)


def test_every_text_form_of_the_site_is_listed() -> None:
    from tests.guards.test_access_matrix import EXPECTATIONS

    listed = {spec.route for spec in FORMS}
    # Write routes that take no free text: nothing hostile to push through them.
    no_text = {
        "evidence:verify",
        "evidence:use_metadata",
        "evidence:annotation_delete",
        "evidence:restore",  # a version only
        "reports:list",  # a TLP level, a report's number, a marking: choices and ids
        "reports:retry",
        "reports:markings",
        "login",
        "logout",
        "password_change",
    }
    # Forms whose hostile text is tried by their own app's tests and by the property
    # walk over every route (tests/guards/test_properties.py), not yet listed in FORMS here.
    elsewhere = {
        "account_sessions",
        "password_reset",
        "two_factor",
        "two_factor_setup",
        "two_factor_verify",
        *(
            f"chronology:{what}_{verb}"
            for what in ("clock", "event", "ordering")
            for verb in ("new", "edit", "delete")
        ),
        "chronology:source_clock",
    }
    writes = {name for name, e in EXPECTATIONS.items() if e.post is not None}
    assert writes - listed - no_text - elsewhere == set()


@pytest.mark.django_db
@pytest.mark.parametrize("spec", FORMS, ids=[s.route for s in FORMS])
def test_nul_control_and_too_long_input_get_form_errors(
    client: Client, world: World, lead: Any, spec: FormSpec
) -> None:
    client.force_login(lead)
    url = _url(spec, world)
    for field, limit in spec.text_fields.items():
        name = _name(field, world)
        for label, value in (("NUL", "before\x00after"), ("too long", "x" * (limit + 1))):
            before = spec.count(world)
            data = {**spec.baseline(world), name: value}
            for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                response = client.post(url, data, **headers)
                where = f"{spec.route} {name} {label} {headers}"
                assert response.status_code in (200, 422), f"{where}: {response.status_code}"
                assert_inert(response, where)
                assert spec.count(world) == before, f"{where} changed something"
                shown = response.content.decode().lower() + response.headers.get("HX-Trigger", "")
                assert "error" in shown, f"{where}: no error shown"


@pytest.mark.django_db
def test_hostile_text_is_stored_and_shown_inert_everywhere(
    client: Client, world: World, lead: Any, superuser: Any
) -> None:
    client.force_login(lead)
    for spec in FORMS:
        url = _url(spec, world)
        for field, limit in spec.text_fields.items():
            name = _name(field, world)
            payload = PAYLOAD if limit >= len(PAYLOAD) else PAYLOAD[:limit]
            response = client.post(
                url, {**spec.baseline(world), name: payload}, HTTP_HX_REQUEST="true"
            )
            assert response.status_code != 500, f"{spec.route} {name}"
            assert_inert(response, f"answer to {spec.route} {name}")
    for text in HOSTILE:  # each string alone, through the timeline and a hypothesis
        client.post(
            reverse("cases:timeline", kwargs=_ref(world)),
            {"update-kind": "note", "update-body": text},
        )
        client.post(
            reverse("hypotheses:add", kwargs=_ref(world)),
            {"hyp-kind": "other", "hyp-statement": text[:300]},
        )
    assert StatusUpdate.objects.filter(body__contains="alert").exists()  # stored as written…

    surfaces = [reverse("home"), reverse("cases:list"), reverse("cases:list") + "?q=alert"]
    for incident in Incident.objects.all():
        ref = {"reference": incident.reference}
        surfaces += [
            reverse("cases:detail", kwargs=ref),
            reverse("cases:members", kwargs=ref),
            reverse("cases:history", kwargs=ref),
        ]
        surfaces += [reverse("evidence:case_annotations", kwargs=ref)]
        with contextlib.suppress(NoReverseMatch):
            surfaces.append(reverse("cases:export", kwargs=ref))
    for evidence in EvidenceItem.objects.filter(incident__memberships__user=lead):
        surfaces += [
            reverse("evidence:detail", kwargs={"pk": evidence.pk}),
            reverse("evidence:jsonld", kwargs={"pk": evidence.pk}),
        ]
    checked = 0
    for path in surfaces:
        response = client.get(path)
        if response.status_code in (403, 404):
            continue
        assert_inert(response, path)
        checked += 1
        if response.headers.get("Content-Type", "").startswith("application/json") or path.endswith(
            ".json"
        ):
            json.loads(response.content)  # still valid JSON
    assert checked >= 8
    from incidents.cases.views.case import REGIONS

    detail = reverse("cases:detail", kwargs=_ref(world))
    for target in REGIONS:  # …and shown inert in every partial of the case page
        response = client.get(detail, HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target)
        assert_inert(response, f"partial {target}")

    # The admin: every changelist and change page of the records holding the payload.
    client.force_login(superuser)
    records: list[Model] = [
        *Incident.objects.all(),
        *Hypothesis.objects.all(),
        *EvidenceItem.objects.all(),
        *StatusUpdate.objects.all()[:20],
        *Annotation.objects.all(),
        *CustodyEntry.objects.all()[:10],
        *HypothesisMove.objects.all(),
        *Assessment.objects.all(),
    ]
    seen_models = set()
    for record in records:
        meta = record._meta
        try:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])
        except NoReverseMatch:
            continue
        assert_inert(client.get(change), change)
        if meta.model_name not in seen_models:
            seen_models.add(meta.model_name)
            changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            assert_inert(client.get(changelist + "?q=alert"), changelist)
    audit = reverse("admin:audit_auditevent_changelist")
    assert_inert(client.get(audit + "?q=alert"), audit)
    from incidents.audit.models import AuditEvent

    for event in AuditEvent.objects.filter(after__contains="alert")[:5]:
        path = reverse("admin:audit_auditevent_change", args=[event.pk])
        assert_inert(client.get(path), path)


# -- crafted posts ------------------------------------------------------------------------


@pytest.mark.django_db
def test_foreign_ids_are_refused_and_change_nothing(
    client: Client, world: World, lead: Any
) -> None:
    client.force_login(lead)
    ref = _ref(world)
    fh, fi, fa = world.foreign_hypothesis, world.foreign_item, world.foreign_annotation
    attempts = [
        (
            reverse("hypotheses:move", kwargs={**ref, "pk": fh.pk}),
            {f"move-{fh.pk}-status": "withdrawn", f"move-{fh.pk}-rationale": "x"},
        ),
        (
            reverse("hypotheses:confidence", kwargs={**ref, "pk": fh.pk}),
            {f"conf-{fh.pk}-confidence": "likely", f"conf-{fh.pk}-reason": "x"},
        ),
        (
            reverse(
                "hypotheses:cell",
                kwargs={**ref, "evidence_id": fi.pk, "hypothesis_id": world.hypothesis.pk},
            ),
            {"rating": "II"},
        ),
        (
            reverse(
                "hypotheses:cell",
                kwargs={**ref, "evidence_id": world.item.pk, "hypothesis_id": fh.pk},
            ),
            {"rating": "II"},
        ),
        (
            reverse("evidence:transfer", kwargs={"pk": fi.pk}),
            {"recipient": "me", "reason": "steal"},
        ),
        (reverse("evidence:edit_text", kwargs={"pk": fi.pk}), {"text_body": "Overwritten."}),
        (
            reverse(
                "evidence:annotation_edit", kwargs={"pk": world.item.pk, "annotation_pk": fa.pk}
            ),
            {f"a{fa.pk}-body": "x"},
        ),
        (
            reverse(
                "evidence:annotation_delete", kwargs={"pk": world.item.pk, "annotation_pk": fa.pk}
            ),
            {},
        ),
        (reverse("evidence:annotation_delete", kwargs={"pk": fi.pk, "annotation_pk": fa.pk}), {}),
        (
            reverse("cases:members", kwargs={"reference": world.other.reference}),
            {"action": "add", "username": "alice", "role": "lead"},
        ),
    ]
    for url, data in attempts:
        assert client.post(url, data).status_code == 404, url
    fh.refresh_from_db()
    fi.refresh_from_db()
    fa.refresh_from_db()
    assert (fh.status, fh.confidence, fi.text_body, fa.body, fa.deleted_at) == (
        "proposed",
        None,
        "Secret text here.",
        "Theirs.",
        None,
    )
    assert not Assessment.objects.exists()
    assert world.other.role_of(lead) is None
    # Citing another case's evidence in a move: refused, nothing moved.
    h = world.hypothesis
    response = client.post(
        reverse("hypotheses:move", kwargs={**ref, "pk": h.pk}),
        {
            f"move-{h.pk}-status": "under_evaluation",
            f"move-{h.pk}-rationale": "x",
            f"move-{h.pk}-cited_evidence": [fi.pk],
        },
    )
    assert response.status_code in (200, 422)
    h.refresh_from_db()
    assert h.status == "proposed"


@pytest.mark.django_db
def test_extra_fields_are_ignored(client: Client, world: World, lead: Any, outsider: Any) -> None:
    client.force_login(lead)
    response = client.post(
        reverse("evidence:attach", kwargs=_ref(world)),
        {
            **FORMS[7].baseline(world),
            "ev-title": "Extra",
            "incident": world.other.pk,
            "ev-incident": world.other.pk,
            "collected_by": outsider.pk,
            "ev-collected_by": outsider.pk,
            "file": "/etc/passwd",
            "ev-file_path": "../../etc/passwd",
            "ev-file_sha256": "0" * 64,
            "verification": "verified",
            "version": "99",
        },
    )
    assert response.status_code == 302
    item = EvidenceItem.objects.get(title="Extra")
    assert (item.incident, item.collected_by, item.file.name, item.verification) == (
        world.incident,
        lead,
        "",
        "unverified",
    )
    response = client.post(
        reverse("hypotheses:add", kwargs=_ref(world)),
        {
            "hyp-kind": "other",
            "hyp-statement": "Extra H.",
            "incident": world.other.pk,
            "hyp-created_by": outsider.pk,
            "hyp-status": "confirmed",
        },
    )
    h = Hypothesis.objects.get(statement="Extra H.")
    assert (h.incident, h.created_by, h.status) == (world.incident, lead, "proposed")
    client.post(
        reverse("cases:new"),
        {
            **FORMS[0].baseline(world),
            "title": "Mine",
            "lead": outsider.pk,
            "owner": outsider.pk,
            "status": "resolved",
            "reference": "INC-1999-0001",
        },
    )
    case = Incident.objects.get(title="Mine")
    assert (case.lead, case.status) == (lead, "open") and case.reference != "INC-1999-0001"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route, data",
    [
        ("cases:new", {"title": "X", "time_zone": "UTC", "severity": "apocalyptic"}),
        ("cases:new", {"title": "X", "time_zone": "Mars/Olympus", "severity": "low"}),
        ("cases:status", {"status": "deleted", "reason": "x"}),
        ("cases:timeline", {"update-kind": "case_status", "update-body": "forged automatic entry"}),
        ("hypotheses:add", {"hyp-kind": "magic", "hyp-statement": "x"}),
        (
            "hypotheses:move",
            {"move-{h}-status": "confirmed", "move-{h}-rationale": "skip the graph"},
        ),
        ("hypotheses:confidence", {"conf-{h}-confidence": "certain", "conf-{h}-reason": "x"}),
        ("hypotheses:cell", {"rating": "ZZ", "relevance": "medium"}),
        ("hypotheses:cell", {"rating": "C", "relevance": "extreme"}),
        (
            "evidence:annotate",
            {
                "new-body": "x",
                "new-exact": "showed a flag",
                "new-start": "11",
                "new-end": "24",
                "new-stance": "loves",
            },
        ),
        ("cases:members", {"action": "add", "username": "mallory", "role": "owner"}),
    ],
)
def test_invalid_choices_are_refused_and_change_nothing(
    client: Client, world: World, lead: Any, route: str, data: dict
) -> None:
    spec = next(s for s in FORMS if s.route == route)
    client.force_login(lead)
    snapshot = (
        Incident.objects.count(),
        StatusUpdate.objects.count(),
        Hypothesis.objects.count(),
        list(Hypothesis.objects.values_list("status", "confidence")),
        Assessment.objects.count(),
        Annotation.objects.count(),
        Membership.objects.count(),
        Incident.objects.get(pk=world.incident.pk).status,
    )
    posted = {_name(k, world): v for k, v in data.items()}
    response = client.post(_url(spec, world), posted)
    assert response.status_code in (200, 422), response.status_code
    assert snapshot == (
        Incident.objects.count(),
        StatusUpdate.objects.count(),
        Hypothesis.objects.count(),
        list(Hypothesis.objects.values_list("status", "confidence")),
        Assessment.objects.count(),
        Annotation.objects.count(),
        Membership.objects.count(),
        Incident.objects.get(pk=world.incident.pk).status,
    )


@pytest.mark.django_db
def test_every_write_route_refuses_a_post_without_csrf_token(world: World, lead: Any) -> None:
    from tests.guards.test_access_matrix import EXPECTATIONS

    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)

    def counts() -> list[int]:
        return [
            m.objects.count()
            for m in (
                Incident,
                StatusUpdate,
                Hypothesis,
                HypothesisMove,
                EvidenceItem,
                CustodyEntry,
                Annotation,
                Assessment,
                Membership,
            )
        ]

    # The routes' objects (a chronology's clock, say) are made first: only the posts are counted.
    urls = []
    for name, expect in EXPECTATIONS.items():
        if expect.post is None or name in {"login", "logout"}:
            continue
        kwargs = dict(expect.args(world))
        if name in {"hypotheses:move", "hypotheses:confidence"}:
            kwargs["pk"] = world.hypothesis.pk
        try:
            urls.append((name, reverse(name, kwargs=kwargs or None)))
        except NoReverseMatch:
            continue
    before = counts()
    tried = 0
    for name, url in urls:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.post(
                url, {"text_body": "x", "reason": "x", "update-body": "x"}, **headers
            )
            assert response.status_code == 403, f"{name}: {response.status_code}"
        tried += 1
    assert tried >= 12 and counts() == before


# -- the model rules refuse a NUL character with a message (PostgreSQL cannot store it) --


@pytest.mark.django_db
def test_model_rules_refuse_a_nul_character(incident: Incident, lead: Any) -> None:
    from django.core.exceptions import ValidationError

    hypothesis = Hypothesis.propose(incident, by=lead, statement="Under test.", kind="other")
    item = EvidenceItem.attach(
        incident, by=lead, kind="witness_statement", title="Note", text_body="A passage to mark."
    )
    entries = incident.updates.count()
    attempts: list[tuple[str, Callable[[], Any]]] = [
        ("rationale", lambda: hypothesis.move_to("under_evaluation", by=lead, rationale="\x00")),
        ("reason", lambda: hypothesis.set_confidence("likely", by=lead, reason="a\x00b")),
        (
            "statement",
            lambda: Hypothesis.propose(incident, by=lead, statement="\x00", kind="other"),
        ),
        ("reason", lambda: incident.move_to("investigating", by=lead, reason="\x00")),
        ("body", lambda: StatusUpdate.objects.post(incident, kind="note", body="\x00", by=lead)),
        ("body", lambda: Annotation.create_for(item, by=lead, body="\x00", exact="passage")),
        ("recipient", lambda: item.transfer(by=lead, recipient="Lab\x00", reason="Analysis")),
    ]
    for field, attempt in attempts:
        with pytest.raises(ValidationError) as caught:
            attempt()
        assert "null character" in caught.value.message_dict[field][0]
    assert incident.updates.count() == entries  # nothing half-written
    hypothesis.refresh_from_db()
    assert hypothesis.status == "proposed"


# -- the outside probe's 500s (issue 16): a 404, a form error or the default, never a 500 --

HUGE = "99999999999999999999"  # 20 digits: past a 64-bit column
SUPERSCRIPT_TWO = "²"  # str.isdigit() says yes, int() says no


@pytest.mark.django_db
def test_an_id_that_cannot_exist_is_a_404(client: Client, world: World, lead: Any) -> None:
    client.force_login(lead)
    ref = world.incident.reference
    for path in (
        f"/evidence/{HUGE}/",
        f"/evidence/{HUGE}/download/",
        "/evidence/%C2%B2/",
        f"/cases/{ref}/hypotheses/{HUGE}/move/",
        f"/cases/{ref}/hypotheses/cell/{HUGE}/{world.hypothesis.pk}/",
        f"/evidence/{world.item.pk}/annotations/{HUGE}/edit/",
    ):
        assert client.get(path).status_code == 404, path
        assert client.post(path, {}).status_code == 404, path


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [f"rows={HUGE}", "rows=²", f"sources={HUGE}", "sources=²", "before=²", f"before={HUGE}"],
)
def test_a_bad_count_or_cursor_on_the_case_page_shows_its_first_page(
    client: Client, world: World, lead: Any, query: str
) -> None:
    client.force_login(lead)
    response = client.get(reverse("cases:detail", kwargs=_ref(world)) + "?" + query)
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, message",
    [
        ("occurred_to=9999-12-31", "Give a time between"),
        ("occurred_from=0001-01-01", "Give a time between"),
        (f"after={Cursor(0, (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), 10**20)).encode()}", "page"),
        (
            "before=" + base64.urlsafe_b64encode(b'[0,["9999-12-31T23:59:59-12:00",1]]').decode(),
            "page",
        ),
        (
            "scope=sources&q=x&after="
            + base64.urlsafe_b64encode(
                b'[0,[1,"2024-01-01T00:00:00+00:00",99999999999999999999]]'
            ).decode(),
            "page",
        ),
    ],
)
def test_a_bad_list_filter_or_cursor_is_a_form_error(
    client: Client, world: World, lead: Any, query: str, message: str
) -> None:
    client.force_login(lead)
    response = client.get(f"/cases/?{query}")
    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.django_db
def test_a_time_past_the_calendar_in_its_zone_is_a_form_error(
    client: Client, world: World, lead: Any
) -> None:
    client.force_login(lead)
    before = Incident.objects.count()
    for time, zone in (("9999-12-31T23:59", "Etc/GMT+12"), ("0001-01-01T00:00", "Etc/GMT-14")):
        data = {**FORMS[0].baseline(world), "occurred_at": time, "time_zone": zone}
        response = client.post(reverse("cases:new"), data)
        assert response.status_code == 422
        assert "Give a time between" in response.content.decode()
    assert Incident.objects.count() == before
    attach = next(s for s in FORMS if s.route == "evidence:attach")
    Incident.objects.filter(pk=world.incident.pk).update(time_zone="Etc/GMT+12")
    for field in ("ev-event_at", "ev-collected_at"):
        data = {**attach.baseline(world), field: "9999-12-31T23:59"}
        response = client.post(_url(attach, world), data)
        assert response.status_code in (200, 422), field


@pytest.mark.django_db
@pytest.mark.parametrize("value", [HUGE, SUPERSCRIPT_TWO, "١٢", "-1"])
def test_a_bad_id_in_a_form_is_a_form_error(
    client: Client, world: World, lead: Any, value: str
) -> None:
    client.force_login(lead)
    h = world.hypothesis
    response = client.post(
        reverse("hypotheses:move", kwargs={**_ref(world), "pk": h.pk}),
        {
            f"move-{h.pk}-status": "under_evaluation",
            f"move-{h.pk}-rationale": "Because.",
            f"move-{h.pk}-cited_evidence": [str(world.item.pk), value],
        },
    )
    assert response.status_code in (200, 422)
    h.refresh_from_db()
    assert h.status == "proposed"
    members = reverse("cases:members", kwargs=_ref(world))
    response = client.post(members, {"action": "change", "user": value, "role": "observer"})
    assert response.status_code == 422
    assert client.post(members, {"action": "remove", "user": value}).status_code == 422


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["hypothesis=²", f"hypothesis={HUGE}", "tag=%00", "author=a%00b"])
def test_a_bad_annotation_filter_shows_no_error(
    client: Client, world: World, lead: Any, query: str
) -> None:
    client.force_login(lead)
    url = reverse("evidence:case_annotations", kwargs=_ref(world))
    assert client.get(f"{url}?{query}").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_username_longer_than_its_column_is_a_form_error_at_sign_in(
    client: Client, path: str
) -> None:
    """django-axes records a failed sign-in with its username in a 255-character
    column: PostgreSQL refused a longer one (a 500) before the forms bounded it."""
    from axes.models import AccessAttempt

    for name in ("x" * 151, "x" * 10_000, "²" * 300):
        response = client.post(path, {"username": name, "password": "wrong"})
        assert response.status_code == 200, (path, len(name))
        assert "at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()  # no sign-in was tried

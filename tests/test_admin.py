"""The admin: every page renders, and no admin path goes around the model's rules."""

from __future__ import annotations

from html.parser import HTMLParser
from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.evidence.models import CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis
from tests.factories import EvidenceItemFactory, HypothesisFactory


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    """Users are hashed with MD5 here: Argon2's deliberate cost is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(client: Any, superuser: Any) -> Any:
    client.force_login(superuser)
    return client


@pytest.fixture
def demo(db: Any, settings: Any) -> Incident:
    """The demo case fills every model the admin shows."""
    call_command("load_demo", force=True, stdout=StringIO())
    Group.objects.create(name="Analysts")
    return Incident.objects.get(reference="INC-2024-0001")


def url(model: type, view: str, *args: Any) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def test_every_admin_page_renders(admin_client: Any, demo: Incident) -> None:
    """Changelist (with a search), add and change page of every registered model.

    One test over the whole registry, so the demo is loaded once; the failure
    lists every page that did not answer 200. Every Inquest model must have a
    record in the demo, so its change page is rendered too.
    """
    failures = []
    for model, model_admin in admin.site._registry.items():
        pages = [url(model, "changelist")]
        if model_admin.search_fields:
            pages.append(url(model, "changelist") + "?q=Astana")
        if model_admin.has_add_permission(admin_client.get(pages[0]).wsgi_request):
            pages.append(url(model, "add"))
        objects = list(model._default_manager.all()[:12])  # files, texts, kinds differ
        pages += [url(model, "change", obj.pk) for obj in objects]
        if not objects and model.__module__.startswith("incidents."):
            # Third-party records (login attempts…) may not exist; ours must.
            failures.append(f"{model._meta.label}: no record to show (extend the demo)")
        for page in pages:
            status = admin_client.get(page).status_code
            if status != 200:
                failures.append(f"{model._meta.label}: {page} answered {status}")
    assert failures == []
    assert len(admin.site._registry) >= 12


def test_the_changelists_take_a_constant_number_of_queries(
    admin_client: Any, demo: Incident, django_assert_max_num_queries: Any
) -> None:
    for model in (Incident, Hypothesis, EvidenceItem, Assessment, StatusUpdate, CustodyEntry):
        with django_assert_max_num_queries(12):
            assert admin_client.get(url(model, "changelist")).status_code == 200


# -- reading a rendered form back as POST data ----------------------------------------


class FormReader(HTMLParser):
    """The values a browser would submit from the page's main form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}
        self._select: str | None = None
        self._multiple = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in {"submit", "file", "button"}:
            if a.get("type") in {"checkbox", "radio"}:
                if "checked" in a:
                    self.data[name] = a.get("value") or "on"
            else:
                self.data[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self._multiple = "multiple" in a
            if not self._multiple:  # a multiple select with nothing chosen sends nothing
                self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            value = a.get("value") or ""
            if self._multiple:
                self.data.setdefault(self._select, []).append(value)
            else:
                self.data[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            # The HTML parser keeps the newline a textarea's content starts with.
            first = not self.data[self._textarea]
            self.data[self._textarea] += data.removeprefix("\n") if first else data


def form_data(response: Any) -> dict[str, Any]:
    reader = FormReader()
    reader.feed(response.content.decode())
    reader.data.pop("csrfmiddlewaretoken", None)
    reader.data.pop("q", None)  # the navigation sidebar's filter box
    return reader.data


# -- creation goes through the model methods --------------------------------------------


def test_adding_an_incident_goes_through_open_case(admin_client: Any, lead: Any) -> None:
    response = admin_client.post(
        url(Incident, "add"),
        {
            "title": "Screen shows a flag",
            "summary": "Seen from the avenue.",
            "severity": "high",
            "lead": lead.pk,
            "time_zone": "Asia/Almaty",
            "place_name": "Astana",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    case = Incident.objects.get()
    assert case.reference.startswith("INC-")
    assert case.status == Incident.Status.OPEN
    assert case.memberships.get(user=lead).role == Membership.Role.LEAD
    assert case.updates.get().kind == StatusUpdate.Kind.CASE_STATUS
    assert response["Location"] == url(Incident, "changelist")


def test_the_add_form_refuses_a_bad_time_zone(admin_client: Any, lead: Any) -> None:
    response = admin_client.post(
        url(Incident, "add"),
        {"title": "X", "severity": "high", "lead": lead.pk, "time_zone": "Mars/Olympus"},
    )
    assert response.status_code == 200
    assert "not a known time zone" in response.content.decode()
    assert not Incident.objects.exists()


def test_the_change_form_cannot_set_the_status(admin_client: Any, incident: Incident) -> None:
    page = admin_client.get(url(Incident, "change", incident.pk))
    data = form_data(page)
    assert "status" not in data and "reference" not in data
    data.update(status="resolved", reference="INC-1999-0001", title="Renamed")
    response = admin_client.post(url(Incident, "change", incident.pk), data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.status) == ("Renamed", "open")
    assert incident.reference != "INC-1999-0001"
    assert incident.version == 2


def test_adding_a_hypothesis_goes_through_propose(admin_client: Any, incident: Incident) -> None:
    response = admin_client.post(
        url(Hypothesis, "add"),
        {"incident": incident.pk, "kind": "cyberattack", "statement": "An intrusion."},
    )
    assert response.status_code == 302
    hypothesis = Hypothesis.objects.get()
    assert hypothesis.status == Hypothesis.Status.PROPOSED
    assert incident.updates.first().kind == StatusUpdate.Kind.HYPOTHESIS_ADDED


def test_adding_evidence_goes_through_attach(admin_client: Any, incident: Incident) -> None:
    upload = SimpleUploadedFile("log.txt", b"20:14 override\n", content_type="text/plain")
    response = admin_client.post(
        url(EvidenceItem, "add"),
        {
            "incident": incident.pk,
            "kind": "log_extract",
            "title": "Operator log",
            "file": upload,
            "reliability": "B",
            "credibility": "2",
            "collected_at_0": "2024-11-29",
            "collected_at_1": "15:00:00",
            "collected_by": incident.lead.pk,
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    item = EvidenceItem.objects.get()
    assert len(item.file_sha256) == 64
    assert item.original_name.endswith("log.txt")
    assert set(item.custody.values_list("action", flat=True)) >= {"collected", "uploaded"}
    assert incident.updates.first().kind == StatusUpdate.Kind.EVIDENCE_ADDED


def test_evidence_needs_a_url_a_file_or_a_text(admin_client: Any, incident: Incident) -> None:
    response = admin_client.post(
        url(EvidenceItem, "add"),
        {
            "incident": incident.pk,
            "kind": "other",
            "title": "Nothing",
            "reliability": "F",
            "credibility": "6",
            "collected_at_0": "2024-11-29",
            "collected_at_1": "15:00:00",
            "collected_by": incident.lead.pk,
        },
    )
    assert response.status_code == 200
    assert "at least one of" in response.content.decode()
    assert not EvidenceItem.objects.exists()


def test_rating_in_the_evidence_inline_goes_through_rate(
    admin_client: Any, incident: Incident
) -> None:
    hypothesis = HypothesisFactory(incident=incident)
    item = EvidenceItemFactory(incident=incident)
    Assessment.rate(item, hypothesis, by=incident.lead, rating="C")
    data = form_data(admin_client.get(url(EvidenceItem, "change", item.pk)))
    assert data["assessments-0-rating"] == "C"
    data["assessments-0-rating"] = "II"
    data["assessments-0-reason"] = "The log contradicts it."
    response = admin_client.post(url(EvidenceItem, "change", item.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    cell = Assessment.objects.get()
    assert (cell.rating, cell.reason, cell.version) == ("II", "The log contradicts it.", 2)


def test_an_assessment_cannot_pair_two_cases(admin_client: Any, incident: Incident) -> None:
    item = EvidenceItemFactory(incident=incident)
    foreign = HypothesisFactory()
    response = admin_client.post(
        url(Assessment, "add"),
        {"evidence": item.pk, "hypothesis": foreign.pk, "rating": "C", "relevance": "medium"},
    )
    assert response.status_code == 200
    assert "different cases" in response.content.decode()
    assert not Assessment.objects.exists()


def test_custody_entries_are_read_only(admin_client: Any, incident: Incident) -> None:
    item = EvidenceItemFactory(incident=incident)
    entry = item.custody.first()
    assert admin_client.get(url(CustodyEntry, "add")).status_code == 403
    response = admin_client.post(url(CustodyEntry, "change", entry.pk), {"reason": "Edited"})
    assert response.status_code == 403
    assert admin_client.post(url(CustodyEntry, "delete", entry.pk)).status_code == 403
    entry.refresh_from_db()
    assert entry.reason != "Edited"


# -- status changes: actions with a reason form -------------------------------------------


def run_action(client: Any, model: type, action: str, objects: list[Any], **form: str) -> Any:
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **form}
    if form:
        data["apply"] = "yes"
    return client.post(url(model, "changelist"), data, follow=bool(form))


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def test_case_status_action_asks_then_moves(admin_client: Any, incident: Incident) -> None:
    page = run_action(admin_client, Incident, "change_status", [incident])
    assert page.status_code == 200
    body = page.content.decode()
    assert "New status" in body and "Reason" in body and incident.reference in body

    response = run_action(
        admin_client,
        Incident,
        "change_status",
        [incident],
        target="investigating",
        reason="Sources coming in.",
    )
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert "Sources coming in." in incident.updates.first().body
    assert ("success", "Change case status: done for 1 of 1.") in messages_of(response)


def test_case_status_action_reports_the_models_refusal(
    admin_client: Any, incident: Incident
) -> None:
    incident.move_to("investigating", by=incident.lead, reason="Start.")
    HypothesisFactory(incident=incident, statement="Still open.")
    response = run_action(
        admin_client, Incident, "change_status", [incident], target="resolved", reason="Done."
    )
    incident.refresh_from_db()
    assert incident.status == "investigating"
    errors = [text for level, text in messages_of(response) if level == "error"]
    assert len(errors) == 1
    assert "No hypothesis is confirmed" in errors[0]
    assert "“Still open.” is still proposed" in errors[0]


def test_an_illegal_case_move_is_refused(admin_client: Any, incident: Incident) -> None:
    response = run_action(
        admin_client, Incident, "change_status", [incident], target="resolved", reason="Done."
    )
    incident.refresh_from_db()
    assert incident.status == "open"
    assert any("cannot become resolved" in t for lvl, t in messages_of(response) if lvl == "error")


def test_the_reason_is_required(admin_client: Any, incident: Incident) -> None:
    response = admin_client.post(
        url(Incident, "changelist"),
        {
            "action": "change_status",
            ACTION_CHECKBOX_NAME: [incident.pk],
            "apply": "yes",
            "target": "investigating",
            "reason": "",
        },
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "open"


def test_hypothesis_move_action(admin_client: Any, incident: Incident) -> None:
    good, closed = HypothesisFactory(incident=incident), HypothesisFactory(incident=incident)
    closed.move_to("withdrawn", by=incident.lead, rationale="Duplicate.")
    response = run_action(
        admin_client,
        Hypothesis,
        "move",
        [good, closed],
        target="under_evaluation",
        reason="Time to weigh it.",
    )
    good.refresh_from_db()
    closed.refresh_from_db()
    assert good.status == "under_evaluation"
    assert good.moves.get().rationale == "Time to weigh it."
    assert closed.status == "under_evaluation"  # reconsidering is legal

    response = run_action(
        admin_client, Hypothesis, "move", [good], target="confirmed", reason="Sure."
    )
    good.refresh_from_db()
    assert good.status == "under_evaluation"
    errors = [t for lvl, t in messages_of(response) if lvl == "error"]
    assert errors == [
        f"{good.statement}: A under evaluation hypothesis cannot be moved to confirmed; "
        "it can go to: supported, weakened, withdrawn."
    ]


def test_confidence_action(admin_client: Any, incident: Incident) -> None:
    hypothesis = HypothesisFactory(incident=incident)
    run_action(
        admin_client,
        Hypothesis,
        "change_confidence",
        [hypothesis],
        target="likely",
        reason="The log.",
    )
    hypothesis.refresh_from_db()
    assert hypothesis.confidence == "likely"
    assert hypothesis.confidence_history.get().reason == "The log."

    response = run_action(
        admin_client,
        Hypothesis,
        "change_confidence",
        [hypothesis],
        target="likely",
        reason="Again.",
    )
    assert any("already the stated" in t for lvl, t in messages_of(response) if lvl == "error")
    assert hypothesis.confidence_history.count() == 1


def test_the_admin_needs_staff(client: Any, incident: Incident, lead: Any) -> None:
    client.force_login(lead)
    response = client.get(url(Incident, "changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_stale_change_form_is_refused(admin_client: Any, incident: Incident) -> None:
    data = form_data(admin_client.get(url(Incident, "change", incident.pk)))
    incident.move_to("investigating", by=incident.lead, reason="Meanwhile, elsewhere.")
    data["title"] = "My stale edit"
    response = admin_client.post(url(Incident, "change", incident.pk), data)
    assert response.status_code == 200
    assert "after you loaded it" in response.content.decode()
    incident.refresh_from_db()
    assert incident.title != "My stale edit"


def test_an_annotation_cannot_take_a_stance_toward_another_case(
    admin_client: Any, incident: Incident
) -> None:
    from incidents.evidence.models import Annotation

    item = EvidenceItemFactory(incident=incident, text_body="The screen showed a flag.")
    note = Annotation.create_for(
        item, by=incident.lead, body="Note.", exact="flag", start=21, end=25
    )
    foreign = HypothesisFactory()
    data = form_data(admin_client.get(url(Annotation, "change", note.pk)))
    data.update(stance="supports", hypothesis=str(foreign.pk))
    response = admin_client.post(url(Annotation, "change", note.pk), data)
    assert response.status_code == 200
    assert "belongs to another case" in response.content.decode()
    note.refresh_from_db()
    assert note.hypothesis is None


def test_a_source_cannot_lose_its_last_content(admin_client: Any, incident: Incident) -> None:
    item = EvidenceItemFactory(incident=incident, text_body="", url="https://example.org/a")
    data = form_data(admin_client.get(url(EvidenceItem, "change", item.pk)))
    data["url"] = ""
    response = admin_client.post(url(EvidenceItem, "change", item.pk), data)
    assert response.status_code == 200
    assert "at least one of" in response.content.decode()
    item.refresh_from_db()
    assert item.url == "https://example.org/a"


def membership_rows(data: dict[str, Any]) -> dict[str, str]:
    """username id -> row prefix, from the incident change form's data."""
    total = int(data["memberships-TOTAL_FORMS"])
    return {data[f"memberships-{i}-user"]: f"memberships-{i}" for i in range(total)}


def test_members_change_through_the_model(
    admin_client: Any, incident: Incident, lead: Any, investigator: Any, observer: Any
) -> None:
    data = form_data(admin_client.get(url(Incident, "change", incident.pk)))
    rows = membership_rows(data)
    data[f"{rows[str(observer.pk)]}-role"] = "investigator"
    data[f"{rows[str(investigator.pk)]}-DELETE"] = "on"
    response = admin_client.post(url(Incident, "change", incident.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    roles = dict(incident.memberships.values_list("user__username", "role"))
    assert roles == {lead.username: "lead", observer.username: "investigator"}
    bodies = list(
        incident.updates.filter(kind=StatusUpdate.Kind.MEMBERS_CHANGED).values_list(
            "body", flat=True
        )
    )
    assert any("observer → investigator" in b for b in bodies)
    assert any("removed from the case" in b for b in bodies)


def test_the_last_lead_cannot_go(admin_client: Any, incident: Incident, lead: Any) -> None:
    data = form_data(admin_client.get(url(Incident, "change", incident.pk)))
    data[f"{membership_rows(data)[str(lead.pk)]}-DELETE"] = "on"
    response = admin_client.post(url(Incident, "change", incident.pk), data)
    assert response.status_code == 200
    assert "The case needs a lead" in response.content.decode()
    assert incident.memberships.filter(user=lead, role="lead").exists()


def test_memberships_are_read_only_outside_their_case(
    admin_client: Any, incident: Incident
) -> None:
    membership = incident.memberships.first()
    assert admin_client.get(url(Membership, "add")).status_code == 403
    response = admin_client.post(url(Membership, "change", membership.pk), {"role": "observer"})
    assert response.status_code == 403

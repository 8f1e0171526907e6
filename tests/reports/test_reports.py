"""Case reports (issue 17): the PDF's content, audiences and withholding, the
record and its hash, the background task and its failure path, access, the
command for scripts, TLP markings and key judgements (docs/reports.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from incidents.audit.models import AuditEvent
from incidents.cases.models import Incident, StatusUpdate
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.hypotheses.models import Hypothesis
from incidents.reports import content, marking, render, wep
from incidents.reports.models import Report
from incidents.reports.tlp import RANK, TLP

REFERENCE = "INC-2024-0001"
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
SECTIONS = (
    "Key judgements",
    "The case",
    "Hypotheses",
    "Analysis of competing hypotheses",
    "Sources",
    "Evidence in the sources' own words",
    "Chronology",
    "Chain of custody",
    "The method",
    "Words of estimative probability",
    "Traffic Light Protocol",
    "Grading sources (Admiralty code)",
)


def text_of(pdf: bytes) -> str:
    """The PDF's text, each run of white space one space (lines wrap anywhere)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db: Any, fast_hasher: None) -> Incident:
    call_command("load_demo", force=True, stdout=StringIO())
    return Incident.objects.get(reference=REFERENCE)


@pytest.fixture(scope="module")
def demo_pdfs(django_db_setup: Any, django_db_blocker: Any) -> dict[str, bytes]:
    """The demo's report for each level, made once for the module's tests."""
    from django.conf import settings

    hashers = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock():
        from django.db import transaction

        try:
            with transaction.atomic():
                call_command("load_demo", force=True, stdout=StringIO())
                incident = Incident.objects.get(reference=REFERENCE)
                pdfs = {
                    level: render.build_report(
                        incident, audience=level, requested_by="Test", number=1
                    ).pdf
                    for level in ("clear", "green", "red")
                }
                transaction.set_rollback(True)
        finally:
            settings.PASSWORD_HASHERS = hashers
    return pdfs


def login(client: Client, username: str) -> Client:
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    return client


# -- TLP -------------------------------------------------------------------------------


def test_tlp_order_is_defined_once_and_widest_first() -> None:
    assert [level.value for level in TLP] == ["clear", "green", "amber", "amber+strict", "red"]
    assert [RANK[v] for v in TLP.values] == [0, 1, 2, 3, 4]
    assert TLP.AMBER.allows("green") and TLP.AMBER.allows("amber")
    assert not TLP.AMBER.allows("amber+strict")
    assert TLP.up_to("green") == ["clear", "green"]
    assert TLP.highest("green", "amber+strict", "clear") == "amber+strict"
    assert TLP.parse("TLP:AMBER+STRICT") is TLP.AMBER_STRICT
    assert TLP.parse("amber_strict") is TLP.AMBER_STRICT
    assert TLP.AMBER_STRICT.css == "tlp-amber-strict"
    with pytest.raises(ValueError, match="not a TLP level"):
        TLP.parse("orange")


@pytest.mark.django_db
def test_an_items_level_comes_from_its_case(incident: Incident, lead: Any) -> None:
    assert incident.tlp == TLP.AMBER  # a new case: nothing goes wide unless someone says so
    Incident.objects.filter(pk=incident.pk).update(tlp=TLP.GREEN)
    incident.refresh_from_db()
    item = EvidenceItem.attach(incident, by=lead, title="Log", text_body="The screen went dark.")
    assert item.tlp == TLP.GREEN
    entry = StatusUpdate.objects.post(incident, kind="finding", by=lead, body="Found it.")
    assert entry.tlp == TLP.GREEN
    # A move reads its case without the level: the entry takes it in its INSERT.
    hypothesis = Hypothesis.propose(incident, by=lead, statement="A fault.", kind="other")
    hypothesis.move_to("under_evaluation", by=lead, rationale="Looking.")
    moved = StatusUpdate.objects.filter(kind="hypothesis_moved").get()
    assert moved.tlp == TLP.GREEN
    annotation = Annotation.create_for(
        item, by=lead, body="Here.", exact="went dark", start=11, end=20
    )
    assert annotation.tlp == TLP.GREEN


@pytest.mark.django_db
def test_marking_is_one_change_on_the_activity_log_and_the_audit_trail(
    incident: Incident, lead: Any, investigator: Any
) -> None:
    item = EvidenceItem.attach(incident, by=lead, title="Log", text_body="Dark.")
    version = item.version
    entry = marking.mark(item, "red", by=investigator, expected_version=version)
    item.refresh_from_db()
    assert item.tlp == "red" and item.version == version + 1
    assert entry.kind == StatusUpdate.Kind.MARKING_CHANGED
    assert "Source “Log” marked TLP:RED (was TLP:AMBER)" in entry.body
    audited = AuditEvent.objects.filter(table_name="evidence_evidenceitem", object_pk=str(item.pk))
    assert '"tlp": "red"' in audited.order_by("-id").first().after.replace('":"', '": "')
    with pytest.raises(ValidationError):
        marking.mark(item, "red", by=investigator)  # already
    with pytest.raises(ValidationError):
        marking.mark(item, "green", by=investigator, expected_version=version)  # stale
    automatic = StatusUpdate.objects.filter(kind="evidence_added").first()
    with pytest.raises(ValidationError, match="Automatic entries"):
        marking.mark(automatic, "red", by=investigator)


def test_wep_words_are_tied_to_their_bands() -> None:
    html = wep.tie_words(
        "<p>It is very likely, not unlikely; <code>likely</code> and "
        '<a href="https://x">likely</a>.</p>'
    )
    assert "very likely" in html and "80–95" in html
    assert "unlikely" in html and "20–45" in html
    assert html.count("wep-band") == 2  # not inside code or a link
    assert "55–80" not in html  # "likely" alone appears only in code and the link


# -- the PDF ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_report_holds_every_section_and_every_statement(demo_pdfs: dict[str, bytes]) -> None:
    text = text_of(demo_pdfs["red"])
    for section in SECTIONS:
        assert section in text, section
    for statement in Hypothesis.objects.none().values_list("statement", flat=True):
        assert statement in text
    from incidents.cases.management.commands.load_demo import HYPOTHESES, SOURCES

    for h in HYPOTHESES.values():
        assert " ".join(h["statement"].split()) in text, h["statement"]
    # Cyrillic and Kazakh letters come out as letters (fonts with those glyphs).
    assert "Қазақ тіліндегі жаңалық" in text
    assert "Новостной репортаж на русском" in text
    # WEP words tied to their bands, the TLP in the running header, page numbers.
    assert "likely 55–80" in text
    assert text.count("TLP:RED") >= 2 * len(pypdf.PdfReader(io.BytesIO(demo_pdfs["red"])).pages)
    assert "Page 3 of" in text
    assert len([s for s in SOURCES if s.title in text]) == len(SOURCES)


@pytest.mark.django_db
def test_withheld_items_are_absent_from_a_wider_audiences_report(
    demo_pdfs: dict[str, bytes],
) -> None:
    red, clear, green = (text_of(demo_pdfs[k]) for k in ("red", "clear", "green"))
    log = "Operator log extract, 20:00–21:00"
    witness = "Witness statement: café worker across the avenue"
    forum = "Anonymous forum post about a dismissed contractor"
    finding = "manual playlist override from an office workstation"
    passage = "custom-0412.png"
    for marked in (log, witness, forum, finding, passage):
        assert marked in red, marked
        assert marked not in clear, marked
    assert forum in green and log not in green and witness not in green
    assert "5 items withheld" in clear and "3 sources" in clear and "1 finding" in clear
    assert "Nothing withheld" in red
    # Counted, never named: the cover's summary and the chapters' notes.
    assert "sources marked above TLP:CLEAR are withheld" in clear


@pytest.mark.django_db
def test_a_long_report_is_laid_out_in_parts_and_joined(
    demo: Incident, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "SINGLE_PAGES", 1)
    monkeypatch.setattr(render, "PART_PAGES", 3)
    data = content.gather(demo, audience="red", number=2, requested_by="Test")
    assert len(render.plan(data)) > 2
    pdf, pages = render.build_pdf(data)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == pages
    text = text_of(pdf)
    for section in SECTIONS:
        assert section in text
    assert f"Length {pages} pages" in text
    # The pages are numbered through, and the contents give each chapter's page.
    numbers = [
        int(m.group(1))
        for page in reader.pages
        if (m := re.search(r"Page (\d+)", page.extract_text()))
    ]
    assert numbers == list(range(1, pages + 1))
    assert reader.outline  # the parts' bookmarks are kept
    assert reader.metadata.title.startswith(REFERENCE)


@pytest.mark.django_db
def test_a_report_is_for_the_cases_level_or_narrower(incident: Incident, lead: Any) -> None:
    with pytest.raises(ValidationError, match="marked TLP:AMBER"):
        Report.request(incident, by=lead, audience="green", enqueue=False)
    report = Report.request(incident, by=lead, audience="amber+strict", enqueue=False)
    assert report.number == 1 and report.status == "queued"


# -- the record, the task -------------------------------------------------------------


@pytest.mark.django_db
def test_a_report_is_made_recorded_and_served_with_its_hash(
    demo: Incident,
    settings: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = IMMEDIATE
    login(client, "investigator")
    url = reverse("reports:list", args=[REFERENCE])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"audience": "green"})
    assert response.status_code == 302
    report = Report.objects.get(incident=demo)
    assert report.status == "done", report.error
    assert report.number == 1 and report.audience == "green"
    assert report.requested_by.username == "investigator"
    assert report.withheld == {
        "sources": 2,
        "findings": 1,
        "official_statements": 0,
        "annotations": 1,
    }
    stored = Path(report.file.path).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == report.sha256
    assert report.size == len(stored) and report.pages and report.pages > 5
    made = StatusUpdate.objects.filter(incident=demo, kind="report").get()
    assert "Report 1 made for TLP:GREEN" in made.body and report.sha256 in made.body
    assert AuditEvent.objects.filter(table_name="reports_report", object_pk=str(report.pk))

    page = client.get(url)
    assert page.status_code == 200
    assert f'href="{reverse("reports:download", args=[REFERENCE, 1])}"' in page.text
    download = client.get(reverse("reports:download", args=[REFERENCE, 1]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert hashlib.sha256(download.content).hexdigest() == report.sha256
    assert f"{REFERENCE}-report-1-TLP-GREEN.pdf" in download["Content-Disposition"]
    report.refresh_from_db()
    assert report.downloads == 1
    assert StatusUpdate.objects.filter(incident=demo, kind="report").count() == 2

    # Making it again gives report 2; report 1 stays as it was.
    assert "Make again" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"audience": "green"})
    assert list(Report.objects.filter(incident=demo).values_list("number", "status")) == [
        (2, "done"),
        (1, "done"),
    ]

    # A stored file that no longer matches its hash is not served.
    Path(report.file.path).write_bytes(stored + b"%tampered")
    refused = client.get(reverse("reports:download", args=[REFERENCE, 1]))
    assert refused.status_code == 409
    assert "does not match its SHA-256 on record" in refused.text


@pytest.mark.django_db
def test_a_failed_run_says_why_and_can_be_tried_again(
    demo: Incident,
    settings: Any,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = IMMEDIATE
    login(client, "lead")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the disk is full")

    monkeypatch.setattr(render, "build_report", broken)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:list", args=[REFERENCE]), {"audience": "red"})
    report = Report.objects.get(incident=demo)
    assert report.status == "failed"
    assert report.error == "OSError: the disk is full"
    assert report.attempts == 1 and not report.file
    row = client.get(reverse("reports:row", args=[REFERENCE, 1]), headers={"HX-Request": "true"})
    assert "the disk is full" in row.text and "Try again" in row.text
    assert "hx-trigger" not in row.text  # no more polling
    assert not StatusUpdate.objects.filter(incident=demo, kind="report").exists()

    monkeypatch.undo()
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(
            reverse("reports:retry", args=[REFERENCE, 1]), headers={"HX-Request": "true"}
        )
    assert again.status_code == 200 and "report-1" in again.text
    row = client.get(reverse("reports:row", args=[REFERENCE, 1]), headers={"HX-Request": "true"})
    assert "Download PDF" in row.text
    report.refresh_from_db()
    assert report.status == "done" and report.attempts == 2 and report.error == ""


@pytest.mark.django_db
def test_a_queued_report_polls_until_it_is_made(
    demo: Incident, settings: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    """With a backend that only queues (the dummy), the row polls; running the
    task as the worker would ends the polling."""
    from incidents.reports.tasks import generate_report

    settings.TASKS = DUMMY
    login(client, "lead")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:list", args=[REFERENCE]), {"audience": "amber"})
    report = Report.objects.get(incident=demo)
    assert report.status == "queued" and report.task_id
    row_url = reverse("reports:row", args=[REFERENCE, 1])
    pending = client.get(row_url, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in pending.text and "Queued" in pending.text
    Report.objects.filter(pk=report.pk).update(
        requested_at=report.requested_at - dt.timedelta(minutes=2)
    )
    waiting = client.get(row_url, headers={"HX-Request": "true"})
    assert "may not be running" in waiting.text and 'hx-trigger="every 2s"' in waiting.text
    generate_report.call(report.pk)
    ready = client.get(row_url, headers={"HX-Request": "true"})
    assert "hx-trigger" not in ready.text and "Download PDF" in ready.text
    # A second run of the same task leaves the made report alone.
    assert generate_report.call(report.pk) == {"report": report.pk, "skipped": "done"}


@pytest.mark.django_db(transaction=True)
def test_the_database_backend_and_its_worker_make_the_report(
    settings: Any, fast_hasher: None
) -> None:
    """django-tasks-db's queue in the app's own database, run by db_worker --batch."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    call_command("load_demo", force=True, stdout=StringIO())
    incident = Incident.objects.get(reference=REFERENCE)
    lead = incident.lead
    report = Report.request(incident, by=lead, audience="clear")  # queued on commit
    queued = DBTaskResult.objects.get()
    report.refresh_from_db()
    assert queued.status == "READY" and report.task_id == str(queued.id)
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", stdout=StringIO())
    report.refresh_from_db()
    assert report.status == "done", report.error
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert report.withheld["sources"] == 3
    assert hashlib.sha256(report.read_verified()).hexdigest() == report.sha256


# -- access -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_who_may_see_make_and_mark(
    demo: Incident, settings: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        Report.request(demo, by=demo.lead, audience="red")
    urls = {
        "list": reverse("reports:list", args=[REFERENCE]),
        "row": reverse("reports:row", args=[REFERENCE, 1]),
        "download": reverse("reports:download", args=[REFERENCE, 1]),
        "markings": reverse("reports:markings", args=[REFERENCE]),
        "judgements": reverse("reports:judgements", args=[REFERENCE]),
    }
    login(client, "outsider")
    for name, url in urls.items():
        assert client.get(url).status_code == 404, name
    assert client.post(urls["list"], {"audience": "red"}).status_code == 404
    assert client.get(reverse("reports:list", args=["INC-2024-9999"])).status_code == 404

    # Observers read reports (nothing in one they could not read on the case
    # page), but neither make them nor change what they hold.
    login(client, "observer")
    assert client.get(urls["list"]).status_code == 200
    assert "Make a report" not in client.get(urls["list"]).text
    assert client.get(urls["download"]).status_code == 200
    assert client.post(urls["list"], {"audience": "red"}).status_code == 403
    assert client.post(reverse("reports:retry", args=[REFERENCE, 1])).status_code == 403
    item = EvidenceItem.objects.filter(incident=demo).first()
    mark = {"kind": "sources", "id": item.pk, "tlp": "red", "version": item.version}
    assert client.post(urls["markings"], mark).status_code == 403
    assert client.post(urls["judgements"], {"key_judgements": "x", "version": 1}).status_code == 403

    login(client, "investigator")
    assert client.post(urls["markings"], mark).status_code == 302
    item.refresh_from_db()
    assert item.tlp == "red"
    case_mark = {"kind": "case", "tlp": "red", "version": demo.version}
    assert client.post(urls["markings"], case_mark).status_code == 403
    assert client.post(urls["judgements"], {"key_judgements": "x", "version": 1}).status_code == 403

    login(client, "lead")
    demo.refresh_from_db()
    response = client.post(
        urls["judgements"], {"key_judgements": "It is **likely**.", "version": demo.version}
    )
    assert response.status_code == 302
    demo.refresh_from_db()
    assert demo.key_judgements == "It is **likely**."
    assert StatusUpdate.objects.filter(incident=demo, kind="judgements_changed").exists()
    assert "55–80" in client.get(urls["judgements"]).text
    case_mark["version"] = demo.version
    assert client.post(urls["markings"], case_mark).status_code == 302
    demo.refresh_from_db()
    assert demo.tlp == "red"
    # The form then offers only the case's level and narrower ones: here, red alone.
    page = client.get(urls["list"]).text
    assert 'value="red"' in page and 'value="amber"' not in page


@pytest.mark.django_db
def test_a_row_marked_through_htmx_comes_back_alone(demo: Incident, client: Client) -> None:
    login(client, "investigator")
    entry = StatusUpdate.objects.filter(incident=demo, kind="note").first()
    response = client.post(
        reverse("reports:markings", args=[REFERENCE]),
        {"kind": "entries", "id": entry.pk, "tlp": "green"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="entries-{entry.pk}"')
    assert "Marked TLP:GREEN." in response.text
    page = client.get(reverse("reports:markings", args=[REFERENCE]) + "?show=annotations")
    assert page.status_code == 200 and "TLP:GREEN" in page.text


# -- the command -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("level", ["clear", "green", "amber", "amber+strict", "red"])
def test_the_command_makes_the_demo_report_for_each_level(
    demo: Incident, tmp_path: Path, level: str
) -> None:
    out = tmp_path / "x.pdf"
    printed = StringIO()
    call_command("case_report", REFERENCE, "--tlp", level, "--out", str(out), stdout=printed)
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() in printed.getvalue()
    assert TLP(level).label in text_of(pdf)
    assert not Report.objects.exists()  # a file for a script, not a record


@pytest.mark.django_db
def test_the_command_can_keep_its_report_on_record(demo: Incident, tmp_path: Path) -> None:
    out = tmp_path / "kept.pdf"
    call_command(
        "case_report",
        REFERENCE,
        "--tlp",
        "amber",
        "--out",
        str(out),
        "--record",
        "lead",
        stdout=StringIO(),
    )
    report = Report.objects.get()
    assert report.status == "done" and report.requested_by.username == "lead"
    assert hashlib.sha256(out.read_bytes()).hexdigest() == report.sha256


@pytest.mark.django_db
def test_the_command_refuses_what_it_cannot_do(demo: Incident, tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a TLP level"):
        call_command("case_report", REFERENCE, "--tlp", "orange", "--out", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="No case"):
        call_command("case_report", "INC-2024-9999", "--tlp", "red", "--out", str(tmp_path / "x"))
    Incident.objects.filter(pk=demo.pk).update(tlp="amber")
    with pytest.raises(CommandError, match="marked TLP:AMBER"):
        call_command("case_report", REFERENCE, "--tlp", "green", "--out", str(tmp_path / "x"))


def test_weasyprint_still_takes_our_user_agent_stylesheet() -> None:
    """render.py replaces WeasyPrint's user-agent stylesheet through HTML._ua_stylesheets
    (a large part of laying out a long report); an upgrade that renames it shows here."""
    import weasyprint

    assert callable(getattr(weasyprint.HTML, "_ua_stylesheets", None))
    document = render._document_class()(string="<p>x</p>")
    assert len(document._ua_stylesheets()) == 1


@pytest.mark.django_db
def test_the_report_reads_the_case_in_a_fixed_number_of_queries(
    demo: Incident, lead: Any, django_assert_num_queries: Any
) -> None:
    """The export's compiled reads, each list once, whatever the size of the case."""
    with django_assert_num_queries(10):
        content.gather(demo, audience="red", number=None, requested_by="Test")
    for i in range(5):
        item = EvidenceItem.attach(demo, by=lead, title=f"More {i}", text_body="More text.")
        StatusUpdate.objects.post(
            demo, kind="finding", by=lead, body=f"Finding {i}.", evidence=item
        )
    with django_assert_num_queries(10):
        content.gather(demo, audience="clear", number=None, requested_by="Test")


@pytest.mark.django_db
def test_a_withdrawn_source_is_listed_as_such_and_left_out_of_the_matrix(demo: Incident) -> None:
    item = EvidenceItem.objects.get(incident=demo, kind="social_media_post")
    item.withdraw(by=demo.lead, reason="retracted", expected_version=item.version)
    data = content.gather(demo, audience="red", number=None, requested_by="Test")
    listed = {s.title: s for s in data.sources}
    assert listed[item.title].withdrawn
    assert item.title not in [row.source.title for row in data.matrix.rows]
    assert len(data.matrix.rows) == len(data.sources) - 1
    text = text_of(render.build_pdf(data)[0])
    assert "withdrawn: out of the matrix and the scores" in text

"""``manage.py load_demo``: the demo case, its users, and idempotence."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from incidents.cases.management.commands.load_demo import PASSWORD, REFERENCE
from incidents.cases.models import Incident, Membership, StatusUpdate, Tag
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, ConfidenceChange, Hypothesis, HypothesisMove
from incidents.hypotheses.scoring import score_case
from tests.factories import IncidentFactory


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    """The demo's passwords are checked, not the hasher: skip Argon2's cost here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load() -> str:
    out = StringIO()
    call_command("load_demo", force=True, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, Any]:
    """Counts and the key values of everything the demo creates."""
    User = get_user_model()
    case = Incident.objects.get(reference=REFERENCE)
    return {
        "counts": {
            model.__name__: model.objects.count()
            for model in (
                User,
                Incident,
                Membership,
                StatusUpdate,
                Tag,
                Hypothesis,
                HypothesisMove,
                ConfidenceChange,
                EvidenceItem,
                Assessment,
                CustodyEntry,
                Annotation,
            )
        },
        "case": (case.pk, case.title, case.status, case.version, case.occurred_at),
        "users": list(
            User.objects.order_by("username").values_list(
                "username", "is_staff", "is_superuser", "password"
            )
        ),
        "members": sorted(case.memberships.values_list("user__username", "role")),
        "hypotheses": list(
            case.hypotheses.values_list("pk", "statement", "status", "confidence", "version")
        ),
        "evidence": list(
            case.evidence.values_list("pk", "title", "reliability", "credibility", "file_sha256")
        ),
        "matrix": list(
            Assessment.objects.values_list("evidence_id", "hypothesis_id", "rating", "relevance")
        ),
        "timeline": list(case.updates.values_list("pk", "kind", "body")),
        "annotations": list(
            Annotation.objects.values_list("pk", "quote_exact", "position_start", "position_end")
        ),
    }


@pytest.mark.django_db
def test_loading_twice_gives_identical_data() -> None:
    assert "Created the demo case" in load()
    first = snapshot()
    assert "already loaded" in load()
    assert snapshot() == first


@pytest.mark.django_db
def test_the_demo_case() -> None:
    load()
    case = Incident.objects.get(reference=REFERENCE)
    assert case.time_zone == "Asia/Almaty"
    assert case.occurred_at is not None and case.occurred_local.year == 2024
    assert case.occurred_uncertainty is not None
    assert "Astana" in case.place_name
    assert case.latitude is not None and case.longitude is not None
    assert case.status == Incident.Status.INVESTIGATING

    kinds = dict(case.hypotheses.values_list("kind", "status"))
    assert set(kinds) == {"technical_fault", "cyberattack", "deliberate_act"}
    assert len(set(kinds.values())) > 1  # some have moved
    assert HypothesisMove.objects.count() >= 5
    assert ConfidenceChange.objects.filter(hypothesis__incident=case).count() >= 6

    items = list(case.evidence.all())
    assert len(items) >= 8
    assert len({i.kind for i in items}) >= 6
    assert len({i.grade for i in items}) >= 6
    assert {"kk", "ru", "en"} <= {i.language for i in items if i.kind == "web_page"}
    for item in items:
        assert item.text_body.strip()
        if item.is_illustrative:
            assert "illustrative" in item.description.lower()
    assert any(i.is_illustrative for i in items)
    assert any(not i.is_illustrative for i in items)
    with_file = [i for i in items if i.file]
    assert with_file and all(len(i.file_sha256) == 64 for i in with_file)

    # A filled matrix: every item against every hypothesis.
    assert Assessment.objects.filter(hypothesis__incident=case).count() == len(items) * 3
    scores = score_case(case)
    assert any(not s.is_diagnostic for s in scores.items.values())
    assert len({s.rank for s in scores.hypotheses.values()}) == 3

    kinds_on_timeline = set(case.updates.values_list("kind", flat=True))
    assert {
        "case_status",
        "hypothesis_added",
        "hypothesis_moved",
        "confidence_changed",
        "evidence_added",
        "official_statement",
        "finding",
    } <= kinds_on_timeline

    actions = set(CustodyEntry.objects.values_list("action", flat=True))
    assert {"collected", "uploaded", "verified", "transferred"} <= actions


@pytest.mark.django_db
def test_annotations_are_anchored_to_the_text() -> None:
    load()
    notes = list(Annotation.objects.select_related("item"))
    assert 2 <= len(notes) <= 3
    for note in notes:
        text = note.item.text_body
        assert text[note.position_start : note.position_end] == note.quote_exact
        assert text[: note.position_start].endswith(note.quote_prefix)
        assert text[note.position_end :].startswith(note.quote_suffix)
        assert note.quote_prefix and note.quote_suffix
        if note.stance:
            assert note.hypothesis is not None
            assert note.hypothesis.incident_id == note.item.incident_id


@pytest.mark.django_db
def test_demo_users_and_their_access(client: Any) -> None:
    load()
    case = Incident.objects.get(reference=REFERENCE)
    roles = dict(case.memberships.values_list("user__username", "role"))
    assert roles == {"lead": "lead", "investigator": "investigator", "observer": "observer"}
    assert case.lead.username == "lead"
    outsider = get_user_model().objects.get(username="outsider")
    assert not outsider.memberships.exists()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff

    for username in ("lead", "investigator", "observer", "outsider", "admin"):
        assert client.login(username=username, password=PASSWORD), username
    client.login(username="lead", password=PASSWORD)
    assert client.get(f"/cases/{REFERENCE}/").status_code == 200
    client.login(username="outsider", password=PASSWORD)
    assert client.get(f"/cases/{REFERENCE}/").status_code == 404


@pytest.mark.django_db
def test_a_changed_password_is_reset_and_nothing_else_moves() -> None:
    load()
    user = get_user_model().objects.get(username="investigator")
    user.set_password("something-else-entirely")
    user.save()
    before = snapshot()["counts"]
    load()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert snapshot()["counts"] == before


@pytest.mark.django_db
def test_refuses_with_debug_off_unless_forced(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo", stdout=StringIO())
    assert not Incident.objects.exists()
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_refuses_to_touch_another_case_with_the_demo_reference() -> None:
    other = IncidentFactory(year=2024, title="A different case")
    assert other.reference == REFERENCE
    with pytest.raises(CommandError, match="not the demo case"):
        load()
    assert Incident.objects.get().title == "A different case"
    assert not get_user_model().objects.filter(username="outsider").exists()

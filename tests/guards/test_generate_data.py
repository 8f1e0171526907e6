"""The data generator: sizes, shapes, constraints, determinism, appending."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from incidents.cases.models import Incident, Membership, StatusUpdate
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis
from incidents.perf.generator import MEMBER_USERNAME, SIZES, STAFF_USERNAME, Generator
from incidents.perf.models import Dataset

pytestmark = pytest.mark.django_db


def quiet(_: str) -> None:
    pass


def generate(**kwargs: Any) -> Dataset:
    return Generator("XS", log=quiet, **kwargs).run()


def test_tiny_size_has_the_planned_counts() -> None:
    dataset = generate()
    size = SIZES["XS"]
    assert Incident.objects.count() == size.cases == dataset.cases
    assert EvidenceItem.objects.count() == size.evidence == dataset.evidence
    assert StatusUpdate.objects.count() == size.timeline == dataset.timeline
    assert CustodyEntry.objects.count() == size.evidence
    assert Annotation.objects.count() == size.normal.annotations + size.heavy.annotations


def test_every_evidence_item_is_rated_against_every_hypothesis_of_its_case() -> None:
    generate()
    expected = sum(
        case.n_evidence * case.n_hypotheses
        for case in Incident.objects.annotate(
            n_evidence=Count("evidence", distinct=True),
            n_hypotheses=Count("hypotheses", distinct=True),
        )
    )
    assert Assessment.objects.count() == expected
    crossed = Assessment.objects.exclude(hypothesis__incident_id=F("evidence__incident_id"))
    assert crossed.count() == 0


def test_normal_and_heavy_cases_have_their_shape_and_both_bench_users() -> None:
    dataset = generate()
    size = SIZES["XS"]
    member = get_user_model().objects.get(username=MEMBER_USERNAME)
    staff = get_user_model().objects.get(username=STAFF_USERNAME)
    assert staff.is_staff and not member.is_staff
    for reference, shape in (
        (dataset.normal_reference, size.normal),
        (dataset.heavy_reference, size.heavy),
    ):
        case = Incident.objects.get(reference=reference)
        assert case.evidence.count() == shape.evidence
        assert case.hypotheses.count() == shape.hypotheses
        assert case.updates.count() == shape.timeline
        assert case.lead == member
        assert case.role_of(member) == Membership.Role.LEAD
        assert case.role_of(staff) == Membership.Role.INVESTIGATOR
        # Hypotheses the benchmark can move both ways.
        assert set(case.hypotheses.values_list("status", flat=True)) <= {
            "under_evaluation",
            "supported",
            "weakened",
        }


def test_rows_respect_the_models_rules() -> None:
    generate()
    pattern = re.compile(r"^INC-[0-9]{4}-[0-9]{4,}$")
    refs = list(Incident.objects.values_list("reference", flat=True))
    assert all(pattern.match(r) for r in refs)
    assert len(refs) == len(set(refs))
    for model in (Incident, Hypothesis, EvidenceItem, Assessment, StatusUpdate, Annotation):
        for obj in model.objects.all()[:50]:
            obj.validate_constraints()
    # Every case has exactly one lead among its members, and the lead is the case's lead.
    for case in Incident.objects.prefetch_related("memberships"):
        leads = [m.user_id for m in case.memberships.all() if m.role == "lead"]
        assert leads == [case.lead_id]
    # Resolved cases have exactly one confirmed hypothesis, the others concluded.
    for case in Incident.objects.filter(status="resolved").prefetch_related("hypotheses"):
        assert case.resolution_blockers() == []
    for note in Annotation.objects.select_related("item"):
        assert note.item.text_body[note.position_start : note.position_end] == note.quote_exact


def test_the_same_seed_gives_the_same_text_and_another_seed_does_not() -> None:
    generate(seed=7)
    first = list(Incident.objects.order_by("id").values_list("title", "summary"))
    generate(seed=7)
    second = list(Incident.objects.order_by("id").values_list("title", "summary"))[len(first) :]
    assert second == first
    generate(seed=8)
    third = list(Incident.objects.order_by("id").values_list("title", "summary"))[2 * len(first) :]
    assert third != first


def test_appending_keeps_references_unique_and_the_app_can_still_open_cases(lead: Any) -> None:
    generate()
    generate(scale=2)
    assert Incident.objects.count() == SIZES["XS"].cases * 3
    refs = list(Incident.objects.values_list("reference", flat=True))
    assert len(refs) == len(set(refs))
    # Sequences were moved past the generated ids.
    case = Incident.open_case(by=lead, title="After the generator")
    assert case.pk > max(Incident.objects.exclude(pk=case.pk).values_list("pk", flat=True))
    assert case.updates.count() == 1


def test_the_10_percent_user_belongs_to_about_one_case_in_ten() -> None:
    Generator("XS", scale=10, log=quiet).run()
    member = get_user_model().objects.get(username=MEMBER_USERNAME)
    share = Membership.objects.filter(user=member).count() / Incident.objects.count()
    assert 0.05 <= share <= 0.2


def test_command_generates_once_with_if_missing(capsys: Any) -> None:
    call_command("generate_data", "--tiny")
    call_command("generate_data", "--size", "XS", "--if-missing")
    assert Dataset.objects.count() == 1
    assert "already present" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--size", "XL"], ["--tiny", "--scale", "0"]])
def test_command_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("generate_data", *argv)
    assert Incident.objects.count() == 0

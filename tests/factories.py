"""Factories for test data. They create records through the models' own methods
(``open_case``, ``propose``, ``attach``, ``rate``), so every record a test
builds has its timeline entries and custody log, as in real use."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from incidents.cases.models import Incident
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    # Unusable, so no slow Argon2 hashing: tests that log in use conftest's users.
    password = factory.LazyFunction(lambda: make_password(None))


class IncidentFactory(factory.Factory):
    """A case opened by its lead through ``Incident.open_case``."""

    class Meta:
        model = Incident

    lead = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Incident number {n}")
    summary = "Something happened."
    time_zone = "UTC"

    @classmethod
    def _create(cls, model_class: type[Incident], *args: Any, **kwargs: Any) -> Incident:
        lead = kwargs.pop("lead")
        return model_class.open_case(by=lead, lead=lead, **kwargs)


class HypothesisFactory(factory.Factory):
    """A hypothesis proposed through ``Hypothesis.propose``."""

    class Meta:
        model = Hypothesis

    incident = factory.SubFactory(IncidentFactory)
    statement = factory.Sequence(lambda n: f"Explanation number {n}.")
    kind = Hypothesis.Kind.OTHER

    @classmethod
    def _create(cls, model_class: type[Hypothesis], *args: Any, **kwargs: Any) -> Hypothesis:
        incident = kwargs.pop("incident")
        by = kwargs.pop("by", None) or incident.lead
        return model_class.propose(incident, by=by, **kwargs)


class EvidenceItemFactory(factory.Factory):
    """A source attached through ``EvidenceItem.attach`` (a text body by default)."""

    class Meta:
        model = EvidenceItem

    incident = factory.SubFactory(IncidentFactory)
    title = factory.Sequence(lambda n: f"Source number {n}")
    kind = EvidenceItem.Kind.DOCUMENT
    text_body = "What the source says."
    language = "en"
    reliability = "C"
    credibility = 3

    @classmethod
    def _create(cls, model_class: type[EvidenceItem], *args: Any, **kwargs: Any) -> EvidenceItem:
        incident = kwargs.pop("incident")
        by = kwargs.pop("by", None) or incident.lead
        return model_class.attach(incident, by=by, **kwargs)


def rate(item: EvidenceItem, hypothesis: Hypothesis, rating: str, relevance: str = "medium") -> Any:
    """Set one cell of the matrix through ``Assessment.rate``."""
    return Assessment.rate(
        item, hypothesis, by=hypothesis.incident.lead, rating=rating, relevance=relevance
    )

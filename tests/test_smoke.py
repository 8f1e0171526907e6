import pytest

from incidents.hypotheses.models import Hypothesis


@pytest.mark.django_db
def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_open_case_and_move_hypothesis(incident, lead):
    assert incident.reference.startswith("INC-")
    h = Hypothesis.propose(incident, by=lead, statement="A glitch.", kind="technical_fault")
    h.move_to("under_evaluation", by=lead, rationale="Start.")
    assert h.status == "under_evaluation"
    assert incident.updates.count() == 3

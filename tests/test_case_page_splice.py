"""The matrix body and the source list are drawn in Python and put into the
rendered page afterwards (``CasePage.splice``): every answer that shows them
has them in place, and none carries a marker."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from incidents.cases.models import Incident
from incidents.evidence.models import EvidenceItem
from tests.test_case_page import fill, url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, ""),
        ({}, "?sort=diagnosticity&rows=all&sources=all"),
        ({"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "matrix"}, ""),
        ({"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "evidence"}, ""),
    ],
)
def test_drawn_parts_are_in_place(
    client: Client, incident: Incident, lead: Any, headers: dict[str, str], query: str
) -> None:
    fill(incident, lead, 3)
    client.force_login(lead)
    response = client.get(url(incident) + query, **headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<!--matrix_rows:" not in html and "<!--sources_html:" not in html
    region = headers.get("HTTP_HX_TARGET")
    items = list(EvidenceItem.objects.filter(incident=incident))
    for item in items:
        if region != "evidence":
            assert f'<tr id="row-{item.pk}"' in html
        if region != "matrix":
            assert f'<li class="evidence-item" id="item-{item.pk}">' in html


def test_a_title_cannot_fake_a_marker(client: Client, incident: Incident, lead: Any) -> None:
    """The markers carry a key drawn per page: a title written like one stays text."""
    fill(incident, lead, 1)
    EvidenceItem.objects.filter(incident=incident).update(title="<!--matrix_rows:0-->")
    client.force_login(lead)
    html = client.get(url(incident)).content.decode()
    assert html.count("&lt;!--matrix_rows:0--&gt;") == 2  # the matrix row and the source list

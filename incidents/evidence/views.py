"""Evidence views.

``attach`` (the case page's inline form) comes first; the evidence helper's
download, detail and annotation views follow below it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from incidents.accounts.access import Need, get_case_for_user
from incidents.cases.views.case import after_invalid, after_write
from incidents.evidence.forms import AttachForm
from incidents.evidence.models import EvidenceItem
from incidents.hypotheses.forms import apply_model_errors


@require_POST
@login_required
def attach(request: HttpRequest, reference: str) -> HttpResponse:
    """Attach a URL, a file or a pasted text to the case (``EvidenceItem.attach``).

    Times in the form are read in the case's local time zone.
    """
    access = get_case_for_user(request, reference, Need.WRITE)
    incident = access.incident
    form = AttachForm(request.POST, request.FILES)
    with timezone.override(incident.zone):
        valid = form.is_valid()
    if valid:
        try:
            item = EvidenceItem.attach(
                incident, by=request.user, upload=form.upload, **form.attach_fields()
            )
        except ValidationError as exc:
            apply_model_errors(form, exc)
        else:
            return after_write(
                request,
                access,
                "evidence",
                # The hypotheses' move forms list the items that can be cited.
                ("matrix-changed", "timeline-changed", "hypotheses-changed"),
                f"Attached “{item.title}” ({item.grade}).",
            )
    return after_invalid(request, access, "evidence", bound={"attach": form})

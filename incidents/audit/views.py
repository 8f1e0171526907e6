"""The staff's page of signed receipts of the audit chain's head (docs/security.md, "Receipts").

``GET /audit/receipt/`` shows the head (sequence, hash, time), the key's
fingerprint and the receipt itself; ``GET /audit/receipt.json`` downloads
it. Staff only: anyone else signed in gets 403. Nothing is written; each
receipt is logged (INFO, ``incidents.audit``) with who asked for it.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from incidents.audit.receipts import ReceiptError, make_receipt, receipt_text, trusted_keys

logger = logging.getLogger("incidents.audit")


def _staff_only(request: HttpRequest) -> None:
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied("Receipts of the audit trail are for staff.")


@require_GET
@never_cache
@login_required
def receipt(request: HttpRequest) -> HttpResponse:
    """The head of the chain, signed, with how to keep and check the receipt."""
    _staff_only(request)
    try:
        signed = make_receipt()
    except ReceiptError as exc:
        return render(request, "audit/receipt.jinja", {"problem": str(exc)}, status=503)
    try:
        earlier = [fp for fp in trusted_keys() if fp != signed["key"]["fingerprint"]]
    except ReceiptError:
        earlier = []
    logger.info(
        "Audit receipt for record #%s shown to %s",
        signed["head"]["sequence"],
        request.user.get_username(),
    )
    context = {
        "problem": "",
        "receipt": signed,
        "text": receipt_text(signed),
        "earlier_keys": earlier,
    }
    return render(request, "audit/receipt.jinja", context)


@require_GET
@never_cache
@login_required
def receipt_json(request: HttpRequest) -> HttpResponse:
    """The receipt as a file, ``inquest-audit-receipt-<sequence>.json``."""
    _staff_only(request)
    try:
        signed = make_receipt()
    except ReceiptError as exc:
        return render(request, "audit/receipt.jinja", {"problem": str(exc)}, status=503)
    logger.info(
        "Audit receipt for record #%s downloaded by %s",
        signed["head"]["sequence"],
        request.user.get_username(),
    )
    response = HttpResponse(receipt_text(signed), content_type="application/json")
    name = f"inquest-audit-receipt-{signed['head']['sequence']}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

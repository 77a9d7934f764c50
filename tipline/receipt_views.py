"""The receipt a tipster gets for a tip, and its signed copy to keep (tipline/receipts.py)."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from tipline import receipts, tipster_session
from tipline.crypto import CryptoError
from tipline.models import Desk, ReceiptKey, Tip
from tipline.submissions import Receipt

logger = logging.getLogger(__name__)


def _signed_or_none(tip: Tip) -> str | None:
    """The signed receipt; None if it cannot be made now (the tip is stored all the same, and
    the tipster can download it at check-in)."""
    try:
        return receipts.sign(tip)
    except CryptoError:
        logger.exception("a receipt could not be signed")
        return None


def receipt_page(request: HttpRequest, desk: Desk, receipt: Receipt) -> HttpResponse:
    tip = Tip.objects.get(pk=receipt.tip_id)
    context = {"desk": desk, "codename": receipt.codename, "signed_receipt": _signed_or_none(tip)}
    return render(request, "tipline/receipt.html", context)


@require_GET
@tipster_session.tipster_required
def download_receipt(request: HttpRequest) -> HttpResponse:
    """A returning tipster's signed receipt, as a file (signed anew; the text is the same)."""
    tip = request.tip
    signed = _signed_or_none(tip) if tip.reference else None
    if signed is None:
        raise Http404("no receipt")
    response = HttpResponse(signed, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, f"tipline-receipt-{tip.reference}.asc"
    )
    return response


@require_GET
def receipt_key(request: HttpRequest) -> HttpResponse:
    """The public half of the key that signs receipts, to check one without asking us."""
    key = ReceiptKey.objects.order_by("-created_at").first()
    if key is None:
        raise Http404("no receipt issued yet")
    return HttpResponse(key.public_key, content_type="application/pgp-keys")

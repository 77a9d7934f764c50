"""Checking a tipster's signed receipt (tipline/receipts.py) in the back office."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from reviewers.access import readable_tips, reviewer_required
from tipline import receipts
from tipline.audit import log_action


class ReceiptForm(forms.Form):
    receipt = forms.CharField(
        max_length=16 * 1024,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "dir": "ltr", "spellcheck": "false"}),
        help_text="Paste the whole receipt, from -----BEGIN PGP SIGNED MESSAGE----- to "
        "-----END PGP SIGNATURE-----.",
    )


@reviewer_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Any reviewer may check a receipt; the tip it matches is named only to its desk's
    reviewers. Every check is audited, with the tip it matched."""
    form = ReceiptForm(request.POST or None)
    result, readable = None, False
    if request.method == "POST" and form.is_valid():
        result = receipts.verify(form.cleaned_data["receipt"])
        tip = result.tip
        readable = tip is not None and readable_tips(request.user).filter(pk=tip.pk).exists()
        log_action(
            request.user,
            "receipt.verify",
            tip_id=tip.pk if tip else None,
            valid=result.valid,
            reference=result.reference,
        )
    return render(
        request,
        "reviewers/receipt_verify.html",
        {"form": form, "result": result, "readable": readable},
        status=400 if form.errors else 200,
    )

"""Indicators across tips: link the tips that share one into a case, and look one up."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from reviewers import cases, correlation
from reviewers.access import readable_tips, reviewer_required
from tipline import indicators
from tipline.audit import log_action
from tipline.indicators import Chain, Kind, Platform


@reviewer_required
@require_POST
def link_shared(request: HttpRequest, pk: int) -> HttpResponse:
    """Adds to the tip's case every tip of its desk that shares an indicator with it."""
    tip = get_object_or_404(readable_tips(request.user).select_related("desk"), pk=pk)
    link = getattr(tip, "case_link", None)
    if link is None:
        messages.error(request, "Open a case with this tip first.")
        return redirect("reviewers:tip", pk=tip.pk)
    added = []
    for other in correlation.linkable_tips(request.user, tip):
        try:
            cases.add_tip(request.user, link.case, other)
        except cases.CaseError as exc:
            messages.error(request, str(exc))
        else:
            added.append(f"#{other.pk}")
    if added:
        messages.success(request, f"Added to case #{link.case_id}: tips {', '.join(added)}.")
    return redirect("reviewers:tip", pk=tip.pk)


class LookupForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices)
    value = forms.CharField(max_length=indicators.MAX_VALUE_LENGTH)
    chain = forms.ChoiceField(
        choices=[("", "any / not needed"), *Chain.choices],
        required=False,
        help_text="For an address: optional. For a transaction ID: required.",
    )
    platform = forms.ChoiceField(
        choices=[("", "not needed"), *Platform.choices],
        required=False,
        help_text="For an online account.",
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        kind, value = data["kind"], data["value"]
        try:
            data["canonical"] = indicators.normalize(
                kind, value, chain=data.get("chain") or None, platform=data.get("platform") or None
            )
        except ValidationError as exc:
            self.add_error("value", exc)
        return data


@reviewer_required
@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    """The tips that mention an indicator the reviewer types in. The lookup is audited with its
    kind and the number of tips found, never the indicator itself; it is sent by POST, so that
    the value stays out of URLs (browser history, any proxy's log)."""
    form = LookupForm(request.POST or None)
    tips, elsewhere = None, 0
    if form.is_bound and form.is_valid():
        kind = form.cleaned_data["kind"]
        tips, elsewhere = correlation.tips_mentioning(
            request.user, kind, form.cleaned_data["canonical"]
        )
        log_action(
            request.user, "indicator.lookup", kind=kind, found=len(tips), elsewhere=elsewhere
        )
    return render(
        request,
        "reviewers/indicators.html",
        {"form": form, "tips": tips, "elsewhere": elsewhere},
        status=400 if form.is_bound and form.errors else 200,
    )

"""The reward compartment in the back office (reviewers/rewards.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from reviewers import rewards, unlock
from reviewers.access import readable_tips, reviewer_required
from reviewers.models import RewardAccessRequest
from tipline.crypto import BadPassphraseError
from tipline.models import Tip


@reviewer_required
@require_POST
def request_access(request: HttpRequest, pk: int) -> HttpResponse:
    tip = get_object_or_404(readable_tips(request.user), pk=pk)
    try:
        rewards.request_access(request.user, tip)
    except rewards.RewardError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Access requested: a reward officer will decide.")
    return redirect("reviewers:tip", pk=tip.pk)


def _officer(request: HttpRequest) -> None:
    if not rewards.is_reward_officer(request.user):
        raise Http404("reward officers only")


@reviewer_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """For reward officers: the requests to decide, and the tips with contact details, each
    readable here (audited) when it is encrypted to the officer's key."""
    _officer(request)
    passphrase = unlock.passphrase(request)
    tips = Tip.objects.filter(reward_envelope__isnull=False).select_related("desk")
    entries = []
    for tip in tips.order_by("-received_at")[:200]:
        entry = {"tip": tip, "readable": rewards.can_read(request.user, tip), "contact": None}
        if entry["readable"] and passphrase is not None and request.GET.get("open") == str(tip.pk):
            try:
                entry["contact"] = rewards.read_contact(request.user, tip, passphrase)
            except BadPassphraseError:
                return redirect("reviewers:unlock")
        entries.append(entry)
    return render(
        request,
        "reviewers/rewards.html",
        {
            "pending": rewards.pending_requests(),
            "entries": entries,
            "unlocked": passphrase is not None,
        },
    )


@reviewer_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    _officer(request)
    access = get_object_or_404(RewardAccessRequest, pk=pk)
    approve = request.POST.get("decision") == "approve"
    try:
        rewards.decide(request.user, access, approve, unlock.passphrase(request))
    except BadPassphraseError:
        return redirect("reviewers:unlock")
    except rewards.RewardError as exc:
        messages.error(request, str(exc))
    return redirect("reviewers:rewards")

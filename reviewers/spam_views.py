"""Groups of near-duplicate tips: sort a batch for spam, list the groups, close one as spam."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from reviewers import spam_clusters
from reviewers.access import key_unlocked_required, reviewer_required
from tipline.crypto import BadPassphraseError


@reviewer_required
@require_GET
def groups(request: HttpRequest) -> HttpResponse:
    context = {
        "groups": spam_clusters.groups(request.user),
        "unsorted": spam_clusters.unsorted_count(request.user),
        "batch": settings.SPAM_SORT_BATCH,
    }
    return render(request, "reviewers/spam_groups.html", context)


@key_unlocked_required
@require_POST
def sort(request: HttpRequest) -> HttpResponse:
    """Decrypts the next batch of unsorted tips of the reviewer's desks and sketches them."""
    if request.key_passphrase is None:
        messages.error(request, "Your key is held offline: tips cannot be sorted here.")
        return redirect("reviewers:spam_groups")
    try:
        result = spam_clusters.sort_for_spam(
            request.user, request.key_passphrase, settings.SPAM_SORT_BATCH
        )
    except BadPassphraseError:
        return redirect("reviewers:unlock")
    report = f"Sorted {len(result.sorted)} tips; {result.left} left to sort."
    if result.failed:
        report += f" {result.failed} could not be decrypted."
    if result.unreadable:
        report += f" {result.unreadable} are not encrypted to your key yet (see Re-encrypt)."
    messages.success(request, report)
    return redirect("reviewers:spam_groups")


@reviewer_required
@require_POST
def close(request: HttpRequest) -> HttpResponse:
    """Closes the group shown as spam, every tip of it, each change audited."""
    tip, token = request.POST.get("tip", ""), request.POST.get("group", "")
    try:
        if not tip.isdigit():
            raise spam_clusters.GroupChanged("no such group")
        closed = spam_clusters.close_group(request.user, int(tip), token)
    except spam_clusters.GroupChanged:
        messages.error(request, "That group has changed since the page was shown: look again.")
    else:
        messages.success(request, f"Closed as spam: {len(closed)} tips.")
    return redirect("reviewers:spam_groups")

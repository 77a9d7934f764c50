"""Importing watch lists in the back office (reviewers/watchlists.py)."""

from __future__ import annotations

from django import forms
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from reviewers import watchlists
from reviewers.access import permission_required
from reviewers.models import WatchList, WatchListEntry
from tipline.models import ArrivalWatchDigest


class ImportForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Entries are added to a list of that name.")
    source = forms.CharField(max_length=500, required=False, help_text="Where it came from.")
    # Pasted, not uploaded: the back office takes no file uploads at all. A list too long to
    # paste is imported with `python manage.py importwatchlist NAME FILE`.
    csv = forms.CharField(
        label="CSV",
        max_length=400_000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "dir": "ltr", "spellcheck": "false"}),
        help_text="With a header row: kind,value and optionally chain, platform, label.",
    )
    on_arrival = forms.BooleanField(
        required=False,
        label="Public list: match new tips as they arrive",
        help_text=(
            "Only for a list whose contents are public, such as a sanctions list: its entries "
            "are then also kept as plain SHA-256 digests that the public site compares with "
            "each new tip, and a hit is flagged and raised by routing before anyone opens it. "
            "Leave it off for a private list: plain digests would let a holder of the database "
            "test guesses against it."
        ),
    )


@permission_required("reviewers.add_watchlist")
@require_http_methods(["GET", "POST"])
def watch_lists(request: HttpRequest) -> HttpResponse:
    if "stop_arrival" in request.POST:
        return _stop_arrival(request)
    form = ImportForm(request.POST or None)
    result, error, status = None, None, 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = watchlists.import_csv(
                    request.user,
                    data["name"],
                    data["csv"],
                    data["source"],
                    on_arrival=data["on_arrival"],
                )
            except watchlists.WatchListError as exc:
                error, status = str(exc), 400
        else:
            status = 400
    return _page(request, form, result=result, error=error, status=status)


def _stop_arrival(request: HttpRequest) -> HttpResponse:
    watch_list = get_object_or_404(
        WatchList, pk=request.POST["stop_arrival"] if request.POST["stop_arrival"].isdigit() else 0
    )
    watchlists.stop_matching_on_arrival(request.user, watch_list)
    return _page(request, ImportForm(), stopped=watch_list)


def _count(model):
    rows = model.objects.filter(watch_list=OuterRef("pk")).order_by()
    counted = rows.values("watch_list").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def _page(request, form, status: int = 200, **context) -> HttpResponse:
    # Counted apart: one join over both would multiply a list's entries by its digests.
    lists = WatchList.objects.annotate(
        size=_count(WatchListEntry), on_arrival=_count(ArrivalWatchDigest)
    ).order_by("name")
    return render(
        request,
        "reviewers/watchlists.html",
        {"form": form, "lists": lists, **context},
        status=status,
    )

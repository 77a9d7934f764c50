"""Importing watch lists in the back office (reviewers/watchlists.py)."""

from __future__ import annotations

from django import forms
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from reviewers import watchlists
from reviewers.access import permission_required
from reviewers.models import WatchList


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


@permission_required("reviewers.add_watchlist")
@require_http_methods(["GET", "POST"])
def watch_lists(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None)
    result, error, status = None, None, 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = watchlists.import_csv(
                    request.user, data["name"], data["csv"], data["source"]
                )
            except watchlists.WatchListError as exc:
                error, status = str(exc), 400
        else:
            status = 400
    lists = WatchList.objects.annotate(size=Count("entries")).order_by("name")
    return render(
        request,
        "reviewers/watchlists.html",
        {"form": form, "result": result, "error": error, "lists": lists},
        status=status,
    )

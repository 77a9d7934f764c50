"""The stats dashboard: figures of the reviewer's own desks, drawn as SVG with tables."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from reviewers import stats
from reviewers.access import reviewer_required


@reviewer_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    days = stats.window_days(request.GET.get("days"))
    desks = stats.dashboard(request.user, days)
    rtl = translation.get_language_bidi()
    context = {
        "days": days,
        "windows": stats.WINDOWS,
        "desks": desks,
        "sections": [(desk, stats.charts_for(desk, rtl=rtl)) for desk in desks],
    }
    return render(request, "reviewers/stats.html", context)

"""Figures for the stats dashboard, and the geometry of their charts.

Only metadata the database already holds in plain columns is read (dates, status, resolution,
assignee): nothing is decrypted and no ciphertext column is selected. Every query on tips starts
from ``readable_tips``, so a reviewer sees the desks they are a member of and no other; staff
status grants nothing. Counting is done by the database; only the durations to first triage of
the tips received within the window come back row by row, for the percentiles.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from reviewers.access import readable_tips
from tipline.models import Desk, DeskMembership, Tip

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30


def window_days(raw: str | None) -> int:
    """The window asked for in days, if it is one we offer; otherwise the default."""
    return {str(days): days for days in WINDOWS}.get(raw or "", DEFAULT_WINDOW)


@dataclass(frozen=True)
class TriageTimes:
    """Time from receipt to first triage, for the tips received within the window.

    Tips still new are left out of the percentiles (they have no time yet) and counted apart,
    so that a backlog cannot pass for speed.
    """

    tips: int
    untriaged: int
    median: timedelta | None
    p90: timedelta | None

    def rows(self) -> list[tuple[str, timedelta, str]]:
        """(measure, duration, as shown) for the chart and the table; none without tips."""
        if not self.tips:
            return []
        return [
            (measure, duration, format_duration(duration))
            for measure, duration in (("Median", self.median), ("90th percentile", self.p90))
        ]


@dataclass(frozen=True)
class DeskStats:
    desk: Desk
    received: list[tuple[datetime.date, int]]  # every day of the window, oldest first
    triage: TriageTimes
    open_load: list[tuple[str | None, int]]  # (username, tips not closed); None: unassigned
    resolutions: list[tuple[str, int]]  # (resolution label, tips closed within the window)

    @property
    def received_total(self) -> int:
        return sum(tips for _, tips in self.received)


def dashboard(user, days: int, now: datetime.datetime | None = None) -> list[DeskStats]:
    """The figures of each desk ``user`` is a member of, over the last ``days`` days.

    The window runs from midnight (in the current time zone) ``days - 1`` days ago to now.
    Open load is the present state, whatever the window.
    """
    desks = list(Desk.objects.filter(memberships__user=user).order_by("name", "pk"))
    if not desks:
        return []
    today = timezone.localtime(now or timezone.now()).date()
    first_day = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time.min))
    tips = readable_tips(user).order_by()  # no default ordering in the GROUP BY queries
    received = _received_per_day(tips, start)
    waits, untriaged = _waits_to_first_triage(tips, start)
    load = _open_load_by_desk(tips, desks)
    resolved = _resolutions_by_desk(tips, start)
    days_in_window = [first_day + timedelta(days=n) for n in range(days)]
    return [
        DeskStats(
            desk=desk,
            received=[(day, received[desk.pk].get(day, 0)) for day in days_in_window],
            triage=_triage_times(waits[desk.pk], untriaged[desk.pk]),
            open_load=_open_load(load[desk.pk]),
            resolutions=_resolutions(resolved[desk.pk]),
        )
        for desk in desks
    ]


def _received_per_day(tips: QuerySet, start: datetime.datetime) -> dict[int, dict]:
    """{desk id: {day: tips received}}, days without tips left out."""
    received = defaultdict(dict)
    for row in (
        tips.filter(received_at__gte=start)
        .annotate(day=TruncDate("received_at"))
        .values("desk_id", "day")
        .annotate(tips=Count("pk"))
    ):
        received[row["desk_id"]][row["day"]] = row["tips"]
    return received


def _waits_to_first_triage(tips: QuerySet, start: datetime.datetime) -> tuple[dict, dict]:
    """({desk id: [time to first triage]}, {desk id: tips still new}) for tips received since
    ``start``: one duration per tip, the only rows fetched one by one."""
    waits, untriaged = defaultdict(list), defaultdict(int)
    waited = ExpressionWrapper(F("triaged_at") - F("received_at"), output_field=DurationField())
    for desk_id, duration in (
        tips.filter(received_at__gte=start).annotate(waited=waited).values_list("desk_id", "waited")
    ):
        if duration is None:
            untriaged[desk_id] += 1
        else:
            waits[desk_id].append(max(duration, timedelta(0)))  # a clock step back is no wait
    return waits, untriaged


def _open_load_by_desk(tips: QuerySet, desks: list[Desk]) -> dict[int, dict]:
    """{desk id: {username or None: tips not closed}}, with every active member, even at 0."""
    load = defaultdict(dict)
    members = DeskMembership.objects.filter(desk__in=desks, user__is_active=True)
    for desk_id, username in members.values_list("desk_id", "user__username"):
        load[desk_id][username] = 0
    for row in (
        tips.exclude(status=Tip.Status.CLOSED)
        .values("desk_id", "assignee__username")
        .annotate(tips=Count("pk"))
    ):
        load[row["desk_id"]][row["assignee__username"]] = row["tips"]
    return load


def _resolutions_by_desk(tips: QuerySet, start: datetime.datetime) -> dict[int, dict]:
    """{desk id: {resolution: tips closed since ``start``}}."""
    resolved = defaultdict(dict)
    for row in (
        tips.filter(status=Tip.Status.CLOSED, closed_at__gte=start)
        .values("desk_id", "resolution")
        .annotate(tips=Count("pk"))
    ):
        resolved[row["desk_id"]][row["resolution"]] = row["tips"]
    return resolved


def _triage_times(waits: list[timedelta], untriaged: int) -> TriageTimes:
    waits = sorted(waits)
    return TriageTimes(len(waits), untriaged, percentile(waits, 0.5), percentile(waits, 0.9))


def _open_load(by_username: dict[str | None, int]) -> list[tuple[str | None, int]]:
    """Reviewers by open tips, most first (members with none too), then the unassigned."""
    unassigned = by_username.pop(None, 0)
    reviewers = sorted(by_username.items(), key=lambda item: (-item[1], item[0]))
    return [*reviewers, (None, unassigned)]


def _resolutions(by_value: dict[str, int]) -> list[tuple[str, int]]:
    rows = [(label, by_value.pop(value, 0)) for value, label in Tip.Resolution.choices]
    # Closed without a resolution is refused by triage, but older or imported rows may exist.
    if sum(by_value.values()):
        rows.append(("None recorded", sum(by_value.values())))
    return rows


def percentile(ordered: list[timedelta], fraction: float) -> timedelta | None:
    """Linear interpolation between the closest ranks, as PostgreSQL's percentile_cont."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    value = ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)
    return timedelta(seconds=round(value.total_seconds()))


def format_duration(duration: timedelta) -> str:
    minutes = round(duration.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


# --- Charts ------------------------------------------------------------------------------------
# Geometry only: the template draws it as inline SVG with presentation attributes (the CSP allows
# no inline style) and escapes every text. Coordinates are formatted here, as plain strings, so
# that number localisation in templates can never turn "12.5" into "12,5". Right to left, the
# geometry is mirrored and text anchors swapped; the SVG itself is always laid out left to right.

CHART_WIDTH = 720
MIRRORED_ANCHOR = {"start": "end", "end": "start", "middle": "middle"}


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    title: str


@dataclass(frozen=True)
class Text:
    x: str
    y: str
    anchor: str
    text: str


@dataclass(frozen=True)
class Line:
    x1: str
    y1: str
    x2: str
    y2: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    texts: list[Text]
    lines: list[Line]


@dataclass(frozen=True)
class DeskCharts:
    received: Chart
    triage: Chart
    open_load: Chart
    resolutions: Chart


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


class _Canvas:
    """Collects shapes in left-to-right coordinates and mirrors them for right to left."""

    def __init__(self, height: int, rtl: bool):
        self.height, self.rtl = height, rtl
        self.bars: list[Bar] = []
        self.texts: list[Text] = []
        self.lines: list[Line] = []

    def _x(self, x: float, width: float = 0) -> float:
        return CHART_WIDTH - x - width if self.rtl else x

    def bar(self, x: float, y: float, width: float, height: float, title: str) -> None:
        self.bars.append(
            Bar(_number(self._x(x, width)), _number(y), _number(width), _number(height), title)
        )

    def text(self, x: float, y: float, anchor: str, text: str) -> None:
        anchor = MIRRORED_ANCHOR[anchor] if self.rtl else anchor
        self.texts.append(Text(_number(self._x(x)), _number(y), anchor, text))

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.lines.append(
            Line(_number(self._x(x1)), _number(y1), _number(self._x(x2)), _number(y2))
        )

    def chart(self) -> Chart:
        return Chart(CHART_WIDTH, self.height, self.bars, self.texts, self.lines)


def column_chart(points: list[tuple[str, int]], *, rtl: bool = False) -> Chart:
    """Vertical bars, one per point in order (oldest first), labelled at both ends."""
    height, top, bottom, start, end = 200, 16, 24, 40, 8
    canvas = _Canvas(height, rtl)
    plot_width, plot_height = CHART_WIDTH - start - end, height - top - bottom
    baseline = height - bottom
    slot = plot_width / max(len(points), 1)
    highest = max((value for _, value in points), default=0) or 1
    for index, (label, value) in enumerate(points):
        bar_height = plot_height * value / highest
        canvas.bar(
            start + index * slot + slot * 0.1,
            baseline - bar_height,
            slot * 0.8,
            bar_height,
            f"{label}: {value}",
        )
    canvas.line(start, baseline, CHART_WIDTH - end, baseline)
    canvas.text(start - 6, baseline, "end", "0")
    canvas.text(start - 6, top + 4, "end", str(highest))
    if points:
        canvas.text(start, height - 6, "start", points[0][0])
        canvas.text(CHART_WIDTH - end, height - 6, "end", points[-1][0])
    return canvas.chart()


def bar_chart(rows: list[tuple[str, float, str]], *, rtl: bool = False) -> Chart:
    """Horizontal bars: one row per (label, value, value as shown)."""
    row_height, bar_height, label_end, bars_start, value_room = 26, 18, 172, 180, 90
    canvas = _Canvas(len(rows) * row_height + 8, rtl)
    longest = CHART_WIDTH - bars_start - value_room
    highest = max((value for _, value, _ in rows), default=0) or 1
    for index, (label, value, shown) in enumerate(rows):
        y = 4 + index * row_height
        length = longest * value / highest
        canvas.bar(bars_start, y, length, bar_height, f"{label}: {shown}")
        canvas.text(label_end, y + 14, "end", _shortened(label))
        canvas.text(bars_start + length + 6, y + 14, "start", shown)
    return canvas.chart()


def _shortened(label: str, limit: int = 20) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def charts_for(figures: DeskStats, *, rtl: bool = False) -> DeskCharts:
    return DeskCharts(
        received=column_chart([(day.isoformat(), tips) for day, tips in figures.received], rtl=rtl),
        triage=bar_chart(
            [
                (measure, duration.total_seconds() / 3600, shown)
                for measure, duration, shown in figures.triage.rows()
            ],
            rtl=rtl,
        ),
        open_load=bar_chart(
            [(name or "Unassigned", tips, str(tips)) for name, tips in figures.open_load], rtl=rtl
        ),
        resolutions=bar_chart([(label, n, str(n)) for label, n in figures.resolutions], rtl=rtl),
    )

"""The stats dashboard: right numbers, only the reviewer's own desks, nothing decrypted."""

import datetime
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviewers import stats
from tipline.models import Desk, DeskMembership, Tip

NOW = datetime.datetime(2026, 11, 25, 15, 30, tzinfo=datetime.UTC)
TODAY = NOW.date()


@pytest.fixture
def alice(backoffice, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk])


@pytest.fixture
def bob(backoffice, desk, make_reviewer):
    return make_reviewer("bob", desks=[desk])


def days_ago(days: int, hours: int = 0) -> datetime.datetime:
    return NOW - timedelta(days=days, hours=hours)


def only(dashboard: list[stats.DeskStats]) -> stats.DeskStats:
    assert len(dashboard) == 1, [d.desk.slug for d in dashboard]
    return dashboard[0]


def figures(desk_stats: stats.DeskStats) -> tuple:
    """Everything a desk's section shows, as plain values to compare."""
    return (
        desk_stats.received,
        desk_stats.triage,
        desk_stats.open_load,
        desk_stats.resolutions,
    )


def test_it_counts_tips_received_per_day_within_the_window(alice, desk, tip_factory):
    tip_factory(received_at=days_ago(0, hours=15))  # today, 00:30 UTC
    tip_factory(received_at=days_ago(0))
    tip_factory(received_at=days_ago(2))
    tip_factory(received_at=days_ago(6))  # first day of a 7-day window
    tip_factory(received_at=days_ago(7))  # the day before: outside
    tip_factory(received_at=days_ago(40))

    week = only(stats.dashboard(alice.user, 7, now=NOW))
    assert week.desk == desk
    assert week.received == [
        (TODAY - timedelta(days=6), 1),
        (TODAY - timedelta(days=5), 0),
        (TODAY - timedelta(days=4), 0),
        (TODAY - timedelta(days=3), 0),
        (TODAY - timedelta(days=2), 1),
        (TODAY - timedelta(days=1), 0),
        (TODAY, 2),
    ]
    assert week.received_total == 4
    month = only(stats.dashboard(alice.user, 30, now=NOW))
    assert len(month.received) == 30 and month.received_total == 5
    assert only(stats.dashboard(alice.user, 90, now=NOW)).received_total == 6


def test_it_computes_median_and_90th_percentile_time_to_first_triage(alice, tip_factory):
    for hours in (1, 2, 3, 4, 10):
        tip_factory(received_at=days_ago(3, hours=hours), triaged_at=days_ago(3))
    tip_factory(received_at=days_ago(1))  # not triaged yet: no time, counted apart
    tip_factory(received_at=days_ago(40), triaged_at=days_ago(1))  # received before the window

    triage = only(stats.dashboard(alice.user, 30, now=NOW)).triage
    assert (triage.tips, triage.untriaged) == (5, 1)
    assert triage.median == timedelta(hours=3)
    # Linear interpolation, as PostgreSQL's percentile_cont: 4 h + 0.6 * (10 h - 4 h).
    assert triage.p90 == timedelta(hours=7, minutes=36)


def test_it_shows_no_triage_time_without_triaged_tips(alice, tip_factory):
    tip_factory(received_at=days_ago(1))
    triage = only(stats.dashboard(alice.user, 30, now=NOW)).triage
    assert triage == stats.TriageTimes(tips=0, untriaged=1, median=None, p90=None)


def test_it_counts_open_load_per_reviewer_and_unassigned(alice, bob, make_reviewer, tip_factory):
    idle = make_reviewer("carol", desks=[alice.user.desks.get()])
    for _ in range(3):
        tip_factory(assignee=alice.user, status=Tip.Status.INVESTIGATING)
    tip_factory(assignee=bob.user, status=Tip.Status.WAITING)
    tip_factory(assignee=alice.user, status=Tip.Status.CLOSED, resolution="spam")
    tip_factory(status=Tip.Status.NEW)
    tip_factory(status=Tip.Status.NEW, received_at=days_ago(400))  # open load is not windowed

    load = only(stats.dashboard(alice.user, 7, now=NOW)).open_load
    assert load == [("alice", 3), ("bob", 1), (idle.user.username, 0), (None, 2)]


def test_it_counts_resolutions_of_tips_closed_in_the_window(alice, tip_factory):
    closed = {"status": Tip.Status.CLOSED}
    tip_factory(resolution="actionable", closed_at=days_ago(1), **closed)
    tip_factory(resolution="spam", closed_at=days_ago(2), **closed)
    tip_factory(resolution="spam", closed_at=days_ago(29), **closed)
    tip_factory(resolution="duplicate", closed_at=days_ago(31), **closed)  # before the window
    tip_factory(status=Tip.Status.TRIAGED)

    resolutions = only(stats.dashboard(alice.user, 30, now=NOW)).resolutions
    assert resolutions == [
        ("Actionable", 1),
        ("Not actionable", 0),
        ("Duplicate", 0),
        ("Spam", 2),
    ]


def test_a_reviewer_sees_only_their_own_desks(
    alice, desk, other_desk, make_reviewer, tip_factory, logged_in
):
    other_desk.name = "Zanzibar procurement desk"
    other_desk.save()
    outsider = make_reviewer("outsider-omar", desks=[other_desk])
    tip_factory(received_at=days_ago(1), triaged_at=days_ago(1, hours=-2), assignee=alice.user)
    tip_factory(status=Tip.Status.CLOSED, resolution="spam", closed_at=days_ago(1))
    before = figures(only(stats.dashboard(alice.user, 30, now=NOW)))

    for _ in range(4):
        tip_factory(
            desk=other_desk,
            received_at=days_ago(1),
            triaged_at=days_ago(0),
            assignee=outsider.user,
        )
        tip_factory(
            desk=other_desk,
            status=Tip.Status.CLOSED,
            resolution="actionable",
            closed_at=days_ago(1),
        )
    tip_factory(desk=other_desk, status=Tip.Status.NEW)

    assert figures(only(stats.dashboard(alice.user, 30, now=NOW))) == before
    response = logged_in(alice).get("/stats/")
    html = response.content.decode()
    assert response.status_code == 200
    assert desk.name in html
    assert other_desk.name not in html and "outsider-omar" not in html


def test_an_admin_on_no_desk_sees_no_desk_at_all(backoffice, make_reviewer, tip_factory, logged_in):
    admin = make_reviewer("root", is_staff=True, is_superuser=True)
    for desk in Desk.objects.all():
        tip_factory(desk=desk, received_at=timezone.now())
    assert stats.dashboard(admin.user, 30) == []

    response = logged_in(admin).get("/stats/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "not a member of any desk" in html
    for name in Desk.objects.values_list("name", flat=True):
        assert name not in html


def test_it_sends_anonymous_and_password_only_visitors_to_the_login(client, backoffice, alice):
    response = client.get("/stats/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(alice.user)  # password only: no TOTP verified in this session
    response = client.get("/stats/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_draws_each_figure_as_svg_with_a_table_of_the_same_numbers(
    alice, bob, desk, tip_factory, logged_in
):
    now = timezone.now()
    for _ in range(3):
        tip_factory(received_at=now, assignee=bob.user)
    tip_factory(
        received_at=now,
        triaged_at=now + timedelta(hours=2),
        status=Tip.Status.CLOSED,
        resolution="duplicate",
        closed_at=now,
    )
    response = logged_in(alice).get("/stats/")  # the key stays locked: nothing is decrypted
    html = response.content.decode()
    assert response.status_code == 200
    # Received per day, triage times, open load, resolutions: one chart and one table each.
    assert html.count("<svg") == 4 and html.count("<table") == 4
    assert "style=" not in html  # the back office's CSP allows no inline styles
    assert f"<td>{now.date().isoformat()}</td><td>4</td>" in html
    assert "<td>bob</td><td>3</td>" in html
    assert "<td>Duplicate</td><td>1</td>" in html
    assert "<td>2 h 00 min</td>" in html
    # 30 days; median and 90th percentile; alice, bob and unassigned; four resolutions.
    assert html.count('<rect class="bar"') == 30 + 2 + 3 + 4


@pytest.mark.parametrize(
    ("query", "days"),
    [("", 30), ("?days=7", 7), ("?days=90", 90), ("?days=12", 30), ("?days=x", 30)],
)
def test_it_accepts_only_the_offered_windows(alice, logged_in, query, days):
    response = logged_in(alice).get(f"/stats/{query}")
    assert response.status_code == 200
    assert response.context["days"] == days
    assert len(response.context["desks"][0].received) == days


def test_it_escapes_a_desk_name_an_admin_wrote(backoffice, make_reviewer, logged_in):
    hostile = Desk.objects.create(slug="hostile", name='<script>alert("x")</script>')
    reviewer = make_reviewer("dana", desks=[hostile])
    html = logged_in(reviewer).get("/stats/").content.decode()
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_it_never_loads_ciphertext_and_its_queries_do_not_grow_with_tips(
    alice, desk, other_desk, tip_factory
):
    DeskMembership.objects.create(desk=other_desk, user=alice.user)

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            stats.dashboard(alice.user, 90, now=NOW)
        return [q["sql"] for q in captured.captured_queries]

    tip_factory(received_at=days_ago(1))
    few = queries()
    for day in range(60):
        for where in (desk, other_desk):
            tip_factory(
                desk=where,
                received_at=days_ago(day, hours=3),
                triaged_at=days_ago(day),
                status=Tip.Status.CLOSED,
                resolution="spam",
                closed_at=days_ago(day),
            )
    many = queries()
    assert len(many) == len(few) <= 6
    assert not [sql for sql in many if re.search(r"envelope|recipients|reply_public_key", sql)]


def test_charts_are_mirrored_right_to_left():
    points = [("2026-11-24", 1), ("2026-11-25", 3)]
    ltr = stats.column_chart(points, rtl=False)
    rtl = stats.column_chart(points, rtl=True)
    assert float(ltr.bars[0].x) < float(ltr.bars[1].x)  # oldest day on the left
    assert float(rtl.bars[0].x) > float(rtl.bars[1].x)  # oldest day on the right
    rows = [("alice", 2.0, "2"), ("bob", 1.0, "1")]
    assert {t.anchor for t in stats.bar_chart(rows, rtl=False).texts if t.text == "alice"} == {
        "end"
    }
    assert {t.anchor for t in stats.bar_chart(rows, rtl=True).texts if t.text == "alice"} == {
        "start"
    }

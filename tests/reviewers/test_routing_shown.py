"""Routing as reviewers see it: the tip page names the decision and the rule that made it, and
the inbox marks a tip left untriaged past its desk's deadline as overdue."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.reviewers.test_access import make_tip
from tipline import routing, tasks
from tipline.models import RoutingDecision, RoutingRule, Tip


@pytest.fixture
def alice(backoffice, desk, make_reviewer):
    """A reviewer of the desk, and its lead: overdue tips are escalated to her."""
    alice = make_reviewer("alice", desks=[desk], key="alice")
    desk.lead = alice.user
    desk.save()
    return alice


def routing_line(content: bytes) -> str:
    """The text of the tip page's Routing entry."""
    match = re.search(r"<dt>Routing</dt><dd>(.*?)</dd>", content.decode(), re.S)
    assert match, content
    return html.unescape(match.group(1))


def inbox_rows(content: bytes) -> dict[int, str]:
    """Each listed tip's table row, by tip id."""
    rows = re.findall(r"<tr>(.*?)</tr>", content.decode(), re.S)
    return {
        int(match.group(1)): row
        for row in rows
        if (match := re.search(r'<a href="/tips/(\d+)/">', row))
    }


def test_it_shows_the_routing_decision_and_the_rule_that_made_it(alice, desk, logged_in):
    rule = RoutingRule.objects.create(position=3, name="files & more to alice", set_priority=2)
    rule.reviewers.set([alice.user])
    tip = make_tip(desk, alice.key)
    assert routing.route(tip.pk)
    decision = RoutingDecision.objects.get(tip=tip)
    assert decision.rule.startswith("rule 3: files & more to alice")
    response = logged_in(alice, unlock=True).get(f"/tips/{tip.pk}/")
    assert response.status_code == 200
    shown = routing_line(response.content)
    assert shown == f"{decision.rule}, {decision.decided_at:%Y-%m-%d %H:%M} UTC"
    assert "priority high" in shown  # what the rule did, not only its name


def test_it_shows_the_default_decision_when_no_rule_matched(alice, desk, logged_in):
    tip = make_tip(desk, alice.key)
    assert routing.route(tip.pk)
    response = logged_in(alice, unlock=True).get(f"/tips/{tip.pk}/")
    assert routing_line(response.content).startswith(f"{routing.LEAST_LOADED}, ")


def test_it_says_when_a_tip_is_not_routed_yet(alice, desk, logged_in):
    tip = make_tip(desk, alice.key)
    response = logged_in(alice, unlock=True).get(f"/tips/{tip.pk}/")
    assert routing_line(response.content) == "not routed yet"


def test_the_inbox_marks_an_escalated_tip_overdue_and_no_other(alice, desk, logged_in):
    desk.triage_deadline_hours = 24
    desk.save()
    now = timezone.now()
    late = make_tip(desk, alice.key)
    fresh = make_tip(desk, alice.key)
    late_but_triaged = make_tip(desk, alice.key)
    Tip.objects.filter(pk__in=[late.pk, late_but_triaged.pk]).update(
        received_at=now - timedelta(hours=25)
    )
    Tip.objects.filter(pk=late_but_triaged.pk).update(status=Tip.Status.TRIAGED)
    assert tasks.escalate_overdue_tips() == 1
    late.refresh_from_db()
    assert late.escalated_at is not None

    response = logged_in(alice).get("/")
    assert response.status_code == 200
    rows = inbox_rows(response.content)
    assert set(rows) == {late.pk, fresh.pk, late_but_triaged.pk}
    assert "overdue" in rows[late.pk]
    assert "overdue" not in rows[fresh.pk]
    assert "overdue" not in rows[late_but_triaged.pk]


def test_an_escalated_tip_is_no_longer_overdue_once_triaged(alice, desk, logged_in):
    tip = make_tip(desk, alice.key)
    Tip.objects.filter(pk=tip.pk).update(
        received_at=timezone.now() - timedelta(hours=desk.triage_deadline_hours + 1)
    )
    assert tasks.escalate_overdue_tips() == 1
    client = logged_in(alice)
    assert "overdue" in inbox_rows(client.get("/").content)[tip.pk]
    Tip.objects.filter(pk=tip.pk).update(status=Tip.Status.TRIAGED)
    assert "overdue" not in inbox_rows(client.get("/").content)[tip.pk]


def test_the_escalated_view_lists_the_tips_still_waiting_past_their_deadline(
    alice, desk, logged_in
):
    waiting, triaged, fresh = (make_tip(desk, alice.key) for _ in range(3))
    late = timezone.now() - timedelta(hours=desk.triage_deadline_hours + 1)
    Tip.objects.filter(pk__in=[waiting.pk, triaged.pk]).update(received_at=late)
    assert tasks.escalate_overdue_tips() == 2
    Tip.objects.filter(pk=triaged.pk).update(status=Tip.Status.TRIAGED)
    response = logged_in(alice).get("/?view=escalated")
    assert response.status_code == 200
    assert set(inbox_rows(response.content)) == {waiting.pk}
    assert fresh.pk not in inbox_rows(response.content)

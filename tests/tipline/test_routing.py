from datetime import timedelta

import pytest
from django.utils import timezone

from tipline import routing, tasks
from tipline.models import RoutingDecision, Tip


def test_it_assigns_a_tip_to_the_least_loaded_reviewer(desk, make_reviewer, tip_factory):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[desk], key="bob")
    tip_factory(assignee=alice.user, routed_at=timezone.now())
    tip = tip_factory()
    assert routing.route(tip.pk) is True
    tip.refresh_from_db()
    assert tip.assignee == bob.user and tip.routed_at is not None


def test_it_ignores_closed_tips_when_counting_load(desk, make_reviewer, tip_factory):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    make_reviewer("bob", desks=[desk], key="bob")
    tip_factory(assignee=alice.user, routed_at=timezone.now(), status=Tip.Status.CLOSED)
    tip = tip_factory()
    routing.route(tip.pk)
    tip.refresh_from_db()
    assert tip.assignee == alice.user


def test_it_routes_a_tip_once_however_often_it_runs(desk, make_reviewer, tip_factory):
    make_reviewer("alice", desks=[desk], key="alice")
    make_reviewer("bob", desks=[desk], key="bob")
    tip = tip_factory()
    assert routing.route(tip.pk) is True
    tip.refresh_from_db()
    first = (tip.assignee_id, tip.routed_at)
    # Whoever has less load now, a second run (directly or as the task) changes nothing.
    tip_factory(assignee_id=first[0], routed_at=timezone.now())
    assert routing.route(tip.pk) is False
    tasks.route_tip.run(tip.pk)
    tip.refresh_from_db()
    assert (tip.assignee_id, tip.routed_at) == first
    decision = RoutingDecision.objects.get(tip=tip)
    assert (decision.reviewer_id, decision.decided_at) == first
    assert decision.rule == routing.LEAST_LOADED


def test_it_skips_disabled_reviewers_and_other_desks(desk, other_desk, make_reviewer, tip_factory):
    make_reviewer("alice", desks=[desk], key="alice", is_active=False)
    make_reviewer("bob", desks=[other_desk], key="bob")
    carol = make_reviewer("carol", desks=[desk], key="carol")
    tip = tip_factory()
    routing.route(tip.pk)
    tip.refresh_from_db()
    assert tip.assignee == carol.user


def test_it_ignores_an_unknown_tip(db):
    assert routing.route(999_999) is False


def test_the_sweeper_finds_tips_left_unrouted_after_the_grace_period(desk, tip_factory):
    old = tip_factory(received_at=timezone.now() - timedelta(minutes=10))
    tip_factory()  # too recent: its own message may still be on its way
    tip_factory(received_at=timezone.now() - timedelta(minutes=10), routed_at=timezone.now())
    assert routing.unrouted_tip_ids(grace_seconds=120) == [old.pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_routing_assigns_a_tip_once(desk, make_reviewer, tip_factory):
    """Two workers racing on the same tips: each tip gets one decision and one assignee."""
    import threading

    from django.db import connection

    make_reviewer("alice", desks=[desk], key="alice")
    make_reviewer("bob", desks=[desk], key="bob")
    tips = [tip_factory() for _ in range(20)]
    results, errors = [], []

    def worker():
        try:
            results.extend(routing.route(tip.pk) for tip in tips)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results.count(True) == len(tips)
    assert RoutingDecision.objects.count() == len(tips)

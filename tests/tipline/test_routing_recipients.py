"""Routing gives a tip only to someone who can read it: a key-holding member of its desk."""

from django.utils import timezone

from tipline import routing
from tipline.models import RoutingDecision, RoutingRule


def routed_to(tip):
    routing.route(tip.pk)
    tip.refresh_from_db()
    return tip.assignee


def test_it_skips_a_desk_member_who_holds_no_key(desk, make_reviewer, tip_factory):
    keyless = make_reviewer("alice", desks=[desk])  # least loaded, and first by id
    bob = make_reviewer("bob", desks=[desk], key="bob")
    tip_factory(assignee=bob.user, routed_at=timezone.now())
    assert routed_to(tip_factory()) == bob.user
    assert keyless.user not in routing.readers(tip_factory())


def test_a_tip_whose_desk_has_no_key_holder_stays_unassigned(desk, make_reviewer, tip_factory):
    make_reviewer("alice", desks=[desk])
    tip = tip_factory()
    assert routed_to(tip) is None and tip.routed_at is not None
    assert RoutingDecision.objects.get(tip=tip).rule.startswith("no available reviewer")


def test_a_rule_never_sends_a_tip_to_a_reviewer_off_its_desk(
    desk, other_desk, make_reviewer, tip_factory
):
    bob = make_reviewer("bob", desks=[desk], key="bob")
    outsider = make_reviewer("carol", desks=[other_desk], key="carol")  # the least loaded
    tip_factory(assignee=bob.user, routed_at=timezone.now())
    rule = RoutingRule.objects.create(position=1, name="everything to carol")
    rule.reviewers.set([outsider.user])
    tip = tip_factory()
    assert routed_to(tip) == bob.user
    assert RoutingDecision.objects.get(tip=tip).rule == (
        "rule 1: everything to carol (its reviewers were unavailable: any reader of the desk)"
    )


def test_a_rule_naming_only_outsiders_leaves_a_desk_without_readers_unassigned(
    desk, other_desk, make_reviewer, tip_factory
):
    outsider = make_reviewer("carol", desks=[other_desk], key="carol")
    rule = RoutingRule.objects.create(position=1, name="everything to carol")
    rule.reviewers.set([outsider.user])
    assert routed_to(tip_factory()) is None

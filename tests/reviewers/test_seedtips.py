"""`manage.py seedtips`: made-up tips whose envelopes are real ciphertext, and its safeguards."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reviewers import seeding
from reviewers.tips import open_tip
from tipline.models import AuditEvent, Tip

SAFE = "--i-know-this-is-not-production"


def seed(*args) -> str:
    out = StringIO()
    call_command("seedtips", *args, stdout=out)
    return out.getvalue()


def test_it_seeds_tips_a_reviewer_of_the_desk_can_read(backoffice, desk, other_desk, make_reviewer):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[desk], key="bob")
    assert "30 made-up tips on cyber" in seed("30", SAFE, "--envelopes", "4")
    tips = Tip.objects.all()
    assert tips.count() == 30
    assert set(tips.values_list("desk__slug", flat=True)) == {"cyber"}  # the desk with readers
    assert all(t.codename_hash.startswith(seeding.SEEDED_MARK) for t in tips)
    assert tips.filter(routed_at__isnull=True).count() == 0
    assert set(tips.exclude(assignee=None).values_list("assignee", flat=True)) <= {
        alice.user.pk,
        bob.user.pk,
    }
    assert len({bytes(t.envelope) for t in tips}) == 4  # shared in turn
    tip = tips.first()
    assert sorted(tip.recipients) == sorted([alice.key.fingerprint, bob.key.fingerprint])
    opened = open_tip(alice.user, tip, alice.key.passphrase)
    assert opened.readable
    assert "A made-up tip from `manage.py seedtips`" in opened.answers[0]["value"]
    assert AuditEvent.objects.filter(action="tips.seed", detail__count=30).exists()


def test_it_refuses_without_the_safeguard_flag(backoffice, desk, make_reviewer):
    make_reviewer("alice", desks=[desk], key="alice")
    with pytest.raises(CommandError, match="i-know-this-is-not-production"):
        seed("30")
    assert not Tip.objects.exists()


def test_it_seeds_in_debug_without_the_flag(backoffice, desk, make_reviewer, settings):
    make_reviewer("alice", desks=[desk], key="alice")
    settings.DEBUG = True
    seed("3")
    assert Tip.objects.count() == 3


def test_it_refuses_a_database_with_real_tips_unless_forced(
    backoffice, desk, make_reviewer, tip_factory
):
    make_reviewer("alice", desks=[desk], key="alice")
    seed("2", SAFE)
    seed("2", SAFE)  # seeded tips are not real ones
    tip_factory()
    with pytest.raises(CommandError, match="1 tip"):
        seed("2", SAFE)
    assert Tip.objects.count() == 5
    seed("2", SAFE, "--force")
    assert Tip.objects.count() == 7


def test_it_refuses_on_the_public_site(public_site, desk):
    with pytest.raises(CommandError, match="back office"):
        seed("2", SAFE)


def test_it_refuses_when_no_desk_has_a_reader(backoffice, desk, make_reviewer):
    make_reviewer("keyless", desks=[desk])
    with pytest.raises(CommandError, match="no desk has a reviewer with a key"):
        seed("2", SAFE)
    with pytest.raises(CommandError, match="between 1 and"):
        seed("0", SAFE)

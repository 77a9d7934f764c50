"""The reward compartment: a tipster's contact for the reward is encrypted to the reward officers
only; a desk reviewer sees that it exists and may ask; an officer decides; all of it audited."""

import json
from html import unescape

import pytest
from django.test import Client

from reviewers import rewards
from reviewers.models import RewardAccessRequest
from tests.conftest import PASSWORD, switch_site
from tipline import crypto
from tipline.models import AuditEvent, ReviewerProfile, Tip

CONTACT = "reach me at reward-canary-77@example.org"


@pytest.fixture
def people(make_reviewer, desk, other_desk):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    # The reward officer reads no desk: the compartment, not the tips.
    carol = make_reviewer("carol", desks=[other_desk], key="carol")
    ReviewerProfile.objects.update_or_create(user=carol.user, defaults={"is_reward_officer": True})
    return {"alice": alice, "carol": carol}


@pytest.fixture
def tip(people, settings):
    switch_site(settings, "public")
    settings.CODENAME_PEPPER = "pepper for tests"
    settings.INDICATOR_KEY = None
    response = Client().post("/submit/cyber/", {"message": "a tip", "reward_contact": CONTACT})
    assert response.status_code == 200, response.content
    switch_site(settings, "backoffice")
    settings.CODENAME_PEPPER = None
    settings.INDICATOR_KEY = b"indicator key for tests"
    return Tip.objects.get()


def decrypts(blob, reviewer) -> bool:
    try:
        crypto.decrypt_bytes(bytes(blob), reviewer.key.fingerprint, reviewer.key.passphrase)
    except crypto.DecryptionError:
        return False
    return True


def test_the_contact_is_encrypted_to_the_reward_officers_only(tip, people):
    alice, carol = people["alice"], people["carol"]
    assert tip.reward_recipients == [carol.key.fingerprint]
    assert decrypts(tip.reward_envelope, carol) and not decrypts(tip.reward_envelope, alice)
    assert CONTACT.encode() not in bytes(tip.reward_envelope)
    # The desk's envelope no longer carries it.
    desk_document = json.loads(
        crypto.decrypt_bytes(bytes(tip.envelope), alice.key.fingerprint, alice.key.passphrase)
    )
    assert "reward-canary-77" not in json.dumps(desk_document)


def test_without_a_reward_officer_the_form_does_not_ask(public_site, desk, make_reviewer):
    make_reviewer("alice", desks=[desk], key="alice")
    client = Client()
    assert 'name="reward_contact"' not in client.get("/submit/cyber/").content.decode()
    response = client.post("/submit/cyber/", {"message": "a tip", "reward_contact": CONTACT})
    assert response.status_code == 200
    tip = Tip.objects.get()
    assert tip.reward_envelope is None


def test_a_reviewer_sees_that_details_exist_and_asks_an_officer_approves(tip, people, logged_in):
    alice, carol = people["alice"], people["carol"]
    reviewer = logged_in(alice, unlock=True)
    page = unescape(reviewer.get(f"/tips/{tip.pk}/").content.decode())
    assert "readable by reward officers only" in page
    assert "reward-canary-77" not in page
    assert reviewer.post(f"/tips/{tip.pk}/reward/request/").status_code == 302
    assert reviewer.post(f"/tips/{tip.pk}/reward/request/").status_code == 302  # once only
    access = RewardAccessRequest.objects.get()
    assert "Access requested" in unescape(reviewer.get(f"/tips/{tip.pk}/").content.decode())

    officer = Client()
    login = {"username": "carol", "password": PASSWORD, "otp_token": carol.totp(drift=1)}
    assert officer.post("/login/", login).status_code == 302
    assert officer.post("/key/unlock/", {"passphrase": carol.key.passphrase}).status_code == 302
    overview = unescape(officer.get("/rewards/").content.decode())
    assert f"#{tip.pk}" in overview and "alice" in overview
    # The officer reads the contact here, not the tip.
    assert "reward-canary-77" in unescape(officer.get(f"/rewards/?open={tip.pk}").content.decode())
    assert officer.get(f"/tips/{tip.pk}/").status_code == 404
    response = officer.post(f"/rewards/requests/{access.pk}/", {"decision": "approve"})
    assert response.status_code == 302

    tip.refresh_from_db()
    assert set(tip.reward_recipients) == {alice.key.fingerprint, carol.key.fingerprint}
    page = unescape(reviewer.get(f"/tips/{tip.pk}/").content.decode())
    assert CONTACT in page
    actions = list(
        AuditEvent.objects.filter(action__startswith="reward.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["reward.request", "reward.read", "reward.approve", "reward.read"]


def test_a_refused_request_gives_nothing(tip, people, logged_in):
    alice, carol = people["alice"], people["carol"]
    access = rewards.request_access(alice.user, tip)
    rewards.decide(carol.user, access, approve=False, passphrase=None)
    tip.refresh_from_db()
    assert tip.reward_recipients == [carol.key.fingerprint]
    assert not decrypts(tip.reward_envelope, alice)
    assert AuditEvent.objects.filter(action="reward.refuse", tip_id=tip.pk).count() == 1
    with pytest.raises(rewards.RewardError):
        rewards.decide(carol.user, access, approve=True, passphrase=carol.key.passphrase)


def test_only_an_officer_decides_and_only_the_desk_asks(tip, people, make_reviewer, other_desk):
    alice = people["alice"]
    outsider = make_reviewer("bob", desks=[other_desk], key="bob")
    with pytest.raises(rewards.RewardError):
        rewards.request_access(outsider.user, tip)
    access = rewards.request_access(alice.user, tip)
    with pytest.raises(rewards.RewardError):
        rewards.decide(alice.user, access, approve=True, passphrase=alice.key.passphrase)
    assert not decrypts(Tip.objects.get().reward_envelope, alice)


def test_the_rewards_page_is_for_reward_officers(tip, people, logged_in):
    reviewer = logged_in(people["alice"])
    assert reviewer.get("/rewards/").status_code == 404

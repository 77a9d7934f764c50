"""The reward officers' compartment: a tipster's contact for the reward process.

What a tipster gives to be reached about a reward points at them, so it is kept apart from the
tip: the public site encrypts it only to the keys of the reward officers
(``ReviewerProfile.is_reward_officer``), never to the desk's reviewers
(``tipline.submissions.reward_keys``). A reviewer of the desk sees that such details exist and
can ask to read them; a reward officer approves by re-encrypting them to the reviewer's key as
well, or refuses. Every request, decision and reading is audited.

Tips stored before the compartment existed carry the contact inside the desk's envelope, where
its readers read it as before.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from reviewers.access import readable_tips
from reviewers.models import RewardAccessRequest
from reviewers.tips import reviewer_fingerprint
from tipline import crypto
from tipline.audit import log_action
from tipline.models import ReviewerKey, Tip
from tipline.submissions import reward_keys


class RewardError(Exception):
    pass


def is_reward_officer(user) -> bool:
    profile = getattr(user, "reviewer_profile", None)
    return bool(user.is_active and profile is not None and profile.is_reward_officer)


def can_read(user, tip: Tip) -> bool:
    fingerprint = reviewer_fingerprint(user)
    return bool(tip.reward_envelope) and fingerprint in (tip.reward_recipients or [])


def read_contact(user, tip: Tip, passphrase: str) -> str:
    """Decrypts the contact for a user it is encrypted to; audited."""
    if not can_read(user, tip):
        raise RewardError("These details are not encrypted to your key.")
    document = json.loads(
        crypto.decrypt_bytes(bytes(tip.reward_envelope), reviewer_fingerprint(user), passphrase)
    )
    log_action(user, "reward.read", tip_id=tip.pk)
    return str(document.get("reward_contact", ""))


def request_access(user, tip: Tip) -> RewardAccessRequest:
    """A reviewer of the tip's desk asks to read its reward contact (once; audited)."""
    if not readable_tips(user).filter(pk=tip.pk).exists():
        raise RewardError("Only the reviewers of this tip's desk can ask for its details.")
    if not tip.reward_envelope:
        raise RewardError("This tip has no contact details for the reward process.")
    if can_read(user, tip):
        raise RewardError("You can already read these details.")
    with transaction.atomic():
        pending = RewardAccessRequest.objects.filter(tip=tip, requested_by=user, approved=None)
        existing = pending.first()
        if existing is not None:
            return existing
        request = RewardAccessRequest.objects.create(tip=tip, requested_by=user)
        log_action(user, "reward.request", tip_id=tip.pk, request=request.pk)
    return request


def pending_requests() -> QuerySet[RewardAccessRequest]:
    return (
        RewardAccessRequest.objects.filter(approved=None)
        .select_related("tip", "tip__desk", "requested_by")
        .order_by("requested_at")
    )


def decide(officer, request: RewardAccessRequest, approve: bool, passphrase: str | None) -> None:
    """A reward officer approves (re-encrypting the details to the requester's key too) or
    refuses a request. Audited either way."""
    if not is_reward_officer(officer):
        raise RewardError("Only reward officers decide who reads reward details.")
    if request.approved is not None:
        raise RewardError("This request was already decided.")
    tip = request.tip
    if approve:
        if passphrase is None:
            raise RewardError("Unlock your key first.")
        requester_key = ReviewerKey.objects.filter(user=request.requested_by).first()
        if requester_key is None:
            raise RewardError("The reviewer who asked has no key to encrypt to.")
        plaintext = crypto.decrypt_bytes(
            bytes(tip.reward_envelope), reviewer_fingerprint(officer), passphrase
        )
        keys = {k.fingerprint: k for k in _current_keys(tip)}
        keys[requester_key.fingerprint] = crypto.PublicKey(
            requester_key.fingerprint, requester_key.public_key
        )
        envelope = crypto.encrypt_bytes(plaintext, list(keys.values()))
    with transaction.atomic():
        locked = RewardAccessRequest.objects.select_for_update().get(pk=request.pk)
        if locked.approved is not None:
            raise RewardError("This request was already decided.")
        if approve:
            Tip.objects.filter(pk=tip.pk).update(
                reward_envelope=envelope, reward_recipients=sorted(keys)
            )
        locked.approved, locked.decided_by, locked.decided_at = approve, officer, timezone.now()
        locked.save(update_fields=["approved", "decided_by", "decided_at"])
        log_action(
            officer,
            "reward.approve" if approve else "reward.refuse",
            tip_id=tip.pk,
            request=locked.pk,
            requester=request.requested_by.get_username(),
        )


def _current_keys(tip: Tip) -> list[crypto.PublicKey]:
    """Today's reward officers, and whoever the details are encrypted to now (reviewers given
    access before) as far as their keys still exist."""
    keys = {k.fingerprint: k for k in reward_keys()}
    earlier = set(tip.reward_recipients or []) - set(keys)
    for key in ReviewerKey.objects.filter(fingerprint__in=earlier, user__is_active=True):
        keys[key.fingerprint] = crypto.PublicKey(key.fingerprint, key.public_key)
    return list(keys.values())

"""Taking a tip: encrypt, store durably, then enqueue routing."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.db import transaction

from tipline import (
    codenames,
    crypto,
    part_keys,
    receipts,
    reply_keys,
    storage,
    watch_on_arrival,
)
from tipline.audit import log_action
from tipline.models import Attachment, Desk, Message, ReviewerKey, Tip
from tipline.uploads import EncryptedUpload

logger = logging.getLogger(__name__)
ENVELOPE_VERSION = 2


@dataclass(frozen=True)
class Receipt:
    tip_id: int
    codename: str


def _attachments(uploads: list[EncryptedUpload]) -> list[dict]:
    return [
        {
            "storage_name": upload.storage_name,
            "question": upload.field_name,
            "file_name": upload.file_name,
            "content_type": upload.content_type,
            "bytes": upload.plaintext_bytes,
        }
        for upload in uploads
    ]


def reward_keys() -> list[crypto.PublicKey]:
    """Public keys of the active reward officers: the only keys a reward contact is encrypted
    to (reviewers/rewards.py)."""
    keys = ReviewerKey.objects.filter(
        user__is_active=True, user__reviewer_profile__is_reward_officer=True
    ).order_by("fingerprint")
    return [crypto.PublicKey(k.fingerprint, k.public_key) for k in keys]


def build_envelope(
    desk: Desk,
    answers: list[dict],
    uploads: list[EncryptedUpload],
    language: str,
    part_key: bytes | None = None,
) -> bytes:
    """The plaintext document that is encrypted as a whole: everything the tipster wrote.

    ``answers`` come from QuestionnaireForm.answers(); file names and types are only here. The
    tip's part key (tipline/part_keys.py), when given, is only here too.
    """
    document = {
        "version": ENVELOPE_VERSION,
        "kind": "tip",
        "desk": desk.slug,
        "language": language,
        "answers": answers,
        "attachments": _attachments(uploads),
    }
    if part_key is not None:
        document.update(part_keys.envelope_entry(part_key))
    return json.dumps(document, ensure_ascii=False).encode()


def _store_files(
    tip: Tip, uploads: list[EncryptedUpload], committed: list[str], message: Message | None = None
) -> None:
    """Record the uploads and move their ciphertext into the store (inside a transaction)."""
    for upload in uploads:
        Attachment.objects.create(
            tip=tip,
            message=message,
            storage_name=upload.storage_name,
            ciphertext_bytes=upload.ciphertext_bytes,
        )
        storage.commit(upload.storage_name)
        committed.append(upload.storage_name)


def submit_tip(
    desk: Desk,
    answers: list[dict],
    uploads: list[EncryptedUpload],
    language: str,
    keys: list[crypto.PublicKey],
    reward_contact: str = "",
    routing_answers: dict | None = None,
    suspected_spam: bool = False,
) -> Receipt:
    """Store a tip and its already-encrypted files in one transaction; return the receipt.

    ``keys`` must be the keys the files were encrypted to, so envelope and files always share
    their readers. Routing is enqueued only after the commit; if the broker is down the tip
    stays unrouted and the sweeper picks it up.
    """
    if not keys:
        raise crypto.NoRecipientsError("desk has no reviewers")
    part_private_key, part_public_key = part_keys.new_pair()
    envelope = crypto.encrypt_bytes(
        build_envelope(desk, answers, uploads, language, part_private_key), keys
    )
    reward_envelope, reward_recipients = None, None
    if reward_contact:
        # The reward officers' compartment, never the desk's (reviewers/rewards.py). The form
        # asks for a contact only when there is an officer to encrypt it to.
        officers = reward_keys()
        if not officers:
            raise crypto.NoRecipientsError("no reward officer to encrypt the contact to")
        document = {"version": 1, "kind": "reward_contact", "reward_contact": reward_contact}
        reward_envelope = crypto.encrypt_bytes(
            json.dumps(document, ensure_ascii=False).encode(), officers
        )
        reward_recipients = [key.fingerprint for key in officers]
    # Compared while the plaintext is in hand; only the flag is kept.
    listed = watch_on_arrival.names_a_listed_entry(answers)
    codename = codenames.generate()
    derived = codenames.derive(codename)
    committed: list[str] = []
    try:
        with transaction.atomic():
            tip = Tip.objects.create(
                desk=desk,
                codename_hash=derived.lookup,
                codename_scheme=codenames.SCHEME,
                envelope=envelope,
                recipients=[key.fingerprint for key in keys],
                language=language,
                reply_public_key=reply_keys.public_key(derived.reply_private_key),
                part_public_key=part_public_key,
                routing_answers=routing_answers or {},
                has_files=bool(uploads),
                reference=receipts.new_reference(),
                suspected_spam=suspected_spam,
                priority=Tip.Priority.LOW if suspected_spam else Tip.Priority.NORMAL,
                reward_envelope=reward_envelope,
                reward_recipients=reward_recipients,
                watchlist_hit=listed,
            )
            if listed:
                log_action(None, "tip.watchlist_hit", tip_id=tip.pk, on="arrival")
            _store_files(tip, uploads, committed)
            transaction.on_commit(lambda: enqueue_routing(tip.pk))
    except BaseException:
        for name in committed:
            storage.delete(name)
        raise
    return Receipt(tip_id=tip.pk, codename=codename)


def submit_followup(
    tip: Tip, text: str, uploads: list[EncryptedUpload], language: str, keys: list[crypto.PublicKey]
) -> Message:
    """Store a returning tipster's message and files, encrypted to the desk's readers."""
    if not keys:
        raise crypto.NoRecipientsError("desk has no reviewers")
    document = {
        "version": ENVELOPE_VERSION,
        "kind": "followup",
        "language": language,
        "message": text,
        "attachments": _attachments(uploads),
    }
    fingerprints = [key.fingerprint for key in keys]
    secret = part_keys.secret_for(tip, fingerprints)
    body = crypto.encrypt_bytes(
        json.dumps(document, ensure_ascii=False).encode(),
        keys,
        part_passphrase=secret.passphrase if secret else None,
    )
    committed: list[str] = []
    try:
        with transaction.atomic():
            message = Message.objects.create(
                tip=tip,
                author=Message.Author.TIPSTER,
                body_for_desk=body,
                recipients=fingerprints,
                sealed_passphrase=secret.sealed if secret else None,
            )
            _store_files(tip, uploads, committed, message=message)
            if not tip.watchlist_hit and watch_on_arrival.names_a_listed_entry([], [text]):
                watch_on_arrival.flag(tip.pk)
    except BaseException:
        for name in committed:
            storage.delete(name)
        raise
    return message


def enqueue_routing(tip_id: int) -> None:
    """Ask a worker to route the tip; a broker outage only delays routing (see the sweeper)."""
    from tipline.tasks import route_tip

    try:
        route_tip.apply_async(args=[tip_id], retry=True)
    except Exception as exc:  # the broker is down or unreachable
        logger.warning(
            "routing of tip %s not enqueued (%s); the sweeper will retry",
            tip_id,
            type(exc).__name__,
        )

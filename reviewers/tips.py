"""Reading tips in the back office: decryption with the reviewer's own key, always audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction

from reviewers import correlation, reading_copy, similarity, watchlists
from reviewers.models import Note
from tipline import crypto, part_keys, reply_keys, storage
from tipline.audit import log_action
from tipline.models import Attachment, Message, Tip


@dataclass
class OpenedTip:
    tip: Tip
    readable: bool
    answers: list[dict] = field(default_factory=list)
    reward_contact: str = ""
    language: str = ""
    attachments: list[dict] = field(default_factory=list)
    # The reviewer's key is held offline: the page offers the ciphertext of each part instead.
    offline: bool = False


def _document(
    reader, name: str, ciphertext, fingerprint: str, passphrase: str, sealed=None
) -> dict:
    """A part's decrypted JSON: through ``reader`` (reviewers/reading_copy.py) when given.

    ``sealed`` is the part's own passphrase sealed to the tip's part key, if it has one.
    """
    if reader is not None:
        return reader.document(name, bytes(ciphertext), sealed)
    return json.loads(crypto.decrypt_bytes(bytes(ciphertext), fingerprint, passphrase))


def reviewer_fingerprint(user) -> str | None:
    key = getattr(user, "reviewer_key", None)
    return key.fingerprint if key else None


def open_tip(user, tip: Tip, passphrase: str | None, reader=None) -> OpenedTip:
    """Decrypt a tip's envelope for ``user`` (access already checked) and audit the read.

    Without a passphrase (a key held offline) nothing is decrypted.
    """
    fingerprint = reviewer_fingerprint(user)
    if passphrase is None:
        return OpenedTip(tip=tip, readable=False, offline=True)
    if fingerprint is None or fingerprint not in tip.recipients:
        log_action(user, "tip.read_refused", tip_id=tip.pk, reason="not a recipient")
        return OpenedTip(tip=tip, readable=False)
    document = _document(reader, reading_copy.TIP, tip.envelope, fingerprint, passphrase)
    log_action(user, "tip.read", tip_id=tip.pk)
    return OpenedTip(
        tip=tip,
        readable=True,
        answers=document.get("answers", []),
        reward_contact=document.get("reward_contact", ""),
        language=document.get("language", ""),
        attachments=document.get("attachments", []),
    )


def record_what_was_read(
    user, tip: Tip, answers: list[dict], tipster_messages: list[str]
) -> list[correlation.Found]:
    """What a decryption of ``tip`` records from its text, never the text itself: the keyed
    hashes of its indicators (and whether a watch list has one), and its similarity sketch.
    ``answers`` and ``tipster_messages`` are the decrypted answers and the tipster's follow-ups;
    returns the indicators found."""
    found = correlation.indicators_in(answers, tipster_messages)
    correlation.record(tip, found)
    watchlists.check_tip(user, tip)
    similarity.record(tip, answers, tipster_messages)
    return found


def open_attachment(
    user, tip: Tip, attachment: Attachment, passphrase: str
) -> tuple[str, Iterator[bytes]]:
    """Return the original file name and a stream of the decrypted file; audit the download.

    The name is inside the envelope the file came with: the tip's, or its follow-up's.
    """
    fingerprint = reviewer_fingerprint(user)
    carrier = attachment.message or tip
    ciphertext = attachment.message.body_for_desk if attachment.message else tip.envelope
    if fingerprint is None or fingerprint not in carrier.recipients:
        log_action(user, "attachment.download_refused", tip_id=tip.pk, attachment=attachment.pk)
        raise crypto.DecryptionError("not encrypted to this reviewer")
    document = json.loads(crypto.decrypt_bytes(bytes(ciphertext), fingerprint, passphrase))
    names = {a.get("storage_name"): a.get("file_name") for a in document.get("attachments", [])}
    stream = crypto.decrypt_file_stream(
        storage.path_of(attachment.storage_name), fingerprint, passphrase
    )
    log_action(user, "attachment.download", tip_id=tip.pk, attachment=attachment.pk)
    return names.get(attachment.storage_name) or f"attachment-{attachment.pk}", stream


def open_thread(user, tip: Tip, passphrase: str | None, reader=None) -> list[dict]:
    """Every follow-up and reply on the tip, decrypted with the reviewer's key if unlocked."""
    fingerprint = reviewer_fingerprint(user)
    thread = []
    for message in tip.messages.select_related("sender"):
        readable = passphrase is not None and fingerprint in message.recipients
        entry = {"message": message, "readable": readable}
        if entry["readable"]:
            name = reading_copy.message_part(message.pk)
            document = _document(
                reader,
                name,
                message.body_for_desk,
                fingerprint,
                passphrase,
                message.sealed_passphrase,
            )
            entry["text"] = document.get("message", "")
            entry["attachments"] = document.get("attachments", [])
        thread.append(entry)
    return thread


def _encrypt_part(
    tip: Tip, document: dict, keys: list[crypto.PublicKey]
) -> tuple[bytes, list[str], bytes | None]:
    """A new part of ``tip`` encrypted to ``keys`` (and to its own passphrase when it may have
    one: tipline/part_keys.py); returns the ciphertext, its recipients and the sealed passphrase."""
    fingerprints = [key.fingerprint for key in keys]
    secret = part_keys.secret_for(tip, fingerprints)
    body = crypto.encrypt_bytes(
        json.dumps(document).encode(), keys, part_passphrase=secret.passphrase if secret else None
    )
    return body, fingerprints, secret.sealed if secret else None


def send_reply(user, tip: Tip, text: str) -> Message:
    """Reply to the tipster: sealed to the tip's reply key, and encrypted to the desk."""
    if not tip.reply_public_key:
        raise crypto.CryptoError("this tip has no reply key")
    keys = tip.desk.recipient_keys()
    document = {"version": 2, "kind": "reply", "message": text}
    body, fingerprints, sealed = _encrypt_part(tip, document, keys)
    with transaction.atomic():
        message = Message.objects.create(
            tip=tip,
            author=Message.Author.REVIEWER,
            sender=user,
            body_for_desk=body,
            recipients=fingerprints,
            sealed_passphrase=sealed,
            body_for_tipster=reply_keys.seal(tip.reply_public_key, text.encode(), tip.pk),
        )
        log_action(user, "tip.reply", tip_id=tip.pk, message=message.pk)
    return message


def add_note(user, tip: Tip, text: str) -> Note:
    """An internal note, encrypted to the desk's current readers; audited without its text."""
    keys = tip.desk.recipient_keys()
    body, fingerprints, sealed = _encrypt_part(tip, {"version": 1, "note": text}, keys)
    with transaction.atomic():
        note = Note.objects.create(
            tip=tip, author=user, body=body, recipients=fingerprints, sealed_passphrase=sealed
        )
        log_action(user, "tip.note", tip_id=tip.pk, note=note.pk)
    return note


def open_notes(user, tip: Tip, passphrase: str | None, reader=None) -> list[dict]:
    fingerprint = reviewer_fingerprint(user)
    notes = []
    for note in tip.notes.select_related("author"):
        readable = passphrase is not None and fingerprint in note.recipients
        entry = {"note": note, "readable": readable}
        if entry["readable"]:
            name = reading_copy.note_part(note.pk)
            document = _document(
                reader, name, note.body, fingerprint, passphrase, note.sealed_passphrase
            )
            entry["text"] = document.get("note", "")
        notes.append(entry)
    return notes

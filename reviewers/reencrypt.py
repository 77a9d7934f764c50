"""Re-encryption: making a tip readable by the current readers of its desk.

Only someone who can read a tip can re-encrypt it. The back office decrypts each part with that
reviewer's own key and passphrase, inside their request, and encrypts it again to the desk's
current readers; the server never holds an unlocked key, so neither an admin nor the server on
its own can do this. Readers who left the desk are dropped in the same step.

Files get new storage names: the new ciphertext is written and moved into the store before the
database changes, and the old ciphertext is shredded after the commit. A crash in between
leaves one extra encrypted file, never a tip whose files its recipients cannot open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import transaction

from reviewers.models import Case, CaseTip, Note, ReadingCopy
from tipline import crypto, part_keys, storage
from tipline.audit import log_action
from tipline.models import Attachment, Desk, Message, ReviewerKey, Tip

# Upper bound on the parts one request rewrites when re-encrypting a desk's backlog: each part
# is a gpg decryption with a protected key (see docs/benchmarks.md), and a request must end.
BATCH_PARTS = 60


class ReencryptionError(Exception):
    """The re-encryption cannot be done; the message says why."""


@dataclass
class Result:
    parts: int = 0
    skipped: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def reader_keys(desk: Desk) -> list[crypto.PublicKey]:
    keys = desk.recipient_keys()
    if not keys:
        raise ReencryptionError("This desk has no reviewer with a key to encrypt to.")
    return keys


def missing_readers(tip: Tip) -> set[str]:
    """Fingerprints of current desk readers the tip is not encrypted to."""
    return {key.fingerprint for key in tip.desk.recipient_keys()} - set(tip.recipients)


def reader_names(fingerprints) -> list[str]:
    """Usernames behind key fingerprints, so a reviewer sees whom they would re-encrypt for."""
    keys = ReviewerKey.objects.filter(fingerprint__in=list(fingerprints)).select_related("user")
    return sorted(key.user.get_username() for key in keys)


def needs_reencryption(tip: Tip) -> bool:
    """The tip's readers differ from the desk's: someone joined, left or changed keys."""
    return {key.fingerprint for key in tip.desk.recipient_keys()} != set(tip.recipients)


def _decrypt(data, fingerprint: str, passphrase: str) -> dict:
    return json.loads(crypto.decrypt_bytes(bytes(data), fingerprint, passphrase))


def _encrypt(
    document: dict, keys: list[crypto.PublicKey], secret: part_keys.PartSecret | None = None
) -> bytes:
    return crypto.encrypt_bytes(
        json.dumps(document, ensure_ascii=False).encode(),
        keys,
        part_passphrase=secret.passphrase if secret else None,
    )


def _sealed_part(document: dict, keys, part_public_key: bytes, tip_id: int):
    """A part re-encrypted to ``keys`` and to a new passphrase sealed to the new part key;
    returns (ciphertext, sealed passphrase)."""
    secret = part_keys.seal_new(part_public_key, tip_id)
    return _encrypt(document, keys, secret), secret.sealed


def _rename_files(document: dict, renames: dict[str, str]) -> dict:
    for entry in document.get("attachments", []):
        old = entry.get("storage_name")
        if old in renames:
            entry["storage_name"] = renames[old]
    return document


def _reencrypt_file(name: str, fingerprint: str, passphrase: str, keys) -> str:
    """Write a new ciphertext of a stored file for ``keys``; return its (committed) name."""
    new_name, path = storage.new_incoming()
    encryptor = crypto.StreamEncryptor(keys, path)
    try:
        for chunk in crypto.decrypt_file_stream(storage.path_of(name), fingerprint, passphrase):
            encryptor.write(chunk)
        encryptor.finish()
    except BaseException:
        encryptor.abort()
        storage.discard_incoming(new_name)
        raise
    storage.commit(new_name)
    return new_name


def reencrypt_tip(
    user,
    tip: Tip,
    passphrase: str | None,
    *,
    to_desk: Desk | None = None,
    fingerprint: str | None = None,
) -> Result:
    """Re-encrypt every part of ``tip`` that ``user`` can read to the readers of its desk.

    With ``to_desk``, the tip moves to that desk in the same transaction and is encrypted to
    its readers instead. ``fingerprint`` names the reader's key when it is not their current
    one (key rotation). Parts the reviewer cannot read are left as they are and counted.
    """
    reader = fingerprint or getattr(getattr(user, "reviewer_key", None), "fingerprint", None)
    if reader is None or reader not in tip.recipients:
        raise ReencryptionError("Only a reviewer who can read this tip can re-encrypt it.")
    if passphrase is None or not crypto.holds_secret_key(reader):
        raise ReencryptionError(
            "Your key is held offline: a reviewer whose key the back office holds must "
            "re-encrypt this tip."
        )
    desk = to_desk or tip.desk
    keys = reader_keys(desk)
    fingerprints = [key.fingerprint for key in keys]
    result = Result(
        added=sorted(set(fingerprints) - set(tip.recipients)),
        removed=sorted(set(tip.recipients) - set(fingerprints)),
    )

    # Decrypt and encrypt again outside the transaction: this is the slow part.
    renames: dict[str, str] = {}
    new_names: list[str] = []
    try:
        envelope_doc = _decrypt(tip.envelope, reader, passphrase)
        messages = []
        for message in tip.messages.all():
            if reader in message.recipients:
                messages.append((message, _decrypt(message.body_for_desk, reader, passphrase)))
            else:
                result.skipped += 1
        notes = []
        for note in tip.notes.all():
            if reader in note.recipients:
                notes.append((note, _decrypt(note.body, reader, passphrase)))
            else:
                result.skipped += 1
        readable_carriers = {None} | {message.pk for message, _ in messages}
        attachments = [a for a in tip.attachments.all() if a.message_id in readable_carriers]
        result.skipped += tip.attachments.count() - len(attachments)
        for attachment in attachments:
            new_name = _reencrypt_file(attachment.storage_name, reader, passphrase, keys)
            new_names.append(new_name)
            renames[attachment.storage_name] = new_name

        # A new part key, so a reader who left cannot open the passphrases of parts to come.
        part_private_key, part_public_key = part_keys.new_pair()
        envelope_doc.update(part_keys.envelope_entry(part_private_key))
        new_envelope = _encrypt(_rename_files(envelope_doc, renames), keys)
        new_bodies = {
            m.pk: _sealed_part(_rename_files(doc, renames), keys, part_public_key, tip.pk)
            for m, doc in messages
        }
        new_notes = {
            note.pk: _sealed_part(doc, keys, part_public_key, tip.pk) for note, doc in notes
        }

        with transaction.atomic():
            locked = Tip.objects.select_for_update().get(pk=tip.pk)
            if bytes(locked.envelope) != bytes(tip.envelope):
                raise ReencryptionError("Someone re-encrypted this tip at the same time.")
            locked.envelope = new_envelope
            locked.recipients = fingerprints
            locked.part_public_key = part_public_key
            update = ["envelope", "recipients", "part_public_key"]
            if to_desk is not None and to_desk.pk != tip.desk_id:
                locked.desk = to_desk
                update.append("desk")
                if (
                    locked.assignee_id
                    and not to_desk.memberships.filter(user_id=locked.assignee_id).exists()
                ):
                    locked.assignee = None
                    update.append("assignee")
                CaseTip.objects.filter(tip=locked).delete()
            locked.save(update_fields=update)
            # Its keys are the old ones: the next reader makes a new one.
            ReadingCopy.objects.filter(tip=locked).delete()
            for pk, (body, sealed) in new_bodies.items():
                Message.objects.filter(pk=pk).update(
                    body_for_desk=body, recipients=fingerprints, sealed_passphrase=sealed
                )
            for pk, (body, sealed) in new_notes.items():
                Note.objects.filter(pk=pk).update(
                    body=body, recipients=fingerprints, sealed_passphrase=sealed
                )
            # Parts this reviewer could not read keep their ciphertext; what was sealed for
            # them is sealed to the old part key, which opens nothing any more.
            Message.objects.filter(tip=locked).exclude(pk__in=list(new_bodies)).update(
                sealed_passphrase=None
            )
            Note.objects.filter(tip=locked).exclude(pk__in=list(new_notes)).update(
                sealed_passphrase=None
            )
            for old, new in renames.items():
                changed = Attachment.objects.filter(tip=locked, storage_name=old).update(
                    storage_name=new
                )
                if changed != 1:
                    raise ReencryptionError("A file of this tip changed at the same time.")
            result.parts = 1 + len(new_bodies) + len(new_notes) + len(renames)
            detail = {"parts": result.parts, "skipped": result.skipped}
            if to_desk is not None and to_desk.pk != tip.desk_id:
                log_action(user, "tip.move", tip_id=tip.pk, old=tip.desk.slug, new=to_desk.slug)
            log_action(
                user,
                "tip.reencrypt",
                tip_id=tip.pk,
                added=result.added,
                removed=result.removed,
                **detail,
            )
            old_names = list(renames)
            transaction.on_commit(lambda: [storage.shred(name) for name in old_names])
    except BaseException:
        for name in new_names:
            storage.delete(name)
        raise
    tip.refresh_from_db()
    return result


def reencrypt_case(user, case: Case, passphrase: str, *, fingerprint: str | None = None) -> int:
    """Re-encrypt a case's title and notes to its desk's readers; return the parts rewritten."""
    reader = fingerprint or getattr(getattr(user, "reviewer_key", None), "fingerprint", None)
    if reader is None or reader not in case.recipients:
        raise ReencryptionError("Only a reviewer who can read this case can re-encrypt it.")
    keys = reader_keys(case.desk)
    fingerprints = [key.fingerprint for key in keys]
    title = _encrypt(_decrypt(case.title, reader, passphrase), keys)
    notes = {
        note.pk: _encrypt(_decrypt(note.body, reader, passphrase), keys)
        for note in case.notes.all()
        if reader in note.recipients
    }
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(title=title, recipients=fingerprints)
        for pk, body in notes.items():
            Note.objects.filter(pk=pk).update(body=body, recipients=fingerprints)
        log_action(user, "case.reencrypt", case=case.pk, parts=1 + len(notes))
    case.refresh_from_db()
    return 1 + len(notes)


def reencrypt_backlog(user, passphrase: str, *, fingerprint: str | None = None) -> tuple[int, int]:
    """Re-encrypt, within one request's budget, tips of the reviewer's desks whose readers are
    out of date and that the reviewer can read. Return (tips done, tips still waiting)."""
    reader = fingerprint or getattr(getattr(user, "reviewer_key", None), "fingerprint", None)
    if passphrase is None:
        raise ReencryptionError(
            "Your key is held offline: it cannot re-encrypt in the back office."
        )
    done = parts = 0
    waiting = stale_tips(user, reader)
    for tip in waiting:
        if parts >= BATCH_PARTS:
            break
        parts += reencrypt_tip(user, tip, passphrase, fingerprint=reader).parts
        done += 1
    return done, len(waiting) - done


def stale_tips(user, reader: str | None) -> list[Tip]:
    """Tips of ``user``'s desks that ``reader`` can read but whose readers are out of date.

    Recipients are stored sorted, as Desk.recipient_keys returns them, so the database can
    compare them with the desk's current list.
    """
    if reader is None:
        return []
    stale = []
    for desk in Desk.objects.filter(memberships__user=user).order_by("pk"):
        current = [key.fingerprint for key in desk.recipient_keys()]
        candidates = Tip.objects.filter(desk=desk).exclude(recipients=current).order_by("pk")
        stale += [tip for tip in candidates.select_related("desk") if reader in tip.recipients]
    return stale

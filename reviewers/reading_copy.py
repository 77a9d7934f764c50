"""Opening a tip with one decryption: a reading copy of its parts.

A tip's envelope, each follow-up and reply, and each note are separate OpenPGP messages, and
every decryption with a reviewer's key pays for the key's passphrase derivation (a few hundred
milliseconds, on purpose). A tip with a long conversation would take seconds to open. So when a
reviewer has decrypted a tip's parts, the back office keeps what they read as one more OpenPGP
message, the reading copy, and the next opening decrypts that copy plus only the parts that are
new since.

What keeps the copy from widening access:

- it holds only parts its maker decrypted, and is encrypted only to keys that every one of those
  parts is encrypted to (and that are still readers of the desk): a reader of the copy could have
  read each part on its own;
- before it is used, it is checked against the parts as they are now: a part gone (deleted,
  purged) or re-encrypted without one of the copy's keys (a reader who left, a moved tip, a
  rotated key) makes it stale, and a stale copy is deleted and made again; re-encrypting a tip
  deletes its copy in the same transaction too.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.utils import timezone

from reviewers.models import Note, ReadingCopy
from tipline import crypto, part_keys
from tipline.models import Message, Tip

logger = logging.getLogger(__name__)

TIP = "tip"


def message_part(pk: int) -> str:
    return f"message:{pk}"


def note_part(pk: int) -> str:
    return f"note:{pk}"


def current_parts(tip: Tip) -> dict[str, list[str]]:
    """Every part of ``tip`` now, with the keys it is encrypted to."""
    parts = {TIP: list(tip.recipients)}
    for pk, recipients in Message.objects.filter(tip=tip).values_list("pk", "recipients"):
        parts[message_part(pk)] = recipients
    for pk, recipients in Note.objects.filter(tip=tip).values_list("pk", "recipients"):
        parts[note_part(pk)] = recipients
    return parts


def is_current(copy: ReadingCopy, parts: dict[str, list[str]]) -> bool:
    keys = set(copy.recipients)
    return all(name in parts and keys <= set(parts[name]) for name in copy.parts)


class TipReader:
    """Decrypts the parts of one tip for one reviewer, from the reading copy where it can.

    Use ``document()`` for each part, then ``keep()`` to store what was read in a new copy.
    """

    def __init__(self, tip: Tip, fingerprint: str, passphrase: str) -> None:
        self.tip = tip
        self.fingerprint = fingerprint
        self.passphrase = passphrase
        self.parts = current_parts(tip)
        self.documents: dict[str, dict] = {}
        self.fresh = False
        self.decryptions = 0
        copy = ReadingCopy.objects.filter(tip=tip).first()
        if copy is None:
            return
        if not is_current(copy, self.parts):
            copy.delete()
            return
        if fingerprint in copy.recipients:
            content = json.loads(self._decrypt(bytes(copy.body)))
            self.documents = {name: content["parts"][name] for name in copy.parts}

    def _decrypt(self, ciphertext: bytes) -> bytes:
        self.decryptions += 1
        return crypto.decrypt_bytes(ciphertext, self.fingerprint, self.passphrase)

    def _open_with_part_key(self, name: str, ciphertext: bytes, sealed) -> bytes | None:
        """Part ``name`` opened with its own passphrase (tipline/part_keys.py), or None.

        Only once the envelope has been read (it holds the part key), and only for a part
        encrypted to this reviewer's key: the part key never reads what their key could not.
        """
        part_key = part_keys.private_from(self.documents.get(TIP))
        if sealed is None or part_key is None or self.fingerprint not in self.parts.get(name, ()):
            return None
        if not part_keys.matches(part_key, self.tip.part_public_key):
            # Parts were sealed to a key the envelope does not hold: the row was changed.
            logger.error("tip %s: its part key does not match its envelope", self.tip.pk)
            return None
        try:
            passphrase = part_keys.open_secret(part_key, bytes(sealed), self.tip.pk)
            return crypto.decrypt_part(ciphertext, passphrase)
        except (part_keys.PartKeyError, crypto.CryptoError) as exc:
            logger.warning(
                "tip %s: %s did not open with its passphrase (%s); using the reviewer's key",
                self.tip.pk,
                name,
                type(exc).__name__,
            )
            return None

    def document(self, name: str, ciphertext: bytes, sealed=None) -> dict:
        """The decrypted JSON document of part ``name`` (whose ciphertext is given).

        ``sealed`` is the part's own passphrase sealed to the tip's part key, if it has one.
        """
        if name not in self.documents:
            plaintext = self._open_with_part_key(name, ciphertext, sealed)
            if plaintext is None:
                plaintext = self._decrypt(ciphertext)
            self.documents[name] = json.loads(plaintext)
            self.fresh = True
        return self.documents[name]

    def keep(self) -> None:
        """Store everything read as the tip's reading copy, if anything was new."""
        if not self.fresh:
            return
        readers = set.intersection(*(set(self.parts[name]) for name in self.documents))
        keys = [key for key in self.tip.desk.recipient_keys() if key.fingerprint in readers]
        if self.fingerprint not in {key.fingerprint for key in keys}:
            return  # its own maker could not read it: not worth keeping
        names = sorted(self.documents)
        content = {"version": 1, "parts": {name: self.documents[name] for name in names}}
        body = crypto.encrypt_bytes(json.dumps(content).encode(), keys)
        with transaction.atomic():
            locked = Tip.objects.select_for_update().get(pk=self.tip.pk)
            now = current_parts(locked)
            if any(now.get(name) != self.parts[name] for name in names):
                return  # re-encrypted or deleted meanwhile: the next reader makes the copy
            ReadingCopy.objects.update_or_create(
                tip=locked,
                defaults={
                    "body": body,
                    "recipients": [key.fingerprint for key in keys],
                    "parts": names,
                    "made_at": timezone.now(),
                },
            )
        self.fresh = False


def reader_for(user, tip: Tip, passphrase: str | None) -> TipReader | None:
    """A TipReader for ``user``'s own key, or None when they have nothing to decrypt with."""
    key = getattr(user, "reviewer_key", None)
    if passphrase is None or key is None or key.fingerprint not in tip.recipients:
        return None
    return TipReader(tip, key.fingerprint, passphrase)

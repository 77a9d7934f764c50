"""Key rotation: a reviewer replaces their key without losing access to old tips.

1. ``start_rotation`` checks the old passphrase, generates the new key and makes it the
   reviewer's key at once, so new tips are encrypted to it. The old key is kept as
   ``previous_fingerprint``; its secret half stays in its GnuPG home.
2. ``continue_rotation`` re-encrypts, a batch per request, every tip and case the old key can
   read to the desk's current readers (the new key among them), with the old passphrase.
3. When nothing is left for the old key, its GnuPG home is overwritten and deleted.

Reviewers who decrypt offline register a new public key instead (``replace_public_key``);
their desk's other readers then re-encrypt the backlog for it (reviewers/reencrypt.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from django.db import transaction

from reviewers import lockout, reencrypt
from reviewers.access import readable_tips
from reviewers.cases import readable_cases
from tipline import crypto
from tipline.audit import log_action
from tipline.models import ReviewerKey


class RotationError(Exception):
    """The rotation cannot go on; the message says why."""


def _key(user) -> ReviewerKey:
    key = getattr(user, "reviewer_key", None)
    if key is None:
        raise RotationError("You have no key to rotate.")
    key.refresh_from_db()
    return key


def start_rotation(user, old_passphrase: str, new_passphrase: str) -> str:
    """Make a new server-held key the reviewer's key; return its fingerprint."""
    key = _key(user)
    if key.previous_fingerprint:
        raise RotationError("A rotation is already under way: finish it first.")
    if not crypto.holds_secret_key(key.fingerprint):
        raise RotationError("Your key is held offline: register a new public key instead.")
    lockout.check_key_passphrase(user, key.fingerprint, old_passphrase)
    new = crypto.generate_reviewer_key(new_passphrase)
    with transaction.atomic():
        old = key.fingerprint
        ReviewerKey.objects.filter(pk=key.pk).update(
            fingerprint=new.fingerprint, public_key=new.armored, previous_fingerprint=old
        )
        log_action(user, "key.rotation_started", old=old, new=new.fingerprint)
    user.reviewer_key.refresh_from_db()
    return new.fingerprint


def pending(user, old: str) -> tuple[list, list]:
    """Tips and cases still readable only with the old key."""
    tips = [tip for tip in readable_tips(user).select_related("desk") if old in tip.recipients]
    cases = [case for case in readable_cases(user).select_related("desk") if old in case.recipients]
    return tips, cases


def continue_rotation(user, old_passphrase: str) -> int:
    """Re-encrypt the next batch for the new key; return how many tips and cases remain.

    When none remain, the old secret key is destroyed and the rotation ends.
    """
    key = _key(user)
    old = key.previous_fingerprint
    if not old:
        raise RotationError("No rotation is under way.")
    lockout.check_key_passphrase(user, old, old_passphrase)
    tips, cases = pending(user, old)
    parts = 0
    for case in cases:
        parts += reencrypt.reencrypt_case(user, case, old_passphrase, fingerprint=old)
    cases_done = len(cases)
    tips_done = 0
    for tip in tips:
        if parts >= reencrypt.BATCH_PARTS:
            break
        parts += reencrypt.reencrypt_tip(user, tip, old_passphrase, fingerprint=old).parts
        tips_done += 1
    remaining = len(tips) - tips_done + len(cases) - cases_done
    if remaining == 0:
        finish_rotation(user, key)
    return remaining


def finish_rotation(user, key: ReviewerKey) -> None:
    old = key.previous_fingerprint
    home = crypto.reviewer_home(old)
    crypto.stop_agent(home)
    _destroy_home(home)
    with transaction.atomic():
        ReviewerKey.objects.filter(pk=key.pk).update(previous_fingerprint="")
        log_action(user, "key.rotation_finished", old=old, new=key.fingerprint)
    user.reviewer_key.refresh_from_db()


def _destroy_home(home: Path) -> None:
    """Overwrite every file of a GnuPG home (the secret key among them), then remove it."""
    if not home.is_dir():
        return
    for path in home.rglob("*"):
        # The agent's sockets (S.*) vanish as it exits; they hold nothing.
        if path.name.startswith("S.") or path.is_symlink() or not path.is_file():
            continue
        try:
            with open(path, "r+b") as handle:
                handle.write(secrets.token_bytes(os.fstat(handle.fileno()).st_size))
                handle.flush()
                os.fsync(handle.fileno())
        except FileNotFoundError:
            continue
    shutil.rmtree(home, ignore_errors=True)


def replace_public_key(user, armored: str) -> str:
    """An offline reviewer registers a new public key; the desk re-encrypts for it."""
    key = _key(user)
    if crypto.holds_secret_key(key.fingerprint):
        raise RotationError("Your key is held by the back office: rotate it instead.")
    new = crypto.validate_public_key(armored)
    if ReviewerKey.objects.filter(fingerprint=new.fingerprint).exists():
        raise RotationError("This key is already registered.")
    with transaction.atomic():
        old = key.fingerprint
        ReviewerKey.objects.filter(pk=key.pk).update(
            fingerprint=new.fingerprint, public_key=new.armored
        )
        log_action(user, "key.replaced", old=old, new=new.fingerprint)
    user.reviewer_key.refresh_from_db()
    return new.fingerprint

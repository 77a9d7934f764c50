"""Reading tips in the back office: decryption with the reviewer's own key, always audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from reviewers.audit import log_action
from tipline import crypto, storage
from tipline.models import Attachment, Tip


@dataclass
class OpenedTip:
    tip: Tip
    readable: bool
    answers: list[dict] = field(default_factory=list)
    language: str = ""
    attachments: list[dict] = field(default_factory=list)


def reviewer_fingerprint(user) -> str | None:
    key = getattr(user, "reviewer_key", None)
    return key.fingerprint if key else None


def open_tip(user, tip: Tip, passphrase: str) -> OpenedTip:
    """Decrypt a tip's envelope for ``user`` (access already checked) and audit the read."""
    fingerprint = reviewer_fingerprint(user)
    if fingerprint is None or fingerprint not in tip.recipients:
        log_action(user, "tip.read_refused", tip_id=tip.pk, reason="not a recipient")
        return OpenedTip(tip=tip, readable=False)
    document = json.loads(crypto.decrypt_bytes(bytes(tip.envelope), fingerprint, passphrase))
    log_action(user, "tip.read", tip_id=tip.pk)
    return OpenedTip(
        tip=tip,
        readable=True,
        answers=document.get("answers", []),
        language=document.get("language", ""),
        attachments=document.get("attachments", []),
    )


def open_attachment(
    user, tip: Tip, attachment: Attachment, passphrase: str
) -> tuple[str, Iterator[bytes]]:
    """Return the original file name and a stream of the decrypted file; audit the download."""
    opened = open_tip(user, tip, passphrase)
    if not opened.readable:
        raise crypto.DecryptionError("not encrypted to this reviewer")
    names = {a.get("storage_name"): a.get("file_name") for a in opened.attachments}
    stream = crypto.decrypt_file_stream(
        storage.path_of(attachment.storage_name), reviewer_fingerprint(user), passphrase
    )
    log_action(user, "attachment.download", tip_id=tip.pk, attachment=attachment.pk)
    return names.get(attachment.storage_name) or f"attachment-{attachment.pk}", stream

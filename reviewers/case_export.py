"""Encrypted case export: one OpenPGP message holding a zip of the case, for a chosen recipient.

The reviewer decrypts each part with their own key in their request; the zip is written
straight into gpg's standard input and gpg's output goes straight to the reviewer's browser.
Plaintext exists only in this process's and gpg's memory: no temporary file, no cache. The only
file written is the recipient's public key, for gpg to read, deleted when the export ends
(crypto.PipeEncryptor).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from reviewers import reading_copy, rewards
from reviewers.cases import OpenedCase
from reviewers.tips import open_notes, open_thread, open_tip, reviewer_fingerprint
from tipline import crypto, storage
from tipline.audit import log_action

CHUNK = 256 * 1024
README = """This archive was exported from a Tipline case.

case.json           the case: title, status, desk, owner, notes and the list of tips
tips/<n>/tip.json   a tip: answers, status, tags, the conversation with the tipster and notes
tips/<n>/files/     the files the tipster sent, as they sent them

Files sent by a tipster are untrusted: open them on an isolated machine.
Parts the exporting reviewer could not decrypt are listed as such and not included.
"""


@dataclass
class ExportPlan:
    """Everything but the files, decrypted before the response starts (so errors show early)."""

    documents: list[tuple[str, bytes]]
    files: list[tuple[str, str]]  # (path in the zip, storage name)
    tip_ids: list[int]


def _safe_name(name: str, taken: set[str]) -> str:
    name = re.sub(r"[^\w.\- ]+", "_", name, flags=re.UNICODE).strip(" .") or "file"
    name = name[:120]
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{n}-{name}"
    taken.add(candidate)
    return candidate


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()


def plan_export(user, opened: OpenedCase, passphrase: str, include_contact: bool) -> ExportPlan:
    case = opened.case
    fingerprint = reviewer_fingerprint(user)
    documents: list[tuple[str, bytes]] = [("README.txt", README.encode())]
    files: list[tuple[str, str]] = []
    tips = [link.tip for link in case.members.select_related("tip", "tip__desk")]
    summary = {
        "case": case.pk,
        "title": opened.title,
        "desk": case.desk.name,
        "status": case.get_status_display(),
        "owner": case.owner.get_username() if case.owner else None,
        "created_at": case.created_at,
        "exported_at": timezone.now(),
        "exported_by": user.get_username(),
        "tips": [tip.pk for tip in tips],
        "notes": [
            {
                "by": n["note"].author.get_username() if n["note"].author else None,
                "at": n["note"].written_at,
                "text": n.get("text"),
            }
            if n["readable"]
            else {"at": n["note"].written_at, "text": None, "readable": False}
            for n in opened.notes
        ],
    }
    documents.append(("case.json", _json(summary)))
    for tip in tips:
        # Part keys (tipline/part_keys.py) and the reading copy: about one decryption a tip.
        reader = reading_copy.reader_for(user, tip, passphrase)
        tip_opened = open_tip(user, tip, passphrase, reader)
        base = f"tips/{tip.pk}"
        if not tip_opened.readable:
            documents.append((f"{base}/tip.json", _json({"tip": tip.pk, "readable": False})))
            continue
        taken: set[str] = set()
        names = {}
        thread = open_thread(user, tip, passphrase, reader)
        for entry in [{"attachments": tip_opened.attachments}, *thread]:
            for item in entry.get("attachments", []):
                names[item["storage_name"]] = _safe_name(item.get("file_name") or "file", taken)
        for attachment in tip.attachments.all():
            carrier = attachment.message or tip
            if fingerprint in carrier.recipients and attachment.storage_name in names:
                files.append(
                    (f"{base}/files/{names[attachment.storage_name]}", attachment.storage_name)
                )
        document = {
            "tip": tip.pk,
            "desk": tip.desk.name,
            "received_at": tip.received_at,
            "language": tip.language,
            "status": tip.get_status_display(),
            "resolution": tip.get_resolution_display() if tip.resolution else None,
            "priority": tip.get_priority_display(),
            "tags": [tag.name for tag in tip.tags.all()],
            "answers": [
                {"question": a.get("label"), "answer": a.get("display") or a.get("value")}
                for a in tip_opened.answers
            ],
            "files": [names.get(a["storage_name"]) for a in tip_opened.attachments],
            "conversation": [
                {
                    "from": "reviewer" if e["message"].author == "reviewer" else "tipster",
                    "at": e["message"].sent_at,
                    "text": e.get("text") if e["readable"] else None,
                    "files": [names.get(a["storage_name"]) for a in e.get("attachments", [])],
                }
                for e in thread
            ],
            "notes": [
                {"at": n["note"].written_at, "text": n.get("text") if n["readable"] else None}
                for n in open_notes(user, tip, passphrase, reader)
            ],
        }
        if include_contact:
            # Only what the exporter may read: a legacy contact in the desk's envelope, or the
            # reward compartment's when it is encrypted to them (reviewers/rewards.py).
            contact = tip_opened.reward_contact
            if not contact and rewards.can_read(user, tip):
                contact = rewards.read_contact(user, tip, passphrase)
            document["reward_contact"] = contact
        documents.append((f"{base}/tip.json", _json(document)))
    return ExportPlan(documents=documents, files=files, tip_ids=[tip.pk for tip in tips])


class _PipeWriter:
    """A write-only file object over gpg's stdin; zipfile handles its lack of seek/tell."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe

    def write(self, data: bytes) -> int:
        self.pipe.write(data)
        return len(data)

    def flush(self) -> None:
        self.pipe.flush()


def stream_export(
    user, plan: ExportPlan, passphrase: str, recipient: crypto.PublicKey, case_pk: int
) -> Iterator[bytes]:
    """Yield the OpenPGP ciphertext of the zip, encrypted to ``recipient`` only."""
    fingerprint = reviewer_fingerprint(user)
    gpg = crypto.PipeEncryptor(recipient, Path(settings.REVIEWER_GNUPG_ROOT))
    failure: list[BaseException] = []

    def write_zip() -> None:
        try:
            with zipfile.ZipFile(_PipeWriter(gpg.stdin), "w", zipfile.ZIP_DEFLATED) as zf:
                for name, data in plan.documents:
                    zf.writestr(f"case-{case_pk}/{name}", data)
                for name, storage_name in plan.files:
                    stream = crypto.decrypt_file_stream(
                        storage.path_of(storage_name), fingerprint, passphrase
                    )
                    with zf.open(f"case-{case_pk}/{name}", "w", force_zip64=True) as member:
                        for chunk in stream:
                            member.write(chunk)
        except BaseException as exc:  # reported by the reader below
            failure.append(exc)
            gpg.kill()
        finally:
            with contextlib.suppress(BrokenPipeError, OSError):
                gpg.stdin.close()

    writer = threading.Thread(target=write_zip, daemon=True)
    writer.start()
    log_action(
        user,
        "case.export",
        case=case_pk,
        recipient=recipient.fingerprint,
        tips=plan.tip_ids,
        files=len(plan.files),
    )
    try:
        while chunk := gpg.stdout.read(CHUNK):
            yield chunk
        writer.join()
        if gpg.wait() != 0 or failure:
            raise crypto.CryptoError("the export stopped before the end")
    finally:
        gpg.kill()
        writer.join(timeout=5)
        gpg.close()

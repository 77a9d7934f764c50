"""Cases: tips of one desk grouped under a title, with an owner, notes and a timeline.

Access follows the desk: whoever may read the desk's tips may work on its cases. Titles and
notes are encrypted to the desk's readers; the timeline is made from the audit trail, which
holds no content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from reviewers.models import Case, CaseTip, Note
from reviewers.tips import reviewer_fingerprint
from tipline import crypto
from tipline.audit import log_action
from tipline.models import AuditEvent, Desk, Tip

MAX_TITLE_CHARS = 200


class CaseError(Exception):
    """The change is not allowed; the message says why."""


@dataclass
class OpenedCase:
    case: Case
    readable: bool
    title: str = ""
    notes: list[dict] = field(default_factory=list)


def readable_cases(user) -> QuerySet[Case]:
    """Cases of the desks ``user`` is a member of. Staff status grants nothing here."""
    return Case.objects.filter(desk__memberships__user=user)


def case_desks(user) -> QuerySet[Desk]:
    return Desk.objects.filter(memberships__user=user, is_active=True).order_by("name")


def _encrypt_text(key: str, text: str, keys) -> bytes:
    return crypto.encrypt_bytes(json.dumps({"version": 1, key: text}).encode(), keys)


def create_case(user, desk: Desk, title: str, tip: Tip | None = None) -> Case:
    if not case_desks(user).filter(pk=desk.pk).exists():
        raise CaseError("You can only open cases on your own desks.")
    title = title.strip()
    if not title or len(title) > MAX_TITLE_CHARS:
        raise CaseError(f"A case needs a title of at most {MAX_TITLE_CHARS} characters.")
    keys = desk.recipient_keys()
    if not keys:
        raise CaseError("This desk has no reviewer with a key to encrypt to.")
    with transaction.atomic():
        case = Case.objects.create(
            desk=desk,
            title=_encrypt_text("title", title, keys),
            recipients=[key.fingerprint for key in keys],
            owner=user,
            created_by=user,
        )
        log_action(user, "case.create", case=case.pk, desk=desk.slug)
        if tip is not None:
            add_tip(user, case, tip)
    return case


def open_case(user, case: Case, passphrase: str | None) -> OpenedCase:
    """Decrypt a case's title and notes for ``user`` and audit the read."""
    fingerprint = reviewer_fingerprint(user)
    if passphrase is None:  # a key held offline
        return OpenedCase(case=case, readable=False)
    if fingerprint is None or fingerprint not in case.recipients:
        log_action(user, "case.read_refused", case=case.pk)
        return OpenedCase(case=case, readable=False)
    title = json.loads(crypto.decrypt_bytes(bytes(case.title), fingerprint, passphrase))["title"]
    notes = []
    for note in case.notes.select_related("author"):
        entry = {"note": note, "readable": fingerprint in note.recipients}
        if entry["readable"]:
            body = crypto.decrypt_bytes(bytes(note.body), fingerprint, passphrase)
            entry["text"] = json.loads(body).get("note", "")
        notes.append(entry)
    log_action(user, "case.read", case=case.pk)
    return OpenedCase(case=case, readable=True, title=title, notes=notes)


def _touch(case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())


def add_tip(user, case: Case, tip: Tip) -> None:
    if tip.desk_id != case.desk_id:
        raise CaseError("A case only holds tips of its own desk.")
    try:
        with transaction.atomic():
            CaseTip.objects.create(case=case, tip=tip, added_by=user)
            log_action(user, "case.add_tip", tip_id=tip.pk, case=case.pk)
            _touch(case)
    except IntegrityError:
        raise CaseError(f"Tip #{tip.pk} is already in a case.") from None


def remove_tip(user, case: Case, tip: Tip) -> None:
    with transaction.atomic():
        if CaseTip.objects.filter(case=case, tip=tip).delete()[0]:
            log_action(user, "case.remove_tip", tip_id=tip.pk, case=case.pk)
            _touch(case)


def update_case(user, case: Case, *, status: str, owner) -> list[str]:
    """Change status and owner; each change audited with its old and new value."""
    if status not in Case.Status.values:
        raise CaseError("Unknown case status.")
    if owner is not None and not owner.desk_memberships.filter(desk_id=case.desk_id).exists():
        raise CaseError("A case can only be owned by a reviewer of its desk.")
    changes = []
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        for name, new in (("status", status), ("owner_id", getattr(owner, "pk", None))):
            old = getattr(locked, name)
            if old != new:
                setattr(locked, name, new)
                changes.append(name)
                log_action(user, f"case.{name.removesuffix('_id')}", case=case.pk, old=old, new=new)
        if changes:
            locked.updated_at = timezone.now()
            locked.save(update_fields=[*changes, "updated_at"])
    case.refresh_from_db()
    return changes


def add_case_note(user, case: Case, text: str) -> Note:
    keys = case.desk.recipient_keys()
    with transaction.atomic():
        note = Note.objects.create(
            case=case,
            author=user,
            body=_encrypt_text("note", text, keys),
            recipients=[key.fingerprint for key in keys],
        )
        log_action(user, "case.note", case=case.pk, note=note.pk)
        _touch(case)
    return note


def timeline(case: Case, limit: int = 500) -> list[AuditEvent]:
    """Everything recorded about the case and its tips, oldest first (no content)."""
    tip_ids = list(case.members.values_list("tip_id", flat=True))
    events = (
        AuditEvent.objects.filter(Q(detail__case=case.pk) | Q(tip_id__in=tip_ids))
        .select_related("actor")
        .order_by("-pk")[:limit]
    )
    return list(reversed(events))

"""The audit trail: every read, export, change and deletion, and every routing decision.

Entries form a hash chain: each stores the SHA-256 of its own content and of the entry before it,
and no two entries may name the same predecessor (a unique constraint), so the log is a single
line. Editing, inserting or deleting an entry anywhere but at the very end breaks the chain, and
``python manage.py verifyaudit`` says where. Recording the head hash it prints somewhere else
(a notebook, a ticket) also makes cutting entries off the end detectable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tipline.models import AuditEvent

GENESIS = "0" * 64
# PostgreSQL advisory lock taken while appending, so writers queue instead of racing for the
# same place in the chain. SQLite needs none: its IMMEDIATE transactions already serialize
# writers.
APPEND_LOCK = 0x7469706C696E65  # "tipline"


def entry_hash(event: AuditEvent) -> str:
    content = {
        "at": event.at.isoformat(),
        "actor": event.actor_id,
        "action": event.action,
        "tip": event.tip_id,
        "detail": event.detail,
        "previous": event.previous_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def log_action(actor, action: str, *, tip_id: int | None = None, **detail) -> AuditEvent:
    """Record that ``actor`` did ``action``. ``detail`` must never hold tip content."""
    actor = actor if actor is not None and actor.is_authenticated else None
    detail = json.loads(json.dumps(detail, cls=DjangoJSONEncoder))
    for _attempt in range(20):
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK])
                last = (
                    AuditEvent.objects.order_by("-pk").values_list("entry_hash", flat=True).first()
                )
                event = AuditEvent(
                    at=timezone.now(),
                    actor=actor,
                    action=action,
                    tip_id=tip_id,
                    detail=detail,
                    previous_hash=last or GENESIS,
                )
                event.entry_hash = entry_hash(event)
                event.save()
                return event
        except IntegrityError:
            # Another entry took this place in the chain (a writer that does not take the
            # lock, or an older release of this code): link to it instead.
            continue
    raise RuntimeError("could not append to the audit trail")


@dataclass
class Verification:
    entries: int
    head: str
    problems: list[str]


def verify() -> Verification:
    problems = []
    previous = GENESIS
    count = 0
    for event in AuditEvent.objects.order_by("pk").iterator():
        count += 1
        if event.previous_hash != previous:
            problems.append(
                f"entry {event.pk}: does not follow the entry before it "
                "(an entry was deleted or inserted)"
            )
        if entry_hash(event) != event.entry_hash:
            problems.append(f"entry {event.pk}: content does not match its hash (edited)")
        previous = event.entry_hash
    return Verification(entries=count, head=previous, problems=problems)

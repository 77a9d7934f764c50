"""The audit trail: every read, export, change and deletion in the back office goes through here."""

from __future__ import annotations

from reviewers.models import AuditEvent


def log_action(actor, action: str, *, tip_id: int | None = None, **detail) -> AuditEvent:
    """Record that ``actor`` did ``action``. ``detail`` must never hold tip content."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        tip_id=tip_id,
        detail=detail,
    )

"""Triage: status, resolution, priority, tags and assignment of a tip, every change audited;
and the inbox, filtered to the tips a reviewer may see."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from reviewers.access import readable_tips
from tipline.audit import log_action
from tipline.models import Attachment, AuditEvent, Message, Tag, Tip
from tipline.notifications import notify_of_new_work

S = Tip.Status
# Where a tip may go from each status. Nothing returns to "new"; a closed tip may be reopened.
TRANSITIONS = {
    S.NEW: {S.NEW, S.TRIAGED, S.INVESTIGATING, S.WAITING, S.CLOSED},
    S.TRIAGED: {S.TRIAGED, S.INVESTIGATING, S.WAITING, S.CLOSED},
    S.INVESTIGATING: {S.INVESTIGATING, S.TRIAGED, S.WAITING, S.CLOSED},
    S.WAITING: {S.WAITING, S.INVESTIGATING, S.TRIAGED, S.CLOSED},
    S.CLOSED: {S.CLOSED, S.TRIAGED},
}


class TriageError(Exception):
    """The change is not allowed; the message says why."""


def desk_readers(tip: Tip):
    """Who a tip may be assigned to: active members of its desk who hold a key."""
    return (
        get_user_model()
        .objects.filter(
            desk_memberships__desk_id=tip.desk_id, is_active=True, reviewer_key__isnull=False
        )
        .order_by("username")
    )


def parse_tags(text: str) -> list[str]:
    try:
        return Tag.parse(text)
    except ValueError as exc:
        raise TriageError(str(exc)) from None


def update_tip(
    user, tip: Tip, *, status: str, resolution: str, priority: int, tags: list[str], assignee
) -> list[str]:
    """Apply a triage decision; return the names of what changed (each change is audited).

    The rules are checked against the row as locked, so two reviewers saving at once cannot
    together make a change that neither could make alone.
    """
    changes = []
    with transaction.atomic():
        tip = Tip.objects.select_for_update().get(pk=tip.pk)
        if status not in TRANSITIONS[tip.status]:
            raise TriageError(
                f"A {tip.get_status_display().lower()} tip cannot become {S(status).label.lower()}."
            )
        if status == S.CLOSED and not resolution:
            raise TriageError("Closing a tip needs a resolution.")
        if status != S.CLOSED:
            resolution = ""
        if assignee is not None and not desk_readers(tip).filter(pk=assignee.pk).exists():
            raise TriageError("A tip can only be assigned to a reviewer of its desk.")
        for field, new in (
            ("status", status),
            ("resolution", resolution),
            ("priority", priority),
            ("assignee_id", getattr(assignee, "pk", None)),
        ):
            old = getattr(tip, field)
            if old != new:
                setattr(tip, field, new)
                changes.append(field)
                log_action(
                    user, f"tip.{field.removesuffix('_id')}", tip_id=tip.pk, old=old, new=new
                )
        if "assignee_id" in changes and assignee is not None and assignee.pk != user.pk:
            notify_of_new_work(assignee)  # sent after the commit, and only if it commits
        if tip.status != S.NEW and tip.triaged_at is None:
            tip.triaged_at = timezone.now()
        if "status" in changes:
            tip.closed_at = timezone.now() if tip.status == S.CLOSED else None
        tip.save()
        old_tags = sorted(tip.tags.values_list("name", flat=True))
        if old_tags != tags:
            tip.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
            changes.append("tags")
            log_action(user, "tip.tags", tip_id=tip.pk, old=old_tags, new=tags)
    return changes


@dataclass
class InboxFilter:
    view: str = "all"  # all, new, mine, unassigned, waiting
    desk: str = ""
    status: str = ""
    tag: str = ""
    assignee: str = ""
    has_files: bool = False
    unread_followup: bool = False
    received_from: datetime.date | None = None
    received_to: datetime.date | None = None
    sort: str = "-received"


SORTS = {
    "-received": ["-received_at", "-pk"],
    "received": ["received_at", "pk"],
    "-priority": ["-priority", "-received_at", "-pk"],
}


def with_unread_followup(tips: QuerySet, user) -> QuerySet:
    """Tips with a message from the tipster that ``user`` has not read yet: sent after the
    last time they opened the tip (the audit trail records every read), or never opened."""
    last_read = (
        AuditEvent.objects.filter(actor=user, action="tip.read", tip_id=OuterRef("pk"))
        .order_by("-pk")
        .values("at")[:1]
    )
    followups = Message.objects.filter(tip=OuterRef("pk"), author=Message.Author.TIPSTER)
    # Start from the tips that have any follow-up at all (few), then compare dates.
    talked = Message.objects.filter(author=Message.Author.TIPSTER).values("tip_id")
    return (
        tips.filter(pk__in=talked)
        .annotate(last_read=Subquery(last_read))
        .filter(
            Q(last_read__isnull=True) | Exists(followups.filter(sent_at__gt=OuterRef("last_read")))
        )
    )


def inbox(user, wanted: InboxFilter) -> QuerySet:
    """The tips of ``user``'s desks that match ``wanted``; never another desk's."""
    tips = readable_tips(user)
    if wanted.view == "new":
        tips = tips.filter(status=S.NEW)
    elif wanted.view == "mine":
        tips = tips.filter(assignee=user)
    elif wanted.view == "unassigned":
        tips = tips.filter(assignee__isnull=True)
    elif wanted.view == "waiting":
        tips = tips.filter(status=S.WAITING)
    if wanted.desk:
        tips = tips.filter(desk__slug=wanted.desk)
    if wanted.status:
        tips = tips.filter(status=wanted.status)
    if wanted.tag:
        tips = tips.filter(tags__name=wanted.tag)
    if wanted.assignee:
        tips = tips.filter(assignee__username=wanted.assignee)
    if wanted.has_files:
        tips = tips.filter(Exists(Attachment.objects.filter(tip=OuterRef("pk"))))
    if wanted.unread_followup:
        tips = with_unread_followup(tips, user)
    if wanted.received_from:
        tips = tips.filter(received_at__date__gte=wanted.received_from)
    if wanted.received_to:
        tips = tips.filter(received_at__date__lte=wanted.received_to)
    return (
        tips.select_related("desk", "assignee")
        .prefetch_related("tags")
        .order_by(*SORTS.get(wanted.sort, SORTS["-received"]))
    )

"""Triage: status, resolution, priority, tags and assignment of a tip, every change audited;
and the inbox, filtered to the tips a reviewer may see, a page at a time from a cursor."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.lookups import GreaterThan, LessThan, Lookup
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
    view: str = "all"  # all, new, mine, unassigned, waiting, spam, watchlist
    desk: str = ""
    status: str = ""
    tag: str = ""
    assignee: str = ""
    has_files: bool = False
    unread_followup: bool = False
    received_from: datetime.date | None = None
    received_to: datetime.date | None = None
    sort: str = "-received"


@dataclass(frozen=True)
class SortOrder:
    """A total order on tips: ``fields`` compared in turn, the tip's id breaking every tie.

    All in one direction, so that "after this tip" is one row comparison the database answers by
    seeking along an index (``received_at``'s, or ``tip_inbox_by_priority``).
    """

    fields: tuple[str, ...]
    descending: bool

    def order_by(self) -> list[str]:
        return [f"-{name}" if self.descending else name for name in self.fields]


SORTS = {
    "-received": SortOrder(("received_at", "id"), descending=True),
    "received": SortOrder(("received_at", "id"), descending=False),
    "-priority": SortOrder(("priority", "received_at", "id"), descending=True),
}
PAGE_SIZE = 50
UNLISTED_FIELDS = (  # what the inbox never shows
    "envelope",
    "recipients",
    "reply_public_key",
    "part_public_key",
    "routing_answers",
    "codename_hash",
    "reward_envelope",
    "reward_recipients",
)


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
    elif wanted.view == "spam":
        tips = tips.filter(suspected_spam=True).exclude(status=S.CLOSED)
    elif wanted.view == "watchlist":
        tips = tips.filter(watchlist_hit=True)
    elif wanted.view == "escalated":
        # Past the desk's triage deadline and still untriaged (tipline/routing.py escalates).
        tips = tips.filter(escalated_at__isnull=False, status=S.NEW)
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
        # A list shows no ciphertext: an envelope can be kilobytes, stored out of line.
        .defer(*UNLISTED_FIELDS)
        .order_by(*SORTS.get(wanted.sort, SORTS["-received"]).order_by())
    )


# --- Pages of the inbox ------------------------------------------------------------------------


class BadCursor(ValueError):
    """A page link's cursor is malformed, or made for another sort order."""


# How each sort field is written in a cursor: a pattern the written form matches exactly, and
# how to read it back. Dates in UTC to the microsecond, as the database keeps them.
CURSOR_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
CURSOR_DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"


def _read_date(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, CURSOR_DATE_FORMAT).replace(tzinfo=datetime.UTC)


def _read_priority(text: str) -> int:
    if int(text) not in Tip.Priority.values:
        raise ValueError("no such priority")
    return int(text)


CURSOR_FIELDS = {
    "priority": (r"[0-9]", _read_priority),
    "received_at": (CURSOR_DATE_PATTERN, _read_date),
    "id": (r"[1-9][0-9]{0,17}", int),  # within a bigint
}


def cursor_of(tip: Tip, order: SortOrder) -> str:
    """Where ``tip`` stands in ``order``: its sort key, fields joined by ``_``.

    ``2026-11-25T10:04:05.123456Z_1234`` (newest or oldest first), ``3_2026-11-25T...Z_1234``
    (highest priority first). Not secret and not signed: it only says where a page starts.
    """
    parts = []
    for name in order.fields:
        value = getattr(tip, name)
        if name == "received_at":
            value = value.astimezone(datetime.UTC).strftime(CURSOR_DATE_FORMAT)
        parts.append(str(value))
    return "_".join(parts)


def read_cursor(text: str, order: SortOrder) -> tuple:
    """The sort key a cursor holds; BadCursor unless it is exactly what cursor_of writes."""
    pattern = "_".join(f"({CURSOR_FIELDS[name][0]})" for name in order.fields)
    match = re.fullmatch(pattern, text)
    if match is None:
        raise BadCursor("malformed cursor")
    try:
        return tuple(
            CURSOR_FIELDS[name][1](part)
            for name, part in zip(order.fields, match.groups(), strict=True)
        )
    except ValueError:  # 2026-13-45, or a priority that does not exist
        raise BadCursor("malformed cursor") from None


def _row(*expressions) -> Func:
    """``(a, b, c)``: an SQL row value, compared field by field like a Python tuple."""
    return Func(*expressions, function="", output_field=models.Field())


def _beyond(order: SortOrder, key: tuple, forward: bool) -> Lookup:
    """Tips after ``key`` in ``order`` (before it unless ``forward``), as one row comparison:
    PostgreSQL starts its index scan at ``key`` instead of walking the tips ahead of it."""
    columns = _row(*(F(name) for name in order.fields))
    values = _row(
        *(
            Value(value, output_field=Tip._meta.get_field(name))
            for name, value in zip(order.fields, key, strict=True)
        )
    )
    comparison = LessThan if order.descending == forward else GreaterThan
    return comparison(columns, values)


@dataclass
class InboxPage:
    """Tips to show, and the cursors of the pages either side (None: there is no such page)."""

    tips: list[Tip]
    next_cursor: str | None
    previous_cursor: str | None
    first: bool  # the start of the list, reached without a cursor


def inbox_page(
    user, wanted: InboxFilter, *, after: str = "", before: str = "", size: int = PAGE_SIZE
) -> InboxPage:
    """The ``size`` tips of ``inbox(user, wanted)`` that follow the tip the cursor ``after``
    names (or precede the one ``before`` names); without either, the first ones.

    Keyset pagination: a page deep down the list costs what the first does, and tips arriving
    meanwhile neither shift nor repeat the ones shown. No total is counted: a count reads every
    matching tip, most of a page's time at 100,000 tips. One query for the tips, one for their
    tags, whatever the page. Raises BadCursor for a malformed cursor. A cursor only positions:
    the tips are still those ``inbox`` lets ``user`` see.
    """
    order = SORTS.get(wanted.sort, SORTS["-received"])
    tips = inbox(user, wanted)
    if after and before:
        raise BadCursor("a page starts after one tip or ends before another, not both")
    if before:
        tips = tips.filter(_beyond(order, read_cursor(before, order), forward=False)).reverse()
    elif after:
        tips = tips.filter(_beyond(order, read_cursor(after, order), forward=True))
    rows = list(tips[: size + 1])  # one more than shown: is there a page beyond?
    beyond, rows = len(rows) > size, rows[:size]
    if before:
        rows.reverse()
        return InboxPage(
            rows,
            # The tip the cursor named comes next (unless it has gone since).
            next_cursor=cursor_of(rows[-1], order) if rows else None,
            previous_cursor=cursor_of(rows[0], order) if beyond else None,
            first=False,
        )
    return InboxPage(
        rows,
        next_cursor=cursor_of(rows[-1], order) if beyond else None,
        previous_cursor=cursor_of(rows[0], order) if after and rows else None,
        first=not after,
    )


def resolve_as_spam(user, tip_ids: list[int], *, suspected_only: bool = True) -> list[int]:
    """Closes the listed suspected-spam tips of ``user``'s desks as spam, each change audited
    like any triage; returns the ids closed. Other tips are left as they are: a tip not marked
    as suspected spam is closed from its own page, after reading.

    ``suspected_only=False`` closes the listed tips of ``user``'s desks whether marked or not:
    for a group of near-duplicates (reviewers/spam_clusters.py) that the reviewer chose whole.
    """
    closed = []
    mine = readable_tips(user).filter(pk__in=tip_ids)
    if suspected_only:
        mine = mine.filter(suspected_spam=True)
    for tip in mine.exclude(status=S.CLOSED).distinct():
        try:
            update_tip(
                user,
                tip,
                status=S.CLOSED,
                resolution=Tip.Resolution.SPAM,
                priority=tip.priority,
                tags=sorted(tip.tags.values_list("name", flat=True)),
                assignee=tip.assignee,
            )
        except TriageError:
            continue
        closed.append(tip.pk)
    return closed

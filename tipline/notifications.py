"""The new-work e-mail: tells a reviewer that work waits in the back office, and nothing more.

A mail server, or whoever reads the reviewer's mailbox, must learn only that this person has
work. The subject and body are fixed strings: no tip number, desk, count, language or content.
The task that sends the e-mail is given the reviewer's id only, so the broker learns no more.

Each reviewer gets at most one such e-mail per ``TIPLINE_NOTIFY_INTERVAL_MINUTES``. The interval
is claimed with one conditional UPDATE, so two workers with new work for the same reviewer send
one e-mail between them. Work that arrives within the interval is covered by the e-mail already
sent: the reviewer finds it when they log in.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tipline.models import ReviewerProfile

logger = logging.getLogger(__name__)

SUBJECT = "Tipline: new work in the back office"
BODY = (
    "There is new work for you in the Tipline back office.\n"
    "\n"
    "You can turn these e-mails off in the back office.\n"
)
BODY_WITH_LINK = (
    "There is new work for you in the Tipline back office:\n"
    "{url}\n"
    "\n"
    "You can turn these e-mails off in the back office.\n"
)


def wants_new_work_email(user) -> bool:
    """Whether ``user`` may be e-mailed about new work: active, with an address, not away and
    not opted out (a reviewer without a profile has the defaults: e-mailed, not away)."""
    if not (user.is_active and user.email):
        return False
    profile = getattr(user, "reviewer_profile", None)
    return profile is None or (profile.notify_by_email and not profile.is_away)


def notify_of_new_work(user) -> None:
    """Once the current transaction commits, ask a worker to e-mail ``user`` that work waits.

    Reviewers who would not get the e-mail are not enqueued at all; the worker checks again.
    """
    if wants_new_work_email(user):
        user_id = user.pk
        transaction.on_commit(lambda: _enqueue(user_id))


def _enqueue(user_id: int) -> None:
    from tipline.tasks import notify_new_work

    try:
        notify_new_work.apply_async(args=[user_id], retry=True)
    except Exception as exc:  # the broker is down: the reviewer finds the work at their next login
        logger.warning(
            "new-work e-mail to reviewer %s not enqueued (%s)", user_id, type(exc).__name__
        )


def send_new_work_email(user_id: int) -> bool:
    """E-mail the reviewer that work waits, unless they must not get it or got one within the
    interval. Returns True if this call sent it. Safe to repeat and to run in two workers."""
    user = get_user_model().objects.select_related("reviewer_profile").filter(pk=user_id).first()
    if user is None or not wants_new_work_email(user):
        return False
    now = timezone.now()
    if not _claim_interval(user_id, now):
        return False
    try:
        new_work_email(user.email).send()
    except Exception:
        # Give the interval back, so that the task's retry (or the next new work) can send it.
        ReviewerProfile.objects.filter(user_id=user_id, notified_at=now).update(notified_at=None)
        raise
    logger.info("new-work e-mail sent to reviewer %s", user_id)
    return True


def _claim_interval(user_id: int, now: datetime) -> bool:
    """Record ``now`` as the reviewer's last e-mail, if they got none within the interval.

    Every condition is on the row being updated, so a second worker waits for the first one's
    row lock, then finds the condition false. Opting out or going away wins here too.
    """
    ReviewerProfile.objects.get_or_create(user_id=user_id)
    cutoff = now - timedelta(minutes=settings.NOTIFY_INTERVAL_MINUTES)
    claimed = (
        ReviewerProfile.objects.filter(user_id=user_id, notify_by_email=True, is_away=False)
        .filter(Q(notified_at__isnull=True) | Q(notified_at__lte=cutoff))
        .update(notified_at=now)
    )
    return bool(claimed)


def new_work_email(address: str) -> EmailMessage:
    """The whole e-mail. It is built from the address alone, so nothing else can slip in."""
    url = settings.BACKOFFICE_URL
    body = BODY_WITH_LINK.format(url=url) if url else BODY
    return EmailMessage(SUBJECT, body, to=[address], headers={"Message-ID": anonymous_message_id()})


def anonymous_message_id() -> str:
    """A Message-ID for every e-mail Tipline sends: random, at the sender's domain.

    Django's own would name the worker's host and process.
    """
    sender_domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{secrets.token_hex(16)}@{sender_domain}>"

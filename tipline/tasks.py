"""Celery tasks: thin wrappers that take ids and call idempotent functions."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage

from tipline import notifications, proof_of_work, retention, routing, storage, throttle


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=None,
    retry_backoff=True,
    retry_backoff_max=300,
    autoretry_for=(Exception,),
)
def route_tip(self, tip_id: int) -> None:
    routing.route(tip_id)


@shared_task
def sweep_unrouted() -> int:
    """Re-enqueue tips that were accepted while the broker was unreachable."""
    tip_ids = routing.unrouted_tip_ids(settings.ROUTING_GRACE_SECONDS)
    for tip_id in tip_ids:
        route_tip.delay(tip_id)
    return len(tip_ids)


@shared_task
def remove_stale_uploads() -> int:
    """Delete ciphertext left in the upload area by requests that never completed."""
    return storage.remove_stale_incoming()


@shared_task
def forget_rate_limit_counts() -> int:
    """Per-minute counts are needed for a minute; keeping them would record when people came.
    Spent proof-of-work tickets go too, once too old to be accepted anyway."""
    forgotten = throttle.forget_old_windows(older_than=timedelta(minutes=10))
    return forgotten + proof_of_work.forget_spent()


@shared_task
def escalate_overdue_tips() -> int:
    """Escalate tips left untriaged past their desk's deadline; remind each desk lead by e-mail.

    The e-mail says how many tips wait, nothing else: no desk, no tip number, no content.
    """
    by_lead = routing.escalate_overdue()
    leads = get_user_model().objects.filter(pk__in=by_lead, is_active=True).exclude(email="")
    for lead in leads:
        EmailMessage(
            "Tipline: tips are waiting",
            f"{by_lead[lead.pk]} tip(s) passed their triage deadline. Please log in to the "
            'back office: the inbox\'s view "Escalated, still new" lists them.',
            to=[lead.email],
            headers={"Message-ID": notifications.anonymous_message_id()},
        ).send()
    return sum(by_lead.values())


@shared_task(
    acks_late=True,
    max_retries=5,
    retry_backoff=True,
    retry_backoff_max=600,
    autoretry_for=(Exception,),
)
def notify_new_work(user_id: int) -> bool:
    """Tell a reviewer there is new work in the back office, and nothing else.

    Takes the reviewer's id only; see tipline/notifications.py for what the e-mail may say.
    """
    return notifications.send_new_work_email(user_id)


@shared_task
def purge_closed_tips() -> int:
    return retention.purge_closed_tips()

"""Celery tasks: thin wrappers that take ids and call idempotent functions."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from tipline import routing, storage, throttle


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
    """Per-minute counts are needed for a minute; keeping them would record when people came."""
    return throttle.forget_old_windows(older_than=timedelta(minutes=10))

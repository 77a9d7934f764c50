"""Retention: closed tips are purged after TIPLINE_RETENTION_DAYS, files shredded first."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tipline import storage
from tipline.audit import log_action
from tipline.models import Tip


def purge_closed_tips(now=None) -> int:
    """Delete tips closed longer than the retention period; return how many were purged.

    Each tip's files are shredded after its rows are deleted in a committed transaction, so a
    failure never leaves a tip whose files are gone. Every purge is audited.
    """
    if settings.RETENTION_DAYS <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=settings.RETENTION_DAYS)
    purged = 0
    for tip_id in Tip.objects.filter(status=Tip.Status.CLOSED, closed_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            tip = (
                Tip.objects.select_for_update()
                .filter(pk=tip_id, status=Tip.Status.CLOSED, closed_at__lt=cutoff)
                .first()
            )
            if tip is None:  # reopened meanwhile
                continue
            names = list(tip.attachments.values_list("storage_name", flat=True))
            tip.delete()
            log_action(
                None,
                "tip.purged",
                tip_id=tip_id,
                files=len(names),
                retention_days=settings.RETENTION_DAYS,
            )
        for name in names:
            storage.shred(name)
        purged += 1
    return purged

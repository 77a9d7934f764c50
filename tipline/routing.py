"""Routing: give each new tip to one reviewer of its desk.

Each function here is idempotent and safe to run concurrently: a tip is claimed by a single
conditional UPDATE, so running the same routing twice, or in two workers at once, assigns it
once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from tipline.models import RoutingDecision, Tip

LEAST_LOADED = "least open tips among the desk's active reviewers"

logger = logging.getLogger(__name__)


def pick_reviewer(tip: Tip):
    """The active reviewer of the desk with the fewest open tips (oldest account wins ties)."""
    User = get_user_model()
    return (
        User.objects.filter(
            is_active=True, desk_memberships__desk_id=tip.desk_id, reviewer_key__isnull=False
        )
        .annotate(
            open_tips=Count("assigned_tips", filter=~Q(assigned_tips__status=Tip.Status.CLOSED))
        )
        .order_by("open_tips", "pk")
        .first()
    )


def route(tip_id: int) -> bool:
    """Assign the tip if it is still unrouted. Returns True if this call routed it."""
    tip = Tip.objects.filter(pk=tip_id, routed_at__isnull=True).first()
    if tip is None:
        return False
    reviewer = pick_reviewer(tip)
    rule = LEAST_LOADED if reviewer else "no active reviewer with a key: left unassigned"
    now = timezone.now()
    with transaction.atomic():
        claimed = Tip.objects.filter(pk=tip_id, routed_at__isnull=True).update(
            assignee=reviewer, routed_at=now
        )
        if claimed:
            RoutingDecision.objects.create(
                tip_id=tip_id, reviewer=reviewer, rule=rule, decided_at=now
            )
    if claimed:
        logger.info("tip %s routed to reviewer %s", tip_id, reviewer.pk if reviewer else None)
    return bool(claimed)


def unrouted_tip_ids(grace_seconds: int) -> list[int]:
    """Tips still unrouted after ``grace_seconds``: their routing message was lost or delayed."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    return list(
        Tip.objects.filter(routed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:1000]
    )

"""Routing: give each new tip to one reviewer of its desk.

Rules (edited by admins) are tried in order and the first that matches decides which
reviewers may get the tip, and may set its priority or add tags; without a matching rule every
reader of the desk may. Among those, reviewers who read the tip's language are preferred,
reviewers marked away or disabled are skipped, and the one with the fewest open tips gets it.

Each function here is idempotent and safe to run concurrently: a tip is claimed by a single
conditional UPDATE, and its one RoutingDecision row (unique per tip) is written in the same
transaction, so running the same routing twice, or in two workers at once, assigns it once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from tipline.audit import log_action
from tipline.models import Desk, RoutingDecision, RoutingRule, Tag, Tip
from tipline.notifications import notify_of_new_work

logger = logging.getLogger(__name__)
LEAST_LOADED = "least open tips among the desk's active reviewers"


def readers(tip: Tip) -> list:
    """Active reviewers of the tip's desk who hold a key and are not away, least loaded first."""
    User = get_user_model()
    return list(
        User.objects.filter(
            is_active=True, desk_memberships__desk_id=tip.desk_id, reviewer_key__isnull=False
        )
        .exclude(reviewer_profile__is_away=True)
        .annotate(
            open_tips=Count("assigned_tips", filter=~Q(assigned_tips__status=Tip.Status.CLOSED))
        )
        .select_related("reviewer_profile")
        .order_by("open_tips", "pk")
    )


def primary_language(code: str) -> str:
    return str(code).split("-")[0].split("_")[0].lower()


def _reads(user, language: str) -> bool:
    profile = getattr(user, "reviewer_profile", None)
    if not (profile and language):
        return False
    # By primary subtag on both sides: a reviewer who reads "zh" or "zh-hans" reads a tip
    # written in "zh-hans".
    return primary_language(language) in {primary_language(code) for code in profile.languages}


def pick_reviewer(tip: Tip, allowed: set[int] | None = None):
    """The least loaded available reader (within ``allowed``), preferring the tip's language."""
    candidates = [u for u in readers(tip) if allowed is None or u.pk in allowed]
    speakers = [u for u in candidates if _reads(u, tip.language)]
    chosen = speakers or candidates
    return chosen[0] if chosen else None


def decide(tip: Tip) -> tuple[object, str, RoutingRule | None]:
    """The reviewer (or None), a description of the rule that decided, and that rule."""
    for rule in RoutingRule.objects.filter(is_active=True).prefetch_related("reviewers"):
        if rule.matches(tip):
            allowed = {u.pk for u in rule.reviewers.all()} or None
            reviewer = pick_reviewer(tip, allowed)
            description = f"rule {rule.position}: {rule.name}"
            if reviewer is None and allowed:
                reviewer = pick_reviewer(tip)
                description += " (its reviewers were unavailable: any reader of the desk)"
            actions = []
            if rule.set_priority is not None:
                actions.append(f"priority {Tip.Priority(rule.set_priority).label.lower()}")
            if rule.add_tags:
                actions.append("tags " + ", ".join(_rule_tags(rule)))
            if actions:
                description += "; set " + "; ".join(actions)
            return reviewer, description[:200], rule
    reviewer = pick_reviewer(tip)
    if reviewer is None:
        return None, "no available reviewer with a key: left unassigned", None
    return reviewer, LEAST_LOADED, None


def route(tip_id: int) -> bool:
    """Assign the tip if it is still unrouted. Returns True if this call routed it."""
    tip = Tip.objects.filter(pk=tip_id, routed_at__isnull=True).first()
    if tip is None:
        return False
    reviewer, description, rule = decide(tip)
    raise_for_watch_list = (
        tip.watchlist_hit and not tip.suspected_spam and tip.priority < Tip.Priority.HIGH
    )
    if raise_for_watch_list:
        description = f"{description}; watch list hit: priority high"[:200]
    now = timezone.now()
    with transaction.atomic():
        claimed = Tip.objects.filter(pk=tip_id, routed_at__isnull=True).update(
            assignee=reviewer, routed_at=now
        )
        if claimed:
            RoutingDecision.objects.create(
                tip_id=tip_id, reviewer=reviewer, rule=description, decided_at=now
            )
            if rule is not None:
                _apply_actions(tip, rule)
            if raise_for_watch_list:
                # After the rule's actions: a rule that lowers priority does not bury a hit.
                # A tip suspected of spam stays low, flagged: a flood must not buy the top.
                Tip.objects.filter(pk=tip_id, priority__lt=Tip.Priority.HIGH).update(
                    priority=Tip.Priority.HIGH
                )
            log_action(
                None,
                "tip.routed",
                tip_id=tip_id,
                reviewer=reviewer.pk if reviewer else None,
                rule=description,
            )
            if reviewer is not None:
                notify_of_new_work(reviewer)
    if claimed:
        logger.info("tip %s routed to reviewer %s", tip_id, reviewer.pk if reviewer else None)
    return bool(claimed)


def _apply_actions(tip: Tip, rule: RoutingRule) -> None:
    if rule.set_priority is not None:
        Tip.objects.filter(pk=tip.pk).update(priority=rule.set_priority)
    names = _rule_tags(rule)
    if names:
        tip.tags.add(*[Tag.objects.get_or_create(name=name)[0] for name in names])


def _rule_tags(rule: RoutingRule) -> list[str]:
    """The rule's tags; a rule saved without validation must not stop routing."""
    try:
        return Tag.parse(rule.add_tags)
    except ValueError:
        logger.warning("routing rule %s has invalid tags; ignored", rule.pk)
        return []


def unrouted_tip_ids(grace_seconds: int) -> list[int]:
    """Tips still unrouted after ``grace_seconds``: their routing message was lost or delayed."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    return list(
        Tip.objects.filter(routed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:1000]
    )


def overdue_tips(now=None) -> list[Tip]:
    """New tips past their desk's triage deadline that were not escalated yet."""
    now = now or timezone.now()
    tips = []
    for desk in Desk.objects.all():
        cutoff = now - timedelta(hours=desk.triage_deadline_hours)
        tips += Tip.objects.filter(
            desk=desk, status=Tip.Status.NEW, escalated_at__isnull=True, received_at__lt=cutoff
        ).select_related("desk")
    return tips


def escalate_overdue() -> dict[int, int]:
    """Mark overdue tips escalated (once each); return {desk lead id: number of tips}."""
    by_lead: dict[int, int] = {}
    for tip in overdue_tips():
        escalated = Tip.objects.filter(pk=tip.pk, escalated_at__isnull=True).update(
            escalated_at=timezone.now()
        )
        if escalated and tip.desk.lead_id:
            by_lead[tip.desk.lead_id] = by_lead.get(tip.desk.lead_id, 0) + 1
    return by_lead

"""Global rate limits in fixed windows, counted in the database so every process shares them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tipline.models import ThrottleWindow


def allow(scope: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one more event in the current window; False once ``limit`` is reached."""
    return allow_all([(scope, limit)], window_seconds)


def allow_all(budgets: Iterable[tuple[str, int]], window_seconds: int = 60) -> bool:
    """Count one more event against each ``(scope, limit)`` in turn, in one transaction (one
    commit); False at the first that is spent, whose followers are then not counted."""
    epoch = int(timezone.now().timestamp()) // window_seconds * window_seconds
    start = datetime.fromtimestamp(epoch, tz=UTC)
    with transaction.atomic():
        return all(_count(scope, limit, start) for scope, limit in budgets)


def _count(scope: str, limit: int, start: datetime) -> bool:
    window = ThrottleWindow.objects.filter(scope=scope, window_start=start, count__lt=limit)
    if window.update(count=F("count") + 1):
        return True
    # The window's first event this minute (or a spent budget): make it, and try once more.
    ThrottleWindow.objects.get_or_create(scope=scope, window_start=start)
    return bool(window.update(count=F("count") + 1))


def forget_old_windows(older_than: timedelta = timedelta(days=1)) -> int:
    return ThrottleWindow.objects.filter(window_start__lt=timezone.now() - older_than).delete()[0]

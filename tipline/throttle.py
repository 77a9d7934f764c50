"""Global rate limits in fixed windows, counted in the database so every process shares them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import F
from django.utils import timezone

from tipline.models import ThrottleWindow


def allow(scope: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one more event in the current window; False once ``limit`` is reached."""
    epoch = int(timezone.now().timestamp()) // window_seconds * window_seconds
    start = datetime.fromtimestamp(epoch, tz=UTC)
    ThrottleWindow.objects.get_or_create(scope=scope, window_start=start)
    return bool(
        ThrottleWindow.objects.filter(scope=scope, window_start=start, count__lt=limit).update(
            count=F("count") + 1
        )
    )


def forget_old_windows(older_than: timedelta = timedelta(days=1)) -> int:
    return ThrottleWindow.objects.filter(window_start__lt=timezone.now() - older_than).delete()[0]

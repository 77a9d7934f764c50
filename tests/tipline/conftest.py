"""Fixtures shared by the public site's flood tests."""

from datetime import timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def clock(monkeypatch):
    """timezone.now, moved by hand: what the throttle's windows are measured by."""

    class Clock:
        now = timezone.now().replace(second=5, microsecond=0)

        def advance(self, **delta):
            self.now += timedelta(**delta)

    moved = Clock()
    monkeypatch.setattr(timezone, "now", lambda: moved.now)
    return moved


@pytest.fixture
def desks(public_site, desk, other_desk, make_reviewer):
    make_reviewer("alice", desks=[desk, other_desk], key="alice")
    return desk, other_desk

"""A returning tipster's session ends after two idle hours; each request starts them again."""

import time
from datetime import timedelta

import pytest
from django.test import Client

from tests.tipline.test_checkin import check_in


@pytest.fixture
def codename(public_site, desk, make_reviewer):
    make_reviewer("alice", desks=[desk], key="alice")
    return Client().post("/submit/cyber/", {"message": "a tip"}).context["codename"]


@pytest.fixture
def clock(monkeypatch):
    """time.time, moved by hand: what signed sessions and the check-in time are measured by."""

    class Clock:
        now = time.time()

        def advance(self, **delta):
            self.now += timedelta(**delta).total_seconds()

    moved = Clock()
    monkeypatch.setattr(time, "time", lambda: moved.now)
    return moved


def test_each_request_starts_the_idle_time_again(codename, clock, settings):
    assert settings.SESSION_COOKIE_AGE == 120 * 60
    client = Client()
    check_in(client, codename)
    for _ in range(3):
        clock.advance(minutes=119)
        assert client.get("/tip/").status_code == 200
    # 477 minutes after the check-in: within the 8-hour limit, but 2 hours idle.
    assert settings.TIPSTER_SESSION_MAX_SECONDS > (3 * 119 + 121) * 60
    clock.advance(minutes=120, seconds=1)
    assert client.get("/tip/")["Location"] == "/checkin/"


def test_the_session_ends_after_the_idle_minutes_without_a_request(codename, clock):
    client = Client()
    check_in(client, codename)
    clock.advance(minutes=120, seconds=1)
    assert client.get("/tip/")["Location"] == "/checkin/"

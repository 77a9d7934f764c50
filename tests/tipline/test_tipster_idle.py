"""A returning tipster's session ends after two idle hours; each request starts them again."""

import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.e2e.stack import csrf_token
from tests.tipline.test_checkin import check_in
from tipline.models import Tip


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


@pytest.fixture
def slow_body(monkeypatch, clock):
    """Request bodies that take hours to arrive: each read of the body moves the clock on by
    ``per_read``, as a large upload over a slow Tor circuit would."""
    from django.test import client as test_client

    class SlowPayload(test_client.FakePayload):
        per_read = timedelta(hours=2)
        reads = 0

        def read(self, *args):
            SlowPayload.reads += 1
            clock.advance(seconds=self.per_read.total_seconds())
            return super().read(*args)

    monkeypatch.setattr(test_client, "FakePayload", SlowPayload)
    return SlowPayload


def an_upload(megabytes: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("ledger.bin", b"\x00ledger" * (megabytes * 1024 * 1024 // 7))


def test_an_upload_that_outlasts_the_idle_time_and_the_session_still_arrives(
    codename, clock, slow_body, settings
):
    """Sessions and CSRF tokens are checked when a request starts, not when its body has
    arrived: a follow-up whose files take longer than the idle limit is still taken, and the
    idle time starts again when it has arrived (docs/operations.md, "Long uploads")."""
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client.get("/checkin/").content.decode())
    # The idle time is measured from here.
    client.post("/checkin/", {"csrfmiddlewaretoken": token, "codename": codename})
    token = csrf_token(client.get("/tip/").content.decode())
    started = clock.now
    slow_body.per_read = timedelta(hours=1)
    response = client.post(
        "/tip/followup/",
        {"csrfmiddlewaretoken": token, "message": "the rest", "attachment": an_upload(4)},
    )
    assert response.status_code == 302 and response["Location"] == "/tip/", response
    took = clock.now - started
    assert settings.SESSION_COOKIE_AGE < took < settings.TIPSTER_SESSION_MAX_SECONDS
    tip = Tip.objects.get()
    message = tip.messages.get(author="tipster")
    assert message.attachments.count() == 1
    assert client.get("/tip/").status_code == 200
    clock.advance(minutes=119)
    assert client.get("/tip/").status_code == 200


def test_a_new_tip_whose_upload_takes_hours_is_taken(public_site, desk, make_reviewer, slow_body):
    """A new tip needs no session, only the CSRF token, which does not expire."""
    make_reviewer("alice", desks=[desk], key="alice")
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client.get("/submit/cyber/").content.decode())
    slow_body.reads = 0
    response = client.post(
        "/submit/cyber/",
        {"csrfmiddlewaretoken": token, "message": "a tip", "attachment": an_upload(4)},
    )
    assert response.status_code == 200 and response.context["codename"]
    assert slow_body.reads * slow_body.per_read > timedelta(hours=8)
    assert Tip.objects.get().attachments.count() == 1

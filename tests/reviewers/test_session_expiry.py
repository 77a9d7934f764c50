"""How long a reviewer's session lasts, what ends it, and that the unlocked key ends with it."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from reviewers.session_store import stored_key
from tests.conftest import PASSWORD, short_tempdir
from tests.reviewers.test_access import make_tip
from tests.reviewers.test_lockout import fresh_code
from tipline.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "alice's brand new login password"


@pytest.fixture
def alice(backoffice, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def clock(monkeypatch):
    """timezone.now, moved by hand. TOTP codes still follow the real clock."""

    class Clock:
        now = timezone.now()

        def advance(self, **delta):
            self.now += timedelta(**delta)

    moved = Clock()
    monkeypatch.setattr(timezone, "now", lambda: moved.now)
    return moved


def session_key(client: Client) -> str:
    """The key of the client's session row (a hash of its cookie, reviewers/session_store.py)."""
    return stored_key(client.cookies[django_settings.SESSION_COOKIE_NAME].value)


def sent_to_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/login/")


def log_in(client: Client, reviewer) -> Client:
    response = client.post(
        "/login/",
        {
            "username": reviewer.user.username,
            "password": PASSWORD,
            "otp_token": fresh_code(reviewer),
        },
    )
    assert response.status_code == 302, response.content
    return client


# --- Idle and absolute limits -------------------------------------------------------------------


def test_a_session_ends_after_the_idle_minutes(alice, logged_in, clock, settings):
    # However long the session backend would keep the row, the idle limit holds.
    settings.SESSION_COOKIE_AGE = 8 * 3600
    assert settings.REVIEWER_IDLE_SECONDS == 30 * 60
    client = logged_in(alice)
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=29, seconds=59)
    assert client.get("/").status_code == 200  # each request starts the idle time again
    old_key = session_key(client)
    clock.advance(minutes=30, seconds=1)
    assert sent_to_login(client.get("/"))
    assert not Session.objects.filter(session_key=old_key).exists()
    [event] = AuditEvent.objects.filter(action="reviewer.session_expired")
    assert event.actor == alice.user and event.detail == {"reason": "idle"}
    assert sent_to_login(client.get("/"))  # and it stays ended


def test_the_idle_limit_follows_the_setting(alice, logged_in, clock, settings):
    settings.REVIEWER_IDLE_SECONDS = 5 * 60
    client = logged_in(alice)
    clock.advance(minutes=5, seconds=1)
    assert sent_to_login(client.get("/"))


def test_an_active_session_ends_at_the_absolute_limit(alice, logged_in, clock, settings):
    assert settings.REVIEWER_SESSION_MAX_SECONDS == 8 * 3600
    client = logged_in(alice)
    for _ in range(23):
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200
    clock.advance(minutes=19)  # 7 h 59 min after logging in
    assert client.get("/").status_code == 200
    clock.advance(minutes=1, seconds=1)
    assert sent_to_login(client.get("/"))
    [event] = AuditEvent.objects.filter(action="reviewer.session_expired")
    assert event.detail == {"reason": "absolute"}


def test_logging_in_again_starts_the_clock_again(alice, logged_in, clock):
    client = logged_in(alice)
    for _ in range(23):
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200
    log_in(client, alice)  # 7 h 40 min after the first login, in the same browser
    for _ in range(2):
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200


def test_an_idle_session_row_is_gone_from_the_database(alice, logged_in, clock, settings):
    """In production the row's own expiry is the idle limit, so clearsessions removes it."""
    settings.SESSION_COOKIE_AGE = settings.REVIEWER_IDLE_SECONDS
    client = logged_in(alice)
    clock.advance(minutes=10)
    assert client.get("/").status_code == 200
    key = session_key(client)
    clock.advance(minutes=29)
    call_command("clearsessions")
    assert Session.objects.filter(session_key=key).exists()
    clock.advance(minutes=2)
    call_command("clearsessions")
    assert not Session.objects.filter(session_key=key).exists()


# --- The unlocked key ends with the session -----------------------------------------------------


def test_the_unlocked_key_is_useless_after_idle_expiry(alice, desk, logged_in, clock):
    tip = make_tip(desk, alice.key)
    client = logged_in(alice, unlock=True)
    assert client.get(f"/tips/{tip.pk}/").status_code == 200
    sealed = client.cookies["tipline_key_unlock"].value
    old_key = session_key(client)
    clock.advance(minutes=31)

    response = client.get(f"/tips/{tip.pk}/")
    assert sent_to_login(response)
    assert response.cookies["tipline_key_unlock"].value == ""  # the browser's copy is dropped
    assert not Session.objects.filter(session_key=old_key).exists()  # and the server's half

    # Replaying the old cookie, in the old session or a new one, opens nothing.
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = old_key
    replay.cookies["tipline_key_unlock"] = sealed
    assert sent_to_login(replay.get(f"/tips/{tip.pk}/"))
    log_in(client, alice)
    client.cookies["tipline_key_unlock"] = sealed
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/key/unlock/")


# --- Password and two-factor changes, session fixation -----------------------------------------


def test_a_password_change_ends_every_session(alice):
    laptop, phone = log_in(Client(), alice), log_in(Client(), alice)
    alice.user.set_password(NEW_PASSWORD)  # as manage.py changepassword does
    alice.user.save()
    assert sent_to_login(laptop.get("/"))
    assert sent_to_login(phone.get("/"))


def test_changing_the_password_in_the_admin_keeps_only_that_session(
    backoffice, desk, make_reviewer
):
    root = make_reviewer("root", desks=[desk], key="bob", is_staff=True, is_superuser=True)
    here, elsewhere = log_in(Client(), root), log_in(Client(), root)
    response = here.post(
        "/admin/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.content
    assert here.get("/").status_code == 200
    assert sent_to_login(elsewhere.get("/"))


def test_a_two_factor_reset_ends_every_session(alice):
    from reviewers import invitations

    laptop = log_in(Client(), alice)
    invitations.reset_authenticator(None, alice.user)
    assert sent_to_login(laptop.get("/"))


def test_the_session_key_changes_at_login(alice):
    client = Client()
    planted = client.session  # a session an attacker could have fixed in the browser
    planted["planted"] = True
    planted.save()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = planted.session_key
    log_in(client, alice)
    assert session_key(client) != stored_key(planted.session_key)
    assert not Session.objects.filter(session_key=stored_key(planted.session_key)).exists()
    attacker = Client()
    attacker.cookies[django_settings.SESSION_COOKIE_NAME] = planted.session_key
    assert sent_to_login(attacker.get("/"))


# --- Settings --------------------------------------------------------------------------------


def backoffice_settings(**variables) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env.update(TIPLINE_SITE="backoffice", TIPLINE_DATA_DIR=str(short_tempdir()), **variables)
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_AGE, s.REVIEWER_IDLE_SECONDS, s.REVIEWER_SESSION_MAX_SECONDS, "
        "s.SESSION_EXPIRE_AT_BROWSER_CLOSE, s.LOGIN_FAILURES, s.LOGIN_LOCKOUT_MINUTES, "
        "'reviewers.session_expiry.end_expired_sessions' in s.MIDDLEWARE)"
    )
    env.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_back_office_settings_put_the_idle_limit_on_the_session_row():
    result = backoffice_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1800", "1800", "28800", "True", "5", "15", "True"]
    result = backoffice_settings(
        TIPLINE_REVIEWER_IDLE_MINUTES="7",
        TIPLINE_SESSION_HOURS="2",
        TIPLINE_LOGIN_FAILURES="3",
        TIPLINE_LOGIN_LOCKOUT_MINUTES="60",
    )
    assert result.stdout.split() == ["420", "420", "7200", "True", "3", "60", "True"]


@pytest.mark.parametrize(
    "variable",
    [
        "TIPLINE_REVIEWER_IDLE_MINUTES",
        "TIPLINE_SESSION_HOURS",
        "TIPLINE_LOGIN_FAILURES",
        "TIPLINE_LOGIN_LOCKOUT_MINUTES",
    ],
)
def test_a_limit_below_one_stops_start_up(variable):
    result = backoffice_settings(**{variable: "0"})
    assert result.returncode != 0
    assert f"{variable}=0" in result.stderr

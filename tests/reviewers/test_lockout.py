"""Guessing a reviewer's password, code or key passphrase: a budget per account, no client data.

The budget is measured where the work is done: calls to the password hasher (Argon2) and to
gpg's passphrase check are counted, so a lockout that only changed the message would fail.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.oath import hotp

from reviewers import invitations, lockout
from reviewers.models import AttemptCounter
from reviewers.provisioning import ProvisioningError
from tests.conftest import PASSWORD
from tests.reviewers.test_access import make_tip
from tipline import crypto
from tipline.models import AuditEvent, ReviewerKey

LOCKED = "Too many failed attempts"
WRONG_CODE = "000000"


def log_in(client: Client, username: str, password: str, code: str, **extra):
    return client.post(
        "/login/", {"username": username, "password": password, "otp_token": code}, **extra
    )


def form_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def fresh_code(reviewer) -> str:
    """A code the device takes now: the step after the last it accepted, or the current step.

    (``Reviewer.totp(drift=1)`` is refused when a 30 s step ends between two logins, because
    the device then remembers a drift of -1.)
    """
    device = reviewer.device
    device.refresh_from_db()
    step = max(device.last_t + 1, int(time.time()) // device.step)
    return format(hotp(device.bin_key, step), "06d")


def wrong_code(reviewer) -> str:
    codes = {reviewer.totp(drift) for drift in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in codes)


@pytest.fixture
def alice(backoffice, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def hasher_calls(monkeypatch):
    """Every password the Argon2 hasher works on, counted (the real hasher still runs)."""
    calls = []
    verify, encode = Argon2PasswordHasher.verify, Argon2PasswordHasher.encode

    def counted_verify(self, password, encoded):
        calls.append("verify")
        return verify(self, password, encoded)

    def counted_encode(self, password, salt):
        calls.append("encode")
        return encode(self, password, salt)

    monkeypatch.setattr(Argon2PasswordHasher, "verify", counted_verify)
    monkeypatch.setattr(Argon2PasswordHasher, "encode", counted_encode)
    return calls


@pytest.fixture
def passphrase_checks(monkeypatch):
    """Every passphrase handed to gpg for checking, counted (gpg still checks it)."""
    calls = []
    check = crypto.check_passphrase

    def counted(fingerprint, passphrase):
        calls.append(fingerprint)
        return check(fingerprint, passphrase)

    monkeypatch.setattr(crypto, "check_passphrase", counted)
    return calls


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


# --- Login: password and code ------------------------------------------------------------------


def test_it_evaluates_at_most_n_of_100_password_guesses(alice, settings, hasher_calls):
    assert settings.LOGIN_FAILURES == 5 and settings.LOGIN_LOCKOUT_MINUTES == 15
    client = Client()
    statuses = [log_in(client, "alice", f"guess {n}", alice.totp()).status_code for n in range(100)]
    assert len(hasher_calls) == 5
    assert statuses[:4] == [400] * 4 and set(statuses[5:]) == {429}

    response = log_in(client, "alice", PASSWORD, alice.totp())
    assert response.status_code == 429 and form_errors(response)[0].startswith(LOCKED)
    assert len(hasher_calls) == 5  # the right password is not even checked while locked
    assert client.get("/").status_code == 302
    [event] = AuditEvent.objects.filter(action="reviewer.locked_out")
    assert event.actor is None
    assert event.detail == {"scope": "login", "reviewer": alice.user.pk}


def test_a_right_password_with_a_wrong_code_counts_as_a_failure(alice):
    client = Client()
    for _ in range(5):
        assert log_in(client, "alice", PASSWORD, wrong_code(alice)).status_code in (400, 429)
    response = log_in(client, "alice", PASSWORD, alice.totp())
    assert response.status_code == 429
    assert client.get("/").status_code == 302


def test_the_refusal_says_nothing_about_the_account_or_the_password(alice):
    wrong_password = log_in(Client(), "alice", "not it", alice.totp())
    wrong_code_only = log_in(Client(), "alice", PASSWORD, wrong_code(alice))
    no_such_account = log_in(Client(), "nobody", PASSWORD, alice.totp())
    assert {r.status_code for r in (wrong_password, wrong_code_only, no_such_account)} == {400}
    assert form_errors(wrong_password) == form_errors(wrong_code_only)
    assert form_errors(wrong_password) == form_errors(no_such_account)

    for username in ("alice", "nobody"):
        for n in range(5):
            log_in(Client(), username, f"guess {n}", "123456")
    right = log_in(Client(), "alice", PASSWORD, alice.totp())
    unknown = log_in(Client(), "nobody", PASSWORD, alice.totp())
    assert right.status_code == unknown.status_code == 429
    assert form_errors(right) == form_errors(unknown)
    locks = AuditEvent.objects.filter(action="reviewer.locked_out").order_by("pk")
    assert [e.detail for e in locks] == [
        {"scope": "login", "reviewer": alice.user.pk},
        {"scope": "login", "reviewer": None},
    ]


def test_a_success_gives_the_budget_back(alice):
    client = Client()
    for n in range(4):
        assert log_in(client, "alice", f"guess {n}", alice.totp()).status_code == 400
    assert log_in(client, "alice", PASSWORD, alice.totp()).status_code == 302
    client.post("/logout/")
    for n in range(4):
        assert log_in(client, "alice", f"guess {n}", alice.totp()).status_code == 400
    # Eight failures in all, but never five in a row: the account is not locked.
    assert log_in(client, "alice", PASSWORD, fresh_code(alice)).status_code == 302


def test_a_lockout_lasts_the_configured_minutes(alice, clock):
    for n in range(5):
        log_in(Client(), "alice", f"guess {n}", alice.totp())
    clock.advance(minutes=14, seconds=59)
    assert log_in(Client(), "alice", PASSWORD, alice.totp()).status_code == 429
    clock.advance(seconds=2)
    assert log_in(Client(), "alice", PASSWORD, alice.totp()).status_code == 302


def test_only_failures_within_the_window_count(alice, clock):
    for n in range(4):
        log_in(Client(), "alice", f"guess {n}", alice.totp())
    clock.advance(minutes=15, seconds=1)
    for n in range(4):
        assert log_in(Client(), "alice", f"later guess {n}", alice.totp()).status_code == 400
    assert log_in(Client(), "alice", PASSWORD, alice.totp()).status_code == 302


def test_the_policy_follows_the_settings(alice, settings, hasher_calls):
    settings.LOGIN_FAILURES = 2
    for n in range(10):
        log_in(Client(), "alice", f"guess {n}", alice.totp())
    assert len(hasher_calls) == 2


def test_a_reset_link_spends_the_same_password_budget(alice):
    issued = invitations.reset_authenticator(None, alice.user)
    device = invitations.authenticator_for(issued.invitation, issued.token)
    for n in range(5):
        with pytest.raises(ProvisioningError):
            invitations.enrol_authenticator(issued.invitation, device, f"guess {n}", "123456")
    with pytest.raises(ProvisioningError, match=LOCKED):
        invitations.enrol_authenticator(issued.invitation, device, PASSWORD, "123456")
    assert log_in(Client(), "alice", PASSWORD, "123456").status_code == 429


# --- Key passphrase ----------------------------------------------------------------------------


def test_it_evaluates_at_most_n_of_100_passphrase_guesses(
    alice, desk, logged_in, passphrase_checks
):
    tip = make_tip(desk, alice.key)
    client = logged_in(alice)
    statuses = [
        client.post("/key/unlock/", {"passphrase": f"guess number {n}"}).status_code
        for n in range(100)
    ]
    assert len(passphrase_checks) == 5
    assert statuses[:4] == [400] * 4 and set(statuses[5:]) == {429}

    response = client.post("/key/unlock/", {"passphrase": alice.key.passphrase})
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert len(passphrase_checks) == 5
    assert "tipline_key_unlock" not in client.cookies
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/key/unlock/")
    [event] = AuditEvent.objects.filter(action="reviewer.locked_out")
    assert event.actor == alice.user
    assert event.detail == {"scope": "unlock", "reviewer": alice.user.pk}


def test_a_key_rotation_spends_the_same_passphrase_budget(alice, logged_in, passphrase_checks):
    client = logged_in(alice)
    for n in range(5):
        client.post("/key/unlock/", {"passphrase": f"guess number {n}"})
    new = "a brand new passphrase for alice"
    response = client.post(
        "/me/key/",
        {
            "action": "start",
            "old_passphrase": alice.key.passphrase,
            "new_passphrase": new,
            "confirm": new,
        },
    )
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert len(passphrase_checks) == 5
    key = ReviewerKey.objects.get(user=alice.user)
    assert key.fingerprint == alice.key.fingerprint and not key.previous_fingerprint


def test_the_passphrase_budget_is_apart_from_the_login_budget(alice, logged_in):
    client = logged_in(alice)
    for n in range(5):
        client.post("/key/unlock/", {"passphrase": f"guess number {n}"})
    assert log_in(Client(), "alice", PASSWORD, fresh_code(alice)).status_code == 302


# --- What is stored ----------------------------------------------------------------------------


def database_text() -> str:
    """Every row of every table as text, sessions decoded."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend(repr(row) for row in cursor.fetchall())
    parts.extend(repr(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(parts)


def test_no_client_address_user_agent_or_typed_username_is_stored(
    alice, desk, make_reviewer, logged_in
):
    client = Client(
        REMOTE_ADDR="203.0.113.77",
        HTTP_USER_AGENT="canary-agent/7.7",
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )
    for n in range(6):
        log_in(client, "alice", f"guess {n}", alice.totp())
        log_in(client, "nobody-canary", "x", "123456")
        log_in(client, PASSWORD + "-typed-as-username", "x", "123456")  # a slip of the fingers
    bob = make_reviewer("bob", desks=[desk], key="bob")
    client = logged_in(bob)
    for n in range(6):
        client.post("/key/unlock/", {"passphrase": f"guess number {n}"})

    assert {field.name for field in AttemptCounter._meta.get_fields()} == {
        "id",
        "scope",
        "account",
        "attempts",
        "window_started_at",
        "locked_until",
    }
    assert AttemptCounter.objects.count() == 4
    text = database_text()
    for canary in ("203.0.113.77", "198.51.100.99", "canary-agent", "nobody-canary"):
        assert canary not in text
    assert "-typed-as-username" not in text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_guesses_never_exceed_the_budget(settings):
    """Each guess takes from the budget before it is checked, so racing requests cannot all
    slip in before the first failure is written."""
    settings.LOGIN_FAILURES = 5
    claimed, errors = [], []

    def guess():
        try:
            claimed.append(lockout.claim(lockout.LOGIN, "alice"))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert claimed.count(True) == 5 and len(claimed) == 12

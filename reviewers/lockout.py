"""Guessing a reviewer's password, code or key passphrase: a small budget of attempts per account.

Each account has two budgets of ``LOGIN_FAILURES`` attempts per ``LOGIN_LOCKOUT_MINUTES``:
``LOGIN`` for the password and authenticator code (at the login, and on a two-factor reset link,
which asks for the password too) and ``UNLOCK`` for the key passphrase (unlocking the key, and a
key rotation, which asks for the old passphrase). The failure that spends the last attempt of a
budget locks it for ``LOGIN_LOCKOUT_MINUTES``, audited as ``reviewer.locked_out``; a success
gives the whole budget back.

An attempt is taken from the budget with ``claim`` *before* anything is checked, so that no
more than ``LOGIN_FAILURES`` guesses are ever evaluated in a window, however many requests race
each other, and a locked account costs no Argon2 or gpg work at all. ``failed`` or ``succeeded``
then settles the claimed attempt.

Nothing about the client is kept, only a count per account: no address, no user agent, and not
the username either, but an HMAC of it under the back office's secret key. Usernames that belong
to no one are counted and locked exactly like real ones, so being locked out says nothing about
whether an account exists or a password was right. Anyone who knows a username can keep that
account locked: that is the price of keeping nothing that tells clients apart.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from reviewers.models import AttemptCounter
from tipline import crypto
from tipline.audit import log_action

LOGIN = AttemptCounter.Scope.LOGIN
UNLOCK = AttemptCounter.Scope.UNLOCK


class LockedOut(Exception):
    """Too many failed attempts: this kind of attempt is refused for a while, unchecked."""

    def __init__(self) -> None:
        super().__init__(locked_message())


def locked_message() -> str:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    return f"Too many failed attempts. Try again in {minutes} minutes."


def _account(username: str) -> str:
    return salted_hmac("tipline.lockout.account", username, algorithm="sha256").hexdigest()


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def claim(scope: str, username: str) -> bool:
    """Take one attempt from ``username``'s budget; False, and check nothing, if none is left."""
    now = timezone.now()
    # Counters whose window and lock are over say nothing any more. Deleted in a statement of
    # its own, before the row lock below is taken.
    AttemptCounter.objects.filter(
        Q(locked_until__lte=now) | Q(locked_until=None, window_started_at__lte=now - _window())
    ).delete()
    with transaction.atomic():
        counter, _ = AttemptCounter.objects.select_for_update().get_or_create(
            scope=scope, account=_account(username), defaults={"window_started_at": now}
        )
        if counter.locked_until is not None and counter.locked_until > now:
            return False
        if counter.locked_until is not None or counter.window_started_at <= now - _window():
            counter.attempts, counter.window_started_at, counter.locked_until = 0, now, None
        if counter.attempts >= settings.LOGIN_FAILURES:
            return False  # attempts still being checked have taken the rest of the budget
        counter.attempts += 1
        counter.save()
        return True


def failed(scope: str, username: str, actor=None) -> bool:
    """The attempt claimed for ``username`` failed; True if that locked the account."""
    with transaction.atomic():
        counter = (
            AttemptCounter.objects.select_for_update()
            .filter(scope=scope, account=_account(username))
            .first()
        )
        if (
            counter is None
            or counter.locked_until is not None
            or counter.attempts < settings.LOGIN_FAILURES
        ):
            return False
        counter.locked_until = timezone.now() + _window()
        counter.save(update_fields=["locked_until"])
        users = get_user_model().objects.filter(username=username)
        reviewer = users.values_list("pk", flat=True).first()
        log_action(actor, "reviewer.locked_out", scope=scope, reviewer=reviewer)
    return True


def succeeded(scope: str, username: str) -> None:
    """The attempt claimed for ``username`` succeeded: the whole budget is back."""
    AttemptCounter.objects.filter(scope=scope, account=_account(username)).delete()


def check_key_passphrase(user, fingerprint: str, passphrase: str) -> None:
    """``crypto.check_passphrase``, within ``user``'s budget of passphrase guesses.

    Raises LockedOut, without asking gpg, once the budget is spent; otherwise what
    ``crypto.check_passphrase`` raises (BadPassphraseError for a wrong passphrase).
    """
    username = user.get_username()
    if not claim(UNLOCK, username):
        raise LockedOut
    try:
        crypto.check_passphrase(fingerprint, passphrase)
    except crypto.DecryptionError:
        failed(UNLOCK, username, actor=user)
        raise
    succeeded(UNLOCK, username)

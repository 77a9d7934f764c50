"""How long a reviewer's session lasts: an idle limit and an absolute one, kept by the server.

The session holds two times: when its reviewer logged in and when it was last used. Every
request of a logged-in reviewer checks both before any view runs; past either limit the session
is flushed (its row deleted, and with it the random half of the key that seals the unlocked
passphrase, see reviewers/unlock.py), the browser's sealed passphrase is deleted too, and the
request goes on as anonymous, so every page sends it to the login.

The last-use time is written at most once a minute, so that reading pages does not write the
session row on every request: a session ends between ``REVIEWER_IDLE_SECONDS`` minus a minute
and ``REVIEWER_IDLE_SECONDS`` after its last request. In production ``SESSION_COOKIE_AGE`` is
the idle limit as well, so the session row itself expires with it (``clearsessions`` removes
it, and Django refuses it even if this middleware were left out).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from reviewers import unlock
from tipline.audit import log_action

STARTED = "tipline_session_started"
LAST_SEEN = "tipline_session_last_seen"
WRITE_EVERY_SECONDS = 60


def _now() -> int:
    return int(timezone.now().timestamp())


def begin(request: HttpRequest) -> None:
    """Start both clocks of a session that has just logged in."""
    request.session[STARTED] = request.session[LAST_SEEN] = _now()


def expiry_reason(session, now: int) -> str | None:
    """``"idle"`` or ``"absolute"`` if the session is past a limit, else None."""
    if now - session[STARTED] >= settings.REVIEWER_SESSION_MAX_SECONDS:
        return "absolute"
    if now - session[LAST_SEEN] >= settings.REVIEWER_IDLE_SECONDS:
        return "idle"
    return None


def end_expired_sessions(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        reason = None
        if user.is_authenticated:
            now = _now()
            if STARTED not in request.session:
                # A session from before this middleware, or made without the login view.
                begin(request)
            reason = expiry_reason(request.session, now)
            if reason is not None:
                log_action(user, "reviewer.session_expired", reason=reason)
                logout(request)
            elif now - request.session[LAST_SEEN] >= WRITE_EVERY_SECONDS:
                request.session[LAST_SEEN] = now
        response = get_response(request)
        if reason is not None:
            unlock.forget_passphrase(request, response)
        return response

    return middleware

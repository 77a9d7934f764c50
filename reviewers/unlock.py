"""A reviewer's key passphrase, kept for one session and never at rest (see tipline.sealing)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from tipline.sealing import SealedCookie

PASSPHRASE = SealedCookie(
    cookie_name="tipline_key_unlock",
    session_key="tipline_unlock_salt",
    purpose=b"tipline reviewer key unlock v1",
)


def _bound_to(request: HttpRequest) -> bytes:
    return f"{request.user.pk}:{request.user.reviewer_key.fingerprint}".encode()


def remember_passphrase(request: HttpRequest, response: HttpResponse, passphrase: str) -> None:
    """Keep ``passphrase`` for this session (call only after it was checked against the key)."""
    PASSPHRASE.seal(request, response, passphrase.encode(), _bound_to(request))


def passphrase(request: HttpRequest) -> str | None:
    """The passphrase unlocked in this session, or None."""
    if not request.user.is_authenticated or not hasattr(request.user, "reviewer_key"):
        return None
    secret = PASSPHRASE.unseal(request, _bound_to(request))
    return secret.decode() if secret is not None else None


def forget_passphrase(request: HttpRequest, response: HttpResponse) -> None:
    PASSPHRASE.forget(request, response)

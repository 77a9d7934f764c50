"""Holding a reviewer's key passphrase for the length of one session, never at rest.

When a reviewer unlocks their key, the passphrase is encrypted with AES-GCM and handed to the
browser in an HttpOnly cookie. The key that encrypts it is derived from two halves: a random
value stored in the reviewer's server-side session, and the back office's secret key, which
lives only in the server process's configuration. So the database alone (sessions table), the
browser alone (the cookie) or a copy of both without the server's secret cannot recover it;
logging out deletes the session half and with it any copy of the cookie.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "tipline_key_unlock"
SESSION_KEY = "tipline_unlock_salt"


def _derive_key(salt: bytes, user_id: int) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=b"tipline reviewer key unlock v1:" + str(user_id).encode(),
    )
    return hkdf.derive(settings.SECRET_KEY.encode())


def _aad(request: HttpRequest) -> bytes:
    return f"{request.user.pk}:{request.user.reviewer_key.fingerprint}".encode()


def remember_passphrase(request: HttpRequest, response: HttpResponse, passphrase: str) -> None:
    """Keep ``passphrase`` for this session (call only after it was checked against the key)."""
    salt = os.urandom(32)
    request.session[SESSION_KEY] = base64.b64encode(salt).decode()
    nonce = os.urandom(12)
    sealed = AESGCM(_derive_key(salt, request.user.pk)).encrypt(
        nonce, passphrase.encode(), _aad(request)
    )
    response.set_cookie(
        COOKIE_NAME,
        base64.urlsafe_b64encode(nonce + sealed).decode(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def passphrase(request: HttpRequest) -> str | None:
    """The passphrase unlocked in this session, or None."""
    salt_text = request.session.get(SESSION_KEY)
    cookie = request.COOKIES.get(COOKIE_NAME)
    if not salt_text or not cookie or not request.user.is_authenticated:
        return None
    if not hasattr(request.user, "reviewer_key"):
        return None
    try:
        salt = base64.b64decode(salt_text)
        blob = base64.urlsafe_b64decode(cookie.encode())
        nonce, sealed = blob[:12], blob[12:]
        plain = AESGCM(_derive_key(salt, request.user.pk)).decrypt(nonce, sealed, _aad(request))
    except (InvalidTag, ValueError, binascii.Error):
        return None
    return plain.decode()


def forget_passphrase(request: HttpRequest, response: HttpResponse) -> None:
    request.session.pop(SESSION_KEY, None)
    response.delete_cookie(COOKIE_NAME, samesite="Strict")

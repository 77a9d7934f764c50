"""Keeping a secret for the length of one session without storing it anywhere.

The secret is sealed with AES-GCM and handed to the browser in an HttpOnly cookie. The sealing
key is derived from a random value kept in the session and from the site's own SECRET_KEY,
which lives only in the server process's configuration. In the back office the session is a
database row: the database alone, the browser alone, or both without the server's secret cannot
recover the secret, and logging out destroys it. On the public site the session is a signed
cookie, so the server keeps nothing about a returning tipster; the browser's cookies alone still
cannot recover the secret without the server's key.

Used for a reviewer's key passphrase (back office) and a tipster's reply key (public site).
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class SealedCookie:
    """Where one kind of secret lives: its cookie, its session key and its purpose."""

    cookie_name: str
    session_key: str
    purpose: bytes

    def _key(self, salt: bytes) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=self.purpose)
        return hkdf.derive(settings.SECRET_KEY.encode())

    def seal(
        self, request: HttpRequest, response: HttpResponse, secret: bytes, bound_to: bytes
    ) -> None:
        """Keep ``secret`` for this session; ``bound_to`` must match when it is unsealed."""
        salt = os.urandom(32)
        request.session[self.session_key] = base64.b64encode(salt).decode()
        nonce = os.urandom(12)
        sealed = AESGCM(self._key(salt)).encrypt(nonce, secret, bound_to)
        response.set_cookie(
            self.cookie_name,
            base64.urlsafe_b64encode(nonce + sealed).decode(),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Strict",
        )

    def unseal(self, request: HttpRequest, bound_to: bytes) -> bytes | None:
        """The secret kept in this session, or None if there is none or it does not verify."""
        salt_text = request.session.get(self.session_key)
        cookie = request.COOKIES.get(self.cookie_name)
        if not salt_text or not cookie:
            return None
        try:
            salt = base64.b64decode(salt_text)
            blob = base64.urlsafe_b64decode(cookie.encode())
            return AESGCM(self._key(salt)).decrypt(blob[:12], blob[12:], bound_to)
        except (InvalidTag, ValueError, binascii.Error):
            return None

    def forget(self, request: HttpRequest, response: HttpResponse) -> None:
        request.session.pop(self.session_key, None)
        response.delete_cookie(self.cookie_name, samesite="Strict")

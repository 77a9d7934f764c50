"""The public site's session: kept in the tipster's browser, encrypted as well as signed.

Django's signed-cookie sessions keep nothing on the server, which a tip line wants, but their
cookie is only signed: anyone holding the browser could read which tip it checked in to, and
when (``tipline.tipster_session``). This store seals Django's signed value with AES-GCM under a
key derived from the site's SECRET_KEY, so the cookie is opaque; expiry and tampering are
checked by Django's signing as before. Used as ``SESSION_ENGINE`` on the public site only.
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
from django.contrib.sessions.backends import signed_cookies
from django.core import signing

PURPOSE = b"tipline public session v1"
# Django's own salt, so that the signed value inside is exactly what its store would write.
SIGNING_SALT = "django.contrib.sessions.backends.signed_cookies"


def _cipher() -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE)
    return AESGCM(hkdf.derive(settings.SECRET_KEY.encode()))


def seal(signed: str) -> str:
    nonce = os.urandom(12)
    sealed = _cipher().encrypt(nonce, signed.encode(), PURPOSE)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(cookie: str) -> str:
    """The signed value inside ``cookie``; raises ValueError if it was not sealed here."""
    try:
        blob = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        return _cipher().decrypt(blob[:12], blob[12:], PURPOSE).decode()
    except (InvalidTag, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("not a session cookie of this site") from exc


class SessionStore(signed_cookies.SessionStore):
    def load(self) -> dict:
        try:
            return signing.loads(
                unseal(self.session_key or ""),
                serializer=self.serializer,
                max_age=self.get_session_cookie_age(),
                salt=SIGNING_SALT,
            )
        except (ValueError, signing.BadSignature):
            # Tampered, expired, or from before a key change: start an empty session, as
            # Django's signed-cookie store does.
            self.create()
        return {}

    def _get_session_key(self) -> str:
        return seal(super()._get_session_key())

"""The tipster's reply key: how reviewers write back without anyone else being able to read it.

Each tip gets an X25519 key pair derived from its codename with Argon2id and the site's pepper
(``codenames.derive``), so the private key is never stored: the public site re-derives it when
the tipster checks in with the codename. Only the public key is kept with the tip. Reviewers'
replies are sealed to it with HPKE (RFC 9180, from the cryptography package), so a copy of the
database, or the back office itself, cannot read a reply once it is sent.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from tipline import codenames

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)


class ReplyKeyError(Exception):
    """A sealed reply could not be opened with this key."""


def first_scheme_private_key(codename: str) -> bytes:
    """The private key of a tip stored under the first scheme: an Argon2id run of its own."""
    return codenames.stretch(codename, b"tipline reply key v1")


def public_key(private_key: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()


def _info(tip_id: int) -> bytes:
    return b"tipline reply to tipster v1:" + str(tip_id).encode()


def seal(public_key_bytes: bytes, plaintext: bytes, tip_id: int) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of the tip's codename can read it."""
    recipient = X25519PublicKey.from_public_bytes(bytes(public_key_bytes))
    return SUITE.encrypt(plaintext, recipient, info=_info(tip_id))


def open_sealed(private_key: bytes, ciphertext: bytes, tip_id: int) -> bytes:
    try:
        return SUITE.decrypt(
            bytes(ciphertext), X25519PrivateKey.from_private_bytes(private_key), info=_info(tip_id)
        )
    except (InvalidTag, ValueError) as exc:
        raise ReplyKeyError("this reply cannot be opened with this key") from exc

"""A tip's part key: opening all of a tip's parts for the cost of one decryption.

Every OpenPGP message to a reviewer's key pays for that key's passphrase derivation (a few
hundred milliseconds, on purpose), and gpg-agent is never allowed to keep a passphrase. A tip
whose envelope has nine follow-ups, replies and notes after it would cost ten derivations to
open. The part key removes all but the first:

- When a tip arrives the public site makes an X25519 key pair for it. The private half goes
  inside the envelope, so it is encrypted to the desk's readers with the tip itself; the public
  half is stored with the tip. The private half is never stored anywhere else.
- Every later part (a follow-up, a reply, a note) is still an OpenPGP message to the desk's
  readers, and the same message is also encrypted to a random 256-bit passphrase of its own.
  That passphrase is sealed to the tip's part key with HPKE (RFC 9180) and stored beside the
  part. Whoever writes a part, the public site included, can seal to the public half but not
  open what is sealed.
- A reviewer who opens the envelope (one derivation) finds the part key in it, opens each part's
  passphrase and decrypts the part with it: gpg with no secret key, a few milliseconds.

What keeps it from widening access:

- a passphrase is sealed only when the part is encrypted to exactly the keys the envelope is
  encrypted to. Whoever holds the part key could read the envelope, so they can read nothing
  they could not read already. When the desk's readers change, parts are not sealed until the tip
  is re-encrypted, and re-encryption gives the tip a new part key;
- the back office uses the part key only for parts whose recipients include the reviewer's own
  key, and still audits every read;
- each part stays a standard OpenPGP message to the readers' keys, so an export or a reviewer
  whose key is held offline does not need the part key at all.

The passphrases are random 256-bit strings, so the message's own passphrase hashing can be
light (``crypto.PART_S2K``); a person's passphrase would need the slow kind.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
# The envelope's field that holds the private half (base64 of its 32 raw bytes).
ENVELOPE_FIELD = "part_key"


class PartKeyError(Exception):
    """A sealed passphrase could not be opened with this part key."""


@dataclass(frozen=True)
class PartSecret:
    """A new part's passphrase and the same passphrase sealed to the tip's part key."""

    passphrase: str
    sealed: bytes


def new_pair() -> tuple[bytes, bytes]:
    """A new part key: (private half, public half), 32 raw bytes each."""
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def envelope_entry(private_key: bytes) -> dict[str, str]:
    """What the envelope carries of the part key."""
    return {ENVELOPE_FIELD: base64.b64encode(private_key).decode()}


def private_from(envelope: dict | None) -> bytes | None:
    """The part key from a decrypted envelope, or None (tips stored before part keys)."""
    encoded = (envelope or {}).get(ENVELOPE_FIELD)
    if not isinstance(encoded, str):
        return None
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == 32 else None


def matches(private_key: bytes, public_key: bytes | None) -> bool:
    """Whether ``public_key`` (the tip's stored half) belongs to ``private_key``."""
    if not public_key:
        return False
    derived = X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()
    return hmac.compare_digest(derived, bytes(public_key))


def _info(tip_id: int) -> bytes:
    return b"tipline part passphrase v1:" + str(tip_id).encode()


def seal_new(public_key: bytes, tip_id: int) -> PartSecret:
    """A fresh passphrase for one new part of tip ``tip_id``, sealed to its part key."""
    passphrase = secrets.token_urlsafe(32)
    recipient = X25519PublicKey.from_public_bytes(bytes(public_key))
    return PartSecret(passphrase, SUITE.encrypt(passphrase.encode(), recipient, info=_info(tip_id)))


def secret_for(tip, fingerprints) -> PartSecret | None:
    """A sealed passphrase for a new part of ``tip`` encrypted to ``fingerprints``, or None.

    None when the tip has no part key, or when the part's readers are not exactly the
    envelope's: a reader who left could hold the part key, and one who joined cannot open it.
    """
    if not tip.part_public_key or set(fingerprints) != set(tip.recipients):
        return None
    return seal_new(tip.part_public_key, tip.pk)


def open_secret(private_key: bytes, sealed: bytes, tip_id: int) -> str:
    """The passphrase sealed in ``sealed`` for a part of tip ``tip_id``."""
    try:
        recipient = X25519PrivateKey.from_private_bytes(private_key)
        return SUITE.decrypt(bytes(sealed), recipient, info=_info(tip_id)).decode()
    except (InvalidTag, ValueError) as exc:
        raise PartKeyError("this passphrase cannot be opened with this part key") from exc

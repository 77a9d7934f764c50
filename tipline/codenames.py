"""Codenames: the tipster's only way back to their tip.

A codename is seven (by default) words drawn with ``secrets`` from the EFF large word list that
ships with the ``diceware`` package: 7,776 words, so seven words carry about 90 bits. Only a slow
Argon2id hash of it is stored. The hash is keyed with a site-wide pepper rather than a per-row
salt so that a returning tipster's codename can be looked up; the codename's own entropy is what
makes guessing hopeless, and the pepper means a stolen database alone cannot even be tried.

One Argon2id run stretches the codename; HKDF-SHA256 then draws two independent secrets from it
under their own labels: the stored lookup hash and the tip's reply key (``reply_keys``). Someone
testing a guess against either pays the one Argon2id run, as before; neither secret tells
anything about the other. Tips stored before this scheme (``Tip.codename_scheme`` 1) ran Argon2id
twice, under two salts; they are still found and still read their replies.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from diceware.wordlist import get_wordlist_path
from django.conf import settings

# Argon2id at the OWASP minimum for interactive use (19 MiB, 2 passes): about 20 ms here. The
# codename's 90 bits, not the hash cost, carry the security; the cost is a second line.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1

# The scheme new tips are stored under (``Tip.codename_scheme``).
SCHEME = 2
FIRST_SCHEME = 1


@cache
def word_list() -> tuple[str, ...]:
    path = Path(get_wordlist_path("en_eff"))
    words = tuple(line.split()[-1] for line in path.read_text().splitlines() if line.strip())
    if len(words) != 7776 or len(set(words)) != 7776:
        raise RuntimeError(f"unexpected EFF word list at {path}")
    return words


def generate() -> str:
    """A fresh codename: words separated by single spaces."""
    words = word_list()
    return " ".join(secrets.choice(words) for _ in range(settings.CODENAME_WORDS))


def normalize(codename: str) -> str:
    """Forgive case and spacing differences when a tipster types their codename back."""
    return " ".join(codename.lower().split())


@dataclass(frozen=True)
class Derived:
    """What one codename gives: the stored lookup hash (hex) and the reply key's private half."""

    lookup: str
    reply_private_key: bytes


def stretch(codename: str, label: bytes) -> bytes:
    """Argon2id of the normalized codename, salted with ``label`` and the site's pepper."""
    if not settings.CODENAME_PEPPER:
        raise RuntimeError("codenames can only be hashed on the public site")
    salt = hashlib.sha256(label + b"\0" + settings.CODENAME_PEPPER.encode()).digest()
    return hash_secret_raw(
        normalize(codename).encode(),
        salt,
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=32,
        type=Type.ID,
    )


def _expand(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=label).derive(master)


def derive(codename: str) -> Derived:
    """Both secrets of a codename, for the current scheme: one Argon2id run (public site only)."""
    master = stretch(codename, b"tipline codename v2")
    return Derived(
        lookup=_expand(master, b"tipline codename lookup v2").hex(),
        reply_private_key=_expand(master, b"tipline reply key v2"),
    )


def first_scheme_hash(codename: str) -> str:
    """The stored form of a codename for tips of the first scheme: its own Argon2id run."""
    return stretch(codename, b"tipline codename v1").hex()

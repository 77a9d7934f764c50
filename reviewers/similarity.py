"""Similarity sketches: near-duplicate tips find each other, while no text is kept.

When a reviewer's key decrypts a tip (opening it, or *Sort for spam*), the text the tipster wrote
(free-text answers and their follow-ups; not the reward contact, not reviewers' replies or
notes) is summarised as a MinHash signature and stored only as keyed digests of its bands:

1. normalize: Unicode NFKC, casefold, every run of digits made ``0`` (junk sent from a template
   varies order numbers, amounts and phone numbers), punctuation and spacing dropped; words are
   runs of letters and digits, except that Chinese and Japanese characters count one by one
   (those scripts put no spaces between words);
2. shingles: every run of ``SHINGLE_WORDS`` consecutive words of each answer or message (a
   shorter piece is one shingle), as a set; a long text keeps the ``MAX_SHINGLES`` shingles of
   lowest keyed hash, a consistent sample that bounds the work;
3. MinHash: ``PERMUTATIONS`` keyed universal hashes ``(a * x + b) mod (2**61 - 1)`` of each
   shingle's keyed 64-bit hash, the minimum of each kept: two texts agree on any one minimum with
   a probability equal to the Jaccard similarity of their shingle sets;
4. LSH: the signature cut into ``BANDS`` bands of ``ROWS`` minima; each band is stored as
   HMAC-SHA256 under ``INDICATOR_KEY``, prefixed with its own domain and the band's index
   (``SimilarityBand``).

Two tips share at least one band digest with probability ``1 - (1 - J**ROWS)**BANDS`` for
Jaccard similarity ``J``: with 16 bands of 8 rows, 0.3% at 0.4, 6% at 0.5, 61% at 0.7, 95% at
0.8 and 99.99% at 0.9. The threshold, about 0.7, is deliberately high: a group is closed as spam
in one step, and grouping is transitive (union-find), so a false match costs a genuine tip more
than a missed one costs a reviewer. Copies of one text, and copies with a few words changed in a
text of fifty, group; two tips that only share common phrases do not.

Every hash is keyed: the shingle hashes, the permutations and the band digests all derive from
``INDICATOR_KEY``, which the public site never holds. A copy of the database shows which tips
share bands (that some texts are alike), nothing of what they say; without the key nobody can
test a guessed text against a digest. A tip with no text gets random band digests, which match
nothing: it counts as sketched, and groups with no other.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reviewers.models import SimilarityBand
from tipline.indicators import TEXT_ANSWER_KINDS
from tipline.models import Tip

SHINGLE_WORDS = 3
BANDS = 16
ROWS = 8
PERMUTATIONS = BANDS * ROWS
MAX_SHINGLES = 4096
PRIME = (1 << 61) - 1  # a Mersenne prime above every 60-bit shingle hash

# Ideographs and kana: one word each. Hangul is written with spaces, so it stays in words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_DIGITS = re.compile(r"\d+")


def words(text: str) -> list[str]:
    """The normalized words of ``text`` (see the module docstring)."""
    text = _DIGITS.sub("0", unicodedata.normalize("NFKC", text).casefold())
    return _WORD.findall(text)


def shingles(pieces: Iterable[str]) -> set[str]:
    """The word shingles of each piece of text, as one set."""
    found: set[str] = set()
    for piece in pieces:
        tokens = words(piece)
        if 0 < len(tokens) < SHINGLE_WORDS:
            found.add(" ".join(tokens))
        for start in range(len(tokens) - SHINGLE_WORDS + 1):
            found.add(" ".join(tokens[start : start + SHINGLE_WORDS]))
    return found


def _derive(label: bytes) -> bytes:
    return hmac.new(
        settings.INDICATOR_KEY, b"tipline similarity v1\x00" + label, hashlib.sha256
    ).digest()


@functools.lru_cache(maxsize=4)
def _permutations(key: bytes) -> tuple[tuple[int, int], ...]:
    """``PERMUTATIONS`` pairs (a, b), a not zero, derived from ``key``."""
    pairs = []
    for number in range(PERMUTATIONS):
        label = b"tipline similarity v1\x00permutation\x00" + number.to_bytes(2, "big")
        block = hmac.new(key, label, hashlib.sha256).digest()
        a = int.from_bytes(block[:8], "big") % (PRIME - 1) + 1
        b = int.from_bytes(block[8:16], "big") % PRIME
        pairs.append((a, b))
    return tuple(pairs)


def signature(found: set[str]) -> list[int]:
    """The MinHash signature of a non-empty set of shingles, under the current key."""
    shingle_key = _derive(b"shingle")
    hashed = {
        int.from_bytes(hashlib.blake2b(s.encode(), key=shingle_key, digest_size=8).digest(), "big")
        >> 4
        for s in found
    }
    if len(hashed) > MAX_SHINGLES:
        hashed = set(heapq.nsmallest(MAX_SHINGLES, hashed))
    return [
        min((a * x + b) % PRIME for x in hashed) for a, b in _permutations(settings.INDICATOR_KEY)
    ]


def band_digests(pieces: Iterable[str]) -> list[bytes]:
    """The ``BANDS`` keyed band digests of a tip's text pieces; random ones for no text."""
    found = shingles(pieces)
    if not found:
        return [secrets.token_bytes(32) for _ in range(BANDS)]
    minima = signature(found)
    digests = []
    for index in range(BANDS):
        band = minima[index * ROWS : (index + 1) * ROWS]
        message = (
            b"band\x00" + index.to_bytes(1, "big") + b"".join(v.to_bytes(8, "big") for v in band)
        )
        digests.append(_derive(message))
    return digests


def tipster_text(answers: list[dict], tipster_messages: list[str]) -> list[str]:
    """The pieces of a decrypted tip that are sketched: free-text answers and follow-ups."""
    pieces = [
        answer["value"]
        for answer in answers
        # The same answers the indicators are looked for in: what the tipster wrote freely.
        if answer.get("kind") in TEXT_ANSWER_KINDS and isinstance(answer.get("value"), str)
    ]
    return [*pieces, *(text for text in tipster_messages if isinstance(text, str))]


def record(tip: Tip, answers: list[dict], tipster_messages: list[str]) -> None:
    """Stores (or refreshes: a follow-up may have come, the key may have changed) the band
    digests of ``tip``'s text. Neither the text nor any unkeyed hash of it is stored or logged."""
    digests = band_digests(tipster_text(answers, tipster_messages))
    now = timezone.now()
    with transaction.atomic():
        SimilarityBand.objects.bulk_create(
            [
                SimilarityBand(tip=tip, index=index, digest=digest, recorded_at=now)
                for index, digest in enumerate(digests)
            ],
            update_conflicts=True,
            unique_fields=["tip", "index"],
            update_fields=["digest", "recorded_at"],
        )

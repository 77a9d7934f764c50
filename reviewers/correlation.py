"""Blind correlation: which tips mention the same indicator, without keeping any indicator.

When a reviewer opens a tip, its indicators (the answers to indicator questions, and the
addresses, transaction IDs, e-mail and IP addresses found in the tipster's own text, through
``tipline.indicators.find_in_text``) are recorded as HMAC-SHA256 digests under the back office's
``INDICATOR_KEY``. The same indicator in two tips gives the same digest, so the tip page can say
which other tips share one, and a reviewer can look up an indicator they type in; the database
holds no indicator, and the public site, which never has the key, cannot compute a digest.

Only what the tipster wrote is read for indicators: not the reward contact (it points at the
tipster, and linking tipsters is not this feature's purpose), and not reviewers' replies or notes.
A reviewer sees the other tips only on desks they read; of the rest, only how many there are.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from reviewers.access import readable_tips
from reviewers.models import IndicatorHash
from tipline.indicators import canonical, in_answers
from tipline.models import Tip


def digest(kind: str, value: str) -> bytes:
    """The keyed hash of an indicator in canonical form (``tipline.indicators``)."""
    message = f"tipline indicator v1\x00{kind}\x00{canonical(kind, value)}".encode()
    return hmac.new(settings.INDICATOR_KEY, message, hashlib.sha256).digest()


@dataclass(frozen=True)
class Found:
    kind: str
    value: str
    source: str

    @property
    def digest(self) -> bytes:
        return digest(self.kind, self.value)


def indicators_in(answers: list[dict], tipster_messages: list[str]) -> list[Found]:
    """The indicators of a tip's decrypted answers and the tipster's follow-ups, each once."""
    return [
        Found(kind, value, source) for kind, value, source in in_answers(answers, tipster_messages)
    ]


def record(tip: Tip, indicators: list[Found]) -> None:
    """Stores the digests of ``indicators`` for ``tip``; recording the same ones again is a
    no-op. No indicator itself is stored, nor logged."""
    if not indicators:
        return
    with transaction.atomic():
        IndicatorHash.objects.bulk_create(
            [
                IndicatorHash(tip=tip, kind=f.kind, digest=f.digest, source=f.source)
                for f in indicators
            ],
            ignore_conflicts=True,
        )


@dataclass
class Shared:
    indicator: Found
    tips: list[Tip] = field(default_factory=list)  # on desks the reviewer reads
    elsewhere: int = 0  # tips on other desks: counted, never named


def shared_with_others(user, tip: Tip, indicators: list[Found]) -> list[Shared]:
    """For each of ``tip``'s indicators, the other tips that mention it."""
    by_digest = {f.digest: Shared(f) for f in indicators}
    if not by_digest:
        return []
    rows = (
        IndicatorHash.objects.filter(digest__in=list(by_digest))
        .exclude(tip=tip)
        .values_list("digest", "tip_id")
    )
    others: dict[bytes, set[int]] = defaultdict(set)
    for row_digest, tip_id in rows:
        others[bytes(row_digest)].add(tip_id)
    every = set().union(*others.values()) if others else set()
    readable = {t.pk: t for t in readable_tips(user).filter(pk__in=every).distinct()}
    for key, tip_ids in others.items():
        shared = by_digest[key]
        shared.tips = sorted((readable[i] for i in tip_ids if i in readable), key=lambda t: t.pk)
        shared.elsewhere = len(tip_ids) - len(shared.tips)
    return [s for s in by_digest.values() if s.tips or s.elsewhere]


def tips_mentioning(user, kind: str, value: str) -> tuple[list[Tip], int]:
    """The tips that mention an indicator (canonical form): those on desks ``user`` reads, and
    how many others there are."""
    tip_ids = set(
        IndicatorHash.objects.filter(digest=digest(kind, value)).values_list("tip_id", flat=True)
    )
    tips = list(readable_tips(user).filter(pk__in=tip_ids).distinct().order_by("-pk"))
    return tips, len(tip_ids) - len(tips)


def linkable_tips(user, tip: Tip) -> list[Tip]:
    """Tips of ``tip``'s desk that share a recorded indicator with it, that ``user`` reads and
    that are in no case yet: what "add to this case" would add. From the stored digests alone."""
    digests = IndicatorHash.objects.filter(tip=tip).values("digest")
    sharing = IndicatorHash.objects.filter(digest__in=digests).exclude(tip=tip).values("tip_id")
    return list(
        readable_tips(user)
        .filter(pk__in=sharing, desk_id=tip.desk_id, case_link__isnull=True)
        .distinct()
        .order_by("pk")
    )

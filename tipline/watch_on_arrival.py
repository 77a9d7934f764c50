"""Watch lists matched as a tip arrives, on the public site.

The back office matches tips against watch lists through keyed digests (reviewers/watchlists.py)
that the public site cannot compute: it never holds the indicator key. So a tip is matched only
once a reviewer opens it, unless its list is public. An admin who imports a list whose contents
are public anyway (the crypto addresses of a sanctions list, say) may mark it to be matched on
arrival; its entries are then also kept as plain SHA-256 digests (``ArrivalWatchDigest``). When
a tip or a follow-up arrives, the public site digests the indicators in it the same way, while it
has the plaintext in hand to encrypt it, and flags the tip (``Tip.watchlist_hit``) if one is
listed. Routing then raises the tip to high priority (tipline/routing.py).

Nothing of the tip is kept but the flag: not its indicators, not which entry or list matched.
A private list (one whose contents must stay secret) is never marked: its plain digests would
let a holder of the database test guesses against it.
"""

from __future__ import annotations

import hashlib

from django.db import transaction

from tipline.audit import log_action
from tipline.indicators import canonical, in_answers
from tipline.models import ArrivalWatchDigest, Tip


def digest(kind: str, value: str) -> bytes:
    """The plain digest of a normalized indicator (``tipline.indicators``)."""
    message = f"tipline watch on arrival v1\x00{kind}\x00{canonical(kind, value)}".encode()
    return hashlib.sha256(message).digest()


def names_a_listed_entry(answers: list[dict], texts: list[str] = ()) -> bool:
    """True if the answers or texts name an entry of a list matched on arrival.

    Looking for indicators in free text costs up to about 0.1 s of CPU per 100,000 characters
    of hostile text (each candidate's checksum is checked), so it is done only when some list
    is matched on arrival at all."""
    if not ArrivalWatchDigest.objects.exists():
        return False
    digests = {digest(kind, value) for kind, value, _source in in_answers(answers, texts)}
    return bool(digests) and ArrivalWatchDigest.objects.filter(digest__in=digests).exists()


def flag(tip_id: int) -> bool:
    """Flags a tip already stored (a follow-up named a listed entry); True if newly flagged.
    A routed tip is raised here, as routing would have raised it; a tip suspected of spam is
    not, or a flood could buy the top of the inbox by pasting a sanctions list."""
    with transaction.atomic():
        if not Tip.objects.filter(pk=tip_id, watchlist_hit=False).update(watchlist_hit=True):
            return False
        Tip.objects.filter(
            pk=tip_id,
            routed_at__isnull=False,
            suspected_spam=False,
            priority__lt=Tip.Priority.HIGH,
        ).update(priority=Tip.Priority.HIGH)
        log_action(None, "tip.watchlist_hit", tip_id=tip_id, on="arrival")
    return True

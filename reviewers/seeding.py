"""Made-up tips for trying the back office and for its benchmarks, encrypted like real ones.

``manage.py seedtips`` calls seed_tips, and bench/stats_dashboard.py and bench/inbox_pages.py run
that command, so a benchmark measures exactly what the command makes. Each seeded envelope is
real OpenPGP ciphertext to the desk's reviewers, and opens with their keys like a tipster's.

Safeguards, because made-up tips in a real inbox would waste a desk's time or hide real ones:
seeding runs in the back office only, needs DEBUG or ``not_production``, and is refused on a
database holding any tip it did not make unless ``force``. Seeded tips are marked by their
codename hash (a real one is 64 hex digits, so no real tip carries the mark and no tipster's
codename opens a seeded tip), and every seeding is recorded in the audit trail.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from tipline import codenames, crypto
from tipline.audit import log_action
from tipline.models import Desk, Tip
from tipline.questionnaires import BASIC_QUESTIONS
from tipline.submissions import build_envelope

SEEDED_MARK = "seeded-"  # then 56 hex digits: a codename hash no codename can have
MAX_TIPS = 1_000_000
# One gpg call encrypts one envelope (12-25 ms on a busy 2-core machine), so 100,000 would take
# 20-40 minutes; each desk gets this many distinct envelopes instead, shared by its tips in turn.
ENVELOPES_PER_DESK = 100
BATCH = 5000
PRIORITY_WEIGHTS = {
    Tip.Priority.LOW: 10,
    Tip.Priority.NORMAL: 70,
    Tip.Priority.HIGH: 15,
    Tip.Priority.URGENT: 5,
}


class SeedingRefused(Exception):
    """Seeding is not safe or not possible here; the message says why and what to do."""


@dataclass(frozen=True)
class SeedingReport:
    tips: int
    desks: list[str]
    envelopes: int  # distinct envelopes encrypted
    encrypt_seconds: float
    total_seconds: float


def check_can_seed(*, not_production: bool, force: bool) -> None:
    """Raise SeedingRefused unless made-up tips cannot end up among real ones."""
    if settings.PUBLIC:
        raise SeedingRefused("run it in the back office: TIPLINE_SITE=backoffice")
    if not (settings.DEBUG or not_production):
        raise SeedingRefused(
            "made-up tips do not belong on a server that takes real ones: run it with "
            "DEBUG=true, or pass --i-know-this-is-not-production"
        )
    real = Tip.objects.exclude(codename_hash__startswith=SEEDED_MARK).count()
    if real and not force:
        raise SeedingRefused(
            f"this database holds {real} tip(s) that seedtips did not make; seeded tips would "
            "be listed with them. Use an empty database, or pass --force"
        )


def _readers(desk: Desk) -> list:
    """Who a seeded tip of ``desk`` may be assigned to: as triage allows, readers with a key."""
    return list(
        get_user_model()
        .objects.filter(desk_memberships__desk=desk, is_active=True, reviewer_key__isnull=False)
        .order_by("username")
    )


class _Envelopes:
    """Up to ``per_desk`` distinct envelopes for each desk, encrypted on first use."""

    def __init__(self, per_desk: int, rng: random.Random):
        self.per_desk, self.rng = per_desk, rng
        self.made: dict[int, list[bytes]] = {}
        self.used: dict[int, int] = {}
        self.seconds = 0.0
        self.words = codenames.word_list()
        self.label = BASIC_QUESTIONS[0]["labels"]["en"]

    def next_for(self, desk: Desk, keys: list[crypto.PublicKey]) -> bytes:
        made = self.made.setdefault(desk.pk, [])
        turn = self.used.get(desk.pk, 0)
        self.used[desk.pk] = turn + 1
        if turn < self.per_desk:
            started = time.perf_counter()
            made.append(crypto.encrypt_bytes(self._document(desk, turn), keys))
            self.seconds += time.perf_counter() - started
        return made[turn % self.per_desk]

    def _document(self, desk: Desk, turn: int) -> bytes:
        words = " ".join(self.rng.choice(self.words) for _ in range(self.rng.randrange(20, 200)))
        text = (
            f"A made-up tip from `manage.py seedtips` (envelope {turn + 1} for the {desk.name} "
            f"desk, shared with other seeded tips). Not a real tip.\n\n{words}"
        )
        answer = {
            "key": "message",
            "kind": "long_text",
            "label": self.label,
            "value": text,
            "display": text,
        }
        return build_envelope(desk, [answer], [], "en")

    @property
    def count(self) -> int:
        return sum(len(made) for made in self.made.values())


def _made_up_tip(rng: random.Random, desk: Desk, readers: list, days: int, now) -> Tip:
    """A tip's metadata, spread as a busy desk's year: about half closed, most of the rest
    triaged, a quarter unassigned, most of normal priority."""
    received = now - timedelta(seconds=rng.randrange(days * 86400))
    closed = rng.random() < 0.5
    triaged = closed or rng.random() < 0.8
    if closed:
        status = Tip.Status.CLOSED
    elif triaged:
        status = rng.choice([Tip.Status.TRIAGED, Tip.Status.INVESTIGATING, Tip.Status.WAITING])
    else:
        status = Tip.Status.NEW
    triaged_at = received + timedelta(minutes=rng.randrange(1, 3000)) if triaged else None
    closed_at = received + timedelta(days=rng.randrange(1, 20)) if closed else None
    return Tip(
        desk=desk,
        codename_hash=SEEDED_MARK + secrets.token_hex(28),
        language="en",
        received_at=received,
        routed_at=min(received + timedelta(seconds=rng.randrange(1, 60)), now),
        status=status,
        resolution=rng.choice(Tip.Resolution.values) if closed else "",
        priority=rng.choices(list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values()))[0],
        triaged_at=min(triaged_at, now) if triaged_at else None,
        closed_at=min(closed_at, now) if closed_at else None,
        assignee=rng.choice(readers) if rng.random() < 0.75 else None,
    )


def seed_tips(
    count: int,
    *,
    not_production: bool = False,
    force: bool = False,
    days: int = 365,
    envelopes_per_desk: int = ENVELOPES_PER_DESK,
    seed: int = 7,
) -> SeedingReport:
    """Create ``count`` made-up tips over the last ``days`` days on every desk that has a
    reviewer with a key, each envelope encrypted to its desk's reviewers; all or nothing.

    ``seed`` makes the spread (desks, dates, statuses, assignees) and the texts repeatable.
    """
    check_can_seed(not_production=not_production, force=force)
    if not 1 <= count <= MAX_TIPS:
        raise SeedingRefused(f"give between 1 and {MAX_TIPS:,} tips")
    if days < 1 or envelopes_per_desk < 1:
        raise SeedingRefused("give at least one day and one envelope per desk")
    started = time.perf_counter()
    desks = []
    for desk in Desk.objects.order_by("slug"):
        keys, readers = desk.recipient_keys(), _readers(desk)
        if keys:
            desks.append((desk, keys, readers))
    if not desks:
        raise SeedingRefused("no desk has a reviewer with a key to encrypt to: create one first")
    rng = random.Random(seed)  # noqa: S311  # nosec B311  (made-up data, not secrets)
    envelopes = _Envelopes(envelopes_per_desk, rng)
    now = timezone.now()
    with transaction.atomic():
        batch = []
        for _ in range(count):
            desk, keys, readers = rng.choice(desks)
            tip = _made_up_tip(rng, desk, readers, days, now)
            tip.envelope = envelopes.next_for(desk, keys)
            tip.recipients = [key.fingerprint for key in keys]
            batch.append(tip)
            if len(batch) == BATCH:
                Tip.objects.bulk_create(batch)
                batch = []
        Tip.objects.bulk_create(batch)
        slugs = [desk.slug for desk, _, _ in desks]
        log_action(None, "tips.seed", count=count, desks=slugs, envelopes=envelopes.count)
    return SeedingReport(
        tips=count,
        desks=slugs,
        envelopes=envelopes.count,
        encrypt_seconds=envelopes.seconds,
        total_seconds=time.perf_counter() - started,
    )

"""Grouping a flood: sort open tips for spam, list the groups of near-duplicates, close a group.

A bot that leaves the honeypot empty sends tips the inbox cannot tell from genuine ones until
they are read. *Sort for spam* decrypts a batch of a reviewer's open tips not sketched yet (the
suspected spam first, then the newest), with the reviewer's own key, and records what opening
them would record: their similarity sketches (reviewers/similarity.py) and indicators. Each
decryption is audited as ``tip.read_for_spam_sort``: a read, apart from ``tip.read`` because
nothing was shown, so a follow-up the reviewer has not seen still counts as unread in the inbox.

Tips whose sketches share a band digest are grouped (transitively, union-find), among the open
tips of the desks the reviewer reads; other desks' tips are never decrypted, grouped or counted.
A group is closed as spam in one step, through the triage path (each tip's change audited),
tips not marked as suspected spam included: the reviewer chose the group as a whole. The page
shows no text, only tip numbers (a member opens as usual, to check one before closing), and the
close names the group as it was shown: if it has changed since (a tip joined, or left), nothing
is closed and the reviewer looks again.

Decryptions run one after the other: the reviewer's gpg-agent derives the key from the
passphrase for each, and two threads decrypting at once took 0.28 s a tip instead of 0.31 s on
two cores, not worth a second gpg process per request.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from reviewers import reading_copy, triage
from reviewers.access import readable_tips
from reviewers.models import SimilarityBand
from reviewers.tips import record_what_was_read, reviewer_fingerprint
from tipline import crypto
from tipline.audit import log_action
from tipline.models import Message, Tip

# A group's page lists this many tip numbers; its size counts them all.
LISTED_PER_GROUP = 30


class GroupChanged(Exception):
    """The group is no longer the one the reviewer was shown."""


@dataclass
class SortResult:
    sorted: list[int] = field(default_factory=list)  # tip ids decrypted and sketched
    failed: int = 0  # could not be decrypted (damaged): left unsorted
    left: int = 0  # still to sort with this key, after this batch
    unreadable: int = 0  # not encrypted to this key (it joined later): re-encrypt them first


def unsorted_tips(user):
    """Open tips of ``user``'s desks with no similarity sketch yet, suspected spam first, then
    newest first."""
    sketched = SimilarityBand.objects.filter(tip=OuterRef("pk"))
    return (
        readable_tips(user)
        .exclude(status=Tip.Status.CLOSED)
        .filter(~Exists(sketched))
        .order_by("-suspected_spam", "-received_at", "-pk")
    )


def _read_text(tip: Tip, fingerprint: str, passphrase: str) -> tuple[list[dict], list[str]]:
    """The tip's answers and the tipster's follow-ups, decrypted like an opening does (one
    decryption when a reading copy holds them all), and kept in a reading copy."""
    reader = reading_copy.TipReader(tip, fingerprint, passphrase)
    answers = reader.document(reading_copy.TIP, bytes(tip.envelope)).get("answers", [])
    texts = []
    followups = Message.objects.filter(tip=tip, author=Message.Author.TIPSTER).order_by("pk")
    for message in followups:
        if fingerprint in message.recipients:
            name = reading_copy.message_part(message.pk)
            document = reader.document(
                name, bytes(message.body_for_desk), message.sealed_passphrase
            )
            texts.append(document.get("message", ""))
    reader.keep()
    return answers, texts


def sort_for_spam(user, passphrase: str, limit: int) -> SortResult:
    """Decrypts up to ``limit`` of ``user``'s unsorted tips with their key and records their
    sketches and indicators; each decryption is audited. Raises crypto.BadPassphraseError
    when the passphrase no longer opens the key (nothing after that tip is decrypted)."""
    fingerprint = reviewer_fingerprint(user)
    result = SortResult()
    if fingerprint is None:
        return result
    wanted = []
    for pk, recipients in unsorted_tips(user).values_list("pk", "recipients"):
        if fingerprint not in recipients:
            result.unreadable += 1
        elif len(wanted) < limit:
            wanted.append(pk)
        else:
            result.left += 1
    tips = readable_tips(user).select_related("desk").in_bulk(wanted)
    for pk in wanted:
        tip = tips[pk]
        try:
            answers, texts = _read_text(tip, fingerprint, passphrase)
        except crypto.BadPassphraseError:
            raise
        except (crypto.DecryptionError, ValueError):  # damaged ciphertext, or not JSON inside
            result.failed += 1
            continue
        log_action(user, "tip.read_for_spam_sort", tip_id=tip.pk)
        record_what_was_read(user, tip, answers, texts)
        result.sorted.append(tip.pk)
    return result


@dataclass
class Group:
    """Open tips whose texts are near-duplicates, as ``user`` may see them."""

    tips: list[Tip]  # by id

    @property
    def ids(self) -> list[int]:
        return [tip.pk for tip in self.tips]

    @property
    def size(self) -> int:
        return len(self.tips)

    @property
    def suspected(self) -> int:
        return sum(tip.suspected_spam for tip in self.tips)

    @property
    def listed(self) -> list[Tip]:
        return self.tips[:LISTED_PER_GROUP]

    @property
    def unlisted(self) -> int:
        return max(0, self.size - LISTED_PER_GROUP)

    @property
    def token(self) -> str:
        """Names the group's exact membership, so that a close applies to the group shown."""
        return hashlib.sha256(",".join(map(str, self.ids)).encode()).hexdigest()[:32]


def groups(user) -> list[Group]:
    """The groups of at least two open tips of ``user``'s desks that share a band digest,
    transitively; largest first, then the one with the newest tip."""
    open_tips = readable_tips(user).exclude(status=Tip.Status.CLOSED).values("pk")
    rows = SimilarityBand.objects.filter(tip__in=open_tips).values_list("digest", "tip_id")
    parent: dict[int, int] = {}

    def root(tip_id: int) -> int:
        while parent[tip_id] != tip_id:
            parent[tip_id] = parent[parent[tip_id]]  # path halving
            tip_id = parent[tip_id]
        return tip_id

    first_with: dict[bytes, int] = {}
    for digest, tip_id in rows.iterator(chunk_size=5000):
        parent.setdefault(tip_id, tip_id)
        other = first_with.setdefault(bytes(digest), tip_id)
        if other != tip_id:
            parent[root(tip_id)] = root(other)
    members: dict[int, list[int]] = defaultdict(list)
    for tip_id in parent:
        members[root(tip_id)].append(tip_id)
    grouped = [sorted(ids) for ids in members.values() if len(ids) > 1]
    tips = (
        Tip.objects.select_related("desk")
        .only("pk", "desk__name", "suspected_spam", "received_at", "status", "priority")
        .in_bulk([pk for ids in grouped for pk in ids])
    )
    found = [Group([tips[pk] for pk in ids]) for ids in grouped]
    return sorted(found, key=lambda group: (-group.size, -group.ids[-1]))


def unsorted_count(user) -> int:
    return unsorted_tips(user).order_by().values("pk").distinct().count()


def close_group(user, tip_id: int, token: str) -> list[int]:
    """Closes as spam the open tips of the group holding ``tip_id``, if it is still the group
    ``token`` names; returns the ids closed (each change audited). Raises GroupChanged."""
    group = next((g for g in groups(user) if tip_id in g.ids), None)
    if group is None or group.token != token:
        raise GroupChanged("This group has changed since it was shown.")
    closed = triage.resolve_as_spam(user, group.ids, suspected_only=False)
    log_action(user, "spam.group_closed", tips=group.ids, closed=closed)
    return closed

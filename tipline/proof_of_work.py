"""Proof of work: a lane of its own for tips whose browser did some work first.

Each questionnaire page carries a ticket in its form's address: a random id and a difficulty,
signed with the site's secret key and dated. A browser that runs the page's script
(static/js/work.js) looks for a number whose SHA-256 with the ticket starts with that many zero
bits, and appends it to the address as ``work``. The submit view checks it before reading the
body (one hash, one signature) and counts such a tip against ``POW_TIPS_PER_MINUTE`` instead of
``TIPS_PER_MINUTE``: a flood that does no work fills only the lane that tips without work share,
and a tipster whose browser did the work passes it.

Nobody is turned away for doing no work. Tor Browser at its Safest level runs no script; its
tips, and those of any client that sends no ticket, are counted in the lane without work,
exactly as they would be with proof of work switched off (``POW_BITS = 0``).

A ticket counts as work once: its SHA-256 is kept, with the time, until the ticket is too old to
be worth anything; a replay is a tip without work. Nothing about the client is read or kept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from itertools import count

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from tipline.models import SpentTicket

# A ticket is good for as long as a tipster's session lasts.
TICKET_MAX_AGE = 8 * 60 * 60
_SALT = "tipline.proof-of-work"
# More digits than any real search needs; a longer value is not work, whatever it hashes to.
_MAX_WORK_DIGITS = 20


def enabled() -> bool:
    return settings.POW_BITS > 0


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT)


def _now() -> int:
    return int(timezone.now().timestamp())


def new_ticket() -> str:
    """A fresh signed ticket: ``<random id>.<bits>.<time>:<signature>``."""
    return _signer().sign(f"{secrets.token_hex(16)}.{settings.POW_BITS}.{_now()}")


def _bits_of(ticket: str) -> int | None:
    """The difficulty a genuine, unexpired ticket was issued with; None for anything else."""
    try:
        value = _signer().unsign(ticket)
    except signing.BadSignature:
        return None
    _, bits, issued = value.split(".")
    if not 0 <= _now() - int(issued) <= TICKET_MAX_AGE:
        return None
    return int(bits)


def _zero_bits(digest: bytes) -> int:
    return len(digest) * 8 - int.from_bytes(digest, "big").bit_length()


def _meets(ticket: str, work: str, bits: int) -> bool:
    digest = hashlib.sha256(f"{ticket}:{work}".encode()).digest()
    return _zero_bits(digest) >= bits


def solve(ticket: str) -> int:
    """The first number that works ``ticket``: what the browser's script does, for tests and
    benchmarks."""
    bits = _bits_of(ticket)
    if bits is None:
        raise ValueError("not a ticket of this site")
    return next(n for n in count() if _meets(ticket, str(n), bits))


def spend(request: HttpRequest) -> bool:
    """True when the request's address carries a genuine ticket, worked, and not seen before;
    the ticket is then spent. Anything else (no ticket, a wrong number, a forged or old ticket,
    a replay) is False, and the tip is counted as one without work."""
    if not enabled():
        return False
    ticket = request.GET.get("ticket", "")
    work = request.GET.get("work", "")
    if not ticket or not work.isascii() or not work.isdigit() or len(work) > _MAX_WORK_DIGITS:
        return False
    bits = _bits_of(ticket)
    # A ticket made with an easier setting than today's earns nothing.
    if bits is None or bits < settings.POW_BITS or not _meets(ticket, work, bits):
        return False
    try:
        with transaction.atomic():
            SpentTicket.objects.create(
                digest=hashlib.sha256(ticket.encode()).digest(), spent_at=timezone.now()
            )
    except IntegrityError:
        return False
    return True


def forget_spent(now=None) -> int:
    """Drop what is kept of tickets too old to be accepted anyway."""
    cutoff = (now or timezone.now()) - timedelta(seconds=TICKET_MAX_AGE + 60)
    return SpentTicket.objects.filter(spent_at__lt=cutoff).delete()[0]

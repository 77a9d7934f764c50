"""Watch lists: indicators to watch for (a sanctions list's crypto addresses, say), kept as keyed
hashes like the tips' own (reviewers/correlation.py), so that neither a copy of the database nor
the public site says which addresses are watched, let alone which were reported.

A tip whose recorded indicators match a watched one is flagged (``Tip.watchlist_hit``), raised to
high priority if it was lower, and the match is audited. Matching happens on the stored digests:
when a list is imported, against every tip already recorded; and when a tip's indicators are
recorded, which is when a reviewer first opens it. A list whose contents are public may also be
matched as tips arrive, before anyone opens them (tipline/watch_on_arrival.py).

A list is imported as CSV with a header row: ``kind,value`` and optionally ``chain``,
``platform`` and ``label``. ``kind`` is one of the indicator kinds (``crypto_address``,
``transaction``, ``email``, ``domain``, ``ip_address``, ``phone``, ``handle``, ``amount``,
``date_range``); values are normalized as a tipster's would be. Rows that do not validate are
reported by line and not imported; the rest are.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from reviewers.correlation import digest
from reviewers.models import IndicatorHash, WatchList, WatchListEntry
from tipline import indicators, watch_on_arrival
from tipline.audit import log_action
from tipline.models import ArrivalWatchDigest, Tip

MAX_ROWS = 200_000
MAX_BYTES = 32 * 1024 * 1024


class WatchListError(Exception):
    pass


@dataclass
class ImportResult:
    watch_list: WatchList
    imported: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    flagged: list[int] = field(default_factory=list)  # tip ids newly flagged


def import_csv(
    user, name: str, text: str, source: str = "", on_arrival: bool = False
) -> ImportResult:
    """Imports (or adds to) the watch list ``name`` from CSV ``text``; audited.

    ``on_arrival``: the list's contents are public (a sanctions list), so it is also matched as
    tips arrive, through plain digests the public site can compare (tipline/watch_on_arrival.py).
    Only the rows of this import get one: import the whole list to have all of it matched."""
    if len(text) > MAX_BYTES:
        raise WatchListError("The file is too large.")
    reader = csv.DictReader(io.StringIO(text))
    columns = set(reader.fieldnames or [])
    if not {"kind", "value"} <= columns:
        raise WatchListError("The first row must name the columns, with at least kind,value.")
    entries: dict[bytes, WatchListEntry] = {}
    arrival: set[bytes] = set()
    refused: list[tuple[int, str]] = []
    for number, row in enumerate(reader, start=2):
        if number > MAX_ROWS + 1:
            raise WatchListError(f"More than {MAX_ROWS} rows.")
        kind = (row.get("kind") or "").strip()
        if kind not in indicators.Kind.values:
            refused.append((number, f"unknown kind {kind[:40]!r}"))
            continue
        try:
            value = indicators.normalize(
                kind,
                row.get("value") or "",
                chain=(row.get("chain") or "").strip() or None,
                platform=(row.get("platform") or "").strip() or None,
            )
        except ValidationError as exc:
            refused.append((number, " ".join(str(m) for m in exc.messages)))
            continue
        key = digest(kind, value)
        entries[key] = WatchListEntry(
            kind=kind, digest=key, label=(row.get("label") or "").strip()[:300]
        )
        if on_arrival:
            arrival.add(watch_on_arrival.digest(kind, value))
    with transaction.atomic():
        watch_list, _created = WatchList.objects.get_or_create(
            name=name.strip()[:200], defaults={"source": source[:500], "imported_by": user}
        )
        for entry in entries.values():
            entry.watch_list = watch_list
        WatchListEntry.objects.bulk_create(entries.values(), ignore_conflicts=True, batch_size=2000)
        if on_arrival:
            if not watch_list.match_on_arrival:
                WatchList.objects.filter(pk=watch_list.pk).update(match_on_arrival=True)
                watch_list.match_on_arrival = True
            ArrivalWatchDigest.objects.bulk_create(
                [ArrivalWatchDigest(watch_list=watch_list, digest=d) for d in arrival],
                ignore_conflicts=True,
                batch_size=2000,
            )
        flagged = _flag(user, list(entries))
        log_action(
            user,
            "watchlist.import",
            watch_list=watch_list.pk,
            name=watch_list.name,
            entries=len(entries),
            refused=len(refused),
            flagged=len(flagged),
            on_arrival=on_arrival,
        )
    return ImportResult(watch_list, len(entries), refused, flagged)


def stop_matching_on_arrival(user, watch_list: WatchList) -> int:
    """Removes a list's plain digests, so new tips are matched against it only when opened;
    returns how many were removed. Audited."""
    with transaction.atomic():
        removed = ArrivalWatchDigest.objects.filter(watch_list=watch_list).delete()[0]
        WatchList.objects.filter(pk=watch_list.pk).update(match_on_arrival=False)
        watch_list.match_on_arrival = False
        log_action(
            user,
            "watchlist.arrival_stopped",
            watch_list=watch_list.pk,
            name=watch_list.name,
            removed=removed,
        )
    return removed


def check_tip(user, tip: Tip) -> bool:
    """Flags ``tip`` if one of its recorded indicators is watched; True if it is flagged."""
    digests = list(IndicatorHash.objects.filter(tip=tip).values_list("digest", flat=True))
    hits = WatchListEntry.objects.filter(digest__in=digests)
    if not hits.exists():
        return tip.watchlist_hit
    with transaction.atomic():
        if tip.pk in _flag(user, [bytes(d) for d in hits.values_list("digest", flat=True)]):
            tip.refresh_from_db(fields=["watchlist_hit", "priority"])
    return True


def hits_for(tip: Tip) -> list[WatchListEntry]:
    """The watched entries a tip's recorded indicators match, for its page."""
    digests = IndicatorHash.objects.filter(tip=tip).values("digest")
    return list(
        WatchListEntry.objects.filter(digest__in=digests)
        .select_related("watch_list")
        .order_by("watch_list__name")
    )


def _flag(user, digests: list[bytes]) -> list[int]:
    """Flags the not yet flagged tips whose indicators have one of ``digests``; returns them."""
    matching = IndicatorHash.objects.filter(digest__in=digests).values("tip_id")
    tip_ids = list(
        Tip.objects.filter(pk__in=matching, watchlist_hit=False).values_list("pk", flat=True)
    )
    for tip_id in tip_ids:
        updated = Tip.objects.filter(pk=tip_id, watchlist_hit=False).update(watchlist_hit=True)
        if updated:
            Tip.objects.filter(pk=tip_id, priority__lt=Tip.Priority.HIGH).update(
                priority=Tip.Priority.HIGH
            )
            log_action(user, "tip.watchlist_hit", tip_id=tip_id)
    return tip_ids

"""How long the stats dashboard's figures take to compute over 100,000 tips.

Creates a fresh database (SQLite in a temporary data directory, or the one DATABASE_URL names,
which must be an empty scratch database), stores N tips spread over a year on the four default
desks (about half closed, most triaged, a quarter unassigned), and times ``stats.dashboard`` for
a reviewer on every desk, for each window. The baseline, measured in the same run, is one pass
over the table: counting the tips never triaged, a column no index covers.

    python bench/stats_dashboard.py [--tips 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["TIPLINE_SITE"] = "backoffice"
SCRATCH = None  # a data directory made for this run, removed at the end
if "TIPLINE_DATA_DIR" not in os.environ:
    SCRATCH = tempfile.mkdtemp(prefix="bench-stats-")
    os.environ["TIPLINE_DATA_DIR"] = SCRATCH
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")


def populate(count: int) -> object:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from tipline.models import Desk, DeskMembership, Tip

    rng = random.Random(7)  # noqa: S311  (sample data, not secrets)
    desks = list(Desk.objects.all())
    reviewers = [get_user_model().objects.create_user(f"reviewer{n}") for n in range(8)]
    for desk in desks:
        for reviewer in reviewers:
            DeskMembership.objects.create(desk=desk, user=reviewer)
    now = timezone.now()
    worked_on = [Tip.Status.TRIAGED, Tip.Status.INVESTIGATING, Tip.Status.WAITING]
    batch = []
    for n in range(count):
        received = now - timedelta(seconds=rng.randrange(365 * 86400))
        closed = rng.random() < 0.5
        triaged = closed or rng.random() < 0.8
        if closed:
            status = Tip.Status.CLOSED
        else:
            status = rng.choice(worked_on) if triaged else Tip.Status.NEW
        batch.append(
            Tip(
                desk=rng.choice(desks),
                codename_hash=f"{n:064x}",
                envelope=b"x" * 512,
                received_at=received,
                triaged_at=received + timedelta(minutes=rng.randrange(1, 3000))
                if triaged
                else None,
                status=status,
                resolution=rng.choice(Tip.Resolution.values) if closed else "",
                closed_at=received + timedelta(days=rng.randrange(1, 20)) if closed else None,
                assignee=rng.choice(reviewers) if rng.random() < 0.75 else None,
            )
        )
        if len(batch) == 5000:
            Tip.objects.bulk_create(batch)
            batch = []
    Tip.objects.bulk_create(batch)
    return reviewers[0]


def timed_ms(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tips", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from reviewers import stats
    from tipline.models import Tip

    call_command("migrate", verbosity=0)
    reviewer = populate(args.tips)
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would keep
        cursor.execute("ANALYZE")
    print(f"{connection.vendor}, {Tip.objects.count()} tips, median of {args.repeat} runs")
    one_pass = Tip.objects.filter(triaged_at__isnull=True)
    baseline = statistics.median(timed_ms(one_pass.count, args.repeat))
    print(f"baseline, one pass over the tips: {baseline:.1f} ms")
    for days in stats.WINDOWS:
        taken = statistics.median(
            timed_ms(lambda days=days: stats.dashboard(reviewer, days), args.repeat)
        )
        print(f"dashboard, {days} days: {taken:.1f} ms ({taken / baseline:.1f}x baseline)")


if __name__ == "__main__":
    try:
        main()
    finally:
        if SCRATCH:
            shutil.rmtree(SCRATCH, ignore_errors=True)

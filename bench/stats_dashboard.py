"""How long the stats dashboard's figures take to compute over 100,000 tips.

Creates a fresh database (SQLite in a temporary data directory, or the one DATABASE_URL names,
which must be an empty scratch database), eight reviewers with keys on the four default desks,
and N tips made by `manage.py seedtips` (spread over a year, about half closed, most triaged, a
quarter unassigned, envelopes encrypted to the desk's reviewers), then times
``stats.dashboard`` for one of the reviewers, for each window. The baseline, measured in the
same run, is one pass over the table: counting the tips never triaged, a column no index covers.

    python bench/stats_dashboard.py [--tips 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
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
    """Eight reviewers with keys on every desk, then ``count`` tips made by `manage.py seedtips`
    (so the benchmarks measure what the command makes); return the first reviewer."""
    from django.core.management import call_command

    from reviewers.provisioning import create_reviewer
    from tipline.models import Desk

    slugs = list(Desk.objects.order_by("slug").values_list("slug", flat=True))
    reviewers = [
        create_reviewer(
            f"reviewer{n}", f"bench password {n} for tests", f"bench key passphrase {n}", slugs
        ).user
        for n in range(8)
    ]
    call_command("seedtips", count, "--i-know-this-is-not-production")
    return reviewers[0]


def stop_gpg_agents(data_dir: str) -> None:
    """Stop the agents gpg started in the run's GnuPG homes, before they are deleted."""
    from tipline import crypto

    for home in Path(data_dir, "gnupg").glob("**/"):
        if (home / "S.gpg-agent").exists():
            crypto.stop_agent(home)


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
            stop_gpg_agents(SCRATCH)
            shutil.rmtree(SCRATCH, ignore_errors=True)

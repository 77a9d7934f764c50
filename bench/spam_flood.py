"""A flood of junk tips over HTTP, with genuine tips among them: are the genuine ones kept, routed
and at the top of the inbox?

Starts the public site and the back office (gunicorn), two Celery workers and beat on a private
Redis (the end-to-end stack, whose per-minute tip limits are lifted: this measures what gets
through when a flood is let in). A bot sends ``--junk`` tips as fast as 8 threads can, filling
every field it finds, the hidden honeypot included; ``--genuine`` tips are sent among them, spread
over the flood, as a person sends them. Then every tip must be stored and routed, and the
reviewer's inbox sorted by priority must show every genuine tip above every junk one.

Baseline, in the same run: the same genuine tip sent before the flood, on a quiet site; the report
gives the genuine tips' submit time during the flood as a ratio to it.

    python bench/spam_flood.py [--junk 2000] [--genuine 20]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")

from tests.e2e.stack import Stack, csrf_token, wait_for  # noqa: E402

FORM = "/submit/demo/"


def send(stack: Stack, message: str, bot: bool) -> tuple[bool, float]:
    """One tip; returns whether it was acknowledged, and how long the POST took (seconds)."""
    session = requests.Session()
    page = session.get(stack.public_url(FORM), timeout=60)
    data = {"csrfmiddlewaretoken": csrf_token(page.text), "message": message}
    if bot:
        # A bot fills in every text input and textarea it finds, the honeypot among them.
        for name in re.findall(r'<(?:input type="text"|textarea)[^>]* name="([^"]+)"', page.text):
            data.setdefault(name, f"cheap pills {name}")
    started = time.perf_counter()
    response = session.post(stack.public_url(FORM), data=data, timeout=120)
    return response.status_code == 200 and 'class="codename"' in response.text, (
        time.perf_counter() - started
    )


def run(junk: int, genuine: int) -> dict:
    stack = Stack(Path(tempfile.mkdtemp(prefix="b", dir="/tmp")))
    try:
        stack.start_redis()
        stack.provision()
        stack.manage("rewardofficer", "alice")  # so the form has every field a real one has
        stack.start_sites()
        stack.start_worker("worker-a", concurrency=2)
        stack.start_worker("worker-b", concurrency=2)
        stack.start_beat()
        send(stack, "warm-up", bot=False)
        quiet = [send(stack, f"genuine quiet {n}", bot=False)[1] for n in range(5)]

        results: dict[str, list] = {"junk": [], "genuine": []}
        lock = threading.Lock()

        def one(kind: str, n: int) -> None:
            outcome = send(stack, f"{kind} {n}", bot=kind == "junk")
            with lock:
                results[kind].append(outcome)

        started = time.monotonic()
        every = max(1, junk // max(1, genuine))
        with ThreadPoolExecutor(max_workers=8) as pool:
            for n in range(junk):
                pool.submit(one, "junk", n)
                if n % every == every // 2 and n // every < genuine:
                    pool.submit(one, "genuine", n // every)
        flood_seconds = time.monotonic() - started
        wait_for(
            lambda: stack.sql("SELECT count(*) FROM tipline_tip WHERE routed_at IS NULL") == [(0,)],
            300,
            "every tip routed",
            interval=1,
        )
        routed_after = time.monotonic() - started

        # Every tip not marked as suspected spam: the genuine ones, warm-up and quiet included.
        rows = stack.sql("SELECT id FROM tipline_tip WHERE suspected_spam = false")
        genuine_ids = {tip_id for (tip_id,) in rows}
        reviewer = stack.reviewer_session()
        inbox = reviewer.get(stack.backoffice_url("/?sort=-priority"), timeout=60).text
        shown = [int(n) for n in re.findall(r'href="/tips/(\d+)/"', inbox)]
        top = shown[: len(genuine_ids)]
        counts = dict(stack.sql("SELECT suspected_spam, count(*) FROM tipline_tip GROUP BY 1"))
        genuine_times = [seconds for _ok, seconds in results["genuine"]]
        return {
            "database": "PostgreSQL" if stack.database_url.startswith("postgres") else "SQLite",
            "junk_sent": junk,
            "junk_acknowledged": sum(ok for ok, _s in results["junk"]),
            "genuine_sent": genuine,
            "genuine_acknowledged": sum(ok for ok, _s in results["genuine"]),
            "stored_marked": counts.get(True, counts.get(1, 0)),
            "stored_unmarked": counts.get(False, counts.get(0, 0)),
            "flood_seconds": flood_seconds,
            "all_routed_seconds": routed_after,
            "genuine_on_top": set(top) == genuine_ids,
            "quiet_p50_ms": statistics.median(quiet) * 1000,
            "flood_p50_ms": statistics.median(genuine_times) * 1000,
        }
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junk", type=int, default=2000)
    parser.add_argument("--genuine", type=int, default=20)
    args = parser.parse_args()
    r = run(args.junk, args.genuine)
    print(
        f"| {r['database']} | {r['junk_acknowledged']}/{r['junk_sent']} junk in "
        f"{r['flood_seconds']:.0f} s ({r['junk_sent'] / r['flood_seconds']:.1f}/s) "
        f"| {r['genuine_acknowledged']}/{r['genuine_sent']} genuine "
        f"| stored: {r['stored_marked']} marked, {r['stored_unmarked']} not "
        f"| all routed after {r['all_routed_seconds']:.0f} s "
        f"| genuine on top: {'yes' if r['genuine_on_top'] else 'NO'} "
        f"| genuine submit p50 {r['flood_p50_ms']:.0f} ms vs {r['quiet_p50_ms']:.0f} ms quiet "
        f"({r['flood_p50_ms'] / r['quiet_p50_ms']:.1f}x) |"
    )


if __name__ == "__main__":
    main()

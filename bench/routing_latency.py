"""Routing latency under a sustained flood of tips, through the real stack.

Starts the public site (gunicorn), Celery workers (two of two processes each, unless told
otherwise) and beat on a private Redis, with the
database named by DATABASE_URL (a fresh PostgreSQL database) or SQLite, submits tips over HTTP
at a fixed rate for a fixed time, and reports how long each tip waited between being stored and
being routed (received_at to routed_at, both taken on this machine). The baseline, measured in
the same run, is a Celery control ping: one broker round trip to a worker and back.

    python bench/routing_latency.py [--rate 20] [--seconds 20] [--workers 2 --processes 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")

from tests.e2e.stack import Stack, wait_for  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def submit(stack: Stack) -> bool:
    session = requests.Session()
    page = session.get(stack.public_url("/submit/demo/"), timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        stack.public_url("/submit/demo/"),
        timeout=60,
        data={"csrfmiddlewaretoken": token, "message": "x" * 2000},
    )
    return response.status_code == 200


def control_ping_ms(stack: Stack, samples: int = 30) -> list[float]:
    from celery import Celery

    app = Celery(broker=stack.env["CELERY_BROKER_URL"])
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        if app.control.ping(timeout=2.0, limit=1):
            times.append((time.perf_counter() - started) * 1000)
    return times


def run(rate: float, seconds: float, workers: int = 2, processes: int = 2) -> dict:
    stack = Stack(Path(tempfile.mkdtemp(prefix="b", dir="/tmp")))
    stack.env["TIPLINE_SWEEP_SECONDS"] = "5"
    try:
        stack.start_redis()
        stack.provision()
        stack.start_sites()
        for n in range(workers):
            stack.start_worker(f"worker-{n}", concurrency=processes)
        stack.start_beat()
        wait_for(lambda: control_ping_ms(stack, 1), 60, "workers", interval=1)
        submit(stack)  # warm up each code path once
        baseline = control_ping_ms(stack)
        sent, ok = 0, []
        interval = 1.0 / rate
        started = time.monotonic()

        def one() -> None:
            ok.append(submit(stack))  # list.append is atomic

        with ThreadPoolExecutor(max_workers=8) as pool:
            while time.monotonic() - started < seconds:
                sent += 1
                pool.submit(one)
                time.sleep(max(0.0, started + sent * interval - time.monotonic()))
        elapsed = time.monotonic() - started
        wait_for(
            lambda: stack.sql("SELECT count(*) FROM tipline_tip WHERE routed_at IS NULL") == [(0,)],
            120,
            "all tips routed",
            interval=0.5,
        )
        rows = stack.sql("SELECT received_at, routed_at FROM tipline_tip")
        latencies = []
        for received, routed in rows:
            if isinstance(received, str):  # SQLite returns text
                from datetime import datetime

                received, routed = datetime.fromisoformat(received), datetime.fromisoformat(routed)
            latencies.append((routed - received).total_seconds() * 1000)
        return {
            "database": "PostgreSQL" if stack.database_url.startswith("postgres") else "SQLite",
            "rate": rate,
            "seconds": seconds,
            "sent": sent,
            "acknowledged": sum(ok),
            "achieved_rate": sum(ok) / elapsed,
            "tips": len(latencies),
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies),
            "ping_p50_ms": statistics.median(baseline),
        }
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="tips per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="Celery workers")
    parser.add_argument("--processes", type=int, default=2, help="processes in each worker")
    args = parser.parse_args()
    result = run(args.rate, args.seconds, args.workers, args.processes)
    print(f"{args.workers} worker(s) of {args.processes} process(es)")
    print(
        f"| {result['database']} | {result['rate']:.0f}/s for {result['seconds']:.0f} s "
        f"| {result['acknowledged']}/{result['sent']} ({result['achieved_rate']:.1f}/s) "
        f"| {result['p50_ms']:.0f} ms | {result['p99_ms']:.0f} ms | {result['max_ms']:.0f} ms "
        f"| {result['ping_p50_ms']:.1f} ms | {result['p50_ms'] / result['ping_p50_ms']:.1f}x |"
    )


if __name__ == "__main__":
    main()

"""Routing survives crashes: workers killed with SIGKILL and Redis restarted while tips arrive.

Every tip the public site acknowledged must be stored exactly once, encrypted, and routed exactly
once within a bounded time after the last fault; tips accepted while Redis is down are stored and
routed once it is back. Bounded: 300 tips, four faults, at most a few minutes.
"""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import short_tempdir
from tests.e2e.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
TIPS = 300
RECOVERY_SECONDS = 60


@pytest.fixture
def stack():
    stack = Stack(short_tempdir())
    stack.env["TIPLINE_SWEEP_SECONDS"] = "3"
    stack.env["TIPLINE_ROUTING_GRACE_SECONDS"] = "2"
    stack.env["TIPLINE_HEALTH_CACHE_SECONDS"] = "0"
    try:
        stack.start_redis()
        stack.provision()
        stack.start_sites()
        stack.start_worker("worker-a", concurrency=2)
        stack.start_worker("worker-b", concurrency=2)
        stack.start_beat()
        yield stack
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def submit(stack: Stack, text: str) -> str | None:
    """Submit one tip as a tipster would; the codename if the site acknowledged it."""
    session = requests.Session()
    try:
        page = session.get(stack.public_url("/submit/demo/"), timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        receipt = session.post(
            stack.public_url("/submit/demo/"),
            timeout=60,
            data={"csrfmiddlewaretoken": token, "message": text},
        )
    except (requests.RequestException, AttributeError):
        return None
    match = re.search(r'<p class="codename"[^>]*>([^<]+)</p>', receipt.text)
    return match.group(1) if receipt.status_code == 200 and match else None


def faults(stack: Stack, progress: list, done: threading.Event) -> list[tuple[float, str]]:
    """Crash workers and restart Redis as the submissions pass set points.

    Returns each fault with the moment it happened (time.monotonic()): the SIGKILL, or Redis
    answering again after its restart, since routing can recover only from then on.
    """
    log = []
    plan = [
        (0.2, "kill worker-a"),
        (0.35, "kill worker-b"),
        (0.5, "restart redis"),
        (0.7, "kill worker-a"),
    ]
    for fraction, action in plan:
        while len(progress) < fraction * TIPS and not done.is_set():
            time.sleep(0.05)
        name = action.split()[-1]
        if action.startswith("kill"):
            stack.kill_worker(name)
            at = time.monotonic()
            time.sleep(0.5)
            stack.start_worker(name, concurrency=2)
        else:
            stack.stop_redis()
            time.sleep(2)  # tips keep arriving while the broker is away
            stack.start_redis()
            at = time.monotonic()
        log.append((at, f"{action} after {len(progress)} tips"))
    return log


def test_no_acknowledged_tip_is_lost_or_routed_twice(stack):
    run = secrets.token_hex(4)
    progress: list[str | None] = []
    done = threading.Event()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as chaos:
        fault_log = chaos.submit(faults, stack, progress, done)
        with ThreadPoolExecutor(max_workers=4) as pool:
            for i in range(TIPS):  # each result is counted as soon as it is in
                pool.submit(lambda i=i: progress.append(submit(stack, f"fault-canary-{run}-{i}")))
        submitted = time.monotonic()
        done.set()
        log = fault_log.result(timeout=120)
    assert len(log) == 4, log
    acknowledged = [c for c in progress if c]
    last_fault = max(at for at, _ in log)
    assert started < last_fault < submitted  # the faults came while tips were arriving

    # Stored exactly once: no tip the site did not acknowledge, none twice, none missing.
    [(stored,)] = stack.sql("SELECT count(*) FROM tipline_tip")
    assert stored == len(acknowledged) > TIPS * 0.9, (stored, len(acknowledged), log)
    assert len(set(acknowledged)) == len(acknowledged)

    # Routed exactly once, within the bound, by however many workers and retries it took.
    wait_for(
        lambda: stack.sql("SELECT count(*) FROM tipline_tip WHERE routed_at IS NULL") == [(0,)],
        RECOVERY_SECONDS,
        "every tip routed after the last fault",
        interval=0.1,
    )
    all_routed = time.monotonic()
    [(decisions,)] = stack.sql("SELECT count(*) FROM tipline_routingdecision")
    assert decisions == stored
    assert stack.sql(
        "SELECT count(*) FROM tipline_tip t JOIN tipline_routingdecision d "
        "ON d.tip_id = t.id WHERE d.reviewer_id IS DISTINCT FROM t.assignee_id "
        "OR d.decided_at <> t.routed_at"
    ) == [(0,)]

    # Encrypted: no message text in the database.
    assert f"fault-canary-{run}".encode() not in stack.database_dump()
    faults_at = ", ".join(f"{action} at {at - started:.1f} s" for at, action in log)
    print(
        f"\n{len(acknowledged)}/{TIPS} tips acknowledged in {submitted - started:.1f} s; "
        f"{len(log)} faults: {faults_at}; every acknowledged tip routed "
        f"{all_routed - last_fault:.1f} s after the last fault "
        f"({all_routed - submitted:.1f} s after the last submission); "
        f"total {all_routed - started:.1f} s"
    )


def test_health_reports_each_dependency(stack):
    def health():
        try:
            return stack.manage("health", site="public")
        except RuntimeError:
            return None

    healthy = wait_for(health, 60, "the workers to answer", interval=1)
    assert all(line.split()[-1] == "ok" for line in healthy.splitlines()), healthy
    for url in (stack.public_url("/health/"), stack.backoffice_url("/health/")):
        response = requests.get(url, timeout=30)
        assert response.status_code == 200 and response.json()["status"] == "ok"
    stack.stop_redis()
    with pytest.raises(RuntimeError, match="unhealthy: broker, worker"):
        stack.manage("health", "--timeout", "1", site="public")
    response = requests.get(stack.public_url("/health/"), timeout=30)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["broker", "worker"]}
    stack.start_redis()
    stack.kill_worker("worker-a")
    stack.kill_worker("worker-b")
    with pytest.raises(RuntimeError, match="unhealthy: worker"):
        stack.manage("health", "--timeout", "1", site="public")

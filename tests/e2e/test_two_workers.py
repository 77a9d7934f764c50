"""Two worker processes on one queue never assign a tip twice.

Every tip's routing message is sent three times in a row through the real broker, so that the
copies are taken by different worker processes at about the same moment; each tip must still end
with one RoutingDecision, one routing audit entry, and the assignee that decision names. Bounded:
40 tips, 120 messages, about a minute.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.conftest import short_tempdir
from tests.e2e.stack import REVIEWER_PASSPHRASE, REVIEWER_PASSWORD, Stack, wait_for

pytestmark = pytest.mark.e2e
TIPS = 40
COPIES = 3
WORKERS = ("worker-a", "worker-b")


@pytest.fixture
def stack():
    stack = Stack(short_tempdir())
    try:
        stack.start_redis()
        stack.provision()
        # A second reader of the desk: a tip routed twice could then go to two people.
        stack.manage(
            "createreviewer",
            "bob",
            "--desk",
            "demo",
            env={
                "TIPLINE_PASSWORD": REVIEWER_PASSWORD,
                "TIPLINE_KEY_PASSPHRASE": REVIEWER_PASSPHRASE,
            },
        )
        for name in WORKERS:
            stack.start_worker(name, concurrency=2)
        yield stack
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def worker_log(stack: Stack, name: str) -> str:
    return (stack.logs / f"{name}.log").read_text(errors="replace")


def runs(stack: Stack, name: str) -> list[int]:
    """The tip of each route_tip message the worker ran to the end, whether or not it had
    anything left to do (message ids are ``tip-<id>-copy-<n>``, set when sent)."""
    return [
        int(tip_id)
        for tip_id in re.findall(
            r"Task tipline\.tasks\.route_tip\[tip-(\d+)-copy-\d+\] succeeded",
            worker_log(stack, name),
        )
    ]


def claims(stack: Stack, name: str) -> int:
    """Tips the worker itself routed (tipline/routing.py logs each claim it wins)."""
    return len(re.findall(r"tipline\.routing tip \d+ routed to reviewer", worker_log(stack, name)))


def test_two_workers_on_one_queue_assign_each_tip_once(stack):
    for name in WORKERS:
        wait_for(lambda n=name: " ready." in worker_log(stack, n), 60, f"{name} to start")

    # Unrouted tips, made without enqueueing anything, then every message sent COPIES times in
    # a row: both workers (two processes each) take copies of the same tip together.
    tip_ids = json.loads(
        stack.manage(
            "shell",
            "-v0",
            "-c",
            "import json\n"
            "from tipline.models import Desk, Tip\n"
            "desk = Desk.objects.get(slug='demo')\n"
            "tips = Tip.objects.bulk_create(\n"
            "    Tip(desk=desk, codename_hash=f'{n:064x}', envelope=b'x')"
            f" for n in range({TIPS})\n"
            ")\n"
            "print(json.dumps([tip.pk for tip in tips]))\n",
            site="public",
        )
    )
    assert len(tip_ids) == TIPS
    assert stack.sql("SELECT count(*) FROM tipline_tip WHERE routed_at IS NULL") == [(TIPS,)]
    stack.manage(
        "shell",
        "-c",
        "from tipline.tasks import route_tip\n"
        f"for tip_id in {tip_ids}:\n"
        f"    for copy in range({COPIES}):\n"
        "        route_tip.apply_async([tip_id], task_id=f'tip-{tip_id}-copy-{copy}')\n",
        site="public",
    )

    wait_for(
        lambda: stack.sql("SELECT count(*) FROM tipline_tip WHERE routed_at IS NULL") == [(0,)],
        60,
        "every tip routed",
        interval=0.2,
    )
    # Every copy was taken and run, each once: none is still waiting to assign a tip again.
    wait_for(
        lambda: sum(len(runs(stack, name)) for name in WORKERS) >= TIPS * COPIES,
        60,
        "every message to be run",
        interval=0.2,
    )
    ran = {name: runs(stack, name) for name in WORKERS}
    assert sorted(ran["worker-a"] + ran["worker-b"]) == sorted(tip_ids * COPIES)

    # One decision a tip, naming the assignee, and one routing audit entry a tip.
    assert stack.sql("SELECT count(*), count(DISTINCT tip_id) FROM tipline_routingdecision") == [
        (TIPS, TIPS)
    ]
    assert stack.sql(
        "SELECT count(*) FROM tipline_tip t JOIN tipline_routingdecision d ON d.tip_id = t.id "
        "WHERE t.assignee_id IS NOT NULL AND d.reviewer_id = t.assignee_id "
        "AND d.decided_at = t.routed_at"
    ) == [(TIPS,)]
    assert stack.sql(
        "SELECT count(*), count(DISTINCT tip_id) FROM tipline_auditevent "
        "WHERE action = 'tip.routed'"
    ) == [(TIPS, TIPS)]
    assert sum(claims(stack, name) for name in WORKERS) == TIPS

    # Both workers took part, and took copies of the same tips: each could have assigned twice.
    contested = set(ran["worker-a"]) & set(ran["worker-b"])
    assert ran["worker-a"] and ran["worker-b"], ran
    assert len(contested) >= TIPS // 4, contested
    won = {name: claims(stack, name) for name in WORKERS}
    print(
        f"\n{TIPS} tips x {COPIES} messages: runs per worker "
        f"{ {name: len(tips) for name, tips in ran.items()} }, tips won per worker {won}, "
        f"{len(contested)} tips run by both workers"
    )

"""The whole path over HTTP through real processes: a tipster submits a tip with a file to the
public site (gunicorn), a Celery worker on a real Redis routes it, a reviewer logs in to the back
office with password and TOTP, unlocks their key and reads it. Then every place the tip could
have leaked to is searched for its plaintext, with the processes on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.canary import encodings, find, read_files
from tests.conftest import short_tempdir
from tests.e2e.stack import (
    Stack,
    csrf_token,
    running_stack,
    wait_for,
)

pytestmark = pytest.mark.e2e
OUTAGE_TIPS = 5


@pytest.fixture
def stack(request):
    """A running stack; on the database a test names with ``indirect`` parametrization, else on
    the one the suite runs against."""
    with running_stack(database=getattr(request, "param", None)) as stack:
        yield stack


class RedisRecorder:
    """Records every command Redis receives (MONITOR), so message payloads can be searched."""

    def __init__(self, port: int, path: Path) -> None:
        self.path = path
        self.process = subprocess.Popen(
            ["redis-cli", "-p", str(port), "monitor"],
            stdout=path.open("wb"),
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> bytes:
        self.process.terminate()
        self.process.wait()
        return self.path.read_bytes()


def redis_contents(stack: Stack) -> bytes:
    client = stack.redis()
    chunks = []
    for key in client.scan_iter("*"):
        kind = client.type(key).decode()
        chunks.append(key)
        if kind == "string":
            chunks.append(client.get(key) or b"")
        elif kind == "list":
            chunks += client.lrange(key, 0, -1)
        elif kind == "hash":
            for field, value in client.hgetall(key).items():
                chunks += [field, value]
        elif kind == "set":
            chunks += list(client.smembers(key))
        elif kind == "zset":
            chunks += client.zrange(key, 0, -1)
    return b"\n".join(chunks)


# Both databases whatever the pass: bin/test runs end-to-end stacks in its PostgreSQL pass only.
@pytest.mark.parametrize("stack", ["sqlite", "postgresql"], indirect=True)
def test_a_tip_travels_from_tipster_to_reviewer_and_leaves_no_plaintext(stack, tmp_path):
    started = time.time()
    run = secrets.token_hex(6)
    canaries = {
        "message": f"msg-canary-{run}",
        "file_body": f"file-canary-{run}",
        "file_name": f"name-canary-{run}",
    }
    identity = {
        "User-Agent": f"agent-canary-{run}",
        "X-Forwarded-For": "198.51.100.201",
        "X-Real-IP": "198.51.100.202",
    }
    recorder = RedisRecorder(stack.redis_port, stack.root / "redis-monitor.log")
    time.sleep(0.3)

    # The tipster, JavaScript off: a form, a file, a receipt. With a reward officer to encrypt
    # it to, the form asks for a contact for the reward process.
    stack.manage("rewardofficer", "alice")
    tipster = requests.Session()
    tipster.headers.update(identity)
    page = tipster.get(stack.public_url("/submit/demo/"), timeout=10)
    assert page.status_code == 200 and 'name="reward_contact"' in page.text
    receipt = tipster.post(
        stack.public_url("/submit/demo/"),
        data={
            "csrfmiddlewaretoken": csrf_token(page.text),
            "message": f"The wallet is {canaries['message']}",
            "reward_contact": f"reward-canary-{run}",
        },
        files={
            "attachment": (
                f"{canaries['file_name']}.txt",
                f"ledger {canaries['file_body']}".encode(),
                "text/plain",
            )
        },
        timeout=30,
    )
    assert receipt.status_code == 200, receipt.text
    codename = re.search(r'<p class="codename"[^>]*>([^<]+)</p>', receipt.text).group(1)
    assert len(codename.split()) == 7
    [(tip_id,)] = stack.sql("SELECT id FROM tipline_tip")

    # The worker routes it to the only reviewer of the desk.
    wait_for(
        lambda: stack.sql(
            f"SELECT assignee_id FROM tipline_tip WHERE id = {tip_id} AND routed_at IS NOT NULL"
        ),
        30,
        "routing",
    )
    [(assignee,)] = stack.sql(f"SELECT assignee_id FROM tipline_tip WHERE id = {tip_id}")
    [(alice_id,)] = stack.sql("SELECT id FROM auth_user WHERE username = 'alice'")
    assert assignee == alice_id

    # The reviewer: password + TOTP, then the key passphrase, then the tip.
    reviewer = stack.reviewer_session()
    inbox = reviewer.get(stack.backoffice_url("/"), timeout=10)
    assert f'href="/tips/{tip_id}/"' in inbox.text
    tip_page = stack.open_tip(reviewer, tip_id)
    assert canaries["message"] in tip_page.text
    assert canaries["file_name"] in tip_page.text
    link = re.search(r'href="(/tips/\d+/files/[0-9a-f]{32}/)"', tip_page.text).group(1)
    download = reviewer.get(stack.backoffice_url(link), timeout=30)
    assert download.content == f"ledger {canaries['file_body']}".encode()

    # The reviewer writes an internal note and replies; the tipster reads the reply and sends
    # more, with a file: every one of these is plaintext that must not be stored either.
    canaries.update(
        note=f"note-canary-{run}",
        reply=f"reply-canary-{run}",
        followup=f"followup-canary-{run}",
        followup_file=f"followup-file-{run}",
        reward=f"reward-canary-{run}",
    )
    page = reviewer.get(stack.backoffice_url(f"/tips/{tip_id}/"), timeout=30)
    reviewer.post(
        stack.backoffice_url(f"/tips/{tip_id}/notes/"),
        timeout=30,
        data={"csrfmiddlewaretoken": csrf_token(page.text), "note": canaries["note"]},
    )
    reviewer.post(
        stack.backoffice_url(f"/tips/{tip_id}/reply/"),
        timeout=30,
        data={"csrfmiddlewaretoken": csrf_token(page.text), "message": canaries["reply"]},
    )
    checkin = tipster.get(stack.public_url("/checkin/"), timeout=10)
    status = tipster.post(
        stack.public_url("/checkin/"),
        timeout=30,
        data={"csrfmiddlewaretoken": csrf_token(checkin.text), "codename": codename},
    )
    assert canaries["reply"] in status.text
    sent = tipster.post(
        stack.public_url("/tip/followup/"),
        timeout=30,
        data={"csrfmiddlewaretoken": csrf_token(status.text), "message": canaries["followup"]},
        files={"attachment": ("more.txt", canaries["followup_file"].encode(), "text/plain")},
    )
    assert sent.status_code == 200
    page = reviewer.get(stack.backoffice_url(f"/tips/{tip_id}/"), timeout=30)
    for name in ("note", "reply", "followup"):
        assert canaries[name] in page.text, name

    # The public site never held a secret key.
    public_home = stack.data_dir / "gnupg" / "public"
    secret_keys = subprocess.run(
        ["gpg", "--homedir", str(public_home), "--list-secret-keys", "--with-colons"],
        capture_output=True,
        text=True,
    ).stdout
    assert "sec:" not in secret_keys

    # Now search everywhere for any of it.
    monitor = recorder.stop()
    assert b"tipline.tasks.route_tip" in monitor  # the recorder did see the task go by
    blobs = {
        "database": stack.database_dump(),
        "redis (now)": redis_contents(stack),
        "redis (every command)": monitor,
        **read_files([p for p in stack.files() if p.name != "redis-monitor.log"]),
        **read_files(
            [
                p
                for p in Path("/tmp").rglob("*")
                if p.is_file() and p.stat().st_mtime >= started and stack.root not in p.parents
            ]
        ),
    }
    searched = [
        *canaries.values(),
        codename,  # shown once on the receipt, typed back at the check-in, written nowhere
        identity["User-Agent"],
        "198.51.100.201",
        "198.51.100.202",
    ]
    assert find(searched, blobs) == []
    assert any(log.endswith(".log") for log in blobs)  # the logs were part of the search
    if stack.database_url.startswith("sqlite"):
        # The database file itself, bytes and all (freed pages too), and its write-ahead log.
        assert str(stack.sqlite_path) in blobs and stack.sqlite_path.stat().st_size > 0
        assert stack.sql("SELECT count(*) FROM tipline_tip") == [(1,)]
    else:
        assert stack.database_url.startswith("postgres")
        assert not stack.sqlite_path.exists()

    # Positive control: the same search does find a planted canary.
    planted = stack.data_dir / "planted"
    planted.write_bytes(b"x" + encodings(canaries["message"]).pop() + b"x")
    assert find([canaries["message"]], read_files([planted])) != []


def test_a_tip_sent_while_the_broker_is_down_is_routed_once_it_is_back(stack):
    stack.stop_redis()
    tipster = requests.Session()
    for number in range(OUTAGE_TIPS):
        page = tipster.get(stack.public_url("/submit/demo/"), timeout=10)
        started = time.monotonic()
        receipt = tipster.post(
            stack.public_url("/submit/demo/"),
            data={
                "csrfmiddlewaretoken": csrf_token(page.text),
                "message": f"sent during an outage, number {number}",
            },
            timeout=60,
        )
        assert receipt.status_code == 200
        assert time.monotonic() - started < 15  # the tipster is not kept waiting on the broker
    tips = stack.sql("SELECT id, routed_at FROM tipline_tip ORDER BY id")
    assert len(tips) == OUTAGE_TIPS and all(routed is None for _, routed in tips), tips
    stack.start_redis()
    # Nothing was enqueued; the sweeper (as Celery beat would run it) picks the tips up. Beat
    # runs it again and again, so here it runs twice in a row: a tip may be enqueued twice.
    swept = stack.manage(
        "shell",
        "-v0",
        "-c",
        "from tipline.tasks import sweep_unrouted; "
        "import time; time.sleep(2.5); print(sweep_unrouted(), sweep_unrouted())",
        site="public",
    )
    assert swept.split()[0] == str(OUTAGE_TIPS), swept
    wait_for(
        lambda: (
            stack.sql("SELECT count(*) FROM tipline_tip WHERE routed_at IS NOT NULL")
            == [(OUTAGE_TIPS,)]
        ),
        60,
        "routing after the outage",
    )
    # Every message sent was run and acknowledged: none is left to route a tip again.
    broker = stack.redis()
    wait_for(
        lambda: broker.llen("celery") == 0 and broker.hlen("unacked") == 0,
        60,
        "the queue to drain",
    )
    # Routed exactly once each: one decision, naming the assignee, and one audit entry.
    assert stack.sql(
        "SELECT count(*), count(DISTINCT d.tip_id) FROM tipline_routingdecision d "
        "JOIN tipline_tip t ON t.id = d.tip_id "
        "WHERE d.reviewer_id = t.assignee_id AND d.decided_at = t.routed_at"
    ) == [(OUTAGE_TIPS, OUTAGE_TIPS)]
    assert stack.sql("SELECT count(*) FROM tipline_routingdecision") == [(OUTAGE_TIPS,)]
    assert stack.sql(
        "SELECT count(*), count(DISTINCT tip_id) FROM tipline_auditevent "
        "WHERE action = 'tip.routed'"
    ) == [(OUTAGE_TIPS, OUTAGE_TIPS)]


def test_the_embedded_defaults_route_a_tip_without_any_server():
    """SQLite and the filesystem broker, as bin/run starts them: no Redis, no PostgreSQL."""
    stack = Stack(short_tempdir(), embedded=True)
    try:
        assert "CELERY_BROKER_URL" not in stack.env
        stack.provision()
        stack.start_sites()
        stack.start_worker()
        tipster = requests.Session()
        page = tipster.get(stack.public_url("/submit/demo/"), timeout=10)
        receipt = tipster.post(
            stack.public_url("/submit/demo/"),
            data={"csrfmiddlewaretoken": csrf_token(page.text), "message": "embedded"},
            timeout=30,
        )
        assert receipt.status_code == 200
        wait_for(
            lambda: stack.sql("SELECT 1 FROM tipline_tip WHERE routed_at IS NOT NULL"),
            30,
            "routing over the filesystem broker",
        )
        assert list((stack.data_dir / "broker" / "control").iterdir())
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)

"""Tip submission throughput through the public site, against the bare cost of its cryptography.

Starts the public site as shipped (gunicorn with ``gunicorn.conf.py``) on a private Redis, with
the database named by DATABASE_URL (a fresh PostgreSQL database) or SQLite, for a desk of three
reviewers. Client threads each take the form's CSRF cookie and token once, then send the
tipster's POST in a loop: a 2,000-character answer, encrypted to the three keys, and a codename
whose lookup hash and reply key come from one Argon2id run per tip. No Celery worker runs; routing
jobs wait in Redis (bench/routing_latency.py measures routing).

The baseline, measured in the same run, is the same cryptographic work in a loop without HTTP
or Django, in as many processes as gunicorn runs workers: python-gnupg encrypting the same
envelope to the same three keys in the site's keyring with the site's gpg options, then
``codenames.generate``, ``codenames.derive`` and ``reply_keys.public_key`` themselves (only
the pepper comes from a bare settings object), then gpg clear-signing a receipt of the same
size with the site's receipt key, as ``receipts.sign`` runs it. Last, the same loop runs in 10
processes at once, as many as the clients of the concurrency-10 phase: the latency that the
cryptography alone leaves ten tipsters on this machine.

    python bench/submit_throughput.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.routing_latency import percentile  # noqa: E402
from tests.e2e.stack import REVIEWER_PASSPHRASE, REVIEWER_PASSWORD, Stack  # noqa: E402

DESK = "demo"
ANSWER = ("Shipments leave the north depot on Tuesdays with papers that do not match. " * 27)[:2000]


def provision_desk_of_three(stack: Stack) -> None:
    """The stack's desk with three reviewers (alice from ``Stack.provision``, bob and carol)."""
    stack.provision(DESK)
    for name in ("bob", "carol"):
        stack.manage(
            "createreviewer",
            name,
            "--desk",
            DESK,
            env={
                "TIPLINE_PASSWORD": REVIEWER_PASSWORD,
                "TIPLINE_KEY_PASSPHRASE": REVIEWER_PASSPHRASE,
            },
        )


def desk_fingerprints(stack: Stack) -> list[str]:
    """The desk's recipients, in the order ``Desk.recipient_keys`` gives them."""
    rows = stack.sql(
        "SELECT k.fingerprint FROM tipline_reviewerkey k "
        "JOIN tipline_deskmembership m ON m.user_id = k.user_id "
        "JOIN tipline_desk d ON d.id = m.desk_id WHERE d.slug = 'demo' ORDER BY k.fingerprint"
    )
    return [row[0] for row in rows]


def worker_pids(master: int) -> list[int]:
    """gunicorn's worker processes (the master's children)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def form_token(session: requests.Session, stack: Stack) -> str:
    """GET the submission form, as a tipster's browser does: CSRF cookie and token."""
    page = session.get(stack.public_url(f"/submit/{DESK}/"), timeout=30)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


# --- the baseline: the same cryptography without HTTP or Django --------------------------------


def envelope_bytes() -> bytes:
    """The plaintext ``submissions.build_envelope`` makes for the POST this bench sends."""
    answer = {
        "key": "message",
        "kind": "long_text",
        "label": "What do you know?",
        "value": ANSWER,
        "display": ANSWER,
    }
    document = {
        "version": 2,
        "kind": "tip",
        "desk": DESK,
        "language": "en",
        "answers": [answer],
        "attachments": [],
        "reward_contact": "",
    }
    return json.dumps(document, ensure_ascii=False).encode()


def receipt_signer(home: str) -> list[str]:
    """The command ``receipts._sign`` runs, for the receipt key the site made in ``home``."""
    listed = subprocess.run(
        ["gpg", "--batch", "--homedir", home, "--list-secret-keys", "--with-colons"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    fingerprint = next(line.split(":")[9] for line in listed.splitlines() if line[:4] == "fpr:")
    command = ["gpg", "--batch", "--no-tty", "--homedir", home, "--local-user", fingerprint]
    return [*command, "--digest-algo", "SHA256", "--armor", "--clearsign"]


RECEIPT = (
    "Tipline receipt v1\nReference: T-7K2M-9QXD-4HWP\nReceived: 2026-11-26T09:40Z\n"
    "Submission SHA-256: " + "0" * 64 + "\n"
).encode()


def bare_submissions(
    home: str,
    fingerprints: list[str],
    signer: list[str],
    pepper: str,
    seconds: float,
    start_at: float | None = None,
) -> dict:
    """One process's loop: what ``submissions.submit_tip`` computes, for ``seconds`` (from the
    wall-clock time ``start_at``, when given, so that several processes run together).

    Returns each tip's time and the CPU time spent, this process's and its gpg children's.
    """
    import gnupg
    from django.conf import settings

    if not settings.configured:  # a pool process runs several rounds
        settings.configure(CODENAME_PEPPER=pepper, CODENAME_WORDS=7)
    from tipline import codenames, crypto, reply_keys

    gpg = gnupg.GPG(gnupghome=home, options=crypto.COMMON_OPTIONS)
    envelope = envelope_bytes()
    times = []
    if start_at is not None:
        time.sleep(max(0.0, start_at - time.time()))
    cpu_before = cpu_of_self_and_children()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        result = gpg.encrypt(envelope, fingerprints, armor=False, always_trust=True)
        if not result.ok:
            raise RuntimeError(f"encryption failed: {result.status}")
        codename = codenames.generate()
        reply_keys.public_key(codenames.derive(codename).reply_private_key)
        signed = subprocess.run(signer, input=RECEIPT, capture_output=True, check=False)
        if b"BEGIN PGP SIGNATURE" not in signed.stdout:
            raise RuntimeError(f"receipt signing failed: {signed.stderr!r}")
        times.append(time.perf_counter() - started)
    return {"times": times, "cpu": cpu_of_self_and_children() - cpu_before}


def cpu_of_self_and_children() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(each.ru_utime + each.ru_stime for each in usage)


def cpu_of_self() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def cpu_of_processes(pids: list[int], children: bool = True) -> float:
    """CPU seconds of ``pids`` and, unless told not to, of the children they waited for (gpg)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime, stime, then cutime and cstime: fields 14 to 17 of proc(5)
        total += sum(int(value) for value in fields[11 : 15 if children else 13])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Baseline:
    """Bare submissions in a pool of processes, sized like gunicorn's workers."""

    pool: ProcessPoolExecutor
    processes: int
    home: str
    fingerprints: list[str]
    signer: list[str]
    pepper: str = field(default_factory=lambda: secrets.token_urlsafe(50))  # as the site's
    rates: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0

    def run_in(self, pool, n: int, seconds: float, start_at: float | None = None) -> list[dict]:
        """The bare loop in ``n`` processes of ``pool``; each process's result."""
        arguments = (self.home, self.fingerprints, self.signer, self.pepper, seconds, start_at)
        return list(pool.map(bare_submissions, *([value] * n for value in arguments)))

    def measure(self, seconds: float) -> float:
        """Run every process for ``seconds``; return the combined rate (tips/s)."""
        runs = self.run_in(self.pool, self.processes, seconds)
        # Each process timed its own loop, so pool start-up is not counted.
        rate = sum(len(run["times"]) / sum(run["times"]) for run in runs)
        self.rates.append(rate)
        self.latencies_ms += [t * 1000 for run in runs for t in run["times"]]
        self.cpu_seconds += sum(run["cpu"] for run in runs)
        return rate

    @property
    def cpu_ms_per_tip(self) -> float:
        return self.cpu_seconds * 1000 / len(self.latencies_ms)


def bare_at_concurrency(bare: Baseline, concurrency: int, seconds: float) -> dict:
    """The bare loop in ``concurrency`` processes at once, as many as the load phase's clients:
    what the cryptography alone allows the latency of ``concurrency`` tipsters to be here."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(concurrency, mp_context=spawn) as pool:
        start_at = time.time() + 5  # every process started and imported by then
        runs = bare.run_in(pool, concurrency, seconds, start_at)
    times = [t * 1000 for run in runs for t in run["times"]]
    return {
        "concurrency": concurrency,
        "rate": len(times) / seconds,
        "p50_ms": percentile(times, 0.50),
        "p99_ms": percentile(times, 0.99),
    }


def gnupg_instance_ms(home: str, samples: int = 40) -> float:
    """What a new ``gnupg.GPG`` costs (python-gnupg runs ``gpg --list-config``); ``crypto._gpg``
    keeps one per thread and home, so a tip pays it only on a thread's first call."""
    import gnupg

    from tipline import crypto

    started = time.perf_counter()
    for _ in range(samples):
        gnupg.GPG(gnupghome=home, options=crypto.COMMON_OPTIONS)
    return (time.perf_counter() - started) / samples * 1000


def argon2_ms(samples: int = 20) -> float:
    """One Argon2id computation at the codename cost (a submission makes one)."""
    from argon2.low_level import Type, hash_secret_raw

    from tipline import codenames

    started = time.perf_counter()
    for _ in range(samples):
        hash_secret_raw(
            b"seven words of a codename",
            bytes(32),
            time_cost=codenames.ARGON2_TIME_COST,
            memory_cost=codenames.ARGON2_MEMORY_KIB,
            parallelism=codenames.ARGON2_PARALLELISM,
            hash_len=32,
            type=Type.ID,
        )
    return (time.perf_counter() - started) / samples * 1000


# --- the measured thing: POSTs through gunicorn ------------------------------------------------


@dataclass
class Phase:
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu: float = 0.0  # gunicorn workers and their gpg runs, seconds
    client_cpu: float = 0.0  # this process's client threads, seconds

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.elapsed

    def summary(self) -> dict:
        times = self.latencies_ms or [float("nan")]
        return {
            "concurrency": self.concurrency,
            "ok": len(self.latencies_ms),
            "errors": len(self.errors),
            "error_kinds": sorted(set(self.errors)),
            "rate": self.rate,
            "p50_ms": percentile(times, 0.50),
            "p99_ms": percentile(times, 0.99),
            "max_ms": max(times),
            "server_cpu_ms_per_tip": self.server_cpu * 1000 / max(1, len(self.latencies_ms)),
            "client_cpu_ms_per_tip": self.client_cpu * 1000 / max(1, len(self.latencies_ms)),
        }


def post_tip(session: requests.Session, stack: Stack, token: str) -> str | None:
    """Send one tip; None when the receipt came back, else what went wrong."""
    response = session.post(
        stack.public_url(f"/submit/{DESK}/"),
        data={"csrfmiddlewaretoken": token, "message": ANSWER, "reward_contact": ""},
        timeout=120,
    )
    if response.status_code == 200 and 'class="codename"' in response.text:
        return None
    return f"HTTP {response.status_code}"


def load(stack: Stack, concurrency: int, seconds: float) -> Phase:
    """``concurrency`` tipsters each sending tips back to back for ``seconds``."""
    phase = Phase(concurrency)
    lock = threading.Lock()
    deadline: list[float] = []
    workers = worker_pids(stack.processes["public"].pid)
    cpu: list[float] = []

    def start() -> None:
        cpu.extend([cpu_of_processes(workers), cpu_of_self()])
        deadline.append(time.monotonic() + seconds)

    # Everyone has the form before the clock starts; the last to arrive starts it.
    ready = threading.Barrier(concurrency, action=start)

    def tipster() -> None:
        session = requests.Session()
        token = form_token(session, stack)
        ready.wait()
        while time.monotonic() < deadline[0]:
            started = time.perf_counter()
            try:
                error = post_tip(session, stack, token)
            except requests.RequestException as exc:
                error = type(exc).__name__
            taken = (time.perf_counter() - started) * 1000
            with lock:
                if error is None:
                    phase.latencies_ms.append(taken)
                else:
                    phase.errors.append(error)

    threads = [threading.Thread(target=tipster) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # From the start to the last answer, including the requests still in flight at the deadline.
    phase.elapsed = time.monotonic() - (deadline[0] - seconds)
    phase.server_cpu = cpu_of_processes(workers) - cpu[0]
    phase.client_cpu = cpu_of_self() - cpu[1]
    return phase


def compared(stack: Stack, bare: Baseline, concurrency: int, seconds: float, rounds: int) -> dict:
    """Load at ``concurrency`` in rounds, each right after a baseline round of the same length.

    Other jobs on the machine come and go; adjacent rounds see about the same share of it.
    """
    phases, ratios = [], []
    for _ in range(rounds):
        rate = bare.measure(seconds / rounds)
        phases.append(load(stack, concurrency, seconds / rounds))
        ratios.append(phases[-1].rate / rate)
    merged = Phase(concurrency)
    for phase in phases:
        merged.latencies_ms += phase.latencies_ms
        merged.errors += phase.errors
        merged.elapsed += phase.elapsed
        merged.server_cpu += phase.server_cpu
        merged.client_cpu += phase.client_cpu
    baseline_rate = statistics.mean(bare.rates[-rounds:])
    return {
        **merged.summary(),
        "baseline_rate": baseline_rate,
        "ratio": merged.rate / baseline_rate,
        "round_ratios": ratios,
    }


def run(seconds: float, rounds: int, web_workers: int = 0, web_threads: int = 0) -> dict:
    stack = Stack(Path(tempfile.mkdtemp(prefix="b", dir="/tmp")))
    # gunicorn.conf.py's defaults (2 x 4) unless told otherwise, to compare process counts.
    if web_workers:
        stack.env["TIPLINE_WEB_WORKERS"] = str(web_workers)
    if web_threads:
        stack.env["TIPLINE_WEB_THREADS"] = str(web_threads)
    try:
        stack.start_redis()
        provision_desk_of_three(stack)
        stack.start_sites()
        processes = len(worker_pids(stack.processes["public"].pid))
        session = requests.Session()
        token = form_token(session, stack)
        for _ in range(4):  # warm up: public keys imported, templates loaded, in both workers
            post_tip(session, stack, token)
        home = str(stack.data_dir / "gnupg" / "public")
        fingerprints = desk_fingerprints(stack)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
            signer = receipt_signer(str(stack.data_dir / "gnupg" / "receipts"))
            bare = Baseline(pool, processes, home, fingerprints, signer)
            alone = load(stack, 1, seconds / 2).summary()
            phases = [compared(stack, bare, c, seconds, rounds) for c in (10, 50)]
        bare_ten = bare_at_concurrency(bare, 10, seconds / 2)
        return {
            "database": "PostgreSQL" if stack.database_url.startswith("postgres") else "SQLite",
            "recipients": len(fingerprints),
            "processes": processes,
            "baseline_p50_ms": percentile(bare.latencies_ms, 0.50),
            "baseline_p99_ms": percentile(bare.latencies_ms, 0.99),
            "baseline_rates": bare.rates,
            "baseline_cpu_ms_per_tip": bare.cpu_ms_per_tip,
            "bare_ten": bare_ten,
            "alone": alone,
            "phases": phases,
            "tips_stored": stack.sql("SELECT count(*) FROM tipline_tip")[0][0],
            "receipts": 4 + alone["ok"] + sum(phase["ok"] for phase in phases),
            "gnupg_instance_ms": gnupg_instance_ms(home),
            "argon2_ms": argon2_ms(),
        }
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=4, help="baseline/load rounds per phase")
    parser.add_argument("--web-workers", type=int, default=0, help="gunicorn processes")
    parser.add_argument("--web-threads", type=int, default=0, help="threads in each")
    args = parser.parse_args()
    result = run(args.seconds, args.rounds, args.web_workers, args.web_threads)
    rates = ", ".join(f"{rate:.1f}" for rate in result["baseline_rates"])
    print(
        f"{result['database']}, desk of {result['recipients']} reviewers, "
        f"{result['processes']} gunicorn workers of {args.web_threads or 'the default'} threads, "
        f"{args.seconds:.0f} s per phase in "
        f"{args.rounds} rounds, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"baseline, bare cryptography in {result['processes']} processes: rounds {rates} tips/s; "
        f"per tip p50 {result['baseline_p50_ms']:.1f} ms, p99 {result['baseline_p99_ms']:.1f} ms"
    )
    print("| Concurrency | Tips/s | Baseline | Ratio (rounds) | p50 | p99 | max | Errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    alone = result["alone"]
    print(
        f"| 1 | {alone['rate']:.1f} | | | {alone['p50_ms']:.0f} ms | {alone['p99_ms']:.0f} ms "
        f"| {alone['max_ms']:.0f} ms | {alone['errors']} |"
    )
    for phase in result["phases"]:
        kinds = f" ({', '.join(phase['error_kinds'])})" if phase["errors"] else ""
        spread = f"{min(phase['round_ratios']):.2f}-{max(phase['round_ratios']):.2f}"
        print(
            f"| {phase['concurrency']} | {phase['rate']:.1f} | {phase['baseline_rate']:.1f} "
            f"| {phase['ratio']:.2f}x ({spread}) | {phase['p50_ms']:.0f} ms "
            f"| {phase['p99_ms']:.0f} ms | {phase['max_ms']:.0f} ms | {phase['errors']}{kinds} |"
        )
    print(
        f"tips stored {result['tips_stored']}, receipts {result['receipts']}; "
        f"one Argon2id {result['argon2_ms']:.1f} ms (one per tip); "
        f"python-gnupg GPG() {result['gnupg_instance_ms']:.1f} ms (once per thread)"
    )
    print(
        f"CPU per tip: bare cryptography {result['baseline_cpu_ms_per_tip']:.0f} ms; "
        + "; ".join(
            f"site at concurrency {phase['concurrency']} {phase['server_cpu_ms_per_tip']:.0f} ms "
            f"(+ {phase['client_cpu_ms_per_tip']:.0f} ms in this client)"
            for phase in [alone, *result["phases"]]
        )
    )
    print(
        f"one tipster alone: p50 {alone['p50_ms']:.0f} ms against {result['baseline_p50_ms']:.0f} "
        "ms of bare cryptography per tip"
    )
    ten = result["bare_ten"]
    print(
        f"bare cryptography in {ten['concurrency']} processes at once: {ten['rate']:.1f} tips/s, "
        f"p50 {ten['p50_ms']:.0f} ms, p99 {ten['p99_ms']:.0f} ms (the floor for that many tipsters)"
    )


if __name__ == "__main__":
    main()

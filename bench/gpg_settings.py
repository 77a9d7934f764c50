"""What gpg's settings cost: the random seed file, one process or two, and key protection.

Three measurements, each against a baseline taken in the same run:

1. python-gnupg encrypting a 2 KB message to 1 and to 5 cv25519 keys, for ``--seconds`` in one
   process and then in two at once, with the site's options (``crypto.COMMON_OPTIONS``, which
   skip gpg's random seed file) and with gpg's default (the seed file, which every gpg process
   locks to read and rewrite). Baseline: the site's options, one process, the same keys.
2. Decrypting such a message with a passphrase-protected key through an agent that caches
   nothing (``crypto.AGENT_CONF``, as for every reviewer), and with an unprotected key.
   Baseline: the unprotected key.
3. Making a key pair, protected by a passphrase and not. Baseline: not protected.

Everything runs in a scratch directory under /tmp that is removed at the end.

    python bench/gpg_settings.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.routing_latency import percentile  # noqa: E402
from tipline.crypto import AGENT_CONF, COMMON_OPTIONS  # noqa: E402

MESSAGE = ("Wallet 0x5a1f sent the stolen funds through three mixers on the 4th. " * 30)[:2000]
PASSPHRASE = "seven words make a passphrase worth its salt"  # noqa: S105  # a scratch key's
SEED_FILE_OPTIONS = [option for option in COMMON_OPTIONS if option != "--no-random-seed-file"]


def gpg(home: Path, *args: str, data: bytes | None = None) -> bytes:
    command = ["gpg", "--batch", "--no-tty", "--quiet", "--homedir", str(home), *args]
    return subprocess.run(command, input=data, capture_output=True, check=True).stdout


def new_home(root: Path, name: str) -> Path:
    """A private GnuPG home whose agent never caches a passphrase, as ``crypto.prepare_home``."""
    home = root / name
    home.mkdir(mode=0o700)
    (home / "gpg-agent.conf").write_text(AGENT_CONF)
    return home


def make_key(home: Path, uid: str, passphrase: str) -> tuple[str, float]:
    """A signing key with a cv25519 subkey; its fingerprint and the seconds it took."""
    started = time.perf_counter()
    gpg(
        home,
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        passphrase,
        "--quick-generate-key",
        uid,
        "future-default",
        "default",
        "0",
    )
    seconds = time.perf_counter() - started
    listed = gpg(home, "--list-secret-keys", "--with-colons").decode().splitlines()
    # Each primary key's fingerprint is the "fpr" line right after its "sec" line; the newest
    # key is listed last.
    primaries = [listed[n + 1].split(":")[9] for n, line in enumerate(listed) if line[:4] == "sec:"]
    fingerprint = primaries[-1]
    return fingerprint, seconds


# --- 1. encryption: options and processes ------------------------------------------------------


def encrypt_loop(home: str, fingerprints: list[str], options: list[str], seconds: float) -> list:
    """One process encrypting MESSAGE back to back for ``seconds``; each call's seconds."""
    import gnupg

    instance = gnupg.GPG(gnupghome=home, options=options)
    data = MESSAGE.encode()
    times = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        result = instance.encrypt(data, fingerprints, armor=False, always_trust=True)
        if not result.ok:
            raise RuntimeError(f"encryption failed: {result.status}")
        times.append(time.perf_counter() - started)
    return times


def encryption(pool: ProcessPoolExecutor, home: Path, keys: list[str], options, processes, secs):
    runs = list(
        pool.map(
            encrypt_loop,
            [str(home)] * processes,
            [keys] * processes,
            [options] * processes,
            [secs] * processes,
        )
    )
    latencies = [t * 1000 for run in runs for t in run]
    return {
        "rate": sum(len(run) / sum(run) for run in runs),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
    }


# --- 2. decryption: key protection -------------------------------------------------------------


def decryption_ms(home: Path, fingerprint: str, passphrase: str, repeat: int) -> list[float]:
    import gnupg

    instance = gnupg.GPG(gnupghome=str(home), options=COMMON_OPTIONS)
    ciphertext = instance.encrypt(
        MESSAGE.encode(), [fingerprint], armor=False, always_trust=True
    ).data
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = instance.decrypt(ciphertext, passphrase=passphrase or None)
        if not result.ok or result.data.decode() != MESSAGE:
            raise RuntimeError(f"decryption failed: {result.status}")
        times.append((time.perf_counter() - started) * 1000)
    return times


def encryption_rows(pool, home: Path, keys: list[str], seconds: float) -> list[dict]:
    """Both options in one process and in two, each against the site's options in one."""
    base = encryption(pool, home, keys, COMMON_OPTIONS, 1, seconds)
    rows = []
    for label, options in (("site", COMMON_OPTIONS), ("seed file", SEED_FILE_OPTIONS)):
        for processes in (1, 2):
            if (label, processes) == ("site", 1):
                figures = base
            else:
                figures = encryption(pool, home, keys, options, processes, seconds)
            ratio = figures["rate"] / base["rate"]
            rows.append(
                {"keys": len(keys), "options": label, "processes": processes, "ratio": ratio}
                | figures
            )
    return rows


def run(seconds: float, repeat: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="gpgbench", dir="/tmp"))
    try:
        keys_home = new_home(root, "keys")
        recipients = [make_key(keys_home, f"reader {n}", "")[0] for n in range(5)]
        public = new_home(root, "public")
        gpg(public, "--import", data=gpg(keys_home, "--export", *recipients))
        spawn = multiprocessing.get_context("spawn")
        rows = []
        with ProcessPoolExecutor(2, mp_context=spawn) as pool:
            pool.submit(encrypt_loop, str(public), recipients[:1], COMMON_OPTIONS, 0.5).result()
            for count in (1, 5):
                rows += encryption_rows(pool, public, recipients[:count], seconds)
        protected_home = new_home(root, "protected")
        plain_home = new_home(root, "unprotected")
        made = {"protected": [], "unprotected": []}
        for n in range(repeat // 4 or 1):
            protected, made_seconds = make_key(protected_home, f"reviewer {n}", PASSPHRASE)
            made["protected"].append(made_seconds * 1000)
            plain, made_seconds = make_key(plain_home, f"reviewer {n}", "")
            made["unprotected"].append(made_seconds * 1000)
        decrypt = {
            "protected": decryption_ms(protected_home, protected, PASSPHRASE, repeat),
            "unprotected": decryption_ms(plain_home, plain, "", repeat),
        }
        return {"encryption": rows, "decrypt": decrypt, "made": made}
    finally:
        for home in root.iterdir():  # the agents the homes started
            subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="each encryption phase")
    parser.add_argument("--repeat", type=int, default=12, help="decryptions of each kind")
    args = parser.parse_args()
    result = run(args.seconds, args.repeat)
    print("| Keys | Options | Processes | Messages/s | Ratio to the site, 1 process | p50 | p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in result["encryption"]:
        print(
            f"| {row['keys']} | {row['options']} | {row['processes']} | {row['rate']:.0f} "
            f"| {row['ratio']:.2f}x | {row['p50_ms']:.1f} ms | {row['p99_ms']:.1f} ms |"
        )
    plain = percentile(result["decrypt"]["unprotected"], 0.50)
    made = percentile(result["made"]["unprotected"], 0.50)
    print("| Key | Decrypt p50 | Decrypt max | / unprotected | Make a key p50 | / unprotected |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind in ("unprotected", "protected"):
        times, making = result["decrypt"][kind], result["made"][kind]
        print(
            f"| {kind} | {percentile(times, 0.50):.0f} ms | {max(times):.0f} ms "
            f"| {percentile(times, 0.50) / plain:.1f}x | {percentile(making, 0.50):.0f} ms "
            f"| {percentile(making, 0.50) / made:.1f}x |"
        )


if __name__ == "__main__":
    main()

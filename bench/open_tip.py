"""How long opening a tip with ten parts takes, against one decryption with the same key.

A reviewer with a passphrase-protected key (made by the back office, as for a real reviewer)
signs in with password and TOTP and unlocks the key. A tip of their desk holds its envelope,
five follow-ups and four notes: ten OpenPGP messages. Times, through Django's test client:

- the tip page without a reading copy (every part decrypted on its own: the first opening);
- the tip page with the reading copy (reviewers/reading_copy.py: what every later opening
  costs, plus one decryption per part new since);
- the baseline, in the same run: one ``crypto.decrypt_bytes`` of the envelope with the key.

    python bench/open_tip.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["TIPLINE_SITE"] = "backoffice"
SCRATCH = tempfile.mkdtemp(prefix="bench-open-")
os.environ["TIPLINE_DATA_DIR"] = SCRATCH
os.environ.pop("DATABASE_URL", None)  # a scratch SQLite database: the cost is gpg's
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")

PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway account in a scratch database)
PASSPHRASE = "bench key passphrase, long enough"  # noqa: S105


def make_tip(reviewer_key):
    from reviewers.models import Note
    from tipline import crypto
    from tipline.models import Desk, Message, Tip

    keys = [crypto.PublicKey(reviewer_key.fingerprint, reviewer_key.public_key)]
    readers = [reviewer_key.fingerprint]

    def encrypted(document: dict) -> bytes:
        return crypto.encrypt_bytes(json.dumps(document).encode(), keys)

    answer = {"key": "message", "kind": "long_text", "label": "What do you know?"}
    text = "x" * 2000
    tip = Tip.objects.create(
        desk=Desk.objects.get(slug="cyber"),
        codename_hash="0" * 64,
        envelope=encrypted({"version": 2, "answers": [{**answer, "value": text, "display": text}]}),
        recipients=readers,
    )
    for number in range(5):
        Message.objects.create(
            tip=tip,
            author=Message.Author.TIPSTER,
            body_for_desk=encrypted({"version": 2, "message": f"follow-up {number}"}),
            recipients=readers,
        )
    for number in range(4):
        Note.objects.create(
            tip=tip,
            author=reviewer_key.user,
            body=encrypted({"version": 1, "note": f"note {number}"}),
            recipients=readers,
        )
    return tip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bench.stats_dashboard import timed_ms
    from reviewers.models import ReadingCopy
    from reviewers.provisioning import create_reviewer
    from tipline import crypto

    call_command("migrate", verbosity=0)
    made = create_reviewer("bench", PASSWORD, PASSPHRASE, ["cyber"])
    key = made.user.reviewer_key
    tip = make_tip(key)
    client = Client(HTTP_HOST="127.0.0.1")
    device = TOTPDevice.objects.get(user=made.user)
    code = format(totp(device.bin_key), "06d")
    response = client.post(
        "/login/", {"username": "bench", "password": PASSWORD, "otp_token": code}
    )
    assert response.status_code == 302, response.content
    assert client.post("/key/unlock/", {"passphrase": PASSPHRASE}).status_code == 302
    url = f"/tips/{tip.pk}/"

    envelope = bytes(tip.envelope)
    one = timed_ms(lambda: crypto.decrypt_bytes(envelope, key.fingerprint, PASSPHRASE), args.repeat)

    def without_copy():
        ReadingCopy.objects.filter(tip=tip).delete()
        assert client.get(url).status_code == 200

    first = timed_ms(without_copy, args.repeat)
    assert client.get(url).status_code == 200  # makes the copy
    later = timed_ms(lambda: client.get(url), args.repeat)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(client.get, url)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    baseline = statistics.median(one)
    print(f"one decryption (baseline): p50 {baseline:.0f} ms")
    for name, times in (("ten parts, no reading copy", first), ("ten parts, reading copy", later)):
        median = statistics.median(times)
        print(f"{name}: p50 {median:.0f} ms, max {max(times):.0f} ms, {median / baseline:.2f}x")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)

"""How long opening a tip with ten parts takes, against one decryption with the same key.

A reviewer with a passphrase-protected key (made by the back office, as for a real reviewer)
signs in with password and TOTP and unlocks the key. A tip of their desk holds its envelope,
five follow-ups and four notes: ten OpenPGP messages, written through the code that writes them
in production (submission, follow-up, note). Times, through Django's test client:

- the first opening: the tip page with no reading copy. The envelope costs one decryption with
  the reviewer's key; it holds the tip's part key (tipline/part_keys.py), which opens the other
  nine parts' own passphrases;
- the same tip stored without a part key (as tips stored before part keys are): every part
  decrypted with the reviewer's key;
- the tip page with the reading copy (reviewers/reading_copy.py: every later opening);
- the baseline, in the same run: one ``crypto.decrypt_bytes`` of the envelope with the key.

    python bench/open_tip.py [--repeat 10]
"""

from __future__ import annotations

import argparse
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
    """Envelope, five follow-ups and four notes, through the production code paths."""
    from django.test import override_settings

    from reviewers.tips import add_note
    from tipline import crypto, submissions
    from tipline.models import Desk, Tip

    keys = [crypto.PublicKey(reviewer_key.fingerprint, reviewer_key.public_key)]
    desk = Desk.objects.get(slug="cyber")
    text = "x" * 2000
    answers = [
        {"key": "message", "kind": "long_text", "label": "What do you know?"}
        | {"value": text, "display": text}
    ]
    # The codename needs the public site's pepper; the back office has none.
    with override_settings(CODENAME_PEPPER="bench pepper"):
        receipt = submissions.submit_tip(desk, answers, [], "en", keys)
    tip = Tip.objects.get(pk=receipt.tip_id)
    for number in range(5):
        submissions.submit_followup(tip, f"follow-up {number}", [], "en", keys)
    for number in range(4):
        add_note(reviewer_key.user, tip, f"note {number}")
    return tip


def without_part_key(tip):
    """The same tip as one stored before part keys: nothing sealed, so nothing opens cheaply."""
    from reviewers.models import Note
    from tipline.models import Message, Tip

    Tip.objects.filter(pk=tip.pk).update(part_public_key=None)
    Message.objects.filter(tip=tip).update(sealed_passphrase=None)
    Note.objects.filter(tip=tip).update(sealed_passphrase=None)


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
    without_part_key(tip)
    first_old = timed_ms(without_copy, args.repeat)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(client.get, url)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    baseline = statistics.median(one)
    print(f"one decryption (baseline): p50 {baseline:.0f} ms")
    rows = (
        ("ten parts, first opening", first),
        ("ten parts, first opening, no part key", first_old),
        ("ten parts, reading copy", later),
    )
    for name, times in rows:
        median = statistics.median(times)
        print(f"{name}: p50 {median:.0f} ms, max {max(times):.0f} ms, {median / baseline:.2f}x")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)

"""Signed receipts: proof that a tip was received, which a tipster can show later without saying
who they are.

A receipt is a short English text, clear-signed with OpenPGP by the organization's receipt key:

    Tipline receipt v1
    Reference: TL-7K3M-Q9RD-X2PA
    Received: 2026-11-26T04:40Z
    Submission SHA-256: 5f2c...

- The reference is a random public name for the tip (``Tip.reference``), not its row id and not
  the codename: it opens nothing.
- The time of receipt is to the minute, like the reference enough to find the tip and to show who
  reported first, no finer.
- The hash is the SHA-256 of the tip's encrypted envelope as stored (the answers, and each file's
  name, size and storage name): what was sent cannot be changed afterwards without the receipt
  failing to match.

The receipt key signs and does nothing else: it is an ed25519 key with the sign capability only,
made by the public site on first use in its own GnuPG home (``RECEIPT_GNUPG_HOME``), never the
home that holds the keys tips are encrypted to. It is not protected by a passphrase, since the
server signs unattended; a thief of it can forge receipts, and can read nothing. Its public half
is recorded in the database (``ReceiptKey``) for the back office to verify with, published at
``/receipt-key.asc`` and named in ``/metadata.json``.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import secrets
import subprocess  # nosec B404  # gpg runs with argument lists, never a shell
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from tipline import crypto
from tipline.models import ReceiptKey, Tip

HEADER = "Tipline receipt v1"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud, typed back
REFERENCE = re.compile(r"TL(?:-[2-9A-HJKMNP-Z]{4}){3}")
FIELDS = re.compile(
    rf"{re.escape(HEADER)}\n"
    r"Reference: (?P<reference>TL(?:-[2-9A-HJKMNP-Z]{4}){3})\n"
    r"Received: (?P<received>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z)\n"
    r"Submission SHA-256: (?P<digest>[0-9a-f]{64})\n?"
)


def new_reference() -> str:
    groups = ["".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(4)) for _ in range(3)]
    return "TL-" + "-".join(groups)


def submission_digest(tip: Tip) -> str:
    return hashlib.sha256(bytes(tip.envelope)).hexdigest()


def received_minute(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def receipt_text(tip: Tip) -> str:
    return (
        f"{HEADER}\n"
        f"Reference: {tip.reference}\n"
        f"Received: {received_minute(tip.received_at)}\n"
        f"Submission SHA-256: {submission_digest(tip)}\n"
    )


# --- The signing key (public site) -------------------------------------------------------------


def _home() -> Path:
    return Path(settings.RECEIPT_GNUPG_HOME)


def _gpg_command(home: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    # No shell; fixed arguments; a home made by this module.
    return subprocess.run(  # nosec B603
        [settings.GPG_BINARY, "--batch", "--no-tty", "--homedir", str(home), *args],
        capture_output=True,
        timeout=60,
        check=False,
        **kwargs,
    )


# The key's fingerprint once this process has found or made it, by home: signing a receipt is on
# the path of every tip, where listing the keyring again would cost one more gpg process.
_known_fingerprints: dict[str, str] = {}


def signing_fingerprint() -> str:
    """The receipt key's fingerprint, making the key (and recording its public half) on first
    use. Processes starting together make one key: the first holds a lock while it makes it.
    The public half is recorded whenever its row is missing (one indexed query a receipt)."""
    home = crypto.prepare_home(_home())
    fingerprint = _known_fingerprints.get(str(home))
    if fingerprint is None:
        with open(home / ".receipt-key.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            fingerprint = _find_or_make_key(home)
        _known_fingerprints[str(home)] = fingerprint
    if not ReceiptKey.objects.filter(fingerprint=fingerprint).exists():
        armored = _gpg_command(home, "--armor", "--export", fingerprint).stdout.decode()
        if "BEGIN PGP PUBLIC KEY BLOCK" not in armored:
            raise crypto.CryptoError("the receipt key could not be exported")
        ReceiptKey.objects.get_or_create(fingerprint=fingerprint, defaults={"public_key": armored})
    return fingerprint


def _find_or_make_key(home: Path) -> str:
    fingerprints = crypto.secret_key_fingerprints(home)
    if not fingerprints:
        made = _gpg_command(
            home,
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-generate-key",
            "Tipline receipts (signing only)",
            "ed25519",
            "sign",
            "0",
        )
        fingerprints = crypto.secret_key_fingerprints(home)
        if made.returncode != 0 or len(fingerprints) != 1:
            raise crypto.CryptoError("the receipt key could not be made")
    return fingerprints[0]


def sign(tip: Tip) -> str:
    """The tip's receipt, clear-signed with the receipt key; CryptoError when it cannot be."""
    if not tip.reference:
        raise crypto.CryptoError("this tip has no public reference")
    try:
        try:
            return _sign(tip)
        except crypto.CryptoError:
            # The keyring may have been replaced (docs/operations.md, "The receipt key"): look
            # for the key again, once.
            _known_fingerprints.pop(str(_home()), None)
            return _sign(tip)
    except (OSError, subprocess.SubprocessError) as exc:
        raise crypto.CryptoError(f"the receipt could not be signed: {exc}") from exc


def _sign(tip: Tip) -> str:
    fingerprint = signing_fingerprint()
    signed = _gpg_command(
        _home(),
        "--local-user",
        fingerprint,
        "--digest-algo",
        "SHA256",
        "--armor",
        "--clearsign",
        input=receipt_text(tip).encode(),
    )
    if signed.returncode != 0 or b"BEGIN PGP SIGNATURE" not in signed.stdout:
        raise crypto.CryptoError("the receipt could not be signed")
    return signed.stdout.decode()


# --- Verification (either site, from the recorded public keys) ---------------------------------


@dataclass
class Verification:
    valid: bool
    problem: str = ""
    reference: str = ""
    received: str = ""
    digest: str = ""
    signed_by: str = ""
    tip: Tip | None = None


def verify(signed: str) -> Verification:
    """Checks a receipt: signed by a recorded receipt key, well formed, and matching a stored
    tip's reference, time of receipt and submission hash."""
    keys = list(ReceiptKey.objects.values_list("fingerprint", "public_key"))
    if not keys:
        return Verification(False, "No receipt key has been recorded: no receipt was issued.")
    with tempfile.TemporaryDirectory(prefix="tipline-verify-") as scratch:
        home = crypto.prepare_home(Path(scratch) / "gnupg")
        for _fingerprint, armored in keys:
            _gpg_command(home, "--import", input=armored.encode())
        # The signed text on standard output, gpg's status lines on standard error.
        checked = _gpg_command(
            home, "--status-fd", "2", "--decrypt", input=signed.encode(errors="replace")
        )
        crypto.stop_agent(home)
    status = checked.stderr.decode(errors="replace")
    valid = re.search(r"^\[GNUPG:\] VALIDSIG ([0-9A-F]{40}) ", status, re.M)
    if checked.returncode != 0 or not valid or status.count("[GNUPG:] VALIDSIG ") != 1:
        return Verification(False, "The signature is missing, broken, or not by a receipt key.")
    signer = valid.group(1)
    recorded = {fingerprint for fingerprint, _armored in keys}
    if signer not in recorded:
        return Verification(False, "The signature is not by a receipt key.")
    text = checked.stdout.decode(errors="replace")
    fields = FIELDS.fullmatch(text)
    if fields is None:
        return Verification(False, "The signed text is not a Tipline receipt.", signed_by=signer)
    result = Verification(
        False,
        reference=fields["reference"],
        received=fields["received"],
        digest=fields["digest"],
        signed_by=signer,
    )
    tip = Tip.objects.filter(reference=fields["reference"]).first()
    if tip is None:
        result.problem = "No stored tip has this reference (it may have been deleted)."
    elif received_minute(tip.received_at) != fields["received"]:
        result.problem = "The time of receipt does not match the stored tip."
    elif submission_digest(tip) != fields["digest"]:
        result.problem = "The submission hash does not match the stored tip."
    else:
        result.valid, result.tip = True, tip
    return result

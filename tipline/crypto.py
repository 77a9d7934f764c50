"""Every call to GnuPG goes through this module.

Key model:

* The public site encrypts to reviewers' *public* keys, imported from the database into a
  keyring that holds nothing else (``settings.PUBLIC_GNUPG_HOME``).
* Each reviewer's secret key lives in a GnuPG home of its own under
  ``settings.REVIEWER_GNUPG_ROOT`` (back office only), protected by a passphrase only the
  reviewer knows. One home per key means a passphrase can only ever unlock its own key.
* gpg-agent is configured never to cache a passphrase, so a decryption without the passphrase
  fails even a moment after one with it.

Plaintext only ever travels through pipes between this process and gpg, never through a file.
Small payloads go through python-gnupg; streams (uploads and downloads of any size) talk to the
same gpg binary over pipes directly, because python-gnupg reads them from a file object in a
helper thread that stalls, rather than fails, when gpg exits early.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import subprocess  # nosec B404  # gpg runs with argument lists, never a shell
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import gnupg
from django.conf import settings

logger = logging.getLogger(__name__)

# Options for every gpg call. Keys are pinned by fingerprint from our own database, so the web
# of trust is not consulted; the random seed file is skipped because concurrent gpg processes
# serialize on its lock (a quarter of a second each time).
COMMON_OPTIONS = ["--no-random-seed-file", "--trust-model", "always", "--no-auto-key-locate"]
AGENT_CONF = (
    "# Written by Tipline. Never cache a passphrase: each decryption needs the reviewer's own.\n"
    "default-cache-ttl 0\n"
    "max-cache-ttl 0\n"
    "allow-loopback-pinentry\n"
)
STREAM_CHUNK = 1024 * 1024
# How long an aborted stream's gpg may take to exit on its own (it has at most a pipe's worth of
# input left to encrypt) before it is killed.
ABORT_SECONDS = 5


class CryptoError(Exception):
    """GnuPG failed; the message never contains plaintext."""


class NoRecipientsError(CryptoError):
    """There is nobody to encrypt to (for example, a desk with no reviewers)."""


class DecryptionError(CryptoError):
    """The data could not be decrypted with this key and passphrase."""


class BadPassphraseError(DecryptionError):
    """The passphrase does not unlock the key."""


@dataclass(frozen=True)
class PublicKey:
    fingerprint: str
    armored: str


def prepare_home(home: Path) -> Path:
    """Create a private GnuPG home whose agent never caches passphrases."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(home, 0o700)
    conf = home / "gpg-agent.conf"
    if not conf.exists() or conf.read_text() != AGENT_CONF:
        conf.write_text(AGENT_CONF)
    return home


# python-gnupg's constructor runs gpg once to learn its version: one gpg process per call to
# _gpg, as many as the encryption itself. Instances are kept per thread and home instead.
_instances = threading.local()
MAX_CACHED_HOMES = 32


def _gpg(home: Path) -> gnupg.GPG:
    prepare_home(home)
    cache = getattr(_instances, "by_home", None)
    if cache is None:
        cache = _instances.by_home = {}
    key = (str(home), settings.GPG_BINARY)
    instance = cache.get(key)
    if instance is None:
        if len(cache) >= MAX_CACHED_HOMES:
            cache.clear()
        instance = cache[key] = gnupg.GPG(
            gpgbinary=settings.GPG_BINARY, gnupghome=str(home), options=COMMON_OPTIONS
        )
    return instance


def _check_passphrase_format(passphrase: str) -> None:
    if not passphrase or "\n" in passphrase or "\r" in passphrase or "\0" in passphrase:
        raise BadPassphraseError("passphrase is empty or contains a line break")


# --- Public keyring (both sites) ------------------------------------------------------------

_known_fingerprints: dict[Path, set[str]] = {}
_keyring_lock = threading.Lock()


def public_home() -> Path:
    return Path(settings.PUBLIC_GNUPG_HOME)


def ensure_public_keys(keys: Iterable[PublicKey]) -> list[str]:
    """Import any of ``keys`` missing from the public keyring; return their fingerprints.

    A key whose material does not match its recorded fingerprint is refused, so a tampered
    database row cannot swap in an attacker's key under a reviewer's fingerprint.
    """
    keys = list(keys)
    home = public_home()
    with _keyring_lock:
        known = _known_fingerprints.get(home)
        wanted = {key.fingerprint for key in keys}
        if known is None or not wanted <= known:
            known = {k["fingerprint"] for k in _gpg(home).list_keys()}
            _known_fingerprints[home] = known
        for key in keys:
            if key.fingerprint in known:
                continue
            result = _gpg(home).import_keys(key.armored)
            imported = {r.get("fingerprint") for r in result.results if r.get("fingerprint")}
            if imported != {key.fingerprint}:
                if imported:
                    _gpg(home).delete_keys(sorted(imported))
                raise CryptoError(f"key material does not match fingerprint {key.fingerprint}")
            known.add(key.fingerprint)
    return [key.fingerprint for key in keys]


# How a part's own passphrase (tipline/part_keys.py) is hashed into its key-encryption key. The
# passphrase is 256 random bits, so the light end of iterated hashing is enough; gpg's default
# (65 million bytes hashed) is for passphrases people choose. 1024, the documented minimum, is
# silently written as the maximum by gpg 2.2, so the next step up is used.
PART_S2K = [
    "--symmetric",
    "--s2k-mode",
    "3",
    "--s2k-count",
    "65536",
    "--s2k-digest-algo",
    "SHA256",
    "--s2k-cipher-algo",
    "AES256",
]


def encrypt_bytes(
    data: bytes, keys: Iterable[PublicKey], part_passphrase: str | None = None
) -> bytes:
    """Encrypt ``data`` to every key in ``keys`` (binary OpenPGP message).

    With ``part_passphrase`` the same message also opens with that passphrase (a part of a tip
    with a part key: tipline/part_keys.py).
    """
    fingerprints = ensure_public_keys(keys)
    if not fingerprints:
        raise NoRecipientsError("no recipient keys")
    extra = {}
    if part_passphrase is not None:
        _check_passphrase_format(part_passphrase)
        extra = {"passphrase": part_passphrase, "extra_args": PART_S2K}
    result = _gpg(public_home()).encrypt(
        data, fingerprints, armor=False, always_trust=True, **extra
    )
    if not result.ok:
        raise CryptoError(f"encryption failed: {result.status}")
    return result.data


PIPE_BYTES = 1024 * 1024


class StreamEncryptor:
    """Encrypt a stream of chunks straight into ``output`` without buffering it.

    Memory stays bounded by the pipe and one chunk, whatever the total size; the plaintext
    exists only in this process's memory and in gpg's.
    """

    def __init__(self, keys: Iterable[PublicKey], output: Path) -> None:
        fingerprints = ensure_public_keys(keys)
        if not fingerprints:
            raise NoRecipientsError("no recipient keys")
        self.output = output
        self.bytes_in = 0
        args = [
            settings.GPG_BINARY,
            "--batch",
            "--no-tty",
            "--quiet",
            "--homedir",
            str(public_home()),
            *COMMON_OPTIONS,
            "--compress-algo",
            "none",
            "--output",
            str(output),
            "--encrypt",
        ]
        for fingerprint in fingerprints:
            args += ["--recipient", fingerprint]
        self._process = subprocess.Popen(  # nosec B603  # no shell; fingerprints, our paths
            args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # A pipe of one upload read (1 MiB) rather than Linux's 64 KiB: the web process hands
        # gpg a read in one go and goes back to the socket while gpg works, instead of waking
        # it sixteen times a read. Kernel memory, not the process's. Above the system's limit
        # (fs.pipe-max-size) the kernel refuses, and the default size stays.
        with contextlib.suppress(OSError):
            fcntl.fcntl(self._process.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._stderr: list[bytes] = []
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()

    def _drain_stderr(self) -> None:
        assert self._process.stderr is not None  # nosec B101  # for the type checker: PIPE
        self._stderr.append(self._process.stderr.read())

    def write(self, chunk: bytes) -> None:
        assert self._process.stdin is not None  # nosec B101  # for the type checker: PIPE
        try:
            self._process.stdin.write(chunk)
        except (BrokenPipeError, ValueError) as exc:
            self.abort()
            raise CryptoError("gpg stopped while encrypting a stream") from exc
        self.bytes_in += len(chunk)

    def finish(self) -> int:
        """Close the stream, wait for gpg, make the ciphertext durable; return its size."""
        assert self._process.stdin is not None  # nosec B101  # for the type checker: PIPE
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        code = self._process.wait()
        self._drain.join()
        if code != 0:
            self._remove_output()
            raise CryptoError(f"gpg exited with {code} while encrypting a stream")
        with open(self.output, "rb") as handle:
            os.fsync(handle.fileno())
        return self.output.stat().st_size

    def abort(self) -> None:
        """Stop gpg and remove any partial output.

        gpg is stopped by closing its input, not killed: killed in its first milliseconds, while
        it locks the keyring, it leaves the lock's temporary file in the public GnuPG home, one
        for each upload refused early. It is killed only if it does not then exit promptly.
        """
        try:
            if self._process.stdin:
                self._process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self._process.wait(timeout=ABORT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._remove_output()

    def _remove_output(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.output.unlink()


class PipeEncryptor:
    """gpg encrypting what is written to ``stdin`` to one outside key, ciphertext on ``stdout``.

    For handing data to someone who is not a reviewer (a case export): the key is read from a
    file in a scratch GnuPG home of its own, never imported into a keyring the sites use, and
    the home is removed by :meth:`close`. Plaintext only ever travels through the two pipes.
    """

    def __init__(self, recipient: PublicKey, scratch_root: Path) -> None:
        self.home = scratch_root / f".scratch{secrets.token_hex(6)}"
        self.home.mkdir(mode=0o700, parents=True)
        key_file = self.home / "recipient.asc"
        key_file.write_text(recipient.armored)
        # Fixed options, a directory and a key file made here: nothing a visitor typed.
        self.process = subprocess.Popen(  # nosec B603
            [
                settings.GPG_BINARY,
                "--batch",
                "--no-tty",
                "--quiet",
                "--homedir",
                str(self.home),
                *COMMON_OPTIONS,
                "--compress-algo",
                "none",
                "--recipient-file",
                str(key_file),
                "--encrypt",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.stdin = self.process.stdin
        self.stdout = self.process.stdout

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()

    def wait(self) -> int:
        return self.process.wait()

    def close(self) -> None:
        """Stop gpg if still running and remove the scratch home."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pipe in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        stop_agent(self.home)
        shutil.rmtree(self.home, ignore_errors=True)


# --- Reviewer keys (back office only) --------------------------------------------------------


def reviewer_home(fingerprint: str) -> Path:
    """The GnuPG home holding one reviewer's secret key; refused outside the back office."""
    root = settings.REVIEWER_GNUPG_ROOT
    if root is None:
        raise CryptoError("reviewer keys are not available on this site")
    if len(fingerprint) != 40 or not all(c in "0123456789ABCDEF" for c in fingerprint):
        raise CryptoError("malformed fingerprint")
    return Path(root) / fingerprint[-16:]


def holds_secret_key(fingerprint: str) -> bool:
    """Whether this back office holds the reviewer's secret key.

    A reviewer who registered their own public key decrypts offline: there is no home for
    their key here, and the back office hands them ciphertext only.
    """
    return reviewer_home(fingerprint).is_dir()


def _generate_key_pair(home: Path, passphrase: str, name: str, expire: str) -> str:
    """Make a passphrase-protected ed25519 (sign) / cv25519 (encrypt) pair in ``home``; return
    its fingerprint. On failure the agent is stopped and CryptoError raised."""
    # gpg signs the new key (self-signatures, revocation certificate) after creating it. The
    # agent never caches, so the passphrase must reach gpg by loopback for each of those
    # signatures; otherwise the agent asks a pinentry, which a server does not have. The
    # passphrase is not in the parameters either, where gpg would trim its spaces.
    parameters = (
        "Key-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\n"
        "Subkey-Type: ECDH\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n"
        f"Name-Real: {name}\nExpire-Date: {expire}\n%commit\n"
    )
    read_fd, write_fd = os.pipe()
    # No shell; a home made here; the passphrase goes through a pipe, not the arguments.
    process = subprocess.Popen(  # nosec B603
        [
            settings.GPG_BINARY,
            "--batch",
            "--no-tty",
            "--homedir",
            str(home),
            *COMMON_OPTIONS,
            "--status-fd",
            "1",
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            str(read_fd),
            "--generate-key",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        pass_fds=(read_fd,),
    )
    os.close(read_fd)
    with os.fdopen(write_fd, "w") as passphrase_pipe:
        # Every signature reads the passphrase from this pipe; gpg reads it once and keeps it.
        passphrase_pipe.write(passphrase + "\n")
    status, _ = process.communicate(parameters.encode(), timeout=120)
    created = [
        line.split()[3]
        for line in status.decode(errors="replace").splitlines()
        if line.startswith("[GNUPG:] KEY_CREATED ") and len(line.split()) >= 4
    ]
    if process.returncode != 0 or len(created) != 1:
        stop_agent(home)
        raise CryptoError(f"key generation failed (gpg exit code {process.returncode})")
    return created[0]


def generate_reviewer_key(passphrase: str) -> PublicKey:
    """Create a passphrase-protected key pair in a new reviewer home; return its public half."""
    _check_passphrase_format(passphrase)
    root = settings.REVIEWER_GNUPG_ROOT
    if root is None:
        raise CryptoError("reviewer keys can only be generated in the back office")
    staging = prepare_home(Path(root) / f".new{secrets.token_hex(4)}")
    fingerprint = _generate_key_pair(staging, passphrase, "Tipline reviewer key", "0")
    gpg = _gpg(staging)
    armored = gpg.export_keys(fingerprint)
    stop_agent(staging)
    staging.rename(reviewer_home(fingerprint))
    return PublicKey(fingerprint=fingerprint, armored=armored)


def generate_organization_key(home: Path, name: str, passphrase: str) -> tuple[str, str, str]:
    """Make the organization's key pair in ``home`` (at the key ceremony, on a computer that is
    offline); return its fingerprint, its public half and its passphrase-protected secret
    half, both armored. Expires in five years."""
    _check_passphrase_format(passphrase)
    if not name.strip() or any(c in name for c in "\r\n\0"):
        raise CryptoError("the key's name must be one line")
    prepare_home(home)
    fingerprint = _generate_key_pair(home, passphrase, name.strip(), "5y")
    gpg = _gpg(home)
    public = gpg.export_keys(fingerprint)
    secret = gpg.export_keys(fingerprint, secret=True, passphrase=passphrase)
    stop_agent(home)
    if "PRIVATE KEY BLOCK" not in secret:
        raise CryptoError("the secret key could not be exported")
    return fingerprint, public, secret


def discard_reviewer_key(fingerprint: str) -> None:
    """Delete a generated key's home: its account could not be created, so nobody will use it."""
    home = reviewer_home(fingerprint)
    stop_agent(home)
    shutil.rmtree(home, ignore_errors=True)


def check_passphrase(fingerprint: str, passphrase: str) -> None:
    """Raise BadPassphraseError unless ``passphrase`` unlocks the reviewer's key."""
    _check_passphrase_format(passphrase)
    home = reviewer_home(fingerprint)
    if not home.is_dir():
        raise DecryptionError("no secret key for this reviewer on this server")
    result = _gpg(home).sign(b"unlock", keyid=fingerprint, passphrase=passphrase, detach=True)
    if not result.data:
        raise BadPassphraseError("the passphrase does not unlock this key")


def decrypt_bytes(data: bytes, fingerprint: str, passphrase: str) -> bytes:
    """Decrypt a message with a reviewer's key and passphrase."""
    _check_passphrase_format(passphrase)
    home = reviewer_home(fingerprint)
    result = _gpg(home).decrypt(data, passphrase=passphrase)
    if not result.ok:
        raise DecryptionError(f"decryption failed: {result.status}")
    return result.data


def part_home() -> Path:
    """The back office's GnuPG home for opening parts with their own passphrase: it never
    holds a secret key, so gpg can only use the passphrase it is given."""
    if settings.PART_GNUPG_HOME is None:
        raise CryptoError("this site opens no tip parts")
    return Path(settings.PART_GNUPG_HOME)


def decrypt_part(data: bytes, passphrase: str) -> bytes:
    """Decrypt a tip part with its own passphrase (tipline/part_keys.py); never cached."""
    _check_passphrase_format(passphrase)
    gpg = _gpg(part_home())
    result = gpg.decrypt(data, passphrase=passphrase, extra_args=["--no-symkey-cache"])
    if not result.ok:
        raise DecryptionError(f"decryption failed: {result.status}")
    return result.data


def decrypt_file_stream(path: Path, fingerprint: str, passphrase: str) -> Iterator[bytes]:
    """Return an iterator over the plaintext of the encrypted file at ``path``.

    The first chunk is read before returning, so a wrong passphrase or a key that cannot open
    the file raises here rather than half-way through a download.
    """
    _check_passphrase_format(passphrase)
    home = prepare_home(reviewer_home(fingerprint))
    read_fd, write_fd = os.pipe()
    args = [
        settings.GPG_BINARY,
        "--batch",
        "--no-tty",
        "--quiet",
        "--homedir",
        str(home),
        *COMMON_OPTIONS,
        "--pinentry-mode",
        "loopback",
        "--passphrase-fd",
        str(read_fd),
        "--decrypt",
        str(path),
    ]
    # No shell; the reviewer's home and a stored file's confined path (tipline.storage).
    process = subprocess.Popen(  # nosec B603
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        pass_fds=(read_fd,),
    )
    os.close(read_fd)
    with os.fdopen(write_fd, "w") as passphrase_pipe:
        passphrase_pipe.write(passphrase + "\n")
    assert process.stdout is not None  # nosec B101  # for the type checker: stdout=PIPE
    first = process.stdout.read(STREAM_CHUNK)
    if not first and process.wait() != 0:
        raise DecryptionError("decryption failed")

    def chunks() -> Iterator[bytes]:
        try:
            chunk = first
            while chunk:
                yield chunk
                chunk = process.stdout.read(STREAM_CHUNK)
            if process.wait() != 0:
                raise DecryptionError("decryption failed part-way through the file")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()

    return chunks()


def secret_key_fingerprints(home: Path) -> list[str]:
    """Fingerprints of the secret keys in ``home`` (used to prove the public keyring has none)."""
    if not home.is_dir():
        return []
    return [key["fingerprint"] for key in _gpg(home).list_keys(secret=True)]


AGENT_EXIT_SECONDS = 5


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent serving ``home``, if any, and wait until it has removed its sockets
    (it exits after gpgconf returns), so that the home can be moved or deleted at once."""
    # gpgconf is found on PATH, as gpg itself is by default (TIPLINE_GPG_BINARY=gpg).
    subprocess.run(  # nosec B603, B607
        ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    deadline = time.monotonic() + AGENT_EXIT_SECONDS
    while any(Path(home).glob("S.gpg-agent*")) and time.monotonic() < deadline:
        time.sleep(0.01)


def describe_public_key(armored: str) -> dict:
    """Fingerprint and type ("pub" or "sec") of the key(s) in ``armored``, without importing."""
    keys = _gpg(public_home()).scan_keys_mem(armored)
    if len(keys) != 1:
        raise CryptoError(f"expected one key, found {len(keys)}")
    return {"fingerprint": keys[0]["fingerprint"], "type": keys[0]["type"]}


MAX_ARMORED_KEY_CHARS = 64 * 1024


def validate_public_key(armored: str) -> PublicKey:
    """Check a public key someone pasted in: one key, public only, able to encrypt, usable now.

    Used for reviewers who decrypt offline and for the recipient of a case export. The key is
    scanned without being imported anywhere.
    """
    if not armored.strip() or len(armored) > MAX_ARMORED_KEY_CHARS:
        raise CryptoError("paste one ASCII-armoured OpenPGP public key")
    if "PRIVATE KEY BLOCK" in armored:
        raise CryptoError("this is a secret key: paste the public key only")
    keys = _gpg(public_home()).scan_keys_mem(armored)
    if len(keys) != 1:
        raise CryptoError(f"paste exactly one public key (found {len(keys)})")
    key = keys[0]
    if key.get("type") != "pub":
        raise CryptoError("this is a secret key: paste the public key only")
    if key.get("trust") in ("r", "e", "i", "d"):
        raise CryptoError("this key is revoked, expired or invalid")
    expires = key.get("expires") or ""
    if expires and int(expires) <= time.time():
        raise CryptoError("this key has expired")
    if "E" not in (key.get("cap") or ""):
        raise CryptoError("this key cannot encrypt (it has no usable encryption subkey)")
    return PublicKey(fingerprint=key["fingerprint"], armored=armored.strip() + "\n")

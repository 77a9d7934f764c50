import fcntl
import os
import subprocess
import time
from pathlib import Path

import pytest

from tipline import crypto

pytestmark = pytest.mark.django_db


def public(key):
    return crypto.PublicKey(key.fingerprint, key.armored)


def test_it_encrypts_to_every_key_and_each_reviewer_reads_with_own_passphrase(install_key):
    alice, bob = install_key("alice"), install_key("bob")
    ciphertext = crypto.encrypt_bytes(b"canary-7Qx", [public(alice), public(bob)])
    assert b"canary-7Qx" not in ciphertext
    assert crypto.decrypt_bytes(ciphertext, alice.fingerprint, alice.passphrase) == b"canary-7Qx"
    assert crypto.decrypt_bytes(ciphertext, bob.fingerprint, bob.passphrase) == b"canary-7Qx"


def test_it_refuses_another_reviewers_passphrase(install_key):
    alice, bob = install_key("alice"), install_key("bob")
    ciphertext = crypto.encrypt_bytes(b"secret", [public(alice), public(bob)])
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(ciphertext, alice.fingerprint, bob.passphrase)


def test_it_does_not_cache_a_passphrase_after_a_decryption(install_key):
    alice = install_key("alice")
    ciphertext = crypto.encrypt_bytes(b"secret", [public(alice)])
    assert crypto.decrypt_bytes(ciphertext, alice.fingerprint, alice.passphrase) == b"secret"
    # Straight after, without the passphrase (no loopback) and with a wrong one: both refused.
    gpg = crypto._gpg(crypto.reviewer_home(alice.fingerprint))
    assert not gpg.decrypt(ciphertext).ok
    with pytest.raises(crypto.BadPassphraseError):
        crypto.check_passphrase(alice.fingerprint, "not the passphrase")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(ciphertext, alice.fingerprint, "not the passphrase")


def test_it_checks_a_passphrase(install_key):
    alice = install_key("alice")
    crypto.check_passphrase(alice.fingerprint, alice.passphrase)
    with pytest.raises(crypto.BadPassphraseError):
        crypto.check_passphrase(alice.fingerprint, "wrong")


def test_it_refuses_key_material_that_does_not_match_its_fingerprint(install_key):
    alice, bob = install_key("alice"), install_key("bob")
    forged = crypto.PublicKey(alice.fingerprint, bob.armored)
    with pytest.raises(crypto.CryptoError):
        crypto.encrypt_bytes(b"secret", [forged])
    assert bob.fingerprint not in {
        k["fingerprint"] for k in crypto._gpg(crypto.public_home()).list_keys()
    }


def test_it_refuses_to_encrypt_to_nobody(gpg_dirs):
    with pytest.raises(crypto.NoRecipientsError):
        crypto.encrypt_bytes(b"secret", [])


def test_it_streams_a_file_through_gpg_and_back(install_key, gpg_dirs):
    alice = install_key("alice")
    output = Path(gpg_dirs) / "out.gpg"
    encryptor = crypto.StreamEncryptor([public(alice)], output)
    chunk = os.urandom(1024 * 1024 - 1) + b"canary-stream"
    for _ in range(8):
        encryptor.write(chunk)
    size = encryptor.finish()
    assert size == output.stat().st_size > 8 * len(chunk)
    assert b"canary-stream" not in output.read_bytes()
    plain = b"".join(crypto.decrypt_file_stream(output, alice.fingerprint, alice.passphrase))
    assert plain == chunk * 8


def test_it_hands_gpg_one_upload_read_per_pipe_fill(install_key, gpg_dirs):
    """A 64 KiB pipe woke gpg sixteen times per 1 MiB read and cut upload throughput by a third
    (docs/benchmarks.md, "A 1 GiB upload")."""
    alice = install_key("alice")
    encryptor = crypto.StreamEncryptor([public(alice)], Path(gpg_dirs) / "out.gpg")
    try:
        size = fcntl.fcntl(encryptor._process.stdin.fileno(), fcntl.F_GETPIPE_SZ)
        assert size == crypto.PIPE_BYTES == 1024 * 1024
    finally:
        encryptor.abort()


def test_it_removes_partial_output_when_a_stream_is_aborted(install_key, gpg_dirs):
    alice = install_key("alice")
    output = Path(gpg_dirs) / "out.gpg"
    encryptor = crypto.StreamEncryptor([public(alice)], output)
    encryptor.write(b"x" * 100_000)
    encryptor.abort()
    assert not output.exists()


def test_it_refuses_a_stream_download_with_a_wrong_passphrase(install_key, gpg_dirs):
    alice = install_key("alice")
    output = Path(gpg_dirs) / "out.gpg"
    encryptor = crypto.StreamEncryptor([public(alice)], output)
    encryptor.write(b"data")
    encryptor.finish()
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_file_stream(output, alice.fingerprint, "wrong passphrase")


def test_it_refuses_reviewer_keys_on_the_public_site(settings):
    settings.REVIEWER_GNUPG_ROOT = None
    with pytest.raises(crypto.CryptoError):
        crypto.reviewer_home("A" * 40)
    with pytest.raises(crypto.CryptoError):
        crypto.generate_reviewer_key("a passphrase long enough")


def test_key_generation_never_asks_a_pinentry(gpg_dirs, monkeypatch, tmp_path):
    """Every signature made while generating a key gets the passphrase by loopback.

    The agent never caches, so gpg cannot count on it remembering the passphrase between the
    key and its self-signatures (or the revocation certificate). When it did, the agent fell
    back to a pinentry, which has no terminal on a server: the generation failed, or left a
    key without its revocation certificate, depending on the clock. A pinentry that records
    each call shows the difference on every run rather than now and then.
    """
    calls = tmp_path / "pinentry-calls"
    pinentry = tmp_path / "pinentry"
    pinentry.write_text(f"#!/bin/sh\necho called >> {calls}\nexit 1\n")
    pinentry.chmod(0o755)
    monkeypatch.setattr(crypto, "AGENT_CONF", crypto.AGENT_CONF + f"pinentry-program {pinentry}\n")
    for n in range(6):
        key = crypto.generate_reviewer_key(f" generated key passphrase {n} ")
        crypto.check_passphrase(key.fingerprint, f" generated key passphrase {n} ")
        with pytest.raises(crypto.BadPassphraseError):
            crypto.check_passphrase(key.fingerprint, f"generated key passphrase {n}")
        home = crypto.reviewer_home(key.fingerprint)
        assert (home / "openpgp-revocs.d" / f"{key.fingerprint}.rev").exists()
        # The user id names the role only: no e-mail address made up from the host name.
        [scanned] = crypto._gpg(crypto.public_home()).scan_keys_mem(key.armored)
        assert scanned["uids"] == ["Tipline reviewer key"]
    assert not calls.exists(), calls.read_text()


@pytest.fixture
def throwaway_home(tmp_path):
    """A GnuPG home for keys made with the gpg command; its agent is stopped afterwards."""
    home = tmp_path / "g"
    home.mkdir(mode=0o700)
    yield str(home)
    crypto.stop_agent(home)


def _gpg_cli(home, *args):
    return subprocess.run(
        ["gpg", "--batch", "--homedir", home, "--passphrase", "", *args],
        capture_output=True,
        check=True,
    ).stdout.decode()


def test_it_accepts_an_encryption_capable_public_key_and_refuses_the_rest(gpg_dirs, throwaway_home):
    home = throwaway_home
    _gpg_cli(home, "--quick-gen-key", "Offline <o@example.org>", "ed25519", "cert,sign", "0")
    fpr = next(
        line.split(":")[9]
        for line in _gpg_cli(home, "--with-colons", "--list-keys").splitlines()
        if line.startswith("fpr:")
    )
    signing_only = _gpg_cli(home, "--armor", "--export", fpr)
    _gpg_cli(home, "--quick-add-key", fpr, "cv25519", "encr", "0")
    good = _gpg_cli(home, "--armor", "--export", fpr)
    secret = _gpg_cli(home, "--armor", "--export-secret-keys", fpr)

    key = crypto.validate_public_key(good)
    assert key.fingerprint == fpr
    with pytest.raises(crypto.CryptoError, match="cannot encrypt"):
        crypto.validate_public_key(signing_only)
    with pytest.raises(crypto.CryptoError, match="secret key"):
        crypto.validate_public_key(secret)
    with pytest.raises(crypto.CryptoError):
        crypto.validate_public_key("not a key")
    _gpg_cli(home, "--quick-gen-key", "Second <s@example.org>", "ed25519", "cert,sign", "0")
    with pytest.raises(crypto.CryptoError, match="exactly one"):
        crypto.validate_public_key(_gpg_cli(home, "--armor", "--export"))
    _gpg_cli(home, "--quick-set-expire", fpr, "seconds=1")
    time.sleep(2)
    with pytest.raises(crypto.CryptoError):
        crypto.validate_public_key(_gpg_cli(home, "--armor", "--export", fpr))


def test_stopping_an_agent_waits_until_its_sockets_are_gone(tmp_path):
    # gpg-agent exits after gpgconf returns; a home deleted or moved at once could lose the race
    # with it removing its sockets. Here an agent still shutting down is played by a thread.
    import threading

    home = tmp_path / "g"
    home.mkdir(mode=0o700)
    socket = home / "S.gpg-agent.browser"
    socket.write_bytes(b"")
    threading.Timer(0.3, socket.unlink).start()
    crypto.stop_agent(home)
    assert not socket.exists()

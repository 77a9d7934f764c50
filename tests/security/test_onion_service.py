"""The onion services' configuration (deploy/tor/), run with Debian's tor.

Tor runs with `DisableNetwork 1`: it cannot reach the Tor network, but it creates the onion
service's keys and address, and loads the client keys, exactly as it would in production. Paths
are moved into a temporary directory; every other line of the torrc is used as shipped. Tor is
required: `bin/test` installs it, and a missing tor fails these tests rather than skipping them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import short_tempdir

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
TOR_DIR = ROOT / "deploy" / "tor"
REQUIRE_CLIENT_AUTH = TOR_DIR / "require-client-auth"
V3_ONION = re.compile(r"[a-z2-7]{56}\.onion")
WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def tor() -> str:
    path = shutil.which("tor")
    assert path, "Debian's tor is required (apt-get install tor; bin/test installs it)"
    return path


@pytest.fixture
def workdir():
    path = short_tempdir()
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def local_torrc(name: str, workdir: Path) -> Path:
    """deploy/tor/<name> with its data and onion service directories moved under workdir."""
    moved = {"DataDirectory": workdir / "data", "HiddenServiceDir": workdir / "onion"}
    lines = []
    for line in (TOR_DIR / name).read_text().splitlines():
        option = line.split(" ", 1)[0]
        lines.append(f"{option} {moved.pop(option)}" if option in moved else line)
    assert not moved, f"{name} lacks {moved}"
    path = workdir / "torrc"
    path.write_text("\n".join(lines) + "\n")
    return path


def start(command: list[str], workdir: Path, **env: str) -> subprocess.Popen:
    log = (workdir / "log").open("wb")
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **env)
    )


def stop(process: subprocess.Popen) -> None:
    # Sandboxed tor often ignores SIGTERM (see deploy/tor/torrc); Docker kills it too.
    process.terminate()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_address(process: subprocess.Popen, workdir: Path, *, log_line: str = "") -> str:
    """The onion address tor writes, once `log_line` (if any) is in its output too."""
    hostname = workdir / "onion" / "hostname"
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, (workdir / "log").read_text()
        if hostname.exists() and log_line in (workdir / "log").read_text():
            return hostname.read_text().strip()
        time.sleep(0.2)
    pytest.fail(f"tor wrote no onion address in {WAIT_SECONDS} s:\n{(workdir / 'log').read_text()}")


def address_of(public_key_file: Path) -> str:
    """The v3 onion address of an ed25519 public key (rend-spec-v3, "Encoding onion addresses")."""
    key = public_key_file.read_bytes()[-32:]
    version = b"\x03"
    checksum = hashlib.sha3_256(b".onion checksum" + key + version).digest()[:2]
    return base64.b32encode(key + checksum + version).decode().lower() + ".onion"


def client_key_pair(workdir: Path) -> tuple[str, str]:
    """An x25519 client key pair in tor's base32, made with openssl as docs/operations.md says."""
    pem = workdir / "client.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "x25519", "-out", pem], check=True)

    def last_32_bytes(*arguments: str) -> str:
        der = subprocess.run(
            ["openssl", "pkey", "-in", pem, *arguments, "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        return base64.b32encode(der[-32:]).decode().rstrip("=")

    return last_32_bytes(), last_32_bytes("-pubout")


@pytest.mark.parametrize("name", ["torrc", "torrc-backoffice"])
def test_tor_accepts_the_configuration(tor, workdir, name):
    result = subprocess.run(
        [tor, "--verify-config", "-f", TOR_DIR / name, "--DataDirectory", workdir / "data"],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration was valid" in result.stdout


def test_it_creates_a_v3_onion_address_for_the_public_site(tor, workdir):
    process = start([tor, "-f", local_torrc("torrc", workdir), "--DisableNetwork", "1"], workdir)
    try:
        address = wait_for_address(process, workdir)
    finally:
        stop(process)
    assert V3_ONION.fullmatch(address)
    assert address == address_of(workdir / "onion" / "hs_ed25519_public_key")
    # The secret key, which is the address: readable by tor's user alone.
    assert (workdir / "onion" / "hs_ed25519_secret_key").stat().st_mode & 0o777 == 0o600


def start_back_office_onion(tor: str, workdir: Path, clients: Path) -> subprocess.Popen:
    command = [tor, "-f", local_torrc("torrc-backoffice", workdir), "--DisableNetwork", "1"]
    return start(
        ["sh", REQUIRE_CLIENT_AUTH, *command, "--Log", "info stdout"],
        workdir,
        TIPLINE_ONION_CLIENTS_DIR=str(clients),
        TIPLINE_ONION_SERVICE_DIR=str(workdir / "onion"),
    )


def test_the_back_office_onion_starts_with_client_authorization_only(tor, workdir):
    clients = workdir / "clients"
    clients.mkdir()
    _, public = client_key_pair(workdir)
    (clients / "alice.auth").write_text(f"descriptor:x25519:{public}\n")
    # A key removed from the mounted directory is revoked at the next start.
    (workdir / "onion" / "authorized_clients").mkdir(parents=True)
    (workdir / "onion").chmod(0o700)
    (workdir / "onion" / "authorized_clients" / "mallory.auth").write_text("descriptor:x25519:")

    process = start_back_office_onion(tor, workdir, clients)
    try:
        address = wait_for_address(
            process, workdir, log_line="Loaded a client authorization key file alice.auth"
        )
    finally:
        stop(process)
    assert V3_ONION.fullmatch(address)
    installed = workdir / "onion" / "authorized_clients"
    assert sorted(path.name for path in installed.iterdir()) == ["alice.auth"]
    assert "1 client key(s) installed" in (workdir / "log").read_text()


@pytest.mark.parametrize(
    "keys",
    [
        {},
        {"alice.auth": ""},
        {"alice.auth": "descriptor:x25519:TOOSHORT\n"},
        {"alice.auth": "descriptor:x25519:{good}\n", "bob.auth": "descriptor:ed25519:{good}\n"},
        {"alice.auth": "descriptor:x25519:{good}\ndescriptor:x25519:{good}\n"},
    ],
    ids=["none", "empty", "too-short", "one-malformed", "two-lines"],
)
def test_the_back_office_onion_refuses_to_start_without_valid_client_keys(tor, workdir, keys):
    """Tor would skip a malformed key with a warning and, with none left, serve anyone."""
    clients = workdir / "clients"
    clients.mkdir()
    _, good = client_key_pair(workdir)
    for name, text in keys.items():
        (clients / name).write_text(text.format(good=good))

    process = start_back_office_onion(tor, workdir, clients)
    try:
        returncode = process.wait(timeout=WAIT_SECONDS)
    finally:
        stop(process)
    log = (workdir / "log").read_text()
    assert returncode == 1, log
    assert log.startswith("require-client-auth: ")
    assert "Tor" not in log  # tor never started
    assert not (workdir / "onion" / "hostname").exists()

"""Backup and restore through real processes: a tip with a file arrives on a running stack,
`manage.py backup` encrypts the install to an organization key made here, and the archive,
decrypted with that key's secret half (which only this test holds), is restored with
`manage.py restore` on a fresh data dir and database, where the reviewer logs in with their old
password, authenticator and key passphrase and reads the old tip. Hostile and damaged archives
are refused and leave the fresh install as it was."""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.canary import find
from tests.conftest import short_tempdir
from tests.e2e.stack import (
    ROOT,
    Stack,
    csrf_token,
    running_stack,
    wait_for,
)

pytestmark = pytest.mark.e2e


# For this test's own GnuPG homes, whose keys have no passphrase.
GPG_OPTIONS = ["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]


def gpg(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["gpg", "--homedir", str(home), *GPG_OPTIONS, *args],
        capture_output=True,
        check=check,
    )


@dataclass
class Organization:
    home: Path
    public_key: Path

    def decrypt(self, archive: Path) -> bytes:
        """The archive's plaintext, in this test's memory only."""
        return gpg(self.home, "--decrypt", str(archive)).stdout


@dataclass
class Original:
    stack: Stack
    archive: Path
    plaintext: bytes
    tip_id: int
    codename: str
    canaries: dict[str, str]
    file_body: bytes


@pytest.fixture(scope="module")
def organization():
    """An organization key pair; its secret half exists in this home only, as it would offline."""
    home = short_tempdir()
    home.chmod(0o700)
    gpg(home, "--quick-gen-key", "Organization <backup@example.org>", "future-default")
    public_key = home / "organization.asc"
    public_key.write_bytes(gpg(home, "--armor", "--export").stdout)
    yield Organization(home, public_key)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def original(organization):
    """A running install with one routed tip and a file, and a backup of it."""
    with running_stack() as stack:
        run = secrets.token_hex(6)
        canaries = {
            "message": f"msg-canary-{run}",
            "file_body": f"file-canary-{run}",
            "file_name": f"name-canary-{run}",
        }
        file_body = f"ledger {canaries['file_body']}".encode()
        tipster = requests.Session()
        page = tipster.get(stack.public_url("/submit/demo/"), timeout=10)
        receipt = tipster.post(
            stack.public_url("/submit/demo/"),
            data={
                "csrfmiddlewaretoken": csrf_token(page.text),
                "message": f"The wallet is {canaries['message']}",
            },
            files={"attachment": (f"{canaries['file_name']}.txt", file_body, "text/plain")},
            timeout=30,
        )
        assert receipt.status_code == 200, receipt.text
        codename = re.search(r'<p class="codename"[^>]*>([^<]+)</p>', receipt.text).group(1)
        [(tip_id,)] = stack.sql("SELECT id FROM tipline_tip")
        wait_for(
            lambda: stack.sql("SELECT 1 FROM tipline_tip WHERE routed_at IS NOT NULL"),
            30,
            "routing",
        )
        archive = stack.root / "tipline-backup.tar.gpg"
        # With the public site's settings: the one that knows the pepper, and that must still
        # find the reviewer homes it never uses.
        stack.manage(
            "backup",
            "--to",
            str(archive),
            site="public",
            env={"TIPLINE_ORGANIZATION_KEY_FILE": str(organization.public_key)},
        )
        yield Original(
            stack=stack,
            archive=archive,
            plaintext=organization.decrypt(archive),
            tip_id=tip_id,
            codename=codename,
            canaries=canaries,
            file_body=file_body,
        )


@contextmanager
def fresh_install():
    """A new data dir and a new, migrated database, nothing else."""
    stack = Stack(short_tempdir())
    try:
        stack.manage("migrate", "-v0")
        yield stack
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


@pytest.fixture(scope="module")
def fresh():
    """One fresh install shared by the refusal tests, each of which must leave it fresh."""
    with fresh_install() as stack:
        yield stack


def restore(stack: Stack, plaintext: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "restore", "--from", "-", *args],
        cwd=ROOT,
        input=plaintext,
        capture_output=True,
        env={**stack.env, "TIPLINE_SITE": "backoffice"},
        timeout=120,
    )


def install_state(stack: Stack) -> dict:
    """Every file and directory of the data dir (but the database and logs), and row counts."""
    paths = [
        p
        for p in stack.data_dir.rglob("*")
        if stack.logs not in p.parents and p != stack.logs and "tipline.sqlite3" not in p.name
    ]
    tables = ("auth_user", "tipline_tip", "tipline_auditevent", "tipline_desk")
    return {
        "files": {
            str(p.relative_to(stack.data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in paths
            if p.is_file()
        },
        "directories": sorted(str(p) for p in paths if p.is_dir()),
        "rows": {table: stack.sql(f"SELECT count(*) FROM {table}")[0][0] for table in tables},
    }


def members_of(plaintext: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(plaintext), mode="r|") as archive:
        return [(m, archive.extractfile(m).read()) for m in archive]


def tar_of(members: list[tuple[tarfile.TarInfo, bytes | None]], truncate: bool = False) -> bytes:
    """A tar of ``members``; ``truncate``: cut off inside the last member's data."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            info.size = len(data) if data is not None else 0
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
        end = archive.offset
    if truncate:
        last = members[-1][1]
        assert len(last) > 30
        return buffer.getvalue()[: end - -(-len(last) // 512) * 512 + 30]
    return buffer.getvalue()


def test_it_restores_a_backup_on_a_fresh_install_where_the_reviewer_reads_the_old_tip(
    original, organization
):
    started = time.monotonic()
    with fresh_install() as restored:
        # The operator's pipeline: decrypted where the organization key is, straight into
        # restore; the plaintext never lands in a file.
        decrypting = subprocess.Popen(
            ["gpg", "--homedir", str(organization.home), *GPG_OPTIONS, "-d", str(original.archive)],
            stdout=subprocess.PIPE,
        )
        result = subprocess.run(
            [sys.executable, "manage.py", "restore", "--from", "-"],
            cwd=ROOT,
            stdin=decrypting.stdout,
            capture_output=True,
            text=True,
            env={**restored.env, "TIPLINE_SITE": "backoffice"},
            timeout=120,
        )
        decrypting.stdout.close()
        assert decrypting.wait() == 0
        assert result.returncode == 0, result.stderr
        assert "Restored the backup of" in result.stdout
        restore_seconds = time.monotonic() - started

        assert "OK:" in restored.manage("verifyaudit")  # microseconds and all, the chain holds
        audit = restored.sql("SELECT action FROM tipline_auditevent ORDER BY id")
        actions = [action for (action,) in audit]
        assert "backup.create" not in actions  # recorded once the archive was complete
        assert actions[-1] == "backup.restore"
        reviewer_home = next((restored.data_dir / "gnupg" / "reviewers").iterdir())
        assert reviewer_home.stat().st_mode & 0o777 == 0o700
        assert all(
            p.stat().st_mode & 0o777 == 0o600 for p in reviewer_home.rglob("*") if p.is_file()
        )

        restored.otp_secret = original.stack.otp_secret
        restored.start_sites()
        reviewer = restored.reviewer_session()
        tip_page = restored.open_tip(reviewer, original.tip_id)
        assert original.canaries["message"] in tip_page.text
        assert original.canaries["file_name"] in tip_page.text
        link = re.search(r'href="(/tips/\d+/files/[0-9a-f]{32}/)"', tip_page.text).group(1)
        download = reviewer.get(restored.backoffice_url(link), timeout=30)
        assert download.content == original.file_body

        # The codename pepper came along: the tipster still gets in with their codename.
        tipster = requests.Session()
        checkin = tipster.get(restored.public_url("/checkin/"), timeout=10)
        status = tipster.post(
            restored.public_url("/checkin/"),
            data={"csrfmiddlewaretoken": csrf_token(checkin.text), "codename": original.codename},
            timeout=30,
        )
        assert status.status_code == 200
        assert status.url.endswith("/tip/")
    print(f"restore and first reads: {time.monotonic() - started:.1f}s ({restore_seconds:.1f}s)")


def test_it_writes_ciphertext_to_the_organization_key_only(original, organization):
    archive = original.archive.read_bytes()
    assert original.archive.stat().st_mode & 0o777 == 0o600
    empty_home = short_tempdir()
    try:
        listing = gpg(empty_home, "--list-packets", str(original.archive), check=False)
        packets = listing.stdout.decode()
    finally:
        shutil.rmtree(empty_home, ignore_errors=True)
    assert packets.startswith("# off=0") and ":pubkey enc packet:" in packets
    assert packets.count(":pubkey enc packet:") == 1  # to the organization key alone
    [(totp_key,)] = original.stack.sql("SELECT key FROM otp_totp_totpdevice")
    pepper = (original.stack.data_dir / "secrets" / "codename-pepper").read_text()
    secret_keys = [
        (original.stack.data_dir / "secrets" / f"{site}-secret-key").read_text()
        for site in ("public", "backoffice")
    ]
    plaintext_secrets = [totp_key, pepper, *secret_keys]
    # The plaintext does hold them (so the search below means something) ...
    assert len(find(plaintext_secrets, {"plaintext": original.plaintext})) == 4
    # ... and the archive holds none of them, nor anything of the tip.
    searched = [*plaintext_secrets, *original.canaries.values(), original.codename]
    assert find(searched, {"archive": archive}) == []

    names = [member.name for member, _ in members_of(original.plaintext)]
    assert names[0] == "manifest.json" and names[-1] == "checksums.json"
    assert any(name.startswith("files/stored/") for name in names)
    assert any(name.startswith("gnupg/reviewers/") and name.endswith(".key") for name in names)
    assert not any("S.gpg-agent" in name or "incoming" in name for name in names)
    [(detail,)] = original.stack.sql(
        "SELECT detail FROM tipline_auditevent WHERE action = 'backup.create'"
    )
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["sha256"] == hashlib.sha256(archive).hexdigest()


def hostile(original: Original, variant: str) -> bytes:
    """The original plaintext, with one thing wrong after a database member and a staged file,
    so that refusing it means undoing both."""
    members = members_of(original.plaintext)
    cut = next(i for i, (m, _) in enumerate(members) if m.name.startswith("gnupg/reviewers/")) + 1
    head, tail = members[:cut], members[cut:]
    if variant == "newer-code":
        manifest = json.loads(members[0][1])
        manifest["migrations"]["tipline"].append("9999_from_the_future")
        return tar_of([(members[0][0], json.dumps(manifest).encode()), *members[1:]])
    if variant == "altered":
        info, data = tail[0]
        return tar_of([*head, (info, bytes([data[0] ^ 1]) + data[1:]), *tail[1:]])
    if variant == "session-rows":
        row = {
            "model": "sessions.session",
            "pk": "x" * 40,
            "fields": {"session_data": "e30", "expire_date": "2100-01-01T00:00:00Z"},
        }
        info = tarfile.TarInfo("database/000002.jsonl")
        return tar_of([*head, (info, json.dumps(row).encode() + b"\n"), *tail])
    if variant == "truncated":
        return tar_of(members[:-1], truncate=True)  # checksums.json never comes
    evil = {
        "parent-directory": ("files/../../evil", tarfile.REGTYPE, ""),
        "absolute-path": (f"/tmp/evil-{secrets.token_hex(4)}", tarfile.REGTYPE, ""),
        "symlink": ("files/stored/evil", tarfile.SYMTYPE, "/etc/passwd"),
        "device": ("files/stored/evil", tarfile.CHRTYPE, ""),
    }[variant]
    info = tarfile.TarInfo(evil[0])
    info.type, info.linkname = evil[1], evil[2]
    data = b"evil" if info.type == tarfile.REGTYPE else None
    return tar_of([*head, (info, data), *tail])


@pytest.mark.parametrize(
    ("variant", "refusal"),
    [
        ("parent-directory", "not a name a backup writes"),
        ("absolute-path", "not a name a backup writes"),
        ("symlink", "links, directories and devices are refused"),
        ("device", "links, directories and devices are refused"),
        ("altered", "does not match its checksums"),
        ("session-rows", "are not part of a backup"),
        ("truncated", "ends early"),
        ("newer-code", "made by newer code"),
    ],
)
def test_it_refuses_a_hostile_or_damaged_archive_and_leaves_nothing(
    original, fresh, variant, refusal
):
    before = install_state(fresh)
    result = restore(fresh, hostile(original, variant))
    assert result.returncode != 0
    assert refusal in result.stderr.decode(), result.stderr
    assert install_state(fresh) == before
    assert not list(fresh.root.rglob("*evil*"))
    assert not list(Path("/tmp").glob("evil*"))


def test_it_refuses_to_restore_into_an_install_that_is_not_fresh(original):
    before = install_state(original.stack)
    result = restore(original.stack, original.plaintext)
    assert result.returncode != 0
    assert "this install is not fresh" in result.stderr.decode()
    assert "1 tips" in result.stderr.decode()
    assert install_state(original.stack) == before


def test_it_refuses_to_back_up_without_a_key_to_encrypt_to(original, organization):
    target = original.stack.root / "no-key.tar.gpg"
    with pytest.raises(RuntimeError, match="TIPLINE_ORGANIZATION_KEY_FILE"):
        original.stack.manage("backup", "--to", str(target))
    secret_key = original.stack.root / "secret.asc"
    secret_key.write_bytes(gpg(organization.home, "--armor", "--export-secret-keys").stdout)
    with pytest.raises(RuntimeError, match="secret key"):
        original.stack.manage("backup", "--to", str(target), "--recipient-file", str(secret_key))
    secret_key.unlink()
    assert not target.exists()
    assert not list(original.stack.root.glob(".no-key*"))

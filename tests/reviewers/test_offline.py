"""Reviewers who hold their key themselves: the back office hands them ciphertext only."""

import shutil
import subprocess

import pytest

from reviewers.tips import add_note
from tests.reviewers.test_reencrypt import submit_with_file
from tipline import crypto
from tipline.models import Attachment, AuditEvent, Message
from tipline.submissions import submit_followup

pytestmark = pytest.mark.django_db


@pytest.fixture
def offline_reviewer(make_reviewer, desk, tmp_path):
    """A reviewer whose secret key lives only on 'their own machine' (a copy outside the
    back office's key root)."""
    olive = make_reviewer("olive", desks=[desk], key="bob")
    home = crypto.reviewer_home(olive.key.fingerprint)
    crypto.stop_agent(home)
    own_machine = tmp_path / "own"
    shutil.copytree(home, own_machine, ignore=shutil.ignore_patterns("S.*"))
    shutil.rmtree(home)
    assert not crypto.holds_secret_key(olive.key.fingerprint)
    yield olive, own_machine
    crypto.stop_agent(own_machine)


def decrypt_at_home(home, passphrase, data: bytes) -> bytes:
    return subprocess.run(
        [
            "gpg",
            "--batch",
            "--homedir",
            str(home),
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            passphrase,
            "--decrypt",
        ],
        input=data,
        capture_output=True,
        check=True,
    ).stdout


def test_an_offline_reviewer_gets_every_part_encrypted_and_decrypts_it_at_home(
    backoffice, desk, make_reviewer, logged_in, settings, offline_reviewer
):
    olive, own_machine = offline_reviewer
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = submit_with_file(settings, body=b"offline-file-canary")
    submit_followup(tip, "offline-followup-canary", [], "en", desk.recipient_keys())
    add_note(alice.user, tip, "offline-note-canary")

    client = logged_in(olive)  # no unlock: there is nothing to unlock
    unlock_page = client.get("/key/unlock/").content.decode()
    assert "held offline" in unlock_page
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "canary" not in page
    message = Message.objects.get()
    note = tip.notes.get()
    attachment = Attachment.objects.get()
    expected = {
        f"/tips/{tip.pk}/encrypted/envelope/": b"envelope-canary-re",
        f"/tips/{tip.pk}/encrypted/message-{message.pk}/": b"offline-followup-canary",
        f"/tips/{tip.pk}/encrypted/note-{note.pk}/": b"offline-note-canary",
        f"/tips/{tip.pk}/files/{attachment.storage_name}/encrypted/": b"offline-file-canary",
    }
    for url, canary in expected.items():
        assert url in page
        download = client.get(url)
        assert download.status_code == 200, url
        body = b"".join(download.streaming_content) if download.streaming else download.content
        assert canary not in body
        assert canary in decrypt_at_home(own_machine, olive.key.passphrase, body)
    assert AuditEvent.objects.filter(action="tip.download_encrypted").count() == 3
    # The decrypted download sends the file as stored instead.
    redirect = client.get(f"/tips/{tip.pk}/files/{attachment.storage_name}/")
    assert redirect.status_code == 302 and redirect["Location"].endswith("/encrypted/")

    # Writing needs no secret key: replies and notes are encrypted to public keys.
    assert client.post(f"/tips/{tip.pk}/reply/", {"message": "thanks"}).status_code == 302
    assert client.post(f"/tips/{tip.pk}/notes/", {"note": "seen"}).status_code == 302
    # Re-encrypting does need one, so the back office refuses it.
    assert client.post(f"/tips/{tip.pk}/reencrypt/").status_code == 403


def test_parts_of_another_desk_stay_out_of_reach(
    backoffice, desk, other_desk, make_reviewer, logged_in, settings
):
    make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    tip = submit_with_file(settings)
    client = logged_in(bob)
    assert client.get(f"/tips/{tip.pk}/encrypted/envelope/").status_code == 404
    assert client.get(f"/tips/{tip.pk}/encrypted/bogus/").status_code == 404
    assert not AuditEvent.objects.filter(action="tip.download_encrypted").exists()

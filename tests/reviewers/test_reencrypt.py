import io
import json

import pytest
from django.test import Client

from reviewers import reencrypt
from reviewers.models import Note
from reviewers.tips import add_note
from tests.conftest import switch_site
from tipline import crypto, storage
from tipline.models import Attachment, AuditEvent, DeskMembership, Message, Tip
from tipline.submissions import submit_followup

pytestmark = pytest.mark.django_db


def submit_with_file(settings, body=b"file-canary-re"):
    """A tip with a file, through the public site, encrypted to the desk's readers now."""
    switch_site(settings, "public")
    settings.CODENAME_PEPPER = "pepper for tests"
    upload = io.BytesIO(body)
    upload.name = "evidence.txt"
    response = Client().post(
        "/submit/cyber/", {"message": "envelope-canary-re", "attachment": upload}
    )
    assert response.status_code in (200, 302), response.content
    switch_site(settings, "backoffice")
    settings.CODENAME_PEPPER = None
    return Tip.objects.order_by("-pk").first()


def stored_names(settings):
    return {p.stem for p in (settings.ENCRYPTED_FILES_DIR / "stored").iterdir()}


def test_a_reader_re_encrypts_a_tip_for_a_reviewer_who_joined_later(
    backoffice, desk, make_reviewer, logged_in, settings, django_capture_on_commit_callbacks
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = submit_with_file(settings)
    submit_followup(tip, "followup-canary-re", [], "en", desk.recipient_keys())
    add_note(alice.user, tip, "note-canary-re")
    old_file = Attachment.objects.get().storage_name

    bob = make_reviewer("bob", desks=[desk], key="bob")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(bytes(tip.envelope), bob.key.fingerprint, bob.key.passphrase)
    assert reencrypt.missing_readers(tip) == {bob.key.fingerprint}

    client = logged_in(alice, unlock=True)
    page = client.get(f"/tips/{tip.pk}/").content.decode()
    assert "cannot read this tip yet (bob)" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/tips/{tip.pk}/reencrypt/")
    assert response.status_code == 302

    tip.refresh_from_db()
    both = sorted([alice.key.fingerprint, bob.key.fingerprint])
    assert tip.recipients == both
    assert Message.objects.get().recipients == both
    assert Note.objects.get().recipients == both
    attachment = Attachment.objects.get()
    assert attachment.storage_name != old_file
    assert stored_names(settings) == {attachment.storage_name}  # the old ciphertext is gone
    for key in (alice.key, bob.key):
        envelope = crypto.decrypt_bytes(bytes(tip.envelope), key.fingerprint, key.passphrase)
        document = json.loads(envelope)
        assert document["answers"][0]["value"] == "envelope-canary-re"
        assert document["attachments"][0]["storage_name"] == attachment.storage_name
        plain = crypto.decrypt_file_stream(
            storage.path_of(attachment.storage_name), key.fingerprint, key.passphrase
        )
        assert b"".join(plain) == b"file-canary-re"
    event = AuditEvent.objects.get(action="tip.reencrypt")
    assert event.detail["added"] == [bob.key.fingerprint] and event.detail["parts"] == 4
    assert "canary" not in json.dumps(event.detail)

    client = logged_in(bob, unlock=True)
    page = client.get(f"/tips/{tip.pk}/").content.decode()
    assert "envelope-canary-re" in page and "followup-canary-re" in page
    assert "note-canary-re" in page
    download = client.get(f"/tips/{tip.pk}/files/{attachment.storage_name}/")
    assert b"".join(download.streaming_content) == b"file-canary-re"


def test_a_reviewer_who_cannot_read_the_tip_cannot_re_encrypt_it(
    backoffice, desk, make_reviewer, logged_in, settings
):
    make_reviewer("alice", desks=[desk], key="alice")
    tip = submit_with_file(settings)
    bob = make_reviewer("bob", desks=[desk], key="bob")
    before = (bytes(tip.envelope), list(tip.recipients), stored_names(settings))
    client = logged_in(bob, unlock=True)
    response = client.post(f"/tips/{tip.pk}/reencrypt/")
    assert response.status_code == 403
    tip.refresh_from_db()
    assert (bytes(tip.envelope), list(tip.recipients), stored_names(settings)) == before
    assert not AuditEvent.objects.filter(action="tip.reencrypt").exists()


def test_a_reviewer_who_left_the_desk_is_dropped(backoffice, desk, make_reviewer, settings):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    carol = make_reviewer("carol", desks=[desk], key="carol")
    tip = submit_with_file(settings)
    assert carol.key.fingerprint in tip.recipients
    DeskMembership.objects.filter(user=carol.user).delete()
    assert reencrypt.needs_reencryption(tip)
    result = reencrypt.reencrypt_tip(alice.user, tip, alice.key.passphrase)
    assert result.removed == [carol.key.fingerprint]
    assert tip.recipients == [alice.key.fingerprint]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(bytes(tip.envelope), carol.key.fingerprint, carol.key.passphrase)
    name = Attachment.objects.get().storage_name
    with pytest.raises(crypto.DecryptionError):
        b"".join(
            crypto.decrypt_file_stream(
                storage.path_of(name), carol.key.fingerprint, carol.key.passphrase
            )
        )


def test_moving_a_tip_re_encrypts_it_for_the_new_desk_only(
    backoffice, desk, other_desk, make_reviewer, logged_in, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    dave = make_reviewer("dave", desks=[other_desk], key="bob")
    tip = submit_with_file(settings)
    tip.assignee = alice.user
    tip.save()
    client = logged_in(alice, unlock=True)
    response = client.post(f"/tips/{tip.pk}/move/", {"desk": other_desk.pk})
    assert response.status_code == 302
    tip.refresh_from_db()
    assert tip.desk == other_desk and tip.assignee is None
    assert tip.recipients == [dave.key.fingerprint]
    assert client.get(f"/tips/{tip.pk}/").status_code == 404  # alice is not on that desk
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(bytes(tip.envelope), alice.key.fingerprint, alice.key.passphrase)
    event = AuditEvent.objects.get(action="tip.move")
    assert event.detail == {"old": desk.slug, "new": other_desk.slug}
    client = logged_in(dave, unlock=True)
    assert "envelope-canary-re" in client.get(f"/tips/{tip.pk}/").content.decode()


def test_a_failure_half_way_changes_nothing_and_leaves_no_file(
    backoffice, desk, make_reviewer, settings, monkeypatch
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = submit_with_file(settings)
    make_reviewer("bob", desks=[desk], key="bob")
    before = (bytes(tip.envelope), list(tip.recipients), stored_names(settings))

    def broken(*args, **kwargs):
        raise crypto.CryptoError("disk full")

    monkeypatch.setattr(crypto, "encrypt_bytes", broken)  # after the file was re-encrypted
    with pytest.raises(crypto.CryptoError):
        reencrypt.reencrypt_tip(alice.user, tip, alice.key.passphrase)
    tip.refresh_from_db()
    assert (bytes(tip.envelope), list(tip.recipients), stored_names(settings)) == before
    assert not list((settings.ENCRYPTED_FILES_DIR / "incoming").iterdir())


def test_the_backlog_page_re_encrypts_every_tip_a_reader_can_read(
    backoffice, desk, make_reviewer, logged_in, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    first = submit_with_file(settings)
    second = submit_with_file(settings, body=b"second")
    bob = make_reviewer("bob", desks=[desk], key="bob")
    client = logged_in(alice, unlock=True)
    assert "2 tips" in client.get("/reencrypt/").content.decode()
    assert client.post("/reencrypt/").status_code == 302
    for tip in (first, second):
        tip.refresh_from_db()
        assert bob.key.fingerprint in tip.recipients
    assert "0 tips" in client.get("/reencrypt/").content.decode()

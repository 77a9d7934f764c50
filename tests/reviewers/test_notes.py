import io

from django.test import Client

from reviewers.models import Note
from tests.conftest import switch_site
from tests.reviewers.test_access import make_tip
from tipline import crypto
from tipline.models import Attachment, AuditEvent


def test_a_note_is_encrypted_to_the_desk_and_shown_to_its_readers(
    backoffice, desk, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)
    client = logged_in(alice, unlock=True)
    response = client.post(f"/tips/{tip.pk}/notes/", {"note": "note-canary <b>bold</b>"})
    assert response.status_code == 302
    note = Note.objects.get()
    assert b"note-canary" not in bytes(note.body)
    assert note.recipients == [alice.key.fingerprint]
    page = client.get(f"/tips/{tip.pk}/").content.decode()
    assert "note-canary &lt;b&gt;bold&lt;/b&gt;" in page  # plain text, shown inert
    event = AuditEvent.objects.get(action="tip.note")
    assert "note-canary" not in str(event.detail)


def test_another_desk_cannot_add_or_read_notes(
    backoffice, desk, other_desk, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    tip = make_tip(desk, alice.key)
    client = logged_in(bob, unlock=True)
    assert client.post(f"/tips/{tip.pk}/notes/", {"note": "x"}).status_code == 404
    assert Note.objects.count() == 0


def test_a_reviewer_downloads_the_encrypted_original(
    backoffice, public_site, desk, make_reviewer, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    upload = io.BytesIO(b"original-canary")
    upload.name = "a.txt"
    Client().post("/submit/cyber/", {"message": "m", "attachment": upload})
    attachment = Attachment.objects.get()
    switch_site(settings, "backoffice")
    client = Client()
    client.post(
        "/login/",
        {"username": "alice", "password": "a-long-test-password-1", "otp_token": alice.totp()},
    )
    url = f"/tips/{attachment.tip_id}/files/{attachment.storage_name}/encrypted/"
    response = client.get(url)  # no key unlock needed: the file stays encrypted
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert b"original-canary" not in body
    assert response["Content-Disposition"].endswith('.gpg"')
    path = settings.ENCRYPTED_FILES_DIR / "out.gpg"
    path.write_bytes(body)
    plain = b"".join(crypto.decrypt_file_stream(path, alice.key.fingerprint, alice.key.passphrase))
    assert plain == b"original-canary"
    assert AuditEvent.objects.filter(action="attachment.download_encrypted").exists()

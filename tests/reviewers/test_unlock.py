import io

from django.contrib.sessions.models import Session
from django.test import Client

from tests.reviewers.test_access import make_tip
from tipline.models import Attachment


def test_the_passphrase_is_nowhere_in_the_session_store(backoffice, desk, make_reviewer, logged_in):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = logged_in(alice, unlock=True)
    cookie = client.cookies["tipline_key_unlock"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert alice.key.passphrase not in cookie.value
    for session in Session.objects.all():
        assert alice.key.passphrase not in session.session_data
        assert alice.key.passphrase not in str(session.get_decoded())


def test_a_stolen_cookie_is_useless_in_another_session(backoffice, desk, make_reviewer, logged_in):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)
    client = logged_in(alice, unlock=True)
    stolen = client.cookies["tipline_key_unlock"].value
    other = Client()
    other.force_login(alice.user)
    from django_otp import DEVICE_ID_SESSION_KEY

    session = other.session
    session[DEVICE_ID_SESSION_KEY] = alice.device.persistent_id
    session.save()
    other.cookies["tipline_key_unlock"] = stolen
    response = other.get(f"/tips/{tip.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/key/unlock/")


def test_a_tampered_cookie_is_refused(backoffice, desk, make_reviewer, logged_in):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)
    client = logged_in(alice, unlock=True)
    value = client.cookies["tipline_key_unlock"].value
    client.cookies["tipline_key_unlock"] = value[:-4] + ("AAAA" if value[-4:] != "AAAA" else "BBBB")
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/key/unlock/")


def test_a_reviewer_downloads_a_decrypted_attachment(
    backoffice, public_site, desk, make_reviewer, settings
):
    from tests.conftest import switch_site

    alice = make_reviewer("alice", desks=[desk], key="alice")
    upload = io.BytesIO(b"attachment canary-dl-88")
    upload.name = "evidence \u202e.txt"
    Client().post("/submit/cyber/", {"message": "see file", "attachment": upload})
    attachment = Attachment.objects.get()
    switch_site(settings, "backoffice")
    client = Client()
    client.post(
        "/login/",
        {"username": "alice", "password": "a-long-test-password-1", "otp_token": alice.totp()},
    )
    client.post("/key/unlock/", {"passphrase": alice.key.passphrase})
    url = f"/tips/{attachment.tip_id}/files/{attachment.storage_name}/"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"attachment canary-dl-88"

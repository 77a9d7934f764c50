import json

import pytest
from django.urls import get_resolver

from tests.conftest import PASSWORD
from tipline import crypto
from tipline.models import AuditEvent, Tip


def make_tip(desk, *keys, message="the tip canary-bo-31", answers=None):
    """A tip encrypted to ``keys``: one message answer, or the given ``answers``."""
    public = [crypto.PublicKey(k.fingerprint, k.armored) for k in keys]
    if answers is None:
        answers = [
            {
                "key": "message",
                "kind": "long_text",
                "label": "What do you know?",
                "value": message,
                "display": message,
            }
        ]
    body = json.dumps({"version": 2, "answers": answers, "attachments": [], "language": "en"})
    return Tip.objects.create(
        desk=desk,
        codename_hash=f"{Tip.objects.count():064x}",
        envelope=crypto.encrypt_bytes(body.encode(), public),
        recipients=[k.fingerprint for k in keys],
    )


def backoffice_paths():
    """Every back-office URL, with sample arguments, generated from the URLconf."""
    samples = {"pk": "1", "name": "0" * 32}
    paths = []
    for pattern in get_resolver().url_patterns[0].url_patterns:
        route = str(pattern.pattern)
        for name, value in samples.items():
            route = route.replace(f"<int:{name}>", value).replace(f"<str:{name}>", value)
        paths.append("/" + route)
    return paths


def test_it_redirects_every_page_to_login_without_a_session(client, backoffice):
    # An invitation link needs no login: its token is the credential (test_invitations.py).
    # The passkey scripts' message catalog is the same for everyone.
    public = ("/login/", "/invite/<str:token>/", "/passkeys/i18n.js")
    paths = [p for p in backoffice_paths() if p not in public]
    assert "/tips/1/" in paths and "/" in paths
    # The passkey ceremonies are JSON, called by a script: they refuse rather than redirect.
    ceremonies = [p for p in paths if p.endswith(("/begin/", "/complete/"))]
    assert len(ceremonies) == 4
    for path in paths:
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            if path in ceremonies:
                assert response.status_code == 403, (method, path)
                continue
            assert response.status_code in (302, 405), (method, path)
            if response.status_code == 302:
                assert response["Location"].startswith("/login/"), (method, path)


def test_it_refuses_a_password_only_session(client, backoffice, desk, make_reviewer):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    make_tip(desk, alice.key)
    client.force_login(alice.user)  # authenticated, but no TOTP verified in this session
    for path in ("/", "/tips/1/", "/key/unlock/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_logs_in_with_password_and_totp(client, backoffice, make_reviewer, desk):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "otp_token": alice.totp()}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(actor=alice.user, action="reviewer.login").exists()


@pytest.mark.parametrize("field", ["password", "otp_token"])
def test_it_refuses_a_wrong_password_or_code(client, backoffice, make_reviewer, field):
    alice = make_reviewer("alice", key="alice")
    data = {"username": "alice", "password": PASSWORD, "otp_token": alice.totp()}
    data[field] = "000000" if field == "otp_token" and data[field] != "000000" else "wrong"
    response = client.post("/login/", data)
    assert response.status_code == 400
    assert b"Invalid username, password or code" in response.content
    assert client.get("/").status_code == 302


def test_it_refuses_a_replayed_code(client, backoffice, make_reviewer, logged_in):
    alice = make_reviewer("alice", key="alice")
    code = alice.totp()
    data = {"username": "alice", "password": PASSWORD, "otp_token": code}
    assert client.post("/login/", data).status_code == 302
    client.post("/logout/")
    assert client.post("/login/", data).status_code == 400


def test_it_requires_an_unlocked_key_to_read_a_tip(backoffice, desk, make_reviewer, logged_in):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)
    client = logged_in(alice)
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/key/unlock/")
    response = client.post("/key/unlock/", {"passphrase": "wrong passphrase"})
    assert response.status_code == 400
    response = client.post(
        f"/key/unlock/?next=/tips/{tip.pk}/",
        {"passphrase": alice.key.passphrase, "next": f"/tips/{tip.pk}/"},
    )
    assert response["Location"] == f"/tips/{tip.pk}/"
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 200
    assert b"canary-bo-31" in response.content
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(actor=alice.user, action="tip.read", tip_id=tip.pk).exists()


def test_an_admin_who_is_not_on_the_desk_cannot_read_its_tips(
    backoffice, desk, other_desk, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    admin = make_reviewer("root", desks=[other_desk], key="bob", is_staff=True, is_superuser=True)
    tip = make_tip(desk, alice.key)
    client = logged_in(admin, unlock=True)
    assert client.get(f"/tips/{tip.pk}/").status_code == 404
    assert b"canary" not in client.get("/").content
    assert f"#{tip.pk}".encode() not in client.get("/").content


def test_a_reviewer_of_another_desk_cannot_read_or_list_a_tip(
    backoffice, desk, other_desk, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    tip = make_tip(desk, alice.key)
    client = logged_in(bob, unlock=True)
    assert client.get(f"/tips/{tip.pk}/").status_code == 404
    assert f'href="/tips/{tip.pk}/"'.encode() not in client.get("/").content


def test_a_member_who_joined_after_the_tip_is_told_it_is_not_readable(
    backoffice, desk, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)
    carol = make_reviewer("carol", desks=[desk], key="carol")
    client = logged_in(carol, unlock=True)
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 200
    assert b"canary" not in response.content
    assert b"re-encrypt" in response.content
    assert AuditEvent.objects.filter(actor=carol.user, action="tip.read_refused").exists()


def test_the_inbox_lists_only_my_desks_tips(backoffice, desk, other_desk, make_reviewer, logged_in):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    mine, theirs = make_tip(desk, alice.key), make_tip(other_desk, bob.key)
    content = logged_in(alice).get("/").content
    assert f'href="/tips/{mine.pk}/"'.encode() in content
    assert f'href="/tips/{theirs.pk}/"'.encode() not in content


def test_logout_forgets_the_unlocked_key(backoffice, desk, make_reviewer, logged_in):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)
    client = logged_in(alice, unlock=True)
    assert client.get(f"/tips/{tip.pk}/").status_code == 200
    cookie = client.cookies["tipline_key_unlock"].value
    client.post("/logout/")
    client = logged_in(alice, drift=1)  # the first code cannot be replayed
    client.cookies["tipline_key_unlock"] = cookie  # an old cookie is useless in a new session
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/key/unlock/")


def test_a_member_who_cannot_read_a_tip_cannot_reply_to_it(
    backoffice, desk, make_reviewer, logged_in
):
    from tipline.models import Message

    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)
    tip.reply_public_key = b"\x09" * 32
    tip.save()
    carol = make_reviewer("carol", desks=[desk], key="carol")
    response = logged_in(carol, unlock=True).post(f"/tips/{tip.pk}/reply/", {"message": "hi"})
    assert response.status_code == 400
    assert Message.objects.count() == 0


def test_a_reply_to_a_tip_without_a_reply_key_is_refused_cleanly(
    backoffice, desk, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)  # made without a reply key
    response = logged_in(alice, unlock=True).post(f"/tips/{tip.pk}/reply/", {"message": "hi"})
    assert response.status_code == 400
    assert b"no reply key" in response.content

"""Opening a tip costs one decryption once its parts have been read: the reading copy.

Decryptions are counted where gpg is called (``crypto.decrypt_bytes``, which still runs), and
the copy is checked for what matters: it is ciphertext, it is encrypted only to keys that could
read every part in it, and it is dropped as soon as a part is gone or re-encrypted away from
one of its keys.
"""

import json

import pytest
from django.test import Client

from reviewers import reencrypt
from reviewers.models import Note, ReadingCopy
from tests.conftest import PASSWORD
from tests.reviewers.test_access import make_tip
from tests.reviewers.test_lockout import fresh_code
from tipline import crypto
from tipline.models import DeskMembership, Message


def public(*reviewers):
    return [crypto.PublicKey(r.key.fingerprint, r.key.armored) for r in reviewers]


def follow_up(tip, text, *readers):
    body = json.dumps({"version": 2, "message": text, "attachments": []}).encode()
    return Message.objects.create(
        tip=tip,
        author=Message.Author.TIPSTER,
        body_for_desk=crypto.encrypt_bytes(body, public(*readers)),
        recipients=[r.key.fingerprint for r in readers],
    )


def note(tip, author, text, *readers):
    body = json.dumps({"version": 1, "note": text}).encode()
    return Note.objects.create(
        tip=tip,
        author=author.user,
        body=crypto.encrypt_bytes(body, public(*readers)),
        recipients=[r.key.fingerprint for r in readers],
    )


@pytest.fixture
def alice(make_reviewer, desk):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def tip_with_ten_parts(desk, alice):
    tip = make_tip(desk, alice.key, message="envelope-canary")
    for number in range(5):
        follow_up(tip, f"follow-up-canary-{number}", alice)
    for number in range(4):
        note(tip, alice, f"note-canary-{number}", alice)
    return tip


def open_page(client, tip) -> str:
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def texts_in(page: str) -> list[str]:
    expected = ["envelope-canary"]
    expected += [f"follow-up-canary-{n}" for n in range(5)]
    expected += [f"note-canary-{n}" for n in range(4)]
    return [text for text in expected if text in page]


def test_opening_a_tip_again_costs_one_decryption(
    alice, tip_with_ten_parts, logged_in, decryptions
):
    client = logged_in(alice, unlock=True)
    decryptions.clear()  # the unlock checked the passphrase
    first = open_page(client, tip_with_ten_parts)
    assert len(decryptions) == 10
    assert len(texts_in(first)) == 10

    decryptions.clear()
    again = open_page(client, tip_with_ten_parts)
    assert len(decryptions) == 1
    assert texts_in(again) == texts_in(first)
    copy = ReadingCopy.objects.get(tip=tip_with_ten_parts)
    assert b"canary" not in bytes(copy.body)
    assert copy.recipients == [alice.key.fingerprint]


def test_a_new_part_costs_one_more_decryption(alice, tip_with_ten_parts, logged_in, decryptions):
    client = logged_in(alice, unlock=True)
    open_page(client, tip_with_ten_parts)
    follow_up(tip_with_ten_parts, "late-canary", alice)
    decryptions.clear()
    assert "late-canary" in open_page(client, tip_with_ten_parts)
    assert len(decryptions) == 2
    decryptions.clear()
    assert "late-canary" in open_page(client, tip_with_ten_parts)
    assert len(decryptions) == 1


def test_the_copy_is_encrypted_only_to_keys_that_read_every_part(
    desk, alice, make_reviewer, logged_in
):
    bob = make_reviewer("bob", desks=[desk], key="bob")
    tip = make_tip(desk, alice.key, bob.key, message="envelope-canary")
    follow_up(tip, "shared-canary", alice, bob)
    note(tip, alice, "alice-only-canary", alice)  # written before bob could read the desk
    client = logged_in(alice, unlock=True)
    open_page(client, tip)
    copy = ReadingCopy.objects.get(tip=tip)
    assert copy.recipients == [alice.key.fingerprint]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(bytes(copy.body), bob.key.fingerprint, bob.key.passphrase)


def test_a_copy_left_by_a_reader_who_lost_access_is_not_used(
    desk, alice, make_reviewer, logged_in, decryptions
):
    bob = make_reviewer("bob", desks=[desk], key="bob")
    tip = make_tip(desk, alice.key, bob.key, message="envelope-canary")
    follow_up(tip, "shared-canary", alice, bob)
    client = logged_in(alice, unlock=True)
    open_page(client, tip)
    assert sorted(ReadingCopy.objects.get(tip=tip).recipients) == sorted(
        [alice.key.fingerprint, bob.key.fingerprint]
    )
    # Bob leaves the desk and the tip is re-encrypted to its readers: the copy goes with it.
    DeskMembership.objects.filter(user=bob.user).delete()
    tip.refresh_from_db()
    reencrypt.reencrypt_tip(alice.user, tip, alice.key.passphrase)
    assert not ReadingCopy.objects.filter(tip=tip).exists()
    open_page(client, tip)
    assert ReadingCopy.objects.get(tip=tip).recipients == [alice.key.fingerprint]


def test_a_copy_is_checked_against_the_parts_before_use(alice, tip_with_ten_parts, logged_in):
    """Without relying on any code path to delete it: a copy whose keys a part no longer has,
    or that holds a part that is gone, is dropped and made again."""
    client = logged_in(alice, unlock=True)
    open_page(client, tip_with_ten_parts)
    gone = Note.objects.filter(tip=tip_with_ten_parts).first()
    text = json.loads(
        crypto.decrypt_bytes(bytes(gone.body), alice.key.fingerprint, alice.key.passphrase)
    )["note"]
    gone.delete()
    page = open_page(client, tip_with_ten_parts)
    assert text not in page
    copy = ReadingCopy.objects.get(tip=tip_with_ten_parts)
    content = crypto.decrypt_bytes(bytes(copy.body), alice.key.fingerprint, alice.key.passphrase)
    assert text.encode() not in content
    assert f"note:{gone.pk}" not in copy.parts


def test_a_reader_outside_the_copy_decrypts_part_by_part(
    desk, alice, make_reviewer, logged_in, decryptions
):
    bob = make_reviewer("bob", desks=[desk], key="bob")
    tip = make_tip(desk, alice.key, bob.key, message="envelope-canary")
    note(tip, alice, "alice-only-canary", alice)
    follow_up(tip, "shared-canary", alice, bob)
    open_page(logged_in(alice, unlock=True), tip)
    assert ReadingCopy.objects.get(tip=tip).recipients == [alice.key.fingerprint]

    bob_client = Client()
    bob_client.post(
        "/login/", {"username": "bob", "password": PASSWORD, "otp_token": fresh_code(bob)}
    )
    bob_client.post("/key/unlock/", {"passphrase": bob.key.passphrase})
    decryptions.clear()
    page = open_page(bob_client, tip)
    assert "shared-canary" in page and "alice-only-canary" not in page
    assert decryptions == [bob.key.fingerprint] * 2

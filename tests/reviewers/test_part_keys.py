"""A tip's first opening costs one decryption with the reviewer's key: its part key.

Tips here are sent, followed up, answered and annotated through the real code paths, and
decryptions with a reviewer's key are counted where gpg is called (``crypto.decrypt_bytes``,
which still runs). What is checked besides the count: the part key and the part passphrases are
never stored unencrypted, a part is never sealed for a reader who is not one of its recipients,
re-encryption gives the tip a new part key, and every part still opens with the reviewer's key
alone (a reviewer whose key is held offline, an export).
"""

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.apps import apps

from reviewers import cases, reencrypt, tips
from reviewers.models import Note, ReadingCopy
from tests.reviewers.test_cases import gpg, investigator  # noqa: F401  (a fixture)
from tests.reviewers.test_reading_copy import open_page
from tipline import crypto, part_keys, submissions
from tipline.models import DeskMembership, Message, Tip

ANSWER = {"key": "message", "kind": "long_text", "label": "What do you know?"}


def public(*reviewers):
    return [crypto.PublicKey(r.key.fingerprint, r.key.armored) for r in reviewers]


def send_tip(settings, desk, text, *readers) -> Tip:
    """A tip as the public site stores it (the codename needs the public site's pepper)."""
    pepper = settings.CODENAME_PEPPER
    settings.CODENAME_PEPPER = "pepper for tests"
    try:
        answers = [{**ANSWER, "value": text, "display": text}]
        receipt = submissions.submit_tip(desk, answers, [], "en", public(*readers))
    finally:
        settings.CODENAME_PEPPER = pepper
    return Tip.objects.get(pk=receipt.tip_id)


def follow_up(tip, text, *readers) -> Message:
    tip.refresh_from_db()
    return submissions.submit_followup(tip, text, [], "en", public(*readers))


@pytest.fixture
def alice(make_reviewer, desk):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def bob(make_reviewer, desk):
    return make_reviewer("bob", desks=[desk], key="bob")


def ten_part_tip(settings, desk, alice, *others):
    """Envelope, five follow-ups, one reply and three notes: ten OpenPGP messages."""
    readers = (alice, *others)
    tip = send_tip(settings, desk, "envelope-canary", *readers)
    for number in range(5):
        follow_up(tip, f"follow-up-canary-{number}", *readers)
    tips.send_reply(alice.user, tip, "reply-canary")
    for number in range(3):
        tips.add_note(alice.user, tip, f"note-canary-{number}")
    return tip


EXPECTED = (
    ["envelope-canary", "reply-canary"]
    + [f"follow-up-canary-{n}" for n in range(5)]
    + [f"note-canary-{n}" for n in range(3)]
)


def first_opening(logged_in, reviewer, tip, decryptions) -> tuple[str, list[str], int]:
    """The tip page as ``reviewer`` first sees it: the page, the expected texts missing from it,
    and how many decryptions with a reviewer's key it took."""
    client = logged_in(reviewer, unlock=True)
    decryptions.clear()  # the unlock checked the passphrase
    page = open_page(client, tip)
    return page, [text for text in EXPECTED if text not in page], len(decryptions)


def part_key_of(tip, reviewer) -> bytes:
    """The tip's part key, as only a reader can get it: from the decrypted envelope."""
    tip.refresh_from_db()
    document = json.loads(
        crypto.decrypt_bytes(bytes(tip.envelope), reviewer.key.fingerprint, reviewer.key.passphrase)
    )
    return part_keys.private_from(document)


def sealed_parts(tip):
    parts = [(m.body_for_desk, m.sealed_passphrase) for m in Message.objects.filter(tip=tip)]
    return parts + [(n.body, n.sealed_passphrase) for n in Note.objects.filter(tip=tip)]


def test_a_first_opening_costs_one_decryption_with_the_reviewers_key(
    settings, backoffice, desk, alice, logged_in, decryptions
):
    tip = ten_part_tip(settings, desk, alice)
    assert not ReadingCopy.objects.filter(tip=tip).exists()
    _page, missing, count = first_opening(logged_in, alice, tip, decryptions)
    assert missing == [] and count == 1


def test_each_part_still_opens_with_the_reviewers_key_alone(settings, backoffice, desk, alice):
    tip = ten_part_tip(settings, desk, alice)
    parts = sealed_parts(tip)
    assert len(parts) == 9 and all(sealed for _body, sealed in parts)
    for body, _sealed in parts:
        document = json.loads(
            crypto.decrypt_bytes(bytes(body), alice.key.fingerprint, alice.key.passphrase)
        )
        assert "canary" in json.dumps(document)


def test_the_part_key_and_passphrases_are_stored_nowhere_in_the_clear(
    settings, backoffice, desk, alice, gpg_dirs
):
    tip = ten_part_tip(settings, desk, alice)
    private = part_key_of(tip, alice)
    assert private is not None and len(private) == 32
    passphrases = [
        part_keys.open_secret(private, bytes(sealed), tip.pk) for _b, sealed in sealed_parts(tip)
    ]
    secrets = [private, base64.b64encode(private)] + [p.encode() for p in passphrases]

    stored = []
    for model in apps.get_models():
        for row in model.objects.values_list(*[f.attname for f in model._meta.concrete_fields]):
            stored += [bytes(v) if isinstance(v, memoryview) else v for v in row]
    stored_bytes = [v for v in stored if isinstance(v, bytes)]
    stored_text = [json.dumps(v, default=str) for v in stored if not isinstance(v, bytes)]
    files = [p.read_bytes() for p in Path(gpg_dirs).rglob("*") if p.is_file()]
    for secret in secrets:
        assert not any(secret in value for value in stored_bytes + files)
        assert not any(secret.decode("latin-1") in value for value in stored_text)


def test_a_part_passphrase_opens_its_part_once_and_is_never_cached(
    settings, backoffice, desk, alice
):
    tip = ten_part_tip(settings, desk, alice)
    private = part_key_of(tip, alice)
    body, sealed = sealed_parts(tip)[0]
    passphrase = part_keys.open_secret(private, bytes(sealed), tip.pk)
    assert b"follow-up-canary-0" in crypto.decrypt_part(bytes(body), passphrase)
    # Had gpg kept the passphrase, a wrong one would now open the same message.
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_part(bytes(body), "a" * len(passphrase))
    # No secret key is involved: the home it runs in holds none.
    assert crypto.secret_key_fingerprints(crypto.part_home()) == []


def test_a_sealed_passphrase_opens_only_for_its_own_tip(settings, backoffice, desk, alice):
    tip = ten_part_tip(settings, desk, alice)
    private = part_key_of(tip, alice)
    _body, sealed = sealed_parts(tip)[0]
    with pytest.raises(part_keys.PartKeyError):
        part_keys.open_secret(private, bytes(sealed), tip.pk + 1)
    other_private, _other_public = part_keys.new_pair()
    with pytest.raises(part_keys.PartKeyError):
        part_keys.open_secret(other_private, bytes(sealed), tip.pk)


def test_a_part_is_not_sealed_for_a_reader_who_left(
    settings, backoffice, desk, alice, bob, logged_in, decryptions
):
    tip = send_tip(settings, desk, "envelope-canary", alice, bob)
    # Bob read the tip, so he may hold its part key; then he leaves the desk.
    assert part_key_of(tip, bob) is not None
    DeskMembership.objects.filter(user=bob.user).delete()
    message = follow_up(tip, "after-bob-left", alice)
    note = tips.add_note(alice.user, tip, "note-after-bob-left")
    reply = tips.send_reply(alice.user, tip, "reply-after-bob-left")
    for part in (message, reply):
        part.refresh_from_db()
        assert part.recipients == [alice.key.fingerprint] and part.sealed_passphrase is None
    note.refresh_from_db()
    assert note.sealed_passphrase is None

    page, _missing, count = first_opening(logged_in, alice, tip, decryptions)
    assert "after-bob-left" in page and "note-after-bob-left" in page
    assert count == 4  # the envelope, then each unsealed part with Alice's key


def test_a_part_is_not_sealed_before_a_new_reader_is_given_the_tip(
    settings, backoffice, desk, alice, make_reviewer
):
    tip = send_tip(settings, desk, "envelope-canary", alice)
    carol = make_reviewer("carol", desks=[desk], key="bob")
    message = follow_up(tip, "for-both", alice, carol)
    assert message.sealed_passphrase is None


def test_reencryption_gives_the_tip_a_new_part_key(
    settings, backoffice, desk, alice, bob, logged_in, decryptions
):
    tip = ten_part_tip(settings, desk, alice, bob)
    old_public = bytes(tip.part_public_key)
    old_private = part_key_of(tip, bob)
    DeskMembership.objects.filter(user=bob.user).delete()
    reencrypt.reencrypt_tip(alice.user, tip, alice.key.passphrase)

    tip.refresh_from_db()
    assert bytes(tip.part_public_key) != old_public
    new_private = part_key_of(tip, alice)
    assert new_private != old_private
    for _body, sealed in sealed_parts(tip):
        part_keys.open_secret(new_private, bytes(sealed), tip.pk)
        with pytest.raises(part_keys.PartKeyError):
            part_keys.open_secret(old_private, bytes(sealed), tip.pk)

    _page, missing, count = first_opening(logged_in, alice, tip, decryptions)
    assert missing == [] and count == 1


def test_a_part_that_does_not_open_with_its_passphrase_opens_with_the_key(
    settings, backoffice, desk, alice, logged_in, decryptions
):
    tip = ten_part_tip(settings, desk, alice)
    first, second = Message.objects.filter(tip=tip).order_by("pk")[:2]
    # A swapped (or damaged) sealed passphrase: the part is read with the reviewer's key.
    Message.objects.filter(pk=first.pk).update(sealed_passphrase=second.sealed_passphrase)
    _page, missing, count = first_opening(logged_in, alice, tip, decryptions)
    assert missing == [] and count == 2


def test_a_tip_stored_without_a_part_key_opens_as_before(
    settings, backoffice, desk, alice, logged_in, decryptions
):
    tip = ten_part_tip(settings, desk, alice)
    Tip.objects.filter(pk=tip.pk).update(part_public_key=None)
    Message.objects.filter(tip=tip).update(sealed_passphrase=None)
    Note.objects.filter(tip=tip).update(sealed_passphrase=None)
    _page, missing, count = first_opening(logged_in, alice, tip, decryptions)
    assert missing == [] and count == 10


def test_a_part_key_changed_in_the_database_is_not_trusted(
    settings, backoffice, desk, alice, logged_in, decryptions, caplog
):
    tip = ten_part_tip(settings, desk, alice)
    # Someone with write access swaps in a key of their own: parts written after that would be
    # sealed to them. The envelope's key no longer matches, so the reader says so and uses its key.
    _private, theirs = part_keys.new_pair()
    Tip.objects.filter(pk=tip.pk).update(part_public_key=theirs)
    _page, missing, count = first_opening(logged_in, alice, tip, decryptions)
    assert missing == [] and count == 10
    assert "does not match its envelope" in caplog.text


def test_an_export_holds_every_part_for_one_decryption_of_the_tip(
    settings,
    backoffice,
    desk,
    alice,
    logged_in,
    decryptions,
    investigator,  # noqa: F811  (the fixture imported above)
):
    home, _fingerprint, _subkey, armored = investigator
    tip = ten_part_tip(settings, desk, alice)
    case = cases.create_case(alice.user, desk, "export-title", tip)
    client = logged_in(alice, unlock=True)
    decryptions.clear()
    response = client.post(f"/cases/{case.pk}/export/", {"recipient_key": armored})
    assert response.status_code == 200
    plaintext = gpg(home, "--decrypt", data=b"".join(response.streaming_content))
    document = zipfile.ZipFile(io.BytesIO(plaintext)).read(f"case-{case.pk}/tips/{tip.pk}/tip.json")
    assert [text for text in EXPECTED if text not in document.decode()] == []
    assert len(decryptions) == 2  # the case's title, and the tip's envelope
    # The home the parts were opened in holds no plaintext (and no secret key).
    assert Path(settings.PART_GNUPG_HOME).is_dir()
    for path in Path(settings.PART_GNUPG_HOME).rglob("*"):
        if path.is_file() and not path.name.startswith("S."):
            assert b"canary" not in path.read_bytes(), path

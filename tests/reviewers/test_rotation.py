import shutil

import pytest

from reviewers import cases, reencrypt
from tests.reviewers.test_cases import investigator  # noqa: F401  (fixture)
from tests.reviewers.test_reencrypt import submit_with_file
from tipline import crypto
from tipline.models import AuditEvent, ReviewerKey

pytestmark = pytest.mark.django_db

NEW = "a brand new key passphrase"


def test_a_rotated_key_reads_every_old_tip_and_the_old_key_is_destroyed(
    backoffice, desk, make_reviewer, logged_in, settings, monkeypatch
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    first = submit_with_file(settings)
    second = submit_with_file(settings, body=b"second")
    case = cases.create_case(alice.user, desk, "rotation-title", first)
    old = alice.key.fingerprint
    client = logged_in(alice, unlock=True)

    response = client.post(
        "/me/key/",
        {
            "action": "start",
            "old_passphrase": alice.key.passphrase,
            "new_passphrase": NEW,
            "confirm": NEW,
        },
    )
    assert response.status_code == 302
    new = ReviewerKey.objects.get(user=alice.user).fingerprint
    assert new != old and ReviewerKey.objects.get().previous_fingerprint == old
    # New tips go to the new key straight away.
    third = submit_with_file(settings, body=b"third")
    assert third.recipients == [new]
    assert "2 tip(s) or case(s)" not in client.get("/me/key/").content.decode()
    assert "3 tip(s) or case(s)" in client.get("/me/key/").content.decode()

    monkeypatch.setattr(reencrypt, "BATCH_PARTS", 1)  # one tip per request
    response = client.post("/me/key/", {"action": "continue", "old_passphrase": "wrong"})
    assert response.status_code == 400
    requests = 0
    while ReviewerKey.objects.get().previous_fingerprint and requests < 5:
        client.post("/me/key/", {"action": "continue", "old_passphrase": alice.key.passphrase})
        requests += 1
    assert requests == 3  # the case, then one tip per request

    key = ReviewerKey.objects.get()
    assert key.previous_fingerprint == ""
    assert not crypto.reviewer_home(old).exists()
    for tip in (first, second):
        tip.refresh_from_db()
        assert tip.recipients == [new]
        assert crypto.decrypt_bytes(bytes(tip.envelope), new, NEW)
    case.refresh_from_db()
    assert case.recipients == [new]
    page = client.get(f"/tips/{first.pk}/").content.decode()
    assert "envelope-canary-re" in page  # the session was re-sealed with the new passphrase
    assert AuditEvent.objects.filter(action="key.rotation_finished").exists()
    with pytest.raises(crypto.DecryptionError):
        crypto.check_passphrase(old, alice.key.passphrase)


def test_an_offline_reviewer_registers_a_new_public_key_and_the_desk_re_encrypts(
    backoffice,
    desk,
    make_reviewer,
    logged_in,
    settings,
    investigator,  # noqa: F811
):
    _home, fpr, _subkey, armored = investigator
    alice = make_reviewer("alice", desks=[desk], key="alice")
    offline = make_reviewer("olive", desks=[desk], key="bob")
    crypto.stop_agent(crypto.reviewer_home(offline.key.fingerprint))
    shutil.rmtree(crypto.reviewer_home(offline.key.fingerprint))  # held offline from now on
    tip = submit_with_file(settings)
    client = logged_in(offline)
    response = client.post("/me/key/", {"action": "replace", "public_key": armored})
    assert response.status_code == 302
    assert ReviewerKey.objects.get(user=offline.user).fingerprint == fpr
    assert reencrypt.missing_readers(tip) == {fpr}
    reencrypt.reencrypt_tip(alice.user, tip, alice.key.passphrase)
    assert fpr in tip.recipients and offline.key.fingerprint not in tip.recipients
    assert AuditEvent.objects.filter(action="key.replaced").exists()


def test_a_server_held_key_cannot_be_swapped_for_an_uploaded_one(
    backoffice,
    desk,
    make_reviewer,
    logged_in,
    investigator,  # noqa: F811
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = logged_in(alice)
    response = client.post("/me/key/", {"action": "replace", "public_key": investigator[3]})
    assert response.status_code == 400
    assert ReviewerKey.objects.get().fingerprint == alice.key.fingerprint

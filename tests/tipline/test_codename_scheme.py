"""One Argon2id run per codename gives both the stored lookup hash and the reply key; tips stored
under the first scheme (two runs, one per secret) still check in and still read their replies."""

import hashlib
import hmac

import pytest
from argon2.low_level import Type, hash_secret_raw
from django.test import Client

from tipline import codenames, reply_keys
from tipline.models import Tip

PEPPER = "pepper for tests"


@pytest.fixture
def alice(public_site, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def argon2_runs(monkeypatch):
    """Every Argon2id run the public site makes for codenames and reply keys, by salt."""
    runs: list[bytes] = []

    def counted(secret, salt, **kwargs):
        runs.append(salt)
        return hash_secret_raw(secret, salt, **kwargs)

    monkeypatch.setattr(codenames, "hash_secret_raw", counted)
    return runs


def argon2id(codename: str, label: bytes) -> bytes:
    """Argon2id at the OWASP minimum (19 MiB, 2 passes), salted with the label and pepper."""
    salt = hashlib.sha256(label + b"\0" + PEPPER.encode()).digest()
    return hash_secret_raw(
        codename.encode(), salt, time_cost=2, memory_cost=19 * 1024, parallelism=1,
        hash_len=32, type=Type.ID,
    )  # fmt: skip


def hkdf_sha256(key: bytes, info: bytes) -> bytes:
    """RFC 5869 with an empty salt and one block of output, written out independently."""
    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_a_new_tip_costs_one_argon2id_run(alice, argon2_runs):
    response = Client().post("/submit/cyber/", {"message": "a tip"})
    assert response.status_code == 200
    assert len(argon2_runs) == 1
    tip = Tip.objects.get()
    assert tip.codename_scheme == codenames.SCHEME


def test_checking_in_to_a_new_tip_costs_one_argon2id_run(alice, argon2_runs):
    codename = Client().post("/submit/cyber/", {"message": "a tip"}).context["codename"]
    argon2_runs.clear()
    client = Client()
    assert client.post("/checkin/", {"codename": codename}).status_code == 302
    assert len(argon2_runs) == 1
    assert client.get("/tip/").status_code == 200


def test_the_two_secrets_are_separate_hkdf_outputs_of_one_argon2id_run(public_site):
    codename = codenames.generate()
    master = argon2id(codename, b"tipline codename v2")
    derived = codenames.derive(f" {codename.upper()}  ")
    assert derived.lookup == hkdf_sha256(master, b"tipline codename lookup v2").hex()
    assert derived.reply_private_key == hkdf_sha256(master, b"tipline reply key v2")
    assert derived.lookup != derived.reply_private_key.hex()
    assert master.hex() not in (derived.lookup, derived.reply_private_key.hex())
    assert codenames.derive(codename) == derived  # case and spacing are forgiven


def test_the_lookup_hash_does_not_open_replies(alice):
    codename = Client().post("/submit/cyber/", {"message": "a tip"}).context["codename"]
    tip = Tip.objects.get()
    sealed = reply_keys.seal(tip.reply_public_key, b"reply canary", tip.pk)
    with pytest.raises(reply_keys.ReplyKeyError):
        reply_keys.open_sealed(bytes.fromhex(tip.codename_hash), sealed, tip.pk)
    private = codenames.derive(codename).reply_private_key
    assert reply_keys.open_sealed(private, sealed, tip.pk) == b"reply canary"


def first_scheme_tip(desk, codename: str) -> Tip:
    """A tip as the first scheme stored it: two Argon2id runs under their own salts."""
    private = argon2id(codename, b"tipline reply key v1")
    return Tip.objects.create(
        desk=desk,
        codename_hash=argon2id(codename, b"tipline codename v1").hex(),
        codename_scheme=1,
        envelope=b"placeholder",
        reply_public_key=reply_keys.public_key(private),
        reference="T-FIRST-SCHEME",
    )


def test_a_tip_of_the_first_scheme_still_checks_in_and_reads_replies(alice, desk, argon2_runs):
    codename = codenames.generate()
    tip = first_scheme_tip(desk, codename)
    sealed = reply_keys.seal(tip.reply_public_key, b"reply canary", tip.pk)
    argon2_runs.clear()
    client = Client()
    assert client.post("/checkin/", {"codename": codename}).status_code == 302
    # The new scheme's run, which finds nothing, then the first scheme's two.
    assert len(argon2_runs) == 3
    session_tip, private = _session(client)
    assert session_tip == tip.pk
    assert reply_keys.open_sealed(private, sealed, tip.pk) == b"reply canary"


def _session(client: Client) -> tuple[int, bytes]:
    """The tip and reply key the tipster's session holds, as the tip page's view sees them."""
    request = client.get("/tip/").wsgi_request
    return request.tip.pk, request.reply_key


def test_a_wrong_codename_costs_one_run_once_no_first_scheme_tip_is_left(alice, desk, argon2_runs):
    codename = codenames.generate()
    tip = first_scheme_tip(desk, codename)
    argon2_runs.clear()
    client = Client()
    assert client.post("/checkin/", {"codename": codenames.generate()}).status_code == 400
    assert len(argon2_runs) == 2  # a first-scheme tip exists: its hash is tried too
    tip.delete()
    argon2_runs.clear()
    assert client.post("/checkin/", {"codename": codenames.generate()}).status_code == 400
    assert client.post("/checkin/", {"codename": codenames.generate()}).status_code == 400
    assert len(argon2_runs) == 2

"""A tip's reply key: only its public half is kept, and nothing kept derives the private half."""

import base64

import pytest
from django.db import connection
from django.test import Client

from tipline import codenames, reply_keys
from tipline.models import Tip


@pytest.fixture
def codename(public_site, desk, make_reviewer):
    make_reviewer("alice", desks=[desk], key="alice")
    response = Client().post("/submit/cyber/", {"message": "a tip"})
    assert response.status_code == 200
    return response.context["codename"]


def forms_of(secret: bytes) -> set[bytes]:
    """``secret`` raw, in hex and in base64 (at any alignment inside a longer value)."""
    forms = {secret, secret.hex().encode(), secret.hex().upper().encode()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret)[4:-4]
        forms |= {encoded, encoded.replace(b"+", b"-").replace(b"/", b"_")}
    return forms


def every_value_in_the_database() -> list[bytes]:
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    is_binary = isinstance(value, bytes | memoryview)
                    values.append(bytes(value) if is_binary else str(value).encode())
    return values


def holds(values: list[bytes], secret: bytes) -> bool:
    return any(form in value for value in values for form in forms_of(secret))


def test_only_the_public_half_of_the_reply_key_is_stored(codename):
    private = codenames.derive(codename).reply_private_key
    tip = Tip.objects.get()
    assert bytes(tip.reply_public_key) == reply_keys.public_key(private)
    values = every_value_in_the_database()
    assert holds(values, bytes(tip.reply_public_key))  # the search sees the column
    assert not holds(values, private)


def test_the_stored_codename_hash_does_not_open_replies(codename):
    """The reply key and the codename hash both come from one Argon2id run of the codename with
    the pepper, drawn under two HKDF labels. Under one label, the stored hash would be the
    private key."""
    tip = Tip.objects.get()
    stored = bytes.fromhex(tip.codename_hash)
    assert tip.codename_hash == codenames.derive(codename).lookup
    assert stored != codenames.derive(codename).reply_private_key
    assert reply_keys.public_key(stored) != bytes(tip.reply_public_key)
    sealed = reply_keys.seal(tip.reply_public_key, b"reply canary", tip.pk)
    with pytest.raises(reply_keys.ReplyKeyError):
        reply_keys.open_sealed(stored, sealed, tip.pk)
    private = codenames.derive(codename).reply_private_key
    assert reply_keys.open_sealed(private, sealed, tip.pk) == b"reply canary"

"""Metadata, the organization key, the reward contact, and hostile input on the public site."""

import io
import json
from html import unescape
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from django.conf import settings as site_settings
from django.contrib.sessions.models import Session
from django.test import Client

from tests.conftest import export_secret_key, switch_site
from tipline.models import Attachment, Message, Tip


@pytest.fixture
def alice(public_site, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def organization_key(gpg_dirs, key_cache, settings):
    armored = key_cache["carol"].armored
    path = gpg_dirs / "organization.asc"
    path.write_text(armored)
    settings.ORGANIZATION_KEY_FILE = str(path)
    return key_cache["carol"]


def test_metadata_describes_the_site(client, alice, settings, organization_key):
    settings.ONION_ADDRESS = "example.onion"
    document = json.loads(client.get("/metadata.json").content)
    assert document["languages"] == [code for code, _ in settings.LANGUAGES]
    assert {"en", "ar", "fa", "ko", "ru", "zh-hans", "fr", "es"} <= set(document["languages"])
    assert document["onion_address"] == "example.onion"
    assert document["organization_key"]["fingerprint"] == organization_key.fingerprint
    cyber = next(d for d in document["desks"] if d["slug"] == "cyber")
    assert cyber["recipient_fingerprints"] == [alice.key.fingerprint]


def test_the_organization_key_is_offered_for_download(client, public_site, organization_key):
    response = client.get("/organization-key.asc")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pgp-keys"
    assert response.content.decode() == organization_key.armored


def test_without_an_organization_key_there_is_none_to_download(client, public_site):
    assert client.get("/organization-key.asc").status_code == 404
    assert json.loads(client.get("/metadata.json").content)["organization_key"] is None


def test_a_secret_organization_key_stops_start_up(public_site, key_cache, gpg_dirs, settings):
    from tipline.checks import check_organization_key

    alice = key_cache["alice"]
    secret = export_secret_key(alice, armor=True)
    path = gpg_dirs / "secret.asc"
    path.write_bytes(secret)
    assert [e.id for e in check_organization_key(path)] == ["tipline.E005"]
    path.write_text("not a key")
    assert [e.id for e in check_organization_key(path)] == ["tipline.E004"]


def test_a_reward_contact_is_encrypted_apart_from_the_tip(client, alice, settings):
    """To the reward officers' keys (here alice is one), not in the desk's envelope; the full
    story is in tests/reviewers/test_rewards.py."""
    from tipline.models import ReviewerProfile

    ReviewerProfile.objects.update_or_create(user=alice.user, defaults={"is_reward_officer": True})
    response = client.post(
        "/submit/cyber/", {"message": "tip", "reward_contact": "contact-canary@example.org"}
    )
    assert response.status_code == 200
    tip = Tip.objects.get()
    assert b"contact-canary" not in bytes(tip.envelope)
    assert b"contact-canary" not in bytes(tip.reward_envelope)
    switch_site(settings, "backoffice")
    from reviewers import rewards
    from reviewers.tips import open_tip

    assert open_tip(alice.user, tip, alice.key.passphrase).reward_contact == ""
    contact = rewards.read_contact(alice.user, tip, alice.key.passphrase)
    assert contact == "contact-canary@example.org"


def test_a_returning_tipster_leaves_no_session_on_the_server(client, alice):
    codename = Client().post("/submit/cyber/", {"message": "tip"}).context["codename"]
    tipster = Client()
    assert tipster.post("/checkin/", {"codename": codename}).status_code == 302
    assert tipster.get("/tip/").status_code == 200
    assert Session.objects.count() == 0


# The refusal, as an English and an Arabic tipster read it.
UNREADABLE = {
    "en": "Part of your answer could not be read (it is not valid text). Please type it again.",
    "ar": "تعذّرت قراءة جزء من إجابتك (فهو ليس نصًّا صالحًا). يُرجى كتابته من جديد.",
}
# Bytes that are not UTF-8: a lone continuation byte, a truncated sequence, an invalid lead.
NOT_UTF8 = b"\xff\xfe ledger \xc3\x28 \x80"


def urlencoded(fields: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    body = b"&".join(
        name.encode() + b"=" + quote_from_bytes(value).encode() for name, value in fields
    )
    return body, "application/x-www-form-urlencoded"


def multipart(fields: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """The fields after a file, so that the file is already encrypted and stored when the
    text is read: the refusal must remove it."""
    parts = [
        b'--B\r\nContent-Disposition: form-data; name="attachment"; filename="ledger.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\nfile-canary\r\n"
    ]
    for name, value in fields:
        parts.append(
            b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
            % (name.encode(), value)
        )
    return b"".join(parts) + b"--B--\r\n", "multipart/form-data; boundary=B"


def stored_files(settings) -> list[Path]:
    return [p for p in Path(settings.ENCRYPTED_FILES_DIR).rglob("*") if p.is_file()]


def post_in(language: str, path: str, body: bytes, content_type: str, client=None):
    client = client or Client()
    client.cookies[site_settings.LANGUAGE_COOKIE_NAME] = language
    return client.generic("POST", path, body, content_type=content_type)


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("encode", [urlencoded, multipart])
@pytest.mark.parametrize(
    "fields",
    [
        [("message", NOT_UTF8)],
        [("message", b"a readable tip"), ("group", b"APT " + NOT_UTF8)],
    ],
    ids=["long-text", "short-text"],
)
def test_invalid_utf8_in_a_tip_is_refused_and_nothing_stored(
    alice, settings, language, encode, fields
):
    body, content_type = encode(fields)
    response = post_in(language, "/submit/cyber/", body, content_type)
    assert response.status_code == 400
    page = unescape(response.content.decode())
    assert f'<html lang="{language}"' in page
    assert UNREADABLE[language] in page
    assert '<form method="post"' in page  # the questionnaire again, to type it anew
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_a_reward_contact_that_is_not_utf8_is_refused(alice, settings):
    from tipline.models import ReviewerProfile

    ReviewerProfile.objects.update_or_create(user=alice.user, defaults={"is_reward_officer": True})
    body, content_type = multipart([("message", b"a tip"), ("reward_contact", NOT_UTF8)])
    response = post_in("en", "/submit/cyber/", body, content_type)
    assert response.status_code == 400
    assert UNREADABLE["en"] in unescape(response.content.decode())
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("encode", [urlencoded, multipart])
def test_invalid_utf8_in_a_follow_up_is_refused_and_nothing_stored(
    alice, settings, language, encode
):
    codename = Client().post("/submit/cyber/", {"message": "tip"}).context["codename"]
    files_of_the_tip = stored_files(settings)
    tipster = Client()
    assert tipster.post("/checkin/", {"codename": codename}).status_code == 302
    body, content_type = encode([("message", b"more: " + NOT_UTF8)])
    response = post_in(language, "/tip/followup/", body, content_type, client=tipster)
    assert response.status_code == 400
    page = unescape(response.content.decode())
    assert f'<html lang="{language}"' in page
    assert UNREADABLE[language] in page
    assert Message.objects.count() == 0 and Attachment.objects.count() == 0
    assert stored_files(settings) == files_of_the_tip


def test_a_pasted_replacement_character_is_refused_too(alice):
    """The price of the check (see tipline/forms.py): U+FFFD typed on purpose is refused."""
    response = Client().post("/submit/cyber/", {"message": "a tip with \ufffd in it"})
    assert response.status_code == 400
    assert UNREADABLE["en"] in unescape(response.content.decode())
    assert Tip.objects.count() == 0


def test_nul_bytes_are_refused_and_nothing_stored(alice, settings):
    body, content_type = urlencoded([("message", b"a tip\x00with a NUL")])
    response = post_in("en", "/submit/cyber/", body, content_type)
    assert response.status_code == 400
    assert Tip.objects.count() == 0


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "evil\u202egpj.exe",
        "a" * 600 + ".txt",
        "nul\x00name.txt",
        "",
    ],
)
def test_hostile_file_names_stay_inside_the_envelope(client, alice, settings, name):
    upload = io.BytesIO(b"content")
    upload.name = name
    response = client.post("/submit/cyber/", {"message": "tip", "attachment": upload})
    assert response.status_code in (200, 400)
    stored = [p.name for p in Path(settings.ENCRYPTED_FILES_DIR).rglob("*") if p.is_file()]
    assert all(len(n) == 36 and n.endswith(".gpg") for n in stored)


def test_health_checks_run_at_most_once_per_interval(client, public_site, monkeypatch):
    from tipline import health

    calls = []
    monkeypatch.setattr(health, "check", lambda timeout: calls.append(1) or {"database": "ok"})
    monkeypatch.setitem(health._cache, "results", None)
    for _ in range(5):
        assert client.get("/health/").json() == {"status": "ok", "failing": []}
    assert len(calls) == 1


def test_the_gpg_check_encrypts_as_a_tip_would_and_fails_with_a_broken_keyring(alice, settings):
    from tipline import crypto, health

    assert health.check(timeout=0.5)["gpg"] == "ok"
    # A keyring gpg cannot read (a full or damaged disk, say): `gpg --version` would still
    # answer, but no tip could be encrypted, so the check must say so.
    for ring in Path(settings.PUBLIC_GNUPG_HOME).glob("pubring.kbx*"):
        ring.write_bytes(b"\x00garbage\xff" * 64)
    crypto._known_fingerprints.clear()
    assert health.check(timeout=0.5)["gpg"] != "ok"

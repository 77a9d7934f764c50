"""Metadata, the organization key, the reward contact, and hostile input on the public site."""

import io
import json

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from tests.conftest import export_secret_key, switch_site
from tipline.models import Tip


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


def test_invalid_utf8_is_answered_without_a_server_error(client, alice, settings):
    body = b"message=%ff%fe%00bad&csrfmiddlewaretoken=x"
    response = client.generic(
        "POST", "/submit/cyber/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (400, 403)
    multipart = (
        b'--B\r\nContent-Disposition: form-data; name="message"\r\n\r\n'
        b"\xff\xfe invalid \xc3\x28\r\n--B--\r\n"
    )
    response = client.generic(
        "POST", "/submit/cyber/", multipart, content_type="multipart/form-data; boundary=B"
    )
    assert response.status_code in (200, 400)  # kept with replacement characters, or refused
    assert Tip.objects.count() <= 1


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
    from pathlib import Path

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

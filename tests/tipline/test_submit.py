import io
import json
from pathlib import Path

import pytest
from django.test import Client

from tipline import codenames
from tipline.models import Attachment, Tip

CANARY = "canary-submit-5d1f"


def stored_files(settings) -> list[Path]:
    root = Path(settings.ENCRYPTED_FILES_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def desk_with_reviewers(public_site, desk, make_reviewer):
    make_reviewer("alice", desks=[desk], key="alice")
    make_reviewer("bob", desks=[desk], key="bob")
    return desk


def upload(content: bytes, name: str = f"{CANARY}-report.txt"):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def test_it_lists_desks(client, public_site, desk):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Cyber attacks" in response.content


def test_it_stores_only_ciphertext_and_shows_a_codename(
    client, desk_with_reviewers, settings, key_cache
):
    response = client.post(
        "/submit/cyber/",
        {"message": f"message {CANARY}", "attachment": upload(f"file {CANARY}".encode())},
    )
    assert response.status_code == 200
    codename = response.context["codename"]
    assert len(codename.split()) == 7
    tip = Tip.objects.get()
    assert tip.codename_hash == codenames.derive(codename).lookup
    assert codename not in tip.codename_hash
    assert CANARY.encode() not in bytes(tip.envelope)
    assert sorted(tip.recipients) == sorted(
        [key_cache["alice"].fingerprint, key_cache["bob"].fingerprint]
    )
    attachment = Attachment.objects.get(tip=tip)
    files = stored_files(settings)
    assert [f.name for f in files] == [f"{attachment.storage_name}.gpg"]
    for path in files:
        assert CANARY.encode() not in path.read_bytes()


def test_it_encrypts_the_message_file_name_and_file_for_the_desk(
    client, desk_with_reviewers, key_cache
):
    from tipline import crypto, storage

    client.post("/submit/cyber/", {"message": "hello", "attachment": upload(b"file body")})
    tip = Tip.objects.get()
    bob = key_cache["bob"]
    document = json.loads(
        crypto.decrypt_bytes(bytes(tip.envelope), bob.fingerprint, bob.passphrase)
    )
    assert document["answers"] == [
        {
            "key": "message",
            "kind": "long_text",
            "label": "What do you know?",
            "value": "hello",
            "display": "hello",
        }
    ]
    [meta] = document["attachments"]
    assert meta["question"] == "attachment"
    assert meta["file_name"] == f"{CANARY}-report.txt"
    path = storage.path_of(meta["storage_name"])
    assert b"".join(crypto.decrypt_file_stream(path, bob.fingerprint, bob.passphrase)) == (
        b"file body"
    )


def test_it_answers_404_for_an_unknown_desk_in_the_tipsters_language(client, public_site):
    response = client.get("/submit/nope/", HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 404
    assert 'dir="rtl"' in response.content.decode()
    assert response.content.decode().count("لا توجد صفحة") == 1


def test_it_refuses_an_empty_message_and_stores_nothing(client, desk_with_reviewers, settings):
    response = client.post("/submit/cyber/", {"message": "   ", "attachment": upload(b"some file")})
    assert response.status_code == 400
    assert b"Please answer this question" in response.content
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_it_refuses_an_oversized_file_and_stores_nothing(client, desk_with_reviewers, settings):
    settings.MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
    big = upload(b"x" * (2 * 1024 * 1024 + 1))
    response = client.post("/submit/cyber/", {"message": "hello", "attachment": big})
    assert response.status_code == 413
    assert b"too large" in response.content
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_it_refuses_an_oversized_request_before_reading_it(client, desk_with_reviewers, settings):
    settings.MAX_ATTACHMENT_BYTES = 1024 * 1024
    big = upload(b"x" * (3 * 1024 * 1024))
    response = client.post("/submit/cyber/", {"message": "hello", "attachment": big})
    assert response.status_code == 413
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_it_refuses_malformed_multipart_and_stores_nothing(client, desk_with_reviewers, settings):
    body = (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="attachment"; '
        b'filename="a.txt"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"!!!not base64!!!\r\n--BOUNDARY--\r\n"
    )
    response = client.generic(
        "POST", "/submit/cyber/", body, content_type="multipart/form-data; boundary=BOUNDARY"
    )
    assert response.status_code == 400
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_it_refuses_a_post_without_csrf_token(desk_with_reviewers, settings):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/submit/cyber/", {"message": "hello", "attachment": upload(b"data")})
    assert response.status_code == 403
    assert b"form expired" in response.content
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_it_refuses_a_desk_without_reviewers(client, public_site, desk, settings):
    response = client.post("/submit/cyber/", {"message": "hello"})
    assert response.status_code == 503
    assert Tip.objects.count() == 0


def test_it_refuses_a_nul_character(client, desk_with_reviewers):
    response = client.post("/submit/cyber/", {"message": "bad\x00byte"})
    assert response.status_code == 400
    assert Tip.objects.count() == 0


def test_it_enqueues_routing_with_the_tip_id_only(
    client, desk_with_reviewers, settings, django_capture_on_commit_callbacks
):
    from unittest import mock

    with (
        mock.patch("tipline.tasks.route_tip.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post("/submit/cyber/", {"message": f"hello {CANARY}"})
    tip = Tip.objects.get()
    apply_async.assert_called_once_with(args=[tip.pk], retry=True)


def test_it_keeps_the_tip_when_the_broker_is_down(
    client, desk_with_reviewers, django_capture_on_commit_callbacks
):
    from unittest import mock

    with (
        mock.patch("tipline.tasks.route_tip.apply_async", side_effect=OSError("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/submit/cyber/", {"message": "hello"})
    assert response.status_code == 200
    assert Tip.objects.filter(routed_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("case", "status", "arabic"),
    [
        ("unknown desk", 404, "لا توجد صفحة بهذا العنوان"),
        ("empty message", 400, "يرجى الإجابة عن هذا السؤال"),
        ("oversized file", 413, "ملفك كبير جدًا"),
    ],
)
def test_bad_input_is_explained_in_arabic_and_nothing_is_stored(
    client, desk_with_reviewers, settings, case, status, arabic
):
    settings.MAX_ATTACHMENT_BYTES = 1024 * 1024
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    data = {"message": "رسالة", "attachment": upload(b"data")}
    path = "/submit/cyber/"
    if case == "unknown desk":
        path = "/submit/unknown/"
    elif case == "empty message":
        data["message"] = ""
    else:
        data["attachment"] = upload(b"x" * (1024 * 1024 + 1))
    response = client.post(path, data)
    assert response.status_code == status
    html = response.content.decode()
    assert 'lang="ar" dir="rtl"' in html
    assert arabic in html
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_stale_uploads_are_removed_and_fresh_ones_kept(public_site, settings):
    import os
    import time

    from tipline import storage, tasks

    _stale_name, stale = storage.new_incoming()
    _fresh_name, fresh = storage.new_incoming()
    stale.write_bytes(b"ciphertext")
    fresh.write_bytes(b"ciphertext")
    old = time.time() - 7 * 3600
    os.utime(stale, (old, old))
    assert tasks.remove_stale_uploads() == 1
    assert not stale.exists() and fresh.exists()


def decrypt_envelope(tip, key):
    from tipline import crypto

    return json.loads(crypto.decrypt_bytes(bytes(tip.envelope), key.fingerprint, key.passphrase))


def test_every_kind_of_answer_is_encrypted_together(client, desk_with_reviewers, key_cache):
    from tipline.models import Question

    Question.objects.create(
        desk=desk_with_reviewers, key="where", kind="text", position=3, labels={"en": "Where?"}
    )
    response = client.post(
        "/submit/cyber/",
        {
            "message": f"all kinds {CANARY}",
            "group": "APT-canary",
            "targets": "banks",
            "when": "2024-03-31",
            "ongoing": "yes",
            "how_known": "documents",
            "where": "Oslo",
            "attachment": [upload(b"one", "a.txt"), upload(b"two", "b.txt")],
        },
    )
    assert response.status_code == 200, response.content
    tip = Tip.objects.get()
    assert b"APT-canary" not in bytes(tip.envelope)
    document = decrypt_envelope(tip, key_cache["alice"])
    answers = {a["key"]: a for a in document["answers"]}
    assert answers["when"]["value"] == "2024-03-31"
    assert answers["ongoing"]["display"] == "Yes"
    assert answers["how_known"]["display"] == "I have documents or data"
    assert answers["where"]["value"] == "Oslo"
    assert sorted(a["file_name"] for a in document["attachments"]) == ["a.txt", "b.txt"]
    assert Attachment.objects.filter(tip=tip).count() == 2


def test_multiple_choice_answers_are_kept_with_their_labels(
    client, public_site, make_reviewer, key_cache
):
    from tipline.models import Desk

    crypto_desk = Desk.objects.get(slug="crypto")
    make_reviewer("alice", desks=[crypto_desk], key="alice")
    response = client.post(
        "/submit/crypto/", {"message": "stolen funds", "chains": ["bitcoin", "monero"]}
    )
    assert response.status_code == 200
    document = decrypt_envelope(Tip.objects.get(), key_cache["alice"])
    chains = next(a for a in document["answers"] if a["key"] == "chains")
    assert chains["value"] == ["bitcoin", "monero"]
    assert chains["display"] == "Bitcoin, Monero"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("when", "31/03/2024", b"year-month-day"),
        ("when", "2999-01-01", b"in the future"),
        ("how_known", "not-a-choice", b"Select a valid choice"),
        ("ongoing", "maybe", b"Select a valid choice"),
        ("group", "x" * 1001, b"at most 1000"),
    ],
)
def test_a_bad_answer_is_refused_and_nothing_stored(
    client, desk_with_reviewers, settings, field, value, error
):
    response = client.post(
        "/submit/cyber/", {"message": "hello", field: value, "attachment": upload(b"data")}
    )
    assert response.status_code == 400
    assert error in response.content
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_too_many_files_are_refused_and_nothing_stored(client, desk_with_reviewers, settings):
    settings.MAX_FILES = 3
    files = [upload(b"data %d" % i, f"f{i}.txt") for i in range(4)]
    response = client.post("/submit/cyber/", {"message": "hello", "attachment": files})
    assert response.status_code == 413
    assert b"Too many files" in response.content
    assert Tip.objects.count() == 0
    assert stored_files(settings) == []


def test_files_sent_under_another_name_are_not_kept(client, desk_with_reviewers, settings):
    response = client.post(
        "/submit/cyber/", {"message": "hello", "smuggled": upload(b"not asked for")}
    )
    assert response.status_code == 200
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []


def test_a_required_file_question_needs_a_file(client, desk_with_reviewers, settings):
    from tipline.models import Question

    Question.objects.filter(desk=desk_with_reviewers, key="attachment").update(required=True)
    response = client.post("/submit/cyber/", {"message": "hello"})
    assert response.status_code == 400
    assert b"Please attach a file" in response.content
    assert Tip.objects.count() == 0


def test_the_questionnaire_is_shown_in_arabic(client, public_site, desk, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    html = client.get("/submit/cyber/").content.decode()
    assert "الهجمات الإلكترونية والاختراق" in html
    assert "ما الذي تعرفه؟" in html
    assert "رأيته بنفسي" in html
    assert 'type="date"' in html and "multiple" in html

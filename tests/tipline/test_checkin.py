"""A returning tipster: check in with the codename, read replies, send more, delete a reply."""

import io
import re

import pytest
from django.test import Client

from reviewers import triage
from reviewers.tips import open_thread, send_reply
from tests.conftest import switch_site
from tipline import codenames, reply_keys, routing
from tipline.models import Attachment, Message, Tip

REPLY = "reply-canary-4411: can you send the ledger?"


@pytest.fixture
def alice(public_site, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def codename(alice):
    response = Client().post("/submit/cyber/", {"message": "first tip"})
    assert response.status_code == 200
    return response.context["codename"]


def check_in(client: Client, codename: str):
    return client.post("/checkin/", {"codename": codename})


def test_a_tipster_checks_in_with_the_codename(codename):
    client = Client()
    response = check_in(client, codename)
    assert response.status_code == 302 and response["Location"] == "/tip/"
    page = client.get("/tip/")
    assert page.status_code == 200
    assert page.context["status"] in ("received", "being_reviewed")
    assert b"alice" not in page.content  # nothing about who reviews it
    assert page["Cache-Control"] == "no-store"


def shown_status(page) -> str:
    """The status the tip page shows (the second entry of its status list, after the desk)."""
    listing = re.search(r'<dl class="status">(.*?)</dl>', page.content.decode(), re.S)
    return re.findall(r"<dd>(.*?)</dd>", listing.group(1))[1]


@pytest.mark.parametrize(
    ("language", "received", "being_reviewed", "closed"),
    [("en", "Received", "Being reviewed", "Closed"), ("ar", "تم الاستلام", "قيد المراجعة", "مغلق")],
    ids=["en", "ar"],
)
def test_the_tip_page_shows_the_status_as_reviewers_move_the_tip(
    codename, alice, settings, language, received, being_reviewed, closed
):
    tipster = Client()
    tipster.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    check_in(tipster, codename)
    tip = Tip.objects.get()
    assert shown_status(tipster.get("/tip/")) == received
    assert routing.route(tip.pk)  # what the worker does once the tip is committed
    assert shown_status(tipster.get("/tip/")) == being_reviewed
    for status, resolution in (("investigating", ""), ("waiting", "")):
        move(alice, tip, status, resolution)
        assert shown_status(tipster.get("/tip/")) == being_reviewed
    move(alice, tip, "closed", "actionable")
    assert shown_status(tipster.get("/tip/")) == closed
    move(alice, tip, "triaged", "")  # reopened
    assert shown_status(tipster.get("/tip/")) == being_reviewed


def move(reviewer, tip: Tip, status: str, resolution: str) -> None:
    triage.update_tip(
        reviewer.user,
        tip,
        status=status,
        resolution=resolution,
        priority=tip.priority,
        tags=[],
        assignee=reviewer.user,
    )


def test_the_codename_is_forgiving_about_case_and_spaces(codename):
    response = check_in(Client(), "  " + codename.upper().replace(" ", "   ") + "\n")
    assert response.status_code == 302


@pytest.mark.parametrize("guess", ["", "one two three", "x" * 301, "nul\x00byte", "\u202ereversed"])
def test_a_wrong_or_garbled_codename_is_refused_without_a_session(codename, guess):
    client = Client()
    response = check_in(client, guess)
    assert response.status_code == 400
    assert "tipline_public_session" not in client.cookies
    assert client.get("/tip/")["Location"] == "/checkin/"


def test_a_wrong_codename_is_explained_in_arabic(public_site, settings):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    response = check_in(client, "abacus " * 7)
    assert response.status_code == 400
    assert "لا نعرف هذا الاسم الرمزي" in response.content.decode()


def test_check_ins_are_rate_limited_for_everyone(codename, settings):
    settings.CHECKINS_PER_MINUTE = 2
    assert check_in(Client(), "wrong " * 7).status_code == 400
    assert check_in(Client(), "wrong again " * 4).status_code == 400
    response = check_in(Client(), codename)
    assert response.status_code == 429
    assert b"wait a minute" in response.content


def test_a_reply_is_readable_only_with_the_codename(codename, alice, settings):
    tip = Tip.objects.get()
    message = send_reply(alice.user, tip, REPLY)
    assert REPLY.encode() not in bytes(message.body_for_tipster)
    assert REPLY.encode() not in bytes(message.body_for_desk)
    # A database copy does not hold the key: only the codename derives it.
    with pytest.raises(reply_keys.ReplyKeyError):
        reply_keys.open_sealed(
            codenames.derive("wrong " * 7).reply_private_key, message.body_for_tipster, tip.pk
        )
    client = Client()
    check_in(client, codename)
    page = client.get("/tip/")
    assert REPLY in page.content.decode()
    message.refresh_from_db()
    assert message.read_by_tipster


def test_a_tipster_deletes_a_reply_once_read(codename, alice):
    tip = Tip.objects.get()
    message = send_reply(alice.user, tip, REPLY)
    client = Client()
    check_in(client, codename)
    client.get("/tip/")
    response = client.post(f"/tip/replies/{message.pk}/delete/")
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.body_for_tipster is None and message.deleted_by_tipster
    assert REPLY not in client.get("/tip/").content.decode()


def test_an_unread_reply_cannot_be_deleted_blind(codename, alice):
    tip = Tip.objects.get()
    message = send_reply(alice.user, tip, REPLY)
    client = Client()
    check_in(client, codename)  # status page not opened yet
    client.post(f"/tip/replies/{message.pk}/delete/")
    message.refresh_from_db()
    assert message.body_for_tipster is not None


def test_a_tipster_cannot_touch_another_tips_replies(codename, alice):
    first = Tip.objects.get()
    other_codename = Client().post("/submit/cyber/", {"message": "second"}).context["codename"]
    message = send_reply(alice.user, first, REPLY)
    client = Client()
    check_in(client, other_codename)
    client.get("/tip/")
    Message.objects.filter(pk=message.pk).update(read_by_tipster=True)
    client.post(f"/tip/replies/{message.pk}/delete/")
    message.refresh_from_db()
    assert message.body_for_tipster is not None
    assert REPLY not in client.get("/tip/").content.decode()


def test_a_follow_up_with_a_file_reaches_the_desk_encrypted(codename, alice, settings):
    client = Client()
    check_in(client, codename)
    upload = io.BytesIO(b"followup-file-canary")
    upload.name = "ledger.csv"
    response = client.post(
        "/tip/followup/", {"message": "followup-canary-77", "attachment": upload}
    )
    assert response.status_code == 302
    message = Message.objects.get(author=Message.Author.TIPSTER)
    assert b"followup-canary-77" not in bytes(message.body_for_desk)
    attachment = Attachment.objects.get(message=message)
    assert client.get("/tip/").content.decode().count("Your message was sent.") == 1
    switch_site(settings, "backoffice")
    [entry] = open_thread(alice.user, Tip.objects.get(), alice.key.passphrase)
    assert entry["text"] == "followup-canary-77"
    assert entry["attachments"][0]["file_name"] == "ledger.csv"
    assert entry["attachments"][0]["storage_name"] == attachment.storage_name


def test_an_empty_follow_up_is_refused_and_nothing_stored(codename, settings):
    client = Client()
    check_in(client, codename)
    upload = io.BytesIO(b"data")
    upload.name = "a.txt"
    response = client.post("/tip/followup/", {"message": "", "attachment": upload})
    assert response.status_code == 400
    assert Message.objects.count() == 0 and Attachment.objects.count() == 0


def test_leaving_ends_the_session(codename):
    client = Client()
    check_in(client, codename)
    stolen = client.cookies["tipline_reply_key"].value
    client.post("/tip/checkout/")
    assert client.get("/tip/")["Location"] == "/checkin/"
    client.cookies["tipline_reply_key"] = stolen
    assert client.get("/tip/")["Location"] == "/checkin/"


def test_pages_need_a_check_in(public_site):
    client = Client()
    for path in ("/tip/",):
        assert client.get(path)["Location"] == "/checkin/"
    for path in ("/tip/followup/", "/tip/replies/1/delete/"):
        assert client.post(path)["Location"] == "/checkin/"


def test_a_session_forged_without_the_codename_opens_nothing(codename, alice):
    """Even with the site's secret key, a session for a tip needs that tip's reply key."""
    import os

    from django.http import HttpResponse
    from django.test import RequestFactory

    from tipline import tipster_session

    tip = Tip.objects.get()
    request = RequestFactory().get("/")
    from importlib import import_module

    from django.conf import settings

    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    response = HttpResponse()
    tipster_session.start(request, response, tip, os.urandom(32))
    request.session.save()
    client = Client()
    client.cookies["tipline_public_session"] = request.session.session_key
    client.cookies["tipline_reply_key"] = response.cookies["tipline_reply_key"].value
    assert client.get("/tip/")["Location"] == "/checkin/"


def test_a_session_ends_after_its_absolute_lifetime(codename, settings):
    client = Client()
    check_in(client, codename)
    assert client.get("/tip/").status_code == 200
    settings.TIPSTER_SESSION_MAX_SECONDS = 0
    assert client.get("/tip/")["Location"] == "/checkin/"


def test_reads_and_deletions_are_flags_not_times(codename, alice):
    from django.db import models

    fields = {f.name: f for f in Message._meta.get_fields() if hasattr(f, "get_internal_type")}
    assert isinstance(fields["read_by_tipster"], models.BooleanField)
    assert isinstance(fields["deleted_by_tipster"], models.BooleanField)


def test_old_rate_limit_counts_are_forgotten(codename):
    from datetime import timedelta

    from django.utils import timezone

    from tipline import tasks
    from tipline.models import ThrottleWindow

    check_in(Client(), codename)
    ThrottleWindow.objects.create(
        scope="checkin", count=3, window_start=timezone.now() - timedelta(hours=1)
    )
    assert tasks.forget_rate_limit_counts() == 1
    assert ThrottleWindow.objects.filter(scope="checkin").count() == 1

"""A flood of tips or follow-ups: budgets for the site and for each desk, counted before anything
is read or encrypted, and a honeypot that bots fill and people never see. Nothing about the
client is kept."""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.test import Client

from tests.tipline.test_checkin_flood import database_text
from tipline import codenames, uploads
from tipline.models import Message, Question, ThrottleWindow, Tip
from tipline.questionnaires import HONEYPOT

CANARY = "canary-flood-7c2e"
CLIENT_CANARIES = {
    "REMOTE_ADDR": "203.0.113.77",
    "HTTP_USER_AGENT": "tip-flood-agent-canary/2.0",
    "HTTP_X_FORWARDED_FOR": "198.51.100.77",
}


def stored_files(settings) -> list[Path]:
    root = Path(settings.ENCRYPTED_FILES_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(content: bytes = f"file {CANARY}".encode()):
    handle = io.BytesIO(content)
    handle.name = f"{CANARY}.txt"
    return handle


@pytest.fixture
def encryptions(monkeypatch):
    """Every file the upload handler starts to encrypt (the real encryption still runs)."""
    started = []
    real = uploads.StreamEncryptor

    def counted(*args, **kwargs):
        started.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(uploads, "StreamEncryptor", counted)
    return started


@pytest.fixture
def routed(monkeypatch):
    """Tip ids handed to the broker for routing."""
    from tipline import submissions

    ids = []
    monkeypatch.setattr(submissions, "enqueue_routing", ids.append)
    return ids


def send_tip(slug: str = "cyber", client: Client | None = None, **data):
    return (client or Client()).post(f"/submit/{slug}/", {"message": "a tip", **data})


def test_it_refuses_tips_beyond_the_site_limit_in_the_tipsters_language(
    desks, settings, clock, encryptions
):
    settings.TIPS_PER_MINUTE = 2
    assert [send_tip().status_code for _ in range(2)] == [200, 200]
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    response = send_tip(client=client, attachment=upload())
    assert response.status_code == 429
    html = response.content.decode()
    assert 'lang="ar" dir="rtl"' in html
    assert "مشغول" in html  # "busy"
    assert Tip.objects.count() == 2
    assert stored_files(settings) == []
    assert encryptions == []  # refused before a byte of the file went to gpg
    english = send_tip(slug="sanctions")
    assert english.status_code == 429
    assert b"very busy" in english.content and b"try again in a few minutes" in english.content


def test_a_refused_tip_costs_no_argon2_or_gpg_work(desks, settings, clock, monkeypatch):
    settings.TIPS_PER_MINUTE = 1
    hashed = []
    real = codenames.derive
    monkeypatch.setattr(codenames, "derive", lambda codename: hashed.append(1) or real(codename))
    send_tip()
    assert hashed == [1]  # a tip let in does the Argon2 work through derive
    from tipline import crypto

    monkeypatch.setattr(crypto, "encrypt_bytes", lambda *args: pytest.fail("encrypted"))
    assert send_tip(attachment=upload()).status_code == 429
    assert hashed == [1]


def test_the_desk_limit_does_not_block_another_desk(desks, settings, clock):
    settings.TIPS_PER_DESK_PER_MINUTE = 1
    assert send_tip("cyber").status_code == 200
    assert send_tip("cyber").status_code == 429
    assert send_tip("sanctions").status_code == 200
    assert send_tip("sanctions").status_code == 429
    assert Tip.objects.count() == 2


def test_a_flood_on_one_desk_leaves_the_site_budget_to_the_others(desks, settings, clock):
    settings.TIPS_PER_MINUTE = 2
    settings.TIPS_PER_DESK_PER_MINUTE = 1
    assert send_tip("cyber").status_code == 200
    assert [send_tip("cyber").status_code for _ in range(5)] == [429] * 5
    assert send_tip("sanctions").status_code == 200


def test_the_window_rolls_over(desks, settings, clock):
    settings.TIPS_PER_MINUTE = 1
    assert send_tip().status_code == 200
    clock.advance(seconds=50)
    assert send_tip().status_code == 429
    clock.advance(seconds=10)
    assert send_tip().status_code == 200
    assert Tip.objects.count() == 2


def test_follow_ups_have_their_own_budget(desks, settings, clock, encryptions):
    codename = send_tip().context["codename"]
    settings.FOLLOWUPS_PER_MINUTE = 1
    settings.TIPS_PER_MINUTE = 2
    client = Client()
    assert client.post("/checkin/", {"codename": codename}).status_code == 302
    assert client.post("/tip/followup/", {"message": "more"}).status_code == 302
    before = len(encryptions)
    response = client.post("/tip/followup/", {"message": CANARY, "attachment": upload()})
    assert response.status_code == 429
    assert b"very busy" in response.content
    assert Message.objects.filter(author=Message.Author.TIPSTER).count() == 1
    assert len(encryptions) == before
    assert stored_files(settings) == []
    assert send_tip().status_code == 200  # follow-ups did not use the tips' budget
    clock.advance(minutes=1)
    assert client.post("/tip/followup/", {"message": "later"}).status_code == 302


def test_a_filled_honeypot_keeps_the_tip_marked_as_suspected_spam(
    desks, settings, clock, routed, django_capture_on_commit_callbacks
):
    """A person's browser may fill in a field they never saw: the tip is kept, acknowledged
    with a real receipt and routed, but marked and at low priority, for bulk triage."""
    with django_capture_on_commit_callbacks(execute=True):
        response = send_tip(
            message=f"spam {CANARY}", attachment=upload(), **{HONEYPOT: "http://spam.example/"}
        )
    assert response.status_code == 200
    tip = Tip.objects.get()
    assert tip.codename_hash == codenames.derive(response.context["codename"]).lookup
    assert tip.suspected_spam and tip.priority == Tip.Priority.LOW
    assert len(stored_files(settings)) == 1
    assert routed == [tip.pk]
    assert CANARY not in database_text()
    assert "spam.example" not in database_text()


def test_an_empty_honeypot_takes_the_tip(
    desks, settings, clock, routed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send_tip(attachment=upload(), **{HONEYPOT: ""})
    assert response.status_code == 200
    tip = Tip.objects.get()
    assert tip.codename_hash == codenames.derive(response.context["codename"]).lookup
    assert not tip.suspected_spam and tip.priority == Tip.Priority.NORMAL
    assert len(stored_files(settings)) == 1
    assert routed == [tip.pk]


def test_a_honeypot_hit_counts_against_the_limit(desks, settings, clock):
    settings.TIPS_PER_MINUTE = 1
    assert send_tip(**{HONEYPOT: "x"}).status_code == 200
    assert send_tip().status_code == 429


def test_the_honeypot_is_out_of_reach_of_people(client, desks):
    html = client.get("/submit/cyber/").content.decode()
    wrapper = re.search(
        r'<div class="(?P<cls>[^"]+)" aria-hidden="true">(?P<body>.*?)</div>', html, re.S
    )
    assert wrapper, "the honeypot's wrapper is hidden from assistive technology"
    body = wrapper["body"]
    field = re.search(rf'<input [^>]*name="{HONEYPOT}"[^>]*>', body)[0]
    assert 'tabindex="-1"' in field  # never reached with Tab
    assert 'autocomplete="off"' in field
    assert "style=" not in wrapper[0]
    field_id = re.search(r'id="([^"]+)"', field)[1]
    assert f'<label for="{field_id}">Leave this field empty' in body
    css = (Path(django_settings.BASE_DIR) / "static" / "css" / "tipline.css").read_text()
    rule = re.search(rf"\.{wrapper['cls']}\s*\{{([^}}]*)\}}", css)[1]
    assert "position: absolute" in rule and "-10000px" in rule


def test_no_question_can_take_the_honeypots_name(desk):
    question = Question(desk=desk, key=HONEYPOT, kind=Question.Kind.TEXT, labels={"en": "Site"})
    with pytest.raises(ValidationError) as refused:
        question.full_clean()
    assert "key" in refused.value.message_dict


def test_the_flood_leaves_only_counts_behind(desks, settings, clock):
    settings.TIPS_PER_MINUTE = 3
    for n in range(10):
        send_tip(
            client=Client(**CLIENT_CANARIES),
            message=f"{CANARY} {n}",
            **({HONEYPOT: CANARY} if n % 2 else {}),
        )
    assert {field.name for field in ThrottleWindow._meta.get_fields()} == {
        "id",
        "scope",
        "window_start",
        "count",
    }
    scopes = dict(ThrottleWindow.objects.values_list("scope", "count"))
    assert scopes == {"tips": 3, f"tips:desk:{desks[0].pk}": 10}
    text = database_text()
    for canary in CLIENT_CANARIES.values():
        assert canary not in text

"""Hostile input from a tipster is shown inert in the back office, wherever it appears."""

import io

import pytest
from django.test import Client

from tests.conftest import PASSWORD, switch_site
from tipline.models import Question, ReviewerProfile, Tip

PAYLOADS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "<svg/onload=alert(1)>",
    "\u202etxt.exe",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_field_a_tipster_controls_is_inert_for_reviewers(
    public_site, desk, make_reviewer, settings, payload
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    Question.objects.filter(desk=desk, key="how_known").update(is_routing=True)
    # A reward officer, so that the form takes a reward contact (shown to officers only).
    ReviewerProfile.objects.update_or_create(user=alice.user, defaults={"is_reward_officer": True})
    upload = io.BytesIO(b"file")
    upload.name = f"{payload}.txt"
    tipster = Client()
    receipt = tipster.post(
        "/submit/cyber/",
        {
            "message": payload,
            "group": payload,
            "targets": payload,
            "reward_contact": payload,
            "attachment": upload,
        },
    )
    assert receipt.status_code == 200
    tipster.post("/checkin/", {"codename": receipt.context["codename"]})
    followup = io.BytesIO(b"more")
    followup.name = f"{payload}.csv"
    tipster.post("/tip/followup/", {"message": payload, "attachment": followup})

    switch_site(settings, "backoffice")
    reviewer = Client()
    reviewer.post("/login/", {"username": "alice", "password": PASSWORD, "otp_token": alice.totp()})
    reviewer.post("/key/unlock/", {"passphrase": alice.key.passphrase})
    tip = Tip.objects.get()
    pages = [reviewer.get(f"/tips/{tip.pk}/"), reviewer.get("/")]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert" not in html
        assert "<img src=x" not in html and "<svg/onload" not in html
        assert 'href="javascript:' not in html
    html = pages[0].content.decode()
    if payload.startswith("<"):
        assert html.count("&lt;") >= 4  # shown, escaped: message, answers, names, follow-up
    # File names sit in <bdi> so a right-to-left override cannot disguise the extension.
    assert "<bdi>" in html
    for attachment in tip.attachments.all():
        download = reviewer.get(f"/tips/{tip.pk}/files/{attachment.storage_name}/")
        assert download["Content-Type"] == "application/octet-stream"
        assert download["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("payload", PAYLOADS[:2])
def test_case_titles_and_notes_written_by_reviewers_are_inert(
    backoffice, desk, make_reviewer, logged_in, payload
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = logged_in(alice, unlock=True)
    response = client.post("/cases/new/", {"desk": desk.pk, "title": payload})
    assert response.status_code == 302, response.content
    case_url = response["Location"]
    client.post(f"{case_url}notes/", {"note": payload})
    html = client.get(case_url).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("&lt;") >= 2  # the title and the note, shown escaped

"""The audit entries a reviewer's actions leave: decrypted downloads, the away toggle, and the
old and new value of every triage change."""

import io

from django.test import Client

from tests.conftest import PASSWORD, switch_site
from tests.reviewers.test_access import make_tip
from tipline.models import Attachment, AuditEvent


def log_in(reviewer, unlock: bool = True) -> Client:
    client = Client()
    response = client.post(
        "/login/",
        {"username": reviewer.user.username, "password": PASSWORD, "otp_token": reviewer.totp()},
    )
    assert response.status_code == 302, response.content
    if unlock:
        response = client.post("/key/unlock/", {"passphrase": reviewer.key.passphrase})
        assert response.status_code == 302, response.content
    return client


def entries(action: str) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action=action)
        .order_by("pk")
        .values_list("actor__username", "tip_id", "detail")
    )


def test_a_decrypted_download_is_audited_and_so_is_a_refused_one(
    backoffice, public_site, desk, make_reviewer, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    upload = io.BytesIO(b"audited-download-canary")
    upload.name = "ledger.txt"
    Client().post("/submit/cyber/", {"message": "see file", "attachment": upload})
    attachment = Attachment.objects.get()
    bob = make_reviewer("bob", desks=[desk], key="bob")  # joined after: not a recipient
    switch_site(settings, "backoffice")
    url = f"/tips/{attachment.tip_id}/files/{attachment.storage_name}/"

    assert log_in(bob).get(url).status_code == 404
    assert entries("attachment.download") == []
    assert entries("attachment.download_refused") == [
        ("bob", attachment.tip_id, {"attachment": attachment.pk})
    ]
    response = log_in(alice).get(url)
    assert b"".join(response.streaming_content) == b"audited-download-canary"
    assert entries("attachment.download") == [
        ("alice", attachment.tip_id, {"attachment": attachment.pk})
    ]


def test_going_away_and_coming_back_are_audited(backoffice, desk, make_reviewer):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = log_in(alice, unlock=False)
    client.post("/me/away/")
    assert entries("reviewer.away") == [("alice", None, {})]
    assert entries("reviewer.back") == []
    client.post("/me/away/")
    assert entries("reviewer.away") == [("alice", None, {})]
    assert entries("reviewer.back") == [("alice", None, {})]


def test_a_triage_change_records_the_old_and_the_new_value(backoffice, desk, make_reviewer):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[desk], key="bob")
    tip = make_tip(desk, alice.key)
    client = log_in(alice)
    form = {"status": "investigating", "resolution": "", "priority": 3, "tags": "apt"}
    response = client.post(f"/tips/{tip.pk}/triage/", {**form, "assignee": bob.user.pk})
    assert response.status_code == 302, response.content
    response = client.post(
        f"/tips/{tip.pk}/triage/",
        {**form, "status": "closed", "resolution": "spam", "tags": "", "assignee": ""},
    )
    assert response.status_code == 302, response.content
    triage_actions = ["tip.status", "tip.resolution", "tip.priority", "tip.assignee", "tip.tags"]
    changes = list(
        AuditEvent.objects.filter(tip_id=tip.pk, actor=alice.user, action__in=triage_actions)
        .order_by("pk")
        .values_list("action", "detail")
    )
    assert changes == [
        ("tip.status", {"old": "new", "new": "investigating"}),
        ("tip.priority", {"old": 1, "new": 3}),
        ("tip.assignee", {"old": None, "new": bob.user.pk}),
        ("tip.tags", {"old": [], "new": ["apt"]}),
        ("tip.status", {"old": "investigating", "new": "closed"}),
        ("tip.resolution", {"old": "", "new": "spam"}),
        ("tip.assignee", {"old": bob.user.pk, "new": None}),
        ("tip.tags", {"old": ["apt"], "new": []}),
    ]

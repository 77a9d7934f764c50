"""Replies and notes are encrypted to every reader of the desk, not only to their author."""

from django.test import Client

from reviewers.models import Note
from tests.conftest import switch_site
from tests.reviewers.test_audit_entries import log_in
from tipline.models import Message, Tip


def test_every_reader_of_the_desk_opens_a_colleagues_reply_and_note(
    backoffice, public_site, desk, make_reviewer, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[desk], key="bob")
    Client().post("/submit/cyber/", {"message": "a tip for the desk"})
    tip = Tip.objects.get()
    switch_site(settings, "backoffice")

    author = log_in(alice)
    assert author.get(f"/tips/{tip.pk}/").status_code == 200
    author.post(f"/tips/{tip.pk}/reply/", {"message": "reply-canary-from-alice"})
    author.post(f"/tips/{tip.pk}/notes/", {"note": "note-canary-from-alice"})
    both = sorted([alice.key.fingerprint, bob.key.fingerprint])
    assert sorted(Message.objects.get().recipients) == both
    assert sorted(Note.objects.get().recipients) == both

    page = log_in(bob).get(f"/tips/{tip.pk}/").content.decode()
    assert "a tip for the desk" in page
    assert "reply-canary-from-alice" in page
    assert "note-canary-from-alice" in page

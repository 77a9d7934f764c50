"""The inbox costs the same number of queries whatever the page holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviewers import triage
from tipline.models import Attachment, Message, Tag, Tip

pytestmark = pytest.mark.django_db


def fill(desk, count, assignee, start=0):
    tag, _ = Tag.objects.get_or_create(name="apt")
    for n in range(start, start + count):
        tip = Tip.objects.create(
            desk=desk, codename_hash=f"{n:064x}", envelope=b"x", assignee=assignee
        )
        tip.tags.add(tag)
        Attachment.objects.create(tip=tip, storage_name=f"{n:032x}", ciphertext_bytes=1)
        Message.objects.create(tip=tip, author=Message.Author.TIPSTER, body_for_desk=b"x")


@pytest.mark.parametrize(
    "query", ["", "?view=mine", "?tag=apt", "?has_files=on", "?unread_followup=on", "?page=2"]
)
def test_an_inbox_page_costs_the_same_queries_with_2_or_50_tips_on_it(
    backoffice, desk, make_reviewer, logged_in, query
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = logged_in(alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/{query}").status_code == 200
        return len(captured)

    fill(desk, 52, alice.user)  # page 2 holds 2 tips
    few = queries() if query == "?page=2" else None
    fill(desk, 48, alice.user, start=52)  # now page 1 and page 2 hold 50 each
    many = queries()
    if few is None:
        Tip.objects.all().delete()
        fill(desk, 2, alice.user, start=200)
        few = queries()
    assert few == many, (few, many)
    assert triage.inbox(alice.user, triage.InboxFilter()).count() in (2, 100)

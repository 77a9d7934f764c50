"""The inbox costs the same number of queries whatever the page holds, and however deep it is."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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


def queries(client, url: str) -> tuple[int, str]:
    """How many queries a page costs, and the link to the next page ("" on the last)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    found = re.search(r'<a rel="next" href="([^"]+)"', response.content.decode())
    return len(captured), html.unescape(found[1]) if found else ""


FILTERS = [
    "",
    "view=mine",
    "tag=apt",
    "has_files=on",
    "unread_followup=on",
    "sort=received",
    "sort=-priority",
]


@pytest.mark.parametrize("query", FILTERS)
def test_it_costs_the_same_queries_with_2_or_50_tips_on_a_page(
    backoffice, desk, make_reviewer, logged_in, query
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = logged_in(alice)
    fill(desk, 52, alice.user)
    first, next_page = queries(client, f"/?{query}")
    few, _ = queries(client, next_page)  # 2 tips after the first 50
    fill(desk, 48, alice.user, start=52)
    many, _ = queries(client, f"/?{query}")
    assert few == many == first, (few, many, first)


@pytest.mark.parametrize("query", FILTERS)
def test_it_costs_the_same_queries_on_a_deep_page_as_on_the_first(
    backoffice, desk, make_reviewer, logged_in, query
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = logged_in(alice)
    fill(desk, 160, alice.user)
    first, next_page = queries(client, f"/?{query}")
    for _ in range(3):  # the fourth page, after 150 tips
        deep, next_page = queries(client, next_page)
        assert deep == first, (deep, first)
    assert next_page == ""

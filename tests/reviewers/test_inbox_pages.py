"""Inbox pages by cursor: every tip once, in order, in every sort order; bad cursors refused."""

import html
import itertools
import re
from datetime import UTC, datetime

import pytest

from reviewers import triage
from tipline.models import Tag, Tip

# Few distinct dates and priorities, so that pages begin and end inside runs of equal keys.
DATES = [
    datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 20, 9, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 11, 21, 17, 30, 0, 250000, tzinfo=UTC),
    datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC),
]
KEYS = {
    "-received": lambda tip: (tip.received_at, tip.pk),
    "received": lambda tip: (tip.received_at, tip.pk),
    "-priority": lambda tip: (tip.priority, tip.received_at, tip.pk),
}


@pytest.fixture
def alice(backoffice, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


def make_tips(desk, count: int, start: int = 0) -> list[Tip]:
    apt, _ = Tag.objects.get_or_create(name="apt")
    tips = Tip.objects.bulk_create(
        Tip(
            desk=desk,
            codename_hash=f"{n:064x}",
            envelope=b"x",
            received_at=DATES[n * 7 % len(DATES)],
            priority=(1, 3)[n % 3 == 0],
        )
        for n in range(start, start + count)
    )
    tips = list(Tip.objects.filter(codename_hash__in=[t.codename_hash for t in tips]))
    for tip in tips[::2]:
        tip.tags.add(apt)
    return tips


def in_order(tips: list[Tip], sort: str) -> list[int]:
    ordered = sorted(tips, key=KEYS[sort], reverse=sort.startswith("-"))
    return [tip.pk for tip in ordered]


@pytest.mark.parametrize("sort", list(triage.SORTS))
def test_it_walks_every_tip_once_in_order_both_ways(alice, desk, other_desk, sort):
    mine = make_tips(desk, 23)
    make_tips(other_desk, 5, start=100)  # never listed, whatever the cursor
    wanted = triage.InboxFilter(sort=sort)
    pages = [triage.inbox_page(alice.user, wanted, size=4)]
    while pages[-1].next_cursor:
        after = pages[-1].next_cursor
        pages.append(triage.inbox_page(alice.user, wanted, after=after, size=4))
    assert [tip.pk for page in pages for tip in page.tips] == in_order(mine, sort)
    assert [len(page.tips) for page in pages] == [4, 4, 4, 4, 4, 3]
    assert pages[0].first and pages[0].previous_cursor is None
    back = [pages[-1]]
    while back[-1].previous_cursor:
        before = back[-1].previous_cursor
        back.append(triage.inbox_page(alice.user, wanted, before=before, size=4))
    assert [[t.pk for t in p.tips] for p in reversed(back)] == [
        [t.pk for t in p.tips] for p in pages
    ]


def follow(client, url: str) -> tuple[list[int], str]:
    response = client.get(url)
    assert response.status_code == 200, url
    content = response.content.decode()
    listed = [int(pk) for pk in re.findall(r'<td><a href="/tips/(\d+)/">', content)]
    found = re.search(r'<a rel="next" href="([^"]+)"', content)
    return listed, html.unescape(found[1]) if found else ""


@pytest.mark.parametrize(("sort", "query"), list(itertools.product(triage.SORTS, ["", "&tag=apt"])))
def test_it_follows_next_links_through_every_matching_tip(
    alice, desk, other_desk, logged_in, sort, query
):
    mine = make_tips(desk, 130)
    make_tips(other_desk, 5, start=200)
    if query:
        mine = [tip for tip in mine if tip.tags.exists()]
    client = logged_in(alice)
    seen, url = [], f"/?sort={sort}{query}"
    while url:
        listed, url = follow(client, url)
        seen += listed
        assert not url or f"sort={sort}{query}" in url  # the links keep the filters
    assert seen == in_order(mine, sort)


@pytest.mark.parametrize(
    "cursor",
    [
        "after=garbage",
        "after=2026-11-20T09:00:00.000000Z",
        "after=2026-11-20T09:00:00Z_5",
        "after=2026-11-20 09:00:00.000000Z_5",
        "after=2026-13-20T09:00:00.000000Z_5",
        "after=2026-02-30T09:00:00.000000Z_5",
        "after=2026-11-20T09:00:00.000000Z_0",
        "after=2026-11-20T09:00:00.000000Z_-5",
        "after=2026-11-20T09:00:00.000000Z_5%20OR%201%3D1",
        "after=2026-11-20T09:00:00.000000Z_99999999999999999999",
        "after=%D9%A2%D9%A0%D9%A2%D9%A6-11-20T09:00:00.000000Z_5",  # Arabic-Indic digits
        "after=3_2026-11-20T09:00:00.000000Z_5",  # a priority cursor, newest first
        "sort=-priority&after=2026-11-20T09:00:00.000000Z_5",
        "sort=-priority&after=9_2026-11-20T09:00:00.000000Z_5",
        "before=" + "9" * 5000,
        "after=2026-11-20T09:00:00.000000Z_5&before=2026-11-20T09:00:00.000000Z_6",
    ],
)
def test_it_answers_a_tampered_cursor_with_the_first_page_and_400(alice, desk, logged_in, cursor):
    tips = make_tips(desk, 60)
    response = logged_in(alice).get(f"/?{cursor}")
    assert response.status_code == 400
    assert b"That page link is not valid" in response.content
    sort = "-priority" if "sort=-priority" in cursor else "-received"
    first = in_order(tips, sort)[0]
    assert f'href="/tips/{first}/"'.encode() in response.content
    assert b'rel="next"' in response.content


def test_a_cursor_from_another_sort_or_past_the_end_lists_nothing_amiss(alice, desk, logged_in):
    make_tips(desk, 3)
    client = logged_in(alice)
    response = client.get("/?after=1970-01-01T00:00:00.000000Z_1")
    assert response.status_code == 200 and b"No more tips this way" in response.content
    response = client.get("/?sort=received&before=1970-01-01T00:00:00.000000Z_1")
    assert response.status_code == 200 and b"No more tips this way" in response.content


def test_cursors_read_back_what_they_wrote(alice, desk):
    tip = make_tips(desk, 1)[0]
    for order in triage.SORTS.values():
        cursor = triage.cursor_of(tip, order)
        assert triage.read_cursor(cursor, order) == tuple(getattr(tip, f) for f in order.fields)
    assert triage.cursor_of(tip, triage.SORTS["-priority"]).startswith(f"{tip.priority}_2026-")

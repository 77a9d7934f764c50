from datetime import timedelta

import pytest
from django.utils import timezone

from reviewers import triage
from tests.reviewers.test_access import make_tip
from tipline.models import Attachment, AuditEvent, Message, Tip


@pytest.fixture
def alice(backoffice, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


def post(client, tip, **data):
    form = {"status": tip.status, "resolution": "", "priority": 1, "tags": "", "assignee": ""}
    form.update(data)
    return client.post(f"/tips/{tip.pk}/triage/", form)


def test_a_reviewer_triages_a_tip_and_every_change_is_audited(
    alice, desk, make_reviewer, logged_in
):
    bob = make_reviewer("bob", desks=[desk], key="bob")
    tip = make_tip(desk, alice.key)
    client = logged_in(alice, unlock=True)
    response = post(
        client,
        tip,
        status="investigating",
        priority=3,
        tags="apt, Exchange-Hack",
        assignee=bob.user.pk,
    )
    assert response.status_code == 302, response.content
    tip.refresh_from_db()
    assert (tip.status, tip.priority, tip.assignee) == ("investigating", 3, bob.user)
    assert sorted(tip.tags.values_list("name", flat=True)) == ["apt", "exchange-hack"]
    assert tip.triaged_at is not None
    actions = set(AuditEvent.objects.filter(tip_id=tip.pk).values_list("action", flat=True))
    assert {"tip.status", "tip.priority", "tip.assignee", "tip.tags"} <= actions


def test_closing_needs_a_resolution_and_reopening_clears_it(alice, desk, logged_in):
    tip = make_tip(desk, alice.key)
    client = logged_in(alice, unlock=True)
    response = post(client, tip, status="closed")
    assert response.status_code == 400 and b"needs a resolution" in response.content
    assert post(client, tip, status="closed", resolution="spam").status_code == 302
    tip.refresh_from_db()
    assert (tip.status, tip.resolution) == ("closed", "spam")
    assert post(client, tip, status="triaged").status_code == 302
    tip.refresh_from_db()
    assert (tip.status, tip.resolution) == ("triaged", "")


def test_a_tip_never_goes_back_to_new(alice, desk):
    tip = make_tip(desk, alice.key)
    triage.update_tip(
        alice.user, tip, status="triaged", resolution="", priority=1, tags=[], assignee=None
    )
    tip.refresh_from_db()
    with pytest.raises(triage.TriageError):
        triage.update_tip(
            alice.user, tip, status="new", resolution="", priority=1, tags=[], assignee=None
        )


def test_a_tip_is_assigned_only_within_its_desk(alice, desk, other_desk, make_reviewer, logged_in):
    outsider = make_reviewer("bob", desks=[other_desk], key="bob")
    tip = make_tip(desk, alice.key)
    with pytest.raises(triage.TriageError):
        triage.update_tip(
            alice.user,
            tip,
            status="new",
            resolution="",
            priority=1,
            tags=[],
            assignee=outsider.user,
        )
    response = post(logged_in(alice, unlock=True), tip, assignee=outsider.user.pk)
    assert response.status_code == 400
    tip.refresh_from_db()
    assert tip.assignee is None


@pytest.mark.parametrize(
    "tags", ["<script>", "a b", "x" * 41, ",".join(f"t{i}" for i in range(11))]
)
def test_bad_tags_are_refused(tags):
    with pytest.raises(triage.TriageError):
        triage.parse_tags(tags)


def test_another_desks_reviewer_cannot_triage(alice, desk, other_desk, make_reviewer, logged_in):
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    tip = make_tip(desk, alice.key)
    assert (
        post(logged_in(bob, unlock=True), tip, status="closed", resolution="spam").status_code
        == 404
    )
    tip.refresh_from_db()
    assert tip.status == "new"


def test_the_inbox_filters_and_sorts(alice, desk, other_desk, make_reviewer, logged_in):
    bob = make_reviewer("bob", desks=[desk, other_desk], key="bob")
    new = make_tip(desk, alice.key)
    mine = make_tip(desk, alice.key)
    waiting = make_tip(desk, alice.key)
    theirs = make_tip(other_desk, bob.key)
    triage.update_tip(
        alice.user,
        mine,
        status="investigating",
        resolution="",
        priority=3,
        tags=["apt"],
        assignee=alice.user,
    )
    triage.update_tip(
        alice.user, waiting, status="waiting", resolution="", priority=0, tags=[], assignee=bob.user
    )
    Attachment.objects.create(tip=waiting, storage_name="a" * 32, ciphertext_bytes=1)

    def listed(**query):
        return [t.pk for t in triage.inbox(alice.user, triage.InboxFilter(**query))]

    assert theirs.pk not in listed()
    assert listed(desk=other_desk.slug) == []  # a desk filter cannot widen access
    assert listed(view="new") == [new.pk]
    assert listed(view="mine") == [mine.pk]
    assert listed(view="unassigned") == [new.pk]
    assert listed(view="waiting") == [waiting.pk]
    assert listed(tag="apt") == [mine.pk]
    assert listed(assignee="bob") == [waiting.pk]
    assert listed(has_files=True) == [waiting.pk]
    assert listed(sort="-priority") == [mine.pk, new.pk, waiting.pk]
    assert listed(sort="received") == [new.pk, mine.pk, waiting.pk]
    Tip.objects.update(received_at=new.received_at, priority=1)  # ties: the newest id first
    assert listed() == listed(sort="-priority") == [waiting.pk, mine.pk, new.pk]
    assert listed(sort="received") == [new.pk, mine.pk, waiting.pk]
    page = logged_in(alice).get("/?view=mine&sort=-priority")
    assert page.status_code == 200
    assert f'href="/tips/{mine.pk}/"'.encode() in page.content
    assert f'href="/tips/{new.pk}/"'.encode() not in page.content


def test_the_inbox_finds_follow_ups_a_reviewer_has_not_read(alice, desk, make_reviewer, logged_in):
    bob = make_reviewer("bob", desks=[desk], key="bob")
    quiet = make_tip(desk, alice.key, bob.key)
    talkative = make_tip(desk, alice.key, bob.key)

    def listed(user):
        wanted = triage.InboxFilter(unread_followup=True)
        return [t.pk for t in triage.inbox(user, wanted)]

    assert listed(alice.user) == []
    Message.objects.create(tip=talkative, author=Message.Author.TIPSTER, body_for_desk=b"x")
    assert listed(alice.user) == [talkative.pk]  # never opened
    client = logged_in(alice, unlock=True)
    client.get(f"/tips/{talkative.pk}/")
    assert listed(alice.user) == []  # read since
    assert listed(bob.user) == [talkative.pk]  # unread is per reviewer
    Message.objects.create(
        tip=talkative,
        author=Message.Author.TIPSTER,
        body_for_desk=b"x",
        sent_at=timezone.now() + timedelta(seconds=1),
    )
    assert listed(alice.user) == [talkative.pk]  # a newer follow-up
    Message.objects.create(tip=quiet, author=Message.Author.REVIEWER, body_for_desk=b"x")
    assert quiet.pk not in listed(bob.user)  # a reviewer's own reply is not a follow-up
    page = client.get("/?unread_followup=on")
    assert f'href="/tips/{talkative.pk}/"'.encode() in page.content


def test_the_tipster_sees_only_a_coarse_status(alice, desk):
    tip = make_tip(desk, alice.key)
    for status, seen in (("triaged", "received"), ("waiting", "received")):
        Tip.objects.filter(pk=tip.pk).update(status=status)
        tip.refresh_from_db()
        assert tip.tipster_status() == seen  # not routed in this test
    Tip.objects.filter(pk=tip.pk).update(status="closed")
    tip.refresh_from_db()
    assert tip.tipster_status() == "closed"


def test_rules_are_checked_against_the_tip_as_locked(alice, desk):
    stale = make_tip(desk, alice.key)
    fresh = Tip.objects.get(pk=stale.pk)
    triage.update_tip(
        alice.user, fresh, status="closed", resolution="spam", priority=1, tags=[], assignee=None
    )
    # `stale` still says "new" in memory; closed -> waiting is not allowed.
    with pytest.raises(triage.TriageError):
        triage.update_tip(
            alice.user, stale, status="waiting", resolution="", priority=1, tags=[], assignee=None
        )
    stale.refresh_from_db()
    assert stale.status == "closed"


def test_the_inbox_shows_each_tips_language(
    backoffice, desk, make_reviewer, logged_in, tip_factory
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip_factory(language="fa")
    tip_factory(language="zh-hans")
    page = logged_in(alice).get("/").content.decode()
    assert "<th>Language</th>" in page
    assert "<td>fa</td>" in page and "<td>zh-hans</td>" in page


def test_suspected_spam_is_listed_apart_and_closed_as_spam_in_one_step(
    backoffice, desk, other_desk, make_reviewer, logged_in, tip_factory
):
    from tipline.models import AuditEvent, Tip

    alice = make_reviewer("alice", desks=[desk], key="alice")
    junk = [tip_factory(suspected_spam=True, priority=Tip.Priority.LOW) for _ in range(3)]
    genuine = tip_factory()
    theirs = tip_factory(desk=other_desk, suspected_spam=True)
    client = logged_in(alice)
    listed = client.get("/", {"view": "spam"}).content.decode()
    assert all(f'value="{tip.pk}"' in listed for tip in junk)
    assert f'href="/tips/{genuine.pk}/"' not in listed
    # The genuine tip is above the junk when sorted by priority.
    ordered = client.get("/", {"sort": "-priority"}).content.decode()
    assert ordered.index(f'href="/tips/{genuine.pk}/"') < ordered.index(
        f'href="/tips/{junk[0].pk}/"'
    )
    chosen = [junk[0].pk, junk[1].pk, theirs.pk, genuine.pk, genuine.pk + 1000]
    response = client.post("/tips/resolve-spam/", {"tip": chosen})
    assert response.status_code == 302
    closed = Tip.objects.filter(status="closed", resolution="spam")
    assert set(closed.values_list("pk", flat=True)) == {junk[0].pk, junk[1].pk}
    theirs.refresh_from_db()
    genuine.refresh_from_db()
    assert theirs.status == "new"  # another desk's tip is not touched
    assert genuine.status == "new"  # nor one not marked as suspected spam
    assert AuditEvent.objects.filter(action="tip.status", tip_id=junk[0].pk).count() == 1
    assert f'value="{junk[0].pk}"' not in client.get("/", {"view": "spam"}).content.decode()

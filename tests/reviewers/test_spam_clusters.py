"""Spam groups: a reviewer sorts a batch of open tips (decrypted with their key, each read
audited), near-duplicates are grouped by keyed band digests of their text, and a group closes as
spam in one step; within the reviewer's desks only, and with no text kept."""

import io
import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from reviewers import similarity
from reviewers.models import SimilarityBand
from tests import canary
from tests.conftest import PASSWORD
from tests.reviewers.test_access import make_tip
from tipline import crypto
from tipline.models import AuditEvent, Message, Tip

JUNK = (
    "Dear friend, buy cheap watches and genuine pills today at our online store, best prices "
    "guaranteed for everyone. Order number 48213 ships free to every country in the world. "
    "Click the link below to claim your exclusive discount before the offer expires tomorrow "
    "morning, and tell your family and colleagues about this amazing opportunity right now."
)
# The same junk as a template sends it: one word changed, another number.
JUNK_EDITED = JUNK.replace("cheap", "fine").replace("48213", "99107")
JUNK_SHOUTED = JUNK.upper().replace("TOMORROW", "TONIGHT")
GENUINE = (
    "I work in the finance team of a shipping company. Since March our director has approved "
    "payments to a trading firm in Dubai that nobody has met; the invoices describe engine "
    "parts we never received, and the money leaves the same day it arrives."
)
GENUINE_OTHER = (
    "My former employer runs a mixing service for stolen cryptocurrency. The servers are in a "
    "rented office above a bakery, and the operators meet on Thursdays to split the proceeds."
)


def tip_of(desk, keys, text, **fields):
    tip = make_tip(desk, *keys, message=text)
    if fields:
        Tip.objects.filter(pk=tip.pk).update(**fields)
        tip.refresh_from_db()
    return tip


def followup(tip, keys, text, author=Message.Author.TIPSTER):
    public = [crypto.PublicKey(k.fingerprint, k.armored) for k in keys]
    document = {"version": 2, "kind": "followup", "message": text, "attachments": []}
    return Message.objects.create(
        tip=tip,
        author=author,
        body_for_desk=crypto.encrypt_bytes(json.dumps(document).encode(), public),
        recipients=[k.fingerprint for k in keys],
    )


@pytest.fixture
def alice(backoffice, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def reader(alice, logged_in):
    return logged_in(alice, unlock=True)


def sort(client):
    response = client.post("/spam/sort/")
    assert response.status_code == 302 and response["Location"] == "/spam/groups/"
    return response


def shown_groups(client) -> list[set[int]]:
    """The groups on the page, as sets of tip ids (from each group's tip links)."""
    html = client.get("/spam/groups/").content.decode()
    rows = re.findall(r"<tr>\s*<td>\d+</td>.*?</tr>", html, flags=re.S)
    return [{int(pk) for pk in re.findall(r'href="/tips/(\d+)/"', row)} for row in rows]


def close_form(client, tip_id) -> dict:
    """The close form of the group holding ``tip_id``, as the page shows it."""
    html = client.get("/spam/groups/").content.decode()
    for tip, token in re.findall(
        r'name="tip" value="(\d+)"><input type="hidden" name="group" value="([0-9a-f]+)"', html
    ):
        row = html[: html.index(f'value="{token}"')].rsplit("<tr>", 1)[1]
        if f'href="/tips/{tip_id}/"' in row:
            return {"tip": tip, "group": token}
    raise AssertionError(f"no group holds tip {tip_id}")


def test_near_duplicates_are_grouped_and_unrelated_tips_are_not(desk, alice, reader):
    junk = [
        tip_of(desk, [alice.key], JUNK, suspected_spam=True),
        tip_of(desk, [alice.key], JUNK_EDITED),
        tip_of(desk, [alice.key], JUNK_SHOUTED),
    ]
    # The junk can come in a follow-up too: the tipster's own words, wherever they are.
    late = tip_of(desk, [alice.key], "hello")
    followup(late, [alice.key], JUNK_EDITED)
    genuine = [tip_of(desk, [alice.key], GENUINE), tip_of(desk, [alice.key], GENUINE_OTHER)]
    sort(reader)
    assert SimilarityBand.objects.count() == 6 * similarity.BANDS
    assert shown_groups(reader) == [{t.pk for t in junk} | {late.pk}]
    html = reader.get("/spam/groups/").content.decode()
    assert "watches" not in html.lower() and "dubai" not in html.lower()  # no text shown
    assert all(f'href="/tips/{t.pk}/"' not in html for t in genuine)


def test_the_reward_contact_and_reviewers_replies_are_not_sketched(desk, alice, reader):
    contact = tip_of(desk, [alice.key], GENUINE)
    document = {
        "version": 2,
        "answers": [{"key": "message", "kind": "long_text", "label": "M", "value": GENUINE}],
        "attachments": [],
        "language": "en",
        "reward_contact": JUNK,
    }
    public = [crypto.PublicKey(alice.key.fingerprint, alice.key.armored)]
    Tip.objects.filter(pk=contact.pk).update(
        envelope=crypto.encrypt_bytes(json.dumps(document).encode(), public)
    )
    replied = tip_of(desk, [alice.key], GENUINE_OTHER)
    followup(replied, [alice.key], JUNK, author=Message.Author.REVIEWER)
    pair = [tip_of(desk, [alice.key], JUNK), tip_of(desk, [alice.key], JUNK_EDITED)]
    sort(reader)
    assert shown_groups(reader) == [{t.pk for t in pair}]


def test_the_database_keeps_no_text_only_keyed_band_digests(desk, alice, reader, settings):
    words = "quetzal-canary-7781 marmalade-canary-5521 zeppelin-canary-3309"
    tip = tip_of(desk, [alice.key], f"{words} {JUNK}")
    sort(reader)
    assert reader.get(f"/tips/{tip.pk}/").status_code == 200  # opening records it too
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    blob = dump.getvalue().encode()
    normalized = " ".join(similarity.words(words))
    assert not canary.find([*words.split(), normalized, "buy cheap watches"], {"db": blob})
    stored = [
        bytes(d) for d in SimilarityBand.objects.filter(tip=tip).values_list("digest", flat=True)
    ]
    assert len(stored) == similarity.BANDS and len(set(stored)) == similarity.BANDS
    texts = similarity.tipster_text([{"kind": "long_text", "value": f"{words} {JUNK}"}], [])
    assert similarity.band_digests(texts) == stored
    # Keyed: under another key every band differs; the public site has no key to compute one.
    settings.INDICATOR_KEY = b"another indicator key"
    assert not set(similarity.band_digests(texts)) & set(stored)
    settings.INDICATOR_KEY = None
    with pytest.raises(TypeError):
        similarity.band_digests(texts)


def test_opening_a_tip_records_its_sketch_once_and_refreshes_it(desk, alice, reader):
    tip = tip_of(desk, [alice.key], GENUINE)
    reader.get(f"/tips/{tip.pk}/")
    first = dict(SimilarityBand.objects.filter(tip=tip).values_list("index", "digest"))
    reader.get(f"/tips/{tip.pk}/")
    assert dict(SimilarityBand.objects.filter(tip=tip).values_list("index", "digest")) == first
    followup(tip, [alice.key], GENUINE_OTHER)
    reader.get(f"/tips/{tip.pk}/")
    again = dict(SimilarityBand.objects.filter(tip=tip).values_list("index", "digest"))
    assert len(again) == similarity.BANDS and again != first


def test_each_decryption_is_audited_and_a_batch_is_bounded(desk, alice, reader, settings):
    settings.SPAM_SORT_BATCH = 2
    oldest_spam = tip_of(desk, [alice.key], JUNK, suspected_spam=True)
    middle = tip_of(desk, [alice.key], GENUINE)
    newest = tip_of(desk, [alice.key], GENUINE_OTHER)
    followup(middle, [alice.key], "one more thing")
    response = sort(reader)
    audited = AuditEvent.objects.filter(actor=alice.user, action="tip.read_for_spam_sort")
    # Suspected spam first, then the newest.
    assert set(audited.values_list("tip_id", flat=True)) == {oldest_spam.pk, newest.pk}
    assert set(SimilarityBand.objects.values_list("tip_id", flat=True)) == {
        oldest_spam.pk,
        newest.pk,
    }
    page = reader.get(response["Location"]).content.decode()
    assert "Sorted 2 tips; 1 left to sort." in page
    assert "<strong>1 open tip</strong> not sorted yet" in page
    sort(reader)
    assert list(audited.filter(tip_id=middle.pk).values_list("tip_id", flat=True)) == [middle.pk]
    sort(reader)  # nothing left: nothing decrypted
    assert audited.count() == 3
    # A sort shows nothing, so the follow-up is still unread in the inbox.
    assert not AuditEvent.objects.filter(action="tip.read").exists()
    inbox = reader.get("/", {"unread_followup": "on"}).content.decode()
    assert f'href="/tips/{middle.pk}/"' in inbox


def test_sorting_needs_an_unlocked_key_and_a_post(desk, alice, logged_in):
    tip_of(desk, [alice.key], JUNK)
    client = logged_in(alice)
    response = client.post("/spam/sort/")
    assert response.status_code == 302 and response["Location"].startswith("/key/unlock/")
    assert client.get("/spam/groups/").status_code == 200
    client.post("/key/unlock/", {"passphrase": alice.key.passphrase})
    assert client.get("/spam/sort/").status_code == 405
    assert not AuditEvent.objects.filter(action="tip.read_for_spam_sort").exists()


def test_a_tip_not_encrypted_to_the_key_is_counted_not_decrypted(
    desk, alice, reader, make_reviewer
):
    carol = make_reviewer("carol", key="carol")
    before_alice = tip_of(desk, [carol.key], JUNK)
    response = sort(reader)
    assert (
        "1 are not encrypted to your key yet" in reader.get(response["Location"]).content.decode()
    )
    assert not SimilarityBand.objects.filter(tip=before_alice).exists()
    assert not AuditEvent.objects.filter(action="tip.read_for_spam_sort").exists()


def test_closing_a_group_closes_exactly_its_tips_and_is_audited(desk, alice, reader):
    group = [
        tip_of(desk, [alice.key], JUNK, suspected_spam=True),
        tip_of(desk, [alice.key], JUNK_EDITED),  # not marked: closed with its group
    ]
    genuine = tip_of(desk, [alice.key], GENUINE)
    closed_before = tip_of(desk, [alice.key], JUNK_SHOUTED, status="closed", resolution="duplicate")
    sort(reader)
    assert shown_groups(reader) == [{t.pk for t in group}]
    form = close_form(reader, group[0].pk)
    response = reader.post("/spam/groups/close/", form)
    assert response.status_code == 302
    closed = Tip.objects.filter(status="closed", resolution="spam")
    assert set(closed.values_list("pk", flat=True)) == {t.pk for t in group}
    genuine.refresh_from_db()
    closed_before.refresh_from_db()
    assert genuine.status == "new" and closed_before.resolution == "duplicate"
    for tip in group:
        change = AuditEvent.objects.get(action="tip.status", tip_id=tip.pk)
        assert (change.actor, change.detail["new"]) == (alice.user, "closed")
        assert AuditEvent.objects.filter(action="tip.resolution", tip_id=tip.pk).exists()
    event = AuditEvent.objects.get(action="spam.group_closed")
    assert sorted(event.detail["closed"]) == sorted(t.pk for t in group)
    assert shown_groups(reader) == []


def test_a_group_that_changed_since_it_was_shown_is_not_closed(desk, alice, reader):
    group = [tip_of(desk, [alice.key], JUNK), tip_of(desk, [alice.key], JUNK_EDITED)]
    sort(reader)
    form = close_form(reader, group[0].pk)
    newcomer = tip_of(desk, [alice.key], JUNK_SHOUTED)
    sort(reader)
    response = reader.post("/spam/groups/close/", form)
    assert "has changed" in reader.get(response["Location"]).content.decode()
    assert not Tip.objects.filter(status="closed").exists()
    assert shown_groups(reader) == [{t.pk for t in group} | {newcomer.pk}]
    assert reader.post("/spam/groups/close/", {"tip": "x", "group": ""}).status_code == 302
    assert not Tip.objects.filter(status="closed").exists()


def test_nobody_sorts_groups_or_closes_another_desks_tips(
    desk, other_desk, alice, reader, make_reviewer
):
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    root = make_reviewer("root", key="carol", is_staff=True, is_superuser=True)
    # Encrypted to every key, as if bob and root had once been on the desk.
    everyone = [alice.key, bob.key, root.key]
    mine = [tip_of(desk, everyone, JUNK), tip_of(desk, everyone, JUNK_EDITED)]
    theirs = [tip_of(other_desk, everyone, JUNK), tip_of(other_desk, everyone, JUNK_SHOUTED)]
    sort(reader)
    form = close_form(reader, mine[0].pk)
    assert shown_groups(reader) == [{t.pk for t in mine}]  # the other desk's twins left out
    assert not SimilarityBand.objects.filter(tip__in=theirs).exists()
    for outsider in (bob, root):
        other_client = Client()
        login = {"username": outsider.user.username, "password": PASSWORD}
        other_client.post("/login/", {**login, "otp_token": outsider.totp()})
        unlock = other_client.post("/key/unlock/", {"passphrase": outsider.key.passphrase})
        assert unlock.status_code == 302
        sort(other_client)
        html = other_client.get("/spam/groups/").content.decode()
        assert all(f"/tips/{t.pk}/" not in html for t in mine)
        other_client.post("/spam/groups/close/", form)
        assert not Tip.objects.filter(pk__in=[t.pk for t in mine], status="closed").exists()
        reads = AuditEvent.objects.filter(actor=outsider.user, action="tip.read_for_spam_sort")
        assert not reads.filter(tip_id__in=[t.pk for t in mine]).exists()
    # Bob sorted his own desk's tips: his group, not alice's.
    assert set(
        AuditEvent.objects.filter(actor=bob.user, action="tip.read_for_spam_sort").values_list(
            "tip_id", flat=True
        )
    ) == {t.pk for t in theirs}
    assert not AuditEvent.objects.filter(actor=root.user, action="tip.read_for_spam_sort").exists()
    # And alice's group is still hers to close.
    assert reader.post("/spam/groups/close/", form).status_code == 302
    assert Tip.objects.filter(pk__in=[t.pk for t in mine], status="closed").count() == 2
    assert not Tip.objects.filter(pk__in=[t.pk for t in theirs], status="closed").exists()

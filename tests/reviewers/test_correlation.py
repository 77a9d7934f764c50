"""Blind correlation: tips that mention the same indicator find each other in the back office,
while the database keeps only keyed hashes and the public site cannot compute one."""

import hashlib
import hmac
import io
import json

import pytest
from django.core.management import call_command

from reviewers import correlation
from reviewers.models import IndicatorHash
from tests.reviewers.test_access import make_tip
from tipline import crypto
from tipline.models import AuditEvent

SEGWIT = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
EVM = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
TX = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"


def tip_with(desk, keys, *answers, text=None):
    answers = list(answers)
    if text is not None:
        answers.append({"key": "message", "kind": "long_text", "label": "Message", "value": text})
    return make_tip(desk, *keys, answers=answers)


def typed(kind, value, **extra):
    indicator = {"kind": kind, "value": value, **extra}
    return {"key": kind, "kind": kind, "label": kind, "value": value, "indicator": indicator}


@pytest.fixture
def alice(make_reviewer, desk):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def reader(alice, logged_in):
    return logged_in(alice, unlock=True)


def page(client, tip) -> str:
    response = client.get(f"/tips/{tip.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_tips_that_share_an_indicator_find_each_other(desk, alice, reader):
    typed_in = tip_with(desk, [alice.key], typed("crypto_address", SEGWIT, chain="bitcoin"))
    in_text = tip_with(
        desk, [alice.key], text=f"The money went to {SEGWIT.upper()} and then to {EVM}."
    )
    unrelated = tip_with(desk, [alice.key], text="nothing to see")
    page(reader, typed_in)  # recorded when first opened
    html = page(reader, in_text)
    assert f'also in <a href="/tips/{typed_in.pk}/">tip #{typed_in.pk}</a>' in html
    assert "Shares 1 indicator with" in html
    assert f"tip #{unrelated.pk}" not in html
    # And the other way round, now that both are recorded.
    assert f'also in <a href="/tips/{in_text.pk}/">tip #{in_text.pk}</a>' in page(reader, typed_in)
    assert IndicatorHash.objects.filter(tip=in_text).count() == 2  # the address and EVM one
    assert set(IndicatorHash.objects.filter(tip=in_text).values_list("source", flat=True)) == {
        "text"
    }


def test_the_database_keeps_no_indicator_only_keyed_hashes(desk, alice, reader, settings):
    tip = tip_with(
        desk,
        [alice.key],
        typed("crypto_address", SEGWIT, chain="bitcoin"),
        typed("transaction", "0x" + TX, chain="ethereum"),
        text=f"paid from {EVM}",
    )
    page(reader, tip)
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    everything = dump.getvalue().lower()
    for indicator in (SEGWIT, EVM, TX, EVM.removeprefix("0x")):
        assert indicator not in everything
        plain_sha256 = hashlib.sha256(indicator.encode()).hexdigest()
        assert plain_sha256 not in everything
    digests = {bytes(d) for d in IndicatorHash.objects.values_list("digest", flat=True)}
    assert len(digests) == 3
    # Keyed: without the key the digest cannot be recomputed, with another key it differs.
    expected = hmac.new(
        settings.INDICATOR_KEY,
        f"tipline indicator v1\x00crypto_address\x00{SEGWIT}".encode(),
        hashlib.sha256,
    ).digest()
    assert expected in digests
    settings.INDICATOR_KEY = b"another key"
    assert correlation.digest("crypto_address", SEGWIT) not in digests


def test_a_transaction_id_matches_with_or_without_0x(desk, alice, reader):
    first = tip_with(desk, [alice.key], typed("transaction", "0x" + TX, chain="ethereum"))
    second = tip_with(desk, [alice.key], text=f"the transfer {TX} went through")
    page(reader, first)
    assert f"tip #{first.pk}</a>" in page(reader, second)


def test_the_reward_contact_and_reviewers_words_are_not_indicators(desk, alice, reader):
    tip = tip_with(desk, [alice.key], text="see the attached ledger")
    document = {"version": 2, "answers": [], "attachments": [], "language": "en"}
    document["reward_contact"] = "me@example.org"
    public = [crypto.PublicKey(alice.key.fingerprint, alice.key.armored)]
    tip.envelope = crypto.encrypt_bytes(json.dumps(document).encode(), public)
    tip.save()
    page(reader, tip)
    assert not IndicatorHash.objects.filter(tip=tip).exists()


def test_tips_on_desks_the_reviewer_does_not_read_are_counted_not_named(
    desk, other_desk, alice, make_reviewer, reader
):
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    elsewhere = tip_with(other_desk, [bob.key], typed("email", "boss@example.org"))
    correlation.record(
        elsewhere, correlation.indicators_in([typed("email", "boss@example.org")], [])
    )
    mine = tip_with(desk, [alice.key], text="write to boss@example.org")
    html = page(reader, mine)
    assert "1 tip on desks you do not read" in html
    assert f"#{elsewhere.pk}" not in html.replace(f"#{mine.pk}", "")


def test_a_reviewer_looks_up_an_indicator_and_the_audit_keeps_no_value(desk, alice, reader):
    tip = tip_with(desk, [alice.key], typed("crypto_address", EVM, chain="ethereum"))
    page(reader, tip)
    checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    response = reader.post("/indicators/", {"kind": "crypto_address", "value": checksummed})
    assert response.status_code == 200
    assert f'href="/tips/{tip.pk}/"' in response.content.decode()
    event = AuditEvent.objects.filter(action="indicator.lookup").get()
    assert EVM not in json.dumps(event.detail).lower()
    assert event.detail["found"] == 1
    # A mistyped value is explained, and nothing is looked up.
    response = reader.post("/indicators/", {"kind": "crypto_address", "value": checksummed[:-1]})
    assert response.status_code == 400
    assert AuditEvent.objects.filter(action="indicator.lookup").count() == 1


def test_tips_sharing_an_indicator_are_added_to_the_case_in_one_step(desk, alice, reader):
    first = tip_with(desk, [alice.key], typed("phone", "+442079460958"))
    second = tip_with(desk, [alice.key], typed("phone", "+442079460958"))
    third = tip_with(desk, [alice.key], typed("phone", "+442079460958"))
    for tip in (second, third):
        page(reader, tip)
    reader.post(f"/tips/{first.pk}/case/", {"action": "new", "title": "Phone ring"})
    html = page(reader, first)
    assert f"Add #{second.pk}, #{third.pk} to case" in html
    response = reader.post(f"/tips/{first.pk}/link-shared/")
    assert response.status_code == 302
    case = first.case_link.case
    assert set(case.members.values_list("tip_id", flat=True)) == {first.pk, second.pk, third.pk}
    assert AuditEvent.objects.filter(action="case.add_tip").count() == 3


def test_a_reviewer_cannot_link_a_tip_they_do_not_read(
    desk, other_desk, alice, make_reviewer, reader
):
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    theirs = tip_with(other_desk, [bob.key], typed("phone", "+442079460958"))
    assert reader.post(f"/tips/{theirs.pk}/link-shared/").status_code == 404

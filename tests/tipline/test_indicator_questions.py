"""Typed indicators in a questionnaire: each part labelled, checked before anything is stored,
and kept in the encrypted answers in canonical form with the network or service chosen."""

import re
from html import unescape

import pytest
from django.test import Client
from django.utils import translation

from tests.tipline.test_submit import decrypt_envelope
from tipline.models import Question, Tip

GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
SEGWIT = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
EVM = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
TX = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"


@pytest.fixture
def desk_with_indicators(public_site, desk, make_reviewer):
    make_reviewer("alice", desks=[desk], key="alice")
    for position, (key, kind) in enumerate(
        [
            ("wallet", "crypto_address"),
            ("payment", "transaction"),
            ("contact", "email"),
            ("site", "domain"),
            ("server", "ip_address"),
            ("phone", "phone"),
            ("account", "handle"),
            ("stolen", "amount"),
            ("period", "date_range"),
        ],
        start=10,
    ):
        Question.objects.create(
            desk=desk, key=key, kind=kind, position=position, labels={"en": key.title()}
        )
    return desk


def wallet(chain: str, address: str) -> dict:
    return {"wallet_chain": chain, "wallet_address": address}


def post(client, **answers):
    return client.post("/submit/cyber/", {"message": "a tip about a wallet", **answers})


def answers_of(tip, key_cache) -> dict:
    return {a["key"]: a for a in decrypt_envelope(tip, key_cache["alice"])["answers"]}


def test_each_part_of_an_indicator_has_its_own_label(client, desk_with_indicators):
    html = client.get("/submit/cyber/").content.decode()
    for name in (
        "wallet_chain",
        "wallet_address",
        "payment_chain",
        "payment_transaction",
        "account_platform",
        "account_name",
        "stolen_amount",
        "stolen_currency",
        "period_start",
        "period_end",
    ):
        [input_id] = re.findall(rf'name="{name}"[^>]*? id="([^"]+)"', html)
        assert re.search(rf'<label for="{input_id}">[^<]+</label>', html), name
    assert "<legend>Wallet</legend>" in html
    assert 'name="contact" ' in html and 'inputmode="email"' in html


def test_typed_indicators_are_encrypted_in_canonical_form(client, desk_with_indicators, key_cache):
    response = post(
        client,
        wallet_chain="bitcoin",
        wallet_address=f"  {SEGWIT.upper()} ",
        payment_chain="ethereum",
        payment_transaction=TX.upper(),
        contact="Someone@Example.ORG",
        site="Exämple.org.",
        server="2001:DB8:0:0:0:0:0:7",
        phone="+44 (0)20 7946-0958",
        account_platform="telegram",
        account_name="@Launder_Desk",
        stolen_amount="1 500,00".replace(",", "."),
        stolen_currency="USD",
        period_start="2024-03-01",
        period_end="2024-03-31",
    )
    assert response.status_code == 200, unescape(response.content.decode())
    tip = Tip.objects.get()
    assert SEGWIT.encode() not in bytes(tip.envelope)
    answers = answers_of(tip, key_cache)
    expected = {
        "wallet": ("crypto_address", SEGWIT, {"chain": "bitcoin"}),
        "payment": ("transaction", "0x" + TX, {"chain": "ethereum"}),
        "contact": ("email", "someone@example.org", {}),
        "site": ("domain", "xn--exmple-cua.org", {}),
        "server": ("ip_address", "2001:db8::7", {}),
        "phone": ("phone", "+442079460958", {}),
        "account": ("handle", "telegram:launder_desk", {"platform": "telegram"}),
        "stolen": ("amount", "USD 1500", {}),
        "period": ("date_range", "2024-03-01/2024-03-31", {}),
    }
    for key, (kind, value, extra) in expected.items():
        assert answers[key]["value"] == value, key
        assert answers[key]["indicator"] == {"kind": kind, "value": value, **extra}, key
    assert answers["wallet"]["display"] == f"Bitcoin: {SEGWIT}"


def test_an_address_without_a_network_is_checked_against_its_shape(
    client, desk_with_indicators, key_cache
):
    assert post(client, wallet_chain="", wallet_address=GENESIS).status_code == 200
    wallet = answers_of(Tip.objects.get(), key_cache)["wallet"]
    assert wallet["indicator"] == {"kind": "crypto_address", "value": GENESIS}
    assert wallet["display"] == GENESIS


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        # One character changed: the checksum catches it.
        (wallet("bitcoin", GENESIS[:-1] + "b"), "checksum does not match"),
        # EIP-55: one letter's case flipped.
        (wallet("ethereum", EVM.replace("aAeb", "aaeb")), "capital and small"),
        (wallet("ethereum", SEGWIT), "looks like an address on Bitcoin"),
        ({"wallet_chain": "", "wallet_address": "not an address"}, "could not recognise"),
        ({"payment_chain": "", "payment_transaction": TX}, "choose the network"),
        ({"contact": "someone@"}, "name@example.org"),
        ({"server": "300.1.2.3"}, "203.0.113.7"),
        ({"phone": "020 7946 0958"}, "international format"),
        ({"account_platform": "", "account_name": "someone"}, "choose the service"),
        ({"stolen_amount": "1,500", "stolen_currency": "USD"}, "thousands or decimals"),
        ({"stolen_amount": "1500", "stolen_currency": ""}, "choose the currency"),
        ({"period_start": "2024-03-31", "period_end": "2024-03-01"}, "first date is after"),
    ],
)
def test_a_mistyped_indicator_is_explained_and_nothing_is_stored(
    client, desk_with_indicators, answers, message
):
    response = post(client, **answers)
    assert response.status_code == 400
    assert message in unescape(response.content.decode())
    assert Tip.objects.count() == 0


def test_the_mistake_is_explained_in_the_tipsters_language(client, desk_with_indicators):
    client.cookies["tipline_language"] = "ar"
    response = post(client, wallet_chain="bitcoin", wallet_address=GENESIS[:-1] + "b")
    assert response.status_code == 400
    from tipline.indicators import MESSAGES

    with translation.override("ar"):
        expected = str(MESSAGES["address_checksum"]) % {"chain": "Bitcoin"}
    with translation.override("en"):
        assert expected != str(MESSAGES["address_checksum"]) % {"chain": "Bitcoin"}
    assert expected in unescape(response.content.decode())


def test_a_required_indicator_needs_its_value(client, desk_with_indicators):
    Question.objects.filter(key="wallet").update(required=True)
    response = post(client, wallet_chain="bitcoin", wallet_address="")
    assert response.status_code == 400
    assert "Please answer this question" in unescape(response.content.decode())
    assert Tip.objects.count() == 0


def test_a_network_chosen_without_an_address_is_no_answer(client, desk_with_indicators, key_cache):
    assert post(client, wallet_chain="bitcoin", wallet_address="").status_code == 200
    assert "wallet" not in answers_of(Tip.objects.get(), key_cache)


def test_indicator_answers_are_never_stored_for_routing(desk_with_indicators):
    question = Question.objects.get(key="wallet")
    question.is_routing = True
    with pytest.raises(Exception, match="Only choice"):
        question.full_clean()


def test_an_indicator_question_shows_in_every_language(desk_with_indicators):
    client = Client()
    client.cookies["tipline_language"] = "fa"
    html = unescape(client.get("/submit/cyber/").content.decode())
    with translation.override("fa"):
        assert translation.gettext("Network") in html
        assert translation.gettext("Network") != "Network"

import hashlib
from datetime import date, timedelta
from functools import partial

import pytest
from Crypto.Hash import keccak
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise

from tipline import indicators
from tipline.indicators import (
    normalize,
    normalize_amount,
    normalize_crypto_address,
    normalize_date_range,
    normalize_domain,
    normalize_email,
    normalize_handle,
    normalize_ip_address,
    normalize_phone,
    normalize_transaction_hash,
)

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
GENESIS_HASH160 = bytes.fromhex("62e907b15cbf27d5425399ebf6f0fb50ebb88f18")
GENESIS_TX = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
TRON_USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
MONERO_GENERAL_FUND = (
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98u"
    "Nbr2VBBEt7f2wfn3RVGQBEP3A"
)
EIP55_EXAMPLES = (
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
)


def rejection(function, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        function(*args, **kwargs)
    return info.value


def base58check(payload: bytes) -> str:
    """Encoder written for the tests, independent of the module's decoder."""
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, text = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = ALPHABET[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def monero_address(prefix: int, body: bytes) -> str:
    """Monero's block-wise Base58 of prefix + body + 4-byte Keccak checksum."""
    data = bytes([prefix]) + body
    data += keccak.new(digest_bits=256, data=data).digest()[:4]
    chars_for = (0, 2, 3, 5, 6, 7, 9, 10, 11)
    text = ""
    for start in range(0, len(data), 8):
        block = data[start : start + 8]
        number, encoded = int.from_bytes(block, "big"), ""
        for _ in range(chars_for[len(block)]):
            number, digit = divmod(number, 58)
            encoded = ALPHABET[digit] + encoded
        text += encoded
    return text


def change_one_character(value: str, index: int) -> str:
    replacement = "2" if value[index] != "2" else "3"
    return value[:index] + replacement + value[index + 1 :]


def flip_case_of_first_letter(value: str) -> str:
    index = next(i for i, ch in enumerate(value) if i > 1 and ch.isalpha())
    return value[:index] + value[index].swapcase() + value[index + 1 :]


# --- Bitcoin ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "BC1SW50QGDZ25J",
        "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
    ],
)
def test_it_accepts_bip173_and_bip350_addresses_in_lowercase(address):
    assert normalize_crypto_address(address, "bitcoin") == address.lower()
    assert normalize_crypto_address(address.upper(), "bitcoin") == address.lower()


def test_it_keeps_base58_bitcoin_addresses_as_typed():
    assert normalize_crypto_address(GENESIS, "bitcoin") == GENESIS
    p2sh = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
    assert normalize_crypto_address(p2sh, "bitcoin") == p2sh
    assert base58check(b"\x00" + GENESIS_HASH160) == GENESIS


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "address_format"),
        # Witness version 1 or more with a Bech32 checksum, and version 0 with Bech32m.
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "address_checksum"),
        ("BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "address_checksum"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "address_checksum"),
        ("bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "address_characters"),
        ("BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "address_format"),
        ("bc1pw5dgrnzv", "address_length"),
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
            "address_length",
        ),
        ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "address_length"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "address_format"),
        ("bc1gmk9yu", "address_length"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzK5jj0", "address_case"),
    ],
)
def test_it_refuses_bip350_invalid_addresses(address, code):
    assert rejection(normalize_crypto_address, address, "bitcoin").code == code


def test_it_refuses_a_taproot_address_whose_program_is_not_32_bytes():
    # Valid Bech32m per BIP-350, but no wallet can receive at a 40-byte version 1 program.
    address = "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y"
    assert rejection(normalize_crypto_address, address, "bitcoin").code == "address_length"


def test_it_refuses_a_mistyped_base58_address_with_a_plain_message():
    error = rejection(normalize_crypto_address, change_one_character(GENESIS, 10), "bitcoin")
    assert error.code == "address_checksum"
    assert error.messages == [
        "This Bitcoin address has a typing mistake: its checksum does not match. "
        "Please check each character, and that none is missing."
    ]
    case_flipped = GENESIS[:25] + GENESIS[25].swapcase() + GENESIS[26:]
    assert rejection(normalize_crypto_address, case_flipped, "bitcoin").code == "address_checksum"
    # One character short can still decode to 25 bytes; then only the checksum tells.
    assert rejection(normalize_crypto_address, GENESIS[:-1], "bitcoin").code == "address_checksum"
    assert rejection(normalize_crypto_address, GENESIS[:-8], "bitcoin").code == "address_length"
    assert rejection(normalize_crypto_address, "1A1zP1eP0", "bitcoin").code == "address_characters"


def test_it_refuses_test_network_addresses():
    for address in (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        base58check(b"\x6f" + GENESIS_HASH160),
        base58check(b"\xc4" + GENESIS_HASH160),
    ):
        assert rejection(normalize_crypto_address, address, "bitcoin").code == "address_testnet"


def test_it_trims_around_an_address_but_refuses_spaces_inside():
    assert normalize_crypto_address(f" \u200f{GENESIS}\t\n", "bitcoin") == GENESIS
    spaced = f"{GENESIS[:10]} {GENESIS[10:]}"
    assert rejection(normalize_crypto_address, spaced, "bitcoin").code == "address_spaces"
    assert rejection(normalize_crypto_address, "   ", "bitcoin").code == "empty"


def test_it_accepts_litecoin_addresses_only_on_litecoin():
    address = base58check(b"\x30" + GENESIS_HASH160)
    assert address.startswith("L")
    assert normalize_crypto_address(address, "litecoin") == address
    error = rejection(normalize_crypto_address, address, "bitcoin")
    assert error.code == "address_other_chain"
    assert "Litecoin" in error.messages[0]
    assert rejection(normalize_crypto_address, GENESIS, "litecoin").code == "address_other_chain"


# --- Ethereum and other EVM chains --------------------------------------------------------------


@pytest.mark.parametrize("address", EIP55_EXAMPLES)
@pytest.mark.parametrize("chain", sorted(indicators.EVM_CHAINS))
def test_it_accepts_eip55_examples_on_every_evm_chain(address, chain):
    assert normalize_crypto_address(address, chain) == address.lower()


@pytest.mark.parametrize("address", EIP55_EXAMPLES)
def test_it_refuses_eip55_examples_with_one_letters_case_flipped(address):
    flipped = flip_case_of_first_letter(address)
    assert flipped.lower() == address.lower() and flipped != address
    error = rejection(normalize_crypto_address, flipped, "ethereum")
    assert error.code == "address_case_checksum"


def test_it_accepts_evm_addresses_without_a_checksum_in_one_case():
    lower = EIP55_EXAMPLES[0].lower()
    assert normalize_crypto_address(lower, "ethereum") == lower
    assert normalize_crypto_address("0x" + lower[2:].upper(), "bsc") == lower
    assert normalize_crypto_address(lower[2:], "base") == lower


def test_it_refuses_evm_addresses_of_the_wrong_shape():
    assert rejection(normalize_crypto_address, "0x5aAeb6053F", "ethereum").code == "address_length"
    not_hex = "0x" + "g" * 40
    assert rejection(normalize_crypto_address, not_hex, "ethereum").code == "address_characters"


def test_it_uses_keccak_not_nist_sha3_for_checksums():
    empty_keccak = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert indicators.keccak256(b"").hex() == empty_keccak
    assert hashlib.sha3_256(b"").hexdigest() != empty_keccak
    assert indicators.eip55_checksummed(EIP55_EXAMPLES[1][2:].lower()) == EIP55_EXAMPLES[1][2:]


# --- Tron and Monero ----------------------------------------------------------------------------


def test_it_accepts_a_real_tron_address_and_refuses_a_changed_one():
    assert normalize_crypto_address(TRON_USDT, "tron") == TRON_USDT
    changed = change_one_character(TRON_USDT, 20)
    assert rejection(normalize_crypto_address, changed, "tron").code == "address_checksum"
    # A valid Base58Check address with Bitcoin's version byte is not a Tron address.
    error = rejection(normalize_crypto_address, GENESIS, "tron")
    assert error.code == "address_other_chain"


def test_it_accepts_the_monero_general_fund_address():
    assert normalize_crypto_address(MONERO_GENERAL_FUND, "monero") == MONERO_GENERAL_FUND
    decoded = indicators.monero_base58_decode(MONERO_GENERAL_FUND)
    assert monero_address(decoded[0], decoded[1:-4]) == MONERO_GENERAL_FUND


@pytest.mark.parametrize(
    ("prefix", "body_length", "first", "length"),
    [(18, 64, "4", 95), (42, 64, "8", 95), (19, 72, "4", 106)],
)
def test_it_accepts_standard_sub_and_integrated_monero_addresses(
    prefix, body_length, first, length
):
    body = hashlib.shake_256(b"monero keys").digest(body_length)
    address = monero_address(prefix, body)
    assert address[0] == first and len(address) == length
    assert normalize_crypto_address(address, "monero") == address


def test_it_refuses_damaged_and_test_network_monero_addresses():
    changed = change_one_character(MONERO_GENERAL_FUND, 40)
    assert rejection(normalize_crypto_address, changed, "monero").code == "address_checksum"
    short = MONERO_GENERAL_FUND[:-1]
    assert rejection(normalize_crypto_address, short, "monero").code == "address_length"
    testnet = monero_address(53, bytes(64))
    assert rejection(normalize_crypto_address, testnet, "monero").code == "address_testnet"
    unknown_prefix = monero_address(20, bytes(64))
    assert rejection(normalize_crypto_address, unknown_prefix, "monero").code == "address_format"


# --- Chains: choosing, guessing, and naming the right one ---------------------------------------


def test_it_recognises_the_chain_from_the_address_when_none_was_chosen():
    assert normalize_crypto_address(GENESIS) == GENESIS
    assert normalize_crypto_address(EIP55_EXAMPLES[2]) == EIP55_EXAMPLES[2].lower()
    assert normalize_crypto_address(TRON_USDT) == TRON_USDT
    assert normalize_crypto_address(MONERO_GENERAL_FUND) == MONERO_GENERAL_FUND
    assert normalize_crypto_address("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs").startswith("bc1z")
    assert rejection(normalize_crypto_address, "hello").code == "address_unknown"
    mistyped = change_one_character(GENESIS, 10)
    assert rejection(normalize_crypto_address, mistyped).code == "address_checksum"


def test_it_names_the_other_chain_when_the_address_belongs_there():
    error = rejection(normalize_crypto_address, TRON_USDT, "bitcoin")
    assert error.code == "address_other_chain"
    assert error.messages == [
        "This looks like an address on Tron, not on Bitcoin. Please check which network you chose."
    ]
    assert rejection(normalize_crypto_address, EIP55_EXAMPLES[0], "monero").code == (
        "address_other_chain"
    )


def test_it_asks_for_a_chain_it_knows():
    assert rejection(normalize_crypto_address, GENESIS, "dogecoin").code == "choose_chain"
    assert rejection(normalize_transaction_hash, GENESIS_TX, None).code == "choose_chain"


# --- Transactions -------------------------------------------------------------------------------


def test_it_normalizes_transaction_hashes_per_chain():
    for chain in ("bitcoin", "tron", "monero"):
        assert normalize_transaction_hash(GENESIS_TX.upper(), chain) == GENESIS_TX
        assert normalize_transaction_hash(f"0x{GENESIS_TX}", chain) == GENESIS_TX
    for typed in (GENESIS_TX, f"0X{GENESIS_TX.upper()}", f" 0x{GENESIS_TX} "):
        assert normalize_transaction_hash(typed, "polygon") == f"0x{GENESIS_TX}"


def test_it_refuses_transaction_hashes_of_the_wrong_shape():
    for typed in (GENESIS_TX[:-1], GENESIS_TX[:-1] + "g", f"{GENESIS_TX[:30]} {GENESIS_TX[30:]}"):
        assert rejection(normalize_transaction_hash, typed, "bitcoin").code == "transaction"
    assert "Ethereum" in rejection(normalize_transaction_hash, "0x12", "ethereum").messages[0]


# --- E-mail, domains, IP addresses --------------------------------------------------------------


def test_it_normalizes_equivalent_email_addresses_to_one():
    expected = "jane.doe@xn--bcher-kva.example"
    for typed in (
        " Jane.Doe@Bücher.example ",
        "jane.doe@XN--BCHER-KVA.EXAMPLE",
        "mailto:JANE.DOE@bücher.example",
    ):
        assert normalize_email(typed) == expected


def test_it_refuses_what_is_not_an_email_address():
    for typed in ("jane@", "jane doe@example.org", "jane@@example.org", "jane@localhost", "@x.org"):
        assert rejection(normalize_email, typed).code == "email"


def test_it_normalizes_equivalent_domains_to_lowercase_punycode():
    for typed in (
        "Bücher.example",
        "BÜCHER.example.",
        "xn--bcher-kva.EXAMPLE",
        "https://bücher.example:8443/path?q=1",
        "bücher\u3002example",
    ):
        assert normalize_domain(typed) == "xn--bcher-kva.example"
    assert normalize_domain("Example.ORG") == "example.org"


def test_it_refuses_what_is_not_a_domain():
    assert rejection(normalize_domain, "example.org/login").code == "domain_path"
    assert rejection(normalize_domain, "203.0.113.7").code == "domain_is_ip"
    too_long_label = "a" * 64 + ".org"
    too_long_name = ".".join(["a" * 60] * 5) + ".org"
    for typed in ("localhost", "exa mple.org", "-bad.org", "bad_.org", too_long_label, "a..org"):
        assert rejection(normalize_domain, typed).code == "domain", typed
    assert rejection(normalize_domain, too_long_name).code == "domain"


def test_it_normalizes_ip_addresses():
    assert normalize_ip_address(" 203.0.113.7 ") == "203.0.113.7"
    assert normalize_ip_address("2001:DB8:0:0:0:0:0:7") == "2001:db8::7"
    assert normalize_ip_address("[2001:db8::7]") == "2001:db8::7"
    assert normalize_ip_address("::ffff:203.0.113.7") == "203.0.113.7"


def test_it_refuses_what_is_not_an_ip_address():
    for typed in ("256.1.1.1", "203.0.113", "203.0.113.007", "203.0.113.7:80", "example.org"):
        assert rejection(normalize_ip_address, typed).code == "ip_address", typed


# --- Phone numbers ------------------------------------------------------------------------------


def test_it_normalizes_equivalent_phone_numbers_to_e164():
    for typed in (
        "+44 20 7946 0958",
        "0044 (0)20 7946-0958",
        "+44.20.7946.0958",
        "+44 (20) 79460958",
    ):
        assert normalize_phone(typed) == "+442079460958"
    # Arabic-Indic digits, as a phone keyboard in Arabic types them.
    assert (
        normalize_phone(
            "\u0660\u0660\u0669\u0666\u0666 \u0665\u0660 \u0661\u0662\u0663 "
            "\u0664\u0665\u0666\u0667"
        )
        == "+966501234567"
    )


def test_it_refuses_phone_numbers_it_cannot_make_canonical():
    assert rejection(normalize_phone, "020 7946 0958").code == "phone_international"
    assert rejection(normalize_phone, "+0 20 7946 0958").code == "phone_international"
    assert rejection(normalize_phone, "+44 20 CALL NOW").code == "phone_characters"
    assert rejection(normalize_phone, "+44 12").code == "phone_length"
    assert rejection(normalize_phone, "+1234 5678 9012 3456").code == "phone_length"


# --- Online handles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "typed", "expected"),
    [
        ("telegram", "@Some_User", "telegram:some_user"),
        ("telegram", "https://t.me/some_user", "telegram:some_user"),
        ("x", "@JaneDoe", "x:janedoe"),
        ("twitter", "https://twitter.com/JaneDoe/status/1", "x:janedoe"),
        ("signal", "Jane_D.07", "signal:jane_d.07"),
        ("discord", "jane.doe", "discord:jane.doe"),
        ("github", "https://github.com/Jane-Doe", "github:jane-doe"),
        ("reddit", "/u/Jane_Doe", "reddit:jane_doe"),
        ("reddit", "https://www.reddit.com/user/Jane_Doe/", "reddit:jane_doe"),
        ("matrix", "@Jane:Example.org", "matrix:jane:example.org"),
        ("matrix", "https://matrix.to/#/@jane:example.org", "matrix:jane:example.org"),
        ("other", "  @Jane   Doe ", "other:Jane Doe"),
    ],
)
def test_it_normalizes_handles_to_platform_and_name(platform, typed, expected):
    assert normalize_handle(typed, platform) == expected


def test_it_refuses_handles_a_platform_cannot_have():
    for platform, typed in (
        ("telegram", "abc"),
        ("x", "a" * 16),
        ("signal", "jane"),
        ("github", "-jane"),
        ("reddit", "ab"),
        ("matrix", "@jane"),
        ("discord", "jane..doe"),
    ):
        assert rejection(normalize_handle, typed, platform).code == "handle", (platform, typed)
    error = rejection(normalize_handle, "abc", "telegram")
    assert "4 to 32" in error.messages[0] and "Telegram" in error.messages[0]
    assert rejection(normalize_handle, "jane", "myspace").code == "choose_platform"


# --- Amounts and dates --------------------------------------------------------------------------


def test_it_normalizes_equivalent_amounts():
    for amount, currency in (("1500.50", "usd"), ("1 500.5", "USD"), ("1500,5", "USD")):
        assert normalize_amount(amount, currency) == "USD 1500.5"
    assert normalize_amount("\u0661\u0665\u0660\u0660\u066b\u0665", "USD") == "USD 1500.5"
    assert normalize_amount("1000", "BTC") == "BTC 1000"
    assert normalize_amount("0.00100", "btc") == "BTC 0.001"
    assert normalize_amount(".5", "XMR") == "XMR 0.5"
    assert normalize("amount", "USDT 250.00") == normalize("amount", "250 usdt") == "USDT 250"


def test_it_refuses_amounts_that_are_unclear_or_not_positive():
    assert rejection(normalize_amount, "0", "USD").code == "amount_positive"
    assert rejection(normalize_amount, "1,500", "USD").code == "amount_ambiguous"
    for typed in ("-5", "1.2.3", "1e5", "abc", "1,500.25", ","):
        assert rejection(normalize_amount, typed, "USD").code == "amount", typed
    assert rejection(normalize_amount, "5", "ZZZ").code == "choose_currency"
    assert rejection(normalize, "amount", "1500").code == "choose_currency"


def test_it_normalizes_date_ranges():
    today = date(2024, 6, 1)
    assert normalize_date_range("2024-01-01", "2024-02-01", today=today) == "2024-01-01/2024-02-01"
    assert normalize_date_range(date(2024, 1, 1), None, today=today) == "2024-01-01/2024-01-01"
    arabic = "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0661"
    assert normalize_date_range(arabic, "2024-01-01", today=today) == "2024-01-01/2024-01-01"
    assert normalize("date_range", " 2020-03-01 / 2020-03-31 ") == "2020-03-01/2020-03-31"


def test_it_refuses_dates_out_of_order_unclear_or_in_the_future():
    today = date(2024, 6, 1)
    reversed_range = rejection(normalize_date_range, "2024-02-01", "2024-01-01", today=today)
    assert reversed_range.code == "date_order"
    # One day ahead is allowed: it is already tomorrow east of UTC.
    assert normalize_date_range("2024-06-02", today=today) == "2024-06-02/2024-06-02"
    assert rejection(normalize_date_range, "2024-06-03", today=today).code == "date_future"
    for typed in ("01/02/2024", "2024-02-30", "yesterday"):
        assert rejection(normalize_date_range, typed, today=today).code == "date", typed
    next_week = timezone.now().date() + timedelta(days=7)
    assert rejection(normalize_date_range, next_week).code == "date_future"


# --- The single entry point, messages, form use -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "options", "expected"),
    [
        ("crypto_address", GENESIS, {"chain": "bitcoin"}, GENESIS),
        ("transaction", GENESIS_TX, {"chain": "ethereum"}, f"0x{GENESIS_TX}"),
        ("email", "A@Example.org", {}, "a@example.org"),
        ("domain", "Example.org", {}, "example.org"),
        ("ip_address", "2001:db8::0:7", {}, "2001:db8::7"),
        ("phone", "+1 (202) 555-0143", {}, "+12025550143"),
        ("handle", "@Jane", {"platform": "github"}, "github:jane"),
        ("amount", "12.10", {"currency": "eur"}, "EUR 12.1"),
        ("date_range", "2020-03-01", {}, "2020-03-01/2020-03-01"),
    ],
)
def test_it_dispatches_every_kind(kind, value, options, expected):
    assert kind in indicators.Kind.values
    assert normalize(kind, value, **options) == expected


def test_it_treats_an_unknown_kind_as_a_programming_error():
    with pytest.raises(ValueError, match="unknown indicator kind"):
        normalize("shoe_size", "42")


def test_it_marks_every_message_for_translation():
    assert all(isinstance(message, Promise) for message in indicators.MESSAGES.values())
    assert all(isinstance(label, Promise) for _value, label in indicators.Chain.choices)
    error = rejection(normalize_crypto_address, GENESIS[:-1], "bitcoin")
    assert isinstance(error.message, Promise)
    assert error.params["chain"] == "Bitcoin"


def test_it_serves_as_a_form_field_validator():
    class AddressForm(forms.Form):
        address = forms.CharField(validators=[partial(normalize_crypto_address, chain="tron")])

    assert AddressForm({"address": TRON_USDT}).is_valid()
    form = AddressForm({"address": change_one_character(TRON_USDT, 20)})
    assert not form.is_valid()
    assert form.errors["address"][0].startswith("This Tron address has a typing mistake")


# --- Finding indicators in free text ------------------------------------------------------------


def test_it_finds_exactly_the_addresses_in_an_arabic_sentence():
    text = (
        f"\u0623\u0631\u0633\u0644\u062a \u0627\u0644\u0645\u0627\u0644 \u0625\u0644\u0649 "
        f"{GENESIS} \u062b\u0645 \u0646\u0642\u0644\u0647 \u0625\u0644\u0649 "
        f"{EIP55_EXAMPLES[0]}\u060c \u0648\u0647\u0630\u0627 \u0643\u0644 \u0645\u0627 "
        "\u0623\u0639\u0631\u0641\u0647."
    )
    assert indicators.find_in_text(text) == [
        ("crypto_address", GENESIS),
        ("crypto_address", EIP55_EXAMPLES[0].lower()),
    ]


def test_it_finds_each_kind_once_and_ignores_lookalikes():
    text = (
        f"Paid {TRON_USDT} then {MONERO_GENERAL_FUND} and "
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4; "
        f"tx 0x{GENESIS_TX.upper()} and {GENESIS_TX}. Mail Boss@Example.ORG. "
        f"Server 203.0.113.7. Again {TRON_USDT}.\n"
        # Lookalikes: a mistyped address, a bad EIP-55 case, a version number, long words,
        # an impossible IP, a local mail name, and a hash inside a longer run of letters.
        f"{change_one_character(GENESIS, 10)} {flip_case_of_first_letter(EIP55_EXAMPLES[1])} "
        "v1.2.3.4.5 Supercalifragilisticexpialidocious "
        "Pneumonoultramicroscopicsilicovolcanoconiosis "
        f"999.1.1.1 root@localhost x{GENESIS_TX}"
    )
    assert indicators.find_in_text(text) == [
        ("crypto_address", TRON_USDT),
        ("crypto_address", MONERO_GENERAL_FUND),
        ("crypto_address", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        ("transaction", f"0x{GENESIS_TX}"),
        ("transaction", GENESIS_TX),
        ("email", "boss@example.org"),
        ("ip_address", "203.0.113.7"),
    ]


def test_it_finds_nothing_in_plain_text():
    assert indicators.find_in_text("Nothing here but words, 3.14 and a date 2024-01-01.") == []

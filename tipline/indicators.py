"""Typed indicators: the addresses, hashes and names a tipster types into a questionnaire.

Each kind has a ``normalize_<kind>`` function that returns one canonical string or raises
``ValidationError`` with a short message a worried non-expert can act on, and a ``code``. The
functions take the value first, so with ``functools.partial`` they serve as form field validators.

The canonical form is what gets HMAC'd for blind correlation, so the same indicator typed two ways
must come out identical. Choices made for that, some of them lossy on purpose:

- Every value is NFKC-normalized, trimmed and stripped of invisible format characters (the
  direction marks that copying from right-to-left text brings along). Other digit systems (Arabic
  and Persian digits) are read as ASCII digits in phone numbers, amounts and dates.
- Crypto addresses carry no chain prefix: an EVM address is the same key on every EVM chain.
  Bech32 and EVM addresses are lowercased; Base58 addresses (Bitcoin legacy, Tron, Monero) are
  case-significant and kept as typed. Only main-network addresses are accepted.
- Transaction hashes are lowercase hex, ``0x``-prefixed on EVM chains and bare elsewhere.
- E-mail addresses are lowercased whole (local part included: providers treat it so in practice)
  and their domain put in IDNA form. Provider tricks (dots, ``+tags``) are left alone.
- Domains use the standard library's IDNA 2003 codec (no extra dependency); a name typed in
  Unicode and the same name typed as punycode give the same result.
- Phone numbers must be international; they become ``+`` and digits (E.164 shape).
- Handles become ``platform:name``, lowercased on platforms whose names ignore case.
- Amounts become ``CUR amount`` with the amount's trailing zeros removed; dates ISO 8601.

Nothing here touches the network, the database or the disk.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from urllib.parse import urlsplit

from Crypto.Hash import keccak  # nosec B413  # pycryptodome (maintained), not the old PyCrypto
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Far above any real indicator: keeps base-58 arithmetic and regular expressions cheap.
MAX_VALUE_LENGTH = 400


class Kind(models.TextChoices):
    CRYPTO_ADDRESS = "crypto_address", _("Cryptocurrency address")
    TRANSACTION = "transaction", _("Transaction ID (hash)")
    EMAIL = "email", _("E-mail address")
    DOMAIN = "domain", _("Website or domain name")
    IP_ADDRESS = "ip_address", _("IP address")
    PHONE = "phone", _("Phone number")
    HANDLE = "handle", _("Online account name")
    AMOUNT = "amount", _("Amount and currency")
    DATE_RANGE = "date_range", _("Dates")


class Chain(models.TextChoices):
    BITCOIN = "bitcoin", _("Bitcoin")
    ETHEREUM = "ethereum", _("Ethereum")
    BSC = "bsc", _("BNB Smart Chain")
    POLYGON = "polygon", _("Polygon")
    ARBITRUM = "arbitrum", _("Arbitrum")
    OPTIMISM = "optimism", _("Optimism")
    BASE = "base", _("Base")
    AVALANCHE_C = "avalanche-c", _("Avalanche C-Chain")
    TRON = "tron", _("Tron")
    MONERO = "monero", _("Monero")
    LITECOIN = "litecoin", _("Litecoin")


# Chains that share Ethereum's address and transaction formats.
EVM_CHAINS = frozenset(
    {
        Chain.ETHEREUM,
        Chain.BSC,
        Chain.POLYGON,
        Chain.ARBITRUM,
        Chain.OPTIMISM,
        Chain.BASE,
        Chain.AVALANCHE_C,
    }
)


class Platform(models.TextChoices):
    TELEGRAM = "telegram", _("Telegram")
    X = "x", _("X (Twitter)")
    SIGNAL = "signal", _("Signal")
    DISCORD = "discord", _("Discord")
    GITHUB = "github", _("GitHub")
    REDDIT = "reddit", _("Reddit")
    MATRIX = "matrix", _("Matrix")
    OTHER = "other", _("Other")


PLATFORM_ALIASES = {"twitter": Platform.X}

CRYPTO_CURRENCIES = ("BTC", "ETH", "USDT", "USDC", "XMR", "TRX", "LTC")
CURRENCIES = (
    *("USD", "EUR", "GBP", "CHF", "JPY", "CNY", "HKD", "SGD", "KRW", "INR", "CAD", "AUD"),
    *("NZD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "TRY", "RUB", "UAH", "ILS"),
    *("AED", "SAR", "QAR", "KWD", "EGP", "ZAR", "NGN", "KES", "BRL", "MXN", "ARS", "THB"),
    *("IDR", "MYR", "PHP", "VND", "PKR", "TWD"),
    *CRYPTO_CURRENCIES,
)

# Every message in one place, for translators. %(chain)s is a network's display name.
MESSAGES = {
    "empty": _("Nothing was typed here."),
    "too_long": _(
        "This is much longer than expected. Please check that you pasted only one value."
    ),
    "choose_chain": _("Please choose the network (blockchain) this belongs to."),
    "address_spaces": _(
        "This %(chain)s address contains a space. Addresses never do; please remove the spaces."
    ),
    "address_characters": _(
        "This %(chain)s address contains a character that never appears in such addresses. "
        "Please check each character: O and 0, or I and l, are easy to mix up."
    ),
    "address_length": _(
        "This %(chain)s address is too short or too long. Please check that you copied all of it."
    ),
    "address_checksum": _(
        "This %(chain)s address has a typing mistake: its checksum does not match. "
        "Please check each character, and that none is missing."
    ),
    "address_case": _(
        "This %(chain)s address mixes capital and small letters, which such addresses never do. "
        "Please check each character."
    ),
    "address_case_checksum": _(
        "This %(chain)s address has a typing mistake: its pattern of capital and small letters "
        "does not match. Please check each character, including whether it is a capital."
    ),
    "address_testnet": _(
        "This is a %(chain)s test-network address, which holds nothing of value. "
        "Please give the address on the main network."
    ),
    "address_format": _(
        "This does not look like a %(chain)s address. "
        "Please check that you chose the right network."
    ),
    "address_other_chain": _(
        "This looks like an address on %(other)s, not on %(chain)s. "
        "Please check which network you chose."
    ),
    "address_unknown": _(
        "We could not recognise this cryptocurrency address. "
        "Please check it, or choose the network it belongs to."
    ),
    "transaction": _(
        "A %(chain)s transaction ID is 64 characters long, made only of the digits 0 to 9 and "
        "the letters a to f. Please check it."
    ),
    "email": _("This does not look like an e-mail address. It should look like name@example.org."),
    "domain": _("This does not look like a domain name. It should look like example.org."),
    "domain_path": _(
        "Please give only the domain name, for example example.org, without anything after a /."
    ),
    "domain_is_ip": _(
        "This is an IP address, not a domain name. Please choose IP address instead."
    ),
    "ip_address": _(
        "This does not look like an IP address. It should look like 203.0.113.7 or 2001:db8::7."
    ),
    "phone_characters": _(
        "A phone number can only contain digits, spaces, dashes, dots, brackets "
        "and a + at the start."
    ),
    "phone_international": _(
        "Please write the number in international format: a + and the country code first, "
        "for example +44 20 7946 0958."
    ),
    "phone_length": _(
        "An international phone number has 7 to 15 digits, counting the country code. "
        "Please check it."
    ),
    "choose_platform": _("Please choose the service this account is on."),
    "handle": _("This is not a valid %(platform)s account name. %(rule)s"),
    "choose_currency": _("Please choose the currency."),
    "amount": _(
        "Please write the amount with digits and at most one decimal point, for example 1500.50."
    ),
    "amount_ambiguous": _(
        "We cannot tell whether this comma separates thousands or decimals. "
        "Please write the amount without it, for example 1500 or 1.5."
    ),
    "amount_positive": _("The amount must be more than zero."),
    "date": _("Please write dates as year-month-day, for example 2024-03-31."),
    "date_order": _("The first date is after the second one. Please check the order."),
    "date_future": _("This date is in the future. Please check it."),
}


def _invalid(code: str, **params: object) -> ValidationError:
    return ValidationError(MESSAGES[code], code=code, params=params or None)


def _clean(value: str) -> str:
    """NFKC, no invisible format characters, trimmed; refuses empty and absurdly long input."""
    if value is None:
        raise _invalid("empty")
    value = unicodedata.normalize("NFKC", str(value))
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf").strip()
    if not value:
        raise _invalid("empty")
    if len(value) > MAX_VALUE_LENGTH:
        raise _invalid("too_long")
    return value


def _has_space(value: str) -> bool:
    return any(ch.isspace() for ch in value)


def _ascii_digits(value: str) -> str:
    """Arabic-Indic, Persian and other decimal digits, read as 0-9."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in value)


# --- Encodings: Base58, Bech32/Bech32m, Keccak ---------------------------------------------------

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {ch: index for index, ch in enumerate(BASE58_ALPHABET)}

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONSTANT = 1  # BIP-173, witness version 0
_BECH32M_CONSTANT = 0x2BC830A3  # BIP-350, witness versions 1 to 16
_BECH32_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

# Monero's Base58 encodes 8-byte blocks as 11 characters; a short last block of n bytes takes
# MONERO_BLOCK_CHARS[n] characters.
MONERO_BLOCK_CHARS = (0, 2, 3, 5, 6, 7, 9, 10, 11)


def keccak256(data: bytes) -> bytes:
    """Original Keccak-256, as Ethereum and Monero use it (not the padded NIST SHA3-256)."""
    return keccak.new(digest_bits=256, data=data).digest()


def _base58_number(text: str) -> int:
    number = 0
    for ch in text:
        number = number * 58 + _BASE58_INDEX[ch]
    return number


def _base58_decode(text: str) -> bytes:
    number = _base58_number(text)
    leading_zero_bytes = len(text) - len(text.lstrip("1"))
    return bytes(leading_zero_bytes) + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _base58check_payload(value: str, chain: str) -> bytes:
    """The 21-byte version-and-hash payload of a Bitcoin-style address, checksum verified."""
    label = Chain(chain).label
    if any(ch not in _BASE58_INDEX for ch in value):
        raise _invalid("address_characters", chain=label)
    if not 25 <= len(value) <= 36:
        raise _invalid("address_length", chain=label)
    decoded = _base58_decode(value)
    if len(decoded) != 25:
        raise _invalid("address_length", chain=label)
    payload, checksum = decoded[:-4], decoded[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        raise _invalid("address_checksum", chain=label)
    return payload


def _bech32_polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_BECH32_GENERATORS):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _bech32_hrp_expand(hrp: str) -> list[int]:
    return [ord(ch) >> 5 for ch in hrp] + [0] + [ord(ch) & 31 for ch in hrp]


def _five_bit_to_bytes(groups: list[int]) -> bytes | None:
    """Regroup 5-bit groups into bytes; None when the padding is not as BIP-173 demands."""
    accumulator = bits = 0
    out = bytearray()
    for group in groups:
        accumulator = ((accumulator << 5) | group) & 0x1FFF
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
    if bits >= 5 or accumulator & ((1 << bits) - 1):
        return None
    return bytes(out)


def _segwit_address(value: str, hrp: str, chain: str) -> str:
    """A native segwit address (BIP-173 for version 0, BIP-350 for versions 1 to 16)."""
    label = Chain(chain).label
    if value != value.lower() and value != value.upper():
        raise _invalid("address_case", chain=label)
    text = value.lower()
    data_part = text[len(hrp) + 1 :]
    if any(ch not in BECH32_CHARSET for ch in data_part):
        raise _invalid("address_characters", chain=label)
    if len(text) > 90 or len(data_part) < 7:
        raise _invalid("address_length", chain=label)
    data = [BECH32_CHARSET.index(ch) for ch in data_part]
    version = data[0]
    expected = _BECH32_CONSTANT if version == 0 else _BECH32M_CONSTANT
    if _bech32_polymod(_bech32_hrp_expand(hrp) + data) != expected:
        raise _invalid("address_checksum", chain=label)
    program = _five_bit_to_bytes(data[1:-6])
    if version > 16 or program is None:
        raise _invalid("address_format", chain=label)
    if not 2 <= len(program) <= 40:
        raise _invalid("address_length", chain=label)
    # Version 0 is P2WPKH or P2WSH; version 1 is taproot. Other lengths are not payable addresses.
    if (version == 0 and len(program) not in (20, 32)) or (version == 1 and len(program) != 32):
        raise _invalid("address_length", chain=label)
    return text


# --- Addresses per chain ------------------------------------------------------------------------


@dataclass(frozen=True)
class _BitcoinLikeNetwork:
    hrp: str
    test_hrps: tuple[str, ...]
    versions: frozenset[int]
    test_versions: frozenset[int]


_BITCOIN_LIKE = {
    Chain.BITCOIN: _BitcoinLikeNetwork(
        hrp="bc",
        test_hrps=("tb", "bcrt"),
        versions=frozenset({0x00, 0x05}),
        test_versions=frozenset({0x6F, 0xC4}),
    ),
    # 0x05 is Litecoin's old P2SH version, shared with Bitcoin; such addresses still exist.
    Chain.LITECOIN: _BitcoinLikeNetwork(
        hrp="ltc",
        test_hrps=("tltc", "rltc"),
        versions=frozenset({0x30, 0x32, 0x05}),
        test_versions=frozenset({0x6F, 0x3A, 0xC4}),
    ),
}

_MONERO_PREFIX_BYTES = {18: 69, 42: 69, 19: 77}  # standard, subaddress, integrated
_MONERO_TEST_PREFIXES = frozenset({53, 63, 54, 24, 36, 25})  # testnet and stagenet


_BECH32_SHAPE = re.compile(
    rf"(?:[a-z]{{1,10}}1[{BECH32_CHARSET}]{{6,}}|[A-Z]{{1,10}}1[{BECH32_CHARSET.upper()}]{{6,}})"
)


def _bitcoin_like_address(value: str, chain: str) -> str:
    network = _BITCOIN_LIKE[chain]
    label = Chain(chain).label
    lower = value.lower()
    if lower.startswith(tuple(f"{hrp}1" for hrp in network.test_hrps)):
        raise _invalid("address_testnet", chain=label)
    if lower.startswith(f"{network.hrp}1"):
        return _segwit_address(value, network.hrp, chain)
    if _BECH32_SHAPE.fullmatch(value):  # Bech32, but for some other coin or network
        raise _invalid("address_format", chain=label)
    version = _base58check_payload(value, chain)[0]
    if version in network.test_versions:
        raise _invalid("address_testnet", chain=label)
    if version not in network.versions:
        raise _invalid("address_format", chain=label)
    return value


def _evm_address(value: str, chain: str) -> str:
    label = Chain(chain).label
    body = value[2:] if value[:2] in ("0x", "0X") else value
    if any(ch not in "0123456789abcdefABCDEF" for ch in body):
        raise _invalid("address_characters", chain=label)
    if len(body) != 40:
        raise _invalid("address_length", chain=label)
    # EIP-55: mixed case carries a checksum; all-lower or all-upper carries none.
    if body not in (body.lower(), body.upper()) and eip55_checksummed(body) != body:
        raise _invalid("address_case_checksum", chain=label)
    return "0x" + body.lower()


def eip55_checksummed(hex_address: str) -> str:
    """The EIP-55 mixed-case spelling of 40 hex digits (given without ``0x``)."""
    lower = hex_address.lower()
    digest = keccak256(lower.encode("ascii")).hex()[:40]
    return "".join(
        ch.upper() if int(nibble, 16) >= 8 else ch for ch, nibble in zip(lower, digest, strict=True)
    )


def _tron_address(value: str, chain: str) -> str:
    if _base58check_payload(value, chain)[0] != 0x41:
        raise _invalid("address_format", chain=Chain(chain).label)
    return value


def monero_base58_decode(text: str) -> bytes | None:
    """Monero's block-wise Base58; None if a block's length or value is impossible."""
    out = bytearray()
    for start in range(0, len(text), 11):
        block = text[start : start + 11]
        if len(block) not in MONERO_BLOCK_CHARS:
            return None
        size = MONERO_BLOCK_CHARS.index(len(block))
        number = _base58_number(block)
        if number >= 256**size:
            return None
        out += number.to_bytes(size, "big")
    return bytes(out)


def _monero_address(value: str, chain: str) -> str:
    label = Chain(chain).label
    if any(ch not in _BASE58_INDEX for ch in value):
        raise _invalid("address_characters", chain=label)
    if len(value) not in (95, 106):
        raise _invalid("address_length", chain=label)
    data = monero_base58_decode(value)
    if data is None or keccak256(data[:-4])[:4] != data[-4:]:
        raise _invalid("address_checksum", chain=label)
    # The network prefix is a varint; every mainnet prefix fits in its first byte.
    if data[0] in _MONERO_TEST_PREFIXES:
        raise _invalid("address_testnet", chain=label)
    if _MONERO_PREFIX_BYTES.get(data[0]) != len(data):
        raise _invalid("address_format", chain=label)
    return value


def _family(chain: str) -> str:
    return Chain.ETHEREUM if chain in EVM_CHAINS else chain


def _family_label(chain: str) -> Promise:
    return _("Ethereum or a compatible network") if chain in EVM_CHAINS else Chain(chain).label


def _guess_chain(value: str) -> str | None:
    """The chain an address's shape points to; the checksum still has to agree."""
    lower = value.lower()
    if lower.startswith(("bc1", "tb1", "bcrt1")):
        return Chain.BITCOIN
    if lower.startswith(("ltc1", "tltc1", "rltc1")):
        return Chain.LITECOIN
    if lower.startswith("0x"):
        return Chain.ETHEREUM
    if len(value) in (95, 106):
        return Chain.MONERO
    if value.startswith("T"):
        return Chain.TRON
    if value[:1] in ("L", "M", "Q"):
        return Chain.LITECOIN
    if value[:1] in ("1", "3", "m", "n", "2"):
        return Chain.BITCOIN
    return None


def _address_on(value: str, chain: str) -> str:
    if _has_space(value):
        raise _invalid("address_spaces", chain=Chain(chain).label)
    family = _family(chain)
    if family in _BITCOIN_LIKE:
        return _bitcoin_like_address(value, family)
    if family == Chain.ETHEREUM:
        return _evm_address(value, chain)
    if family == Chain.TRON:
        return _tron_address(value, chain)
    return _monero_address(value, chain)


def _chain(chain: str | None) -> str:
    if chain not in Chain.values:
        raise _invalid("choose_chain")
    return Chain(chain)


def normalize_crypto_address(value: str, chain: str | None = None) -> str:
    """A main-network address on ``chain``, or on the chain its shape points to when None.

    When the address is wrong for the chosen chain but valid on another, the message names the
    other chain, because choosing the wrong network is the likelier mistake.
    """
    value = _clean(value)
    if chain is None:
        guessed = _guess_chain(value)
        if guessed is None:
            raise _invalid("address_unknown")
        if value[:3].lower() in ("bc1", "0x") or value[:4].lower() == "ltc1":
            # The prefix says which network: its own message is the more helpful.
            return _address_on(value, guessed)
        try:
            return _address_on(value, guessed)
        except ValidationError as error:
            if error.code in ("address_checksum", "address_case_checksum"):
                raise  # the right shape for that network, one character wrong
            # A guess from the first letter only: naming that network would confuse.
            raise _invalid("address_unknown") from None
    chain = _chain(chain)
    try:
        return _address_on(value, chain)
    except ValidationError:
        other = _guess_chain(value)
        if other is not None and _family(other) != _family(chain):
            try:
                _address_on(value, other)
            except ValidationError:
                pass
            else:
                raise _invalid(
                    "address_other_chain", chain=Chain(chain).label, other=_family_label(other)
                ) from None
        raise


# --- Transactions -------------------------------------------------------------------------------

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def normalize_transaction_hash(value: str, chain: str) -> str:
    """64 hex digits, lowercase; ``0x``-prefixed on EVM chains, bare on the others."""
    chain = _chain(chain)
    value = _clean(value)
    body = value[2:] if value[:2] in ("0x", "0X") else value
    if not _HEX64.fullmatch(body):
        raise _invalid("transaction", chain=Chain(chain).label)
    return ("0x" if chain in EVM_CHAINS else "") + body.lower()


# --- E-mail, domain, IP address, phone ----------------------------------------------------------

_email_validator = EmailValidator(message=MESSAGES["email"], code="email")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def normalize_email(value: str) -> str:
    value = _clean(value)
    if value[:7].lower() == "mailto:":
        value = value[7:]
    if _has_space(value):
        raise _invalid("email")
    _email_validator(value)
    local, _at, domain = value.rpartition("@")
    if not domain.startswith("["):
        try:
            domain = normalize_domain(domain)
        except ValidationError:
            raise _invalid("email") from None
    return f"{local}@{domain}".lower()


def normalize_domain(value: str) -> str:
    """Lowercase IDNA (punycode) form without a trailing dot; a pasted URL gives its host."""
    value = _clean(value)
    if _has_space(value):
        raise _invalid("domain")
    if "://" in value:
        try:
            value = urlsplit(value).hostname or ""
        except ValueError:
            raise _invalid("domain") from None
    elif "/" in value:
        raise _invalid("domain_path")
    value = value.replace("\u3002", ".").removesuffix(".")  # the ideographic full stop is a dot
    if _is_ip_address(value.strip("[]")):
        raise _invalid("domain_is_ip")
    try:
        # Decoding and encoding again turns any spelling (Unicode, upper-case punycode) into one.
        canonical = value.encode("idna").decode("idna").encode("idna").decode("ascii").lower()
    except ValueError:  # UnicodeError, from the codec, is a ValueError
        raise _invalid("domain") from None
    labels = canonical.split(".")
    if (
        len(labels) < 2
        or len(canonical) > 253
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise _invalid("domain")
    return canonical


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def normalize_ip_address(value: str) -> str:
    """IPv4 dotted or IPv6 compressed; an IPv4-mapped IPv6 address becomes the IPv4 address."""
    value = _clean(value)
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise _invalid("ip_address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


_PHONE_CHARACTERS = re.compile(r"\+?[0-9 ().\-/]+")


def normalize_phone(value: str) -> str:
    """``+`` and 7 to 15 digits. Only international numbers can be made canonical."""
    # "+44 (0)20 ...": the bracketed trunk zero is not dialled from abroad.
    value = _ascii_digits(_clean(value)).replace("(0)", "")
    if not _PHONE_CHARACTERS.fullmatch(value):
        raise _invalid("phone_characters")
    digits = re.sub(r"[^0-9]", "", value)
    if not value.startswith("+"):
        if not digits.startswith("00"):
            raise _invalid("phone_international")
        digits = digits[2:]
    if digits.startswith("0"):  # no country code starts with 0
        raise _invalid("phone_international")
    if not 7 <= len(digits) <= 15:
        raise _invalid("phone_length")
    return "+" + digits


# --- Online handles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _HandleRule:
    pattern: re.Pattern[str]
    rule: Promise  # a lazy sentence shown after the error
    hosts: tuple[str, ...] = ()
    ignores_case: bool = True


_HANDLE_RULES = {
    Platform.TELEGRAM: _HandleRule(
        re.compile(r"[a-z][a-z0-9_]{3,31}"),
        _("Telegram names have 4 to 32 letters, digits or underscores and start with a letter."),
        ("t.me", "telegram.me"),
    ),
    Platform.X: _HandleRule(
        re.compile(r"[a-z0-9_]{1,15}"),
        _("X names have up to 15 letters, digits or underscores."),
        ("x.com", "twitter.com", "mobile.twitter.com"),
    ),
    Platform.SIGNAL: _HandleRule(
        re.compile(r"[a-z_][a-z0-9_]{2,31}\.[0-9]{2,10}"),
        _("Signal usernames look like name.01: a name, a dot and at least two digits."),
    ),
    Platform.DISCORD: _HandleRule(
        re.compile(r"(?!.*\.\.)[a-z0-9_.]{2,32}|[^#@:]{2,32}#[0-9]{4}"),
        _("Discord names have 2 to 32 letters, digits, underscores or dots."),
    ),
    Platform.GITHUB: _HandleRule(
        re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}"),
        _("GitHub names have up to 39 letters, digits or single dashes."),
        ("github.com",),
    ),
    Platform.REDDIT: _HandleRule(
        re.compile(r"[a-z0-9_-]{3,20}"),
        _("Reddit names have 3 to 20 letters, digits, dashes or underscores."),
        ("reddit.com", "old.reddit.com", "new.reddit.com"),
    ),
    Platform.MATRIX: _HandleRule(
        re.compile(r"[a-z0-9._=/+-]{1,200}:[a-z0-9.-]{1,200}(?::[0-9]{1,5})?"),
        _("Matrix IDs look like @name:example.org."),
        ("matrix.to",),
    ),
    Platform.OTHER: _HandleRule(
        re.compile(r"[^\x00-\x1f\x7f]{1,100}"),
        _("Please check the name."),
        ignores_case=False,
    ),
}


def _handle_from_link(name: str, hosts: tuple[str, ...]) -> str:
    """The account name in a pasted profile link, such as https://t.me/name."""
    without_scheme = re.sub(r"^[a-z]+://", "", name, flags=re.IGNORECASE)
    without_scheme = re.sub(r"^www\.", "", without_scheme, flags=re.IGNORECASE)
    host, slash, path = without_scheme.partition("/")
    if not slash or host.lower() not in hosts:
        return name
    path = path.removeprefix("#/")  # matrix.to/#/@name:server
    if host.lower().endswith("reddit.com"):
        path = re.sub(r"^(?:u|user)/", "", path)
    return re.split(r"[/?#]", path, maxsplit=1)[0]


def normalize_handle(value: str, platform: str) -> str:
    """``platform:name``, without a leading @, lowercased where the platform ignores case."""
    platform = PLATFORM_ALIASES.get(platform, platform)
    if platform not in Platform.values:
        raise _invalid("choose_platform")
    platform = Platform(platform)
    rule = _HANDLE_RULES[platform]
    name = _clean(value)
    if rule.hosts:
        name = _handle_from_link(name, rule.hosts)
    if platform == Platform.REDDIT:
        name = re.sub(r"^/?u/", "", name)
    name = name.removeprefix("@")
    name = name.lower() if rule.ignores_case else " ".join(name.split())
    if not rule.pattern.fullmatch(name):
        raise _invalid("handle", platform=platform.label, rule=rule.rule)
    return f"{platform}:{name}"


# --- Amounts and dates --------------------------------------------------------------------------

_AMOUNT = re.compile(r"(?P<whole>[0-9]*)(?:(?P<separator>[.,])(?P<fraction>[0-9]*))?")
_AMOUNT_WITH_CURRENCY = re.compile(
    r"(?P<before>[A-Za-z]{3,4})?\s*(?P<amount>[^A-Za-z]+?)\s*(?P<after>[A-Za-z]{3,4})?"
)


def normalize_amount(amount: str, currency: str) -> str:
    """``CUR amount``, for example ``USD 1500.5``. A comma before exactly three digits is refused
    as ambiguous (thousands or decimals?); spaces between digit groups are ignored."""
    currency = _clean(currency).upper() if currency else ""
    if currency not in CURRENCIES:
        raise _invalid("choose_currency")
    # The Arabic decimal and thousands separators, then grouping spaces.
    text = _ascii_digits(_clean(amount)).replace("\u066b", ".").replace("\u066c", ",")
    text = text.replace(" ", "").replace("_", "")
    match = _AMOUNT.fullmatch(text)
    if not match or not (match["whole"] or match["fraction"]) or len(text) > 60:
        raise _invalid("amount")
    whole, fraction = match["whole"], match["fraction"] or ""
    if match["separator"] == "," and len(fraction) == 3 and whole.strip("0"):
        raise _invalid("amount_ambiguous")
    with localcontext(prec=100):
        number = Decimal(f"{whole or 0}.{fraction or 0}").normalize()
    if number <= 0:
        raise _invalid("amount_positive")
    return f"{currency} {number:f}"


def _parse_date(value: str | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _ascii_digits(_clean(value))
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise _invalid("date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _invalid("date") from None


def normalize_date_range(
    start: str | date, end: str | date | None = None, *, today: date | None = None
) -> str:
    """``YYYY-MM-DD/YYYY-MM-DD`` (ISO 8601 interval); one date gives a one-day range.

    A date one day past the server's (UTC) today is allowed: it is already today east of UTC.
    """
    first = _parse_date(start)
    last = first if end is None or end == "" else _parse_date(end)
    if first > last:
        raise _invalid("date_order")
    latest = (today or timezone.now().date()) + timedelta(days=1)
    if last > latest:
        raise _invalid("date_future")
    return f"{first.isoformat()}/{last.isoformat()}"


# --- One entry point, and finding indicators in free text ---------------------------------------


def normalize(
    kind: str,
    value: str,
    *,
    chain: str | None = None,
    platform: str | None = None,
    currency: str | None = None,
) -> str:
    """The canonical form of ``value`` as an indicator of ``kind``, or ``ValidationError``.

    An amount may carry its currency (``"1500 USD"``) instead of ``currency``; a date range is
    written ``start/end`` or as one date. An unknown ``kind`` is a programming error (ValueError).
    """
    match kind:
        case Kind.CRYPTO_ADDRESS:
            return normalize_crypto_address(value, chain)
        case Kind.TRANSACTION:
            return normalize_transaction_hash(value, chain)
        case Kind.EMAIL:
            return normalize_email(value)
        case Kind.DOMAIN:
            return normalize_domain(value)
        case Kind.IP_ADDRESS:
            return normalize_ip_address(value)
        case Kind.PHONE:
            return normalize_phone(value)
        case Kind.HANDLE:
            return normalize_handle(value, platform)
        case Kind.AMOUNT:
            return _normalize_amount_text(value, currency)
        case Kind.DATE_RANGE:
            start, _slash, end = _clean(value).partition("/")
            return normalize_date_range(start.strip(), end.strip() or None)
    raise ValueError(f"unknown indicator kind: {kind!r}")


def _normalize_amount_text(value: str, currency: str | None) -> str:
    if currency:
        return normalize_amount(value, currency)
    match = _AMOUNT_WITH_CURRENCY.fullmatch(_clean(value))
    if not match or bool(match["before"]) == bool(match["after"]):
        raise _invalid("choose_currency")
    return normalize_amount(match["amount"], match["before"] or match["after"])


def _bounded(pattern: str) -> re.Pattern[str]:
    """A pattern that may not start or end in the middle of a run of ASCII letters and digits."""
    return re.compile(rf"(?<![0-9A-Za-z]){pattern}(?![0-9A-Za-z])")


_FINDERS = (
    (Kind.CRYPTO_ADDRESS, _bounded(r"(?i:bc|ltc)1[0-9A-Za-z]{6,87}")),
    (Kind.CRYPTO_ADDRESS, _bounded(r"[1-9A-HJ-NP-Za-km-z]{25,106}")),
    (Kind.CRYPTO_ADDRESS, _bounded(r"0x[0-9A-Fa-f]{40}")),
    (Kind.TRANSACTION, _bounded(r"(?:0x)?[0-9A-Fa-f]{64}")),
    (Kind.EMAIL, re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^\s@<>()\[\],;:\"'`]{1,253}")),
    (
        Kind.IP_ADDRESS,
        re.compile(r"(?<![0-9A-Za-z.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9A-Za-z]|\.[0-9])"),
    ),
)


def _normalize_found(kind: str, candidate: str) -> str:
    if kind == Kind.CRYPTO_ADDRESS:
        return normalize_crypto_address(candidate)
    if kind == Kind.TRANSACTION:
        # Bare hex could be from any chain, so it stays bare; 0x is EVM-only.
        evm = candidate[:2].lower() == "0x"
        return normalize_transaction_hash(candidate, Chain.ETHEREUM if evm else Chain.BITCOIN)
    if kind == Kind.EMAIL:
        # A sentence's own punctuation may cling to the end of an address.
        return normalize_email(candidate.rstrip(".!?\u060c\u061b\u061f\u06d4"))
    return normalize_ip_address(candidate)


def find_in_text(text: str) -> list[tuple[str, str]]:
    """Indicators in free text, as ``(kind, normalized)`` in order of appearance, each once.

    Only candidates that pass full validation (checksums included) are returned, so ordinary
    words do not show up. A bare 64-hex transaction ID is returned without ``0x`` even if it came
    from an EVM chain, since nothing in the text says which chain it is.
    """
    found: list[tuple[int, str, str]] = []
    for kind, pattern in _FINDERS:
        for match in pattern.finditer(text):
            try:
                found.append((match.start(), kind, _normalize_found(kind, match.group())))
            except ValidationError:
                continue
    seen: set[tuple[str, str]] = set()
    results = []
    for _start, kind, normalized in sorted(found):
        if (kind, normalized) not in seen:
            seen.add((kind, normalized))
            results.append((str(kind), normalized))
    return results


# Answers whose text is searched for indicators (the questionnaire's free-text kinds).
TEXT_ANSWER_KINDS = {"text", "long_text"}
FROM_ANSWER, FROM_TEXT = "answer", "text"


def canonical(kind: str, value: str) -> str:
    """The form in which an indicator is compared across tips and lists.

    A transaction ID typed for an EVM chain carries ``0x``; found in free text it has no chain
    and no prefix: the same ID either way.
    """
    return value.removeprefix("0x") if kind == Kind.TRANSACTION else value


def in_answers(answers: list[dict], texts: list[str] = ()) -> list[tuple[str, str, str]]:
    """The indicators of a tip's answers (as the envelope keeps them) and of further texts from
    the tipster, as ``(kind, normalized value, source)``, each once; source is FROM_ANSWER for
    an indicator question's answer, FROM_TEXT for one found in free text.

    Used where a tip's plaintext is in hand: on arrival (tipline/watch_on_arrival.py) and when a
    reviewer decrypts it (reviewers/correlation.py). Never the reward contact: it points at the
    tipster, not at what they report.
    """
    found: dict[tuple[str, str], str] = {}
    for answer in answers:
        indicator = answer.get("indicator")
        if isinstance(indicator, dict) and indicator.get("kind") in Kind.values:
            found.setdefault((indicator["kind"], str(indicator.get("value", ""))), FROM_ANSWER)
        elif answer.get("kind") in TEXT_ANSWER_KINDS and isinstance(answer.get("value"), str):
            for kind, value in find_in_text(answer["value"]):
                found.setdefault((kind, value), FROM_TEXT)
    for text in texts:
        for kind, value in find_in_text(text):
            found.setdefault((kind, value), FROM_TEXT)
    return [(kind, value, source) for (kind, value), source in found.items() if value]

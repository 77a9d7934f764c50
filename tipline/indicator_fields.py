"""Questionnaire fields for typed indicators: an address with its network, an account with its
service, an amount with its currency, a range of dates, or one e-mail, domain, IP address or phone.

Each field cleans to an ``Indicator``: the canonical form from ``tipline.indicators`` (what blind
correlation hashes later, in the back office) and the part the tipster chose (network, service or
currency). A mistake gets the indicator module's message, in the tipster's language, before
anything is sent. Every part has its own label, so no script is needed to fill one in and a
screen reader names each part.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tipline import indicators
from tipline.indicators import Chain, Kind, Platform

TEXT_MAX_CHARS = indicators.MAX_VALUE_LENGTH
NOT_SURE = ""

PART_LABELS = {
    "chain": _("Network"),
    "address": _("Address"),
    "transaction": _("Transaction ID"),
    "platform": _("Service"),
    "name": _("Account name"),
    "amount": _("Amount"),
    "currency": _("Currency"),
    "start": _("From"),
    "end": _("Until (optional)"),
}


@dataclass(frozen=True)
class Indicator:
    kind: str
    value: str  # canonical: what correlation hashes
    chain: str = ""
    platform: str = ""

    def as_answer(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}

    def display(self) -> str:
        """How reviewers read it: the network or service first, when there is one."""
        if self.chain:
            return f"{Chain(self.chain).label}: {self.value}"
        return self.value


class LabelledPartsWidget(forms.MultiWidget):
    """Inputs side by side, each with its own label (the question's label is the legend)."""

    template_name = "tipline/widgets/labelled_parts.html"

    def __init__(self, parts: list[tuple[str, forms.Widget]], attrs=None) -> None:
        self.part_names = [name for name, _widget in parts]
        super().__init__({name: widget for name, widget in parts}, attrs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for part, subwidget in zip(self.part_names, context["widget"]["subwidgets"], strict=True):
            subwidget["part_label"] = PART_LABELS[part]
        return context

    def decompress(self, value):
        return [None] * len(self.part_names)


def _text(part: str = "", **attrs) -> forms.TextInput:
    # Addresses and hashes read left to right whatever the page's direction.
    return forms.TextInput(
        attrs={"dir": "ltr" if part else "auto", "spellcheck": "false", "autocomplete": "off"}
        | attrs
    )


def _select(choices) -> forms.Select:
    return forms.Select(choices=choices)


def _chain_choices(unsure: bool):
    first = [(NOT_SURE, _("Not sure"))] if unsure else [(NOT_SURE, "—")]
    return first + list(Chain.choices)


class IndicatorField(forms.MultiValueField):
    """One typed indicator in two parts (a choice and a value); cleans to an ``Indicator``."""

    def __init__(self, kind: str, **kwargs) -> None:
        self.kind = kind
        if kind == Kind.CRYPTO_ADDRESS:
            choice, choices, value = "chain", _chain_choices(unsure=True), "address"
        elif kind == Kind.TRANSACTION:
            choice, choices, value = "chain", _chain_choices(unsure=False), "transaction"
        elif kind == Kind.HANDLE:
            choice, choices, value = "platform", [(NOT_SURE, "—"), *Platform.choices], "name"
        elif kind == Kind.AMOUNT:
            choice, choices, value = "currency", [(NOT_SURE, "—")], "amount"
            choices += [(code, code) for code in indicators.CURRENCIES]
        else:
            raise ValueError(f"{kind} is not a two-part indicator")
        parts = [(choice, _select(choices)), (value, _text(value))]
        if kind == Kind.AMOUNT:
            parts.reverse()  # "1500" then "USD", as people say it
        self.part_names = [name for name, _widget in parts]
        fields = [
            forms.ChoiceField(choices=choices, required=False)
            if name == choice
            else forms.CharField(max_length=TEXT_MAX_CHARS, required=False)
            for name, _widget in parts
        ]
        kwargs.setdefault("widget", LabelledPartsWidget(parts))
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list:
            return None
        parts = dict(zip(self.part_names, data_list, strict=True))
        typed = next(v for k, v in parts.items() if k not in ("chain", "platform", "currency"))
        if not typed:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        chosen = parts.get("chain") or parts.get("platform") or parts.get("currency") or None
        if self.kind == Kind.CRYPTO_ADDRESS:
            # Not sure of the network: the address's shape picks one to check it against, but
            # the tipster did not say it, so it is not recorded.
            value = indicators.normalize_crypto_address(typed, chosen)
            return Indicator(self.kind, value, chain=chosen or "")
        if self.kind == Kind.TRANSACTION:
            value = indicators.normalize_transaction_hash(typed, chosen)
            return Indicator(self.kind, value, chain=chosen)
        if self.kind == Kind.HANDLE:
            value = indicators.normalize_handle(typed, chosen)
            return Indicator(self.kind, value, platform=value.split(":", 1)[0])
        return Indicator(self.kind, indicators.normalize_amount(typed, chosen))


class DateRangeField(forms.MultiValueField):
    def __init__(self, **kwargs) -> None:
        date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        parts = [("start", date), ("end", forms.DateInput(attrs={"type": "date"}))]
        self.part_names = ["start", "end"]
        fields = [forms.CharField(required=False), forms.CharField(required=False)]
        kwargs.setdefault("widget", LabelledPartsWidget(parts))
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        start, end = (data_list or [None, None])[:2]
        if not start:
            if end:
                start, end = end, None  # one date given, in the second box
            elif self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            else:
                return None
        return Indicator(Kind.DATE_RANGE, indicators.normalize_date_range(start, end or None))


class OneValueIndicatorField(forms.CharField):
    """An e-mail address, domain, IP address or phone number."""

    def __init__(self, kind: str, **kwargs) -> None:
        self.kind = kind
        kwargs.setdefault("widget", _text("value", **_INPUT_HINTS.get(kind, {})))
        super().__init__(max_length=TEXT_MAX_CHARS, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        return Indicator(self.kind, indicators.normalize(self.kind, value))


# Keyboards on phones: the right one for each kind (no script involved).
_INPUT_HINTS = {
    Kind.EMAIL: {"inputmode": "email"},
    Kind.PHONE: {"inputmode": "tel"},
    Kind.DOMAIN: {"inputmode": "url"},
}

TWO_PART = {Kind.CRYPTO_ADDRESS, Kind.TRANSACTION, Kind.HANDLE, Kind.AMOUNT}
ONE_VALUE = {Kind.EMAIL, Kind.DOMAIN, Kind.IP_ADDRESS, Kind.PHONE}


def indicator_field(kind: str, **common) -> forms.Field:
    if kind in TWO_PART:
        return IndicatorField(kind, **common)
    if kind == Kind.DATE_RANGE:
        return DateRangeField(**common)
    if kind in ONE_VALUE:
        return OneValueIndicatorField(kind, **common)
    raise ValueError(f"{kind} is not an indicator kind")

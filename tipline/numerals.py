"""Digits as each language of the public site writes them.

Django formats numbers with the digits 0-9 in every locale. The default numbering system of
Arabic and Persian in the Unicode CLDR is their own: Arabic-Indic digits (٠١٢) for Arabic, the
extended Arabic-Indic ones (۰۱۲) for Persian. A limit written in the reader's own digits is one
less thing to puzzle over.
"""

from __future__ import annotations

from django.utils.translation import get_language

ZERO = {"ar": "\u0660", "fa": "\u06f0"}  # the digit zero of each language's CLDR numbering system


def localize_digits(text: object, language: str | None = None) -> str:
    """``text`` with the digits 0-9 written in ``language``'s digits (the active language by
    default); unchanged for languages written with 0-9."""
    text = str(text)
    zero = ZERO.get((language or get_language() or "en").split("-")[0])
    if zero is None:
        return text
    return text.translate({ord("0") + n: ord(zero) + n for n in range(10)})
